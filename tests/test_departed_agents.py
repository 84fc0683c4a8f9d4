"""Agents who left the support team: `labeldesk agents sync` marks them inactive (``active = false``) once the
directory says they are gone, says so by name with the open tickets they own, and the product stops signing,
assigning, alerting and serving them; their past replies stay the team's."""
from __future__ import annotations

from datetime import datetime, timezone

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host

from .conftest import deliver, make_email
from . import test_agents_sync_directory
from .test_agents_sync_directory import CONFIG, _config, _support_team, _sync

directory = test_agents_sync_directory.directory  # the fixture: a local mailbox and its directory, served over HTTP

TEAM = ('[agents]\n"anna.kowalska@example.com" = {{ first_name = "Anna", last_name = "Kowalska", title = "Lead" }}\n'
        '"olga.nowak@example.com" = {{ first_name = "Olga", last_name = "Nowak" }}\n'
        '"ivan.petrov@example.com" = {{ first_name = "Иван", last_name = "Петров" }}\n'
        '"lukasz@example.com" = {{ first_name = "Łukasz", last_name = "Żółkiewski" }}\n'
        '"freelancer@contractor.example" = {{ first_name = "Fred", last_name = "Lancer" }}\n')


def _team_config(tmp_path, local, text=None):
    return _config(tmp_path, local, text or CONFIG.replace(
        '[agents]\n"anna.kowalska@example.com" = {{ first_name = "Anna", last_name = "Kowalska", title = "Lead" }}\n',
        TEAM))


def _owned_open_ticket(local, owner: str, subject: str) -> str:
    """A ticket awaiting a reply that ``owner`` owns (labels as the host sets them)."""
    gmail = local.gmail()
    labels = {label["name"]: label["id"] for label in gmail.users().labels().list(userId="me").execute().get("labels", [])}
    for name in {f"Helpdesk/Owner/{owner}", "Helpdesk/Awaiting reply"} - set(labels):
        labels[name] = gmail.users().labels().create(userId="me", body={"name": name}).execute()["id"]
    ref = deliver(gmail, make_email(subject=subject, message_id=f"<{abs(hash(subject))}@example.org>"),
                  labels=("INBOX", labels[f"Helpdesk/Owner/{owner}"], labels["Helpdesk/Awaiting reply"]))
    return ref["threadId"]


# 1. An agent suspended, deleted or moved out of the support unit stayed in [agents] for good ("remove it by hand if
#    they left"): acknowledgements kept being signed in their name, round robin kept giving them tickets and the
#    SLA's at-risk mail about the tickets they owned went to a mailbox nobody reads.
def test_agents_sync_marks_agents_who_left_inactive_and_names_their_open_tickets(tmp_path, directory):
    _support_team(directory)  # anna, olga, ivan (/Support/L2), lukasz; sam in /Sales
    directory.mailbox.directory_users[:] = [u for u in directory.mailbox.directory_users
                                            if u["primaryEmail"] != "lukasz@example.com"]  # deleted
    for user in directory.mailbox.directory_users:
        if user["primaryEmail"] == "olga.nowak@example.com":
            user["suspended"] = True
        if user["primaryEmail"] == "ivan.petrov@example.com":
            user["orgUnitPath"] = "/Sales"  # taken out of the support team
    _owned_open_ticket(directory, "Olga Nowak", "Refund for order 77")
    _owned_open_ticket(directory, "Olga Nowak", "Invoice address")
    file = _team_config(tmp_path, directory)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "marked inactive olga.nowak@example.com (Olga Nowak): suspended in the directory" in lines
    assert ("marked inactive ivan.petrov@example.com (Иван Петров): not listed by the directory "
            "(query 'orgUnitPath=/Support')") in lines
    assert ("marked inactive lukasz@example.com (Łukasz Żółkiewski): not listed by the directory "
            "(query 'orgUnitPath=/Support')") in lines
    owned = [line for line in lines if line.startswith("  Olga Nowak owns 2 open ticket(s)")]
    assert owned, result.output
    assert any("Refund for order 77" in line for line in lines) and any("Invoice address" in line for line in lines)
    # an address at a domain the directory shows nobody of is not the directory's to judge
    assert any(line.startswith("still in [agents] freelancer@contractor.example") for line in lines)
    assert "3 agent(s) marked inactive" in result.output
    agents = load_config(file, environ={}).agents
    assert {e for e, a in agents.items() if not a.active} == {"olga.nowak@example.com", "ivan.petrov@example.com",
                                                              "lukasz@example.com"}
    assert agents["anna.kowalska@example.com"].active and agents["freelancer@contractor.example"].active
    assert agents["olga.nowak@example.com"].full_name == "Olga Nowak"  # kept: their past replies stay the team's
    text = file.read_text(encoding="utf-8")
    assert text.startswith("# our desk: keep this comment\n") and text.endswith("# the end of the file\n")
    again = _sync(file)
    assert again.exit_code == 0 and "marked inactive" not in again.output and "active again" not in again.output
    assert file.read_text(encoding="utf-8") == text
    # back from leave: the directory lists Olga as active again, and the next sync puts her back
    for user in directory.mailbox.directory_users:
        user["suspended"] = False
    back = _sync(file)
    assert "active again olga.nowak@example.com (Olga Nowak): listed by the directory" in back.output.splitlines()
    assert load_config(file, environ={}).agents["olga.nowak@example.com"].active


def test_agents_sync_dry_run_says_who_would_be_marked_inactive_and_writes_nothing(tmp_path, directory):
    _support_team(directory)
    for user in directory.mailbox.directory_users:
        user["archived"] = user["primaryEmail"] == "olga.nowak@example.com"
    file = _team_config(tmp_path, directory)
    before = file.read_bytes()
    result = _sync(file, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would mark inactive olga.nowak@example.com (Olga Nowak): archived in the directory" in \
        result.output.splitlines()
    assert file.read_bytes() == before


# 2. One directory read that lists none of the team (a query pointing at another unit) must not take everyone off
#    the roster; nor may a read that fails half-way (all pages are read before anything is written).
def test_agents_sync_never_marks_the_whole_team_inactive(tmp_path, directory):
    _support_team(directory)
    file = _team_config(tmp_path, directory)
    before = file.read_bytes()
    result = _sync(file, "--query", "orgUnitPath=/Sales")
    assert result.exit_code == 0, result.output
    assert not any(line.startswith("marked inactive") for line in result.output.splitlines())
    assert any("lists none of the active agents" in line and "were not marked inactive" in line
               for line in result.output.splitlines()), result.output
    assert load_config(file, environ={}).agents["anna.kowalska@example.com"].active
    assert file.read_bytes().count(b"active = false") == 0 and file.read_bytes() != b"" and before


def test_agents_sync_marks_an_agent_written_as_its_own_table(tmp_path, directory):
    _support_team(directory)
    for user in directory.mailbox.directory_users:
        user["suspended"] = user["primaryEmail"] == "olga.nowak@example.com"
    text = CONFIG + '\n[agents."olga.nowak@example.com"]\nfirst_name = "Olga"\nlast_name = "Nowak"\n'
    file = _config(tmp_path, directory, text)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert not load_config(file, environ={}).agents["olga.nowak@example.com"].active


# 3. What an inactive agent no longer gets.
AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska", "active": False},
          "olga.nowak@example.com": {"first_name": "Olga", "last_name": "Nowak"}}
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def _product(tmp_path, plugins=None):
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": {"enabled": ["autoreply", "sla"], "autoreply": {"hours": "24/7", "round_robin": True},
                        "sla": {"hours": "Mon-Fri 09:00-18:00", "timezone": "Europe/Warsaw",
                                "team_lead": "lead@example.com", "targets": {"normal": {"first_response": "4h"}}},
                        **(plugins or {})},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local, clock = LocalMailbox("support@example.com"), {"now": MONDAY}
    host = build_host(config, http=local.http, now=lambda: clock["now"])
    host.client.sleep = lambda s: None
    return local, host, clock


def _sent(local, marker):
    import email

    return [email.message_from_bytes(m.raw) for m in local.mailbox.messages.values()
            if "SENT" in m.label_ids and f"X-Labeldesk: {marker}".encode() in m.raw]


def test_an_inactive_agent_signs_no_acknowledgement_and_gets_no_round_robin_ticket(tmp_path):
    from plugin_host.sync import ChangeFeed

    local, host, _ = _product(tmp_path)
    for n in range(6):  # round robin picks by thread id: several threads would reach Anna were she on duty
        ref = deliver(local.gmail(), make_email(sender=f"C{n} <c{n}@example.org>", subject=f"Question {n}",
                                                message_id=f"<q{n}@example.org>", date=MONDAY))
        local.mailbox.messages[ref["id"]].internal_date = int(MONDAY.timestamp() * 1000)
    ChangeFeed(host).sync()
    acks = _sent(local, "ack")
    assert len(acks) == 6
    assert all("Anna Kowalska" not in str(ack["From"]) and "Olga Nowak" in str(ack["From"]) for ack in acks)
    owners = {label for t in host.search_tickets("in:inbox") for label in t.labels_under("Owner")}
    assert owners == {"Olga Nowak"}


def test_at_risk_mail_for_a_ticket_an_inactive_agent_owns_goes_to_the_team_lead(tmp_path):
    from plugin_host.sync import ChangeFeed

    local, host, clock = _product(tmp_path, {"autoreply": {"hours": "24/7"}})
    ref = deliver(local.gmail(), make_email(subject="Order 9 is late", message_id="<late@example.org>", date=MONDAY))
    local.mailbox.messages[ref["id"]].internal_date = int(MONDAY.timestamp() * 1000)
    ChangeFeed(host).sync()
    label = local.gmail().users().labels().create(userId="me", body={"name": "Helpdesk/Owner/Anna Kowalska"}).execute()
    local.gmail().users().threads().modify(userId="me", id=ref["threadId"], body={"addLabelIds": [label["id"]]}).execute()
    clock["now"] = datetime(2026, 11, 23, 12, 50, tzinfo=timezone.utc)  # 3h20 of 4h: at risk
    host.sweep()
    [notice] = _sent(local, "notify:atrisk")
    assert notice["To"] == "lead@example.com"
    assert "Anna Kowalska, who owns it, is no longer an active agent" in notice.get_payload(decode=True).decode()


def test_signatures_sync_leaves_out_inactive_agents(tmp_path):
    from plugins.autoreply.signatures import sync_signatures

    _, host, _ = _product(tmp_path)
    lines = sync_signatures(host, dry_run=True)
    assert not any("Anna Kowalska" in line and "set" in line for line in lines), lines
    assert any("Olga Nowak" in line for line in lines)


def test_a_ticket_an_inactive_agent_owns_is_acknowledged_in_an_active_agents_name(tmp_path):
    from plugin_host.sync import ChangeFeed

    local, host, _ = _product(tmp_path, {"autoreply": {"hours": "24/7"}})
    gmail = local.gmail()
    owner = gmail.users().labels().create(userId="me", body={"name": "Helpdesk/Owner/Anna Kowalska"}).execute()
    ref = deliver(gmail, make_email(subject="Refund for order 12", message_id="<owned@example.org>", date=MONDAY),
                  labels=("INBOX", owner["id"]))
    local.mailbox.messages[ref["id"]].internal_date = int(MONDAY.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = _sent(local, "ack")
    assert "Anna Kowalska" not in str(ack["From"]) and "Olga Nowak" in str(ack["From"])
    assert "Anna" not in ack.get_payload(decode=True).decode()


def test_the_sla_notices_of_a_ticket_an_inactive_agent_owns_reach_the_lead_as_one_conversation(tmp_path):
    """At risk, breached, still unanswered: all three to the team lead (the owner's mailbox is nobody's now), one
    subject, each answering the ones before, in one Gmail thread."""
    from plugin_host.sync import ChangeFeed

    local, host, clock = _product(tmp_path, {"autoreply": {"hours": "24/7"}})
    ref = deliver(local.gmail(), make_email(subject="Order 9 is late", message_id="<late2@example.org>", date=MONDAY))
    local.mailbox.messages[ref["id"]].internal_date = int(MONDAY.timestamp() * 1000)
    ChangeFeed(host).sync()
    label = local.gmail().users().labels().create(userId="me", body={"name": "Helpdesk/Owner/Anna Kowalska"}).execute()
    local.gmail().users().threads().modify(userId="me", id=ref["threadId"], body={"addLabelIds": [label["id"]]}).execute()
    for hour, minute in ((12, 50), (13, 40), (23, 0)):  # at risk, breached, then long past the second step
        clock["now"] = datetime(2026, 11, 23 + (hour == 23), hour if hour != 23 else 16, minute, tzinfo=timezone.utc)
        host.sweep()
    notices = _sent(local, "notify:")
    steps = [n["X-Labeldesk"].split(":")[1] for n in notices]
    assert sorted(steps) == ["atrisk", "breach", "breach2"], steps
    by_step = dict(zip(steps, notices))
    assert {n["To"] for n in notices} == {"lead@example.com"}
    assert {n["Subject"] for n in notices} == {"SLA: Order 9 is late"}
    assert by_step["breach"]["In-Reply-To"] == by_step["atrisk"]["Message-ID"]
    assert by_step["breach2"]["References"].split() == [by_step["atrisk"]["Message-ID"], by_step["breach"]["Message-ID"]]
    threads = {m.thread_id for m in local.mailbox.messages.values()
               if "SENT" in m.label_ids and b"X-Labeldesk: notify:" in m.raw}
    assert len(threads) == 1 and ref["threadId"] not in threads


def test_a_google_refusal_on_a_later_page_of_the_directory_marks_nobody_inactive(tmp_path, directory, monkeypatch):
    """The first page lists Anna and not the others: judged on it alone, the rest of the team would have left. The
    read stops at the refusal (the Admin SDK API turned off midway) and nothing is written."""
    import json

    import httplib2
    from googleapiclient.errors import HttpError

    from plugins.autoreply import directory as roster

    _support_team(directory)
    file = _team_config(tmp_path, directory)
    before = file.read_bytes()
    pages = iter([{"users": [{"primaryEmail": "anna.kowalska@example.com", "isMailboxSetup": True,
                              "name": {"givenName": "Anna", "familyName": "Kowalska"}}], "nextPageToken": "2"}])
    disabled = {"error": {"code": 403, "message": "Admin SDK API has not been used in project 1 or it is disabled.",
                          "errors": [{"reason": "accessNotConfigured"}]}}

    class Listing:
        def execute(self, num_retries=0):
            page = next(pages, None)
            if page is None:
                raise HttpError(httplib2.Response({"status": "403"}), json.dumps(disabled).encode())
            return page

    class Service:
        def users(self):
            return type("Users", (), {"list": lambda self, **kwargs: Listing()})()

    monkeypatch.setattr(roster, "build_directory", lambda config: Service())
    result = _sync(file)
    assert result.exit_code == 1, result.output
    assert "Admin SDK API" in result.output and "nothing was written" in result.output
    assert "marked inactive" not in result.output and file.read_bytes() == before


# 3. When an agent could not be marked (an entry written as dotted sub-keys), the command said "nothing was
#    written" although the new agents had already been added in a first write: both edits are one write now.
def test_agents_sync_that_cannot_mark_an_agent_writes_nothing_at_all(tmp_path, directory):
    _support_team(directory)
    for user in directory.mailbox.directory_users:
        user["suspended"] = user["primaryEmail"] == "olga.nowak@example.com"
    file = _config(tmp_path, directory, CONFIG.replace(
        '[agents]\n', '[agents]\n"olga.nowak@example.com".first_name = "Olga"\n'
                      '"olga.nowak@example.com".last_name = "Nowak"\n'))
    before = file.read_bytes()
    result = _sync(file)
    assert result.exit_code == 1, result.output
    assert "cannot mark olga.nowak@example.com inactive" in result.output and "nothing was written" in result.output
    assert file.read_bytes() == before  # ivan and lukasz were not added behind the message's back
