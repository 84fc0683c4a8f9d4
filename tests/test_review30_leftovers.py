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


# ------------------------------------------------------------------ an alert slot taken just before a kill

def _in_another_process(state, script: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = (f"import sys; sys.path.insert(0, {str(root)!r})\n"
            "from datetime import datetime, timezone\nfrom plugin_host.alerts import AlertBudget\n"
            f"budget = AlertBudget({str(state)!r}, 1)\nnow = datetime(2026, 11, 23, 13, 20, tzinfo=timezone.utc)\n"
            + script)
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr


def test_an_alert_slot_taken_by_a_process_killed_before_the_send_is_not_kept_by_the_next_process(tmp_path):
    """A process took the hour's last slot and died before its alert went out (kill -9 between the budget's
    write and the send): the next process got nothing sent for up to an hour. The slot was pending; its process
    has ended, so it no longer counts. One that went out (``went_out``) still counts after its process ended."""
    from datetime import datetime, timezone

    from plugin_host.alerts import AlertBudget

    now = datetime(2026, 11, 23, 13, 25, tzinfo=timezone.utc)
    _in_another_process(tmp_path, "assert budget.take(now).granted\nimport os; os._exit(0)  # killed before sending\n")
    budget = AlertBudget(tmp_path, 1)
    assert budget.sent(now) == 0
    slot = budget.take(now)
    assert slot.granted
    assert AlertBudget(tmp_path, 1).sent(now) == 1  # pending and this process runs: it counts for others
    budget.give_back(slot)

    _in_another_process(tmp_path, "budget.went_out(budget.take(now))\n")
    assert budget.sent(now) == 1 and not budget.take(now).granted
