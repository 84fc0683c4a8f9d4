"""Deadlines as customers read them: names from CLDR (Babel), the offset of the moment itself."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from plugin_host.datetext import customer_time

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.mark.parametrize("language, text", [
    ("en", "Tuesday, 4 May 2027, 16:59 (Europe/Warsaw, UTC+02:00)"),
    ("ru", "4 мая 2027 г. (вторник), 16:59 (Europe/Warsaw, UTC+02:00)"),
    ("pl", "4 maja 2027 (wtorek), 16:59 (Europe/Warsaw, UTC+02:00)"),
    ("de", "Dienstag, 4. Mai 2027, 16:59 (Europe/Warsaw, UTC+02:00)"),  # an admin-added language: its own date
    ("xx", "Tuesday, 4 May 2027, 16:59 (Europe/Warsaw, UTC+02:00)"),  # unknown to CLDR: English
    ("", "Tuesday, 4 May 2027, 16:59 (Europe/Warsaw, UTC+02:00)"),
])
def test_a_deadline_in_the_customers_language(language, text):
    assert customer_time(datetime(2027, 5, 4, 14, 59, tzinfo=timezone.utc), WARSAW, language) == text


def test_the_offset_is_the_one_of_that_moment_across_a_dst_change():
    winter = customer_time(datetime(2027, 3, 27, 12, 0, tzinfo=timezone.utc), WARSAW, "pl")
    summer = customer_time(datetime(2027, 3, 28, 12, 0, tzinfo=timezone.utc), WARSAW, "pl")
    assert winter == "27 marca 2027 (sobota), 13:00 (Europe/Warsaw, UTC+01:00)"
    assert summer == "28 marca 2027 (niedziela), 14:00 (Europe/Warsaw, UTC+02:00)"
    assert customer_time(datetime(2027, 1, 1, tzinfo=timezone.utc), ZoneInfo("UTC")).endswith("00:00 (UTC)")
