"""``labeldesk kb`` commands meeting what admins get wrong: no articles configured, a broken configuration, a
threshold that is no number, a sitemap that cannot be read, and ``kb gaps`` on a broken configuration."""
from __future__ import annotations

import responses
from click.testing import CliRunner

from plugin_host.cli import get_cli

SITEMAP = "https://help.example.com/sitemap.xml"


def config_file(tmp_path, text):
    path = tmp_path / "labeldesk.toml"
    path.write_text(text)
    return str(path)


def test_kb_index_without_articles_says_which_setting_to_fill(tmp_path):
    config = config_file(tmp_path, '[mailbox]\naddress = "support@example.com"\n[plugins]\nenabled = ["kb_suggest"]\n'
                                   f'[host]\nstate_dir = "{tmp_path / "state"}"\n')
    result = CliRunner().invoke(get_cli(), ["kb", "index", "--config", config])
    assert result.exit_code == 1
    assert "no articles: set [plugins.kb_suggest] articles" in result.output and "drive_folder" in result.output


def test_kb_index_and_gaps_on_a_broken_configuration_name_the_key(tmp_path):
    config = config_file(tmp_path, '[mailbox]\naddress = "not an address"\n')
    for command in (["kb", "index"], ["kb", "gaps"]):
        result = CliRunner().invoke(get_cli(), [*command, "--config", config])
        assert result.exit_code == 1 and result.output.startswith("Error: "), command
        assert "mailbox.address" in result.output, command


def test_kb_search_threshold_that_is_no_number_is_refused(tmp_path):
    result = CliRunner().invoke(get_cli(), ["kb", "search", "refund", "--threshold", "high"])
    assert result.exit_code == 2 and "'high' is not a number; give one between 0 and 1" in result.output


@responses.activate
def test_kb_import_of_a_sitemap_that_cannot_be_read_says_so(tmp_path):
    responses.add("GET", SITEMAP, status=500)
    result = CliRunner().invoke(get_cli(), ["kb", "import", "--sitemap", SITEMAP, "--out", str(tmp_path / "kb")])
    assert result.exit_code == 1 and "cannot read the sitemap:" in result.output and "500" in result.output
