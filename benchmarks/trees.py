"""One measurement in a source tree, in a process of its own: this tree, or a baseline worktree (`git worktree add
/tmp/baseN <commit>`), so a benchmark measures both in the same run with the same script."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def measure_in(tree: Path, code: str, *args, isolated: bool = True) -> dict:
    """Run ``code`` (a script whose last line of output is one JSON object) with ``args`` in ``tree``, and return
    that object. ``isolated``: the tree alone on the import path and nothing else of this process's environment."""
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"} if isolated else None
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=tree, check=True, capture_output=True,
                          text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])
