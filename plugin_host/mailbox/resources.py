"""Render stored mailbox objects as Gmail and Tasks API resources (the JSON Gmail returns).

Every function here produces exactly the fields of the discovery document's schema: int64 values
as strings, no extra keys. Tests validate them against the shipped discovery documents.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone

from .errors import ApiError
from .store import Mailbox, StoredMessage

FORMATS = ("minimal", "metadata", "full", "raw")


def check_format(fmt: str | None, allow_raw: bool = True) -> str:
    fmt = (fmt or "full").lower()
    if fmt not in FORMATS or (fmt == "raw" and not allow_raw):
        raise ApiError(400, f"Invalid format: {fmt}", "invalidArgument")
    return fmt


def message_resource(box: Mailbox, message: StoredMessage, fmt: str = "full",
                     metadata_headers: list[str] | None = None) -> dict:
    parsed = message.parse()
    body = {"id": message.id, "threadId": message.thread_id, "labelIds": sorted(message.label_ids),
            "snippet": parsed.snippet, "sizeEstimate": parsed.size_estimate,
            "historyId": str(message.history_id), "internalDate": str(message.internal_date)}
    if not body["labelIds"]:
        del body["labelIds"]
    if fmt == "raw":
        import base64

        body["raw"] = base64.urlsafe_b64encode(message.raw).decode("ascii")
    elif fmt == "metadata":
        payload = parsed.payload
        headers = payload.get("headers", [])
        if metadata_headers:
            wanted = {h.lower() for h in metadata_headers}
            headers = [h for h in headers if h["name"].lower() in wanted]
        body["payload"] = {"partId": payload.get("partId", ""), "mimeType": payload.get("mimeType", ""),
                           "filename": payload.get("filename", ""), "headers": copy.deepcopy(headers),
                           "body": {"size": 0}}
    elif fmt == "full":
        body["payload"] = copy.deepcopy(parsed.payload)
    return body


def thread_resource(box: Mailbox, thread_id: str, fmt: str = "full",
                    metadata_headers: list[str] | None = None) -> dict:
    messages = box.thread_messages(thread_id)
    return {"id": thread_id, "historyId": str(max(m.history_id for m in messages)),
            "messages": [message_resource(box, m, fmt, metadata_headers) for m in messages]}


def thread_summary(box: Mailbox, thread_id: str) -> dict:
    messages = box.thread_messages(thread_id)
    return {"id": thread_id, "snippet": messages[-1].parse().snippet,
            "historyId": str(max(m.history_id for m in messages))}


def label_resource(box: Mailbox, label: dict, with_counts: bool = True) -> dict:
    body = dict(label)
    if with_counts:
        body.update(box.label_counts(label["id"]))
    return body


def draft_resource(box: Mailbox, draft_id: str, fmt: str = "full") -> dict:
    return {"id": draft_id, "message": message_resource(box, box.get_draft(draft_id), fmt)}


def history_resource(record) -> dict:
    """One history record as Gmail writes it: ``messages`` (and a deleted message) carry only id and threadId;
    the message of an added message or of a label change also carries its labelIds after the change."""
    ref = {"id": record.message_id, "threadId": record.thread_id}
    full = dict(ref, labelIds=list(record.message_labels)) if record.message_labels else ref
    body = {"id": str(record.id), "messages": [ref]}
    if record.kind == "messageAdded":
        body["messagesAdded"] = [{"message": full}]
    elif record.kind == "messageDeleted":
        body["messagesDeleted"] = [{"message": ref}]
    elif record.kind == "labelAdded":
        body["labelsAdded"] = [{"message": full, "labelIds": list(record.label_ids)}]
    elif record.kind == "labelRemoved":
        body["labelsRemoved"] = [{"message": full, "labelIds": list(record.label_ids)}]
    return body


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(ts * 1000) % 1000:03d}Z"
