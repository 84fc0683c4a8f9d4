"""Article URLs shown for reading are IRIs (RFC 3987 §3.2): the path, query and fragment in their own letters,
the host as written; links (hrefs, stored URLs, the link a mail client makes) stay as they are."""
from __future__ import annotations

import pytest

from plugin_host.text import readable_url
from tests.test_kb_admin import kb_cli, kb_config, write

ENCODED = "https://help.example.ru/%D0%B2%D0%BE%D0%B7%D0%B2%D1%80%D0%B0%D1%82-%D1%82%D0%BE%D0%B2%D0%B0%D1%80%D0%B0"


def test_the_path_query_and_fragment_read_in_their_own_letters():
    assert readable_url(ENCODED) == "https://help.example.ru/возврат-товара"
    assert readable_url("https://pomoc.example.pl/zwrot?q=%C5%BC%C3%B3%C5%82w#kr%C3%B3tko") == \
        "https://pomoc.example.pl/zwrot?q=żółw#krótko"


@pytest.mark.parametrize("encoded", ["%2F", "%3F", "%23", "%25", "%26", "%3D", "%20", "%0A", "%7F"])
def test_reserved_characters_whitespace_and_controls_stay_encoded(encoded):
    # Decoded, %2F would move the path's boundary, %25 would start an escape, a space would end the link.
    assert readable_url(f"https://help.example.com/a{encoded}b%D0%B2") == f"https://help.example.com/a{encoded}bв"


@pytest.mark.parametrize("encoded", ["%E2%80%AE", "%E2%80%8F", "%E2%81%A6", "%C2%A0", "%E2%80%A8"])
def test_bidi_controls_and_unicode_spaces_stay_encoded(encoded):
    # U+202E RIGHT-TO-LEFT OVERRIDE would show "txt.exe" as "exe.txt"; a no-break space would look like the end.
    assert readable_url(f"https://help.example.com/a{encoded}b") == f"https://help.example.com/a{encoded}b"


def test_invalid_utf8_stays_encoded_and_the_valid_rest_is_read():
    assert readable_url("https://help.example.com/%FF%D0%B2%D0") == "https://help.example.com/%FFв%D0"


def test_the_host_stays_exactly_as_written():
    # A punycode host shown as Unicode could pass for another site (homographs); a percent-encoded one is odd
    # enough to leave alone too.
    assert readable_url("https://xn--80ak6aa92e.com/%D0%B2") == "https://xn--80ak6aa92e.com/в"
    assert readable_url("https://user%40x@help.example.com:8443/%D0%B2") == "https://user%40x@help.example.com:8443/в"


@pytest.mark.parametrize("url", ["", "https://help.example.com/", "https://help.example.com/a?", "not a url %D0%B2",
                                 "https://help.example.com/возврат", "mailto:%D0%B2@example.com"])
def test_what_has_nothing_to_read_or_is_no_web_link_is_as_it_was(url):
    assert readable_url(url) == url


def test_kb_search_shows_the_link_an_acknowledgement_makes_in_the_articles_own_letters(tmp_path):
    # Was: kb search named no link at all; an admin checking which page customers get had to open the file.
    config = kb_config(tmp_path)
    write(tmp_path, "kb/refunds.md", f"---\ntitle: Возврат товара\nurl: {ENCODED}\n---\nДеньги за возврат товара "
                                     "вернутся на карту в течение пяти рабочих дней.")
    result = kb_cli("search", "--config", str(config), "--lang", "ru", "когда вернутся деньги за возврат товара")
    assert result.exit_code == 0, result.output
    assert "   https://help.example.ru/возврат-товара\n" in result.stdout
    assert "%D0" not in result.stdout


def _acknowledged(tmp_path, templates_dir=""):
    from datetime import datetime, timezone

    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed
    from tests.conftest import deliver, make_email
    from tests.test_autoreply import AGENTS, acks

    write(tmp_path, "kb/refunds.md", f"---\ntitle: Возврат товара\nurl: {ENCODED}\nlang: ru\n---\nДеньги за возврат "
                                     "товара вернутся на карту в течение пяти рабочих дней.")
    autoreply = {"hours": "24/7", **({"templates_dir": templates_dir} if templates_dir else {})}
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": {"enabled": ["autoreply", "kb_suggest"], "autoreply": autoreply,
                        "kb_suggest": {"articles": str(tmp_path / "kb")}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    now = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
    host = build_host(config, http=local.http, now=lambda: now)
    host.client.sleep = lambda s: None
    deliver(local.gmail(), make_email(subject="Возврат", body="Когда вернутся деньги за возврат товара на карту?",
                                      message_id="<r@example.org>", date=now))
    ChangeFeed(host).sync()
    [ack] = acks(local)
    return ack.get_content()


def test_the_shipped_acknowledgement_links_the_page_as_every_mail_client_links_it_whole(tmp_path):
    # K-9/Thunderbird for Android and most linkifiers (UTS #58) end a plain-text link at its first non-ASCII
    # letter: the readable form would link https://help.example.ru/ only. The title is what the customer reads.
    text = _acknowledged(tmp_path)
    assert f"- Возврат товара: {ENCODED}" in text.splitlines()


def test_an_admin_template_can_show_the_readable_link_beside_the_working_one(tmp_path):
    templates = tmp_path / "templates"
    write(tmp_path, "templates/ru/acknowledgement.txt.j2",
          "{% for article in articles %}{{ article.title }}: {{ article.readable_url }} <{{ article.url }}>\n"
          "{% endfor %}")
    text = _acknowledged(tmp_path, str(templates))
    assert f"Возврат товара: https://help.example.ru/возврат-товара <{ENCODED}>" in text
