"""A Google Drive folder of Docs as the knowledge base: the local Drive stand-in, incremental sync
through the host's Google client, and `labeldesk kb index` with progress."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from googleapiclient.errors import HttpError

from plugin_host.cli import get_cli
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugins.kb_suggest.drive import drive_articles, sync_drive

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def drive_kb(local: LocalMailbox):
    folder = local.add_folder("Help centre")
    sub = local.add_folder("Billing", parent=folder)
    ids = {
        "refunds": local.add_document("How refunds work", "How refunds work\n# Refunds\nRefunds reach your card "
                                      "within 5 business days.", sub, modified=T0),
        "password": local.add_document("Reset your password", "Use the Forgot password link on the sign-in page.",
                                       folder, modified=T0),
        "ru": local.add_document("Возврат денег", "Деньги возвращаются на карту в течение пяти рабочих дней.",
                                 folder, modified=T0),
    }
    local.add_document("Elsewhere", "Not in the folder.", None, modified=T0)
    return folder, ids


def host_for(tmp_path, local, folder):
    data = {"mailbox": {"address": "support@example.com"},
            "plugins": {"enabled": ["kb_suggest"], "kb_suggest": {"drive_folder": folder}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    return build_host(config, http=local.http), config


def test_local_drive_lists_pages_and_exports_like_drive():
    local = LocalMailbox()
    folder, ids = drive_kb(local)
    drive = local.drive()
    first = drive.files().list(q=f"'{folder}' in parents and trashed = false", pageSize=1,
                               fields="nextPageToken, files(id, name, mimeType)").execute()
    assert len(first["files"]) == 1 and first["nextPageToken"]
    rest = drive.files().list(q=f"'{folder}' in parents and trashed = false", pageSize=10,
                              pageToken=first["nextPageToken"]).execute()
    names = {f["name"] for f in first["files"] + rest["files"]}
    assert names == {"Billing", "Reset your password", "Возврат денег"}
    assert set(rest["files"][0]) == {"kind", "id", "name", "mimeType"}  # Drive's default fields
    text = drive.files().export(fileId=ids["refunds"], mimeType="text/plain").execute()
    assert text.decode("utf-8-sig").startswith("How refunds work\nRefunds\n")
    with pytest.raises(HttpError) as not_a_doc:
        drive.files().export(fileId=folder, mimeType="text/plain").execute()
    assert not_a_doc.value.resp.status == 403
    with pytest.raises(HttpError) as bad_query:
        drive.files().list(q="fullText contains 'refund'").execute()
    assert bad_query.value.resp.status == 400 and "unsupported query clause" in str(bad_query.value)


def test_sync_exports_only_changed_docs_and_keeps_the_last_good_text(tmp_path):
    local = LocalMailbox()
    folder, ids = drive_kb(local)
    host, config = host_for(tmp_path, local, folder)
    state = config.state_path
    first = sync_drive(host.client, folder, state)
    assert first == {"documents": 3, "exported": 3, "removed": 0, "failed": [], "skipped": []}
    articles = {a.title: a for a in drive_articles(state)}
    assert articles["How refunds work"].body.startswith("# Refunds\nRefunds reach")  # repeated title line dropped
    assert articles["Возврат денег"].lang == "ru" and articles["Reset your password"].link.startswith("https://docs.")
    assert articles["Reset your password"].url == ""  # an internal Doc: agents open it, customers never get it
    assert oct((state / "kb-drive.json").stat().st_mode & 0o777) == "0o600"

    local.app.calls.clear()
    assert sync_drive(host.client, folder, state)["exported"] == 0
    assert local.app.calls["drive.files.export"] == 0

    local.update_document(ids["password"], "Passwords are reset from Settings now.", modified=T0 + timedelta(days=1))
    local.update_document(ids["refunds"], "Refunds take 10 days.", modified=T0 + timedelta(days=1))
    host.client.sleep = lambda seconds: None
    local.app.faults.fail_next("drive.files.export", count=6, status=500)  # the first export fails every retry
    result = sync_drive(host.client, folder, state)
    assert result["exported"] == 1 and len(result["failed"]) == 1
    assert result["failed"][0].startswith("Reset your password: mailbox support@example.com: drive.files.export")
    bodies = {a.title: a.body for a in drive_articles(state)}
    assert bodies["Reset your password"] == "Use the Forgot password link on the sign-in page."  # last good text
    assert bodies["How refunds work"] == "Refunds take 10 days."

    local.mailbox.drive_files[ids["ru"]]["trashed"] = True
    assert sync_drive(host.client, folder, state)["removed"] == 1
    assert {a.title for a in drive_articles(state)} == {"How refunds work", "Reset your password"}


def test_kb_index_syncs_drive_then_suggestions_use_the_docs(tmp_path, monkeypatch):
    from plugin_host import runtime
    from plugins.kb_suggest import knowledge_base

    local = LocalMailbox()
    folder, _ = drive_kb(local)
    host, config = host_for(tmp_path, local, folder)
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    config_file = tmp_path / "labeldesk.toml"
    config_file.write_text(f'[mailbox]\naddress = "support@example.com"\n[plugins]\nenabled = ["kb_suggest"]\n'
                           f'[plugins.kb_suggest]\ndrive_folder = "{folder}"\n[host]\nstate_dir = "{tmp_path / "state"}"\n')
    result = CliRunner().invoke(get_cli(), ["kb", "index", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    assert "Drive: 3 Docs, 3 exported" in result.output and "3 articles, 3 new or changed" in result.output
    hits = knowledge_base(config).search("When will my refund reach my card?", "en")
    assert hits and hits[0].article.title == "How refunds work" and hits[0].article.id.startswith("drive/")


def test_drive_folder_setting_is_checked():
    from plugin_host.errors import ConfigError
    from plugins.kb_suggest import validate

    with pytest.raises(ConfigError, match="drive_folder.*folder id"):
        validate({"drive_folder": "https://drive.google.com/drive/folders/x y"})
    assert validate({"drive_folder": "1AbCdEfGhIjKlMnOp"}).drive_folder == "1AbCdEfGhIjKlMnOp"
    assert json.dumps(validate({}).drive_folder) == '""'


def test_serve_keeps_the_drive_copy_fresh_as_a_background_job(tmp_path):
    from plugin_host.scheduler import Scheduler

    local = LocalMailbox()
    folder, ids = drive_kb(local)
    host, config = host_for(tmp_path, local, folder)
    [(every, name, job)] = host.background_jobs()
    assert every == 900 and name == "kb drive sync"
    job()
    assert {a.title for a in drive_articles(config.state_path)} == {"How refunds work", "Reset your password",
                                                                    "Возврат денег"}
    local.update_document(ids["refunds"], "Refunds take 10 days now.", modified=T0 + timedelta(days=2))
    job()
    assert "10 days" in {a.title: a.body for a in drive_articles(config.state_path)}["How refunds work"]
    names = [name for _, _, name in Scheduler(host, feed=None).jobs()]
    assert names == ["poll", "sweep", "watch renewal", "config check", "kb drive sync"]


def test_docs_export_as_markdown_so_inserted_answers_keep_their_links(tmp_path):
    local = LocalMailbox()
    folder = local.add_folder("Help centre")
    doc = local.add_document("Refund form", "# Refund form\nFill in the [refund form](https://example.com/refund) "
                             "and we pay back within **5 days**.\n\n- keep the receipt\n- add the order number",
                             folder, modified=T0)
    host, config = host_for(tmp_path, local, folder)
    sync_drive(host.client, folder, config.state_path)
    article = drive_articles(config.state_path)[0]
    assert "refund form (https://example.com/refund)" in article.answer and "**" not in article.answer
    assert "keep the receipt" in article.answer and not article.body.startswith("# Refund form")
    assert local.app.calls["drive.files.export"] == 1
    # A Drive that refuses the Markdown conversion (400) gets the plain-text export instead.
    local.update_document(doc, "Plain words only.", modified=T0 + timedelta(days=1))
    local.app.faults.fail_next("drive.files.export", count=1, status=400)
    result = sync_drive(host.client, folder, config.state_path)
    assert result["exported"] == 1 and result["failed"] == []
    assert drive_articles(config.state_path)[0].body == "Plain words only."
