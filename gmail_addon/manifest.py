"""The add-on's deployment JSON for ``gcloud workspace-add-ons deployments create|replace``."""
from __future__ import annotations

from urllib.parse import urlsplit

SCOPES = [
    "https://www.googleapis.com/auth/gmail.addons.execute",
    "https://www.googleapis.com/auth/gmail.addons.current.message.metadata",
    "https://www.googleapis.com/auth/gmail.addons.current.action.compose",
    "https://www.googleapis.com/auth/userinfo.email",
    # with useLocaleFromApp: Google sends the agent's timeZone (the cards' times) only when this scope is listed too
    "https://www.googleapis.com/auth/script.locale",
]


def deployment(base_url: str, name: str = "Labeldesk", logo_url: str = "") -> dict:
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("--base-url must be the add-on's public https:// URL, without ?query or #fragment "
                         "(the endpoints' paths are added to it)")
    logo = logo_url or "https://www.gstatic.com/images/icons/material/system/1x/support_agent_black_48dp.png"
    return {
        "oauthScopes": SCOPES,
        "addOns": {
            "common": {"name": name, "logoUrl": logo, "useLocaleFromApp": True,
                       "homepageTrigger": {"runFunction": f"{base}/addon/homepage", "enabled": True}},
            "gmail": {
                "contextualTriggers": [{"unconditional": {}, "onTriggerFunction": f"{base}/addon/message"}],
                "composeTrigger": {"actions": [{"runFunction": f"{base}/addon/compose", "label": "Labeldesk",
                                                "logoUrl": logo}], "draftAccess": "METADATA"},
            },
            "httpOptions": {"authorizationHeader": "SYSTEM_ID_TOKEN"},
        },
    }
