"""Google refusing the way admins meet it in production, in front of the local mailbox.

Labeldesk talks to Google through httplib2 (google-auth-httplib2 refreshes tokens on the same connection), so the
``responses`` library, which patches requests, cannot stand in for the token endpoint here. :class:`Google` is an
httplib2-shaped transport instead: token requests (https://oauth2.googleapis.com/token) get the answers a test
queues, API requests the answers a test's ``refuse`` gives, and everything else goes to the local mailbox. It is put
in place of the client's own connection (``plugin_host.gmail.AnswerOrError``), so credentials, google-auth's refresh
and googleapiclient run as they do against Google.

The bodies are Google's, as reported from production (the threads each comes from are named): only project numbers
and ids are made up.
"""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import httplib2

TOKEN_URI = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN = "ya29.a0AfB_SECRET-ACCESS-TOKEN"
REFRESH_TOKEN = "1//0gSECRET-REFRESH-TOKEN"
CLIENT_SECRET = "GOCSPX-SECRET-CLIENT-SECRET"

GRANTED = (200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
# googleapis/google-cloud-python#8736, #10004: a deleted or rotated service-account key.
KEY_DELETED = (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
# Google's answer to a revoked refresh token, an expired one (a "Testing" app's after 7 days), a changed password.
TOKEN_REVOKED = (400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
# hrishikeshrt/google_drive_ocr#8: the OAuth client's secret reset, or the client replaced.
CLIENT_REFUSED = (401, {"error": "invalid_client", "error_description": "Unauthorized"})
# googleapis/google-api-php-client#2214, google-auth-library-ruby#210: the Admin console's delegation lacks a scope.
DELEGATION_MISSING = (401, {"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve "
                            "access tokens using this method, or client not authorized for any of the scopes requested."})
TOKEN_ENDPOINT_DOWN = (503, {"error": "internal_failure", "error_description": "Backend Error"})


def api_disabled(service: str, title: str, project: str = "479857586348") -> tuple[int, dict]:
    """403 for an API not enabled in the project (googleworkspace/python-samples#23, gemini-cli#1343)."""
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={project}"
    message = (f"{title} has not been used in project {project} before or it is disabled. Enable it by visiting {url} "
               "then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our "
               "systems and retry.")
    return 403, {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED",
                           "errors": [{"message": message, "domain": "usageLimits", "reason": "accessNotConfigured",
                                       "extendedHelp": "https://console.developers.google.com"}],
                           "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                                        "domain": "googleapis.com",
                                        "metadata": {"service": service, "consumer": f"projects/{project}",
                                                     "serviceTitle": title, "containerInfo": project,
                                                     "activationUrl": url}}]}}


def scope_missing(service: str, method: str) -> tuple[int, dict]:
    """403 for a token without the API's scope (analogdotnow/Analog#296)."""
    return 403, {"error": {"code": 403, "message": "Request had insufficient authentication scopes.",
                           "errors": [{"message": "Insufficient Permission", "domain": "global",
                                       "reason": "insufficientPermissions"}],
                           "status": "PERMISSION_DENIED",
                           "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                        "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                                        "metadata": {"service": service, "method": method}}]}}


# WPManageNinja/fluent-smtp#152, FlowCrypt/flowcrypt-browser#4838: a user with no Gmail licence.
NO_GMAIL = (400, {"error": {"code": 400, "message": "Mail service not enabled", "status": "FAILED_PRECONDITION",
                            "errors": [{"message": "Mail service not enabled", "domain": "global",
                                        "reason": "failedPrecondition"}]}})
# Gmail's "Resolve errors" guide: the domain does not let the app use Gmail; the project's daily quota.
DOMAIN_POLICY = (403, {"error": {"code": 403, "message": "The domain administrators have disabled Gmail apps.",
                                 "errors": [{"domain": "global", "reason": "domainPolicy",
                                             "message": "The domain administrators have disabled Gmail apps."}]}})
DAILY_LIMIT = (403, {"error": {"code": 403, "message": "Daily Limit Exceeded",
                               "errors": [{"domain": "usageLimits", "reason": "dailyLimitExceeded",
                                           "message": "Daily Limit Exceeded"}]}})
RATE_LIMITED = (429, {"error": {"code": 429, "message": "User-rate limit exceeded.  Retry after 2026-12-08T10:00:00Z",
                                "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",
                                            "message": "User-rate limit exceeded.  Retry after 2026-12-08T10:00:00Z"}],
                                "status": "RESOURCE_EXHAUSTED"}})
BACKEND_ERROR = (503, {"error": {"code": 503, "message": "The service is currently unavailable.",
                                 "errors": [{"domain": "global", "reason": "backendError",
                                             "message": "The service is currently unavailable."}],
                                 "status": "UNAVAILABLE"}})


def answer(status: int, body: dict, headers: dict | None = None):
    info = {"status": str(status), "content-type": "application/json; charset=UTF-8", **(headers or {})}
    return httplib2.Response(info), json.dumps(body).encode()


class Google:
    """The token endpoint and API refusals in front of ``local`` (a LocalMailbox). ``token_answers`` are given in
    turn (the last one again and again; an exception is raised); ``refuse(uri, method)`` may return an answer for
    an API request instead of the mailbox's. ``token_requests`` and ``api_requests`` count what was asked,
    ``token_bodies`` keeps each token request's form (a service account's JWT assertion names the scopes asked).
    ``delegated``, when given, is the Admin console's domain-wide delegation: a service account's token request
    asking for any scope not in it is refused whole (``unauthorized_client``), as Google does."""

    def __init__(self, local, token_answers=(GRANTED,), refuse=None, delegated=None):
        self.local, self.token_answers, self.refuse = local, list(token_answers), refuse
        self.delegated = delegated
        self.token_requests = 0
        self.token_bodies: list[str] = []
        self.api_requests: list[str] = []

    def request(self, uri, method="GET", body=None, headers=None, redirections=5, connection_type=None):
        if uri.startswith(TOKEN_URI):
            self.token_requests += 1
            self.token_bodies.append(body.decode() if isinstance(body, bytes) else str(body or ""))
            given = self.token_answers.pop(0) if len(self.token_answers) > 1 else self.token_answers[0]
            if self.delegated is not None and not set(asked_for(self.token_bodies[-1])) <= set(self.delegated):
                given = DELEGATION_MISSING
            if isinstance(given, Exception):
                raise given
            return answer(*given)
        self.api_requests.append(f"{method} {uri}")
        refused = self.refuse(uri, method) if self.refuse else None
        if refused is not None:
            if isinstance(refused, Exception):
                raise refused
            return answer(*refused)
        return self.local.http.request(uri, method, body, headers)

    def close(self):
        pass


def asked_for(body: str) -> list[str]:
    """The scopes a service account's token request asks for (its JWT assertion's ``scope`` claim)."""
    assertion = parse_qs(body)["assertion"][0]
    claims = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["scope"].split()


def service_account_key() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "desk", "private_key_id": "0123abcd", "private_key": pem,
            "client_email": "labeldesk@desk.iam.gserviceaccount.com", "client_id": "104123456789012345678",
            "token_uri": TOKEN_URI}


def authorized_user_token() -> dict:
    """A stored installed-app token, as `labeldesk auth` writes it, its access token already expired."""
    return {"token": "ya29.OLD-EXPIRED", "refresh_token": REFRESH_TOKEN, "token_uri": TOKEN_URI,
            "client_id": "1234-desk.apps.googleusercontent.com", "client_secret": CLIENT_SECRET,
            "scopes": ["https://www.googleapis.com/auth/gmail.modify"], "expiry": "2020-01-01T00:00:00Z"}


SECRETS = (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, "PRIVATE KEY", "SECRET")
