"""The demo preview in a real headless Chromium: the side panel renders from the endpoints' card JSON."""
from __future__ import annotations

import shutil
import subprocess
import threading

import pytest

from plugin_host.demo import demo_host
from plugin_host.sync import ChangeFeed
from plugin_host.web import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (CI installs Debian's chromium)")
def test_preview_page_in_chromium(tmp_path):
    from werkzeug.serving import make_server

    local, host = demo_host(str(tmp_path / "state"))
    ChangeFeed(host).sync()
    app = create_app(host, demo=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        thread_id = next(t for t in local.mailbox.threads if (ticket := host.ticket(t)) and ticket.awaiting_reply)
        url = f"http://127.0.0.1:{server.server_port}/preview/{thread_id}"
        profile = tmp_path / "profile"
        dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=90).stdout
        assert "Service level" in dom and "Ownership" in dom and "Compose panel" in dom
        assert "<button" in dom and "Escalate" in dom
        shot = tmp_path / "preview.png"
        subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900",
                        f"--screenshot={shot}", url], capture_output=True, timeout=90)
        assert shot.exists() and shot.stat().st_size > 10_000
        shutil.copy(shot, "/tmp/labeldesk-preview.png") if shutil.os.path.isdir("/tmp") else None
    finally:
        server.shutdown()


HOSTILE = "<script>document.documentElement.setAttribute('data-pwned','yes')</script>"


def _hostile_page(tmp_path, monkeypatch, unescaped: bool):
    """Chromium's DOM and console for the preview of a customer's mail whose name, subject and body carry an
    inline script; with ``unescaped`` the side panel's text goes out as HTML (an escaping slip to come)."""
    import html
    from datetime import datetime, timezone

    from werkzeug.serving import make_server

    from gmail_addon import preview

    from .conftest import make_email

    if unescaped:
        monkeypatch.setattr(preview, "card_text", lambda value: html.unescape(str(value or "")))
    local, host = demo_host(str(tmp_path / "state"))
    ChangeFeed(host).sync()
    raw = make_email(sender=f'"Mallory {HOSTILE}" <mallory@example.org>', subject=f"Refund {HOSTILE}",
                     body=f"Hello {HOSTILE}", date=datetime.now(timezone.utc))
    local.mailbox.add_message(raw, ["INBOX", "UNREAD"])
    report = ChangeFeed(host).sync()
    thread_id = next(p.ticket.thread_id for p in report.threads
                     if p.ticket and p.ticket.customer.email == "mallory@example.org")
    server = make_server("127.0.0.1", 0, create_app(host, demo=True), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/preview/{thread_id}"
        shown = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
                                "--v=0", "--dump-dom", url], capture_output=True, text=True, timeout=90)
    finally:
        server.shutdown()
    return shown.stdout, shown.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (CI installs Debian's chromium)")
def test_a_customers_script_in_the_preview_is_text_and_its_styles_still_apply(tmp_path, monkeypatch):
    """A customer's name, subject and body with <script> in them show as text in the real page; the page's own
    stylesheet is not refused (its nonce matches the policy's), nor is anything else."""
    dom, console = _hostile_page(tmp_path, monkeypatch, unescaped=False)
    assert "Compose panel" in dom and "<button" in dom and "Mallory" in dom
    assert "&lt;script&gt;" in dom and 'data-pwned="yes"' not in dom
    assert "Content Security Policy" not in console, console


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (CI installs Debian's chromium)")
def test_a_script_that_slips_past_escaping_into_the_preview_does_not_run(tmp_path, monkeypatch):
    """The page's policy allowed 'unsafe-inline' scripts (and it has none of its own), so one escaping slip in
    the side panel would have run a customer's script in the agent's session. Inline scripts now need the
    response's nonce: Chromium blocks the customer's and says so on its console."""
    dom, console = _hostile_page(tmp_path, monkeypatch, unescaped=True)
    assert "<script>document.documentElement" in dom  # the slip happened: the script is in the page
    assert 'data-pwned="yes"' not in dom
    assert "Executing inline script violates the following Content Security Policy directive" in console, console
