"""Help articles from a Google Drive folder of Docs (``[plugins.kb_suggest] drive_folder``).

``labeldesk kb index`` lists the folder (and its subfolders) through the host's Google client and
exports only the Docs whose ``modifiedTime`` changed since the last run, as Markdown (links kept); the texts are kept in
``kb-drive.json`` in the state directory (mode 0600), where suggestions read them: no Drive call is
made while an agent waits. A Doc that cannot be exported is reported and skipped, and its last good
text is kept, so one broken file never empties the knowledge base.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from plugin_host.errors import LabeldeskError
from plugin_host.files import write_private_json
from plugin_host.language import detect_language
from plugin_host.text import one_line

from .articles import Article

FOLDER_ID = re.compile(r"^[A-Za-z0-9_-]{10,100}$")
CACHE = "kb-drive.json"


def cache_path(state_dir) -> Path:
    return Path(state_dir) / CACHE


def load_cached(state_dir) -> dict:
    try:
        data = json.loads(cache_path(state_dir).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data.get("documents", {}) if isinstance(data, dict) else {}


def drive_articles(state_dir) -> list[Article]:
    """The Drive Docs saved by the last sync, as articles (id ``drive/<file id>``)."""
    return [Article(f"drive/{file_id}", doc["title"], doc["body"], doc.get("url", ""), doc.get("lang", "en"))
            for file_id, doc in sorted(load_cached(state_dir).items(), key=lambda item: item[1]["title"])]


def sync_drive(client, folder_id: str, state_dir, progress=None) -> dict:
    """Bring ``kb-drive.json`` up to date with the folder; returns counts and the Docs that failed."""
    cached = load_cached(state_dir)
    documents = client.drive_documents(folder_id)
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
    return {"documents": len(fresh), "exported": exported, "removed": len(set(cached) - set(fresh)), "failed": failed}


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
