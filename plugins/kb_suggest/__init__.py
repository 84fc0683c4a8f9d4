"""Labeldesk plugin ``kb_suggest``: help articles that answer the ticket, in the side panel and in
acknowledgements. Multilingual (Snowball stems for English, Russian, Polish and more), with a
confidence gate (nothing is suggested when nothing fits) and learning from what agents insert."""
from __future__ import annotations

import dataclasses
import hashlib

import html
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from plugin_host import hookimpl
from plugin_host.config import did_you_mean, read_flag
from plugin_host.errors import ConfigError
from plugin_host.people import whole_reply, whole_reply_html
from plugin_host.text import shorten
from plugin_host.ticket import CardReply, Suggestion

from .articles import article_files
from .drive import FOLDER_ID, drive_articles, sync_drive
from .embeddings import resolve
from .engine import KnowledgeBase
from .store import build_index, load_articles, load_feedback, remember_insert

NAME = "kb_suggest"
DRIVE_SYNC_SECONDS = 900
log = logging.getLogger(__name__)
_cache: dict = {}
_cache_lock = threading.Lock()
_rebuilding: set[str] = set()
_folder_stamps: dict[str, tuple[float, float]] = {}  # article source → (when looked at, newest mtime)
FOLDER_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class KbSettings:
    articles: str = ""  # a folder of Markdown articles, or a .jsonl file
    threshold: float | None = None  # None: calibrated per knowledge base (see engine)
    limit: int = 3
    semantic: str = "auto"  # auto | static | full | off (see embeddings)
    drive_folder: str = ""  # a Google Drive folder id of Docs, synced by `labeldesk kb index`
    drive_public: bool = False  # the folder is shared with anyone with the link: customers may get Doc links


KNOWN = ("articles", "threshold", "limit", "semantic", "drive_folder", "drive_public")


def validate(raw: dict) -> KbSettings:
    unknown = set(raw) - set(KNOWN)
    if unknown:
        name = min(unknown)
        raise ConfigError(f"plugins.kb_suggest.{name}", f"unknown setting{did_you_mean(name, KNOWN)}; "
                                                        f"known: {', '.join(KNOWN)}")
    semantic = str(raw.get("semantic", "auto"))
    resolve(semantic)  # a clear error now, not at the first ticket
    source = raw.get("articles", "")
    if not isinstance(source, str):
        raise ConfigError("plugins.kb_suggest.articles", f"must be a path in quotes, got {source!r}")
    if source and Path(source).is_absolute() and not Path(source).exists():  # relative: see options()
        raise ConfigError("plugins.kb_suggest.articles", f"{source} does not exist (a folder of .md files or a .jsonl)")
    threshold = raw.get("threshold")
    if isinstance(threshold, bool):
        raise ConfigError("plugins.kb_suggest.threshold", f"must be a number between 0 and 1, got {threshold!r}")
    if threshold is not None:
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ConfigError("plugins.kb_suggest.threshold", "must be a number between 0 and 1") from None
        if not 0 <= threshold <= 1:
            raise ConfigError("plugins.kb_suggest.threshold", "must be between 0 and 1")
    limit = raw.get("limit", 3)
    if isinstance(limit, bool) or not str(limit).strip().isdigit():  # 2.5 is no number of articles
        raise ConfigError("plugins.kb_suggest.limit", f"must be a whole number of articles (1-10), got {limit!r}")
    limit = int(limit)
    if not 1 <= limit <= 10:
        raise ConfigError("plugins.kb_suggest.limit", "must be between 1 and 10")
    drive_folder = str(raw.get("drive_folder", "")).strip()
    if drive_folder and not FOLDER_ID.match(drive_folder):
        raise ConfigError("plugins.kb_suggest.drive_folder",
                          "must be a Drive folder id (the part after /folders/ in the folder's URL)")
    drive_public = read_flag(raw.get("drive_public", False), "plugins.kb_suggest.drive_public")
    return KbSettings(source, threshold, limit, semantic, drive_folder, drive_public)


def options(config) -> KbSettings:
    """The plugin's settings, with a relative ``articles`` path read from the configuration file's folder
    (like ``state_dir``), not from wherever the command happens to run."""
    found = config.plugin(NAME)
    settings = found if isinstance(found, KbSettings) else validate(found or {})
    source = Path(settings.articles) if settings.articles else None
    if source is not None and not source.is_absolute():
        base = Path(config.path).parent if getattr(config, "path", None) else Path.cwd()
        source = base / source
        if not source.exists():
            raise ConfigError("plugins.kb_suggest.articles",
                              f"{settings.articles} does not exist in {base} (a folder of .md files or a .jsonl)")
        settings = dataclasses.replace(settings, articles=str(source))
    return settings


def knowledge_base(config, wait: bool = False, progress=None) -> KnowledgeBase:
    """The index for the configured articles, rebuilt when the articles, the Drive copy or the feedback change.

    Analysis of unchanged articles (words and vectors) comes from the index file that
    ``labeldesk kb index`` and earlier rebuilds wrote, so a rebuild only analyses what changed. Only
    the first build is waited for: later rebuilds (an agent's insert, an edited article) run in the
    background while the previous index keeps answering, so no side panel waits for them.
    ``progress(done, total)`` follows a build this call waits for (the analysis of each article).
    """
    settings = options(config)
    state = config.state_path
    stamp = (settings.articles, _articles_mtime(settings.articles, force=wait), _mtime(state / "kb-feedback.jsonl"),
             settings.threshold, settings.semantic, settings.drive_folder and _mtime(state / "kb-drive.json"))
    key = str(state)
    with _cache_lock:
        current = _cache.get(key)
        if current is not None and current[0] == stamp:
            return current[1]
        if current is None or wait:
            _cache[key] = (stamp, _build(settings, state, progress))
            return _cache[key][1]
        if key not in _rebuilding:
            _rebuilding.add(key)
            # Not a daemon: an exit waits for the rebuild instead of cutting off native code (torch) mid-call.
            threading.Thread(target=_rebuild, args=(key, stamp, settings, state), name="kb rebuild").start()
        return current[1]


def _build(settings: KbSettings, state, progress=None) -> KnowledgeBase:
    articles = configured_articles(settings, state)
    each = (lambda done: progress(done, len(articles))) if progress else None
    return build_index(state, articles, settings, load_feedback(state, articles), progress=each)


def _rebuild(key: str, stamp: tuple, settings: KbSettings, state) -> None:
    try:
        kb = _build(settings, state)
        with _cache_lock:
            _cache[key] = (stamp, kb)
    except Exception:  # the previous index keeps answering; the next request tries again
        log.exception("knowledge base: rebuilding the index failed")
    finally:
        with _cache_lock:
            _rebuilding.discard(key)


def configured_articles(settings: KbSettings, state_dir) -> list:
    """The Markdown folder (or JSONL) articles plus the Drive Docs saved by the last sync."""
    articles = load_articles(settings.articles)
    if settings.drive_folder:
        articles += drive_articles(state_dir, settings.drive_public)
    return articles


def _articles_mtime(source: str, force: bool = False):
    """A signature of the articles, looked up at most every FOLDER_CHECK_SECONDS: walking a folder of
    1,000 files costs about 8 ms, too much for every side panel."""
    now = time.monotonic()
    seen = _folder_stamps.get(source)
    if seen is None or force or now - seen[0] >= FOLDER_CHECK_SECONDS:
        seen = _folder_stamps[source] = (now, _signature(source))
    return seen[1]


def _signature(source):
    """Every article file's path, size and modification time: a deleted file, or one copied in with an old
    modification time (rsync -a, cp -p, unzip), changes it as surely as an edit."""
    path = Path(source) if source else None
    if path is None or not path.is_dir():
        return _mtime(source) if source else 0.0
    entries = []
    for file in article_files(path):
        try:
            stat = file.stat()
        except OSError:
            continue
        entries.append((file.relative_to(path).as_posix(), stat.st_size, stat.st_mtime_ns))
    return hashlib.sha256(repr(sorted(entries)).encode()).hexdigest()


def _mtime(path) -> float:
    try:
        stat = Path(path).stat()
        return stat.st_mtime_ns + stat.st_size / 1e9  # an edit within the same tick changes the size
    except (OSError, ValueError):
        return 0.0


def reason(hit) -> str:
    """Why an article is suggested, in words an agent or admin reads: the customer's words it matched (or
    "similar meaning"), and whether it is only a close alternative to a confident one."""
    why = "matched: " + ", ".join(hit.matched) if hit.matched else "similar meaning"
    return why if hit.confident else f"{why} (a close alternative)"


def to_suggestion(hit) -> Suggestion:
    return Suggestion(hit.article.id, hit.article.title, hit.article.url, hit.passage, hit.confidence, reason(hit),
                      hit.article.answer, confident=hit.confident, for_customers=hit.for_customers,
                      language=hit.article.lang,
                      link=hit.article.link or hit.article.url)


@hookimpl
def register_settings(register):
    register(NAME, validate, paths=("articles",))


@hookimpl
def google_scopes(settings):
    from plugin_host.scopes import DRIVE, Scope

    found = settings.plugin(NAME)
    if not (found if isinstance(found, KbSettings) else validate(found or {})).drive_folder:
        return []
    return [Scope(DRIVE, "help articles from the Drive folder (drive_folder)", plugin="kb_suggest")]


@hookimpl
def background_jobs(settings):
    """Keep the Drive copy of the knowledge base fresh while the host runs (every 15 minutes)."""
    folder = options(settings).drive_folder
    if not folder:
        return []

    def sync(google):
        result = sync_drive(google, folder, settings.state_path)
        for failure in result["failed"]:
            log.warning("knowledge base: Drive Doc skipped: %s", failure)
        for note in result["skipped"]:
            log.info("knowledge base: Drive file not an article: %s", note)

    return [(DRIVE_SYNC_SECONDS, "kb drive sync", sync)]


@hookimpl
def suggest_articles(text, language, limit, settings):
    kb = knowledge_base(settings)
    return [to_suggestion(h) for h in kb.search(text, language, limit=limit)]


@hookimpl
def ticket_sections(ticket, agent, settings, now, urls):
    suggestions = suggest_articles(ticket.question, ticket.language, options(settings).limit, settings)
    if not suggestions:
        return [{"header": "Help articles", "widgets": [{"textParagraph": {"text": nothing_fits(settings)}}]}]
    widgets = []
    for s in suggestions:
        # Cut, then escape: cutting escaped text could split an entity ("&am").
        widgets.append({"decoratedText": {"topLabel": html.escape(shorten(s.reason, 120)),
                                          "text": f"<b>{html.escape(s.title)}</b>",
                                          "bottomLabel": html.escape(shorten(s.snippet, 200)), "wrapText": True}})
        buttons, title = [], html.escape(s.title)  # escaped like every text of the card
        # A link goes into the reply to the customer: only a public page (an internal Doc is opened, not sent).
        inserts = (("Insert link", "kb.insert_link"),) if s.url.startswith("https://") else ()
        # Each article has the same three buttons: a screen reader names them by the article too (the visible
        # text first, so a spoken "Insert link" still finds it).
        for label, action in (*inserts, ("Insert answer", "kb.insert_answer")):
            buttons.append({"text": label, "altText": f"{label}: {title}", "onClick": {"action": {
                "function": urls("action"), "parameters": [
                    {"key": "name", "value": action}, {"key": "article", "value": s.article_id},
                    {"key": "threadId", "value": ticket.thread_id}]}}})
        opens = s.link or s.url
        if opens.startswith("https://"):
            buttons.append({"text": "Open", "altText": f"Open: {title}", "onClick": {"openLink": {"url": opens}}})
        widgets.append({"buttonList": {"buttons": buttons}})
    return [{"header": "Help articles", "widgets": widgets}]


def nothing_fits(settings) -> str:
    """The empty state: why nothing is suggested, and what the agent can do about it."""
    count = len(knowledge_base(settings).articles)
    if not count:
        return ("The knowledge base has no articles yet, so nothing can be suggested. Ask your admin to set "
                "[plugins.kb_suggest] articles (a folder of Markdown files) or drive_folder.")
    return (f"None of the {count} articles answers this question closely enough. Answer it yourself; if "
            "customers keep asking, it shows in <i>labeldesk kb gaps</i>: worth an article.")


@hookimpl
def compose_suggestions(ticket, agent, settings):
    """The best articles ready to insert in the compose panel (where Gmail allows inserts), as HTML (Gmail's
    ``MUTABLE_HTML``: bold, lists and links kept, see ``html_answer``); plain text when the article is gone."""
    if ticket is None:
        return []
    items = []
    for s in suggest_articles(ticket.question, ticket.language, 2, settings):
        items.append({"label": shorten(f"Article: {s.title}", 40), **_article_content(s, settings)})
        if s.url.startswith("https://"):
            link = f'<a href="{html.escape(s.url)}">{html.escape(s.title, quote=False)}</a>'
            items.append({"label": shorten(f"Link: {s.title}", 40), "content": link, "content_type": "MUTABLE_HTML"})
    return items


def _article_content(suggestion, settings) -> dict:
    """An article's body as safe HTML; its plain-text answer when only that is known (another plugin's
    suggestion, or the article left the knowledge base since it was ranked)."""
    from .html_answer import answer_html

    article = next((a for a in knowledge_base(settings).articles if a.id == suggestion.article_id), None)
    if article is None:
        return {"content": suggestion.body, "content_type": "TEXT"}
    return {"content": answer_html(article.body), "content_type": "MUTABLE_HTML"}


def _toast_title(article) -> str:
    """The title as a toast names it: short enough that what follows it (the reason, what to do) stays shown."""
    return shorten(article.title, 80)


@hookimpl
def on_card_action(name, parameters, form_inputs, ticket, agent, actions, settings, now):
    if name not in ("kb.insert_link", "kb.insert_answer"):
        return None
    kb = knowledge_base(settings)
    article = next((a for a in kb.articles if a.id == parameters.get("article")), None)
    if article is None:
        return CardReply(notification="That article no longer exists.")
    if name == "kb.insert_link" and not article.url and article.link:
        return CardReply(notification=f"“{_toast_title(article)}” is an internal Doc customers cannot open: insert "
                                      "its answer.")
    if ticket is not None and not ticket.drafts:  # with a draft there the host refuses the insert: nothing learnt
        remember_insert(settings.state_path, ticket.question, article.id, article.content_digest, ticket.thread_id,
                        customers=_whose(ticket))
    if name == "kb.insert_link":
        link = article.url if article.url.startswith(("https://", "http://")) else ""  # never javascript: and such
        text = f"{article.title}: {link}" if link else article.title
        body = (f'<a href="{html.escape(link)}">{html.escape(article.title, quote=False)}</a>' if link.startswith("https://")
                else html.escape(text, quote=False))
    else:
        from .html_answer import answer_html

        text, body = article.answer, answer_html(article.body)
    return CardReply(insert_text=_as_reply(body, ticket, agent, whole_reply_html), insert_type="HTML",
                     insert_plain=_as_reply(text, ticket, agent, whole_reply),
                     notification=f"Inserted “{_toast_title(article)}”.")


def _whose(ticket) -> tuple[str, ...]:
    """Digests of whose question an insert learns: the ticket's customer, and the writer of the message asked
    (a colleague they copied may ask the latest question), so ``labeldesk forget`` finds it for either."""
    from plugin_host.privacy import customer_digest

    writers = (ticket.customer.email, ticket.asking_message.sender.email)
    return tuple(dict.fromkeys(customer_digest(a) for a in writers if a))


@hookimpl
def forget_customer(addresses, digests, threads, settings, dry_run):
    """Remove the customer's questions from the agents' inserts (``kb-feedback.jsonl``); the index is rebuilt
    without them at its next use (the file changed). ``dry_run``: count them only."""
    from .store import forget_customer as forget

    removed = forget(settings.state_path, addresses, digests, threads, dry_run=dry_run)
    inserts = f"{removed} insert{'s' if removed != 1 else ''}"
    return [f"kb-feedback.jsonl: {'would remove ' if dry_run else ''}{inserts}"] if removed else []


def _as_reply(body: str, ticket, agent, compose) -> str:
    """A side-panel insert becomes a new draft, so it is a whole reply: greeting in the customer's language,
    the text, the agent's full-name signature (the promise every reply keeps; Gmail adds none to an API draft).
    HTML, so the article keeps its lists, bold and clickable links as when inserted from compose, with the
    plain-text version beside it for the draft's text part."""
    if ticket is None:
        return body
    return compose(body, ticket.latest_customer_message.sender.name, agent, ticket.language)


@hookimpl
def register_commands(cli):
    from .cli import register

    register(cli)
