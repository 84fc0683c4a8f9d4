"""The Message-ID header of the message the agent has open, read from the agent's own mailbox.

Gmail runs the add-on in the agent's own Gmail. An agent who gets support mail there (support@ a Google Group
that delivers to each agent and to the support mailbox) opens a copy whose ids are their mailbox's, which the
support mailbox Labeldesk reads does not know. The copy carries the same Message-ID header, so the header is read
with the agent's rights, the way Google's alternate-runtime guide reads the open message: ``messages.get`` as
``me`` with the event's ``userOAuthToken`` and the per-message ``gmail.accessToken`` in
``X-Goog-Gmail-Access-Token``. ``format=metadata`` with only that header is what the deployment's
``gmail.addons.current.message.metadata`` scope allows; the host then finds the thread by ``rfc822msgid:``.
"""
from __future__ import annotations

import logging
import re

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

log = logging.getLogger(__name__)
# A Message-ID that a Gmail search can hold as one term: no spaces, quotes or brackets inside.
SEARCHABLE = re.compile(r"^<?([^\s<>\"(){}]+)>?$")


def open_message_header_id(message_id: str, user_token: str, access_token: str, root: str, http=None) -> str:
    """The open message's Message-ID (without <>), or "" when the agent's mailbox does not say (no tokens, a
    refusal, no such header). ``http``: a transport for the agent's mailbox (a local mailbox in tests)."""
    if not (message_id and user_token and access_token):
        return ""
    from google.oauth2.credentials import Credentials
    from google_auth_httplib2 import AuthorizedHttp

    agent_http = AuthorizedHttp(Credentials(user_token), http=http or httplib2.Http(timeout=10))
    gmail = build("gmail", "v1", http=agent_http, static_discovery=True, cache_discovery=False,
                  client_options={"api_endpoint": root})
    request = gmail.users().messages().get(userId="me", id=message_id, format="metadata", metadataHeaders=["Message-ID"])
    request.headers["X-Goog-Gmail-Access-Token"] = access_token
    try:
        message = request.execute(num_retries=1)
    except (HttpError, OSError, httplib2.HttpLib2Error) as exc:
        log.warning("the agent's open message could not be read from their mailbox: %s",
                    getattr(getattr(exc, "resp", None), "status", None) or exc.__class__.__name__)
        return ""
    headers = (message.get("payload") or {}).get("headers") or []
    value = next((h.get("value", "") for h in headers if str(h.get("name", "")).lower() == "message-id"), "")
    searchable = SEARCHABLE.match(value.strip())
    return searchable.group(1) if searchable else ""
