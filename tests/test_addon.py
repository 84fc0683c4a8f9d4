"""The Gmail add-on: verified endpoints, valid cards, compose inserts, manifest, demo preview."""
from __future__ import annotations

import base64
import json
import time

import pytest
import responses

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.web import create_app

from .conftest import cli_runner, deliver, make_email
from .tokens import CERTS_URL, TokenSigner, serve_certs

BASE = "https://labeldesk.example.com"
ADDON_SA = "service-42@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
CLIENT_ID = "42-abc.apps.googleusercontent.com"
AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska", "title": "Support Engineer"},
          "ivan.petrov@example.com": {"first_name": "Ivan", "last_name": "Petrov"}}


def addon_host(tmp_path, plugins: dict | None = None):
    """A host with the add-on configured (our test service account and client id), on a fresh local mailbox;
    ``plugins`` is the ``[plugins]`` section (default: autoreply, sla and kb_suggest enabled)."""
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": plugins or {"enabled": ["autoreply", "sla", "kb_suggest"]},
            "addon": {"base_url": BASE, "service_account_email": ADDON_SA, "oauth_client_id": CLIENT_ID,
                      "google_certs_url": CERTS_URL},
            "host": {"state_dir": str(tmp_path / "state")}}
    local = LocalMailbox()
    return local, build_host(load_config(tmp_path / "x.toml", data=data, environ={}), http=local.http)


@pytest.fixture
def env(tmp_path, signer):
    local, host = addon_host(tmp_path)
    app = create_app(host)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        yield local, host, app.test_client()


def body_for(signer, user="anna.kowalska@example.com", **gmail):
    return {"commonEventObject": {"hostApp": "GMAIL", "platform": "WEB"}, "gmail": gmail,
            "authorizationEventObject": {"userIdToken": signer.token(CLIENT_ID, user)}}


def post(client, signer, path, body, token=None):
    token = token if token is not None else signer.token(BASE + path, ADDON_SA)
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"} if token else {})


def validate_card(card: dict) -> None:
    import google.apps.card_v1 as card_v1

    card_v1.Card.from_json(json.dumps(card), ignore_unknown_fields=False)
    assert len(card["sections"]) <= 100 and all(len(s["widgets"]) <= 100 for s in card["sections"])

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                assert "_" not in key, f"snake_case key {key}"
                if key == "selectionInput" or key == "textInput":
                    assert value.get("name")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(card)


def pushed(response) -> dict:
    data = response.get_json()
    return data["action"]["navigations"][0]["pushCard"]


def pushed_by_button(response) -> dict:
    """The card a button's answer opens: answers to actions are wrapped in ``renderActions``."""
    data = response.get_json()
    return data["renderActions"]["action"]["navigations"][0]["pushCard"]


def test_message_card_for_a_ticket(env, signer):
    local, host, client = env
    ref = deliver(local.gmail(), make_email(sender="Eve <script>alert(1)</script> <eve@example.org>",
                                            subject="<img src=x onerror=alert(1)> urgent: outage"))
    response = post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"], messageId=ref["id"]))
    assert response.status_code == 200
    card = pushed(response)
    validate_card(card)
    # The card header is plain text (shown as typed, so the subject is there unescaped); every field Gmail reads
    # as HTML has the customer's markup escaped.
    assert card["header"]["title"] == "<img src=x onerror=alert(1)> urgent: outage"
    raw = json.dumps(card["sections"])
    assert "<img" not in raw and "<script>" not in raw and "Eve &lt;script&gt;" in raw
    headers = [s["header"] for s in card["sections"]]
    assert {"Customer", "Ticket", "Service level", "Ownership", "Help articles"} <= set(headers)


def test_requests_are_verified_first(env, signer):
    local, host, client = env
    body = body_for(signer)
    bad_tokens = {
        "missing": "",
        "wrong audience": signer.token(BASE + "/addon/compose", ADDON_SA),
        "wrong email": signer.token(BASE + "/addon/homepage", "attacker@evil.example"),
        "unverified": signer.token(BASE + "/addon/homepage", ADDON_SA, email_verified=False),
        "expired": signer.token(BASE + "/addon/homepage", ADDON_SA, expires_in=-3600),
        "forged": TokenSigner().token(BASE + "/addon/homepage", ADDON_SA),
    }
    for name, token in bad_tokens.items():
        response = post(client, signer, "/addon/homepage", body, token=token)
        assert response.status_code == 401, name
        assert b"token" not in response.data.lower() and b"audience" not in response.data.lower()
    forged_user = dict(body, authorizationEventObject={"userIdToken": TokenSigner().token(CLIENT_ID, "anna.kowalska@example.com")})
    assert post(client, signer, "/addon/homepage", forged_user).status_code == 401
    assert post(client, signer, "/addon/homepage", {**body, "authorizationEventObject": {}}).status_code == 401
    for odd in ("x", ["a"], 5, {"userIdToken": 7}):  # a wrongly typed event object is a rejection, not a crash
        assert post(client, signer, "/addon/homepage", {**body, "authorizationEventObject": odd}).status_code == 401
    # The system token is checked before the body is parsed: a body too deeply nested to parse costs nothing.
    deep = "[" * 100_000
    anonymous = client.post("/addon/homepage", data=deep, content_type="application/json")
    assert anonymous.status_code == 401
    signed = client.post("/addon/homepage", data=deep, content_type="application/json",
                         headers={"Authorization": "Bearer " + signer.token(BASE + "/addon/homepage", ADDON_SA)})
    assert signed.status_code == 400
    # Google's clock and ours differ by a few seconds: a token issued "just now" by Google's clock is fine.
    early = signer.token(BASE + "/addon/homepage", ADDON_SA, iat=int(time.time()) + 5)
    assert post(client, signer, "/addon/homepage", body, token=early).status_code == 200



def test_the_agents_own_token_is_verified_like_the_system_token(env, signer):
    """The userIdToken names the agent: one that is unverified, expired, meant for another audience or
    without an email must not identify anybody (the system token alone is no proof of who asks)."""
    local, host, client = env
    agent = "anna.kowalska@example.com"
    assert post(client, signer, "/addon/homepage", body_for(signer)).status_code == 200  # the control
    bad_user_tokens = {
        "unverified": signer.token(CLIENT_ID, agent, email_verified=False),
        "expired": signer.token(CLIENT_ID, agent, expires_in=-3600),
        "endpoint audience": signer.token(BASE + "/addon/homepage", agent),
        "no email": signer.token(CLIENT_ID, ""),
    }
    for name, token in bad_user_tokens.items():
        body = {**body_for(signer), "authorizationEventObject": {"userIdToken": token}}
        assert post(client, signer, "/addon/homepage", body).status_code == 401, name

def test_shared_fixtures_as_request_bodies(env, signer, shared):
    local, host, client = env
    compose = json.loads((shared / "fixtures" / "addon" / "compose_post.json").read_text())
    compose["authorizationEventObject"]["userIdToken"] = signer.token(CLIENT_ID, "anna.kowalska@example.com")
    response = post(client, signer, "/addon/compose", compose)
    card = pushed(response)
    validate_card(card)
    assert "Insert my signature" in json.dumps(card)
    reply = json.loads((shared / "fixtures" / "addon" / "generate_reply_post.json").read_text())
    reply["authorizationEventObject"]["userIdToken"] = signer.token(CLIENT_ID, "anna.kowalska@example.com")
    reply["commonEventObject"]["parameters"] = {"name": "unknown.button"}
    response = post(client, signer, "/addon/action", reply)
    validate_card(pushed_by_button(response))  # a friendly card, not a stack trace


def test_non_agents_see_no_ticket_data(env, signer):
    local, host, client = env
    ref = deliver(local.gmail(), make_email(subject="Secret order details"))
    response = post(client, signer, "/addon/message", body_for(signer, "stranger@example.com", threadId=ref["threadId"]))
    card = pushed(response)
    validate_card(card)
    assert "Secret order" not in json.dumps(card) and "Ask your admin" in json.dumps(card)


def test_failure_renders_an_error_card(env, signer, monkeypatch):
    local, host, client = env
    ref = deliver(local.gmail(), make_email())
    monkeypatch.setattr(host, "ticket", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db exploded at 0xdead")))
    response = post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"]))
    assert response.status_code == 200 and b"0xdead" not in response.data and b"Traceback" not in response.data
    validate_card(pushed(response))


def test_gmail_down_while_a_card_opens_is_one_log_line_not_a_traceback(env, signer, caplog):
    # Was two chained tracebacks of googleapiclient internals for every card an agent opened during an outage.
    local, host, client = env
    host.client.sleep = lambda seconds: None
    ref = deliver(local.gmail(), make_email())
    local.app.faults.fail_next("gmail.users.threads.get", 20, 503)
    with caplog.at_level("ERROR"):
        response = post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"]))
    validate_card(pushed(response))
    assert "could not show this ticket" in response.get_data(as_text=True)
    failed = [r for r in caplog.records if "/addon/message" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is None and "HTTP 503" in failed[0].getMessage()


def test_homepage_queue_and_buttons(env, signer):
    local, host, client = env
    from plugin_host.sync import ChangeFeed

    g = local.gmail()
    refs = [deliver(g, make_email(sender=f"c{i}@example.org", message_id=f"<hq{i}@example.org>", subject=f"Q{i}"))
            for i in range(3)]
    ChangeFeed(host).sync()
    card = pushed(post(client, signer, "/addon/homepage", body_for(signer)))
    validate_card(card)
    assert "Q0" in json.dumps(card) and "Awaiting reply" in json.dumps(card)
    action = body_for(signer, threadId=refs[0]["threadId"])
    action["commonEventObject"]["parameters"] = {"name": "autoreply.take", "threadId": refs[0]["threadId"]}
    data = post(client, signer, "/addon/action", action).get_json()
    assert "Anna Kowalska" in data["renderActions"]["action"]["notification"]["text"]
    validate_card(data["renderActions"]["action"]["navigations"][0]["updateCard"])
    assert host.ticket(refs[0]["threadId"]).owner_name == "Anna Kowalska"
    compose = pushed(post(client, signer, "/addon/compose", body_for(signer, threadId=refs[0]["threadId"])))
    [first, *_] = compose["sections"][0]["widgets"][0]["buttonList"]["buttons"]
    parameters = {p["key"]: p["value"] for p in first["onClick"]["action"]["parameters"]}
    action["commonEventObject"]["parameters"] = {**parameters, "threadId": refs[0]["threadId"]}
    data = post(client, signer, "/addon/action", action).get_json()
    body = data["renderActions"]["hostAppAction"]["gmailAction"]["updateDraftActionMarkup"]["updateBody"]
    assert body["type"] == "IN_PLACE_INSERT" and "Anna Kowalska" in body["insertContents"][0]["content"]
    # Ivan takes the ticket while Anna's panel is open: her button inserts what it showed, or nothing.
    take = body_for(signer, user="ivan.petrov@example.com", threadId=refs[0]["threadId"])
    take["commonEventObject"]["parameters"] = {"name": "autoreply.take", "threadId": refs[0]["threadId"]}
    post(client, signer, "/addon/action", take)
    again = post(client, signer, "/addon/action", action).get_json()
    assert again == data  # the same signature as before, not the handover text that now comes first


def test_300_message_thread_stays_within_card_limits():
    from datetime import datetime, timezone

    from gmail_addon import cards
    from plugin_host.ticket import Person, Ticket, TicketMessage

    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    messages = tuple(TicketMessage(str(i), "t", f"<{i}@x>", Person("C", "c@example.org"), (), (), "S", now,
                                   "customer", "text") for i in range(300))
    ticket = Ticket("t", "S", Person("C", "c@example.org"), "support@example.com", messages, "en", frozenset(),
                    now, None, "customer")
    many = [{"header": f"s{i}", "widgets": [{"textParagraph": {"text": "x"}}] * 150} for i in range(150)]
    card = cards.ticket_card(ticket, None, [ticket] * 50, [cards.section(s["header"], s["widgets"]) for s in many],
                             lambda n: f"{BASE}/addon/{n}")
    validate_card(card)


def test_manifest_is_a_valid_deployment():
    from click.testing import CliRunner
    from google.cloud import gsuiteaddons_v1

    from plugin_host.cli import get_cli

    result = CliRunner().invoke(get_cli(), ["addon", "manifest", "--base-url", BASE])
    assert result.exit_code == 0, result.output
    gsuiteaddons_v1.Deployment.from_json(result.output, ignore_unknown_fields=False)
    manifest = json.loads(result.output)
    assert manifest["addOns"]["gmail"]["contextualTriggers"][0]["onTriggerFunction"] == BASE + "/addon/message"
    assert all("gmail.modify" not in s for s in manifest["oauthScopes"])
    assert CliRunner().invoke(get_cli(), ["addon", "manifest", "--base-url", "http://insecure"]).exit_code != 0


def test_a_wrong_addon_setting_is_named_in_the_log(env, signer, caplog):
    # An admin who copied the wrong value (the delegation's numeric client id for oauth_client_id, another project's
    # service account, the URL before a move) saw every side panel fail and a log saying only "token rejected:
    # ValueError" or "issued to another service account": nothing said which [addon] setting to check, nor where its
    # right value comes from. The agent still gets a bare 401.
    local, host, client = env
    cases = {
        "base_url": (signer.token("https://old.example.com/addon/homepage", ADDON_SA), body_for(signer)),
        "service_account_email": (signer.token(BASE + "/addon/homepage", "service-7@gcp-sa-gsuiteaddons.iam."
                                               "gserviceaccount.com"), body_for(signer)),
        "oauth_client_id": (None, {**body_for(signer), "authorizationEventObject": {
            "userIdToken": signer.token("1122334455", "anna.kowalska@example.com")}}),
    }
    for setting, (token, body) in cases.items():
        caplog.clear()
        response = post(client, signer, "/addon/homepage", body, token=token)
        assert response.status_code == 401 and b"addon" not in response.data.lower()
        said = caplog.text
        assert f"[addon] {setting}" in said, (setting, said)
        if setting != "base_url":
            assert "gcloud workspace-add-ons get-authorization" in said, said
    assert "https://old.example.com/addon/homepage" in post_log(client, signer, caplog, cases["base_url"])
    assert "1122334455" in post_log(client, signer, caplog, cases["oauth_client_id"])


def post_log(client, signer, caplog, case) -> str:
    caplog.clear()
    post(client, signer, "/addon/homepage", case[1], token=case[0])
    return caplog.text


def test_manifest_asks_for_the_agents_zone_as_google_documents():
    # The cards show times in the agent's own zone from commonEventObject.timeZone, but Google sends userLocale and
    # timeZone only when the deployment sets addOns.common.useLocaleFromApp AND lists the script.locale scope
    # (developers.google.com/workspace/add-ons/guides/access-user-locale-timezone). Without the scope every agent
    # saw the team's zone.
    from gmail_addon.manifest import deployment

    manifest = deployment(BASE)
    assert manifest["addOns"]["common"]["useLocaleFromApp"] is True
    assert "https://www.googleapis.com/auth/script.locale" in manifest["oauthScopes"]


def test_demo_preview_renders_cards_with_working_buttons(tmp_path):
    from plugin_host.demo import demo_host

    local, host = demo_host(str(tmp_path))
    from plugin_host.sync import ChangeFeed

    ChangeFeed(host).sync()
    app = create_app(host, demo=True)
    client = app.test_client()
    index = client.get("/preview/")
    assert index.status_code == 200 and b"Where is my order" in index.data
    thread_id = next(t for t in local.mailbox.threads if host.ticket(t) is not None)
    page = client.get(f"/preview/{thread_id}")
    assert page.status_code == 200 and b"Service level" in page.data and b"Compose panel" in page.data
    press = client.post(f"/preview/{thread_id}", data={"parameters": json.dumps({"name": "autoreply.take",
                                                                                "threadId": thread_id}),
                                                       "agent": "ivan.petrov@example.com"})
    assert press.status_code == 200 and b"Ivan Petrov now owns this ticket" in press.data
    # The header is plain text in Gmail: the preview shows it as such, a subject's markup as typed, never run.
    evil = deliver(local.gmail(), make_email(subject="Q&A <img src=x onerror=alert(1)>", message_id="<pv-evil@example.org>"))
    ChangeFeed(host).sync()
    page = client.get(f"/preview/{evil['threadId']}")
    assert b">Q&amp;A &lt;img src=x onerror=alert(1)&gt;</h" in page.data and b"<img" not in page.data
    assert client.get("/preview/nonexistent").status_code == 404  # no Gmail id: Gmail's 400, not a 500
    assert client.get("/preview/7fffffffffffffff").status_code == 404  # the id of no thread: Gmail's 404
    assert client.post(f"/preview/{thread_id}", data={"parameters": "notjson"}).status_code == 400
    # Another site's page posting into the demo (CSRF) is refused; the preview's own form is not.
    press = {"parameters": json.dumps({"name": "autoreply.take", "threadId": thread_id}), "agent": "anna.kowalska@example.com"}
    for forged in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        assert client.post(f"/preview/{thread_id}", data=press, headers=forged).status_code == 403
    own = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    assert client.post(f"/preview/{thread_id}", data=press, headers=own).status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    # The demo signer is trusted only by a demo app: production rejects its tokens.
    signer = app.extensions["labeldesk.demo_signer"]
    prod = create_app(host).test_client()
    forged = prod.post("/addon/homepage", json={"authorizationEventObject": {"userIdToken": signer.token(signer.client_id, "anna.kowalska@example.com")}},
                       headers={"Authorization": "Bearer " + signer.token("http://localhost/addon/homepage", signer.service_account)})
    assert forged.status_code == 503  # and without [addon] base_url, production refuses every request


def test_every_button_through_the_endpoint(env, signer, tmp_path):
    local, host, client = env
    ref = deliver(local.gmail(), make_email(subject="Refund missing", body="Where is my refund?"))
    thread = ref["threadId"]

    def press(name, inputs=None, **params):
        body = body_for(signer, threadId=thread)
        body["commonEventObject"]["parameters"] = {"name": name, "threadId": thread, **params}
        if inputs:
            body["commonEventObject"]["formInputs"] = {k: {"stringInputs": {"value": [v]}} for k, v in inputs.items()}
        response = post(client, signer, "/addon/action", body)
        assert response.status_code == 200
        return response.get_json()

    refreshed = press("ticket.refresh")
    validate_card(refreshed["renderActions"]["action"]["navigations"][0]["updateCard"])
    note = press("sla.set_priority", priority="urgent")["renderActions"]["action"]["notification"]["text"]
    assert "urgent" in note and host.ticket(thread).priority == "urgent"
    note = press("sla.escalate", {"team": "billing"})["renderActions"]["action"]["notification"]["text"]
    assert "billing" in note and host.ticket(thread).has_label("Escalated")
    press("autoreply.take")
    assert host.ticket(thread).owner_name == "Anna Kowalska"
    unknown = press("nobody.owns.this")
    validate_card(unknown["renderActions"]["action"]["navigations"][0]["pushCard"])


def test_insert_article_through_the_endpoint(tmp_path, signer):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text("---\ntitle: How refunds work\nurl: https://help.example.com/r\n---\n"
                                       "Refunds reach your card within 5 business days.\n")
    local, host = addon_host(tmp_path, {"enabled": ["kb_suggest"], "kb_suggest": {"articles": str(folder)}})
    client = create_app(host).test_client()
    ref = deliver(local.gmail(), make_email(subject="Refund", body="When will my refund reach my card?"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        card = pushed(post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"])))
        assert "How refunds work" in json.dumps(card)
        g = local.gmail()

        def press(name):
            body = body_for(signer, threadId=ref["threadId"])
            body["commonEventObject"]["parameters"] = {"name": name, "article": "refunds", "threadId": ref["threadId"]}
            return post(client, signer, "/addon/action", body).get_json()

        # Message context: Gmail inserts into a draft only from compose, so the text becomes a reply
        # draft that Gmail opens; an agent's draft already in the thread is never touched.
        for name, expected in (("kb.insert_link", "https://help.example.com/r"), ("kb.insert_answer", "5 business days")):
            opened = press(name)["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]
            assert opened["draftThreadId"] == ref["threadId"]
            draft = g.users().drafts().get(userId="me", id=opened["draftId"], format="raw").execute()
            raw = base64.urlsafe_b64decode(draft["message"]["raw"]).decode()
            assert expected in raw and "To: jane@example.org" in raw and "Subject: Re: Refund" in raw
            assert "Auto-Submitted" not in raw
            busy = press("kb.insert_answer")["renderActions"]["action"]["notification"]["text"]
            assert "draft already" in busy and len(g.users().drafts().list(userId="me").execute()["drafts"]) == 1
            if name == "kb.insert_link":
                g.users().drafts().delete(userId="me", id=opened["draftId"]).execute()
        g.users().drafts().send(userId="me", body={"id": opened["draftId"]}).execute()
        ticket = host.ticket(ref["threadId"])  # the agent sent the prepared draft: it is the agent's answer
        assert [m.kind for m in ticket.messages] == ["customer", "agent"] and not ticket.awaiting_reply


def test_button_on_a_thread_deleted_meanwhile_changes_nothing(env, signer, monkeypatch):
    local, host, client = env
    g = local.gmail()
    ref = deliver(g, make_email(subject="Deleted while the panel was open"))
    thread = ref["threadId"]
    # The panel read it (the button's request reads the thread only under the host's lock, so the panel's
    # read is the card's); another agent deletes it right after.
    assert "Deleted while the panel was open" in json.dumps(post(client, signer, "/addon/message",
                                                                 body_for(signer, threadId=thread)).get_json())
    g.users().threads().delete(userId="me", id=thread).execute()
    body = body_for(signer, threadId=thread)
    body["commonEventObject"]["parameters"] = {"name": "sla.escalate", "threadId": thread}
    body["commonEventObject"]["formInputs"] = {"team": {"stringInputs": {"value": ["billing"]}}}
    data = post(client, signer, "/addon/action", body).get_json()
    assert "Something went wrong" not in json.dumps(data)
    assert "Escalated" not in json.dumps(data) and "no longer exists" in json.dumps(data)
    tasks = [t for tl in host.client.list_tasklists() for t in host.client.list_tasks(tl["id"])]
    assert tasks == []  # no escalation task for a conversation that no longer exists



def test_homepage_queue_escapes_customer_text(env, signer):
    """The queue lists each ticket's subject: a customer's markup shows as text there too, as on the message card."""
    local, host, client = env
    from plugin_host.sync import ChangeFeed

    deliver(local.gmail(), make_email(sender="eve@example.org", message_id="<hq-evil@example.org>",
                                      subject="<img src=x onerror=alert(1)> <b>refund</b> now"))
    ChangeFeed(host).sync()
    card = pushed(post(client, signer, "/addon/homepage", body_for(signer)))
    validate_card(card)
    raw = json.dumps(card)
    assert "&lt;img src=x" in raw and "&lt;b&gt;refund" in raw  # the subject is listed, escaped
    assert "<img" not in raw and "<b>" not in raw

def test_homepage_reads_the_queue_in_batches(env, signer, monkeypatch):
    local, host, client = env
    from plugin_host.sync import ChangeFeed

    g = local.gmail()
    for i in range(120):
        deliver(g, make_email(sender=f"q{i}@example.org", message_id=f"<batch{i}@example.org>", subject=f"Queue {i}"))
    ChangeFeed(host).sync()
    before = local.http.requests
    card = pushed(post(client, signer, "/addon/homepage", body_for(signer)))
    validate_card(card)
    assert "Queue 7" in json.dumps(card)
    # One search, then the 120 threads in batches of ≤50: not one round trip per ticket (Google waits
    # for the card; a request per thread is ~120 × Gmail's latency).
    assert local.http.requests - before <= 6
    found = host.client.list_threads
    monkeypatch.setattr(host.client, "list_threads",
                        lambda **kw: found(**kw) + [{"id": "7fffffffffffffff", "historyId": "1"}])
    assert len(host.open_tickets()) == 120  # a thread deleted between the search and the read is skipped


def test_button_on_a_deleted_thread_says_so(env, signer):
    local, host, client = env
    g = local.gmail()
    thread = deliver(g, make_email(subject="Deleted before the press"))["threadId"]
    g.users().threads().delete(userId="me", id=thread).execute()
    for name in ("sla.escalate", "autoreply.take", "ticket.refresh"):
        body = body_for(signer, threadId=thread)
        body["commonEventObject"]["parameters"] = {"name": name, "threadId": thread}
        card = pushed_by_button(post(client, signer, "/addon/action", body))
        validate_card(card)
        assert "no longer exists" in json.dumps(card), name  # not "Open a ticket first": the agent had it open


def test_every_button_answer_is_wrapped_in_render_actions(env, signer, monkeypatch):
    """Google's samples answer triggers with ``action`` and every button (action callback) with
    ``renderActions``: the errors a button can meet are answered the same way as its successes."""
    local, host, client = env
    thread = deliver(local.gmail(), make_email())["threadId"]

    def press(user="anna.kowalska@example.com", **parameters):
        body = body_for(signer, user, threadId=thread)
        body["commonEventObject"]["parameters"] = parameters
        response = post(client, signer, "/addon/action", body)
        assert response.status_code == 200
        data = response.get_json()
        assert list(data) == ["renderActions"], data
        return data["renderActions"]["action"]["navigations"][0]["pushCard"]

    assert "no longer available" in json.dumps(press(name="compose.insert", key="0123456789abcdef"))
    assert "not available any more" in json.dumps(press(name="nobody.owns.this", threadId=thread))
    assert "Ask your admin" in json.dumps(press("stranger@example.com", name="autoreply.take", threadId=thread))
    monkeypatch.setattr(host, "card_action", lambda *a, **k: 1 / 0)
    card = press(name="autoreply.take", threadId=thread)
    validate_card(card)
    assert "Something went wrong" in json.dumps(card)


def test_apostrophes_and_quotes_are_shown_as_typed(env, signer):
    local, host, client = env
    ref = deliver(local.gmail(), make_email(sender="Seán O'Brien & Sons <sean@example.org>",
                                            subject='Can\'t log in: "invalid password" <again> & again'))
    card = pushed(post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"])))
    validate_card(card)
    # The card header is plain text (Card v1 documents simple HTML only for section headers, text
    # paragraphs and decorated text): an entity would show as typed there ("&#x27;", "&amp;", "&lt;"), so the
    # header holds the text itself. Quotes need no escaping anywhere once "<" is escaped, so they stay as the
    # customer typed them in the fields read as HTML.
    assert card["header"]["title"] == 'Can\'t log in: "invalid password" <again> & again'
    assert card["header"]["subtitle"].startswith("Seán O'Brien & Sons · ")
    customer = card["sections"][0]["widgets"][0]["decoratedText"]
    assert customer["text"] == "Seán O'Brien &amp; Sons"


@pytest.mark.parametrize("missing", ["service_account_email", "oauth_client_id"])
def test_unconfigured_addon_says_which_setting_is_missing(tmp_path, signer, missing, caplog):
    addon = {"base_url": BASE, "service_account_email": ADDON_SA, "oauth_client_id": CLIENT_ID,
             "google_certs_url": CERTS_URL}
    del addon[missing]
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS, "plugins": {"enabled": []},
            "addon": addon, "host": {"state_dir": str(tmp_path / "state")}}
    host = build_host(load_config(tmp_path / "x.toml", data=data, environ={}), http=LocalMailbox().http)
    client = create_app(host).test_client()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        response = post(client, signer, "/addon/homepage", body_for(signer))
    # Like a missing base_url: the operator's mistake, not Google's forged request (401 would blame the token).
    assert response.status_code == 503
    assert f"[addon] {missing}" in caplog.text


def test_message_that_cannot_be_read_now_is_not_called_unreadable(env, signer, monkeypatch):
    from plugin_host.errors import GmailError

    local, host, client = env
    opened = {"messageId": "msg-f:1234567890", "threadId": "thread-f:1234567890"}
    card = pushed(post(client, signer, "/addon/message", body_for(signer, **opened)))
    assert "did not find this message in the support mailbox" in json.dumps(card)  # not a message of this mailbox

    def busy(*args, **kwargs):
        error = GmailError("mailbox support@example.com: gmail.users.messages.get failed: HTTP 429 rateLimitExceeded")
        error.status = 429
        raise error

    monkeypatch.setattr(host.client, "get_message", busy)
    card = pushed(post(client, signer, "/addon/message", body_for(signer, **opened)))
    validate_card(card)
    assert "did not find" not in json.dumps(card) and "Try again" in json.dumps(card)


def test_plugin_sections_are_held_to_the_card_limits():
    """A plugin's section may list more than Google renders (≤100 widgets): the card cuts it, with a
    "… more" line, like the host's own sections."""
    from datetime import datetime, timezone

    from gmail_addon import cards
    from plugin_host.ticket import Person, Ticket, TicketMessage

    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    message = TicketMessage("1", "t", "<1@x>", Person("C", "c@example.org"), (), (), "S", now, "customer", "text")
    ticket = Ticket("t", "S", Person("C", "c@example.org"), "support@example.com", (message,), "en", frozenset(),
                    now, None, "customer")
    raw = [{"header": "Linked orders", "collapsible": True, "widgets": [{"textParagraph": {"text": "x"}}] * 150}]
    card = cards.ticket_card(ticket, None, [], raw, lambda n: f"{BASE}/addon/{n}")
    validate_card(card)
    linked = card["sections"][-1]
    assert linked["collapsible"] is True and linked["widgets"][-1]["textParagraph"]["text"] == "… 51 more"
    assert len(raw[0]["widgets"]) == 150  # the plugin's own list is left alone


def test_homepage_reads_again_only_the_threads_that_changed(env, signer):
    """150 open tickets: each open of the queue used to cost a full threads.get per ticket (≈1,500 units,
    six seconds of Gmail's 250 units/s). An unchanged thread is not read again."""
    local, host, client = env
    from plugin_host.sync import ChangeFeed

    g = local.gmail()
    refs = [deliver(g, make_email(sender=f"h{i}@example.org", message_id=f"<home{i}@example.org>", subject=f"Home {i}"))
            for i in range(150)]
    ChangeFeed(host).sync()
    queue = lambda card: [w["decoratedText"]["text"] for s in card["sections"] for w in s["widgets"]  # noqa: E731
                          if "onClick" in w.get("decoratedText", {})]
    local.app.reset_counters()
    first = pushed(post(client, signer, "/addon/homepage", body_for(signer)))
    first_units = local.app.total_units
    local.app.reset_counters()
    again = pushed(post(client, signer, "/addon/homepage", body_for(signer)))
    assert queue(again) == queue(first) and len(queue(first)) == 99  # 99 rows and "… 51 more"
    assert local.app.calls["gmail.users.threads.get"] == 0
    assert local.app.total_units * 50 <= first_units, (local.app.total_units, first_units)
    # A customer's new message and an agent's label: those two threads are read again, no others.
    deliver(g, make_email(sender="h3@example.org", subject="Re: Home 3", message_id="<home3b@example.org>",
                          in_reply_to="<home3@example.org>", body="Any news?"), threadId=refs[3]["threadId"])
    g.users().threads().modify(userId="me", id=refs[7]["threadId"], body={"addLabelIds": ["STARRED"]}).execute()
    local.app.reset_counters()
    pushed(post(client, signer, "/addon/homepage", body_for(signer)))
    assert local.app.calls["gmail.users.threads.get"] == 2


def test_reopening_a_ticket_does_not_read_the_customers_earlier_subjects_again(env, signer):
    """The card lists the customer's five earlier tickets by subject: one metadata read each the first time;
    a message's subject never changes, so opening the ticket again reads only the thread and the search."""
    local, host, client = env
    g = local.gmail()
    for i in range(6):
        thread = deliver(g, make_email(message_id=f"<earlier{i}@example.org>", subject=f"Earlier problem {i}"))["threadId"]
    body = body_for(signer, threadId=thread)
    first = pushed(post(client, signer, "/addon/message", body))
    assert "Earlier problem 0" in json.dumps(first)
    local.app.reset_counters()
    again = pushed(post(client, signer, "/addon/message", body))
    assert "Earlier problem 0" in json.dumps(again)
    assert local.app.calls["gmail.users.messages.get"] == 0
    assert local.app.calls["gmail.users.threads.get"] == 1


def test_a_button_reads_its_thread_once_before_and_once_after_the_action(env, signer):
    """The plugin decides from a fresh read under the thread's lock, and the card shown after it needs the
    thread as the action left it: two reads. The blueprint's own read before them was a third."""
    local, host, client = env
    thread = deliver(local.gmail(), make_email(message_id="<take@example.org>"))["threadId"]
    body = body_for(signer, threadId=thread)
    body["commonEventObject"]["parameters"] = {"name": "autoreply.take", "threadId": thread}
    local.app.reset_counters()
    answer = post(client, signer, "/addon/action", body).get_json()
    assert "now owns this ticket" in json.dumps(answer)
    assert "Helpdesk/Owner/Anna Kowalska" in {l["name"] for l in local.mailbox.labels.values()}
    assert local.app.calls["gmail.users.threads.get"] + local.app.calls["gmail.users.messages.get"] == 2
def test_manifest_warns_when_its_url_is_not_the_configured_base_url(tmp_path):
    # --config was read by nothing: a manifest for another URL than [addon] base_url makes Google sign tokens
    # for endpoints the host does not accept, and every request is a 401.
    from plugin_host.cli import get_cli

    config = tmp_path / "labeldesk.toml"
    config.write_text(f'[mailbox]\naddress = "support@example.com"\n[addon]\nbase_url = "{BASE}"\n')
    other = cli_runner().invoke(get_cli(), ["addon", "manifest", "--base-url", "https://other.example.com",
                                           "--config", str(config)])
    assert other.exit_code == 0 and json.loads(other.stdout)
    assert f"[addon] base_url is {BASE}" in other.stderr
    same = cli_runner().invoke(get_cli(), ["addon", "manifest", "--base-url", BASE + "/", "--config", str(config)])
    assert same.exit_code == 0 and same.stderr == ""


def test_manifest_warns_when_the_configuration_has_no_base_url_yet(tmp_path):
    # docs/addon.md, Deploying, step 3: the manifest warns when its URL is not [addon] base_url. With base_url not
    # set at all every request is refused (503) just the same, and the warning said nothing.
    from plugin_host.cli import get_cli

    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "support@example.com"\n')
    result = cli_runner().invoke(get_cli(), ["addon", "manifest", "--base-url", BASE, "--config", str(config)])
    assert result.exit_code == 0 and json.loads(result.stdout)
    assert "[addon] base_url is not set" in result.stderr and f'base_url = "{BASE}"' in result.stderr


@pytest.mark.parametrize("base_url", ["https://labeldesk.example.com/?x=1", "https://labeldesk.example.com/#top", "https://"])
def test_manifest_refuses_a_base_url_that_cannot_prefix_the_endpoints(base_url):
    # "https://host/?x=1" gave runFunction "https://host/?x=1/addon/homepage": a URL Google calls but no endpoint answers.
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    result = CliRunner().invoke(get_cli(), ["addon", "manifest", "--base-url", base_url])
    assert result.exit_code == 1 and "--base-url" in result.output and "runFunction" not in result.output


@pytest.mark.parametrize("path", ["/addon/homepage", "/addon/message", "/addon/compose", "/addon/action"])
def test_a_signed_event_of_the_wrong_shape_is_a_bad_request_not_a_crash(env, signer, path, caplog):
    """Only Google can sign an event, but a shape the add-on does not expect (a list where an object goes, a
    number for a thread id) is answered 400 with one warning line, never a traceback logged as a bug."""
    local, host, client = env
    ref = deliver(local.gmail(), make_email())
    odd_parts = [{"commonEventObject": []}, {"commonEventObject": {"parameters": ["name"]}},
                 {"commonEventObject": {"parameters": {"name": {"x": 1}}}},
                 {"commonEventObject": {"formInputs": {"note": "text"}}},
                 {"commonEventObject": {"formInputs": {"note": {"stringInputs": {"value": "text"}}}}},
                 {"commonEventObject": {"formInputs": {"note": {"stringInputs": {"value": [5]}}}}},
                 {"commonEventObject": {"formInputs": ["note"]}},
                 {"gmail": ["x"]}, {"gmail": {"messageId": 5}}, {"gmail": {"threadId": {"id": ref["threadId"]}}},
                 {"gmail": {"accessToken": ["token"]}}]
    for odd in odd_parts:
        body = body_for(signer, messageId=ref["id"], threadId=ref["threadId"])
        for key, value in odd.items():
            body[key] = value if not isinstance(value, dict) else {**body.get(key, {}), **value}
        caplog.clear()
        response = post(client, signer, path, body)
        assert response.status_code == 400, odd
        assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info], odd
        assert any("400" in r.getMessage() or "shape" in r.getMessage() for r in caplog.records), odd


def test_a_customer_at_an_internationalised_domain_is_shown_in_its_own_script():
    """Addresses are kept with A-label domains (what mail and search use); the card showed agents
    "jan@xn--exmple-cua.org" where Gmail itself shows jan@exämple.org."""
    from datetime import datetime, timezone

    from gmail_addon import cards
    from plugin_host.ticket import Person, Ticket, TicketMessage

    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    customer = Person("", "jan@xn--exmple-cua.org")
    message = TicketMessage("1", "t", "<1@x>", customer, (), (), "S", now, "customer", "text")
    ticket = Ticket("t", "S", customer, "support@example.com", (message,), "en", frozenset(), now, None, "customer")
    card = cards.ticket_card(ticket, None, [], [], lambda n: f"{BASE}/addon/{n}")
    validate_card(card)
    shown = card["sections"][0]["widgets"][0]["decoratedText"]
    assert shown["text"] == shown["bottomLabel"] == "jan@exämple.org"
    assert card["header"]["subtitle"].startswith("jan@exämple.org")
