"""Credentials for one mailbox: none (local mailbox), a delegated service account, or an OAuth token.

Secrets are never logged; token files are written with mode 0600.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from .config import MailboxSettings, is_local
from .errors import ConfigError
from .files import write_private_json
from .scopes import GMAIL


def credentials_for(settings: MailboxSettings, state_dir: Path | str | None = None, scopes: list[str] | None = None):
    """Credentials for ``settings`` asking for ``scopes`` (Gmail alone unless given: what the configuration uses is
    :func:`plugin_host.scopes.needed`), or None for a local mailbox."""
    scopes = scopes or [GMAIL]
    if settings.api_root and is_local(settings.api_root):
        return None
    if settings.credentials:
        from google.oauth2 import service_account

        path = Path(settings.credentials)
        if not path.is_file():
            raise ConfigError("mailbox.credentials", f"service account file {path} does not exist")
        try:
            creds = service_account.Credentials.from_service_account_file(str(path), scopes=scopes)
        except (ValueError, KeyError) as exc:
            raise ConfigError("mailbox.credentials", f"{path} is not a service account key file ({exc.__class__.__name__})") from None
        except OSError as exc:
            raise unreadable("mailbox.credentials", path, exc) from None
        return creds.with_subject(settings.delegated_user or settings.address)
    token = token_path(settings, state_dir)
    if token and Path(token).is_file():
        from google.oauth2.credentials import Credentials

        held = token_scopes(token)
        try:  # refreshed for no scope the token was not granted: the token endpoint would refuse it whole
            return Credentials.from_authorized_user_file(token, [s for s in scopes if held is None or s in held])
        except (ValueError, KeyError):
            raise ConfigError("mailbox.oauth_token", f"{token} is not an authorized-user token file; run `labeldesk auth`") from None
        except OSError as exc:
            raise unreadable("mailbox.oauth_token", token, exc) from None
    if settings.api_root:
        return None  # a non-local custom root (e.g. a test server) without credentials
    if settings.oauth_token:
        raise ConfigError("mailbox.oauth_token", f"token file {token} does not exist: run `labeldesk auth "
                                                 "--client-secrets <client.json>` to create it, or fix the path")
    raise ConfigError("mailbox.credentials",
                      "no credentials: set credentials (+ delegated_user) for Workspace, run `labeldesk auth` "
                      "for consumer Gmail, or set api_root to a local mailbox")


def token_path(settings: MailboxSettings, state_dir: Path | str | None = None) -> str:
    """Where the installed-app token is: ``oauth_token``, else ``<state_dir>/token.json``."""
    return settings.oauth_token or (str(Path(state_dir) / "token.json") if state_dir else "")


def token_scopes(token: str) -> list[str] | None:
    """The scopes a stored token lists (`labeldesk auth` writes those Google granted), or None when it says none."""
    try:
        listed = json.loads(Path(token).read_text(encoding="utf-8")).get("scopes")
    except (OSError, ValueError, AttributeError):
        return None  # credentials_for says what is wrong with the file
    return listed.split() if isinstance(listed, str) else list(listed) if isinstance(listed, list) else None


def unreadable(key: str, path, exc: OSError) -> ConfigError:
    """A credentials file that exists but cannot be read (permissions, a folder): say which and why."""
    return ConfigError(key, f"{path} cannot be read ({exc.strerror or type(exc).__name__}): check its owner and "
                            "mode (the host's user must read it; 0600 is enough)")


def run_oauth_flow(client_secrets: str, token_path: str, scopes: list[str] | None = None) -> list[str]:
    """Installed-app OAuth in the browser asking for ``scopes`` (Gmail alone unless given); stores the refresh token
    with mode 0600, listing the scopes Google granted, and returns those."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    scopes = scopes or [GMAIL]
    try:
        flow = InstalledAppFlow.from_client_secrets_file(client_secrets, scopes)
    except (ValueError, KeyError, OSError) as exc:  # json errors are ValueErrors
        raise ConfigError("--client-secrets", f"{client_secrets} is not an OAuth client file for a Desktop app "
                                              f"({type(exc).__name__}); download it again from the Cloud console") from None
    with _granular_consent():
        creds = flow.run_local_server(port=0)
    # Google answers with the scopes the user left ticked (google-auth-oauthlib keeps them as granted_scopes);
    # without that answer, what was asked was granted.
    granted = list(getattr(creds, "granted_scopes", None) or scopes)
    path = Path(token_path)
    try:
        # A new file (mode 0600) put in place whole: never half a token, never written through a link planted
        # where token.json was, and an old 0644 token.json is replaced, not reused. Its "scopes" are the granted
        # ones: what the host may ask this token for (asking a refresh for more is refused: invalid_scope).
        write_private_json(path, {**json.loads(creds.to_json()), "scopes": granted})
    except OSError as exc:
        raise ConfigError("mailbox.oauth_token", f"{path} cannot be written ({exc.strerror or type(exc).__name__}): "
                                                 "point oauth_token at a writable file and run `labeldesk auth` again") from None
    return granted


@contextmanager
def _granular_consent():
    """Google's consent screen lets the user untick scopes; oauthlib then raises ``Warning("Scope has changed
    …")`` out of the code exchange unless OAUTHLIB_RELAX_TOKEN_SCOPE is set. Set for the exchange alone: what was
    granted is compared with what is needed afterwards, and said."""
    before = os.environ.get("OAUTHLIB_RELAX_TOKEN_SCOPE")
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OAUTHLIB_RELAX_TOKEN_SCOPE", None)
        else:
            os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = before
