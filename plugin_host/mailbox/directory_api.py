"""Admin SDK Directory API ``users.list`` of the local mailbox: the Workspace directory ``labeldesk agents sync`` reads.

As Google answers it (discovery document ``admin`` ``directory_v1``): ``customer`` (``my_customer`` or the
account's id) or ``domain`` is required; ``maxResults`` 1-500 (default 100) with an opaque ``nextPageToken``;
``orderBy`` email/givenName/familyName and ``sortOrder``; ``projection`` and ``viewType`` (``domain_public``
leaves out what only admins see: suspension, archiving, the organisational unit). ``query`` takes the clauses of
Google's user search the product and admins use: ``orgUnitPath=/Support`` (the unit and the units under it),
``isSuspended=``, ``isArchived=``, ``isAdmin=``, ``email``/``givenName``/``familyName``/``name`` with ``=`` or
``:`` (contains; ``:{prefix}*``), ``orgTitle``, ``orgDepartment`` and a bare word; values with spaces in single
quotes. Anything else is Google's 400 "Invalid Input". Users are added with
:meth:`plugin_host.mailbox.LocalMailbox.add_directory_user`; ``box.directory_denied`` makes the caller someone
who is no admin (Google's 403).
"""
from __future__ import annotations

import base64
import re

from .errors import ApiError

CUSTOMER_ID = "C01local"
ADMIN_ONLY = ("suspended", "suspensionReason", "archived", "orgUnitPath", "isAdmin", "isDelegatedAdmin",
              "isMailboxSetup", "aliases", "nonEditableAliases", "customerId", "lastLoginTime", "creationTime")
CLAUSE = re.compile(r"""(?P<field>\w+)?(?P<op>=|:)?(?:'(?P<quoted>[^']*)'|(?P<bare>[^\s']+))""")
BOOLEAN = {"isSuspended": "suspended", "isArchived": "archived", "isAdmin": "isAdmin"}
TEXT = {"email": None, "givenName": "givenName", "familyName": "familyName", "name": None,
        "orgTitle": "title", "orgDepartment": "department", "orgUnitPath": None}


def _invalid(query: str) -> ApiError:
    return ApiError(400, "Invalid Input", "invalid")


def _clauses(query: str) -> list:
    """``query`` as (field, operator, value) clauses; Google's 400 for what its user search does not take."""
    clauses, position = [], 0
    query = query.strip()
    while position < len(query):
        found = CLAUSE.match(query, position)
        if not found:
            raise _invalid(query)
        field, op = found.group("field"), found.group("op")
        value = found.group("quoted") if found.group("quoted") is not None else found.group("bare")
        if field and not op:  # a bare word
            field, value = None, field + (value or "")
        if field is not None and field not in BOOLEAN and field not in TEXT:
            raise _invalid(query)
        if field in BOOLEAN and (op != "=" or value.lower() not in ("true", "false")):
            raise _invalid(query)
        if field == "orgUnitPath" and (op != "=" or not value.startswith("/")):
            raise _invalid(query)
        clauses.append((field, op, value))
        position = found.end()
        while position < len(query) and query[position].isspace():
            position += 1
    return clauses


def _text_matches(values: list[str], op: str | None, wanted: str) -> bool:
    wanted = wanted.lower()
    if op == "=":
        return any(v.lower() == wanted for v in values)
    if wanted.endswith("*"):
        return any(v.lower().startswith(wanted[:-1]) for v in values)
    return any(wanted in v.lower() for v in values)


def _matches(user: dict, clauses: list) -> bool:
    name = user.get("name", {})
    organizations = user.get("organizations", [])
    for field, op, value in clauses:
        if field in BOOLEAN:
            if bool(user.get(BOOLEAN[field])) != (value.lower() == "true"):
                return False
        elif field == "orgUnitPath":
            unit, wanted = user.get("orgUnitPath", "/").rstrip("/").lower(), value.rstrip("/").lower()
            if unit != wanted and not unit.startswith(wanted + "/"):
                return False
        elif field == "email":
            if not _text_matches([user["primaryEmail"], *user.get("aliases", [])], op, value):
                return False
        elif field == "name":
            if not _text_matches([name.get("fullName", "")], op, value):
                return False
        elif field in ("orgTitle", "orgDepartment"):
            if not _text_matches([o.get(TEXT[field], "") for o in organizations], op, value):
                return False
        elif field:
            if not _text_matches([name.get(TEXT[field], "")], op, value):
                return False
        elif not _text_matches([name.get("givenName", ""), name.get("familyName", ""), user["primaryEmail"]],
                               ":", value + "*"):
            return False
    return True


def _domain(email: str) -> str:
    from plugin_host.ticket import canonical_address

    return canonical_address(email).rpartition("@")[2]


def _token(offset: int, key: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{key}".encode()).decode().rstrip("=")


def _offset(token: str, key: str) -> int:
    try:
        offset, _, made_for = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition(":")
        if made_for != key:
            raise ValueError(token)
        return int(offset)
    except ValueError:
        raise ApiError(400, "Invalid Input: pageToken", "invalid") from None


def users_list(r):
    box, args = r.box, r.args
    if box.directory_denied:
        raise ApiError(403, "Not Authorized to access this resource/api", "forbidden")
    customer, domain = args.get("customer", ""), args.get("domain", "")
    if not customer and not domain:
        raise ApiError(400, "Bad Request", "badRequest")
    if customer and customer not in ("my_customer", CUSTOMER_ID):
        raise ApiError(400, "Bad Request", "badRequest")
    domains = {_domain(u["primaryEmail"]) for u in box.directory_users}
    if domain and _domain("x@" + domain) not in domains:
        raise ApiError(400, "Domain not found.", "badRequest")
    try:
        size = int(args.get("maxResults", 100))
    except ValueError:
        raise ApiError(400, "Invalid Input", "invalid") from None
    if not 1 <= size <= 500:
        raise ApiError(400, "Invalid Input: maxResults", "invalid")
    clauses = _clauses(args.get("query", ""))
    order = args.get("orderBy", "email")
    key = {"email": lambda u: u["primaryEmail"].lower(),
           "givenName": lambda u: u.get("name", {}).get("givenName", "").lower(),
           "familyName": lambda u: u.get("name", {}).get("familyName", "").lower()}.get(order)
    if key is None:
        raise ApiError(400, "Invalid Input: orderBy", "invalid")
    found = sorted((u for u in box.directory_users if (not domain or _domain(u["primaryEmail"]) == _domain("x@" + domain))
                    and _matches(u, clauses)), key=key, reverse=args.get("sortOrder") == "DESCENDING")
    page_key = f"{customer}|{domain}|{args.get('query', '')}|{order}|{args.get('sortOrder', '')}"
    start = _offset(args["pageToken"], page_key) if args.get("pageToken") else 0
    public = args.get("viewType") == "domain_public"
    body = {"kind": "admin#directory#users", "etag": '"local"'}
    users = [_shown(u, public) for u in found[start:start + size]]
    if users:  # Google leaves "users" out of an empty page
        body["users"] = users
    if start + size < len(found):
        body["nextPageToken"] = _token(start + size, page_key)
    return body


def _shown(user: dict, public: bool) -> dict:
    shown = {"kind": "admin#directory#user", "etag": '"local"', **user}
    if public:
        shown = {k: v for k, v in shown.items() if k not in ADMIN_ONLY}
    return shown


def new_user(number: int, email: str, given: str, family: str, **extra) -> dict:
    """A Directory ``User`` as ``users.list`` answers it (``name.fullName`` is Google's given + family)."""
    name = {k: v for k, v in (("givenName", given), ("familyName", family)) if v is not None}
    name["fullName"] = " ".join(v for v in (given, family) if v)
    user = {"id": f"1{number:020d}", "primaryEmail": email, "name": name, "isAdmin": False,
            "isDelegatedAdmin": False, "suspended": False, "archived": False, "orgUnitPath": "/",
            "isMailboxSetup": True, "customerId": CUSTOMER_ID, "includeInGlobalAddressList": True}
    title = extra.pop("title", None)
    if title is not None:
        user["organizations"] = [{"title": title, "primary": True, "customType": ""}]
    user.update({k: v for k, v in extra.items() if v is not None})
    if user.get("suspended"):
        user.setdefault("suspensionReason", "ADMIN")
    return user


ROUTES = [
    ("GET", "admin/directory/v1/users", "directory.users.list", users_list),
]
