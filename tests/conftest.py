"""Shared fixtures: a local mailbox driven through googleapiclient, shared data location."""
from __future__ import annotations

import base64
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    candidate = Path(os.environ.get("LABELDESK_SHARED") or ROOT.parent / "shared")
    return candidate if candidate.is_dir() else None


@pytest.fixture
def shared():
    path = shared_dir()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("../shared is missing in CI")
        pytest.skip("shared data (../shared or $LABELDESK_SHARED) is not available")
    return path


@pytest.fixture(autouse=True)
def broken_plugins_said_afresh():
    """A broken plugin is said once a process: once a test, here."""
    from plugin_host import plugins

    plugins.BROKEN.clear()


@pytest.fixture
def local():
    from plugin_host.mailbox import LocalMailbox

    return LocalMailbox("support@example.com")


@pytest.fixture
def gmail(local):
    return local.gmail()


@pytest.fixture(scope="session")
def signer():
    """Signs Google-style ID tokens (push and add-on requests) with a test key served as Google's certs."""
    from .tokens import TokenSigner

    return TokenSigner()


def cli_runner():
    """A click test runner whose results keep stderr apart from stdout (``result.stdout``, ``result.stderr``).

    click 8.2 always does; 8.1 (which pyproject allows) mixes them unless asked with ``mix_stderr=False``,
    an argument 8.2 removed."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click 8.2 and later
        return CliRunner()


def make_email(sender="Jane Customer <jane@example.org>", to="support@example.com", subject="Order 1234 is late",
               body="Hello, my order has not arrived yet. Can you check?", message_id=None, in_reply_to=None,
               references=None, date=None, headers=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(timezone.utc))
    msg["Message-ID"] = message_id or f"<{abs(hash((sender, subject, body)))}@example.org>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references or in_reply_to:
        msg["References"] = references or in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def deliver(gmail, raw: bytes, labels=("INBOX", "UNREAD"), **extra) -> dict:
    """Deliver a message into the mailbox the way incoming mail arrives (messages.insert)."""
    body = {"raw": b64(raw), "labelIds": list(labels), **extra}
    return gmail.users().messages().insert(userId="me", body=body).execute()


def send(gmail, raw: bytes, thread_id: str | None = None) -> dict:
    """Send a message from the mailbox the way an agent does in Gmail (messages.send, in the thread)."""
    body = {"raw": b64(raw), **({"threadId": thread_id} if thread_id else {})}
    return gmail.users().messages().send(userId="me", body=body).execute()


def lose_first_response(local, matches, meanwhile=None) -> list:
    """The first request ``matches(uri, method)`` accepts goes through, but its response is lost (a timeout),
    as when Gmail or Tasks did the work and the connection dropped; ``meanwhile()`` runs before the timeout
    (others at work while the client waits). Returns the list of lost URIs."""
    original, lost = local.http.request, []

    def response_lost(uri, method="GET", body=None, headers=None, **kw):
        response = original(uri, method, body, headers, **kw)
        if matches(uri, method) and not lost:
            lost.append(uri)
            if meanwhile:
                meanwhile()
            raise TimeoutError("timed out reading the response")
        return response

    local.http.request = response_lost
    return lost


def lose_a_send_while_others_are_sent(local, others: int) -> list:
    """The first messages.send goes through but its answer is lost while ``others`` replies go out from the
    mailbox (agents answering while the retry waits), and the search does not find it by Message-ID yet: the
    retry can only find it by reading Sent. Returns the list of lost URIs."""
    def agents_answer():
        for n in range(others):
            other = make_email(message_id=f"<reply{n}@example.com>", sender="support@example.com")
            local.gmail().users().messages().send(userId="me", body={"raw": b64(other)}).execute()

    search_lags(local)
    return lose_first_response(local, lambda uri, method: "/messages/send" in uri, meanwhile=agents_answer)


@contextmanager
def served(local):
    """``local`` served on a loopback port, as `labeldesk mailbox serve` does; ``local.served_root`` is its API
    root (what ``[mailbox] api_root`` names) while the block runs."""
    from plugin_host.mailbox import serve

    ready, servers = threading.Event(), []

    def started(server):
        servers.append(server)
        ready.set()

    thread = threading.Thread(target=serve, args=(local,), kwargs={"port": 0, "ready": started}, daemon=True)
    thread.start()
    assert ready.wait(10)
    local.served_root = f"http://127.0.0.1:{servers[0].server_port}/"
    try:
        yield local
    finally:
        servers[0].shutdown()
        thread.join(10)


def search_lags(local) -> None:
    """Gmail's search does not find messages by Message-ID yet (its index lags a message sent a second ago)."""
    original = local.http.request

    def lagging(uri, method="GET", body=None, headers=None, **kw):
        if "rfc822msgid" in uri:  # the search index has not caught up yet
            uri = uri.replace("rfc822msgid", "rfc822msgid-not-indexed-yet")
        return original(uri, method, body, headers, **kw)

    local.http.request = lagging


def pytest_sessionfinish(session, exitstatus):
    """When the whole suite ran, fail it if some hook was never called by any test."""
    from plugin_host.hookdocs import hook_names
    from plugin_host.plugins import HOOKS_CALLED

    config = session.config
    whole_suite = not config.getoption("keyword") and not config.getoption("markexpr") and \
        all(str(a).rstrip("/").endswith("tests") for a in (config.args or ["tests"]))
    if not whole_suite or exitstatus != 0 or session.testsfailed:
        return
    never = sorted(set(hook_names()) - HOOKS_CALLED)
    if never:
        session.config.get_terminal_writer().line(f"hooks never exercised by a test: {never}", red=True)
        session.exitstatus = 1


def fake_waitress(monkeypatch, run=lambda: None) -> None:
    """``serve`` without a port: waitress's server is one whose ``run()`` calls ``run`` and returns (as on Ctrl-C)."""
    import waitress

    class Server:
        effective_port = 8099

        def run(self):
            run()

        def close(self):
            pass

    monkeypatch.setattr(waitress, "create_server", lambda app, **kw: Server())
