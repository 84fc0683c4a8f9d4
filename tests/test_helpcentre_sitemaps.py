"""Sitemaps as help centres serve them, and as they break: gzip-compressed, damaged, not XML, not UTF-8, an
index whose one sitemap fails. ``labeldesk kb import`` says what was wrong, or imports the rest."""
from __future__ import annotations

import gzip

import pytest
import responses
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugins.kb_suggest.helpcentre import import_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
SITEMAP = "https://help.example.com/sitemap.xml"


def urlset(*urls):
    return f'<?xml version="1.0"?><urlset {NS}>' + "".join(f"<url><loc>{u}</loc></url>" for u in urls) + "</urlset>"


def kb_import(tmp_path, sitemap=SITEMAP):
    return CliRunner().invoke(get_cli(), ["kb", "import", "--sitemap", sitemap, "--out", str(tmp_path / "kb")])


@responses.activate
def test_a_gzip_compressed_sitemap_is_read(tmp_path):
    responses.add("GET", SITEMAP + ".gz", body=gzip.compress(urlset("https://help.example.com/a").encode()))
    responses.add("GET", "https://help.example.com/a", body="<main><h1>Refunds</h1><p>Five days.</p></main>")
    result = kb_import(tmp_path, SITEMAP + ".gz")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "kb").iterdir()] == ["a.md"]


@responses.activate
def test_a_damaged_gzip_sitemap_is_named_as_such(tmp_path):
    responses.add("GET", SITEMAP + ".gz", body=gzip.compress(urlset("https://help.example.com/a").encode())[:30])
    result = kb_import(tmp_path, SITEMAP + ".gz")
    assert result.exit_code == 1 and "cannot read the sitemap: sitemap is a damaged gzip file" in result.output


@pytest.mark.parametrize("body", [f"<urlset {NS}><url><loc>https://help.example.com/a</url></urlset>",  # unclosed
                                  "<sm:urlset><sm:url><sm:loc>https://help.example.com/a</sm:loc></sm:url></sm:urlset>"])
@responses.activate
def test_a_sitemap_that_is_broken_xml_says_so(tmp_path, body):
    """Mismatched tags, or a namespace prefix never declared (well-formed to expat, not to a namespace reader)."""
    responses.add("GET", SITEMAP, body=body)
    result = kb_import(tmp_path)
    assert result.exit_code == 1 and "cannot read the sitemap: sitemap is not XML" in result.output


@responses.activate
def test_a_text_sitemap_that_is_not_utf8_says_so(tmp_path):
    responses.add("GET", SITEMAP.replace(".xml", ".txt"), body="https://help.example.com/café\n".encode("latin-1"))
    result = kb_import(tmp_path, SITEMAP.replace(".xml", ".txt"))
    assert result.exit_code == 1 and "sitemap is neither XML nor a UTF-8 list of URLs" in result.output


@responses.activate
def test_an_index_whose_one_sitemap_fails_imports_the_others_and_names_it(tmp_path):
    index = (f'<?xml version="1.0"?><sitemapindex {NS}><sitemap><loc>https://help.example.com/broken.xml</loc>'
             f'</sitemap><sitemap><loc>https://help.example.com/good.xml</loc></sitemap></sitemapindex>')
    responses.add("GET", SITEMAP, body=index)
    responses.add("GET", "https://help.example.com/broken.xml", status=500)
    responses.add("GET", "https://help.example.com/good.xml", body=urlset("https://help.example.com/a"))
    responses.add("GET", "https://help.example.com/a", body="<main><h1>Refunds</h1><p>Five days.</p></main>")
    written, failures = import_sitemap(SITEMAP, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]
    assert failures == ["https://help.example.com/broken.xml (a sitemap): 500 Internal Server Error"]
