"""Leftovers of the last crash sweep (review 30): temporary files a killed write left in the state folder."""
from __future__ import annotations

import os
import time


# ------------------------------------------------------------------ a state file's write cut short by a kill

def test_a_temporary_file_a_killed_write_left_is_removed_when_the_state_folder_is_opened(tmp_path):
    """write_private_json writes ``.<name>.<random>.tmp`` and renames it; a kill between the two left it in the
    state folder for good. Opening the folder removes ours that are old; a write in progress (a fresh file),
    a link and files not named as ours stay."""
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    old = time.time() - 3600
    left = state / ".cursor.json.k3x_9a0q.tmp"
    left.write_text('{"history_id": "1')  # half a cursor
    in_progress = state / ".alerts-sent.json.ab12cd34.tmp"
    in_progress.write_text("{")
    strangers = [state / "notes.tmp", state / ".notes.tmp", state / "cursor.json.ab12cd34.tmp"]
    for path in strangers:
        path.write_text("not ours")
    link = state / ".webhook-posted.json.zz99yy88.tmp"
    link.symlink_to(tmp_path / "elsewhere")
    for path in [left, *strangers]:
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)

    _, host, _ = make_host(tmp_path)
    ChangeFeed(host)  # opens the state folder (reads the cursor)
    assert not left.exists()
    assert in_progress.exists() and link.is_symlink() and all(path.exists() for path in strangers)
