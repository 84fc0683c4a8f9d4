"""Real Gmail client code, run against the local mailbox, sees what it would see against Gmail."""
from __future__ import annotations

import json
import re

from .test_mailbox_api import status_of


def discovery_palette(field: str) -> list[str]:
    """The colours the Gmail discovery document lists for ``LabelColor.<field>``."""
    from googleapiclient.discovery_cache import get_static_doc

    schema = json.loads(get_static_doc("gmail", "v1"))["schemas"]["LabelColor"]
    return re.findall(r"#[0-9a-fA-F]{6}", schema["properties"][field]["description"])


def test_every_colour_of_gmails_palette_makes_a_label_colour(gmail):
    labels = gmail.users().labels()
    backgrounds, texts = discovery_palette("backgroundColor"), discovery_palette("textColor")
    assert len(backgrounds) > 100 and "#d93025" in backgrounds  # the palette grew: #757575 … #083018
    for number, (background, text) in enumerate(zip(backgrounds, reversed(texts))):
        color = {"backgroundColor": background, "textColor": text}
        made = labels.create(userId="me", body={"name": f"Colour {number}", "color": color}).execute()
        assert made["color"] == color
    off_palette = {"backgroundColor": "#d93026", "textColor": "#ffffff"}
    assert status_of(labels.create(userId="me", body={"name": "Off", "color": off_palette})) == 400
