"""``labeldesk kb index | search | eval | gaps``."""
from __future__ import annotations

import json
from contextlib import contextmanager

import click

from plugin_host.cli import PERIOD, progress_bar
from plugin_host.text import one_line, readable_url


class Share(click.ParamType):
    """A number from 0 to 1 (a confidence gate); NaN and infinity are not."""

    name = "number from 0 to 1"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number; give one between 0 and 1, e.g. 0.4", param, ctx)
        if not 0 <= number <= 1:  # False for NaN as well
            self.fail(f"{value} is not between 0 and 1 (a confidence gate, e.g. 0.4)", param, ctx)
        return number


def _cell(value) -> str:
    return "n/a" if value is None else str(value)


@contextmanager
def _progress(label: str):
    """A progress bar on stderr (stdout stays for results and --json) fed with ``(done, total)``; it appears
    only when there is work to show, and ends when all is done (so the next bar starts on its own line)."""
    bar, finished = None, False

    def update(done, total):
        nonlocal bar, finished
        if bar is None:
            bar = progress_bar(label, length=total)
            bar.__enter__()
        if not finished:
            bar.update(done - bar.pos)
            if done >= total:
                finished = True
                bar.__exit__(None, None, None)

    try:
        yield update
    finally:
        if bar is not None and not finished:
            bar.__exit__(None, None, None)


def _linkable(hit) -> bool:
    """Whether an acknowledgement could link this article, as plugins/autoreply/acknowledgement.py chooses:
    confident enough for customers, with an https page."""
    return bool(hit.confident and hit.for_customers and str(hit.article.url or "").startswith("https://"))


def register(cli: click.Group) -> None:
    @cli.group("kb")
    def kb():
        """Knowledge base: index articles, try suggestions, measure quality, find gaps."""

    def _config(config_path):
        from plugin_host.config import load_config
        from plugin_host.errors import LabeldeskError

        try:
            return load_config(config_path)
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))

    @kb.command("index")
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    def index(config_path):
        """Sync the Drive folder (if set) and analyse new or changed articles, with progress bars."""
        from . import configured_articles, options
        from .store import update_cache

        config = _config(config_path)
        settings = options(config)
        if settings.drive_folder:
            _sync_drive(config_path, settings.drive_folder, config.state_path)
        articles = configured_articles(settings, config.state_path)
        if not articles:
            raise click.ClickException("no articles: set [plugins.kb_suggest] articles = \"path/to/folder\" "
                                       "or drive_folder = \"<Drive folder id>\"")
        with progress_bar("Indexing articles", length=len(articles)) as bar:
            changed, total = update_cache(config.state_path, articles, progress=lambda n: bar.update(1),
                                          settings=settings, notify=lambda message: click.echo(message, err=True))
        click.echo(f"{total} article{'s' if total != 1 else ''}, {changed} new or changed.")

    def _sync_drive(config_path, folder, state_dir):
        from plugin_host.errors import LabeldeskError
        from plugin_host.runtime import host_from_cli

        from .drive import sync_drive

        try:
            client = host_from_cli(config_path).client
            with progress_bar("Reading Drive folder", length=0) as bar:
                def progress(done, total):
                    bar.length = total
                    bar.update(1)
                result = sync_drive(client, folder, state_dir, progress=progress)
        except LabeldeskError as exc:
            raise click.ClickException(f"cannot read Drive folder {folder}: {exc}")
        for failure in result["failed"]:
            click.echo(f"skipped {failure}", err=True)
        for note in result["skipped"]:
            click.echo(f"note: {note}", err=True)
        click.echo(f"Drive: {result['documents']} Docs, {result['exported']} exported (new or changed), "
                   f"{result['removed']} removed.")

    @kb.command("import")
    @click.option("--sitemap", required=True, help="URL of the help centre's sitemap.xml.")
    @click.option("--out", "folder", required=True, type=click.Path(file_okay=False),
                  help="Folder to write Markdown articles into (point [plugins.kb_suggest] articles at it).")
    @click.option("--allow-private-addresses", "allow_private", is_flag=True,
                  help="Also fetch from this machine and private networks (a help centre on your intranet); "
                       "without it a name that resolves to one is refused.")
    def import_cmd(sitemap, folder, allow_private):
        """Import a help centre's pages (from its sitemap) as Markdown articles."""
        import requests

        from urllib.parse import urlsplit

        from .articles import ArticleError
        from .helpcentre import import_sitemap

        parts = urlsplit(sitemap.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise click.BadParameter(f"{sitemap!r} is not an http(s) URL, e.g. https://help.example.com/sitemap.xml",
                                     param_hint="--sitemap")
        try:
            with _progress("Importing pages") as progress:
                written, failures = import_sitemap(sitemap, folder, progress=progress, allow_private=allow_private)
        except (ArticleError, requests.RequestException) as exc:
            raise click.ClickException(f"cannot read the sitemap: {exc}")
        if failures:
            click.echo(f"{len(failures)} page{'s' if len(failures) != 1 else ''} failed (the others were imported):",
                       err=True)
        for failure in failures:
            click.echo(f"  {one_line(failure)}", err=True)  # the site's URLs and error texts: no ESC
        click.echo(f"{written} article{'s' if written != 1 else ''} written to {folder}.")
        _warn_plain_http(folder)

    def _warn_plain_http(folder):
        """Acknowledgements link customers only to https pages: say so when imported pages stayed on http."""
        from .articles import load_folder

        plain = [a for a in load_folder(folder) if str(a.url or "").startswith("http://")]
        if plain:
            click.echo(f"warning: {len(plain)} article{'s' if len(plain) != 1 else ''} link to http:// pages "
                       f"(e.g. {one_line(readable_url(plain[0].url))}); acknowledgements link customers only to https pages, so "
                       "these are suggested to agents only — import from the help centre's https address if it has "
                       "one", err=True)

    @kb.command("search")
    @click.argument("text")
    @click.option("--lang", default=None, help="Language of the text (detected when omitted).")
    @click.option("--threshold", type=Share(), default=None,
                  help="Confidence gate to try, 0–1 (default: the configured or calibrated one).")
    @click.option("--json", "as_json", is_flag=True, help="One JSON list of suggestions.")
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    def search(text, lang, threshold, as_json, config_path):
        """Show what would be suggested for TEXT, and why."""
        from plugin_host.language import language_code

        from . import knowledge_base, reason

        if not text.strip():
            raise click.BadParameter("give the customer's question to search for, e.g. \"How do I reset my "
                                     "password?\"", param_hint="TEXT")
        config = _config(config_path)
        language = language_code(lang, text)
        with _progress("Indexing articles") as progress:
            kb = knowledge_base(config, wait=True, progress=progress)  # the articles as they are now
        if not kb.articles:
            raise click.ClickException(
                "the knowledge base has no articles: set [plugins.kb_suggest] articles (a folder of Markdown files "
                "or a .jsonl file) or drive_folder in the configuration, then run `labeldesk kb index`")
        hits = kb.search(text, language, limit=3, threshold=threshold)
        if as_json:
            click.echo(json.dumps([{"id": h.article.id, "title": h.article.title, "url": h.article.url or "",
                                    "confidence": h.confidence, "confident": h.confident,
                                    "for_customers": h.for_customers, "linked_in_acknowledgements": _linkable(h),
                                    "why": reason(h), "matched": list(h.matched),
                                    "passage": h.passage} for h in hits], ensure_ascii=False))
            return
        gate = f"gate: {threshold} (--threshold)" if threshold is not None else kb.describe_gate(language)
        click.echo(f"Language {language}; {gate}.")
        if not hits:
            click.echo("Nothing confident enough to suggest.")
        for rank, h in enumerate(hits, 1):  # in ranking order; the confidence is what the gate judged
            # Titles, ids and passages come from imported pages, Drive and file names: one line each, no ESC.
            linked = "  (linked in acknowledgements)" if _linkable(h) else ""
            click.echo(f"{rank}. {one_line(h.article.title)}  [{one_line(h.article.id)}]{linked}\n"
                       f"   confidence {h.confidence:.2f}; why: {one_line(reason(h))}\n   {one_line(h.passage)}")
            if h.article.url:  # the page, in its own letters (the link itself stays as stored)
                click.echo(f"   {one_line(readable_url(h.article.url))}")

    @kb.command("eval")
    @click.option("--articles", "articles_path", required=True, type=click.Path(exists=True, dir_okay=False),
                  help='Articles: a .jsonl of {"id", "title", "body", "url", "lang", "tags"}.')
    @click.option("--queries", "queries_path", required=True, type=click.Path(exists=True, dir_okay=False),
                  help='Questions: a .jsonl of {"id", "text", "lang", "expected": [article ids]}.')
    @click.option("--threshold", type=Share(), default=None, help="Confidence gate (default: the shipped one).")
    @click.option("--semantic", type=click.Choice(["auto", "static", "full", "off"]), default="auto", show_default=True,
                  help="Embedding models: every installed one, the static ones (WordLlama, Navec), those and MiniLM, or none.")
    @click.option("--json", "as_json", is_flag=True, help="Last line: one JSON object with the metrics.")
    def evaluate_cmd(articles_path, queries_path, threshold, semantic, as_json):
        """Recall@1/3, MRR@5, no-suggestion rate and latency, next to plain bm25s."""
        from plugin_host.errors import LabeldeskError

        from .articles import load_jsonl
        from .embeddings import resolve
        from .evaluate import evaluate, evaluate_baseline, load_queries

        try:
            articles, queries = load_jsonl(articles_path), load_queries(queries_path)
            resolve(semantic)
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        if not articles:
            raise click.ClickException(f"{articles_path} has no articles (one JSON object a line)")
        if not queries:
            raise click.ClickException(f"{queries_path} has no questions (one JSON object a line)")
        known = {a.id for a in articles}
        unknown = sorted({e for q in queries for e in q.expected if e not in known})
        if unknown:
            click.echo(f"warning: questions expect {len(unknown)} article id(s) that are not in {articles_path}: "
                       f"{', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}", err=True)
        with _progress("Indexing articles") as indexing, _progress("Measuring suggestions") as measuring:
            measured = 0

            def each_question(n):
                nonlocal measured
                measured += n
                measuring(measured, len(queries))

            ours = evaluate(articles, queries, threshold, semantic=semantic, progress=each_question,
                            index_progress=indexing)
        baseline = evaluate_baseline(articles, queries)
        keys = ("recall@1", "recall@3", "mrr@5", "no_suggestion_rate", "p50_ms", "p95_ms")
        click.echo(f"{len(articles)} articles, {ours['queries']} questions ({ours['out_of_scope']} out of scope). "
                   f"Ranking: {ours['ranking']}.")
        click.echo(f"{'metric':<20}{'labeldesk':>12}{'bm25s':>12}")
        for key in keys:  # None: no question to measure it on (null in --json)
            click.echo(f"{key:<20}{_cell(ours[key]):>12}{_cell(baseline[key]):>12}")
        if as_json:
            click.echo(json.dumps({**{k: ours[k] for k in keys}, "baseline": {k: baseline[k] for k in keys}}))

    @kb.command("gaps")
    @click.option("--since", "days", type=PERIOD, default="30d", show_default=True,
                  help="Period: hours, days, weeks or months, e.g. 12h, 30d, 2w, 3m (a bare number is days).")
    @click.option("--json", "as_json", is_flag=True,
                  help="One JSON list of groups (count, example, language, keywords).")
    @click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
    def gaps_cmd(days, as_json, config_path):
        """Customer questions with no confident suggestion, grouped, with counts."""
        from plugin_host.cli import period_tickets
        from plugin_host.errors import LabeldeskError
        from plugin_host.runtime import host_from_cli

        from . import knowledge_base
        from .gaps import gaps

        try:
            host = host_from_cli(config_path)
            tickets = period_tickets(host, days)
        except LabeldeskError as exc:
            raise click.ClickException(str(exc))
        with _progress("Indexing articles") as progress:
            kb = knowledge_base(host.config, wait=True, progress=progress)
        if not kb.articles:  # still useful (what to write first), but not what an admin with a help centre expects
            click.echo("Note: the knowledge base has no articles, so every question is listed: set "
                       "[plugins.kb_suggest] articles (a folder of Markdown files or a .jsonl file) or drive_folder "
                       "to list only those no article answers.", err=True)
        with progress_bar("Reading questions", length=len(tickets)) as bar:
            found = gaps(tickets, kb, progress=bar.update)
        if as_json:
            click.echo(json.dumps(found, ensure_ascii=False))
            return
        if not found:
            click.echo(f"No gaps: each of the {len(tickets)} questions of the last {days} days got a confident "
                       "suggestion." if tickets else f"No customer questions in the last {days} days.")
        for group in found:
            # A customer's words on the admin's terminal: one line, without the control sequences (ESC, BEL) a
            # mail can carry to forge lines, links (OSC 8) or the clipboard (OSC 52).
            click.echo(f"{group['count']:>4}  {one_line(group['example'])}  ({one_line(', '.join(group['keywords']))})")
