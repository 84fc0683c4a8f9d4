"""``labeldesk forget`` and what Labeldesk itself wrote to Google about the customer: its breach and escalation tasks
(the customer's address and up to 600 characters of their message) and its email notices (at risk, breached, still
unanswered) in the support mailbox.

The team had been told to delete those by hand "with the threads"; nobody finds every task and notice. ``forget`` now
deletes Labeldesk's tasks (found by what each task records: its ``[labeldesk:…]`` key, and the customer or thread it
names) and moves Labeldesk's notices (found by their ``X-Labeldesk`` header and Message-ID) to the Trash, even when
the team already deleted the threads, and never touches what someone else wrote. Through the local mailbox's Gmail
and Tasks v1 stand-ins, with googleapiclient, as production talks to Google.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .test_sla_breach_tasks import setup, warsaw

JANE, BOB = "jane@example.org", "bob@example.net"


def tasks_by_list(local, deleted: bool = False) -> dict[str, list[dict]]:
    """Every task by list title as the Tasks app shows it (completed and hidden ones too); with ``deleted``, what
    a client asking for deleted tasks also sees."""
    api = local.tasks()
    return {l["title"]: api.tasks().list(tasklist=l["id"], showHidden=True, showDeleted=deleted).execute()
            .get("items", []) for l in api.tasklists().list().execute()["items"]}


def sent_mail(local) -> list[dict]:
    g = local.gmail()
    return [g.users().messages().get(userId="me", id=m.id, format="full").execute()
            for m in local.mailbox.messages.values() if "SENT" in m.label_ids]


def header(message: dict, name: str) -> str:
    return next((h["value"] for h in message["payload"]["headers"] if h["name"].lower() == name.lower()), "")


def ask(local, sender: str, key: str, subject: str) -> str:
    ref = deliver(local.gmail(), make_email(sender=sender, message_id=f"<{key}@example.org>", subject=subject,
                                            body=f"{subject}? Please check."))
    local.mailbox.messages[ref["id"]].internal_date = int(warsaw(9).timestamp() * 1000)
    return ref["threadId"]


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """Jane's and Bob's unanswered questions, each breached and escalated to billing, their notices (at risk,
    breached, still unanswered) mailed to the team lead; a task the lead wrote by hand about Jane, and an agent's
    own mail about her. Jane asked to be forgotten."""
    import plugin_host.runtime as runtime

    local, host, clock = setup(tmp_path, warsaw(9), sla={"timezone": "Europe/Warsaw", "second_step_after": "1h"})
    jane = ask(local, f"Jane Customer <{JANE}>", "jane", "Where is my order")
    bob = ask(local, f"Bob <{BOB}>", "bob", "Refund missing")
    ChangeFeed(host).sync()
    anna = host.config.agent("anna.kowalska@example.com")
    for thread in (jane, bob):
        host.card_action("sla.escalate", {}, {"team": ["billing"]}, thread, anna)
    for hour, minute in ((12, 30), (13, 30), (15, 0)):
        clock["now"] = warsaw(hour, minute)
        host.sweep()
    api = local.tasks()
    own = next(l["id"] for l in api.tasklists().list().execute()["items"] if l["title"] == "Labeldesk escalations")
    api.tasks().insert(tasklist=own, body={"title": "Call Jane back", "notes": f"Customer: {JANE}\nThread: x"}).execute()
    g = local.gmail()
    g.users().messages().send(userId="me", body={"raw": _raw(
        "From: support@example.com\r\nTo: lead@example.com\r\nSubject: About Jane\r\n\r\n"
        f"{JANE} phoned about her order.\r\n")}).execute()
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    return local, host, jane, bob


def _raw(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode()


def forget(*args):
    return CliRunner().invoke(get_cli(), ["forget", *args])


def titles(tasks: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {name: sorted(t["title"] for t in items) for name, items in tasks.items() if items}


def test_forget_deletes_labeldesk_s_tasks_and_trashes_its_notices_after_the_threads_are_gone(desk):
    local, host, jane, bob = desk
    notices = [m for m in sent_mail(local) if header(m, "X-Labeldesk").startswith("notify:")]
    theirs = {m["id"] for m in notices if f":{jane}:" in header(m, "X-Labeldesk")}
    assert len(theirs) == 3 and len(notices) == 6  # at risk, breached, still unanswered: each customer's
    assert titles(tasks_by_list(local)) == {
        "Labeldesk escalations": ["Call Jane back", "SLA breached: Refund missing", "SLA breached: Where is my order"],
        "Labeldesk escalations — billing": ["[billing] Refund missing", "[billing] Where is my order"]}
    local.gmail().users().threads().delete(userId="me", id=jane).execute()  # the team deleted her thread first
    local.app.reset_counters()

    result = forget(JANE)

    assert result.exit_code == 0, result.output + result.stderr
    # Gmail: her threads searched (those she is on, those naming her), then the notices: one search, one read of
    # each conversation it finds (the notices', and the agent's own "About Jane", which has no marker), one trash
    # each (3 × 10 + 2 × 10 + 3 × 5 = 65 units). Tasks: the lists, each read once; per task one patch and one delete.
    assert dict(local.app.calls) == {"gmail.users.threads.list": 3, "gmail.users.threads.get": 2,
                                     "gmail.users.messages.trash": 3, "tasks.tasklists.list": 1,
                                     "tasks.tasks.list": 3, "tasks.tasks.patch": 2, "tasks.tasks.delete": 2}
    assert "removed Google Tasks: 2 tasks deleted (Labeldesk escalations: 1, Labeldesk escalations — billing: 1)" \
        in result.output
    assert "removed Gmail: 3 notices moved to the Trash" in result.output
    assert "left: lead@example.com has 3 copies of those notices in their own mailbox" in result.output
    left = titles(tasks_by_list(local))
    assert left == {"Labeldesk escalations": ["Call Jane back", "SLA breached: Refund missing"],
                    "Labeldesk escalations — billing": ["[billing] Refund missing"]}
    # Deleted tasks are still listed to whoever asks for deleted ones: theirs say nothing of Jane any more.
    deleted = [t for items in tasks_by_list(local, deleted=True).values() for t in items if t.get("deleted")]
    assert len(deleted) == 2 and not [t for t in deleted if "jane" in (t["title"] + t.get("notes", "")).lower()
                                      or "order" in t["title"].lower()]
    mail = {m["id"]: m for m in sent_mail(local)}
    assert {i for i, m in mail.items() if "TRASH" in m["labelIds"]} == theirs  # the lead's "About Jane" stays

    again = forget(JANE)
    assert again.exit_code == 0 and "removed" not in again.output, again.output
    assert "Nothing about jane@example.org was found" in again.output


def test_a_thread_the_team_kept_finds_its_tasks_by_their_thread_link(desk):
    """A task whose notes name the thread (Thread:) but another customer (a colleague Jane copied wrote the
    latest message, or an older version's notes) goes with her thread while Gmail still holds it."""
    local, host, jane, bob = desk
    api = local.tasks()
    own = next(l["id"] for l in api.tasklists().list().execute()["items"] if l["title"] == "Labeldesk escalations")
    link = f"https://mail.google.com/mail/u/support@example.com/#all/{jane}"
    api.tasks().insert(tasklist=own, body={"title": "Older task", "notes": f"Customer: someone@example.org\n"
                                           f"Thread: {link}\n\n{JANE}\n\n[labeldesk:breach:{jane}:1]"}).execute()
    api.tasks().insert(tasklist=own, body={"title": "Bob's, quoting Jane", "notes": f"Customer: {BOB}\n"
                                           f"Thread: https://mail.google.com/mail/u/0/#all/{bob}\n\n"
                                           f"Customer: {JANE}\nThread: {link}\n\n[labeldesk:breach:{bob}:2]"}).execute()
    # A thread that only names her (Bob writing about her) is Bob's ticket: its task stays, and is said.
    named = deliver(local.gmail(), make_email(sender=f"Bob <{BOB}>", message_id="<bob2@example.org>",
                                              subject="For my wife", body=f"Please also tell {JANE}."))["threadId"]
    api.tasks().insert(tasklist=own, body={"title": "For my wife", "notes": f"Customer: {BOB}\nThread: https://mail."
                                           f"google.com/mail/u/0/#all/{named}\n\n[labeldesk:breach:{named}:3]"}).execute()
    result = forget(JANE)
    assert result.exit_code == 0, result.output + result.stderr
    assert "removed Google Tasks: 3 tasks deleted" in result.output
    left = titles(tasks_by_list(local))["Labeldesk escalations"]
    assert "Older task" not in left and {"Bob's, quoting Jane", "Call Jane back", "For my wife"} <= set(left)
    assert ("left: Google Tasks: \"Bob's, quoting Jane\" (Labeldesk escalations) is about another customer's ticket "
            "and quotes their address") in result.output


def test_a_dry_run_lists_what_would_go_and_changes_nothing(desk, tmp_path):
    local, host, jane, bob = desk
    before_tasks, before_mail = tasks_by_list(local), sent_mail(local)
    result = forget("--dry-run", JANE)
    assert result.exit_code == 0, result.output + result.stderr
    assert "Google Tasks: would delete 'SLA breached: Where is my order' (Labeldesk escalations)" in result.output
    assert "Google Tasks: would delete '[billing] Where is my order' (Labeldesk escalations — billing)" in result.output
    assert result.output.count("Gmail: would move the notice 'SLA: Where is my order' to lead@example.com") == 3
    assert "removed" not in result.output
    assert tasks_by_list(local) == before_tasks and sent_mail(local) == before_mail


def test_what_could_not_be_removed_is_said_and_the_next_run_finishes_it(desk):
    """Google Tasks down (503 through every retry): the notices go, the tasks are left and said, exit 1; the next run
    deletes them."""
    local, host, jane, bob = desk
    local.app.faults.fail_next("tasks.tasklists.list", 6, 503)
    result = forget(JANE)
    assert result.exit_code == 1
    assert "Google Tasks could not be read" in result.stderr and "run `labeldesk forget` again" in result.stderr
    assert "removed Gmail: 3 notices moved to the Trash" in result.output
    assert "SLA breached: Where is my order" in str(titles(tasks_by_list(local)))
    # A run stopped between blanking a task and deleting it leaves it blank: the next run still deletes it.
    local.app.faults.fail_next("tasks.tasks.delete", 6, 503)
    stopped = forget(JANE)
    assert stopped.exit_code == 1 and "was not deleted" in stopped.stderr
    assert "Erased" in str(titles(tasks_by_list(local)))
    again = forget(JANE)
    assert again.exit_code == 0, again.output + again.stderr
    assert "removed Google Tasks: 1 task deleted" in again.output  # the one the stopped run left blank
    assert "Gmail:" not in again.output
    assert "Where is my order" not in str(titles(tasks_by_list(local))) and "Erased" not in str(tasks_by_list(local))


def test_without_a_plugin_using_tasks_it_says_tasks_were_not_checked(tmp_path, monkeypatch):
    import plugin_host.runtime as runtime

    from .test_forget_customer import kb_host

    local, host = kb_host(tmp_path)
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    local.app.reset_counters()
    result = forget(JANE)
    assert result.exit_code == 0, result.output
    assert "left: Google Tasks was not checked: no enabled plugin uses it" in result.output
    assert not [m for m, n in local.app.calls.items() if m.startswith("tasks.") and n]


def test_tasks_not_checked_says_what_a_person_can_do_about_them(tmp_path, monkeypatch):
    """A data-protection officer read only that the tasks 'stay until it is on again and `labeldesk forget` runs':
    switching the SLA plugin on again (escalations and all) was the one way out named. Every other `left:` line
    says what a person deletes; this one now does too."""
    import plugin_host.runtime as runtime

    from .test_forget_customer import kb_host

    local, host = kb_host(tmp_path)
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    said = [line for line in forget(JANE).output.splitlines() if line.startswith("left: Google Tasks")]
    assert said and f"delete the tasks naming {JANE}" in said[0], said


def test_chat_posts_are_said_to_be_left_for_people(desk, tmp_path):
    local, host, jane, bob = desk
    from plugin_host.executor import WebhookLog

    WebhookLog(host.config.state_path).add(f"breach:{jane}:1")
    result = forget(JANE)
    assert "left: Google Chat: posts about their tickets cannot be deleted through an incoming webhook" in result.output




def test_a_still_unanswered_notice_that_went_out_alone_is_found_too(tmp_path, monkeypatch):
    """A backlog's first sweep (or a team whose first notices go to Chat) mails only "Still unanswered", which named
    no customer: no search for the customer found it, and forget left it with her subject in the lead's Sent. It now
    names the customer as the other notices do."""
    import plugin_host.runtime as runtime

    local, host, clock = setup(tmp_path, warsaw(9), sla={"timezone": "Europe/Warsaw", "second_step_after": "1h"})
    jane = ask(local, f"Jane Customer <{JANE}>", "jane", "Production is down, urgent")
    ChangeFeed(host).sync()
    clock["now"] = warsaw(15, 0)
    host.sweep()
    [notice] = [m for m in sent_mail(local) if header(m, "X-Labeldesk").startswith("notify:")]
    assert header(notice, "X-Labeldesk").startswith(f"notify:breach2:{jane}:")
    local.gmail().users().threads().delete(userId="me", id=jane).execute()
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    result = forget(JANE)
    assert result.exit_code == 0, result.output + result.stderr
    assert "removed Gmail: 1 notice moved to the Trash" in result.output
    assert "TRASH" in local.gmail().users().messages().get(userId="me", id=notice["id"]).execute()["labelIds"]


def test_a_colleagues_address_that_holds_hers_is_not_hers():
    """Whose a notice or task is goes by a whole address: forgetting jane@ leaves mary.jane@'s, jane@'s at another
    domain, and a plus address of someone else's."""
    from plugin_host.erasure import names_address

    for other in ("mary.jane@example.org", "mary-jane@example.org", "x+jane@example.org", "jane@example.org.uk",
                  "jane@example.organic"):
        assert not names_address(f"The first response for {other} was due", JANE), other
    for hers in (f"for {JANE} was due", f"<{JANE}>", f"({JANE.upper()}).", f"{JANE}, owned by nobody"):
        assert names_address(hers, JANE), hers


def send_in_thread(local, thread_id: str, headers: str, body: str) -> dict:
    return local.gmail().users().messages().send(userId="me", body={
        "raw": _raw(f"From: support@example.com\r\n{headers}\r\n\r\n{body}\r\n"), "threadId": thread_id}).execute()


def test_bobs_notices_stay_though_an_agent_named_her_in_their_conversation(desk):
    """The search finds a conversation of Bob's notices when an agent, answering the lead there, named Jane: Bob's
    notices are trashed only when one of them names her, never because someone else's message does."""
    local, host, jane, bob = desk
    bobs = [m for m in sent_mail(local) if f":{bob}:" in header(m, "X-Labeldesk")]
    answered = header(bobs[-1], "Message-ID")
    said = send_in_thread(local, bobs[0]["threadId"], f"To: lead@example.com\r\nSubject: Re: SLA: Refund missing\r\n"
                          f"In-Reply-To: {answered}\r\nReferences: {answered}", f"Bob is {JANE}'s husband; she will call.")
    assert said["threadId"] == bobs[0]["threadId"]
    result = forget(JANE)
    assert result.exit_code == 0, result.output + result.stderr
    assert "removed Gmail: 3 notices moved to the Trash" in result.output
    assert not [m for m in sent_mail(local) if m["id"] in {b["id"] for b in bobs} and "TRASH" in m["labelIds"]]


def test_an_acknowledgement_to_another_customer_that_names_her_stays(desk):
    """Bob's ticket names Jane in its subject, so Labeldesk's acknowledgement to him does too, with Labeldesk's
    Message-ID: it is Bob's mail, not a notice about her (only ``X-Labeldesk: notify:`` is), and stays."""
    local, host, jane, bob = desk
    ack = send_in_thread(local, bob, f"To: {BOB}\r\nSubject: Re: Refund missing for {JANE}\r\nX-Labeldesk: ack\r\n"
                                     "Message-ID: <labeldesk.0123456789abcdef0123@example.com>\r\n"
                                     "In-Reply-To: <bob@example.org>\r\nReferences: <bob@example.org>",
                         f'We have received your request "Refund missing for {JANE}".')
    result = forget(JANE)
    assert result.exit_code == 0, result.output + result.stderr
    assert "removed Gmail: 3 notices moved to the Trash" in result.output
    assert "TRASH" not in local.gmail().users().messages().get(userId="me", id=ack["id"]).execute()["labelIds"]
