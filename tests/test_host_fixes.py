"""The change feed never answers twice or answers spam: retries in a long-running process, spam and trash."""
from __future__ import annotations

import base64

import pytest

from plugin_host.config import load_config
from plugin_host.sync import ChangeFeed
from tests.conftest import deliver, lose_first_response, make_email, send
from tests.test_host_sync import CONFIG, make_host, sent_acks, synced_host


def autoreply_host(tmp_path, **mailbox):
    """A host whose acknowledgements come from the shipped autoreply plugin (not the test's stand-in)."""
    class Quiet:
        pass

    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], **mailbox}, "plugins": {"enabled": ["autoreply"]}}
    local, host, _ = make_host(tmp_path, plugin=Quiet(), config=config)
    return local, host


def test_a_retry_in_the_same_process_does_not_acknowledge_again(tmp_path):
    """The acknowledgement went out, then labelling failed: the next sync (same process) must see it."""
    local, host, _, feed = synced_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<retry@example.org>"))
    local.app.faults.fail_next("gmail.users.messages.modify", count=6, status=500)
    assert not feed.sync().ok and len(sent_acks(local)) == 1
    for _ in range(2):
        assert feed.sync().ok
    assert len(sent_acks(local)) == 1


def test_spam_and_trash_are_never_tickets(tmp_path):
    local, host = autoreply_host(tmp_path)
    feed = ChangeFeed(host)
    feed.sync()
    for number, label in enumerate(("SPAM", "TRASH")):
        deliver(local.gmail(), make_email(sender=f"Offers <offers{number}@example.net>", subject="Cheap pills",
                                          message_id=f"<junk{number}@example.net>"), labels=(label,))
    report = feed.sync()  # history records carry no labels (like Gmail): the threads are read, and are no tickets
    assert report.ok and all(p.ticket is None for p in report.threads) and sent_acks(local) == []


def test_a_thread_deleted_before_the_sync_does_not_hold_the_cursor(tmp_path):
    local, host, _, feed = synced_host(tmp_path)
    gmail = local.gmail()
    start = feed.cursor.history_id
    gone = deliver(gmail, make_email(message_id="<gone@example.org>", subject="spam"))
    gmail.users().messages().delete(userId="me", id=gone["id"]).execute()
    deliver(gmail, make_email(sender="bob@example.org", message_id="<ok@example.org>", subject="real"))
    report = feed.sync()
    assert report.ok and feed.cursor.history_id != start and len(sent_acks(local)) == 1


def test_a_label_deleted_in_gmail_is_looked_up_again(tmp_path):
    local, host, _ = make_host(tmp_path)
    gmail = local.gmail()
    feed = ChangeFeed(host)
    deliver(gmail, make_email(sender="a@example.org", subject="first", message_id="<f@x>"))
    assert feed.sync().ok
    label = next(l for l in local.mailbox.labels.values() if l["name"] == "Helpdesk/Acknowledged")
    gmail.users().labels().delete(userId="me", id=label["id"]).execute()  # an admin tidies labels in Gmail
    deliver(gmail, make_email(sender="b@example.org", subject="second", message_id="<s@x>"))
    assert feed.sync().ok
    assert any(l["name"] == "Helpdesk/Acknowledged" for l in local.mailbox.labels.values())


def test_one_failing_ticket_does_not_stop_the_sweep(tmp_path):
    from plugin_host import hookimpl

    class Sweeper:
        seen: list = []

        @hookimpl
        def sweep_queries(self, settings, now):
            return ["in:inbox"]

        @hookimpl
        def on_sweep(self, ticket, actions):
            self.seen.append(ticket.subject)
            if ticket.subject == "bad":
                raise RuntimeError("a plugin bug")
            actions.add_labels("Swept")

    local, host, _ = make_host(tmp_path, plugin=Sweeper())
    for subject in ("a", "b", "bad", "c", "d"):
        deliver(local.gmail(), make_email(sender=f"{subject}@example.org", subject=subject, message_id=f"<{subject}@x>"))
    results = host.sweep()
    assert sorted(Sweeper.seen) == ["a", "b", "bad", "c", "d"] and len(results) == 4


def test_a_send_whose_response_was_lost_is_not_sent_again(tmp_path):
    """Gmail accepted the acknowledgement but the response timed out: the retry finds it by Message-ID."""
    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<timeout@example.org>"))
    lost = lose_first_response(local, lambda uri, method: "/messages/send" in uri)
    report = ChangeFeed(host).sync()
    assert lost and report.ok and len(sent_acks(local)) == 1


def test_every_page_of_tasks_and_hidden_ones_are_read(tmp_path):
    """Google returns at most 100 tasks a page, and hides tasks completed in Gmail unless asked."""
    from plugin_host.actions import Actions

    local, host, _ = make_host(tmp_path)
    list_id = host.executor.tasklist_id("Labeldesk")
    for number in range(130):
        host.client.insert_task(list_id, {"title": f"t{number}", "notes": f"[labeldesk:k{number}]"})
    done = host.client.insert_task(list_id, {"title": "escalation", "notes": "[labeldesk:done-in-gmail]"})
    task = local.mailbox.tasks[list_id][done["id"]]
    task.update(status="completed", hidden=True)  # completed in Gmail's Tasks panel: Google hides it
    assert len(host.client.list_tasks(list_id)) == 131
    for key in ("k125", "done-in-gmail"):  # on the second page; hidden
        actions = Actions(thread_id="t1")
        actions.task(title="again", notes="", key=key, tasklist="Labeldesk")
        assert host.executor.execute(actions).skipped == [f"task {key} exists"]
    assert len(host.client.list_tasks(list_id)) == 131


def test_a_keyed_chat_alert_is_posted_once_and_its_secret_url_never_shown(tmp_path, caplog):
    import http.server
    import threading

    from plugin_host.actions import Actions

    posts = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200 if "/ok" in self.path else 500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local, host, _ = make_host(tmp_path)
        url = f"http://127.0.0.1:{server.server_port}/ok?key=SECRET"
        outcomes = []
        for _ in range(2):
            actions = Actions(thread_id="t1")
            actions.notify(to="team", channel=url, subject="SLA breached", text="x", key="breach:t1:1")
            outcomes.append(host.executor.execute(actions))
        assert len(posts) == 1 and outcomes[1].skipped == ["notification breach:t1:1 already posted"]
        failing = Actions(thread_id="t1")
        failing.notify(to="team", channel=url.replace("/ok", "/fail"), subject="SLA breached", text="x", key="b2")
        # A chat webhook down is no reason to fail the ticket (its reply and labels went through): the run
        # reports and logs it, and the key lets the next run post it.
        outcome = host.executor.execute(failing)
        assert outcome.errors == ["notification b2 failed: RuntimeError"]
        shown = " ".join(host.executor.describe(failing, None)) + caplog.text
        assert "SECRET" not in shown and "127.0.0.1" in shown and "HTTP 500" in shown
    finally:
        server.shutdown()


def test_an_acknowledgement_without_subject_joins_the_thread_and_is_sent_once(tmp_path):
    local, host = autoreply_host(tmp_path, ack_window_days=0)
    raw = (b"From: Jane <jane1@example.org>\r\nTo: support@example.com\r\nMessage-ID: <ns@x>\r\n"
           b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nhello, my order is late\r\n")
    ref = deliver(local.gmail(), raw)
    feed = ChangeFeed(host)
    for _ in range(3):
        assert feed.sync(full=True).ok
    [ack] = sent_acks(local)
    thread = local.gmail().users().threads().get(userId="me", id=ref["threadId"]).execute()
    assert len(thread["messages"]) == 2 and "(no subject)" not in str(ack.raw)


def test_a_thread_that_always_fails_is_set_aside_after_three_syncs(tmp_path):
    from plugin_host import hookimpl
    from plugin_host.errors import GmailError

    class Fragile:
        @hookimpl
        def on_ticket_opened(self, ticket, actions):
            if ticket.subject == "poison":
                raise RecursionError("maximum recursion depth exceeded")  # e.g. a message nested too deep
            if ticket.subject == "outage":
                raise GmailError("mailbox support@example.com: gmail.users.messages.send failed: HTTP 503")

    local, host, _ = make_host(tmp_path, plugin=Fragile())
    feed = ChangeFeed(host)
    feed.sync()
    for subject in ("poison", "outage"):
        deliver(local.gmail(), make_email(sender=f"{subject}@example.org", subject=subject, message_id=f"<{subject}@x>"))
    reports = [feed.sync() for _ in range(3)]
    assert [len(r.failed) for r in reports] == [2, 2, 1] and [t for t, _ in reports[2].set_aside] != []
    assert "outage" not in str(reports[2].set_aside) and feed.cursor.strikes == {}
    held = feed.cursor.history_id
    assert not feed.sync().ok and feed.cursor.history_id == held  # Gmail's own failures always hold the cursor


def test_a_raw_utf8_subject_is_read_and_answered_in_its_thread(tmp_path):
    """RFC 6532 mail: the subject in plain UTF-8 bytes, no encoded words (common from Polish and Russian clients)."""
    local, host = autoreply_host(tmp_path)
    raw = ("From: Anna Nowak <anna@example.pl>\r\nTo: support@example.com\r\nSubject: Nie mogę się zalogować\r\n"
           "Message-ID: <pl@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Pomocy, nie mogę się zalogować do konta.\r\n").encode()
    ref = deliver(local.gmail(), raw)
    assert host.ticket(ref["threadId"]).subject == "Nie mogę się zalogować"
    assert ChangeFeed(host).sync().ok
    [ack] = sent_acks(local)
    assert ack.thread_id == ref["threadId"] and "Re: Nie mogę się zalogować" in ack.parse().subject


def test_a_dry_run_does_not_list_replies_a_real_run_would_skip(tmp_path):
    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<dry@example.org>"))
    feed = ChangeFeed(host)
    assert feed.sync().ok and len(sent_acks(local)) == 1
    lines = [line for p in feed.sync(full=True, dry_run=True).threads if p.outcome for line in p.outcome.done]
    assert lines and not any(line.startswith("(dry run) reply") for line in lines) and any("skip reply" in line for line in lines)


def test_dry_runs_list_tasks_and_notifications_a_real_run_would_skip(tmp_path):
    """A dry run reads (never writes) Tasks and the mailbox, so it does not promise an escalation task or
    an alert that already exists — and it does not create the task list to find out."""
    from plugin_host.actions import Actions

    local, host, _ = make_host(tmp_path)
    actions = Actions(thread_id="t1")
    actions.task(title="Escalate t1", notes="", key="esc-t1", tasklist="Escalations")
    actions.notify(to="lead@example.com", subject="Breach", text="t1 breached", key="breach-t1", channel="email")
    first = host.executor.execute(actions, dry_run=True).done
    assert first == ["(dry run) task (esc-t1) Escalate t1",
                     "(dry run) notify lead@example.com via email: Breach"]
    assert all(l["title"] != "Escalations" for l in host.client.list_tasklists())
    assert host.executor.execute(actions).done == ["task created: Escalate t1", "notified lead@example.com: Breach"]
    again = host.executor.execute(actions, dry_run=True).done
    assert again == ["(dry run) skip task (esc-t1): exists", "(dry run) skip notification (breach-t1): already sent"]


def test_concurrent_runs_send_a_reply_and_create_a_label_once(tmp_path):
    """The feed, the sweep and add-on requests may act on one thread at once: both read the ticket before
    either sent. The executor holds each idempotency key for one run, and creates a new label once."""
    import threading
    import time

    from plugin_host.actions import Actions

    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<race@example.org>", subject="Race"))
    thread_id = next(iter(local.mailbox.threads))
    ticket = host.ticket(thread_id)
    original_send, original_label = host.client.send, host.client.create_label

    def slow_send(raw, thread_id=None):
        time.sleep(0.2)  # both runs are past their checks before the first message lands
        return original_send(raw, thread_id=thread_id)

    def slow_label(name, color=None):
        time.sleep(0.1)
        return original_label(name, color=color)

    host.client.send, host.client.create_label = slow_send, slow_label
    outcomes = []

    def run():
        actions = Actions(thread_id=thread_id)
        actions.reply(in_reply_to=ticket.first_customer_message.id, to=ticket.customer.email, subject="Re: Race",
                      text="We got it.", key="race-ack", reply_kind="acknowledgement")
        actions.add_labels("Brand new label")
        outcomes.append(host.executor.execute(actions, ticket))

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(10)
    sent = [m for m in local.mailbox.messages.values() if b"X-Labeldesk: race-ack" in m.raw]
    assert len(sent) == 1
    assert sum("sent by another run" in line for o in outcomes for line in o.skipped) == 1
    labels = [l["name"] for l in host.client.list_labels()]
    assert labels.count("Helpdesk/Brand new label") == 1 and not any(o.errors for o in outcomes)


def test_a_failed_send_gives_its_key_back(tmp_path):
    from plugin_host.actions import Actions
    from plugin_host.errors import GmailError

    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<fail@example.org>", subject="Fail"))
    thread_id = next(iter(local.mailbox.threads))
    ticket = host.ticket(thread_id)
    actions = Actions(thread_id=thread_id)
    actions.reply(in_reply_to=ticket.first_customer_message.id, to=ticket.customer.email, subject="Re: Fail",
                  text="We got it.", key="fail-ack", reply_kind="acknowledgement")
    local.app.faults.fail_next("gmail.users.messages.send", count=6, status=500)
    with pytest.raises(GmailError):
        host.executor.execute(actions, ticket)
    assert host.executor.execute(actions, ticket).done[0].startswith("sent acknowledgement (fail-ack)")


def test_earlier_tickets_of_an_odd_address_do_not_pull_in_other_customers(tmp_path):
    """Braces are legal in an address and mean OR in Gmail's search: ``from:{jane}@example.net`` also
    found every thread from anyone called "jane". Such an address (or a quoted local part with spaces
    and "OR") gets no history rather than someone else's."""
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    local = LocalMailbox()
    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")}})
    host = build_host(config, http=local.http)
    g = local.gmail()
    deliver(g, make_email(sender="Jane <jane@example.org>", subject="Mine", message_id="<j1@example.org>"))
    odd = deliver(g, make_email(sender="Odd <{jane}@example.net>", subject="Odd one", message_id="<o1@example.net>"))
    email = host.ticket(odd["threadId"]).customer.email
    assert email == "{jane}@example.net"
    assert host.customer_history(email, exclude_thread=odd["threadId"]) == [] and host.customer_tickets(email) == []
    assert host.customer_history('"jane or x"@example.net') == [] and host.customer_history("-jane@example.org") == []
    assert host.customer_history("") == [] and host.customer_tickets(" ") == []
    plain = host.customer_history("jane@example.org")
    assert [e.subject for e in plain] == ["Mine"]


@pytest.mark.parametrize("sender", ["<img src=x onerror=alert(1)>", "Odd <{jane}@example.net>", "jane at example.org"])
def test_a_sender_address_that_is_no_plain_address_gets_no_acknowledgement_and_no_error(tmp_path, sender):
    """A From header with no real address made the acknowledgement fail in every sync (a header defect,
    or a 400 from the per-sender search) until the thread was set aside. Now the guard says why."""
    local, host, plugin, feed = synced_host(tmp_path)
    ref = deliver(local.gmail(), make_email(sender=sender, message_id="<bad-from@example.org>"))
    report = feed.sync()
    [processed] = [p for p in report.threads if p.thread_id == ref["threadId"]]
    assert not processed.outcome.errors and sent_acks(local) == []
    assert any("not a plain email address" in line for line in processed.outcome.skipped)
    assert feed.sync().threads == [] and sent_acks(local) == []


def test_a_customer_cannot_pass_for_labeldesk_or_an_agent_with_our_marker_header(tmp_path):
    """Only our own sent mail with the marker counts as ours: a customer's message carrying a forged
    ``X-Labeldesk`` header stays automatic (never answered, never an agent's reply)."""
    local, host, plugin, feed = synced_host(tmp_path)
    forged = deliver(local.gmail(), make_email(message_id="<forged@example.org>", headers={"X-Labeldesk": "ack"}))
    assert host.ticket(forged["threadId"]) is None  # no customer message: not a ticket, no acknowledgement
    feed.sync()
    assert sent_acks(local) == []


def test_a_team_leads_answer_to_our_breach_alert_is_no_ticket(tmp_path):
    """The breach email goes from support@ to a team lead who is not an agent; the lead's "on it" lands
    in the same thread. It is no customer request: no ticket, no acknowledgement."""
    local, host, plugin, feed = synced_host(tmp_path)
    g = local.gmail()
    alert = make_email(sender="Labeldesk <support@example.com>", to="lead@example.com", subject="SLA breached: Order 1",
                       message_id="<notify-1@example.com>",
                       headers={"X-Labeldesk": "notify:breach:t1", "Auto-Submitted": "auto-generated"})
    sent = send(g, alert)
    answer = make_email(sender="Lena Lead <lead@example.com>", subject="Re: SLA breached: Order 1", body="On it.",
                        message_id="<lead-1@example.com>", in_reply_to="<notify-1@example.com>")
    deliver(g, answer, threadId=sent["threadId"])
    assert host.ticket(sent["threadId"]) is None
    feed.sync()
    assert sent_acks(local) == []


def test_an_insert_draft_answers_whoever_wrote_last(tmp_path):
    """Jane asked, her colleague Bob followed up in the thread: the side panel's insert draft replies to
    Bob's message and goes to Bob, as Gmail's Reply would."""
    local, host, plugin, feed = synced_host(tmp_path)
    g = local.gmail()
    first = deliver(g, make_email(message_id="<q1@example.org>", subject="Invoice"))
    deliver(g, make_email(sender="Bob <bob@example.org>", subject="Re: Invoice", message_id="<q2@example.org>",
                          in_reply_to="<q1@example.org>", body="Any news on this?"), threadId=first["threadId"])
    ticket = host.ticket(first["threadId"])
    draft = host.reply_draft(ticket, None, "Here is how invoices work.")
    raw = g.users().drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]["raw"]
    text = base64.urlsafe_b64decode(raw).decode()
    assert "To: bob@example.org" in text and "In-Reply-To: <q2@example.org>" in text


def test_an_insert_draft_keeps_the_people_the_customer_put_on_copy(tmp_path):
    """Jane wrote to support and a colleague, with her manager on Cc: the prepared reply goes to Jane with
    the others on Cc (Gmail's Reply all, what a help desk's reply does), never to our own addresses (an alias,
    a +tag) nor an agent, nor Jane twice."""
    local, host, plugin, feed = synced_host(tmp_path)
    g = local.gmail()
    raw = make_email(to="Support <support@example.com>, Piotr <piotr@example.org>",
                     headers={"Cc": "Mark Manager <MARK@example.org>, help+billing@example.com, "
                                    "anna.kowalska@example.com, jane@example.org"})
    first = deliver(g, raw)
    draft = host.reply_draft(host.ticket(first["threadId"]), None, "Here is how invoices work.")
    raw = g.users().drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]["raw"]
    text = base64.urlsafe_b64decode(raw).decode()
    assert "To: jane@example.org" in text
    assert "Cc: piotr@example.org, mark@example.org\r\n" in text


def test_a_buttons_second_toast_says_nothing_new_was_made_only_when_nothing_was(tmp_path):
    """CardReply.already replaces the toast when the press made nothing people see: a mail sent (a
    notification) counts as made, like a task; a dry run, which makes nothing, keeps the plugin's own toast."""
    from plugin_host import hookimpl
    from plugin_host.ticket import CardReply

    class TellTheLead:
        @hookimpl
        def on_card_action(self, name, parameters, form_inputs, ticket, agent, actions, settings, now):
            if name == "lead.tell":
                actions.notify(to="lead@example.com", subject=f"Look at {ticket.subject}", text=ticket.gmail_url,
                               key=f"tell:{ticket.thread_id}")
                return CardReply(notification="The lead was told.", already="The lead was told before.")

    local, host, _ = make_host(tmp_path, plugin=TellTheLead())
    ref = deliver(local.gmail(), make_email(subject="Refund"))
    press = lambda **kw: host.card_action("lead.tell", {}, {}, ref["threadId"], None, **kw).notification  # noqa: E731
    assert press(dry_run=True) == "The lead was told."
    assert press() == "The lead was told."
    assert press() == "The lead was told before."
    assert press(dry_run=True) == "The lead was told."


def test_an_insert_draft_copies_each_person_once_and_skips_what_is_no_address(tmp_path):
    """Cc is copied from the customer's own header, which anyone can write: a bare word, a space in an address or
    a non-ASCII local part (nothing an EmailMessage can address; a quoted one carries commas and spaces) made every "Insert" on the ticket fail with a
    500; such an entry is left out and the rest are copied, each once, however often the header names them."""
    local, host, plugin, feed = synced_host(tmp_path)
    g = local.gmail()
    raw = make_email(to="Support <support@example.com>, Piotr <piotr@example.org>",
                     headers={"Cc": "piotr@example.org, undisclosed, a b@example.org, jürgen@example.org, \"x, y\"@example.org, "
                                    "PIOTR@example.org, Mark <mark@example.org>"})
    first = deliver(g, raw)
    draft = host.reply_draft(host.ticket(first["threadId"]), None, "Here is how invoices work.")
    raw = g.users().drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]["raw"]
    text = base64.urlsafe_b64decode(raw).decode()
    assert "To: jane@example.org" in text
    assert "Cc: piotr@example.org, mark@example.org\r\n" in text


def test_an_insert_draft_to_a_mass_mailing_copies_nobody(tmp_path):
    """A message written to hundreds of people is a mailing, not a conversation: copying them all put every one
    on our draft, so one press of Send mailed them all from support@ (a stranger's list reached through us, and
    the mailbox's daily recipients spent). Up to MAX_COPIED others are copied; past that, only the customer."""
    from plugin_host.host import MAX_COPIED

    local, host, plugin, feed = synced_host(tmp_path)
    g = local.gmail()
    few = ", ".join(f"p{n}@example.org" for n in range(MAX_COPIED))
    first = deliver(g, make_email(to="support@example.com", headers={"Cc": few}))
    assert len(host.copied(host.ticket(first["threadId"]).latest_customer_message)) == MAX_COPIED
    many = ", ".join(f"p{n}@example.org" for n in range(MAX_COPIED + 1))
    second = deliver(g, make_email(to="support@example.com", headers={"Cc": many}, subject="Mailing",
                                   message_id="<mailing@example.org>"))
    draft = host.reply_draft(host.ticket(second["threadId"]), None, "Thank you.")
    raw = g.users().drafts().get(userId="me", id=draft["id"], format="raw").execute()["message"]["raw"]
    text = base64.urlsafe_b64decode(raw).decode()
    assert "To: jane@example.org" in text and "Cc:" not in text
