"""Operational leftovers: the admin's config file written atomically, plugins that are off never stopping
start-up, a stale keep-alive connection costing no retry, the local mailbox's upload sessions expiring."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from plugin_host.config import load_config

FILE = '# our desk: keep this comment\n[mailbox]\naddress = "support@example.com"\n\n[agents]\n' \
       '"anna@example.com" = { first_name = "Anna", last_name = "Kowalska" }\n'


# 1. `labeldesk agents sync` rewrote labeldesk.toml in place: a full disk (or a crash) halfway through the write
#    left the admin a truncated config, and the host would not start again.
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE simulates the full disk")
def test_agents_sync_on_a_full_disk_leaves_the_config_as_it_was(tmp_path):
    file = tmp_path / "labeldesk.toml"
    file.write_text(FILE, encoding="utf-8")
    found = {f"agent{n}@example.com": {"first_name": "Agent", "last_name": f"Number {n}"} for n in range(40)}
    # The child process may write no file beyond len(FILE) + 100 bytes: the disk is full past that point.
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from plugins.autoreply.directory import merge_into_config
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit is then an OSError (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(FILE) + 100}, resource.RLIM_INFINITY))
        try:
            merge_into_config(Path(sys.argv[1]), {found!r})
        except OSError as exc:
            print("failed:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(file)], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)), timeout=60)
    assert "failed:" in done.stdout, done.stdout + done.stderr
    assert file.read_text(encoding="utf-8") == FILE  # the admin's file as it was, not cut off halfway
    assert [p.name for p in tmp_path.iterdir()] == ["labeldesk.toml"]  # no temporary file left behind


def test_agents_sync_keeps_the_files_mode_its_link_and_its_byte_order_mark(tmp_path):
    from plugins.autoreply.directory import merge_into_config

    real = tmp_path / "etc" / "labeldesk.toml"
    real.parent.mkdir()
    real.write_bytes(b"\xef\xbb\xbf" + FILE.encode())
    real.chmod(0o640)  # readable by the service's group, not by everyone
    link = tmp_path / "labeldesk.toml"
    link.symlink_to(real)  # a config managed elsewhere and linked in
    assert merge_into_config(link, {"olga@example.com": {"first_name": "Olga", "last_name": "Nowak"}}) == (1, 0)
    assert link.is_symlink() and (real.stat().st_mode & 0o777) == 0o640
    written = real.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf# our desk: keep this comment\n")
    assert set(load_config(link, environ={}).agents) == {"anna@example.com", "olga@example.com"}
    assert sorted(p.name for p in real.parent.iterdir()) == ["labeldesk.toml"]


def test_agents_sync_that_cannot_write_says_so_and_leaves_the_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from plugin_host.cli import get_cli
    from plugins.autoreply import directory

    file = tmp_path / "labeldesk.toml"
    file.write_text(FILE, encoding="utf-8")
    monkeypatch.setattr(directory, "build_directory", lambda config: object())
    monkeypatch.setattr(directory, "directory_agents", lambda service, domain, query: {
        "olga@example.com": {"first_name": "Olga", "last_name": "Nowak"}})

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("tempfile.mkstemp", full_disk)
    result = CliRunner().invoke(get_cli(), ["agents", "sync", "--config", str(file)])
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert "left as it was" in result.output and file.read_text(encoding="utf-8") == FILE
