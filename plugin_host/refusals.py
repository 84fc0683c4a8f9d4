"""Google's refusals in an admin's words: what Google said, why it says it, and what to change.

A call to Gmail, Tasks, Drive or the Admin SDK can fail in ways no retry mends: the token endpoint refuses the
credentials (google-auth's ``RefreshError``: ``invalid_grant`` for a revoked or expired refresh token or a deleted
service-account key, ``invalid_client`` for a rotated client secret, ``unauthorized_client`` for a domain-wide
delegation without the scopes), the API is not enabled in the Cloud project (403 ``accessNotConfigured``,
``SERVICE_DISABLED``), the token lacks the API's scope (403 ``insufficientPermissions``,
``ACCESS_TOKEN_SCOPE_INSUFFICIENT``), the mailbox's user has no Gmail (400 ``failedPrecondition`` "Mail service not
enabled"), the Workspace domain forbids the app (403 ``domainPolicy``) or the project's daily quota is spent (403
``dailyLimitExceeded``). :func:`explain` turns each into one line naming the cause and the admin's next step, and
says that it lasts: the host then stops the run at once instead of trying every thread against the same wall.

Only Google's error code and description go into the line: google-auth's exception also carries the token
endpoint's whole answer, and nothing of a token, client secret or key is ever quoted.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

# The API each method id's prefix names: its name in the Cloud console and its service name there.
APIS = {"gmail": ("Gmail API", "gmail.googleapis.com"), "tasks": ("Google Tasks API", "tasks.googleapis.com"),
        "drive": ("Google Drive API", "drive.googleapis.com"), "admin": ("Admin SDK API", "admin.googleapis.com")}
DELEGATION_PAGE = ("the Admin console (admin.google.com), Security > Access and data control > API controls > "
                   "Manage Domain Wide Delegation")
API_DISABLED = {"accessNotConfigured", "SERVICE_DISABLED"}
TESTING_APPS = ('an OAuth app left in "Testing" on its consent screen gets refresh tokens that expire after 7 days: '
                'publish it (In production) to keep them')


@dataclass(frozen=True)
class Refusal:
    """Google refused for a reason only an admin can remove: ``advice`` says which and how."""

    advice: str


def explain(exc: Exception, api: str, credentials=None, key_file: str = "",
            scopes: list[str] | None = None) -> Refusal | None:
    """The lasting refusal ``exc`` is (from a call to ``api``: gmail, tasks, drive, admin, with ``credentials``,
    a service account's read from ``key_file``; ``scopes``: every scope the configuration uses, else those of
    ``credentials``), or None for anything a retry or the next run may mend."""
    from google.auth.exceptions import RefreshError
    from googleapiclient.errors import HttpError

    if isinstance(exc, RefreshError) and not exc.retryable:
        return _refused_credentials(exc, credentials, key_file, _listed(scopes, credentials))
    if isinstance(exc, HttpError):
        return _refused_call(exc, api, credentials, key_file, _listed(scopes, credentials))
    return None


def _listed(scopes, credentials) -> str:
    """The scopes to grant, comma-separated as the Admin console's domain-wide delegation takes them: all the
    configuration uses (a delegation is one list per client ID: listing one token's would drop the others')."""
    return ",".join(scopes or getattr(credentials, "scopes", None) or ())


def _refused_credentials(exc, credentials, key_file: str, scopes: str) -> Refusal:
    code, description = token_error(exc)
    said = f"{code}: {description}" if description else code
    if _service_account(credentials):
        account = getattr(credentials, "service_account_email", "") or "the service account"
        if code == "unauthorized_client":
            return Refusal(f"Google refused the service account's domain-wide delegation ({said}): in "
                           f"{DELEGATION_PAGE}, give client ID {_client_id(key_file)} exactly these scopes: {scopes} "
                           "(a change there can take some minutes to apply)")
        if code == "invalid_grant":
            return Refusal(f"Google refused the service account's key ({said}): the key in {key_file or 'the key file'} "
                           f"was deleted or disabled (make a new key for {account} in the Cloud console, IAM & Admin > "
                           "Service accounts > Keys, and put it in that file), the delegated user does not exist, "
                           "or this machine's clock is wrong")
        return Refusal(f"Google refused the service account's credentials ({said}): check the key file "
                       f"{key_file or ''} and {account} in the Cloud console".replace("  ", " "))
    again = "run `labeldesk auth --client-secrets <client.json>` again"
    if code == "invalid_grant":
        return Refusal(f"Google no longer accepts the stored OAuth token ({said}): it was revoked, its account's "
                       f"password changed, or it expired ({TESTING_APPS}); {again}")
    if code in ("invalid_client", "deleted_client", "unauthorized_client"):
        return Refusal(f"Google refused the OAuth client ({said}): its secret was reset or the client deleted in the "
                       "Cloud console, APIs & Services > Credentials; download the Desktop client's JSON again and "
                       f"{again}")
    if code == "invalid_scope":
        return Refusal(f"the stored OAuth token was not granted every scope Labeldesk asks for ({said}; it asks "
                       f"for {scopes}): {again} and allow every access")
    return Refusal(f"Google refused the stored OAuth token ({said}); {again}")


def reasons(exc) -> set[str]:
    """The reasons of an API's error answer: its ``errors[].reason`` and its ErrorInfo's ``reason``."""
    error = _api_error(exc)
    found = {str(e.get("reason", "")) for e in error.get("errors") or [] if isinstance(e, dict)}
    found.add(str(_error_info(error).get("reason", "")))
    return found - {""}


def _error_info(error: dict) -> dict:
    return next((d for d in error.get("details") or [] if isinstance(d, dict)
                 and str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")), {})


def _refused_call(exc, api: str, credentials, key_file: str, scopes: str) -> Refusal | None:
    error = _api_error(exc)
    info = _error_info(error)
    reasons_ = reasons(exc)
    status = int(getattr(exc.resp, "status", 0) or 0)
    name, service = APIS.get(api, (f"the {api} API", f"{api}.googleapis.com"))
    said = f"HTTP {status} {' '.join(sorted(r for r in reasons_))}"
    if reasons_ & API_DISABLED:
        where = (info.get("metadata") or {}).get("activationUrl") or f"https://console.cloud.google.com/apis/library/{service}"
        return Refusal(f"the {name} is not enabled in the Cloud project of Labeldesk's credentials ({said}): enable "
                       f"it at {where}, then allow a few minutes for it to apply")
    if reasons_ & {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}:
        if _service_account(credentials):
            return Refusal(f"the service account's token has no scope for the {name} ({said}): in {DELEGATION_PAGE}, "
                           f"give client ID {_client_id(key_file)} exactly these scopes: {scopes}")
        return Refusal(f"the stored OAuth token has no scope for the {name} ({said}; the consent screen's box for it "
                       "left unticked?): run `labeldesk auth --client-secrets <client.json>` again and allow every "
                       "access")
    if "domainPolicy" in reasons_:
        return Refusal(f"the Workspace domain's administrators do not let this app use the {name} ({said}): in the "
                       "Admin console, Security > Access and data control > API controls, trust the app (its client "
                       "ID) or allow the service")
    if "failedPrecondition" in reasons_ and "mail service not enabled" in str(error.get("message", "")).lower():
        return Refusal(f"the mailbox's user has no Gmail ({said} Mail service not enabled): give [mailbox] "
                       "delegated_user (or address) a Google Workspace licence with Gmail turned on, or fix the "
                       "address")
    if "dailyLimitExceeded" in reasons_:
        return Refusal(f"the Cloud project's daily quota for the {name} is spent ({said}): it comes back after "
                       "midnight Pacific time (the console's Quotas page shows it)")
    return None


def token_error(exc) -> tuple[str, str]:
    """(error code, description) of the token endpoint's answer, and nothing else of it."""
    answer = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError:
            answer = None
    if isinstance(answer, dict) and answer.get("error"):
        return str(answer["error"])[:60], str(answer.get("error_description") or "")[:200]
    first = str(exc.args[0]) if exc.args else ""
    code, _, description = first.partition(": ")
    if code and " " not in code:  # google-auth's own "error: description" line
        return code[:60], description[:200]
    return "refused", ""


def _api_error(exc) -> dict:
    try:
        error = json.loads(exc.content).get("error")
    except (ValueError, AttributeError, TypeError):
        return {}
    return error if isinstance(error, dict) else {}


def _service_account(credentials) -> bool:
    from google.oauth2 import service_account

    return isinstance(credentials, service_account.Credentials)


def _client_id(key_file: str) -> str:
    """The service account's client ID (what the Admin console asks for), from its key file; no secret of it."""
    try:
        return str(json.loads(Path(key_file).read_text(encoding="utf-8")).get("client_id") or "(client_id in the key file)")
    except (OSError, ValueError, AttributeError):
        return "(client_id in the [mailbox] credentials file)"


class SaidOnce:
    """The lasting refusals already said, per API. `serve` meets the same one at every poll, sweep, push and card
    until an admin acts: the log says it once (ERROR), then at INFO, and again only after a call to that API
    worked in between (the refusal was mended, and came back)."""

    def __init__(self):
        self._said: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def first(self, api: str, refusal: Refusal) -> bool:
        """Whether ``refusal`` (met calling ``api``) was not said since that API last worked; notes it as said."""
        with self._lock:
            if (api, refusal.advice) in self._said:
                return False
            self._said.add((api, refusal.advice))
            return True

    def worked(self, api: str) -> None:
        """A call to ``api`` worked: what it refused before is news again when it comes back."""
        if self._said:  # the usual case, checked at every call: nothing to forget
            with self._lock:
                self._said = {said for said in self._said if said[0] != api}


def level(exc: BaseException) -> int:
    """The log level for a failure: ERROR, or INFO for a lasting refusal already said (see :class:`SaidOnce`)."""
    return logging.INFO if getattr(exc, "said_before", False) else logging.ERROR
