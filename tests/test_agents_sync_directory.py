"""`labeldesk agents sync` end to end, as a Workspace admin runs it: the CLI, the real googleapiclient and the
local mailbox's Admin SDK Directory stand-in (``users.list``) served over HTTP."""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox

from .conftest import served

CONFIG = ('# our desk: keep this comment\n[mailbox]\naddress = "support@example.com"\napi_root = "{root}"\n\n'
          '[agents]\n"anna.kowalska@example.com" = {{ first_name = "Anna", last_name = "Kowalska", title = "Lead" }}\n\n'
          '[plugins]\nenabled = ["autoreply"]\n\n[plugins.autoreply]\ndirectory_query = "orgUnitPath=/Support"\n'
          '# the end of the file\n')


@pytest.fixture
def directory():
    """A local mailbox served on a loopback port: its Workspace directory is what `agents sync` reads."""
    local = LocalMailbox()
    with served(local):
        yield local


def _config(tmp_path, local, text=CONFIG):
    file = tmp_path / "labeldesk.toml"
    file.write_text(text.format(root=local.served_root), encoding="utf-8")
    return file


def _sync(file, *args):
    return CliRunner().invoke(get_cli(), ["agents", "sync", "--config", str(file), *args])


def test_the_directory_stand_in_answers_users_list_as_google_does():
    local = LocalMailbox()
    for n in range(3):
        local.add_directory_user(f"agent{n}@example.com", "Agent", f"Number {n}", orgUnitPath="/Support/L2")
    local.add_directory_user("sales@example.com", "Sam", "Seller", orgUnitPath="/Sales")
    users = local.directory().users()
    page = users.list(domain="example.com", query="orgUnitPath=/Support", maxResults=2, orderBy="email").execute()
    assert page["kind"] == "admin#directory#users" and len(page["users"]) == 2 and page["nextPageToken"]
    rest = users.list(domain="example.com", query="orgUnitPath=/Support", maxResults=2, orderBy="email",
                      pageToken=page["nextPageToken"]).execute()
    assert [u["primaryEmail"] for u in rest["users"]] == ["agent2@example.com"] and "nextPageToken" not in rest
    assert "users" not in users.list(customer="my_customer", query="givenName:Nobody").execute()
    public = users.list(customer="my_customer", viewType="domain_public", query="email:sales*").execute()["users"]
    assert public[0]["name"]["fullName"] == "Sam Seller" and "orgUnitPath" not in public[0]
    from googleapiclient.errors import HttpError

    for bad in ({"domain": "example.com", "query": "department=Support"}, {"query": "isSuspended=false"},
                {"domain": "example.org"}, {"customer": "my_customer", "maxResults": 501}):
        with pytest.raises(HttpError) as raised:
            users.list(**bad).execute()
        assert raised.value.resp.status == 400, bad


def _support_team(local):
    local.add_directory_user("olga.nowak@example.com", "Olga", "Nowak", "Support Engineer", orgUnitPath="/Support")
    local.add_directory_user("anna.kowalska@example.com", "Anna", "Kowalska", "Support Engineer",
                             orgUnitPath="/Support")
    local.add_directory_user("ivan.petrov@example.com", "Иван", "Петров", "Инженер поддержки",
                             orgUnitPath="/Support/L2")
    local.add_directory_user("lukasz@example.com", "Łukasz", "Żółkiewski", orgUnitPath="/Support")
    local.add_directory_user("sam@example.com", "Sam", "Seller", "Sales", orgUnitPath="/Sales")


# 1. `agents sync` against a local mailbox (api_root on this machine) stopped with "agents sync needs [mailbox]
#    credentials": it went to Google's directory whatever api_root said, so it could be tried nowhere but live.
def test_agents_sync_adds_the_support_team_with_full_names_and_titles(tmp_path, directory):
    _support_team(directory)
    file = _config(tmp_path, directory)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert "3 agent(s) added, 1 already configured." in result.output
    agents = load_config(file, environ={}).agents
    assert set(agents) == {"anna.kowalska@example.com", "olga.nowak@example.com", "ivan.petrov@example.com",
                           "lukasz@example.com"}  # the sub-unit /Support/L2 too; Sales not
    assert agents["ivan.petrov@example.com"].full_name == "Иван Петров"
    assert agents["ivan.petrov@example.com"].title == "Инженер поддержки"
    assert agents["lukasz@example.com"].full_name == "Łukasz Żółkiewski" and not agents["lukasz@example.com"].title
    assert agents["anna.kowalska@example.com"].title == "Lead"  # what the admin typed is kept
    text = file.read_text(encoding="utf-8")
    assert text.startswith("# our desk: keep this comment\n") and text.endswith(
        '[plugins.autoreply]\ndirectory_query = "orgUnitPath=/Support"\n# the end of the file\n')
    again = _sync(file)  # running it again changes nothing
    assert again.exit_code == 0 and "0 agent(s) added, 4 already configured." in again.output, again.output
    assert file.read_text(encoding="utf-8") == text


# 2. A directory error was a Python traceback (googleapiclient's HttpError) that said nothing of what to fix.
def test_agents_sync_as_someone_who_is_no_admin_says_what_to_fix(tmp_path, directory):
    _support_team(directory)
    directory.mailbox.directory_denied = True
    file = _config(tmp_path, directory)
    before = file.read_bytes()
    result = _sync(file)
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit, result.output
    assert "403" in result.output and "directory_admin" in result.output and "admin" in result.output
    assert "nothing was written" in result.output and file.read_bytes() == before


def test_agents_sync_with_a_query_google_refuses_names_it(tmp_path, directory):
    _support_team(directory)
    file = _config(tmp_path, directory)
    before = file.read_bytes()
    result = _sync(file, "--query", "department=Support")
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit, result.output
    assert "department=Support" in result.output and "--query" in result.output and "400" in result.output
    assert "Invalid Input" in result.output and file.read_bytes() == before


def test_agents_sync_retries_a_directory_that_fails_for_a_moment(tmp_path, directory, monkeypatch):
    slept = []
    monkeypatch.setattr("googleapiclient.http.time.sleep", slept.append)
    for n in range(7):
        directory.add_directory_user(f"agent{n}@example.com", "Agent", f"Number {n}", orgUnitPath="/Support")
    directory.app.faults.fail_next("directory.users.list", 2, 503)
    file = _config(tmp_path, directory)
    result = _sync(file)
    assert result.exit_code == 0 and "7 agent(s) added" in result.output, result.output
    assert len(slept) == 2


def test_agents_sync_whose_directory_stays_down_writes_nothing(tmp_path, directory, monkeypatch):
    monkeypatch.setattr("googleapiclient.http.time.sleep", lambda seconds: None)
    monkeypatch.setattr("plugins.autoreply.directory.PAGE_SIZE", 2)  # several pages: the last one fails
    for n in range(5):
        directory.add_directory_user(f"agent{n}@example.com", "Agent", f"Number {n}", orgUnitPath="/Support")
    file = _config(tmp_path, directory)
    before = file.read_bytes()
    calls = directory.app.calls

    def fail_the_third_page(method_id, before_call=directory.app.faults.before_call):
        if calls["directory.users.list"] >= 3:
            directory.app.faults.fail_next(method_id, 1, 503)
        before_call(method_id)

    monkeypatch.setattr(directory.app.faults, "before_call", fail_the_third_page)
    result = _sync(file)
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit, result.output
    assert "503" in result.output and "again" in result.output and "nothing was written" in result.output
    assert file.read_bytes() == before


# 3. --dry-run listed every agent the directory found, those already in [agents] too, as if they would be added.
def test_agents_sync_dry_run_shows_who_would_be_added_and_writes_nothing(tmp_path, directory):
    _support_team(directory)
    file = _config(tmp_path, directory)
    before = file.read_bytes()
    result = _sync(file, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "anna.kowalska@example.com" not in result.output  # already configured: nothing to add
    assert "olga.nowak@example.com: Olga Nowak Support Engineer" in result.output
    assert "ivan.petrov@example.com: Иван Петров Инженер поддержки" in result.output
    assert "3 agent(s) would be added, 1 already configured (dry run: nothing written)." in result.output
    assert file.read_bytes() == before


# 4. Users the sync leaves out were left out silently: a colleague with no last name in the directory, or one
#    suspended, never appeared and the admin could not tell why; an agent who left (suspended, archived or gone from
#    the directory) stayed in [agents] with no word about it.
def test_agents_sync_says_whom_it_left_out_and_why(tmp_path, directory):
    _support_team(directory)
    directory.add_directory_user("mono@example.com", "Mono", "", orgUnitPath="/Support")
    directory.add_directory_user("nameless@example.com", None, None, orgUnitPath="/Support")
    directory.add_directory_user("gone@example.com", "Gone", "Away", orgUnitPath="/Support", suspended=True)
    directory.add_directory_user("kept@example.com", "Kept", "Archive", orgUnitPath="/Support", archived=True)
    text = CONFIG.replace('[agents]\n', '[agents]\n"kept@example.com" = {{ first_name = "Kept", last_name = "Archive" }}\n'
                                        '"left@example.com" = {{ first_name = "Left", last_name = "Us" }}\n')
    file = _config(tmp_path, directory, text)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert "3 agent(s) added, 1 already configured." in result.output
    lines = result.output.splitlines()
    assert "not added mono@example.com: no last name in the directory (fill it in the Admin console)" in lines
    assert "not added nameless@example.com: no first name in the directory (fill it in the Admin console)" in lines
    assert "not added gone@example.com: suspended in the directory" in lines
    # agents who left are marked inactive, not removed (tests/test_departed_agents.py)
    assert "marked inactive kept@example.com (Kept Archive): archived in the directory" in lines
    assert ("marked inactive left@example.com (Left Us): not listed by the directory (query 'orgUnitPath=/Support')"
            in lines)
    agents = load_config(file, environ={}).agents
    assert {"kept@example.com", "left@example.com"} <= set(agents) and "mono@example.com" not in agents
    assert not agents["kept@example.com"].active and not agents["left@example.com"].active
    dry = _sync(file, "--dry-run")
    assert "not added gone@example.com: suspended in the directory" in dry.output.splitlines()


# 5. An internationalised domain: the config reads addresses in A-labels, so an agent the admin typed as
#    anna@żółw.pl is anna@xn--w-uga1v8h.pl. agents sync compared the spellings, added her a second time (the
#    config then kept whichever came last: the title the admin typed was lost) and did so again on every run.
def test_agents_sync_on_an_internationalised_domain_adds_nobody_twice(tmp_path, directory):
    directory.add_directory_user("anna@xn--w-uga1v8h.pl", "Anna", "Kowalska", "Support Engineer",
                                 orgUnitPath="/Support")
    directory.add_directory_user("olga@żółw.pl", "Olga", "Nowak", orgUnitPath="/Support")
    directory.add_directory_user("ivan@xn--w-uga1v8h.pl", "Иван", "Петров", orgUnitPath="/Support")
    text = (CONFIG.replace("support@example.com", "wsparcie@żółw.pl")
            .replace('"anna.kowalska@example.com"', '"anna@żółw.pl"'))
    file = _config(tmp_path, directory, text)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert "2 agent(s) added, 1 already configured." in result.output and "still in" not in result.output
    config = load_config(file, environ={})
    assert set(config.agents) == {"anna@xn--w-uga1v8h.pl", "olga@xn--w-uga1v8h.pl", "ivan@xn--w-uga1v8h.pl"}
    assert config.agent("anna@żółw.pl").title == "Lead" and file.read_text(encoding="utf-8").count("anna@") == 1
    written = file.read_text(encoding="utf-8")
    again = _sync(file)
    assert "0 agent(s) added, 3 already configured." in again.output, again.output
    assert file.read_text(encoding="utf-8") == written


# 6. A labeldesk.toml the config reads but written otherwise than "[agents]" + one line per agent: agents as dotted
#    keys (agents."anna@…" = {…}) stopped the sync with TOML's traceback "Cannot declare ('agents',) twice"; a line
#    "[agents]" inside a multi-line string got the new agents written into that string, the admin's text changed
#    and "1 agent(s) added" said although nobody was.
def test_agents_sync_into_agents_written_as_dotted_keys(tmp_path, directory):
    _support_team(directory)
    text = ('agents."anna.kowalska@example.com" = {{ first_name = "Anna", last_name = "Kowalska" }}\n'
            + CONFIG.replace('[agents]\n"anna.kowalska@example.com" = {{ first_name = "Anna", last_name = "Kowalska", '
                             'title = "Lead" }}\n\n', ''))
    file = _config(tmp_path, directory, text)
    assert set(load_config(file, environ={}).agents) == {"anna.kowalska@example.com"}
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert "3 agent(s) added, 1 already configured." in result.output
    assert len(load_config(file, environ={}).agents) == 4
    first, rest = text.format(root=directory.served_root).split("\n", 1)
    written = file.read_text(encoding="utf-8")
    assert written.startswith(first + '\nagents."ivan.petrov@example.com" = ') and written.endswith("\n" + rest)


def test_agents_sync_never_writes_into_a_multi_line_string(tmp_path, directory):
    _support_team(directory)
    text = '[plugins.sla]\nnote = """\n[agents]\nis where agents go\n"""\n' + CONFIG.replace("[mailbox]", "\n[mailbox]")
    file = _config(tmp_path, directory, text.replace("[agents]\n\"anna", "[agents] # our team\n\"anna", 1))
    before = load_config(file, environ={}).plugin_raw
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert "3 agent(s) added, 1 already configured." in result.output
    config = load_config(file, environ={})
    assert len(config.agents) == 4 and config.plugin_raw == before


def test_agents_sync_that_cannot_add_to_the_file_as_written_says_what_to_add(tmp_path, directory):
    _support_team(directory)
    text = ('agents = {{ "anna.kowalska@example.com" = {{ first_name = "Anna", last_name = "Kowalska" }} }}\n'
            + CONFIG.replace('[agents]\n"anna.kowalska@example.com" = {{ first_name = "Anna", last_name = "Kowalska", '
                             'title = "Lead" }}\n\n', ''))
    file = _config(tmp_path, directory, text)
    before = file.read_bytes()
    result = _sync(file)
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit, result.output
    assert "nothing was written" in result.output and "by hand" in result.output
    assert '"olga.nowak@example.com" = { first_name = "Olga", last_name = "Nowak", title = "Support Engineer" }' \
        in result.output
    assert file.read_bytes() == before


# 7. The shared support mailbox is a user of the directory too, often in the support unit: agents sync added
#    support@… ("Support Team") as an agent, so the desk's own address counted as a colleague.
def test_agents_sync_does_not_add_the_support_mailbox_itself(tmp_path, directory):
    _support_team(directory)
    directory.add_directory_user("support@example.com", "Support", "Team", orgUnitPath="/Support",
                                 aliases=["help@example.com"])
    directory.add_directory_user("help@example.com", "Help", "Desk", orgUnitPath="/Support")
    text = CONFIG.replace('address = "support@example.com"\n', 'address = "support@example.com"\n'
                                                                'aliases = ["Help@example.com"]\n')
    file = _config(tmp_path, directory, text)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert "3 agent(s) added, 1 already configured." in result.output
    agents = load_config(file, environ={}).agents
    assert "support@example.com" not in agents and "help@example.com" not in agents
    assert "not added support@example.com: the support mailbox itself" in result.output.splitlines()


# 8. A support address on a secondary domain of the Workspace account (support@help.example.com, the agents'
#    own accounts @example.com): agents sync asked users.list for domain=help.example.com only, found nobody and said
#    "0 agent(s) added". Google recommends customer=my_customer: every domain of the account.
def test_agents_sync_for_a_support_address_on_a_secondary_domain(tmp_path, directory):
    _support_team(directory)
    directory.add_directory_user("support@help.example.com", "Support", "Team", orgUnitPath="/Support")
    directory.add_directory_user("olga@example.pl", "Olga", "Wiśniewska", orgUnitPath="/Support")
    text = CONFIG.replace('address = "support@example.com"', 'address = "support@help.example.com"')
    file = _config(tmp_path, directory, text)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert "4 agent(s) added, 1 already configured." in result.output
    assert "olga@example.pl" in load_config(file, environ={}).agents


def test_agents_sync_reads_every_page_and_query_overrides_directory_query(tmp_path, directory, monkeypatch):
    monkeypatch.setattr("plugins.autoreply.directory.PAGE_SIZE", 2)
    for n in range(7):
        directory.add_directory_user(f"agent{n}@example.com", "Agent", f"Number {n}", orgUnitPath="/Support")
    directory.add_directory_user("sam@example.com", "Sam", "Seller", "Sales", orgUnitPath="/Sales")
    file = _config(tmp_path, directory)
    result = _sync(file)
    assert result.exit_code == 0 and "7 agent(s) added, 0 already configured." in result.output, result.output
    assert directory.app.calls["directory.users.list"] == 4  # 2 + 2 + 2 + 1
    sales = _sync(file, "--query", "orgUnitPath=/Sales")
    assert sales.exit_code == 0 and "1 agent(s) added" in sales.output, sales.output
    assert load_config(file, environ={}).agent("sam@example.com").title == "Sales"


# 9. A query that matches nobody (a unit's name mistyped) said only "0 agent(s) added, 0 already configured."
def test_agents_sync_whose_query_matches_nobody_says_to_check_it(tmp_path, directory):
    _support_team(directory)
    file = _config(tmp_path, directory)
    result = _sync(file, "--query", "orgUnitPath=/Suport")
    assert result.exit_code == 0, result.output
    assert ("the directory lists nobody for the query 'orgUnitPath=/Suport': check directory_query or --query"
            in result.output)


# 10. An agent the admin configured under an alias (anna@, the address she writes from) was called gone: "not
#     listed by the directory ... remove it by hand if they left", though the directory lists her under her primary
#     address (which the add-on knows her by, so the sync adds it).
def test_agents_sync_recognises_an_agent_configured_under_an_alias(tmp_path, directory):
    directory.add_directory_user("anna.kowalska@example.com", "Anna", "Kowalska", orgUnitPath="/Support",
                                 aliases=["anna@example.com"], nonEditableAliases=["anna@example.test-google-a.com"])
    text = CONFIG.replace('"anna.kowalska@example.com" = ', '"Anna@example.com" = ')
    file = _config(tmp_path, directory, text)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert ("still in [agents] anna@example.com: an alias of anna.kowalska@example.com in the directory"
            in result.output.splitlines())
    assert "left" not in result.output and "1 agent(s) added" in result.output


# 11. The service account's key file missing or not a key, Google refusing it a token (domain-wide delegation not
#     granted for the directory's scope) or Google's token service out of reach: each was a Python traceback.
def _workspace_config(tmp_path, key: dict | None):
    if key is not None:
        (tmp_path / "sa.json").write_text(__import__("json").dumps(key), encoding="utf-8")
    file = tmp_path / "labeldesk.toml"
    file.write_text('[mailbox]\naddress = "support@example.com"\ncredentials = "sa.json"\n[plugins]\n'
                    'enabled = ["autoreply"]\n[plugins.autoreply]\ndirectory_admin = "admin@example.com"\n',
                    encoding="utf-8")
    return file


def _key(token_uri: str) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "desk", "private_key_id": "1", "private_key": pem,
            "client_email": "labeldesk@desk.iam.gserviceaccount.com", "client_id": "1234567890",
            "token_uri": token_uri}


def test_agents_sync_with_a_missing_or_broken_key_file_names_it(tmp_path):
    missing = _sync(_workspace_config(tmp_path, None))
    assert missing.exit_code == 1 and missing.exc_info[0] is SystemExit, missing.output
    assert "mailbox.credentials" in missing.output and "does not exist" in missing.output
    broken = _sync(_workspace_config(tmp_path, {"type": "service_account"}))
    assert broken.exit_code == 1 and broken.exc_info[0] is SystemExit, broken.output
    assert "is not a service account key file" in broken.output


def test_agents_sync_refused_a_token_says_to_grant_the_scope(tmp_path, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # google-auth's and googleapiclient's backoff
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    def token_service(environ, start_response):
        return Response('{"error": "unauthorized_client", "error_description": "Client is unauthorized to retrieve '
                        'access tokens using this method, or client not authorized for any of the scopes '
                        'requested."}', status=401, content_type="application/json")(environ, start_response)

    server = make_server("127.0.0.1", 0, token_service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        refused = _sync(_workspace_config(tmp_path, _key(f"http://127.0.0.1:{server.server_port}/token")))
    finally:
        server.shutdown()
        thread.join(10)
    assert refused.exit_code == 1 and refused.exc_info[0] is SystemExit, refused.output
    assert "unauthorized_client" in refused.output and "Domain-wide delegation" in refused.output
    assert "admin.directory.user.readonly" in refused.output and "client_id" in refused.output
    down = _sync(_workspace_config(tmp_path, _key(f"http://127.0.0.1:{server.server_port}/token")))  # closed now
    assert down.exit_code == 1 and down.exc_info[0] is SystemExit, down.output
    assert "cannot reach Google" in down.output and "nothing was written" in down.output


# 12. A job title set by a provisioning tool (an HR sync, the API) on an organisation not marked primary was dropped:
#     the agent came without a title although the directory has one.
def test_agents_sync_takes_a_title_not_marked_primary(tmp_path, directory):
    directory.add_directory_user("olga@example.com", "Olga", "Nowak", orgUnitPath="/Support",
                                 organizations=[{"department": "Support"},
                                                {"title": "Support Engineer", "customType": "", "department": "Desk"}])
    directory.add_directory_user("ivan@example.com", "Ivan", "Petrov", orgUnitPath="/Support",
                                 organizations=[{"title": "Old title"}, {"title": "Team Lead", "primary": True}])
    file = _config(tmp_path, directory)
    assert _sync(file).exit_code == 0
    agents = load_config(file, environ={}).agents
    assert agents["olga@example.com"].title == "Support Engineer" and agents["ivan@example.com"].title == "Team Lead"


# 6. A directory user with no Gmail mailbox (no Gmail licence, or one created minutes ago and not yet set up:
#    isMailboxSetup false) was added as an agent, although they cannot open the support mailbox, answer a ticket
#    or own one. They are left out with the reason, so the admin knows to run the sync again once it is set up.
def test_agents_sync_leaves_out_users_without_a_gmail_mailbox(tmp_path, directory):
    _support_team(directory)
    directory.add_directory_user("new.hire@example.com", "New", "Hire", orgUnitPath="/Support", isMailboxSetup=False)
    file = _config(tmp_path, directory, CONFIG)
    result = _sync(file)
    assert result.exit_code == 0, result.output
    assert ("not added new.hire@example.com: no Gmail mailbox yet (a Gmail licence, or a new user's mailbox not "
            "set up yet); run agents sync again once they can sign in to Gmail") in result.output.splitlines()
    assert "new.hire@example.com" not in load_config(file, environ={}).agents
