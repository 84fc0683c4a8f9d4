"""kb import's per-page deadline needs a urllib3 that can stop a read (review 27)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest


def test_the_install_brings_the_urllib3_the_page_deadline_needs():
    """A page trickled byte by byte is cut off at MAX_SECONDS by urllib3's HTTPResponse.shutdown(), added in urllib3
    2.3; requests allows urllib3 from 1.21.1, and there _stop_reading found no shutdown and let the read go on, so
    an install that kept an older urllib3 had no deadline. pyproject now asks for urllib3 2.3 or later."""
    data = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    pins = [d for d in data["project"]["dependencies"] if re.match(r"urllib3\b", d)]
    assert pins, "urllib3 is not required at all"
    lowest = re.search(r">=\s*([\d.]+)", pins[0])
    assert lowest and tuple(int(n) for n in lowest.group(1).split(".")) >= (2, 3)


def test_the_installed_urllib3_can_stop_a_read():
    from urllib3.response import HTTPResponse

    assert callable(getattr(HTTPResponse, "shutdown", None))


def test_the_deadline_hangs_up_on_a_trickled_page_rather_than_waiting_for_its_end(tmp_path, monkeypatch):
    """Without the timer a trickled page still failed, but only when the server itself gave up (20 s here; a
    tarpit never does): the import must be the one that hangs up, which the server sees as a failed write."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from plugins.kb_suggest import helpcentre

    hung_up = threading.Event()

    class Tarpit(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/sitemap.xml":
                body = (f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://'
                        f'{self.headers["Host"]}/slow</loc></url></urlset>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            stop = time.monotonic() + 20
            try:
                while time.monotonic() < stop:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.01)
            except OSError:
                hung_up.set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tarpit)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(helpcentre, "MAX_SECONDS", 1)
    try:
        written, failures = helpcentre.import_sitemap(f"http://127.0.0.1:{server.server_port}/sitemap.xml", tmp_path,
                                                     allow_private=True)
        assert hung_up.wait(15), "the server trickled on until it gave up itself"
    finally:
        server.shutdown()
        server.server_close()
    assert written == 0 and "took longer than 1 s" in failures[0]


def _serve_one_page(page: bytes, declared: int):
    """A help centre of one page: ``page`` sent with a Content-Length of ``declared``, then the connection closed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Pages(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = page if self.path == "/page" else (
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://'
                f'{self.headers["Host"]}/page</loc></url></urlset>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if self.path == "/page" else "application/xml")
            self.send_header("Content-Length", str(declared if self.path == "/page" else len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("page, declared, why", [
    (b"<main><h1>Refunds</h1><p>Refunds take fourteen", 100_000, ""),  # the connection broke off mid-page
    (b"<main><h1>Refunds</h1><p>" + b"x" * 5_000 + b"</p></main>", None, "larger than"),  # MAX_BYTES made 1 kB
])
def test_a_page_cut_short_or_too_large_is_a_failure_not_an_article(tmp_path, monkeypatch, page, declared, why):
    from plugins.kb_suggest import helpcentre

    monkeypatch.setattr(helpcentre, "MAX_BYTES", 1_000)
    server = _serve_one_page(page, declared or len(page))
    try:
        written, failures = helpcentre.import_sitemap(f"http://127.0.0.1:{server.server_port}/sitemap.xml", tmp_path,
                                                     allow_private=True)
    finally:
        server.shutdown()
        server.server_close()
    assert written == 0 and list(tmp_path.glob("*.md")) == []
    assert len(failures) == 1 and why in failures[0], failures
