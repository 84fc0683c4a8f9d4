"""Pub/Sub push from Gmail: verify the OIDC bearer token, then parse the notification.

Pub/Sub sends ``Authorization: Bearer <Google-signed ID token>`` when the push subscription has
OIDC authentication. We check signature, expiry and issuer (google-auth), the audience (our push
URL), and that the token was issued to the configured service account with a verified email.
Each Pub/Sub message is taken once (:class:`SeenMessages`): a replay of a verified request within the
token's lifetime is refused instead of starting another sync.
"""
from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from .errors import VerificationError, WrongAudience

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 60  # servers' clocks drift: a token issued "in a few seconds" by Google is still genuine
REMEMBER_SECONDS = 2 * 3600  # longer than a Google ID token lives (1 hour): an older replay fails verification


class BadPush(ValueError):
    """The push body is not a Pub/Sub message carrying a Gmail notification."""


@dataclass(frozen=True)
class PushNotice:
    email_address: str
    history_id: int
    message_id: str


def parse_push(body: bytes) -> PushNotice:
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadPush("body is not JSON") from None
    message = envelope.get("message") if isinstance(envelope, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("data"), str):
        raise BadPush("missing message.data")
    data = message["data"]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        try:
            decoded = json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            raise BadPush("message.data is not base64-encoded JSON") from None
    if not isinstance(decoded, dict):
        raise BadPush("message.data is not a JSON object")
    address, history = decoded.get("emailAddress"), decoded.get("historyId")
    if not isinstance(address, str) or "@" not in address:
        raise BadPush("message.data has no emailAddress")
    history_id = _history_id(history)
    message_id = message.get("messageId") or message.get("message_id")
    if not isinstance(message_id, (str, int)) or isinstance(message_id, bool) or not str(message_id).strip():
        raise BadPush("missing message.messageId")
    return PushNotice(address.lower(), history_id, str(message_id).strip())


def _history_id(value) -> int:
    """Gmail's history id: an unsigned 64-bit number, sent as a JSON number or a string of digits."""
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 20):
        raise BadPush("message.data has no numeric historyId")
    if int(text) <= 0:
        raise BadPush("message.data has no positive historyId")
    return int(text)


class SeenMessages:
    """Pub/Sub message ids accepted lately: the same message again is a replay (or Pub/Sub's rare duplicate,
    whose first copy already started a sync). Thread-safe; forgets ids after ``REMEMBER_SECONDS``."""

    def __init__(self, remember_seconds: float = REMEMBER_SECONDS, clock=time.monotonic):
        self.remember_seconds, self.clock = remember_seconds, clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, message_id: str) -> bool:
        """True the first time ``message_id`` is offered (it is then remembered), False on a repeat."""
        now = self.clock()
        with self._lock:
            while self._seen and now - next(iter(self._seen.values())) > self.remember_seconds:
                self._seen.popitem(last=False)
            if message_id in self._seen:
                return False
            self._seen[message_id] = now
            return True


def bearer_token(authorization: str) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise VerificationError("missing or malformed Authorization: Bearer header")
    return token.strip()


def verify_google_token(token: str, audience: str, certs_url: str | None = None, request=None) -> dict:
    """Signature, expiry, issuer and audience of a Google-signed ID token; returns its claims."""
    from google.auth import exceptions
    from google.oauth2 import id_token

    if not audience:
        raise VerificationError("no audience configured")
    request = request or cached_request()
    try:  # the audience is compared below, once the signature is known good: a wrong one names a setting
        claims = id_token.verify_token(token, request, audience=None, certs_url=certs_url or GOOGLE_CERTS_URL,
                                       clock_skew_in_seconds=CLOCK_SKEW_SECONDS)
    except (ValueError, TypeError, AttributeError, exceptions.GoogleAuthError) as exc:  # signed claims of odd types too
        raise VerificationError(f"token rejected: {exc.__class__.__name__}") from None
    if claims.get("iss") not in ISSUERS:
        raise VerificationError("token not issued by Google")
    if claims.get("aud") != audience:
        raise WrongAudience(claims.get("aud"), audience)
    return claims


def verify_push_token(authorization_header: str, audience: str, service_account_email: str, request=None,
                      certs_url: str | None = None) -> dict:
    claims = verify_google_token(bearer_token(authorization_header), audience, certs_url, request)
    email = claims.get("email")
    if not isinstance(email, str) or email.lower() != (service_account_email or "").lower() or not service_account_email:
        raise VerificationError("token was issued to another service account")
    if claims.get("email_verified") is not True:
        raise VerificationError("token email is not verified")
    return claims


_session = None


def cached_request():
    """A google-auth Request whose HTTP session caches the certificates (Cache-Control honoured)."""
    global _session
    from google.auth.transport import requests as google_requests

    if _session is None:
        import requests

        try:
            import cachecontrol

            _session = cachecontrol.CacheControl(requests.Session())
        except ImportError:
            _session = requests.Session()
    return google_requests.Request(session=_session)
