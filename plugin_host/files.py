"""Private state files: JSON written atomically with mode 0600 (cursor, knowledge-base caches)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_private_json(path: Path | str, data) -> None:
    """Replace ``path`` with ``data`` as JSON, readable by the owner only, never half-written.

    The temporary file is unique, so two writers (a background rebuild and a CLI command) cannot
    interleave; the last complete write wins.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
