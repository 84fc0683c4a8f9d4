"""The Flask app factory: push endpoint, plugin routes (the add-on among them), health and readiness.

``create_app(host)`` builds the app around an existing :class:`~plugin_host.host.Host`; nothing
reads configuration at import time. The push endpoint verifies Pub/Sub's OIDC token before it
looks at the body, does nothing for a message it has already taken (answered 200, so Pub/Sub does not
redeliver a duplicate for days), answers fast, and leaves the work to a background sync.
"""
from __future__ import annotations

import logging
import secrets

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request

from .errors import VerificationError
from .push import SeenMessages

log = logging.getLogger(__name__)
push = Blueprint("push", __name__)
OTHER_MAILBOXES_NAMED = 1000  # other mailboxes' addresses remembered (each said once); past that, DEBUG only


def create_app(host, feed=None, test_config: dict | None = None, demo: bool = False) -> Flask:
    """The host's web app for one mailbox."""
    app = Flask("labeldesk")
    app.config.update(LABELDESK_DEMO=demo, MAX_CONTENT_LENGTH=2 * 1024 * 1024)
    if test_config:
        app.config.update(test_config)
    app.config["LABELDESK_DEMO"] = demo or bool(test_config and test_config.get("LABELDESK_DEMO"))
    app.extensions["labeldesk"] = host
    app.extensions["labeldesk.feed"] = feed
    app.extensions["labeldesk.pushes"] = SeenMessages()
    app.extensions["labeldesk.other_mailboxes"] = set()  # addresses of other mailboxes' pushes, each said once
    if app.config["LABELDESK_DEMO"]:
        app.wsgi_app = loopback_only(app.wsgi_app)
    app.register_blueprint(push)
    host.pm.hook.register_routes(app=app)

    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def security_headers(response):
        """Pages may not be framed or sniffed, and load nothing from elsewhere."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
        return response

    @app.get("/healthz")
    def health():
        """Liveness: the app is up and knows its mailbox (200 even while syncs fail: a restart would not help);
        ``sync`` tells when the last sync ran and whether it succeeded."""
        answer = {"ok": True, "mailbox": host.config.mailbox.address}
        watch = app.extensions.get("labeldesk.config_watch")
        if watch is not None:  # labeldesk.toml edited since start: a restart applies it
            answer["config_changed_since_start"] = watch.changed
        if feed is not None and host.config.mailbox.watch_topic:  # push: when Gmail stops pushing unless renewed
            from .sync import watch_state

            answer["push"] = watch_state(feed, host.config.mailbox.watch_topic)
        return answer | ({"sync": feed.health.as_dict()} if feed is not None else {})

    @app.get("/readyz")
    def ready():
        """Readiness for monitoring: 200 when the last sync succeeded lately, 503 with the reason otherwise."""
        if feed is None:
            return {"ok": True, "mailbox": host.config.mailbox.address, "sync": None}
        sync = feed.health.as_dict()
        return {"ok": sync["ok"], "mailbox": host.config.mailbox.address, "sync": sync}, 200 if sync["ok"] else 503

    @app.get("/plugins.json")
    def plugins_json():
        """Installed plugins with version, enabled flag and hooks (like ``labeldesk plugins --json``): in the
        demo only, since it is unauthenticated and versions help whoever looks for a known hole."""
        from .plugins import make_plugin_manager, plugin_infos

        if not app.config["LABELDESK_DEMO"]:
            abort(404)
        infos = plugin_infos(make_plugin_manager(enabled=None), host.config.enabled_plugins)
        return jsonify([{**i.__dict__, "hooks": list(i.hooks)} for i in infos])

    return app


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def csp_nonce() -> str:
    """This response's nonce for inline ``<style>`` and ``<script>`` elements (``nonce="{{ csp_nonce() }}"``
    in a template): new for every request, so markup a customer slips into a page cannot carry it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    """The policy of every HTML page the app serves: scripts and styles from this origin or inline with the
    response's nonce, never any other inline ones (no 'unsafe-inline': a tag that slips past escaping does not
    run); no plugins, no <base>, forms post here only, no framing."""
    return (f"default-src 'self'; img-src 'self' https: data:; style-src 'self' 'nonce-{nonce}'; "
            f"script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'")


def is_loopback(name: str | None) -> bool:
    """Whether a host name or address is this machine's: localhost, 127.0.0.0/8 or ::1, however written."""
    import ipaddress

    if name is None:
        return False
    try:
        return name.lower() in LOOPBACK_NAMES or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def loopback_only(wsgi_app):
    """``wsgi_app`` answering only requests addressed to this machine by name (Host 127.0.0.1, localhost
    or [::1]). A server bound to 127.0.0.1 is still reachable from any web page the user visits through
    DNS rebinding (a site's name re-resolved to 127.0.0.1): such requests carry the site's name as Host."""
    from urllib.parse import urlsplit

    def name_of(host: str) -> str | None:
        try:
            return urlsplit("//" + host).hostname
        except ValueError:  # "[::1" and such: no host name at all
            return None

    def app(environ, start_response):
        host = environ.get("HTTP_HOST")
        if host is not None and not is_loopback(name_of(host)):
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"This server answers requests addressed to 127.0.0.1 or localhost only.\n"]
        return wsgi_app(environ, start_response)

    return app


@push.post("/gmail/push")
def gmail_push():
    """Pub/Sub push from Gmail: verify the OIDC token, parse, acknowledge, sync in the background."""
    from .push import BadPush, parse_push, verify_push_token

    host = current_app.extensions["labeldesk"]
    settings = host.config.mailbox
    if not settings.push_audience or not settings.push_service_account:
        log.warning("push received but [mailbox] push_audience/push_service_account are not configured")
        abort(403)
    try:
        verify_push_token(request.headers.get("Authorization", ""), audience=settings.push_audience,
                          service_account_email=settings.push_service_account,
                          certs_url=host.config.addon.google_certs_url or None)
    except VerificationError as exc:
        log.warning("rejected push: %s", exc)
        abort(401)
    try:
        notice = parse_push(request.get_data())
    except BadPush as exc:  # signed by Google's push account: an error status would only get it redelivered for
        # 7 days (Pub/Sub's retention), and it would never parse. No sync: one without a message id cannot be told
        # from a replay; the next push or the poll syncs.
        log.error("malformed push acknowledged and dropped (%s); the next push or poll syncs", exc)
        return {"malformed": True}, 200
    if notice.email_address.lower() != settings.address:
        # Google recommends one topic for all of an application's Gmail pushes: with another mailbox watched on it,
        # this subscription gets that mailbox's notices too, up to one a second. Said once per address.
        others = current_app.extensions["labeldesk.other_mailboxes"]
        if notice.email_address not in others and len(others) < OTHER_MAILBOXES_NAMED:
            others.add(notice.email_address)
            log.warning("push for %s ignored: this host serves %s (said once for that address; its pushes come on "
                        "a topic shared with another mailbox, or %s is this account's address and [mailbox] address "
                        "should say so)", notice.email_address, settings.address, notice.email_address)
        else:
            log.debug("push for %s ignored: this host serves %s", notice.email_address, settings.address)
        return {"ignored": True}, 200
    if not current_app.extensions["labeldesk.pushes"].first_time(notice.message_id):
        # A replay, or Pub/Sub's own duplicate delivery: no sync. A 2xx acknowledges it; an error status
        # would make Pub/Sub redeliver it until its retention (7 days) runs out.
        log.warning("push message %s received again: ignored (a replay or a duplicate delivery)", notice.message_id)
        return {"duplicate": True}, 200
    feed = current_app.extensions.get("labeldesk.feed")
    if feed is not None and feed.covers(notice.history_id):
        # Pub/Sub delivers late and out of order: the last sync already passed this notice. Reading history for
        # it would cost quota and find nothing.
        return {"accepted": True, "historyId": str(notice.history_id), "synced_already": True}, 200
    if feed is not None:
        feed.sync_soon(notice.history_id)
    return {"accepted": True, "historyId": str(notice.history_id)}, 200
