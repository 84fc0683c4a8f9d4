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
