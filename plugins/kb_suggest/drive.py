"""Help articles from a Google Drive folder of Docs (``[plugins.kb_suggest] drive_folder``).

``labeldesk kb index`` lists the folder (and its subfolders, every page of them; shortcuts to Docs and
folders are followed, files in the trash are not; PDFs, Word files and other non-Docs are named in a
note) through the host's Google client and
exports only the Docs whose ``modifiedTime`` changed since the last run, as Markdown (links kept); the texts are kept in
``kb-drive.json`` in the state directory (mode 0600), where suggestions read them: no Drive call is
made while an agent waits. A Doc that cannot be exported is reported and skipped, and its last good
text is kept, so one broken file never empties the knowledge base.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from plugin_host.errors import LabeldeskError
from plugin_host.files import write_private_json
from plugin_host.gmail import DRIVE_DOCUMENT
from plugin_host.language import detect_language
from plugin_host.text import one_line

from .articles import Article

log = logging.getLogger(__name__)
FOLDER_ID = re.compile(r"^[A-Za-z0-9_-]{10,100}$")
CACHE = "kb-drive.json"


def cache_path(state_dir) -> Path:
    return Path(state_dir) / CACHE


def load_cached(state_dir) -> dict:
    """The Docs of the last sync by file id. A damaged copy (a full disk, a hand edit) is read as far as its
    Docs are whole; the others are exported again at the next sync, with a warning naming the file."""
    try:
        data = json.loads(cache_path(state_dir).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        data = None
    documents = data.get("documents") if isinstance(data, dict) else None
    whole = {file_id: doc for file_id, doc in documents.items() if _whole(doc)} if isinstance(documents, dict) else {}
    if not isinstance(documents, dict) or len(whole) < len(documents):
        log.warning("%s is damaged: its Docs are exported again at the next `labeldesk kb index`", cache_path(state_dir))
    return whole


def _whole(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("title"), str) and isinstance(doc.get("body"), str)


def drive_articles(state_dir, public: bool = False) -> list[Article]:
    """The Drive Docs saved by the last sync, as articles (id ``drive/<file id>``). A Doc's link opens it for
    people of the organisation only, so it is the agents' ``link``; it becomes the ``url`` that
    acknowledgements and inserted links give customers only when the admin says the folder is ``public``
    (shared with anyone who has the link)."""
    return [Article(f"drive/{file_id}", doc["title"], doc["body"], doc.get("url", "") if public else "",
                    doc.get("lang", "en"), link=doc.get("url", ""))
            for file_id, doc in sorted(load_cached(state_dir).items(), key=lambda item: item[1]["title"])]


def sync_drive(client, folder_id: str, state_dir, progress=None) -> dict:
    """Bring ``kb-drive.json`` up to date with the folder; returns counts and the Docs that failed."""
    cached = load_cached(state_dir)
    documents, skipped = folder_documents(client, folder_id)
    fresh, exported, failed = {}, 0, []
    for number, document in enumerate(documents, 1):
        document = {**document, "name": one_line(document["name"])}  # for the log and titles: one line, no ESC
        old = cached.get(document["id"])
        if old and old.get("modified") == document.get("modifiedTime") and old.get("title") == document["name"]:
            fresh[document["id"]] = old
        else:
            try:
                text = _export(client, document["id"])
            except LabeldeskError as exc:
                failed.append(f"{document['name']}: {exc}")
                if old:
                    fresh[document["id"]] = old
                continue
            body = _without_title(text, document["name"])
            fresh[document["id"]] = {"title": document["name"], "body": body, "url": document.get("webViewLink", ""),
                                     "lang": detect_language(f"{document['name']}\n{body}"),
                                     "modified": document.get("modifiedTime")}
            exported += 1
        if progress:
            progress(number, len(documents))
    write_private_json(cache_path(state_dir), {"folder": folder_id, "documents": fresh})
    return {"documents": len(fresh), "exported": exported, "removed": len(set(cached) - set(fresh)), "failed": failed,
            "skipped": skipped}


KINDS = {"application/pdf": "a PDF", "application/vnd.google-apps.spreadsheet": "a Google Sheet",
         "application/vnd.google-apps.presentation": "a Google Slides file", "text/plain": "a text file",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a Word file",
         "application/msword": "a Word file", "text/markdown": "a Markdown file"}


def folder_documents(client, folder_id: str) -> tuple[list[dict], list[str]]:
    """(the Docs of the folder tree, notes on the files that are not articles). A shortcut to a Doc counts
    as that Doc (once, however many ways lead to it); a PDF or a Word file is named with what to do."""
    documents, skipped, seen = [], [], set()
    for file in client.drive_folder_files(folder_id):
        name = one_line(file.get("name", ""))
        target = file.get("shortcutDetails") or {}
        if target.get("targetMimeType") == DRIVE_DOCUMENT:
            try:
                file = client.drive_file(target["targetId"])
            except LabeldeskError as exc:
                skipped.append(f"{name}: a shortcut to a Doc that cannot be opened ({exc})")
                continue
            if file.get("trashed"):
                skipped.append(f"{name}: a shortcut to a Doc in the trash; delete the shortcut or restore the Doc")
                continue
        if file.get("mimeType") != DRIVE_DOCUMENT:
            kind = KINDS.get(target.get("targetMimeType") or file.get("mimeType"), f"a {file.get('mimeType')} file")
            skipped.append(f"{name}: {kind}, not a Google Doc; skipped (open it with Google Docs and keep that copy "
                           "in the folder to make it an article)")
        elif file["id"] not in seen:
            seen.add(file["id"])
            documents.append(file)
    return documents, skipped


def _export(client, file_id: str) -> str:
    """The Doc as Markdown, so its links, lists and headings reach "Insert answer"; as plain text when
    Drive refuses the Markdown conversion (400)."""
    try:
        return client.export_document(file_id, "text/markdown")
    except LabeldeskError as exc:
        if getattr(exc, "status", 0) != 400:
            raise
        return client.export_document(file_id, "text/plain")


def _without_title(text: str, title: str) -> str:
    """Docs usually repeat their name as the first line (a heading in Markdown); the article title says it."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    if lines and re.sub(r"^#+\s*", "", lines[0]).strip().strip("*_").strip().lower() == title.strip().lower():
        lines = lines[1:]
    return "\n".join(lines).strip()
