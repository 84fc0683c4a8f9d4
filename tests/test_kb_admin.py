"""Knowledge-base administration as an admin meets it: a messy Markdown folder, the index file,
feedback across renames, the ``labeldesk kb`` commands, Drive folders and help-centre imports."""
from __future__ import annotations

import logging

from plugins.kb_suggest.articles import load_folder


def write(folder, name: str, text: str | bytes):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def ids(folder) -> list[str]:
    return [a.id for a in load_folder(folder)]


# -- the Markdown folder -------------------------------------------------------------------------------

def test_hidden_files_and_folders_are_not_articles(tmp_path):
    write(tmp_path, "refunds.md", "---\ntitle: Refunds\n---\nRefunds take five days.")
    write(tmp_path, ".git/notes.md", "# Git's own\nnot an article")
    write(tmp_path, ".obsidian/workspace.md", "# Obsidian\nsettings")
    write(tmp_path, "._refunds.md", b"\x00\x05\x16\x07Mac OS X resource fork")
    write(tmp_path, "billing/.draft.md", "# Draft\nnot yet")
    assert ids(tmp_path) == ["refunds"]
