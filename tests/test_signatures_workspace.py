"""``labeldesk signatures sync`` with a Google Workspace service account: each agent's own mailbox is patched,
the service account acting as that agent (domain-wide delegation).

The whole path is real: the CLI, google-auth signing a JWT with the key file and asking its ``token_uri`` for an
access token, httplib2 over TLS, googleapiclient, and the local mailbox answering ``settings.sendAs.patch``. Only
Google's two servers are stood in for by one loopback HTTPS server: its ``/token`` reads whom the assertion
delegates to (``sub``) and hands out a token naming that user; every Gmail call records the token it came with.
"""
from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import threading
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.mailbox import LocalMailbox

AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska", "title": "Support Engineer"},
          "ivan.petrov@example.com": {"first_name": "Ivan", "last_name": "Petrov"}}


def tls_key_and_cert(tmp_path):
    """A private key (also the service account's) and a self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    (tmp_path / "key.pem").write_text(pem)
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pem, str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")


class Google:
    """The token endpoint and the Gmail API (the local mailbox) on one WSGI app; ``calls`` records
    (method, path, bearer token) of every Gmail call."""

    def __init__(self, local):
        self.local, self.calls, self.delegated = local, [], []
        self.without_alias = set()  # agents whose own mailbox has no send-as entry for the support address

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/token":
            form = parse_qs(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode())
            claims = form["assertion"][0].split(".")[1]
            subject = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
            self.delegated.append(subject)
            body = json.dumps({"access_token": f"token-for-{subject}", "expires_in": 3600,
                               "token_type": "Bearer"}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        token = environ.get("HTTP_AUTHORIZATION", "")
        self.calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], token))
        if environ["REQUEST_METHOD"] == "PATCH" and token.removeprefix("Bearer token-for-") in self.without_alias:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [json.dumps({"error": {"code": 404, "message": "Requested entity was not found.",
                                          "errors": [{"reason": "notFound"}]}}).encode()]
        return self.local.app(environ, start_response)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A Workspace install: a service account key file and Google (stood in for) at https://127.0.0.1:PORT/."""
    import httplib2
    from werkzeug.serving import make_server

    pem, cert, keyfile = tls_key_and_cert(tmp_path)
    monkeypatch.setattr(httplib2, "CA_CERTS", cert)  # trust the stand-in's certificate, as Google's is trusted
    local = LocalMailbox("support@example.com")
    google = Google(local)
    server = make_server("127.0.0.1", 0, google, threaded=True, ssl_context=(cert, keyfile))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"https://127.0.0.1:{server.server_port}/"
    (tmp_path / "service-account.json").write_text(json.dumps({
        "type": "service_account", "project_id": "labeldesk-test", "private_key_id": "k1", "private_key": pem,
        "client_email": "labeldesk@labeldesk-test.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": root + "token"}))
    agents = "\n".join(f'[agents."{email}"]\nfirst_name = "{a["first_name"]}"\nlast_name = "{a["last_name"]}"\n'
                       + (f'title = "{a["title"]}"\n' if "title" in a else "") for email, a in AGENTS.items())
    (tmp_path / "labeldesk.toml").write_text(
        f'[mailbox]\naddress = "support@example.com"\napi_root = "{root}"\n'
        f'credentials = "{tmp_path / "service-account.json"}"\n'
        f'[host]\nstate_dir = "{tmp_path / "state"}"\n{agents}')
    try:
        yield local, google, str(tmp_path / "labeldesk.toml")
    finally:
        server.shutdown()
        server.server_close()


def test_each_agent_gets_the_signature_in_their_own_mailbox_through_delegation(workspace):
    local, google, config = workspace
    result = CliRunner().invoke(get_cli(), ["signatures", "sync", "--config", config])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["anna.kowalska@example.com: signature set for support@example.com",
                                          "ivan.petrov@example.com: signature set for support@example.com"]
    assert sorted(google.delegated) == sorted(AGENTS)  # one token per agent, each acting as that agent
    patches = [(path, token) for method, path, token in google.calls if method == "PATCH"]
    assert patches == [("/gmail/v1/users/me/settings/sendAs/support@example.com", f"Bearer token-for-{email}")
                       for email in AGENTS]
    entry = local.gmail().users().settings().sendAs().get(userId="me", sendAsEmail="support@example.com").execute()
    assert entry["signature"] == "Ivan Petrov"  # one stand-in mailbox: the last agent's patch is what it holds


def test_a_dry_run_prints_each_agents_signature_and_changes_nothing(workspace):
    local, google, config = workspace
    result = CliRunner().invoke(get_cli(), ["signatures", "sync", "--dry-run", "--config", config])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["(dry run) anna.kowalska@example.com: Anna Kowalska<br>Support Engineer",
                                          "(dry run) ivan.petrov@example.com: Ivan Petrov"]
    assert not [call for call in google.calls if call[0] == "PATCH"] and not google.delegated


def test_an_agent_without_the_support_address_as_send_as_does_not_stop_the_others(workspace):
    """Anna's own mailbox has no send-as entry for support@ (Gmail answers 404): she is named with what to do,
    Ivan after her still gets his signature, and the command fails so a script sees it."""
    local, google, config = workspace
    google.without_alias.add("anna.kowalska@example.com")
    result = CliRunner().invoke(get_cli(), ["signatures", "sync", "--config", config])
    assert result.exit_code == 1
    assert "ivan.petrov@example.com: signature set for support@example.com" in result.output
    assert "anna.kowalska@example.com: not set" in result.output and "HTTP 404" in result.output
    assert "send-as" in result.output.split("anna.kowalska@example.com: not set")[1]
    assert "1 of 2 agents" in result.output
    entry = local.gmail().users().settings().sendAs().get(userId="me", sendAsEmail="support@example.com").execute()
    assert entry["signature"] == "Ivan Petrov"


def test_one_mailbox_dry_run_and_no_agents(tmp_path):
    """Without a service account there is one send-as: a dry run names the support address and the first agent's
    signature and sets nothing; with no [agents] there is nothing to do, and it says so."""
    from dataclasses import replace

    from plugins.autoreply.signatures import sync_signatures

    from .test_autoreply import setup

    local, host, feed = setup(tmp_path)
    assert sync_signatures(host, dry_run=True) == ["(dry run) support@example.com: Anna Kowalska<br>Support Engineer"]
    entry = local.gmail().users().settings().sendAs().get(userId="me", sendAsEmail="support@example.com").execute()
    assert not entry.get("signature")
    host.config = replace(host.config, agents={})
    assert sync_signatures(host) == ["No [agents] configured: nothing to do."]


def test_a_service_account_key_that_is_not_one_is_an_error_naming_the_setting(workspace, tmp_path):
    local, google, config = workspace
    (tmp_path / "service-account.json").write_text('{"type": "authorized_user"}')
    result = CliRunner().invoke(get_cli(), ["signatures", "sync", "--config", config])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "mailbox.credentials" in result.output
    assert "is not a service account key file" in result.output and not google.calls
