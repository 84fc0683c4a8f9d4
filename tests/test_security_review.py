"""Security review: SSRF and secrets on the way out, hostile input on the way in."""
from __future__ import annotations

import pytest
import responses

from plugin_host.executor import post_webhook


@pytest.mark.parametrize("url", ["http://127.0.0.1.evil.example/v1/spaces/x/messages?key=SECRET",
                                 "http://127.0.0.1@evil.example/v1/spaces/x/messages?key=SECRET",
                                 "ftp://chat.googleapis.com/hook?key=SECRET"])
def test_a_chat_webhook_is_posted_only_over_https_or_to_this_machine(url):
    with responses.RequestsMock() as mock:  # nothing may be sent: any request fails the test
        with pytest.raises(ValueError, match="https") as info:
            post_webhook(url, {"text": "SLA breached"})
        assert not mock.calls
    assert "SECRET" not in str(info.value)


def test_a_chat_webhook_redirect_is_not_followed_with_the_message():
    url = "https://chat.googleapis.com/v1/spaces/x/messages?key=SECRET"
    with responses.RequestsMock() as mock:
        mock.post(url, status=307, headers={"Location": "http://169.254.169.254/latest/meta-data"})
        with pytest.raises(RuntimeError, match="redirect") as info:
            post_webhook(url, {"text": "SLA breached"})
        assert len(mock.calls) == 1
    assert "SECRET" not in str(info.value)


# -- DNS rebinding: a page of another site whose name resolves to 127.0.0.1 reaches the demo ---------------

REBOUND = "rebound.evil.example:8080"


def test_the_demo_answers_only_requests_addressed_to_this_machine(tmp_path):
    from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

    from plugin_host.demo import demo_host
    from plugin_host.web import create_app

    local, host = demo_host(str(tmp_path))
    flask_client = create_app(host, demo=True).test_client()
    assert flask_client.get("/preview/", headers={"Host": REBOUND}).status_code == 400
    assert flask_client.get("/preview/", headers={"Host": "127.0.0.1:8080"}).status_code == 200

    from plugin_host.demo import demo_app  # the app `labeldesk demo` serves: the local Gmail API mounted too

    client = Client(demo_app(local, host, feed=None))
    for path in ("/preview/", "/healthz", "/mailbox/gmail/v1/users/me/messages"):
        response = client.get(path, headers={"Host": REBOUND})
        assert response.status_code == 400, path
        assert b"support@" not in response.data
    for name in ("[::1", "[evil]:80", "127.0.0.1:80@evil.example"):  # not even a host name: refused, not a 500
        # Straight to the app: werkzeug's test Client before 3.1.8 cannot itself make a URL of such a Host.
        environ = EnvironBuilder(path="/healthz").get_environ() | {"HTTP_HOST": name}
        assert run_wsgi_app(demo_app(local, host, feed=None), environ)[1].startswith("400 "), name
    for name in ("127.0.0.1:8080", "localhost:8080", "[::1]:8080", "localhost"):
        assert client.get("/healthz", headers={"Host": name}).status_code == 200, name
    assert client.get("/mailbox/gmail/v1/users/me/messages", headers={"Host": "127.0.0.1:8080"}).status_code == 200


@pytest.fixture
def served(monkeypatch):
    """bind address → the WSGI app ``plugin_host.mailbox.serve`` would serve there (no server runs)."""
    import werkzeug.serving

    served = {}

    class Server:
        def serve_forever(self):
            pass

    def make_server(host, port, app, threaded):
        served[host] = app
        return Server()

    monkeypatch.setattr(werkzeug.serving, "make_server", make_server)
    return served


def test_mailbox_serve_on_loopback_answers_only_requests_addressed_to_this_machine(served):
    from werkzeug.test import Client

    from plugin_host.mailbox import LocalMailbox, serve

    local = LocalMailbox("support@example.com")
    serve(local, "127.0.0.1", 8025)
    serve(local, "0.0.0.0", 8025)  # reached from elsewhere on purpose: by any name
    path = "/gmail/v1/users/me/profile"
    assert Client(served["127.0.0.1"]).get(path, headers={"Host": REBOUND}).status_code == 400
    assert Client(served["127.0.0.1"]).get(path, headers={"Host": "127.0.0.1:8025"}).status_code == 200
    assert Client(served["0.0.0.0"]).get(path, headers={"Host": "mailbox.internal:8025"}).status_code == 200


def test_mailbox_serve_on_another_loopback_address_answers_that_address(served):
    """``serve`` guards every loopback address (127.0.0.0/8, ::1), but the guard knew only 127.0.0.1: bound to
    127.0.0.2 (a second local mailbox beside the first) it refused the very api_root it printed."""
    from werkzeug.test import Client

    from plugin_host.mailbox import LocalMailbox, serve

    serve(LocalMailbox("support@example.com"), "127.0.0.2", 8025)
    path = "/gmail/v1/users/me/profile"
    assert Client(served["127.0.0.2"]).get(path, headers={"Host": "127.0.0.2:8025"}).status_code == 200
    assert Client(served["127.0.0.2"]).get(path, headers={"Host": "[0:0:0:0:0:0:0:1]:8025"}).status_code == 200
    assert Client(served["127.0.0.2"]).get(path, headers={"Host": REBOUND}).status_code == 400


# -- admin templates: the sandbox bounds what one render may cost -------------------------------------------

@pytest.mark.parametrize("bomb", ['{{ "x" * 50000000 }}', '{{ (7 ** 1000000) % 10 }}',
                                  '{% for i in range(100000) %}{{ subject }} {{ subject }} {{ subject }}{% endfor %}',
                                  '{{ "%s" | format("x") * 50000000 }}',
                                  # built but never written out: only the sandbox's own bound stops these
                                  '{{ ("x" * 50000000) | length }}', '{{ (50000000 * "x") | length }}'])
def test_an_admin_template_cannot_make_a_huge_acknowledgement(tmp_path, bomb):
    """A branch the start-up trial render does not take (a customer's subject chooses it) may not build a
    50 MB string, a million-digit number or a megabyte-long reply: the shipped template is sent instead."""
    from types import SimpleNamespace

    from plugins.autoreply.templates import SAMPLE_CONTEXT, check_templates, render

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgement.txt.j2").write_text(
        'Hello {{ first_name }},\n{% if subject == "boom" %}' + bomb + '{% endif %}We got "{{ subject }}".\n')
    settings = SimpleNamespace(templates_dir=str(tmp_path))
    check_templates(settings)  # the sample subject takes the harmless branch
    text = render(settings, "en", "acknowledgement", {**SAMPLE_CONTEXT, "subject": "boom"})
    assert len(text) < 20_000
    assert "Thank you for writing to us" in text  # the shipped template, not a truncated bomb


def test_an_admin_template_that_makes_too_much_text_is_a_start_up_error(tmp_path):
    from types import SimpleNamespace

    from plugin_host.errors import ConfigError
    from plugins.autoreply.templates import check_templates

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgement.txt.j2").write_text('{% for i in range(100000) %}{{ subject }}{% endfor %}')
    with pytest.raises(ConfigError, match="too much text"):
        check_templates(SimpleNamespace(templates_dir=str(tmp_path)))


# -- help-centre import: hostile sitemaps and servers ---------------------------------------------------

@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE urlset [<!ENTITY a "https://help.example.com/a">]>',  # entities: the billion laughs' tool
    '<!DOCTYPE urlset [<!ENTITY a SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE urlset SYSTEM "http://169.254.169.254/latest/meta-data">'])
def test_a_sitemap_that_declares_a_dtd_or_entities_is_refused(doctype):
    from plugins.kb_suggest.articles import ArticleError
    from plugins.kb_suggest.helpcentre import sitemap_urls

    xml = ('<?xml version="1.0"?>' + doctype + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           '<url><loc>https://help.example.com/b</loc></url></urlset>')
    with pytest.raises(ArticleError, match="DTD"):
        sitemap_urls(xml)


def test_a_help_centre_page_that_trickles_in_is_given_up_not_waited_for(tmp_path, monkeypatch):
    """requests' timeout bounds each read, not the whole download: a server that sends a byte every
    29 seconds would hold the import for days. A page gets a minute in all."""
    from types import SimpleNamespace

    from plugins.kb_suggest import helpcentre

    clock = [0.0]
    monkeypatch.setattr(helpcentre, "time", SimpleNamespace(monotonic=lambda: clock[0]), raising=False)
    sitemap = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://help.example.com/slow'
               '</loc></url><url><loc>https://help.example.com/fast</loc></url></urlset>').encode()

    class Response:
        is_redirect, headers = False, {"content-type": "text/html; charset=utf-8"}

        def __init__(self, chunks):
            self.chunks = chunks

        def raise_for_status(self):
            pass

        def close(self):
            pass

        def iter_content(self, size):
            for chunk in self.chunks:
                clock[0] += 29  # each read just inside requests' 30 s timeout
                yield chunk

    class Session:
        def get(self, url, **kwargs):
            if url.endswith("sitemap.xml"):
                return Response([sitemap])
            if url.endswith("/slow"):
                return Response(b"<main>x</main>" for _ in range(10_000))
            return Response([b"<main><h1>Fast</h1><p>Quick.</p></main>"])

    written, failures = helpcentre.import_sitemap("https://help.example.com/sitemap.xml", tmp_path, session=Session())
    assert written == 1 and [p.name for p in tmp_path.glob("*.md")] == ["fast.md"]
    assert failures and "slow" in failures[0] and "took longer than" in failures[0]


# -- logs -----------------------------------------------------------------------------------------------

def test_debug_logging_keeps_the_libraries_secrets_out(tmp_path, caplog):
    """``labeldesk -vv``: requests-oauthlib logs the token request's body (client secret, code) and the
    tokens it gets at DEBUG, urllib3 every URL with its query (a chat webhook's key and token)."""
    import logging

    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "support@example.com"\n')
    caplog.set_level(logging.DEBUG)
    leaky = ("requests_oauthlib", "urllib3")
    try:
        assert CliRunner().invoke(get_cli(), ["-vv", "plugins", "--config", str(config)]).exit_code == 0
        logging.getLogger("requests_oauthlib.oauth2_session").debug("Request body was %s", "client_secret=SECRET1")
        logging.getLogger("requests_oauthlib.oauth2_session").debug("Obtained token %s.", {"refresh_token": "SECRET2"})
        logging.getLogger("urllib3.connectionpool").debug('%s "POST %s"', "https://chat.googleapis.com:443",
                                                          "/v1/spaces/x/messages?key=SECRET3&token=SECRET4")
        logging.getLogger("plugin_host.sync").debug("our own debug line")
    finally:
        for name in leaky:
            logging.getLogger(name).setLevel(logging.NOTSET)
    assert "SECRET" not in caplog.text
    assert "our own debug line" in caplog.text


# -- state files ----------------------------------------------------------------------------------------

def test_a_state_directory_other_users_can_write_is_refused(tmp_path):
    """Others could replace cursor.json or webhook-posted.json (alerts then never post) or plant a link
    where kb-feedback.jsonl will be appended (the host writes into a file of their choosing)."""
    import os

    from plugin_host.demo import demo_host
    from plugin_host.errors import ConfigError

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    _, host = demo_host(str(shared))
    with pytest.raises(ConfigError, match="host.state_dir") as info:
        host.state_dir
    assert "chmod 700" in str(info.value)
    os.chmod(shared, 0o775)  # group-writable, as umask 002 makes it (the user's own group): a warning only
    assert host.state_dir == shared
    os.chmod(shared, 0o755)
    assert host.state_dir == shared


def test_a_public_host_does_not_list_its_plugins_and_versions(tmp_path):
    """/plugins.json is unauthenticated: on a public server it told anyone the exact versions installed.
    The operator has `labeldesk plugins --json`; the demo keeps the page."""
    from plugin_host.demo import demo_host
    from plugin_host.web import create_app

    _, host = demo_host(str(tmp_path))
    assert create_app(host).test_client().get("/plugins.json").status_code == 404
    listed = create_app(host, demo=True).test_client().get("/plugins.json")
    assert listed.status_code == 200 and {p["name"] for p in listed.json} >= {"autoreply", "sla"}


# -- customer text on the operator's terminal and in logs ------------------------------------------------

def test_control_characters_in_a_subject_or_name_never_reach_the_terminal(tmp_path):
    """An encoded-word subject or display name may carry ESC sequences (retitle or clear the terminal, hide
    lines of `labeldesk sync` output, fake links) or NUL; tickets keep the text, not the controls."""
    from datetime import datetime, timezone

    from .conftest import make_email
    from plugin_host.cli import _print_results
    from plugin_host.demo import demo_host
    from plugin_host.sync import ChangeFeed

    local, host = demo_host(str(tmp_path / "state"))
    ChangeFeed(host).sync()
    raw = make_email(sender="=?utf-8?b?TWFsbG9yeRtbMks=?= <mallory@example.org>",  # "Mallory\x1b[2K"
                     subject="=?utf-8?b?UmVmdW5kG10wO293bmVkBxtbMkogbm93?=",  # "Refund\x1b]0;owned\x07\x1b[2J now"
                     date=datetime.now(timezone.utc))
    local.mailbox.add_message(raw, ["INBOX", "UNREAD"])
    report = ChangeFeed(host).sync()
    ticket = next(p.ticket for p in report.threads if p.ticket and p.ticket.customer.email == "mallory@example.org")
    assert "Refund" in ticket.subject and "now" in ticket.subject
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in ticket.subject + ticket.customer.name)
    printed = []
    _print_results(report.threads, echo=printed.append)
    assert printed and not any("\x1b" in line or "\x07" in line for line in printed)


def test_the_oauth_token_replaces_a_link_instead_of_writing_through_it(tmp_path, monkeypatch):
    """token.json is written whole and new (mode 0600): a link planted in its place does not send the refresh
    token into the file it points at, and a crash mid-write never leaves half a token."""
    import json
    import os
    import stat

    from google_auth_oauthlib import flow

    from plugin_host.auth import run_oauth_flow

    class Flow:
        def run_local_server(self, port):
            return type("Creds", (), {"to_json": lambda self: json.dumps({"refresh_token": "REFRESH"})})()

    monkeypatch.setattr(flow.InstalledAppFlow, "from_client_secrets_file", classmethod(lambda cls, *a, **k: Flow()))
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours\n")
    os.chmod(elsewhere, 0o644)
    token = tmp_path / "state" / "token.json"
    token.parent.mkdir()
    token.symlink_to(elsewhere)
    run_oauth_flow(str(tmp_path / "client.json"), str(token))
    assert elsewhere.read_text() == "not yours\n"
    assert not token.is_symlink() and json.loads(token.read_text())["refresh_token"] == "REFRESH"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


@responses.activate
def test_a_sitemap_url_cannot_write_lines_into_an_articles_front_matter(tmp_path):
    """A <loc> with a newline inside (&#10;) was fetched (requests quotes it) and written as is after ``url:``,
    adding front-matter keys of the sitemap's choosing (lang, tags, a second url)."""
    from plugins.kb_suggest.articles import load_folder
    from plugins.kb_suggest.helpcentre import import_sitemap

    sitemap = "https://help.example.com/sitemap.xml"
    responses.add("GET", sitemap, body='<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                       '<url><loc>https://help.example.com/a&#10;lang: xx&#10;tags: [pwn]</loc></url>'
                                       '<url><loc>https://help.example.com/b</loc></url></urlset>')
    responses.add("GET", "https://help.example.com/a%0Alang:%20xx%0Atags:%20%5Bpwn%5D", body="<main><h1>A</h1>x</main>")
    responses.add("GET", "https://help.example.com/b", body="<main><h1>B</h1>y</main>")
    import_sitemap(sitemap, tmp_path)
    articles = load_folder(tmp_path)
    assert [a.title for a in articles] == ["B"]
    assert all(not a.tags and a.lang == "en" and "\n" not in a.url for a in articles)


# -- the team's chat space ------------------------------------------------------------------------------

def test_a_customer_subject_cannot_mention_everyone_or_hide_a_link_in_the_chat_alert(tmp_path, monkeypatch):
    """Google Chat reads <users/all> in a message's text as @all and <https://x|text> as a link showing only
    'text': a customer's subject, quoted in the breach alert, may do neither."""
    from datetime import datetime, timezone

    from plugin_host import executor
    from plugin_host.sync import ChangeFeed

    from .conftest import deliver, make_email
    from .test_sla import setup

    posted = []
    monkeypatch.setattr(executor, "post_webhook", lambda url, payload: posted.append(payload))
    start = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    local, host, clock = setup(tmp_path, start, sla={"chat_webhook": "https://chat.googleapis.com/v1/spaces/x/messages"})
    subject = "<users/all> <https://evil.example/login|Reset your Labeldesk password>"
    ref = deliver(local.gmail(), make_email(message_id="<c1@example.org>", subject=subject, date=start))
    local.mailbox.messages[ref["id"]].internal_date = int(start.timestamp() * 1000)
    ChangeFeed(host).sync()
    clock["now"] = datetime(2026, 11, 23, 13, 30, tzinfo=timezone.utc)
    host.sweep()
    assert len(posted) == 1
    text = posted[0]["text"]
    assert "users/all" in text and "Reset your Labeldesk password" in text  # the subject is still shown
    assert "<users/all>" not in text and "<https://evil.example" not in text


def test_a_drive_doc_name_cannot_forge_log_lines(tmp_path):
    """A Doc's name (anyone who can edit the folder chooses it) goes into the log when its export fails and
    into the article's title: one line of text, no forged 'ERROR …' line after it, no ESC sequences."""
    from plugin_host.mailbox import LocalMailbox
    from plugins.kb_suggest.drive import drive_articles, sync_drive

    from .test_kb_drive import host_for

    local = LocalMailbox()
    folder = local.add_folder("Help centre")
    local.add_document("Refunds\n2026-11-23 09:00:00 ERROR plugin_host.auth: token: ya29.SECRET\x1b[2K", "Text.", folder)
    local.add_document("Broken\nERROR forged", "Text.", folder)
    host, config = host_for(tmp_path, local, folder)
    host.client.sleep = lambda seconds: None
    local.app.faults.fail_next("drive.files.export", count=6, status=500)  # one Doc's export fails every retry
    result = sync_drive(host.client, folder, config.state_path)
    assert result["failed"] and not any("\n" in f or "\x1b" in f for f in result["failed"])
    assert all("\n" not in a.title and "\x1b" not in a.title for a in drive_articles(config.state_path))


def test_mailbox_serve_on_ipv6_loopback_prints_a_usable_api_root(served):
    """``http://::1:8025/`` is no URL: an IPv6 address is written in brackets."""
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    result = CliRunner().invoke(get_cli(), ["mailbox", "serve", "--host", "::1", "--port", "8025"])
    assert result.exit_code == 0, result.output
    assert 'api_root = "http://[::1]:8025/"' in result.output and "::1" in served


def test_a_retried_chat_alert_carries_the_same_request_id_so_chat_shows_it_once(tmp_path):
    """Google Chat creates one message per ``requestId``: the retry of an alert whose answer was lost (or
    the repeat after a crash before webhook-posted.json was written) must reuse it."""
    from urllib.parse import parse_qs, urlsplit

    from plugin_host.actions import Notification
    from plugin_host.executor import Outcome, with_request_id

    from .test_host_sync import make_host

    _, host, _ = make_host(tmp_path)
    url = "https://chat.googleapis.com/v1/spaces/AAA/messages?key=KEY&token=TOKEN"
    note = Notification(to="team", channel=url, subject="SLA breached", text="Order 1234", key="breach:t1",
                        thread_id="t1")
    with responses.RequestsMock() as mock:
        mock.post("https://chat.googleapis.com/v1/spaces/AAA/messages", status=200, json={"name": "x"})
        host.executor._notify(note, Outcome(), "already")
        (host.state_dir / "webhook-posted.json").unlink()  # as if the process died before writing it
        host.executor._notify(note, Outcome(), "already")
        queries = [parse_qs(urlsplit(call.request.url).query) for call in mock.calls]
    assert len(queries) == 2
    assert queries[0]["key"] == ["KEY"] and queries[0]["token"] == ["TOKEN"]  # the webhook's own credentials kept
    assert queries[0]["requestId"] == queries[1]["requestId"] and queries[0]["requestId"][0]
    assert with_request_id(url, "breach:t2") != with_request_id(url, note.key)
    assert with_request_id("https://hooks.example.com/x?k=1", note.key) == "https://hooks.example.com/x?k=1"
