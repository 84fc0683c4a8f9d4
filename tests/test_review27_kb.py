"""kb import's per-page deadline needs a urllib3 that can stop a read (review 27)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path


def test_the_install_brings_the_urllib3_the_page_deadline_needs():
    """A page trickled byte by byte is cut off at MAX_SECONDS by urllib3's HTTPResponse.shutdown(), added in urllib3
    2.3; requests allows urllib3 from 1.21.1, and there _stop_reading found no shutdown and let the read go on, so
    an install that kept an older urllib3 had no deadline. pyproject now asks for urllib3 2.3 or later."""
    data = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    pins = [d for d in data["project"]["dependencies"] if re.match(r"urllib3\b", d)]
    assert pins, "urllib3 is not required at all"
    lowest = re.search(r">=\s*([\d.]+)", pins[0])
    assert lowest and tuple(int(n) for n in lowest.group(1).split(".")) >= (2, 3)


def test_the_installed_urllib3_can_stop_a_read():
    from urllib3.response import HTTPResponse

    assert callable(getattr(HTTPResponse, "shutdown", None))
