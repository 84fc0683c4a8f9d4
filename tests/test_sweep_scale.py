"""The sweep's Gmail calls grow with open tickets, not with the size of the mailbox."""
from __future__ import annotations

from benchmarks.sweep import measure


def test_sweep_calls_stay_flat_from_100_to_10000_threads():
    small, large = measure(100), measure(10_000)
    assert small["visited"] == large["visited"] == small["open_tickets"]
    assert small["calls_by_method"] == large["calls_by_method"]
    assert small["units"] == large["units"]
