"""Real Gmail client code, run against the local mailbox, sees what it would see against Gmail."""
from __future__ import annotations

import json
import re

import pytest
from googleapiclient.errors import HttpError

from .conftest import b64, deliver, make_email
from .test_mailbox_api import status_of


def discovery_palette(field: str) -> list[str]:
    """The colours the Gmail discovery document lists for ``LabelColor.<field>``."""
    from googleapiclient.discovery_cache import get_static_doc

    schema = json.loads(get_static_doc("gmail", "v1"))["schemas"]["LabelColor"]
    return re.findall(r"#[0-9a-fA-F]{6}", schema["properties"][field]["description"])


def test_every_colour_of_gmails_palette_makes_a_label_colour(gmail):
    labels = gmail.users().labels()
    backgrounds, texts = discovery_palette("backgroundColor"), discovery_palette("textColor")
    # The copy of the document in google-api-python-client: 2.150's lists 103 colours, later ones 114 (the palette
    # grew: #757575 … #083018), which Gmail accepts whichever copy a client holds.
    assert len(backgrounds) > 100
    backgrounds, texts = [*backgrounds, "#d93025", "#083018"], ["#ffffff", "#ffffff", *texts]
    for number, (background, text) in enumerate(zip(backgrounds, reversed(texts))):
        color = {"backgroundColor": background, "textColor": text}
        made = labels.create(userId="me", body={"name": f"Colour {number}", "color": color}).execute()
        assert made["color"] == color
    off_palette = {"backgroundColor": "#d93026", "textColor": "#ffffff"}
    assert status_of(labels.create(userId="me", body={"name": "Off", "color": off_palette})) == 400


def test_history_records_say_the_labels_of_the_messages_they_add_or_relabel(gmail):
    # Gmail's history records carry labelIds on the message of messagesAdded, labelsAdded and labelsRemoved,
    # and push-driven clients read them ("is the new message in INBOX?") without a messages.get.
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    ref = deliver(gmail, make_email(subject="Hi", message_id="<labels@x>"))
    gmail.users().messages().modify(userId="me", id=ref["id"], body={"addLabelIds": ["STARRED"],
                                                                      "removeLabelIds": ["UNREAD"]}).execute()
    gmail.users().messages().delete(userId="me", id=ref["id"]).execute()
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()["history"]
    new_in_inbox = [added["message"]["id"] for record in history for added in record.get("messagesAdded", [])
                    if "INBOX" in added["message"]["labelIds"]]
    assert new_in_inbox == [ref["id"]]
    [starred] = [change for record in history for change in record.get("labelsAdded", [])]
    assert starred["labelIds"] == ["STARRED"] and starred["message"]["labelIds"] == ["INBOX", "STARRED"]
    [read] = [change for record in history for change in record.get("labelsRemoved", [])]
    assert read["labelIds"] == ["UNREAD"] and read["message"]["labelIds"] == ["INBOX", "STARRED"]
    [deleted] = [change["message"] for record in history for change in record.get("messagesDeleted", [])]
    assert deleted == {"id": ref["id"], "threadId": ref["threadId"]}
    assert all(message == {"id": ref["id"], "threadId": ref["threadId"]}
               for record in history for message in record["messages"])


def test_dates_in_search_take_gmails_month_first_form_too(gmail):
    # Gmail's search help gives after:2004/04/16 and after:04/16/2004 (also before:, older:, newer:) as examples.
    from datetime import datetime, timezone

    ids = {}
    for day in (15, 17):
        raw = make_email(subject=f"April {day}", message_id=f"<april{day}@x>",
                         date=datetime(2004, 4, day, 12, tzinfo=timezone.utc))
        ids[day] = gmail.users().messages().import_(userId="me", body={"raw": b64(raw)}).execute()["id"]

    def found(q):
        return [m["id"] for m in gmail.users().messages().list(userId="me", q=q).execute().get("messages", [])]

    assert found("after:04/16/2004") == found("after:2004/04/16") == [ids[17]]
    assert found("before:4/16/2004") == found("older:2004/4/16") == [ids[15]]
    assert status_of(gmail.users().messages().list(userId="me", q="after:16/04/2004")) == 400  # no 16th month


def test_an_id_that_is_no_gmail_id_is_400_and_a_missing_message_404(gmail):
    # Gmail: an id that does not parse as its 64-bit hex id is 400 "Invalid id value"; a well-formed one of no
    # message (deleted, or never there) is 404.
    ref = deliver(gmail, make_email(subject="Ids", message_id="<ids@x>"))
    messages, threads = gmail.users().messages(), gmail.users().threads()
    gmail.users().messages().delete(userId="me", id=ref["id"]).execute()
    for gone in (ref["id"], "abc123", "1"):
        assert status_of(messages.get(userId="me", id=gone)) == 404
        assert status_of(threads.get(userId="me", id=gone)) == 404
    for malformed in ("nosuchmessageid", "ffffffffffffffff", "18c9a1b2c3d4e5f6aa", "<ids@x>"):
        for call in (messages.get(userId="me", id=malformed), threads.get(userId="me", id=malformed),
                     messages.modify(userId="me", id=malformed, body={"addLabelIds": ["STARRED"]}),
                     messages.trash(userId="me", id=malformed)):
            with pytest.raises(HttpError) as info:
                call.execute()
            assert info.value.resp.status == 400
            assert json.loads(info.value.content)["error"]["message"] == "Invalid id value"


def test_a_reserved_label_name_is_gmails_400_and_a_taken_one_409(gmail):
    # Gmail refuses the names of its own labels ("Trash", "Drafts", "Muted", "Archive"…) as 400 "Invalid label name";
    # 409 "Label name exists or conflicts" is for another user label's name.
    labels = gmail.users().labels()
    for reserved in ("Trash", "INBOX", "drafts", "Muted", "Archive", "category_social"):
        with pytest.raises(HttpError) as info:
            labels.create(userId="me", body={"name": reserved}).execute()
        assert info.value.resp.status == 400 and json.loads(info.value.content)["error"]["message"] == "Invalid label name"
    mine = labels.create(userId="me", body={"name": "Helpdesk"}).execute()
    assert status_of(labels.create(userId="me", body={"name": "HELPDESK"})) == 409
    assert status_of(labels.patch(userId="me", id=mine["id"], body={"name": "Spam"})) == 400


def test_the_largest_gmail_id_is_well_formed_and_one_past_it_is_not(gmail):
    messages = gmail.users().messages()
    assert status_of(messages.get(userId="me", id="7fffffffffffffff")) == 404
    assert status_of(messages.get(userId="me", id="8000000000000000")) == 400


def test_a_label_renamed_to_its_own_name_in_another_case_is_no_conflict(gmail):
    labels = gmail.users().labels()
    mine = labels.create(userId="me", body={"name": "Helpdesk/waiting"}).execute()
    assert labels.patch(userId="me", id=mine["id"], body={"name": "Helpdesk/Waiting"}).execute()["name"] == \
        "Helpdesk/Waiting"


def test_a_message_left_with_no_label_has_no_label_ids_in_its_history_record(gmail):
    # Gmail's JSON leaves an empty list out: a client reads labelIds with a default (sync.py does).
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    ref = deliver(gmail, make_email(subject="Bare", message_id="<bare@x>"))
    gmail.users().messages().modify(userId="me", id=ref["id"], body={"removeLabelIds": ["INBOX", "UNREAD"]}).execute()
    history = gmail.users().history().list(userId="me", startHistoryId=start).execute()["history"]
    [removed] = [change for record in history for change in record.get("labelsRemoved", [])]
    assert removed["message"] == {"id": ref["id"], "threadId": ref["threadId"]}


def test_a_month_first_date_takes_slashes_only(gmail):
    assert status_of(gmail.users().messages().list(userId="me", q="after:04-16-2004")) == 400
