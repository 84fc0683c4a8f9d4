"""A language an admin adds can name the ticket's owner in its own words: `owner_name`."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def test_a_german_template_names_the_owner_in_german(tmp_path):
    # Was: only `owner_phrase` held the owner's name, always in English for a language we do not ship
    # ("vielen Dank … our team will look after it"), and `owner_name` was an unknown variable at start-up.
    asked = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    text = _german_ack(tmp_path, "Hallo,\n{% if owner_name %}{{ owner_name }} kümmert sich darum.{% else %}Unser "
                                 "Team kümmert sich darum.{% endif %}\n{{ agent_name }}\n", asked,
                       plugins={"enabled": ["autoreply"], "autoreply": {"hours": "24/7", "round_robin": True}})
    assert "Anna Kowalska kümmert sich darum." in text


def _german_ack(tmp_path, template: str, asked: datetime, expectation: dict | None = None,
                plugins: dict | None = None) -> str:
    """The acknowledgement a German customer gets from a de/ template an admin added (``plugins``: the SLA plugin on
    by default; the autoreply settings given there are added to the template folder's)."""
    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed

    from .conftest import deliver, make_email
    from .test_autoreply import acks

    (tmp_path / "t" / "de").mkdir(parents=True)
    for variant in ("acknowledgement", "out_of_hours"):
        (tmp_path / "t" / "de" / f"{variant}.txt.j2").write_text(template)
    plugins = plugins or {"enabled": ["autoreply", "sla"],
                          "sla": {"timezone": "Europe/Berlin", "hours": "Mon-Fri 09:00-18:00"}}
    autoreply = {"templates_dir": str(tmp_path / "t"), **({"expectation": expectation} if expectation else {}),
                 **plugins.get("autoreply", {})}
    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")},
            "agents": {"anna@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {**plugins, "autoreply": autoreply}}
    host = build_host(load_config(tmp_path / "x.toml", data=data, environ={}), http=(local := LocalMailbox()).http,
                      now=lambda: asked)
    host.client.sleep = lambda s: None
    ref = deliver(local.gmail(), make_email(
        sender="Hans Müller <hans@example.de>", subject="Export", date=asked, message_id="<de@example.de>",
        body="Hallo, der Export nach CSV funktioniert nicht. Können Sie bitte helfen? Danke"))
    local.mailbox.messages[ref["id"]].internal_date = int(asked.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    return ack.get_content()


def test_a_german_template_words_the_sla_deadline_itself(tmp_path):
    # Was: with the SLA plugin on (the starter file's default), `expectation` was "You can expect an answer by
    # Montag, 7. Dezember 2026, 18:00 (…)": an English sentence around a German date, and no variable held the
    # deadline alone for a language we do not ship.
    asked = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    text = _german_ack(tmp_path, "Hallo,\n{% if deadline %}Sie erhalten eine Antwort bis {{ deadline }}.{% else %}"
                                 "{{ expectation }}{% endif %}\n{{ agent_name }}\n", asked)
    assert "Sie erhalten eine Antwort bis Montag, 7. Dezember 2026, 18:00 (Europe/Berlin, UTC+01:00)." in text


def test_a_german_template_gets_the_admins_german_expectation_not_an_english_sentence(tmp_path):
    # docs/autoreply.md: `expectation = { de = "…" }` for a language you add. With the SLA plugin on it was
    # never used: the customer read "You can expect an answer by …" in English.
    asked = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    text = _german_ack(tmp_path, "Hallo,\n{{ expectation }}\n{{ agent_name }}\n", asked,
                       expectation={"de": "Wir antworten in der Regel innerhalb eines Werktags."})
    assert "Wir antworten in der Regel innerhalb eines Werktags." in text and "You can expect" not in text
