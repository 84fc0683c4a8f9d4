"""Review 35: the help-centre import's addresses (DNS rebinding), without network.

A fake resolver (``socket.getaddrinfo``) names the help centre; local servers on 127.0.0.1 play an internal
service that must never be reached, or (through a redirected ``connect``) the public help centre."""
from __future__ import annotations

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plugins.kb_suggest import helpcentre
from plugins.kb_suggest.public_address import is_public, public_session

PUBLIC = "93.184.216.34"
REAL_GETADDRINFO = socket.getaddrinfo


def serve(pages: dict, seen: list, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    """A local server answering ``pages`` (path -> (status, headers, body)); each request's path and Host go
    into ``seen``. HTTP/1.0: one request a connection, so each fetch connects (and resolves) anew."""

    class Pages(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append((self.path, self.headers["Host"]))
            status, headers, body = pages.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(*servers):
    for server in servers:
        server.shutdown()
        server.server_close()


def resolver(monkeypatch, name: str, answers: list[str]) -> list[str]:
    """Answer ``name`` with ``answers`` in turn (the last one from then on); other names resolve for real.
    Returns the list of answers given."""
    given = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host != name:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        address = answers[min(len(given), len(answers) - 1)]
        given.append(address)
        kind = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if kind == socket.AF_INET6 else (address, port)
        return [(kind, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


def connects(monkeypatch, public_stand_in: int | None = None) -> list:
    """Record every outgoing connect; one to PUBLIC goes to 127.0.0.1:``public_stand_in`` (the public help
    centre), or is refused when there is none (nothing leaves this machine)."""
    made, real = [], socket.socket.connect

    def connect(sock, address):
        made.append(address[:2])
        if address[0] == PUBLIC:
            if public_stand_in is None:
                raise ConnectionRefusedError("no network in tests")
            address = ("127.0.0.1", public_stand_in)
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return made


def urlset(*urls):
    return ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>{u}</loc></url>" for u in urls) + "</urlset>").encode()


ARTICLE = (200, {"Content-Type": "text/html"}, b"<main><h1>Refunds</h1><p>Within 30 days.</p></main>")


def test_a_help_centre_that_rebinds_to_this_machine_between_fetches_never_reaches_it(tmp_path, monkeypatch):
    """The sitemap's name answered a public address first and 127.0.0.1 later (DNS rebinding): `kb import`
    fetched the sitemap from the public site, then connected to whatever the next lookup said, so the second
    page came from this machine's internal service (and a redirect hop did the same). Each connection now
    resolves once, vets that answer and connects to exactly it: the internal server sees no request."""
    internal_seen, public_seen = [], []
    internal = serve({"/a": (200, {}, b"<main><h1>SECRET</h1></main>"), "/b": (200, {}, b"<main>SECRET</main>")},
                     internal_seen)
    port = internal.server_port  # the attacker's URL names the internal service's port
    base = f"http://help.rebind.test:{port}"
    public = serve({"/sitemap.xml": (200, {"Content-Type": "application/xml"}, urlset(f"{base}/a", f"{base}/c")),
                    "/c": (302, {"Location": "/b"}, b"")}, public_seen)
    given = resolver(monkeypatch, "help.rebind.test", [PUBLIC, "127.0.0.1"])
    made = connects(monkeypatch, public_stand_in=public.server_port)
    try:
        written, failures = helpcentre.import_sitemap(f"{base}/sitemap.xml", tmp_path)
    finally:
        stop(internal, public)
    assert internal_seen == [] and ("127.0.0.1", port) not in made
    assert given == [PUBLIC, "127.0.0.1", "127.0.0.1"]  # one lookup per connection: sitemap, /a, /c (no hop to /b)
    assert [path for path, _ in public_seen] == ["/sitemap.xml"]
    assert written == 0 and len(failures) == 2
    assert all("127.0.0.1 is an address on this machine" in f or "resolves to 127.0.0.1" in f for f in failures)


def test_a_redirect_hop_connects_to_the_address_vetted_for_it(tmp_path, monkeypatch):
    """A redirect within the host is a new connection here (HTTP/1.0): its lookup answered 127.0.0.1 and is
    refused, while the hop before it went to the public address."""
    internal_seen, public_seen = [], []
    internal = serve({"/b": ARTICLE}, internal_seen)
    base = f"http://help.rebind.test:{internal.server_port}"
    public = serve({"/sitemap.xml": (200, {}, urlset(f"{base}/a")), "/a": (301, {"Location": "/b"}, b"")},
                   public_seen)
    given = resolver(monkeypatch, "help.rebind.test", [PUBLIC, PUBLIC, "127.0.0.1"])
    connects(monkeypatch, public_stand_in=public.server_port)
    try:
        written, failures = helpcentre.import_sitemap(f"{base}/sitemap.xml", tmp_path)
    finally:
        stop(internal, public)
    assert internal_seen == [] and [p for p, _ in public_seen] == ["/sitemap.xml", "/a"] and len(given) == 3
    assert written == 0 and len(failures) == 1 and failures[0].startswith(f"{base}/a: ")


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "100.64.0.1", "0.0.0.0", "::1",
                                     "::ffff:127.0.0.1", "fe80::1", "fd00::1", "64:ff9b::a9fe:a9fe", "224.0.0.1"])
def test_a_help_centre_whose_name_resolves_inside_is_refused_with_what_to_do(tmp_path, monkeypatch, address):
    """The import fetched from any address the name resolved to, though docs/kb.md said "never ... an internal
    address": 169.254.169.254 is a cloud's instance metadata, and its text became articles. The sitemap is
    refused before any connection, and the admin reads why and what the switch is."""
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    resolver(monkeypatch, "help.example.com", [address])
    made = connects(monkeypatch)
    result = CliRunner().invoke(get_cli(), ["kb", "import", "--sitemap", "https://help.example.com/sitemap.xml",
                                            "--out", str(tmp_path / "kb")])
    assert result.exit_code != 0 and made == []
    assert f"resolves to {address}" in result.output and "--allow-private-addresses" in result.output


def test_an_answer_mixing_a_public_and_an_internal_address_is_refused_whole(tmp_path, monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in (PUBLIC, "169.254.169.254")]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    made = connects(monkeypatch)
    with pytest.raises(helpcentre.ArticleError, match="169.254.169.254"):
        helpcentre.import_sitemap("http://help.example.com/sitemap.xml", tmp_path)
    assert made == []


def test_public_addresses_are_public():
    assert all(is_public(a) for a in (PUBLIC, "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"))


def test_with_the_switch_a_help_centre_on_this_machine_imports_by_its_name(tmp_path, monkeypatch):
    """--allow-private-addresses (allow_private) is the way to an intranet help centre: the page is fetched by
    its name (the Host header keeps it), from the address the lookup gave."""
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    seen, pages = [], {}
    server = serve(pages, seen)  # pages added once the port is known
    base = f"http://help.intranet.test:{server.server_port}"
    pages.update({"/sitemap.xml": (200, {}, urlset(f"{base}/refunds")), "/refunds": ARTICLE})
    given = resolver(monkeypatch, "help.intranet.test", ["127.0.0.1"])
    try:
        refused = CliRunner().invoke(get_cli(), ["kb", "import", "--sitemap", f"{base}/sitemap.xml",
                                                 "--out", str(tmp_path / "kb")])
        allowed = CliRunner().invoke(get_cli(), ["kb", "import", "--sitemap", f"{base}/sitemap.xml",
                                                 "--out", str(tmp_path / "kb"), "--allow-private-addresses"])
    finally:
        stop(server)
    assert refused.exit_code != 0 and "--allow-private-addresses" in refused.output
    assert allowed.exit_code == 0, allowed.output
    assert "Refunds" in (tmp_path / "kb" / "refunds.md").read_text()
    assert seen == [("/sitemap.xml", f"help.intranet.test:{server.server_port}"),
                    ("/refunds", f"help.intranet.test:{server.server_port}")]
    assert given == ["127.0.0.1"] * 3  # the refused sitemap, then one lookup per connection


# -- TLS: connecting to the vetted address still checks the certificate against the host name -------------

def certificate(tmp_path, name: str):
    """A test CA's file and a server context whose certificate the CA signed for ``name``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Review 35 test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(leaf.public_bytes(pem) + key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    return str(tmp_path / "ca.pem"), context


@pytest.mark.parametrize("certified", ["help.tls.test", "other.tls.test"])
def test_over_https_the_certificate_is_checked_for_the_host_name_not_the_address(tmp_path, monkeypatch, certified):
    """The connection goes to 127.0.0.1 (what the lookup gave), but TLS is the host name's: SNI names it and the
    certificate must be for it; one for another name fails the page (requests' verification, unchanged)."""
    ca, context = certificate(tmp_path, certified)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    seen = []
    server = serve({"/sitemap.xml": (200, {}, b"")}, seen, tls=context)
    base = f"https://help.tls.test:{server.server_port}"
    resolver(monkeypatch, "help.tls.test", ["127.0.0.1"])
    session = public_session(allow_private=True)
    session.verify = ca
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests prefers these to session.verify
        monkeypatch.delenv(name, raising=False)
    try:
        if certified == "help.tls.test":
            assert helpcentre.import_sitemap(f"{base}/sitemap.xml", tmp_path / "kb", session=session) == (0, [])
        else:
            with pytest.raises(Exception, match="certificate|hostname"):
                helpcentre.import_sitemap(f"{base}/sitemap.xml", tmp_path / "kb", session=session)
    finally:
        stop(server)
    assert names and set(names) == {"help.tls.test"}
    assert seen == ([("/sitemap.xml", f"help.tls.test:{server.server_port}")] if certified == "help.tls.test" else [])


# -- Content-Security-Policy of the HTML the product serves or writes -------------------------------------

def test_every_html_page_the_app_serves_has_a_nonce_policy_without_unsafe_inline(tmp_path):
    """The policy allowed 'unsafe-inline' scripts and styles on every page; each HTML response (the preview's
    pages, error pages) now names a nonce of its own, fresh per response, and the page's <style> carries it."""
    import re

    from plugin_host.demo import demo_host
    from plugin_host.sync import ChangeFeed
    from plugin_host.web import create_app

    local, host = demo_host(str(tmp_path / "state"))
    ChangeFeed(host).sync()
    client = create_app(host, demo=True).test_client()
    thread_id = next(iter(local.mailbox.threads))
    nonces = []
    for path in ("/preview/", f"/preview/{thread_id}", f"/preview/{thread_id}", "/no-such-page"):
        page = client.get(path)
        policy = page.headers["Content-Security-Policy"]
        assert page.mimetype == "text/html" and "unsafe-inline" not in policy and "object-src 'none'" in policy
        nonce = re.search(r"script-src 'self' 'nonce-([\w-]+)'", policy).group(1)
        assert f"style-src 'self' 'nonce-{nonce}'" in policy and len(nonce) >= 22
        styles = re.findall(rb"<style[^>]*>", page.data)
        assert all(tag == f'<style nonce="{nonce}">'.encode() for tag in styles)
        assert styles or page.status_code == 404
        nonces.append(nonce)
    assert len(set(nonces)) == len(nonces)


def test_a_document_the_local_mailbox_exports_as_html_carries_a_policy(tmp_path):
    """In the demo the local mailbox shares the preview's origin (/mailbox): an HTML export went out without any
    policy. It now forbids everything (a sandboxed document: no script, no form, no same-origin)."""
    from plugin_host.mailbox import LocalMailbox

    local = LocalMailbox()
    doc = local.add_document("Refunds", "Refunds <b>reach</b> your card.", None)
    status, headers, body = local.app.handle("GET", f"/drive/v3/files/{doc}/export", "mimeType=text%2Fhtml", b"", {})
    assert status.startswith("200") and b"&lt;b&gt;" in body
    assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'; sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_html_report_forbids_scripts_in_itself():
    """`labeldesk report --html` writes a file opened from disk: a meta policy now lets it run no script and
    load nothing (its styles are inline: the bars' widths are style attributes)."""
    from plugins.sla.metrics import render_html

    metrics = {"tickets": 1, "business_hours": True, "first_response": {"within_target": None},
               "resolution": {"within_target": None}, "sla_attainment": {},
               "volume_by_label": {"<script>alert(1)</script>": 1}, "volume_by_agent": {}}
    page = render_html(metrics)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
            'base-uri \'none\'; form-action \'none\'">') in page


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_resolver_answer_that_is_no_address_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch, allow_private):
    """getaddrinfo's entries were trusted to be (family, type, proto, name, (address, port…)) with an IP address:
    a hostile or broken resolver's answer ('not-an-ip', an empty or missing socket address, an AF_UNIX path)
    stopped kb import with a ValueError, IndexError or TypeError traceback, with or without
    --allow-private-addresses. It is now refused, naming the host, before any connection."""
    answers = [[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("not-an-ip", 443))],
               [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ())],
               [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (12345, 443))],
               [(socket.AF_INET, socket.SOCK_STREAM, 6, "", None)],
               [(socket.AF_UNIX, socket.SOCK_STREAM, 0, "", "/tmp/help.sock")],
               [(socket.AF_INET, socket.SOCK_STREAM)]]
    made = connects(monkeypatch)
    for answer in answers:
        monkeypatch.setattr(socket, "getaddrinfo", lambda *args, answer=answer, **kwargs: answer)
        with pytest.raises(helpcentre.ArticleError, match="help.example.com: its name server answered"):
            helpcentre.import_sitemap("http://help.example.com/sitemap.xml", tmp_path, allow_private=allow_private)
    assert made == []
