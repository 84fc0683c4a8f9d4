"""kb eval on an outside evaluator's files: the shared format as other tools write it."""
from __future__ import annotations

import json

from click.testing import CliRunner

from plugin_host.cli import main


def _write(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def _eval(articles, queries):
    result = CliRunner().invoke(main, ["kb", "eval", "--articles", articles, "--queries", queries,
                                       "--semantic", "off", "--json"])
    return result


def test_three_letter_language_codes_are_the_languages_they_name(tmp_path):
    """ISO 639-2/3 codes ("pol", "rus", "eng", as corpora and pandas exports write them) are the same languages
    as "pl", "ru", "en": Polish stemming, Russian models and English stop words apply."""
    from plugin_host.language import language_code

    assert [language_code(code, "") for code in ("pol", "rus", "eng", "ger", "deu", "POL", "rus_RU")] == \
        ["pl", "ru", "en", "de", "de", "pl", "ru"]
    assert language_code("fil", "") == "fil"  # a three-letter code with no two-letter one stays
    assert language_code("und", "Где мой заказ?") == language_code("xx", "Где мой заказ?") == "ru"  # not a language
