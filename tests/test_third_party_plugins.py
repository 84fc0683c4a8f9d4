"""A third-party plugin, as its author meets the host: discovered through the documented entry-point group,
enabled in ``[plugins] enabled``, its own settings section, and a host that names it when it breaks and lets the
other plugins go on (review 62)."""
from __future__ import annotations

import logging

from plugin_host import hookimpl
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .test_host_sync import CONFIG, Acknowledger, sent_acks, thread_label_names


class Buggy:
    """A third-party plugin with a bug in its event hook (after recording a label of its own)."""

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        actions.add_labels("VIP")
        raise RuntimeError("vip list not loaded")

    @hookimpl
    def on_sweep(self, ticket, actions):
        raise RuntimeError("vip list not loaded")


class Sweeper:
    """A plugin that labels every inbox ticket in the sweep."""

    @hookimpl
    def sweep_queries(self, settings, now):
        return ["in:inbox"]

    @hookimpl
    def on_sweep(self, ticket, actions):
        actions.add_labels("Swept")


def two_plugin_host(tmp_path, **plugins):
    data = {**CONFIG, "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = LocalMailbox("support@example.com")
    host = build_host(config, http=local.http, extra_plugins=plugins)
    host.client.sleep = lambda seconds: None
    return local, host


def test_a_plugin_that_raises_names_itself_and_the_other_plugins_still_act(tmp_path, caplog):
    """A third-party plugin's bug in on_ticket_opened used to fail the whole thread: no acknowledgement from the
    other plugins, no Awaiting reply label (so no place in the agents' queue), and after three syncs the ticket was
    set aside for good; the log said only 'processing thread … failed' with pluggy's traceback."""
    local, host = two_plugin_host(tmp_path, ack=Acknowledger(), vipdesk=Buggy())
    feed = ChangeFeed(host)
    feed.sync()
    ref = deliver(local.gmail(), make_email(sender="Jane <jane@bigcorp.example>", message_id="<vip@x>"))
    with caplog.at_level(logging.ERROR):
        report = feed.sync()
    assert len(sent_acks(local)) == 1  # the other plugin's acknowledgement went out
    labels = thread_label_names(local, ref["threadId"])
    assert {"Helpdesk/Acknowledged", "Helpdesk/Awaiting reply"} <= labels  # in the queue
    assert "Helpdesk/VIP" not in labels  # what the broken plugin recorded before it raised is dropped
    [(thread, detail)] = report.failed  # still a failure: the broken plugin is tried again next sync
    assert thread == ref["threadId"] and "plugin vipdesk" in detail and "on_ticket_opened" in detail
    assert "RuntimeError: vip list not loaded" in detail
    said = [r for r in caplog.records if r.levelno >= logging.ERROR and "vipdesk" in r.getMessage()]
    assert said and said[0].exc_info  # the traceback, for the plugin's author, with the plugin named
    reports = [feed.sync() for _ in range(2)]  # retried; the acknowledgement is not sent twice
    assert len(sent_acks(local)) == 1 and [t for t, _ in reports[-1].set_aside] == [ref["threadId"]]


def test_a_plugin_that_raises_in_the_sweep_keeps_no_other_plugin_from_the_ticket(tmp_path):
    local, host = two_plugin_host(tmp_path, sweeper=Sweeper(), vipdesk=Buggy())
    ref = deliver(local.gmail(), make_email(message_id="<swept@x>"))
    host.sweep()
    assert "Helpdesk/Swept" in thread_label_names(local, ref["threadId"])


def test_a_label_or_alert_address_no_gmail_takes_is_refused_in_the_plugin_that_records_it(tmp_path):
    """Recorded, these failed only in the executor: None or a list as a label name was an AttributeError
    ('list' object has no attribute 'startswith') after the acknowledgement went out, with every plugin's labels
    lost and the thread set aside after three syncs; "" made a label 'Helpdesk/' and 'Team//Billing' one with an
    empty level; an alert to 'the team lead' was a 400 from messages.send logged as 'the next run tries again',
    though no run would. Now the recorder refuses each, so the plugin that made the mistake is named."""
    import pytest

    from plugin_host.actions import Actions

    actions = Actions(thread_id="t1")
    for bad in (None, ["VIP", "Gold"], "", " ", "Team//Billing", "VIP/", "/VIP", "VIP\r", "VIP\tGold", "VIP\x00"):
        with pytest.raises((TypeError, ValueError), match="label"):
            actions.add_labels(bad)
        with pytest.raises((TypeError, ValueError), match="label"):
            actions.remove_labels("VIP", bad)
    with pytest.raises(ValueError, match="the team lead"):
        actions.notify(to="the team lead", subject="Refund asked twice", text="…")
    actions.add_labels("VIP", "Priority/High", "Helpdesk/Escalated", "Ärger über Rechnung")
    actions.notify(to="lead@example.com", subject="Refund asked twice", text="…", key="refund:t1")
    actions.notify(to="team", channel="https://chat.googleapis.com/v1/spaces/X/messages?key=k", subject="s", text="t")
    assert len(actions) == 3


def searches_of(host) -> list[str]:
    """The Gmail searches ``host`` makes from now on, as they are made (the sweep's query among them)."""
    searched = []
    list_ids = host.client.list_message_ids
    host.client.list_message_ids = lambda q, **kw: searched.append(q) or list_ids(q=q, **kw)
    return searched


def test_a_plugin_answering_a_string_or_raising_in_sweep_queries_keeps_the_others_sweeping(tmp_path, caplog):
    """``return "label:vip"`` instead of ``["label:vip"]`` was read letter by letter: the sweep searched
    '(l) OR (a) OR (b) …', and a plugin raising in sweep_queries stopped every sweep (SLA breaches included)."""
    class OneString:
        @hookimpl
        def sweep_queries(self, settings, now):
            return "label:vip"

    class Raising:
        @hookimpl
        def sweep_queries(self, settings, now):
            raise KeyError("vip")

    local, host = two_plugin_host(tmp_path, sweeper=Sweeper(), vipdesk=OneString(), refunds=Raising())
    ref = deliver(local.gmail(), make_email(message_id="<swept@x>"))
    searched = searches_of(host)
    with caplog.at_level(logging.ERROR):
        host.sweep()
    assert "Helpdesk/Swept" in thread_label_names(local, ref["threadId"])
    assert "(l)" not in " ".join(searched)
    said = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "plugin vipdesk" in said and "sweep_queries" in said and "'label:vip'" in said
    assert "plugin refunds" in said and "KeyError" in said


def test_a_plugin_answering_google_scopes_with_a_string_stops_start_up_naming_it(tmp_path):
    """It was an AttributeError traceback ('str' object has no attribute 'plugin') from every command."""
    import pytest

    from plugin_host.errors import PluginError

    class OneScope:
        @hookimpl
        def google_scopes(self, settings):
            return "https://www.googleapis.com/auth/calendar.readonly"

    with pytest.raises(PluginError, match=r"plugin vipdesk.*google_scopes.*calendar\.readonly.*Scope"):
        two_plugin_host(tmp_path, vipdesk=OneScope())


# -- a plugin installed from a package of its own, as docs/hooks.md tells its author --------------------------

VIPDESK = '''
"""Tickets from VIP customers' domains get a label and a priority."""
from plugin_host import hookimpl
from plugin_host.config import ConfigError


def validate(raw):
    domains = raw.get("domains", [])
    if not isinstance(domains, list):
        raise ConfigError("plugins.vipdesk.domains", "a list of domains")
    return {"domains": [d.lower() for d in domains], "label": raw.get("label", "VIP")}


@hookimpl
def register_settings(register):
    register("vipdesk", validate)


@hookimpl
def on_ticket_opened(ticket, actions, settings):
    mine = settings.plugin("vipdesk")
    if ticket.customer.email.rpartition("@")[2] in mine["domains"]:
        actions.add_labels(mine["label"])
'''


def install(site, module: str, source: str, entry_point: str = "") -> None:
    """What ``pip install`` leaves of a plugin package: its module and a dist-info whose entry_points.txt puts it in
    the ``labeldesk`` group."""
    (site / f"{module}.py").write_text(source)
    info = site / f"labeldesk_{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: labeldesk-{module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[labeldesk]\n{entry_point or module} = {module}\n")


def installed_host(tmp_path, enabled, sections):
    data = {**CONFIG, "plugins": {"enabled": enabled, **sections}, "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = LocalMailbox("support@example.com")
    host = build_host(config, http=local.http)
    host.client.sleep = lambda seconds: None
    return local, host


def test_a_plugin_package_in_the_entry_point_group_is_enabled_by_name_and_reads_its_own_section(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install(site, "vipdesk", VIPDESK)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(__import__("sys").modules, "vipdesk", raising=False)
    local, host = installed_host(tmp_path, ["vipdesk"], {"vipdesk": {"domains": ["BigCorp.example"]}})
    assert host.pm.has_plugin("vipdesk")
    feed = ChangeFeed(host)
    feed.sync()
    vip = deliver(local.gmail(), make_email(sender="Tom <tom@bigcorp.example>", message_id="<vip@x>"))
    other = deliver(local.gmail(), make_email(sender="Jo <jo@example.org>", message_id="<jo@x>"))
    assert feed.sync().ok
    assert "Helpdesk/VIP" in thread_label_names(local, vip["threadId"])
    assert "Helpdesk/VIP" not in thread_label_names(local, other["threadId"])


def test_an_enabled_plugin_that_is_installed_but_does_not_import_is_named_as_such(tmp_path, monkeypatch):
    """It was 'plugins.enabled: unknown plugin 'vipdesk'; installed: [...]' — as if it were not installed — below a
    separate log line saying it failed to load."""
    import pytest

    from plugin_host.errors import PluginError

    site = tmp_path / "site"
    site.mkdir()
    install(site, "vipdesk_broken", "import vipdesk_needs_this_module\n", entry_point="vipdesk")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError) as raised:
        installed_host(tmp_path, ["vipdesk"], {})
    said = str(raised.value)
    assert "plugin vipdesk is installed but does not load" in said and "vipdesk_needs_this_module" in said
    assert "[plugins] enabled" in said


def test_an_enabled_plugin_that_is_not_installed_says_to_install_it(tmp_path):
    import pytest

    from plugin_host.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown plugin 'vipdesk'.*install its package.*\[plugins\] enabled"):
        installed_host(tmp_path, ["vipdesk"], {})


def test_an_agent_reply_and_the_customers_answer_in_one_sync_are_where_docs_hooks_md_says(tmp_path):
    """docs/hooks.md said on_agent_replied's ticket has 'its latest message the agent's'; when the customer answered
    before the next sync, it is the customer's, and the agent's reply is ``agent_messages[-1]``."""
    from .conftest import send
    from .test_host_sync import synced_host

    seen = []

    class Spy:
        @hookimpl
        def on_customer_replied(self, ticket):
            seen.append(("customer", ticket.latest_customer_message.text, ticket.latest_message.kind))

        @hookimpl
        def on_agent_replied(self, ticket):
            seen.append(("agent", ticket.agent_messages[-1].text, ticket.latest_message.kind))

    local, host, _, feed = synced_host(tmp_path, plugin=Spy())
    gmail = local.gmail()
    ref = deliver(gmail, make_email(message_id="<q1@x>"))
    feed.sync()
    send(gmail, make_email(sender="Anna Kowalska <anna.kowalska@example.com>", to="jane@example.org",
                           subject="Re: Order 1234 is late", message_id="<a1@x>", in_reply_to="<q1@x>",
                           body="Shipped today."), thread_id=ref["threadId"])
    deliver(gmail, make_email(subject="Re: Order 1234 is late", message_id="<q2@x>", in_reply_to="<a1@x>",
                              body="Still late, where is it?"), threadId=ref["threadId"])
    feed.sync()
    assert seen == [("customer", "Still late, where is it?", "customer"), ("agent", "Shipped today.", "customer")]


def test_a_plugin_whose_side_panel_section_breaks_leaves_the_others_sections_to_the_agent(tmp_path, caplog):
    """One plugin's ticket_sections raising turned the whole side panel into the add-on's error card (the SLA
    deadline and article suggestions gone with it), and a bare dict answered for a list put its keys in the card
    as sections."""
    class Good:
        @hookimpl
        def ticket_sections(self, ticket):
            return [{"header": "Deadline", "widgets": []}]

    class Raising:
        @hookimpl
        def ticket_sections(self, ticket):
            raise KeyError("vip")

    class OneDict:
        @hookimpl
        def ticket_sections(self, ticket):
            return {"header": "VIP", "widgets": []}

    local, host = two_plugin_host(tmp_path, good=Good(), raising=Raising(), onedict=OneDict())
    ref = deliver(local.gmail(), make_email(message_id="<panel@x>"))
    ticket = host.ticket(ref["threadId"])
    with caplog.at_level(logging.ERROR):
        sections = host.side_panel_sections(ticket, host.config.agent("anna.kowalska@example.com"), urls=str)
    assert sections == [{"header": "Deadline", "widgets": []}]
    said = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "plugin raising failed in ticket_sections" in said and "plugin onedict: ticket_sections returned" in said


class Notifier:
    """A third-party plugin that tells the lead about new tickets, its reply and notification given no key."""

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        actions.notify(to="lead@example.com", subject=f"New: {ticket.subject}", text="A new ticket.")
        actions.reply(in_reply_to=ticket.latest_message.id, to=ticket.customer.email, subject="Re: " + ticket.subject,
                      text="We have it.", reply_kind="notice")


def tried_again_beside_a_broken_plugin(tmp_path, message_id: str, tries: int, **plugin):
    """A local mailbox where a customer's new ticket was synced ``tries`` times beside Buggy, which raises on it
    (so the ticket is tried again each time) and the one plugin given."""
    local, host = two_plugin_host(tmp_path, **plugin, vipdesk=Buggy())
    feed = ChangeFeed(host)
    feed.sync()
    deliver(local.gmail(), make_email(sender="Jane <jane@bigcorp.example>", message_id=message_id))
    for _ in range(tries):
        feed.sync()
    return local


def sent_with(local, words: bytes) -> int:
    return sum(1 for m in local.mailbox.messages.values() if "SENT" in m.label_ids and words in m.raw)


def test_a_plugins_keyless_notice_and_reply_go_once_though_another_plugins_bug_has_the_ticket_tried_again(tmp_path):
    """A ticket is tried again while another plugin raises; a reply or notification recorded without a key was sent
    again at each try (three notices to the lead, and every plugin's keyless reply took the one key 'reply', so a
    second plugin's was never sent). Now an event hook's action without a key gets one naming the plugin, the
    event and the message it is about: once per message, whatever the retries."""
    local = tried_again_beside_a_broken_plugin(tmp_path, notifier=Notifier(), message_id="<new@x>",
                                               tries=3)
    assert sent_with(local, b"A new ticket.") == 1
    assert sent_with(local, b"We have it.") == 1


class TwoNotices:
    """A third-party plugin telling two people about a new ticket, neither notification given a key."""

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        actions.notify(to="lead@example.com", subject=f"New: {ticket.subject}", text="For the lead.")
        actions.notify(to="owner@example.com", subject=f"New: {ticket.subject}", text="For the owner.")


def test_two_keyless_notices_of_one_hook_both_go_out_once(tmp_path):
    """The key an event hook's keyless action gets counts its kind (``notify1``, ``notify2``): had both taken one
    key, the owner's notice would pass for the lead's, already sent, and never go out."""
    local = tried_again_beside_a_broken_plugin(tmp_path, twonotices=TwoNotices(), message_id="<two@x>",
                                               tries=2)
    assert sent_with(local, b"For the lead.") == 1
    assert sent_with(local, b"For the owner.") == 1


def test_a_list_of_the_wrong_items_is_left_out_like_a_wrong_answer(tmp_path, caplog):
    """A list is not enough: ``[None]`` from sweep_queries was searched as '(None)', and ``["VIP"]`` from
    ticket_sections put a text where the card wants a section. Each is logged naming the plugin and left out."""
    class Sweeper:
        @hookimpl
        def sweep_queries(self, settings, now):
            return ["in:inbox"]

        @hookimpl
        def ticket_sections(self, ticket):
            return [{"header": "Deadline", "widgets": []}]

    class WrongItems:
        @hookimpl
        def sweep_queries(self, settings, now):
            return [None]

        @hookimpl
        def ticket_sections(self, ticket):
            return ["VIP"]

    local, host = two_plugin_host(tmp_path, sweeper=Sweeper(), vipdesk=WrongItems())
    ref = deliver(local.gmail(), make_email(message_id="<items@x>"))
    searched = searches_of(host)
    with caplog.at_level(logging.ERROR):
        host.sweep()
        sections = host.side_panel_sections(host.ticket(ref["threadId"]), None, urls=str)
    assert searched == ["in:inbox"]
    assert sections == [{"header": "Deadline", "widgets": []}]
    said = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "plugin vipdesk: sweep_queries returned [None], not a list of str" in said
    assert "plugin vipdesk: ticket_sections returned ['VIP'], not a list of dict" in said


def quota_spent():
    from plugin_host.errors import GmailError

    error = GmailError("support@example.com: gmail.users.messages.list: 429 Quota exceeded")
    error.status, error.unavailable = 429, True
    return error


class AsksGmail:
    """A plugin whose hook reads Gmail through the host (a facts hook, the customer's earlier tickets), and Gmail
    is out of quota."""

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        raise quota_spent()

    @hookimpl
    def ticket_sections(self, ticket):
        raise quota_spent()


def test_gmail_refusing_inside_a_plugins_hook_is_gmail_s_refusal_not_the_plugins_bug(tmp_path, caplog):
    """Gmail out of quota while a hook reads it stops the batch as any refusal does: no strike, so no ticket is set
    aside for a quota, and the side panel answers 'try again' rather than dropping a section as a broken plugin's."""
    import pytest

    from plugin_host.errors import GmailError
    from plugin_host.sync import NOT_TRIED

    local, host = two_plugin_host(tmp_path, ack=Acknowledger(), vipdesk=AsksGmail())
    feed = ChangeFeed(host)
    feed.sync()
    for n in range(2):
        deliver(local.gmail(), make_email(sender=f"C{n} <c{n}@example.org>", message_id=f"<quota{n}@x>"))
    reports = [feed.sync() for _ in range(3)]
    assert all(not report.set_aside for report in reports)
    [(_, first), (_, second)] = reports[-1].failed
    assert "429 Quota exceeded" in first and "plugin vipdesk" not in first and second.startswith(NOT_TRIED)
    ticket = host.ticket(reports[-1].failed[0][0])
    with caplog.at_level(logging.ERROR), pytest.raises(GmailError):
        host.side_panel_sections(ticket, None, urls=str)
    assert not [r for r in caplog.records if "plugin vipdesk" in r.getMessage()]


class VipNotifier:
    """Tells the account manager about a VIP's ticket (its own key) and the lead about every ticket (no key); the
    ticket is VIP once its label is on, which this plugin adds at the first try."""

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        if ticket.has_label("VIP"):
            actions.notify(to="manager@example.com", subject="VIP", text="A VIP wrote.", key=f"vip:{ticket.thread_id}")
        actions.add_labels("VIP")
        actions.notify(to="lead@example.com", subject=f"New: {ticket.subject}", text="For the lead.")


def test_a_keyless_notice_keeps_its_key_when_a_keyed_one_comes_before_it_at_the_next_try(tmp_path):
    """The keyless notice was numbered among all of its kind: at the retry the keyed VIP notice came first, the
    lead's became notify2, a new key, and the lead got the ticket twice. Only keyless actions are counted."""
    local = tried_again_beside_a_broken_plugin(tmp_path, vipnotifier=VipNotifier(), message_id="<vipn@x>",
                                               tries=2)
    assert sent_with(local, b"A VIP wrote.") == 1
    assert sent_with(local, b"For the lead.") == 1


MISFIT = '''
from pluggy import HookimplMarker

hookimpl = HookimplMarker("labeldesk")


@hookimpl
def register_settings(register, colour):
    register("misfit", lambda raw: raw)
'''


def test_a_switched_off_plugin_that_is_broken_is_one_warning_a_run_and_a_row_in_labeldesk_plugins(tmp_path,
                                                                                                   monkeypatch):
    """Installed, not enabled, and broken (one that does not import, one written for another Labeldesk): every
    `labeldesk sync` from cron logged ERROR for them, the one that does not import three times, though nothing of
    the help desk depends on them. Now one WARNING each per run, and `labeldesk plugins` lists them as broken."""
    import os
    import subprocess
    import sys

    from .conftest import ROOT, served

    site = tmp_path / "site"
    site.mkdir()
    install(site, "vipdesk_broken", "import vipdesk_needs_this_module\n", entry_point="vipdesk")
    install(site, "misfit", MISFIT)
    local = LocalMailbox("support@example.com")
    deliver(local.gmail(), make_email())
    env = {**os.environ, "PYTHONPATH": f"{site}:{ROOT}"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "plugin_host.cli", *args],  # noqa: E731
                                       cwd=ROOT, env=env, capture_output=True, text=True)
    with served(local):
        config = tmp_path / "labeldesk.toml"
        config.write_text(f'[mailbox]\naddress = "support@example.com"\napi_root = "{local.served_root}"\n'
                          f'[host]\nstate_dir = "{tmp_path / "state"}"\n[plugins]\nenabled = ["autoreply"]\n')
        synced = run("sync", "--dry-run", "--config", str(config))
        listed = run("plugins", "--config", str(config))
    assert synced.returncode == 0, synced.stderr
    lines = synced.stderr.splitlines()
    assert not [line for line in lines if "ERROR" in line], synced.stderr
    assert len([line for line in lines if "vipdesk" in line]) == 1, synced.stderr
    assert len([line for line in lines if "plugin misfit" in line]) == 1, synced.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "broken" in rows["vipdesk"] and "vipdesk_needs_this_module" in rows["vipdesk"], listed.stdout
    assert "broken" in rows["misfit"] and "colour" in rows["misfit"], listed.stdout
    assert list(rows) == sorted(rows), listed.stdout  # the broken among the others, by name


from plugin_host.ticket import CardReply  # noqa: E402


class SurveyButton:
    """A third-party side-panel button sending the customer a survey, its reply recorded without a key."""

    @hookimpl
    def on_card_action(self, name, ticket, actions):
        if name != "survey.send":
            return None
        actions.reply(in_reply_to=ticket.latest_message.id, to=ticket.customer.email, subject="Re: " + ticket.subject,
                      text="How did we do?", reply_kind="notice")
        return CardReply(notification="Survey sent.")


def test_a_buttons_keyless_reply_goes_once_a_message_not_once_a_thread_for_ever(tmp_path):
    """A button's reply recorded without a key took the one key 'reply' for its thread: the survey went at the first
    press and never again on that thread, weeks and messages later, while the panel said "Survey sent.". Now a
    button's keyless action is keyed by the button and the latest message a person wrote: a second press (or
    Gmail sending the press again) sends nothing more; after the customer writes again, it goes."""
    local, host = two_plugin_host(tmp_path, survey=SurveyButton())
    feed = ChangeFeed(host)
    feed.sync()
    first = deliver(local.gmail(), make_email(sender="Jane <jane@bigcorp.example>", message_id="<s1@x>"))
    feed.sync()
    agent = host.config.agent("anna.kowalska@example.com")
    host.card_action("survey.send", {}, {}, first["threadId"], agent)
    host.card_action("survey.send", {}, {}, first["threadId"], agent)
    assert sent_with(local, b"How did we do?") == 1
    deliver(local.gmail(), make_email(sender="Jane <jane@bigcorp.example>", message_id="<s2@x>",
                                      in_reply_to="<s1@x>", body="Thanks, one more question."),
            threadId=first["threadId"])
    feed.sync()
    host.card_action("survey.send", {}, {}, first["threadId"], agent)
    assert sent_with(local, b"How did we do?") == 2
