"""`labeldesk serve` runs the feed, the sweep and add-on requests on their own threads over one Host and one
knowledge base: what they share must stay right when they overlap."""
from __future__ import annotations

import threading
import time

from tests.test_host_sync import make_host


# 1. kb_suggest: one snowball stemmer object per language, shared by every thread ------------------------
def test_threads_stemming_at_once_get_and_cache_the_right_stems():
    import snowballstemmer
    import wordfreq

    from plugins.kb_suggest import analysis

    vocabulary = [w for w in wordfreq.top_n_list("en", 20000) if w.isalpha() and len(w) > 3]
    analysis._stem.cache_clear()  # as in a fresh `serve`: every word is a cache miss
    errors = []

    def work(words):  # e.g. a background index rebuild beside side-panel searches
        for w in words:
            try:
                analysis.stems(w, "en")
            except Exception as exc:  # IndexError / AssertionError from inside snowballstemmer
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(vocabulary[i::4],)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    reference = snowballstemmer.stemmer("english")
    wrong = {w: analysis._stem(w, "en") for w in vocabulary  # Latin stems lose their diacritics ("café" → "cafe")
             if analysis._stem(w, "en") != analysis.unmark(reference.stemWord(w))}
    assert not errors and not wrong, f"{len(errors)} errors, {len(wrong)} wrong cached stems, e.g. {list(wrong.items())[:5]}"


# 2. Executor.label_names iterates the shared label map while another thread creates a label ----------------
def test_label_names_while_another_thread_creates_a_label(tmp_path):
    local, host, _ = make_host(tmp_path)
    executor = host.executor
    labels = executor.label_ids()
    for n in range(2000):  # a shared support mailbox with a couple of thousand labels
        labels[f"Other/{n}"] = f"Label_x{n}"
    errors, stop = [], threading.Event()

    def read_names():  # what Host.ticket does for every add-on request and every synced thread
        while not stop.is_set():
            try:
                executor.label_names()
            except RuntimeError as exc:
                errors.append(exc)
                return

    readers = [threading.Thread(target=read_names) for _ in range(3)]
    [r.start() for r in readers]
    for n in range(100):  # the sweep or the feed putting a new label (Owner/<agent>, Escalated/<team>…) on a ticket
        time.sleep(0.001)
        executor.label_id(f"Helpdesk/New/{n}")
        if errors:
            break
    stop.set()
    [r.join() for r in readers]
    assert not errors, errors[0]


# 3. webhook-posted.json: read-modify-write from two threads loses a key --------------------------------
def test_webhook_log_keeps_keys_posted_from_two_threads(tmp_path, monkeypatch):
    from plugin_host import executor as ex
    from plugin_host.actions import Notification

    local, host, _ = make_host(tmp_path)
    posted = []
    real_load = ex.WebhookLog._load

    def slow_load(self):  # widen the window between reading and rewriting the file
        data = real_load(self)
        time.sleep(0.05)
        return data

    monkeypatch.setattr(ex.WebhookLog, "_load", slow_load)
    monkeypatch.setattr(ex, "post_webhook", lambda url, payload: posted.append(payload))

    def breach(thread_id):  # the sweep thread and the change-feed thread each escalate one ticket
        note = Notification(thread_id=thread_id, to="team", channel="https://chat.example/hook",
                            subject="SLA breached", text=thread_id, key=f"breach:{thread_id}:1")
        host.executor.notify(note, ex.Outcome())

    threads = [threading.Thread(target=breach, args=(t,)) for t in ("t1", "t2")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(posted) == 2
    kept = ex.WebhookLog(host.config.state_path)._load()
    # after a restart (new Executor, empty claims) a key missing here is posted to the team chat again
    assert set(kept) == {"breach:t1:1", "breach:t2:1"}, kept


# 4. two add-on requests on one ticket: no per-ticket serialisation, both "Take" presses win ---------------
def test_two_agents_pressing_take_at_once_leave_one_owner(tmp_path):
    from tests.conftest import deliver, make_email
    from tests.test_autoreply import setup

    local, host, feed = setup(tmp_path)
    ref = deliver(local.gmail(), make_email(message_id="<take@example.org>", subject="Help"))
    feed.sync()
    together = threading.Barrier(2)

    def take(email):  # what /addon/action does on its waitress thread: read the ticket, then run the button
        agent = host.config.agent(email)
        ticket = host.ticket(ref["threadId"])
        together.wait()
        host.card_action("autoreply.take", {}, {}, ticket, agent)

    threads = [threading.Thread(target=take, args=(e,)) for e in ("anna.kowalska@example.com", "ivan.petrov@example.com")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    owners = host.ticket(ref["threadId"]).labels_under("Owner")
    assert len(owners) == 1, owners
