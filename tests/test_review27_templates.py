"""Admin templates' one-call bounds at their edges (review 27)."""
from __future__ import annotations

import pytest


# ------------------------------------------------------------------ admin templates' one-call bounds

def test_empty_strings_count_as_text_in_a_list_made_into_text(tmp_path):
    """str() of a list writes quotes and a comma for each empty string: repeated lists of them are no free text."""
    from .test_pentest_review25 import test_one_call_of_an_admin_template_cannot_build_a_huge_string as refused

    refused(tmp_path, '{{ ([[""] * 20000] * 2000)|string }}')


@pytest.mark.parametrize("call", ['"x".ljust({n})', '"%{n}s" % "x"', '"{{:>{n}}}".format("x")', '"x"|center({n})'])
def test_a_width_of_max_text_is_allowed_and_one_more_refused(call):
    from jinja2.exceptions import SecurityError

    from plugins.autoreply.templates import MAX_TEXT, bounded_render, environment

    env = environment("")
    assert len(bounded_render(env.from_string("{{ " + call.format(n=MAX_TEXT) + " }}"), {})) == MAX_TEXT
    with pytest.raises(SecurityError, match="larger than"):
        bounded_render(env.from_string("{{ " + call.format(n=MAX_TEXT + 1) + " }}"), {})


def test_a_template_whose_call_runs_out_of_memory_falls_back_to_the_shipped_one(tmp_path):
    from types import SimpleNamespace

    from plugins.autoreply.templates import SAMPLE_CONTEXT, render

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgement.txt.j2").write_text("Hello {{ first_name }}, {{ too_big() }}\n")

    def too_big():
        raise MemoryError  # one allocation larger than the machine has

    text = render(SimpleNamespace(templates_dir=str(tmp_path)), "en", "acknowledgement",
                  {**SAMPLE_CONTEXT, "too_big": too_big})
    assert "Thank you for writing to us" in text


def test_a_template_building_too_wide_a_text_at_start_up_is_named_so(tmp_path):
    from types import SimpleNamespace

    from plugin_host.errors import ConfigError
    from plugins.autoreply.templates import check_templates

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgement.txt.j2").write_text('Hello {{ first_name.ljust(10 ** 6) }}\n')
    with pytest.raises(ConfigError, match="makes too much text"):
        check_templates(SimpleNamespace(templates_dir=str(tmp_path)))
