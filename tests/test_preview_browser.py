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
