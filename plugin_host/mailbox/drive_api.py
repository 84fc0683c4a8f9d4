"""Google Drive API v3 methods of the local mailbox: folders of Google Docs as a help-article source.

Enough of Drive for ``files.list`` (the ``q`` clauses Labeldesk and most tools use: ``'ID' in parents``,
``trashed = true|false``, ``mimeType = | != '…'``, joined by ``and``), ``files.get`` and
``files.export`` of Google Docs to ``text/plain``, ``text/markdown`` or ``text/html``. Documents are
created with :meth:`plugin_host.mailbox.LocalMailbox.add_document` (Drive's own create needs a
multipart upload the product never makes).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .errors import ApiError

FOLDER = "application/vnd.google-apps.folder"
DOCUMENT = "application/vnd.google-apps.document"
EXPORTS = ("text/plain", "text/markdown", "text/html")
FILE_FIELDS = ("kind", "id", "name", "mimeType")  # Drive's default fields when none are asked for
CLAUSE = re.compile(r"""^\s*(?:'(?P<parent>[^']+)'\s+in\s+parents|trashed\s*(?P<top>=|!=)\s*(?P<trashed>true|false)"""
                    r"""|mimeType\s*(?P<mop>=|!=)\s*'(?P<mime>[^']+)'|name\s*=\s*'(?P<name>[^']*)')\s*$""", re.I)


@dataclass(frozen=True)
class Media:
    """A download answer (``alt=media``, exports): raw bytes and their content type."""

    content: bytes
    content_type: str


def _matcher(q: str):
    tests = []
    for clause in re.split(r"\s+and\s+", q.strip(), flags=re.I) if q.strip() else []:
        found = CLAUSE.match(clause)
        if not found:
            raise ApiError(400, f"Invalid Value: unsupported query clause {clause.strip()!r}", "invalid")
        g = found.groupdict()
        if g["parent"]:
            tests.append(lambda f, p=g["parent"]: p in f["parents"])
        elif g["trashed"]:
            wanted = (g["trashed"].lower() == "true") == (g["top"] == "=")
            tests.append(lambda f, w=wanted: f["trashed"] == w)
        elif g["mime"]:
            equal = g["mop"] == "="
            tests.append(lambda f, m=g["mime"], e=equal: (f["mimeType"] == m) == e)
        else:
            tests.append(lambda f, n=g["name"]: f["name"] == n)
    return lambda f: all(test(f) for test in tests)


def public(file: dict) -> dict:
    return {"kind": "drive#file", **{k: v for k, v in file.items() if k != "content"}}


def files_list(r):
    try:
        size = int(r.args.get("pageSize", 100))
        start = int(r.args.get("pageToken") or 0)
    except ValueError:
        raise ApiError(400, "Invalid Value", "invalid") from None
    if not 1 <= size <= 1000:
        raise ApiError(400, "Invalid Value: pageSize must be between 1 and 1000", "invalid")
    match = _matcher(r.args.get("q", ""))
    found = sorted((f for f in r.box.drive_files.values() if match(f)), key=lambda f: (f["name"], f["id"]))
    page = found[start:start + size]
    out = {"kind": "drive#fileList", "incompleteSearch": False, "files": [public(f) for f in page]}
    if not r.fields:
        out["files"] = [{k: f[k] for k in FILE_FIELDS if k in f} for f in out["files"]]
    if start + size < len(found):
        out["nextPageToken"] = str(start + size)
    return out


def _file(r) -> dict:
    found = r.box.drive_files.get(r.params["fileId"])
    if found is None:
        raise ApiError(404, f"File not found: {r.params['fileId']}.", "notFound")
    return found


def files_get(r):
    file = public(_file(r))
    return file if r.fields else {k: file[k] for k in FILE_FIELDS if k in file}


def files_export(r):
    file = _file(r)
    wanted = r.args.get("mimeType", "")
    if file["mimeType"] != DOCUMENT:
        raise ApiError(403, "Export only supports Docs Editors files.", "fileNotExportable")
    if wanted not in EXPORTS:
        raise ApiError(400, f"The requested conversion is not supported: {wanted or '(none)'}", "badRequest")
    text = file["content"]
    if wanted == "text/html":
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
        text = f"<html><head><title>{html.escape(file['name'])}</title></head><body>{paragraphs}</body></html>"
    elif wanted == "text/plain":
        text = re.sub(r"^#+\s*", "", text, flags=re.M)  # Docs headings export as plain lines
    return Media(("\ufeff" + text).encode("utf-8") if wanted == "text/plain" else text.encode("utf-8"),
                 f"{wanted}; charset=utf-8")


ROUTES = [
    ("GET", "drive/v3/files", "drive.files.list", files_list),
    ("GET", "drive/v3/files/{fileId}", "drive.files.get", files_get),
    ("GET", "drive/v3/files/{fileId}/export", "drive.files.export", files_export),
]
