"""Filling ``[agents]`` from the Google Workspace directory (Admin SDK ``users.list``).

Reads first name, last name and title of the users matching a query (e.g. the support
organisational unit) and merges them into ``labeldesk.toml``: existing agents keep what an admin
typed, new ones are added. Agents who left — suspended, archived, deleted or out of the query's unit — are
marked ``active = false`` (not removed: their past replies in every thread stay the team's), and marked active
again when the directory lists them again. Needs a service account with domain-wide delegation to an admin and
the scope ``admin.directory.user.readonly``.
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from plugin_host.errors import LabeldeskError
from plugin_host.ticket import canonical_address

SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
PAGE_SIZE = 500  # users.list's most per page
RETRIES = 3  # a 429 or 5xx is asked again this many times (googleapiclient's backoff) before the sync gives up


class DirectoryError(LabeldeskError):
    """users.list failed: the message says what Google answered and what the admin changes; nothing was written."""


def directory_agents(service, query: str = "", left_out: dict | None = None,
                     aliases: dict | None = None) -> dict[str, dict]:
    """email (as the config reads it) → {first_name, last_name, title?} for active users of the Workspace account
    (every domain of it: agents' own addresses need not share the support address's) matching ``query``. The users
    it leaves out go to ``left_out`` (email → why: suspended, archived, no Gmail mailbox, no first or last name), the users'
    aliases to ``aliases`` (alias → primary address)."""
    agents, token = {}, None
    left_out = {} if left_out is None else left_out
    while True:
        kwargs = {"customer": "my_customer", "maxResults": PAGE_SIZE, "orderBy": "email", "projection": "full"}
        if query:
            kwargs["query"] = query
        if token:
            kwargs["pageToken"] = token
        page = _page(service, kwargs)
        for user in page.get("users", []):
            email = canonical_address(user["primaryEmail"])  # as the config reads it: an IDN domain in A-labels
            if aliases is not None:
                for alias in (*user.get("aliases", ()), *user.get("nonEditableAliases", ())):
                    aliases[canonical_address(alias)] = email
            entry, why = _agent(user)
            if why:
                left_out[email] = why
            else:
                agents[email] = entry
        token = page.get("nextPageToken")
        if not token:
            return agents


def _agent(user: dict) -> tuple[dict, str]:
    """(the agent's entry, "") for a directory user, or ({}, why they are no agent)."""
    if user.get("suspended") or user.get("archived"):
        return {}, "suspended in the directory" if user.get("suspended") else "archived in the directory"
    if user.get("isMailboxSetup") is False:  # no Gmail licence, or not provisioned yet: cannot answer a ticket
        return {}, ("no Gmail mailbox yet (a Gmail licence, or a new user's mailbox not set up yet); "
                    "run agents sync again once they can sign in to Gmail")
    name = user.get("name") or {}
    first, last = (name.get("givenName") or "").strip(), (name.get("familyName") or "").strip()
    if not first or not last:  # never sign with half a name
        return {}, f"no {'first' if not first else 'last'} name in the directory (fill it in the Admin console)"
    entry = {"first_name": first, "last_name": last}
    titled = [o for o in user.get("organizations") or [] if isinstance(o, dict) and (o.get("title") or "").strip()]
    primary = [o for o in titled if o.get("primary")]  # the primary organisation's title, else the first one's
    title = (primary or titled)[0]["title"].strip() if titled else ""
    if title:
        entry["title"] = title
    return entry, ""


def without_the_mailbox(found: dict, left_out: dict, addresses) -> dict:
    """``found`` less the support mailbox (its address and aliases are directory users too, not agents)."""
    ours = {canonical_address(address) for address in addresses}
    for email in ours & set(found):
        left_out[email] = "the support mailbox itself"
    return {email: entry for email, entry in found.items() if email not in ours}


GONE = ("suspended in the directory", "archived in the directory")  # what makes a configured agent one who left


def not_listed(query: str) -> str:
    return f"not listed by the directory (query {query!r})" if query else "not listed by the directory"


def roster_changes(found: dict, left_out: dict, configured: dict, query: str,
                   aliases: dict | None = None, local_root: str = "") -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(agents who left: email → why, agents back: email → why, what the admin is told about the others) from
    one complete read of the directory. An agent left when the directory lists them suspended or archived, or
    does not list them although it lists other users of their domain (deleted, or moved out of the query's unit);
    an address at a domain it lists nobody of (a contractor's) is not its to judge. A read that lists none of
    the active agents (a query naming another unit, most likely) marks none of those it does not list.
    ``local_root``: the local mailbox read instead of Google's directory (it has no directory_admin)."""
    if not found and not left_out:  # a mistyped unit, most likely: not a reason to call every agent gone
        if local_root and not query:
            return {}, {}, [f"the local mailbox at {local_root} lists no directory users: start it with --seed sample "
                            "(the sample team), or add users with LocalMailbox.add_directory_user"]
        asked = f"for the query {query!r}: check directory_query or --query" if query else (
            "in the Workspace account: check that directory_admin's account is the support team's")
        return {}, {}, [f"the directory lists nobody {asked}"]
    agents = {canonical_address(email): agent for email, agent in configured.items()}
    lines = [f"not added {email}: {why}" for email, why in sorted(left_out.items()) if email not in agents]
    domains = {email.rsplit("@", 1)[-1] for email in (*found, *left_out)}
    left, back = {}, {}
    for email, agent in sorted(agents.items()):
        if email in found:
            if not agent.active:
                back[email] = "listed by the directory"
            continue
        if email in (aliases or {}) and email not in left_out:
            lines.append(f"still in [agents] {email}: an alias of {aliases[email]} in the directory")
        elif left_out.get(email) in GONE or (email not in left_out and email.rsplit("@", 1)[-1] in domains):
            if agent.active:
                left[email] = left_out.get(email, not_listed(query))
        elif email not in left_out:
            lines.append(f"still in [agents] {email}: the directory lists nobody at {email.rsplit('@', 1)[-1]}; "
                         "set active = false by hand if they left")
        else:
            lines.append(f"still in [agents] {email}: {left_out[email].split(' (fill', 1)[0]}")
    unlisted = [email for email, why in left.items() if why not in GONE]
    if unlisted and not set(found) & {email for email, agent in agents.items() if agent.active}:
        asked = f"for the query {query!r}" if query else "in the Workspace account"
        lines.append(f"the directory lists none of the active agents in [agents] {asked}: the {len(unlisted)} it "
                     "does not list were not marked inactive; check directory_query or --query")
        left = {email: why for email, why in left.items() if why in GONE}
    return left, back, lines


def _page(service, kwargs: dict) -> dict:
    """One page of users.list; Google's refusals as a :class:`DirectoryError` that says what to fix."""
    from google.auth.exceptions import RefreshError, TransportError
    from googleapiclient.errors import HttpError

    from plugin_host.refusals import API_DISABLED, explain, reasons, token_error

    try:
        return service.users().list(**kwargs).execute(num_retries=RETRIES)
    except HttpError as exc:
        if reasons(exc) & API_DISABLED:  # the Admin SDK API not enabled in the project: no admin's rights help
            raise DirectoryError(f"{explain(exc, 'admin').advice}; nothing was written") from None
        raise DirectoryError(_explained(exc, kwargs.get("query", ""))) from None
    except RefreshError as exc:
        if token_error(exc)[0] == "invalid_grant":  # the key deleted, the clock off: no scope helps
            credentials = getattr(getattr(service, "_http", None), "credentials", None)
            raise DirectoryError(f"{explain(exc, 'admin', credentials).advice}; nothing was written") from None
        # the service account may not act as directory_admin with this scope
        raise DirectoryError(f"Google refused the service account's token ({exc.args[0] if exc.args else exc}): in "
                             "the Admin console, Security > API controls > Domain-wide delegation, give its client ID "
                             f"(client_id in the [mailbox] credentials file) the scope {SCOPE}, and check that "
                             "directory_admin is a user of the account; nothing was written") from None
    except (OSError, ConnectionError, TransportError) as exc:
        raise DirectoryError(f"cannot reach Google ({exc}): check the network and run agents sync again; nothing "
                             "was written") from None


def _explained(exc, query: str) -> str:
    status = int(exc.resp.status)
    said = f"the directory answered {status} {exc.reason or ''}".rstrip()
    if status in (401, 403):
        return (f"{said}: directory_admin must be a Workspace admin allowed to read users (and the service account "
                f"needs domain-wide delegation for {SCOPE}); fix [plugins.autoreply] directory_admin and run agents "
                "sync again; nothing was written")
    if status == 400:
        asked = f"the query {query!r}" if query else "the request"
        return (f"{said}: Google refused {asked}; fix directory_query or --query (Admin SDK user search, e.g. "
                "orgUnitPath=/Support or orgUnitPath='/Support Team'); nothing was written")
    if status == 404:
        return (f"{said}: the Workspace account was not found: directory_admin must be a user of the account; "
                "nothing was written")
    return (f"{said} after {RETRIES + 1} tries: Google's directory is unavailable for now; run agents sync again "
            "later; nothing was written")


def new_agents(text: str, found: dict[str, dict]) -> dict[str, dict]:
    """The agents of ``found`` that the config file's text does not have yet (what a sync adds)."""
    configured = {canonical_address(email) for email in tomllib.loads(text).get("agents", {})}
    return {email: entry for email, entry in found.items() if canonical_address(email) not in configured}


class ConfigNotWritten(LabeldeskError):
    """Agents could not be added to or marked in labeldesk.toml as it is written; the file was left as it was."""


def merge_into_config(path: Path, found: dict[str, dict]) -> tuple[int, int]:
    """Add new agents to the config file; returns (added, already there). See :func:`update_config`."""
    return update_config(path, found, {})


def mark_active(path: Path, changes: dict[str, bool]) -> None:
    """Set each agent's ``active`` flag (email → True / False) in the config file. See :func:`update_config`."""
    update_config(path, {}, changes)


def update_config(path: Path, found: dict[str, dict], changes: dict[str, bool]) -> tuple[int, int]:
    """Add the new agents of ``found`` and set the ``active`` flags of ``changes`` in the config file, in one
    write; returns (added, already there). Each new agent is one line under ``[agents]`` (or one
    ``agents."…" = {…}`` line beside the admin's own dotted keys); ``active = false`` is added to an agent's
    one-line table or under its ``[agents."…"]`` header, and taken out again for True. The rest of the file (the
    admin's comments, order, line endings, a byte order mark) stays as it was. Every edit must read back as the
    old settings with that change alone, else :class:`ConfigNotWritten` says what to do by hand and nothing is
    written. The file is replaced atomically with its own mode: a full disk or a crash leaves the old one whole."""
    from plugin_host.files import replace_file

    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    text, added = _with_new_agents(path, text, "\r\n" if b"\r\n" in raw else "\n", found)
    for email, active in changes.items():
        text = _with_flag(path, text, email, active)
    if added or changes:
        replace_file(path, text.encode("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"))
    return added, len(found) - added


def _with_new_agents(path: Path, text: str, end: str, found: dict[str, dict]) -> tuple[str, int]:
    """``text`` with the agents of ``found`` it lacks added (``end``: the file's own line ends, as Notepad writes
    CRLF), and how many were added."""
    new = new_agents(text, found)
    if not new:
        return text, 0
    lines = [f"{_quoted(email)} = {{ {', '.join(f'{k} = {_quoted(v)}' for k, v in entry.items())} }}{end}"
             for email, entry in new.items()]
    if text and not text.endswith("\n"):  # the last line ended too ("[agents]" may be it)
        text += end
    expected = tomllib.loads(text)
    expected["agents"] = {**expected.get("agents", {}), **new}
    for candidate in _placements(text, lines, end):
        try:
            if tomllib.loads(candidate) == expected:  # what was written must read back, and mean what it should
                return candidate, len(new)
        except tomllib.TOMLDecodeError:
            continue
    raise ConfigNotWritten(f"cannot add agents to {path} as its [agents] is written (an inline table?); nothing was "
                           f"written: add these lines under [agents] by hand:\n" + "".join(lines).rstrip())


def _placements(text: str, lines: list[str], end: str):
    """Where the new agents' lines may go, most likely first: under an ``[agents]`` line (one inside a
    multi-line string reads back wrong and is passed over), beside ``agents."…" = `` dotted keys, or at the end."""
    for header in re.finditer(r"^[ \t]*\[[ \t]*agents[ \t]*\][ \t]*(#[^\r\n]*)?\r?\n", text, re.M):
        yield text[:header.end()] + "".join(lines) + text[header.end():]
    for dotted in reversed(list(re.finditer(r"^[ \t]*agents[ \t]*\.[^\n]*\n", text, re.M))):  # after the last
        yield text[:dotted.end()] + "".join("agents." + line for line in lines) + text[dotted.end():]
    yield text + f"{end}[agents]{end}" + "".join(lines)


def _with_flag(path: Path, text: str, email: str, active: bool) -> str:
    """``text`` with one agent's ``active`` flag set; the one candidate edit that reads back as that change alone."""
    expected = tomllib.loads(text)
    key = next(k for k in expected.get("agents", {}) if canonical_address(k) == canonical_address(email))
    entry = expected["agents"][key]
    entry.pop("active", None)
    if not active:
        entry["active"] = False
    for candidate in _flagged(text, active):
        try:
            if tomllib.loads(candidate) == expected:
                return candidate
        except tomllib.TOMLDecodeError:
            continue
    what = "remove its active = false" if active else "add active = false to it"
    raise ConfigNotWritten(f"cannot mark {email} {'active' if active else 'inactive'} in {path} as its "
                           f"[agents] entry is written; nothing was written: {what} by hand")


_ENTRY = re.compile(r"^(?P<head>[ \t]*(agents[ \t]*\.[ \t]*)?(\"[^\"\r\n]*\"|'[^'\r\n]*')[ \t]*=[ \t]*\{)(?P<body>[^\r\n]*?)"
                    r"(?P<tail>\}[ \t]*(#[^\r\n]*)?)$", re.M)
_TABLE = re.compile(r"^[ \t]*\[[ \t]*agents[ \t]*\.[^\r\n]*\][ \t]*(#[^\r\n]*)?(?P<end>\r?\n|$)", re.M)
_FLAG = re.compile(r"[ \t]*,?[ \t]*\bactive[ \t]*=[ \t]*(false|true)[ \t]*(?=,|$)|\bactive[ \t]*=[ \t]*(false|true)[ \t]*,[ \t]*")


def _flagged(text: str, active: bool):
    """The file with one agent's flag changed, for every place it may be written; which one is the agent's is
    decided by reading each back (:func:`mark_active`)."""
    for entry in _ENTRY.finditer(text):
        body = _FLAG.sub("", entry["body"]).rstrip()
        if not active:
            body = f"{body}, active = false " if body.strip() else " active = false "
        else:
            body += " "
        yield text[:entry.start("body")] + body + text[entry.end("body"):]
    for table in _TABLE.finditer(text):
        nxt = re.compile(r"^[ \t]*\[", re.M).search(text, table.end())
        stop = nxt.start() if nxt else len(text)
        inside = re.sub(r"^[ \t]*active[ \t]*=[ \t]*(false|true)[ \t]*(#[^\r\n]*)?(\r?\n|$)", "",
                        text[table.end():stop], flags=re.M)
        end = table["end"] or "\n"
        added = "" if active else f"active = false{end}"
        yield text[:table.end()] + (end if not table["end"] else "") + added + inside + text[stop:]


def owned_open_tickets(client, mailbox, full_name: str, shown: int = 10) -> tuple[int, list[str]]:
    """How many tickets awaiting a reply carry ``Owner/<full_name>`` (at most 500 are counted), and the subject
    and Gmail link of the newest ``shown``: what an agent who left leaves to the team."""
    from urllib.parse import quote

    labels = {label["name"]: label["id"] for label in client.list_labels()}
    prefix = f"{mailbox.label_root}/" if mailbox.label_root else ""
    owner, waiting = labels.get(f"{prefix}Owner/{full_name}"), labels.get(f"{prefix}Awaiting reply")
    if not owner or not waiting:
        return 0, []
    threads = client.list_threads(label_ids=[owner, waiting], max_results=500)
    lines = []
    for ref in threads[:shown]:
        message = client.get_thread(ref["id"], format="metadata")["messages"][0]
        headers = {h["name"].lower(): h["value"] for h in message.get("payload", {}).get("headers", [])}
        url = f"https://mail.google.com/mail/u/{quote(mailbox.address, safe='@')}/#all/{ref['id']}"
        lines.append(f"{headers.get('subject') or '(no subject)'} {url}")
    return len(threads), lines


def _quoted(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's; TOML also refuses DEL, which JSON leaves as it is)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def build_directory(config):
    """The Admin SDK Directory v1 service ``agents sync`` reads: at ``[mailbox] api_root`` when set (a local
    mailbox on this machine needs no credentials), else Google's, as ``directory_admin`` through the service
    account's domain-wide delegation."""
    from googleapiclient.discovery import build

    from plugin_host.config import is_local
    from plugin_host.errors import ConfigError

    root = config.mailbox.api_root or "https://admin.googleapis.com/"
    options = {"static_discovery": True, "cache_discovery": False, "client_options": {"api_endpoint": root}}
    if is_local(config.mailbox.api_root):
        import httplib2

        return build("admin", "directory_v1", http=httplib2.Http(timeout=60), **options)
    settings = config.plugin("autoreply")
    admin = getattr(settings, "directory_admin", "")
    if not config.mailbox.credentials or not admin:
        raise ConfigError("plugins.autoreply.directory_admin",
                          "agents sync needs [mailbox] credentials (a service account with domain-wide delegation) "
                          "and directory_admin = an admin's address")
    from dataclasses import replace

    from plugin_host.auth import credentials_for

    # The key file checked as the mailbox's is (missing, unreadable, not a key: a ConfigError naming it), acting
    # as directory_admin.
    creds = credentials_for(replace(config.mailbox, delegated_user=admin, api_root=""), scopes=[SCOPE])
    return build("admin", "directory_v1", credentials=creds, **options)
