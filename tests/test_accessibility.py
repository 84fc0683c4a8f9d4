"""Accessibility of the HTML people see (the demo's add-on preview, the SLA report), checked on the HTML itself.

Each test stands for a rule axe-core flagged in Chromium (benchmarks/a11y.py measures them all with axe) or for
what a screen reader needs beyond it (the language of a customer's text).
"""
from __future__ import annotations

import logging
from html.parser import HTMLParser

import pytest

VOID = {"meta", "input", "br", "hr", "img", "link", "source", "wbr", "col", "area", "base", "embed", "track"}


class Element:
    def __init__(self, tag: str, attrs: dict, parent: "Element | None"):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, attrs, parent, [], ""

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def lang(self) -> str | None:
        """The language a screen reader reads this element's text in (its own lang or the nearest ancestor's)."""
        return next((e.attrs["lang"] for e in (self, *self.ancestors()) if "lang" in e.attrs), None)

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


class Tree(HTMLParser):
    """The page as a tree of elements (the stdlib parser; optional end tags of the templates are all written)."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root
        self.elements: list[Element] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        self.elements.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text += data

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's app, its host and mailbox, synced once for the module."""
    from plugin_host.demo import demo_host
    from plugin_host.sync import ChangeFeed
    from plugin_host.web import create_app

    logging.getLogger("plugins").setLevel(logging.WARNING)
    local, host = demo_host(str(tmp_path_factory.mktemp("a11y") / "state"))
    ChangeFeed(host).sync()
    return local, host, create_app(host, demo=True).test_client()


def ticket_in(demo, language: str):
    local, host, _ = demo
    return next(t for t in map(host.ticket, local.mailbox.threads) if t is not None and t.language == language)


def page(demo, path: str) -> Tree:
    response = demo[2].get(path)
    assert response.status_code == 200, path
    return Tree(response.get_data(as_text=True))


def report_page(demo) -> Tree:
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html

    _, host, _ = demo
    tickets, _ = host.tickets_since(30, 2000)
    return Tree(render_html(compute(tickets, policy_of(host.config), host.config, host.now())))


# -- html-has-lang, and the language of customer text --------------------------------------------------------------


def test_every_page_says_its_language(demo):
    """axe html-has-lang (serious) on every page: a screen reader guessed the language of the whole page."""
    ticket = ticket_in(demo, "en")
    for tree in (page(demo, "/preview/"), page(demo, f"/preview/{ticket.thread_id}"), report_page(demo)):
        assert tree.all("html")[0].attrs.get("lang") == "en"


@pytest.mark.parametrize("language", ["ru", "pl"])
def test_a_customers_text_in_another_language_is_marked_as_such(demo, language):
    """A Russian or Polish subject and message were read aloud with English pronunciation: each now carries the
    customer's language (lang="ru", lang="pl"); the page's own words stay English."""
    ticket = ticket_in(demo, language)
    listed = [a for a in page(demo, "/preview/").all("a") if a.all_text() == ticket.subject]
    assert listed and all(a.lang() == language for a in listed)
    tree = page(demo, f"/preview/{ticket.thread_id}")
    question = ticket.first_customer_message.text.strip()[:30]
    bodies = [e for e in tree.all("div") if question in e.text]
    assert bodies and all(e.lang() == language for e in bodies)
    titles = [e for e in tree.elements if e.tag.startswith("h") and e.all_text() == ticket.subject]
    assert titles and all(e.lang() == language for e in titles)
    assert next(e for e in tree.elements if e.all_text() == "Service level").lang() == "en"


# -- select-name ------------------------------------------------------------------------------------------------


def test_every_select_in_the_side_panel_is_named_by_its_label(demo):
    """axe select-name (critical): "Escalate to" stood beside the team list but was not its label, so a screen
    reader announced an unnamed list box; each select now has an id its label's ``for`` names."""
    for language in ("en", "ru", "pl"):
        tree = page(demo, f"/preview/{ticket_in(demo, language).thread_id}")
        selects = tree.all("select")
        assert selects
        ids = [s.attrs.get("id") for s in selects]
        assert all(ids) and len(set(ids)) == len(ids)
        labels = {label.attrs.get("for"): label.all_text().strip() for label in tree.all("label")}
        assert all(labels.get(i) for i in ids), (ids, labels)
    assert labels[ids[0]] == "Escalate to"


# -- landmark-one-main, region, page-has-heading-one (and heading-order) --------------------------------------------

LANDMARKS = {"main", "nav", "aside", "header", "footer"}


def all_pages(demo):
    yield "ticket list", page(demo, "/preview/")
    for language in ("en", "ru", "pl"):
        yield f"{language} ticket", page(demo, f"/preview/{ticket_in(demo, language).thread_id}")
    yield "SLA report", report_page(demo)


def test_every_page_has_one_main_and_nothing_outside_a_landmark(demo):
    """axe landmark-one-main and region (moderate): the ticket list and the report had no main landmark, so a
    screen reader's "skip to main" and landmark navigation found nothing; now each page has one main, and the
    preview's side panel is a named complementary region."""
    for name, tree in all_pages(demo):
        assert len(tree.all("main")) == 1, name
        body = tree.all("body")[0]
        strays = [e.tag for e in body.children if e.tag not in LANDMARKS]
        assert not strays and not body.text.strip(), (name, strays)
        assert all(a.attrs.get("aria-label") for a in tree.all("aside")), name


def test_every_page_has_one_h1_and_headings_never_skip_a_level(demo):
    """axe page-has-heading-one (moderate): a ticket's page began at an h3 (the side panel's title), so heading
    navigation had no top; now the subject is the h1, the panel's cards h2/h3 and their sections one level down."""
    for name, tree in all_pages(demo):
        levels = [int(e.tag[1]) for e in tree.elements if len(e.tag) == 2 and e.tag[0] == "h" and e.tag[1].isdigit()]
        assert levels.count(1) == 1 and levels[0] == 1, (name, levels)
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), (name, levels)
    ticket = ticket_in(demo, "ru")
    tree = page(demo, f"/preview/{ticket.thread_id}")
    assert [h.all_text() for h in tree.all("h1")] == [ticket.subject]
    assert "Service level" in [h.all_text() for h in tree.all("h3")]


# -- tables with headers ------------------------------------------------------------------------------------------


def columns(row: Element) -> int:
    return sum(int(c.attrs.get("colspan") or 1) for c in row.children if c.tag in ("td", "th"))


def rows_of(table: Element) -> list[Element]:
    found, todo = [], list(table.children)
    while todo:
        node = todo.pop(0)
        if node.tag == "tr":
            found.append(node)
        elif node.tag in ("thead", "tbody", "tfoot"):
            todo = node.children + todo
    return found


def test_every_data_table_has_a_header_row_and_names_its_rows(demo):
    """The report's attainment, label and agent tables and the preview's ticket list had no header cells, so a
    screen reader read "Billing, 3" with nothing saying 3 of what; each table now opens with a row of column
    headers covering every column, and the report's per-priority/label/agent rows are named by a row header."""
    for name, tree in (("ticket list", page(demo, "/preview/")), ("SLA report", report_page(demo))):
        tables = tree.all("table")
        assert tables, name
        for table in tables:
            rows = rows_of(table)
            head, body = rows[0], rows[1:]
            assert head.children and all(c.tag == "th" for c in head.children), name
            assert body and all(columns(r) == columns(head) for r in body), name
    report = report_page(demo)
    for table in report.all("table")[2:]:
        assert all(r.children[0].tag == "th" and r.children[0].attrs.get("scope") == "row" for r in rows_of(table)[1:])
    assert all(bar.attrs.get("aria-hidden") == "true" for bar in report.all("div"))  # the bars repeat the figures


# -- the agent the list is shown for -------------------------------------------------------------------------------


def test_the_agent_the_list_is_for_is_told_not_only_shown_in_bold(demo):
    """The list's agent links told the current agent by bold type alone, which a screen reader does not say; the
    current one now carries aria-current, and only it."""
    _, host, client = demo
    for agent in host.config.agents.values():
        tree = Tree(client.get(f"/preview/?agent={agent.email}").get_data(as_text=True))
        links = [a for a in tree.all("a") if a.attrs.get("href", "").startswith("?agent=")]
        assert [a.all_text() for a in links if a.attrs.get("aria-current") == "true"] == [agent.full_name]


def test_each_articles_buttons_are_told_apart_by_the_article(demo):
    """Every suggested article has the same "Insert link", "Insert answer" and "Open": a screen reader listing the
    panel's buttons read three identical sets. The card gives each button ``altText`` naming its article (the
    visible text first, so the spoken name still contains it), which Gmail reads out and the preview labels."""
    local, host, client = demo
    names = []
    for thread_id in local.mailbox.threads:
        tree = page(demo, f"/preview/{thread_id}")
        controls = [e for e in tree.all("button") + tree.all("a") if e.all_text().strip() in
                    ("Insert link", "Insert answer", "Open")]
        for control in controls:
            name = control.attrs.get("aria-label", "")
            assert name.startswith(control.all_text().strip() + ": "), (control.all_text(), name)
        names = [c.attrs["aria-label"] for c in controls]
        if len(names) >= 6:
            break
    assert len(names) >= 6 and len(set(names)) == len(names)
