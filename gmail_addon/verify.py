"""Every add-on request is verified before anything else is read.

Google sends ``Authorization: Bearer <ID token>`` signed for the add-on's service account, with
audience = the exact endpoint URL. The agent is identified from the verified ``userIdToken``
(audience = the add-on's OAuth client id). In ``labeldesk demo`` the preview signs its own tokens
with an in-memory key; only an app created in demo mode trusts that key, production never does.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from plugin_host.errors import VerificationError, WrongAudience
from plugin_host.push import bearer_token, verify_google_token

log = logging.getLogger(__name__)
# Where the admin finds the right values: the log names the setting and this, never the token's value to copy
# (anyone can have Google sign a token of their own service account, for any audience).
AUTHORIZATION = "`gcloud workspace-add-ons get-authorization` prints for the deployment's project"


@dataclass(frozen=True)
class Caller:
    email: str  # the agent's address from the verified userIdToken
    claims: dict


def verify_system_token(headers, endpoint_url: str, addon_settings, demo_signer=None) -> dict:
    """The bearer token Google signs for the add-on's service account, audience = the endpoint URL."""
    token = bearer_token(headers.get("Authorization", ""))
    try:
        claims = _verify(token, endpoint_url, addon_settings, demo_signer)
    except WrongAudience as exc:
        raise VerificationError(f"system token: {exc}: [addon] base_url must be the --base-url of the deployment "
                                "(labeldesk addon manifest), whose endpoints Google calls") from None
    expected = addon_settings.service_account_email if demo_signer is None else demo_signer.service_account
    if not expected or (claims.get("email") or "").lower() != expected.lower():
        raise VerificationError(f"system token issued to {claims.get('email')!r}, not [addon] service_account_email "
                                f"{expected!r}: it must be the serviceAccountEmail that {AUTHORIZATION}")
    if claims.get("email_verified") is not True:
        raise VerificationError("system token email not verified")
    return claims


def verify_user(body: dict, addon_settings, demo_signer=None) -> Caller:
    """The agent, from the request's ``authorizationEventObject.userIdToken`` (audience = OAuth client id)."""
    event = body.get("authorizationEventObject") if isinstance(body, dict) else None
    user_token = event.get("userIdToken") if isinstance(event, dict) else None
    if not isinstance(user_token, str) or not user_token:
        raise VerificationError("no userIdToken: set addOns.httpOptions so Google sends it")
    audience = addon_settings.oauth_client_id if demo_signer is None else demo_signer.client_id
    try:
        user = _verify(user_token, audience, addon_settings, demo_signer)
    except WrongAudience as exc:
        raise VerificationError(f"userIdToken: {exc}: [addon] oauth_client_id must be the oauthClientId that "
                                f"{AUTHORIZATION}") from None
    if user.get("email_verified") is not True or not user.get("email"):
        raise VerificationError("user token has no verified email")
    return Caller(user["email"].lower(), user)


def _verify(token: str, audience: str, addon_settings, demo_signer) -> dict:
    if demo_signer is not None:
        return demo_signer.verify(token, audience)
    return verify_google_token(token, audience, addon_settings.google_certs_url or None)
