"""Gmail API v1 methods of the local mailbox: one small handler per discovery method.

Each handler takes a :class:`Request` and returns the JSON body Gmail would (None for an empty
204). Paths and method ids come from the shipped discovery document.
"""
from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, make_msgid, parsedate_to_datetime
from typing import Callable

from . import mime
from . import resources as res
from .errors import ApiError
from .store import HISTORY_TYPES, Mailbox


@dataclass
class Request:
    box: Mailbox
    params: dict
    args: dict
    body: bytes
    headers: dict
    app: object
    fields: str | None = None  # the partial-response mask, applied by the app after the handler
    upload_meta: dict | None = None  # the JSON metadata of a completed resumable upload

    def json(self) -> dict:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received.", "parseError") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Invalid JSON payload received.", "parseError")
        return data

    def int_arg(self, name: str, default: int, maximum: int) -> int:
        value = self.args.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except ValueError:
            raise ApiError(400, f"Invalid value for {name}: {value}", "invalidArgument") from None
        if number < 0:
            raise ApiError(400, f"Invalid value for {name}: {value}", "invalidArgument")
        return min(number or default, maximum)

    def list_arg(self, name: str) -> list[str]:
        value = self.args.get(name, [])
        return [value] if isinstance(value, str) else list(value)

    def bool_arg(self, name: str) -> bool:
        return str(self.args.get(name, "false")).lower() == "true"

    def message_upload(self) -> tuple[bytes, dict]:
        """The raw message and JSON metadata from a JSON body or an /upload/ media request."""
        if not self.params.get("_upload"):
            data = self.json()
            message = data.get("message", data) if "message" in data and "raw" not in data else data
            return decode_raw(message.get("raw")), data
        upload_type = self.args.get("uploadType", "media")
        if upload_type == "resumable":
            return self.body, self.upload_meta or {}
        content_type = self.headers.get("content-type", "")
        if upload_type == "multipart" or content_type.startswith("multipart/related"):
            return _split_related(self.body, content_type)
        return self.body, {}


def _split_related(body: bytes, content_type: str) -> tuple[bytes, dict]:
    """The JSON metadata and the message bytes, exactly as sent, of a multipart/related upload."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not found:
        raise ApiError(400, "Multipart upload without a boundary", "invalidArgument")
    delimiter = b"--" + found.group(1).encode()
    parts = [p for p in body.split(delimiter)[1:] if not p.startswith(b"--")]
    contents = []
    for part in parts:
        part = part[2:] if part.startswith(b"\r\n") else part[1:] if part.startswith(b"\n") else part
        content = _after_part_headers(part)
        # The line break before the next delimiter belongs to the delimiter, not to the content.
        contents.append(content[:-2] if content.endswith(b"\r\n") else content[:-1] if content.endswith(b"\n")
                        else content)
    if len(contents) != 2:
        raise ApiError(400, "Multipart upload must have metadata and media parts", "invalidArgument")
    try:
        meta = json.loads(contents[0] or b"{}")
    except ValueError:
        raise ApiError(400, "Invalid JSON payload received.", "parseError") from None
    return contents[1], meta


def _after_part_headers(part: bytes) -> bytes:
    """A multipart part's content: what follows the first empty line. googleapiclient ends its part
    headers with bare LF while the message inside has CRLF lines, so the part's own line ending decides."""
    if part.startswith((b"\r\n", b"\n")):  # no part headers at all
        return part[2:] if part.startswith(b"\r\n") else part[1:]
    found = re.search(rb"\r?\n\r?\n", part)
    return part[found.end():] if found else b""


def decode_raw(value) -> bytes:
    if not value or not isinstance(value, str):
        raise ApiError(400, "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
                       "invalidArgument")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ApiError(400, "Invalid value for ByteString: raw", "invalidArgument") from None


def page(items: list, request: Request, position: Callable[[object], tuple[int, ...]],
         default: int = 100, maximum: int = 500) -> tuple[list, str | None]:
    """One page of ``items`` and the token of the next, like Gmail's: opaque and stable.

    ``position(item)`` grows along the list; the token holds the position of the page's last item,
    so the next page starts right after it even when items were added or removed meanwhile.
    """
    size = request.int_arg("maxResults", default, maximum)
    after = _token_position(request.args.get("pageToken"))
    if after is not None:
        items = [item for item in items if position(item) > after]
    chunk = items[:size]
    return chunk, (_page_token(position(chunk[-1])) if len(items) > size else None)


def _page_token(position: tuple[int, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def _token_position(token: str | None) -> tuple[int, ...] | None:
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        position = None
    if not isinstance(position, list) or not position or not all(type(p) is int for p in position):
        raise ApiError(400, "Invalid pageToken", "invalidArgument")
    return tuple(position)


def newest_first(message) -> tuple[int, int]:
    """A message's position in Gmail's list order (newest first), for page tokens."""
    return -message.internal_date, -int(message.id, 16)


# -- profile, watch -------------------------------------------------------------------------

def get_profile(r: Request):
    box = r.box
    return {"emailAddress": box.email, "messagesTotal": len(box.messages), "threadsTotal": len(box.threads),
            "historyId": str(box.history_id)}


WATCH_DAYS = 7  # Gmail stops pushing this long after users.watch unless it is called again


def watch(r: Request):
    data = r.json()
    topic = data.get("topicName", "")
    if not re.match(r"^projects/[^/]+/topics/[^/]+$", topic or ""):
        raise ApiError(400, "Invalid topicName does not match projects/SOME-PROJECT/topics/SOME-TOPIC",
                       "invalidArgument")
    expiration = int((r.box.clock() + WATCH_DAYS * 86400) * 1000)
    r.box.watch_state = {"topicName": topic, "labelIds": data.get("labelIds", []),
                         "labelFilterBehavior": data.get("labelFilterBehavior") or data.get("labelFilterAction")
                         or "include",
                         "expiration": expiration}
    return {"historyId": str(r.box.history_id), "expiration": str(expiration)}


def stop(r: Request):
    r.box.watch_state = None
    return None


# -- labels --------------------------------------------------------------------------------

def labels_list(r: Request):
    return {"labels": [res.label_resource(r.box, l, with_counts=False) for l in r.box.labels.values()]}


def labels_get(r: Request):
    return res.label_resource(r.box, r.box.get_label(r.params["id"]))


def labels_create(r: Request):
    return res.label_resource(r.box, r.box.create_label(r.json()), with_counts=False)


def labels_patch(r: Request):
    return res.label_resource(r.box, r.box.patch_label(r.params["id"], r.json()), with_counts=False)


def labels_delete(r: Request):
    r.box.delete_label(r.params["id"])
    return None


# -- messages ------------------------------------------------------------------------------

def matching_messages(r: Request) -> list:
    from .searching import select

    return select(r.box, q=r.args.get("q"), label_ids=r.list_arg("labelIds"),
                  include_spam_trash=r.bool_arg("includeSpamTrash"))


def messages_list(r: Request):
    found = matching_messages(r)
    chunk, token = page(found, r, newest_first)
    body = {"resultSizeEstimate": len(found)}
    if chunk:
        body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in chunk]
    if token:
        body["nextPageToken"] = token
    return body


def messages_get(r: Request):
    fmt = res.check_format(r.args.get("format"))
    return res.message_resource(r.box, r.box.get_message(r.params["id"]), fmt, r.list_arg("metadataHeaders"))


def attachments_get(r: Request):
    message = r.box.get_message(r.params["messageId"])
    data = message.parse().attachments.get(r.params["id"])
    if data is None:
        raise ApiError(400, "Invalid attachment token", "invalidArgument")
    return {"size": len(data), "data": base64.urlsafe_b64encode(data).decode()}


def complete_outgoing(raw: bytes, box: Mailbox) -> bytes:
    """Add Message-ID and Date when missing, drop Bcc, and make From the default send-as address when
    it is missing or names an address the mailbox may not send as, as Gmail does on send."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, rest = raw.partition(b"\n\n")
    newline = b"\r\n" if b"\r\n" in head or not head else b"\n"
    fields = _header_fields(head.split(newline) if head else [])
    names = {name for name, _ in fields}
    dropped = {b"bcc"}
    extra = []
    if b"message-id" not in names:
        extra.append(b"Message-ID: " + make_msgid(domain="mail.local.labeldesk").encode())
    if b"date" not in names:
        extra.append(b"Date: " + format_datetime(datetime.now(timezone.utc)).encode())
    if not _may_send_as(box, fields):
        extra.append(b"From: " + box.default_sender().encode())
        dropped.add(b"from")
    kept = [line for name, lines in fields if name not in dropped for line in lines]
    return newline.join(extra + kept) + (sep or newline * 2) + rest


def _header_fields(lines: list[bytes]) -> list[tuple[bytes, list[bytes]]]:
    """Header lines grouped by field, continuation lines with their field: (lower-case name, lines)."""
    fields: list[tuple[bytes, list[bytes]]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1].append(line)
        else:
            fields.append((line.split(b":", 1)[0].strip().lower() if b":" in line else b"", [line]))
    return fields


def _may_send_as(box: Mailbox, fields: list[tuple[bytes, list[bytes]]]) -> bool:
    """True when the From field names only addresses the mailbox may send as."""
    from email.utils import getaddresses

    values = [b" ".join(line.strip() for line in lines).split(b":", 1)[1] for name, lines in fields if name == b"from"]
    addresses = [a for _, a in getaddresses([v.decode("utf-8", "replace") for v in values])]
    return bool(addresses) and all(box.may_send_as(a) for a in addresses)


def messages_send(r: Request):
    raw, meta = r.message_upload()
    return send_message(r.box, raw, meta.get("threadId"))


def send_message(box: Mailbox, raw: bytes, thread_id: str | None) -> dict:
    """What messages.send and drafts.send share: complete the headers, refuse a message to nobody,
    file it as SENT (and in the INBOX too when it is addressed to the mailbox itself)."""
    recipients = _recipients(raw)  # To, Cc and Bcc, read before Bcc is dropped
    raw = complete_outgoing(raw, box)
    message = box.add_message(raw, ["SENT"], thread_id=thread_id, explicit_thread=True)
    if box.email.lower() in recipients:
        box.modify([message.id], ["INBOX", "UNREAD"], [])
    return {"id": message.id, "threadId": message.thread_id, "labelIds": sorted(message.label_ids)}


def _recipients(raw: bytes) -> set[str]:
    """The lower-cased addresses of To, Cc and Bcc. Like Gmail: a message to nobody, or to something that
    is not an address, is not sent."""
    from email.utils import getaddresses

    parsed = mime.parse_raw(raw)
    # An empty group ("undisclosed-recipients:;") names nobody, and is no mistake either.
    addresses = [a for _, a in getaddresses([f for f in (parsed.to, parsed.cc, parsed.bcc) if f]) if a]
    if not addresses:
        raise ApiError(400, "Recipient address required", "invalidArgument")
    if any("@" not in a or " " in a.strip() for a in addresses):
        raise ApiError(400, "Invalid To header", "invalidArgument")
    return {a.lower() for a in addresses}


def _date_header_ms(raw: bytes) -> int | None:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    try:
        value = parsedate_to_datetime(msg.get("Date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        value = value.astimezone(timezone.utc)  # "31 Dec 9999 23:59:59 -1200" is in year 10000: no date
    except OverflowError:
        return None
    return int(value.timestamp() * 1000)


def _store_received(r: Request, default_source: str):
    raw, meta = r.message_upload()
    source = r.args.get("internalDateSource", default_source)
    internal = _date_header_ms(raw) if source == "dateHeader" else None
    labels = meta.get("labelIds", [])
    if r.bool_arg("deleted"):
        labels = []
    parsed = mime.parse_raw(raw) if raw else None
    kept = r.box.received_copy(parsed) if parsed else None
    if kept is not None:  # Gmail keeps one copy per Message-ID: a later one is dropped, the first stays as it is
        return {"id": kept.id, "threadId": kept.thread_id, "labelIds": sorted(kept.label_ids)}
    message = r.box.add_message(raw, labels, thread_id=meta.get("threadId"), internal_date=internal,
                                explicit_thread=False, parsed=parsed)  # received mail: threaded by its headers too
    return {"id": message.id, "threadId": message.thread_id, "labelIds": sorted(message.label_ids)}


def messages_insert(r: Request):
    return _store_received(r, "receivedTime")


def messages_import(r: Request):
    return _store_received(r, "dateHeader")


def messages_modify(r: Request):
    data = r.json()
    r.box.modify([r.params["id"]], data.get("addLabelIds", []), data.get("removeLabelIds", []))
    return res.message_resource(r.box, r.box.get_message(r.params["id"]), "minimal")


def messages_batch_modify(r: Request):
    data = r.json()
    ids = data.get("ids", [])
    if len(ids) > 1000:
        raise ApiError(400, "Too many messages: at most 1000 ids per batchModify", "invalidArgument")
    r.box.modify(ids, data.get("addLabelIds", []), data.get("removeLabelIds", []))
    return None


def messages_batch_delete(r: Request):
    """Like Gmail, no guarantee that the messages existed: ids of no (or no longer a) message are passed over."""
    ids = r.json().get("ids", [])
    if len(ids) > 1000:
        raise ApiError(400, "Too many messages: at most 1000 ids per batchDelete", "invalidArgument")
    with r.box.lock:
        r.box.delete([i for i in dict.fromkeys(ids) if i in r.box.messages])
    return None


def messages_trash(r: Request):
    r.box.trash([r.params["id"]], True)
    return res.message_resource(r.box, r.box.get_message(r.params["id"]), "minimal")


def messages_untrash(r: Request):
    r.box.trash([r.params["id"]], False)
    return res.message_resource(r.box, r.box.get_message(r.params["id"]), "minimal")


def messages_delete(r: Request):
    r.box.delete([r.params["id"]])
    return None


# -- threads -------------------------------------------------------------------------------

def threads_list(r: Request):
    newest: dict[str, tuple[int, int]] = {}  # thread id -> position of its newest matching message
    for message in matching_messages(r):
        newest.setdefault(message.thread_id, newest_first(message))
    thread_ids = list(newest)
    chunk, token = page(thread_ids, r, newest.__getitem__)
    body = {"resultSizeEstimate": len(thread_ids)}
    if chunk:
        body["threads"] = [res.thread_summary(r.box, t) for t in chunk]
    if token:
        body["nextPageToken"] = token
    return body


def threads_get(r: Request):
    fmt = res.check_format(r.args.get("format"), allow_raw=False)
    return res.thread_resource(r.box, r.params["id"], fmt, r.list_arg("metadataHeaders"))


def threads_modify(r: Request):
    """Change the labels of every message of the thread but its drafts, which keep only DRAFT (as in Gmail)."""
    data = r.json()
    ids = [m.id for m in r.box.thread_messages(r.params["id"]) if "DRAFT" not in m.label_ids]
    r.box.modify(ids, data.get("addLabelIds", []), data.get("removeLabelIds", []))
    return res.thread_resource(r.box, r.params["id"], "minimal")


def threads_trash(r: Request):
    r.box.trash([m.id for m in r.box.thread_messages(r.params["id"])], True)
    return res.thread_resource(r.box, r.params["id"], "minimal")


def threads_untrash(r: Request):
    r.box.trash([m.id for m in r.box.thread_messages(r.params["id"])], False)
    return res.thread_resource(r.box, r.params["id"], "minimal")


def threads_delete(r: Request):
    r.box.delete([m.id for m in r.box.thread_messages(r.params["id"])])
    return None


# -- drafts --------------------------------------------------------------------------------

def drafts_create(r: Request):
    raw, meta = r.message_upload()
    thread_id = (meta.get("message") or {}).get("threadId") or meta.get("threadId")
    draft_id, _ = r.box.create_draft(raw, thread_id)
    return res.draft_resource(r.box, draft_id, "minimal")


def drafts_get(r: Request):
    fmt = res.check_format(r.args.get("format"))
    return res.draft_resource(r.box, r.params["id"], fmt)


def drafts_list(r: Request):
    """Drafts newest first; ``q`` (and ``includeSpamTrash``) select them like messages.list does."""
    def position(draft: tuple[str, str]) -> tuple[int, int]:
        return newest_first(r.box.messages[draft[1]])

    found = {m.id for m in matching_messages(r)}
    drafts = sorted(((d, m) for d, m in r.box.drafts.items() if m in found), key=position)
    chunk, token = page(drafts, r, position)
    body = {"resultSizeEstimate": len(drafts)}
    if chunk:
        body["drafts"] = [{"id": d, "message": {"id": m, "threadId": r.box.messages[m].thread_id}}
                          for d, m in chunk]
    if token:
        body["nextPageToken"] = token
    return body


def drafts_update(r: Request):
    raw, meta = r.message_upload()
    thread_id = (meta.get("message") or {}).get("threadId")
    r.box.update_draft(r.params["id"], raw, thread_id)
    return res.draft_resource(r.box, r.params["id"], "minimal")


def drafts_send(r: Request):
    """Send a draft as it is, or with the new message supplied (JSON ``message.raw`` or a media upload).

    The sent message is a new message (new id, SENT); the draft goes only once the send succeeded.
    """
    raw, meta = _draft_to_send(r)
    draft_id = meta.get("id")
    if not draft_id:
        raise ApiError(400, "Invalid draft id", "invalidArgument")
    box = r.box
    with box.lock:
        draft = box.get_draft(draft_id)
        if raw is None:
            raw, thread_id = draft.raw, draft.thread_id
        else:
            thread_id = (meta.get("message") or {}).get("threadId")
        sent = send_message(box, raw, thread_id)
        box.delete_draft(draft_id)
    return sent


def _draft_to_send(r: Request) -> tuple[bytes | None, dict]:
    """The replacement message (None: send the draft as it is) and the Draft metadata of drafts.send."""
    if r.params.get("_upload"):
        return r.message_upload()
    data = r.json()
    message = data.get("message") or {}
    return (decode_raw(message["raw"]) if message.get("raw") else None), data


def drafts_delete(r: Request):
    r.box.delete_draft(r.params["id"])
    return None


# -- history -------------------------------------------------------------------------------

def history_list(r: Request):
    start = r.args.get("startHistoryId")
    if not start:
        raise ApiError(400, "Missing required parameter: startHistoryId", "invalidArgument")
    try:
        start_id = int(start)
    except ValueError:
        raise ApiError(400, f"Invalid startHistoryId: {start}", "invalidArgument") from None
    box = r.box
    with box.lock:
        if start_id < box.oldest_history_id:
            raise ApiError(404, "Requested entity was not found.", "notFound")
        types = set(r.list_arg("historyTypes")) or set(HISTORY_TYPES)
        unknown = types - set(HISTORY_TYPES)
        if unknown:
            raise ApiError(400, f"Invalid historyTypes: {sorted(unknown)[0]}", "invalidArgument")
        label_id = r.args.get("labelId")
        records = [rec for rec in box.history if rec.id > start_id and rec.kind in types
                   and (not label_id or label_id in rec.message_labels or label_id in rec.label_ids)]
        chunk, token = page(records, r, lambda record: (record.id,))
        body = {"historyId": str(box.history_id)}
        if chunk:
            body["history"] = [res.history_resource(rec) for rec in chunk]
        if token:
            body["nextPageToken"] = token
        return body


# -- settings.sendAs -----------------------------------------------------------------------

SEND_AS_FIELDS = ("displayName", "replyToAddress", "signature", "isDefault", "treatAsAlias")


def send_as_list(r: Request):
    return {"sendAs": list(r.box.send_as.values())}


def _send_as(r: Request) -> dict:
    entry = r.box.send_as.get(r.params["sendAsEmail"].lower()) or r.box.send_as.get(r.params["sendAsEmail"])
    if entry is None:
        raise ApiError(404, "Requested entity was not found.", "notFound")
    return entry


def send_as_get(r: Request):
    return _send_as(r)


def send_as_patch(r: Request):
    entry = _send_as(r)
    data = r.json()
    if data.get("isDefault") not in (None, True):
        raise ApiError(400, "isDefault may only be set to true", "invalidArgument")
    for key in SEND_AS_FIELDS:
        if key in data:
            entry[key] = data[key]
    if data.get("isDefault"):  # exactly one default: the previous one stops being it
        for other in r.box.send_as.values():
            other["isDefault"] = other is entry
    return entry


ROUTES = [
    ("GET", "gmail/v1/users/{userId}/profile", "gmail.users.getProfile", get_profile),
    ("POST", "gmail/v1/users/{userId}/watch", "gmail.users.watch", watch),
    ("POST", "gmail/v1/users/{userId}/stop", "gmail.users.stop", stop),
    ("GET", "gmail/v1/users/{userId}/labels", "gmail.users.labels.list", labels_list),
    ("POST", "gmail/v1/users/{userId}/labels", "gmail.users.labels.create", labels_create),
    ("GET", "gmail/v1/users/{userId}/labels/{id}", "gmail.users.labels.get", labels_get),
    ("PATCH", "gmail/v1/users/{userId}/labels/{id}", "gmail.users.labels.patch", labels_patch),
    ("PUT", "gmail/v1/users/{userId}/labels/{id}", "gmail.users.labels.update", labels_patch),
    ("DELETE", "gmail/v1/users/{userId}/labels/{id}", "gmail.users.labels.delete", labels_delete),
    ("POST", "gmail/v1/users/{userId}/messages/send", "gmail.users.messages.send", messages_send),
    ("POST", "gmail/v1/users/{userId}/messages/import", "gmail.users.messages.import", messages_import),
    ("POST", "gmail/v1/users/{userId}/messages/batchModify", "gmail.users.messages.batchModify",
     messages_batch_modify),
    ("POST", "gmail/v1/users/{userId}/messages/batchDelete", "gmail.users.messages.batchDelete",
     messages_batch_delete),
    ("GET", "gmail/v1/users/{userId}/messages", "gmail.users.messages.list", messages_list),
    ("POST", "gmail/v1/users/{userId}/messages", "gmail.users.messages.insert", messages_insert),
    ("GET", "gmail/v1/users/{userId}/messages/{messageId}/attachments/{id}",
     "gmail.users.messages.attachments.get", attachments_get),
    ("GET", "gmail/v1/users/{userId}/messages/{id}", "gmail.users.messages.get", messages_get),
    ("POST", "gmail/v1/users/{userId}/messages/{id}/modify", "gmail.users.messages.modify", messages_modify),
    ("POST", "gmail/v1/users/{userId}/messages/{id}/trash", "gmail.users.messages.trash", messages_trash),
    ("POST", "gmail/v1/users/{userId}/messages/{id}/untrash", "gmail.users.messages.untrash", messages_untrash),
    ("DELETE", "gmail/v1/users/{userId}/messages/{id}", "gmail.users.messages.delete", messages_delete),
    ("GET", "gmail/v1/users/{userId}/threads", "gmail.users.threads.list", threads_list),
    ("GET", "gmail/v1/users/{userId}/threads/{id}", "gmail.users.threads.get", threads_get),
    ("POST", "gmail/v1/users/{userId}/threads/{id}/modify", "gmail.users.threads.modify", threads_modify),
    ("POST", "gmail/v1/users/{userId}/threads/{id}/trash", "gmail.users.threads.trash", threads_trash),
    ("POST", "gmail/v1/users/{userId}/threads/{id}/untrash", "gmail.users.threads.untrash", threads_untrash),
    ("DELETE", "gmail/v1/users/{userId}/threads/{id}", "gmail.users.threads.delete", threads_delete),
    ("POST", "gmail/v1/users/{userId}/drafts/send", "gmail.users.drafts.send", drafts_send),
    ("GET", "gmail/v1/users/{userId}/drafts", "gmail.users.drafts.list", drafts_list),
    ("POST", "gmail/v1/users/{userId}/drafts", "gmail.users.drafts.create", drafts_create),
    ("GET", "gmail/v1/users/{userId}/drafts/{id}", "gmail.users.drafts.get", drafts_get),
    ("PUT", "gmail/v1/users/{userId}/drafts/{id}", "gmail.users.drafts.update", drafts_update),
    ("DELETE", "gmail/v1/users/{userId}/drafts/{id}", "gmail.users.drafts.delete", drafts_delete),
    ("GET", "gmail/v1/users/{userId}/history", "gmail.users.history.list", history_list),
    ("GET", "gmail/v1/users/{userId}/settings/sendAs", "gmail.users.settings.sendAs.list", send_as_list),
    ("GET", "gmail/v1/users/{userId}/settings/sendAs/{sendAsEmail}", "gmail.users.settings.sendAs.get",
     send_as_get),
    ("PATCH", "gmail/v1/users/{userId}/settings/sendAs/{sendAsEmail}", "gmail.users.settings.sendAs.patch",
     send_as_patch),
]
