"""The ``labeldesk`` command line: init, auth, serve, demo, sync, sweep, plugins, inspect, mailbox.

Each command is a thin shell over host functions; errors become :class:`click.ClickException`
messages here and nowhere else. Plugins add their own commands through ``register_commands``.
"""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import click

from .errors import LabeldeskError

log = logging.getLogger("labeldesk")
# Libraries that log secrets at DEBUG: requests-oauthlib the token request's body (client secret, code)
# and the tokens it gets, urllib3 every URL with its query (a chat webhook's key and token). -vv is for ours.
SECRET_LOGGERS = ("requests_oauthlib", "urllib3")
# google-auth-oauthlib's local redirect server logs each request line at INFO: the authorization code is in it.
# It prints the sign-in URL itself, so nothing is lost at WARNING.
CODE_LOGGERS = ("google_auth_oauthlib",)


@click.group()
@click.version_option(package_name="labeldesk")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
def cli(verbose: int) -> None:
    """Labeldesk: a help desk inside a shared Gmail inbox."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = logging.StreamHandler()
    handler.setFormatter(JournalFormatter() if stderr_is_the_journal() else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    for name in SECRET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    for name in CODE_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def stderr_is_the_journal() -> bool:
    """Whether stderr is systemd's journal stream: systemd sets ``JOURNAL_STREAM`` to its ``device:inode``
    (systemd.exec(5)), which a command redirecting stderr elsewhere no longer matches."""
    try:
        device, inode = (int(n) for n in os.environ.get("JOURNAL_STREAM", "").split(":"))
        stat = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):  # unset, malformed, or stderr is no file (a test's capture)
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


class JournalFormatter(logging.Formatter):
    """A line for the journal: its syslog priority as sd-daemon(3)'s ``<N>`` prefix (``journalctl -p warning``
    filters by it) and no timestamp, which the journal adds itself."""

    PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}

    def __init__(self):
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = next((p for level, p in self.PRIORITIES.items() if record.levelno >= level), 7)
        # Every line of a traceback gets the prefix, or the journal would take them as the unit's default priority.
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())


class Period(click.ParamType):
    """A look-back period for ``--since``, as whole days (``Host.newer_than`` counts them back from the host's
    clock): hours, days, weeks or months (30 days) — ``12h``, ``30d``, ``2w``, ``3m``; a bare number is days.
    For plugins' commands too."""

    name = "period"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int):
            return value
        found = re.fullmatch(r"\s*(\d+)\s*([hdwm]?)\s*", str(value).lower())
        if not found or int(found.group(1)) == 0:
            self.fail(f"{value!r} is not a period; write e.g. 30d, 12h, 2w or 3m (months)", param, ctx)
        number, unit = int(found.group(1)), found.group(2) or "d"
        days = max(1, -(-number // 24)) if unit == "h" else number * {"d": 1, "w": 7, "m": 30}[unit]
        if days > MAX_PERIOD_DAYS:  # Gmail is younger; and a date that far back is no date at all
            self.fail(f"{value!r} is too long; at most {MAX_PERIOD_DAYS} days (100 years)", param, ctx)
        return days


MAX_PERIOD_DAYS = 36_500


PERIOD = Period()

_plugin_commands_loaded = False


def _load_plugin_commands() -> None:
    global _plugin_commands_loaded
    from .plugins import make_plugin_manager

    if _plugin_commands_loaded:
        return
    _plugin_commands_loaded = True

    from .plugins import hook_callers

    try:
        pm = make_plugin_manager(enabled=None)
    except LabeldeskError as exc:  # pragma: no cover - shown to the user
        log.error("plugins: %s", exc)
        return
    for name, call in hook_callers(pm, "register_commands"):
        try:
            call(cli=cli)
        except Exception as exc:  # one plugin's bug must not take every command (serve among them) away
            log.error("plugin %s: adding its commands failed (%s: %s); the other commands work", name,
                      type(exc).__name__, exc)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON list instead of a table.")
@click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")
def plugins(as_json: bool, config_path: str | None) -> None:
    """Show installed plugins: name, version, enabled, hooks."""
    from .config import did_you_mean, load_config
    from .plugins import left_out_by_environment, make_plugin_manager, plugin_infos

    enabled = None
    try:
        enabled = load_config(config_path).enabled_plugins
    except LabeldeskError as exc:
        if config_path:
            raise
        click.echo(f"(no configuration read: {exc}; showing every installed plugin as enabled)", err=True)
    infos = plugin_infos(make_plugin_manager(enabled=None), enabled)
    unknown = sorted(set(enabled or ()) - {info.name for info in infos})
    for name in unknown:
        if left_out_by_environment(name):
            click.echo(f"warning: {left_out_by_environment(name)}", err=True)
            continue
        hint = did_you_mean(name, [info.name for info in infos], repr)
        click.echo(f"warning: [plugins] enabled names {name}, which is not installed{hint}", err=True)
    if as_json:
        click.echo(json.dumps([info.__dict__ | {"hooks": list(info.hooks)} for info in infos], indent=2))
        return
    for info in infos:
        state = "enabled" if info.enabled else "disabled"
        shown = f"broken: {info.broken}" if info.broken else ", ".join(info.hooks)
        click.echo(f"{info.name:<12} {info.version:<8} {state:<9} {shown}")



STARTER = """# labeldesk.toml — Labeldesk configuration. Every key can be overridden by an environment
# variable: LABELDESK_<SECTION>__<KEY>, e.g. LABELDESK_MAILBOX__ADDRESS=support@example.com

[mailbox]
address = "support@example.com"      # the shared support address
aliases = ["help@example.com"]       # other addresses delivering into the same mailbox
api_root = ""                        # empty = real Gmail; a URL = a local mailbox (labeldesk mailbox serve)
# Google Workspace: a service account with domain-wide delegation
# credentials = "/etc/labeldesk/service-account.json"
# delegated_user = "support@example.com"
# Consumer Gmail: an OAuth token file written by `labeldesk auth`
# oauth_token = ".labeldesk/token.json"
label_root = "Helpdesk"              # all Labeldesk labels live under this label
ack_window_days = 4                  # at most one acknowledgement per sender in this window
# Pub/Sub push (OIDC-authenticated subscription):
# push_audience = "https://labeldesk.example.com/gmail/push"
# push_service_account = "gmail-push@your-project.iam.gserviceaccount.com"
# watch_topic = "projects/your-project/topics/gmail"  # Pub/Sub topic: enables push (users.watch, renewed daily)

[agents]
# Every reply is signed with first AND last name.
"anna.kowalska@example.com" = { first_name = "Anna", last_name = "Kowalska", title = "Support Engineer" }

[plugins]
enabled = ["autoreply", "sla", "kb_suggest"]

[plugins.sla]
# hours = "Mon-Fri 09:00-18:00"      # the team's working hours, in [host] timezone
# holidays = ["PL"]                  # public holidays: country codes or regions such as "DE-BY"
# days_off = ["2026-12-24"]          # the team's own days off; working_days = [...] for extra ones
# team_lead = "lead@example.com"     # breach emails and escalation tasks (targets: docs/sla.md)
# targets.urgent = { business_hours = false }  # urgent tickets count calendar hours, 24/7

[plugins.autoreply]
# hours, holidays, days_off as in [plugins.sla]: the out-of-hours wording when the SLA plugin is off
# on_duty = ["anna.kowalska@example.com"]  # who signs acknowledgements

[plugins.kb_suggest]
# articles = "kb"                  # a folder of Markdown help articles (front matter: title, url, lang, tags)
# drive_folder = "1AbC..."         # and/or a Google Drive folder of Docs (`labeldesk kb index` syncs it)
# drive_public = false             # true only if that folder is shared with anyone with the link: Doc links go to customers
# semantic = "auto"                # auto | static | full | off

[addon]
# base_url = "https://labeldesk.example.com"
# service_account_email = "service-123456789@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
# oauth_client_id = "123456789-abc.apps.googleusercontent.com"

[host]
state_dir = ".labeldesk"             # cursor and tokens, files mode 0600
poll_seconds = 60
sweep_minutes = 5
timezone = "UTC"                     # the team's zone, e.g. "Europe/Warsaw": office hours and SLA calendar
# alerts_per_hour = 30               # notifications syncs and sweeps may send an hour (from support@); 0: no limit
"""


def _config_option(f):
    return click.option("--config", "config_path", type=click.Path(), help="Path to labeldesk.toml.")(f)


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


@cli.command()
@click.argument("path", default="labeldesk.toml", type=click.Path())
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented starter labeldesk.toml (PATH may be a file or a folder to write it in)."""
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        target = target / "labeldesk.toml"
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; pass --force to overwrite it")
    from .files import replace_file

    try:
        replace_file(target, STARTER.encode("utf-8"))  # --force on a full disk leaves the old file whole
    except OSError as exc:
        raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}")
    click.echo(f"Wrote {target}. Edit [mailbox] address and [agents], then run `labeldesk sync --dry-run"
               f"{_config_flag(target)}`.")


def _config_flag(target) -> str:
    """`` --config PATH`` when a command run here would not find ``target`` by itself (LABELDESK_CONFIG, then
    ./labeldesk.toml), else ""."""
    import os
    import shlex

    found = Path(os.environ.get("LABELDESK_CONFIG") or "labeldesk.toml")
    return "" if found.resolve() == Path(target).resolve() else f" --config {shlex.quote(str(target))}"


@cli.command()
@_config_option
@click.option("--client-secrets", type=click.Path(exists=True),
              help="OAuth client JSON (Desktop app) from Google Cloud console.")
@click.option("--drive", is_flag=True, help="Also allow reading Google Docs, before [plugins.kb_suggest] drive_folder "
                                            "is set (with it set, Drive is asked for anyway).")
@click.option("--scopes", "print_scopes", is_flag=True,
              help="Print the scopes this configuration uses (the comma-separated list for the Admin console's "
                   "domain-wide delegation, then who needs each) and stop.")
def auth(config_path, client_secrets, drive, print_scopes) -> None:
    """Authorise a consumer Gmail account (installed-app OAuth) for the scopes the enabled plugins use; stores the
    token with mode 0600."""
    from .auth import run_oauth_flow
    from .scopes import DRIVE, Scope, admin_console_list, described

    config, scopes = _scopes_of(config_path)
    if drive and DRIVE not in {scope.url for scope in scopes}:  # for the consent screen and the Admin console alike
        scopes.append(Scope(DRIVE, "help articles from a Drive folder (drive_folder, not set yet)", plugin="kb_suggest"))
    if print_scopes:
        click.echo(admin_console_list(scopes))
        for line in described(scopes):
            click.echo(f"  {line}")
        return
    if not client_secrets:
        raise click.UsageError("Missing option '--client-secrets' (or --scopes to print the scopes).")
    token = config.mailbox.oauth_token or str(config.state_path / "token.json")
    try:
        granted = run_oauth_flow(client_secrets, token, [scope.url for scope in scopes])
    except LabeldeskError as exc:
        _fail(exc)
    where = ("[mailbox] oauth_token" if config.mailbox.oauth_token
             else "[mailbox] oauth_token is not set: the host reads it there")
    click.echo(f"Token stored in {token} ({where}).")
    _say_granted(scopes, granted)


def _say_granted(scopes, granted) -> None:
    """Which needed scopes the consent screen left unticked, and what will not work without them."""
    from .scopes import GMAIL, missing_lines, not_granted

    missing = not_granted(scopes, granted)
    if not missing:
        return
    again = ("run `labeldesk auth --client-secrets <client.json>` again and allow every access (leave every box "
             "ticked on Google's consent screen)")
    if any(scope.url == GMAIL for scope in missing):
        raise click.ClickException(f"Google did not grant {GMAIL} (the consent screen's box for Gmail was unticked): "
                                   f"nothing can work without it; {again}")
    click.echo("Google did not grant every scope this configuration uses:")
    for line in missing_lines(missing):
        click.echo(f"  {line}")
    click.echo(f"The rest works. To fix it, {again}.")


def _scopes_of(config_path):
    """(configuration, the Google scopes it uses): plugins loaded and their settings checked, no Google call."""
    from .config import load_config
    from .plugins import make_plugin_manager, validate_plugin_settings
    from .scopes import needed

    try:
        config = load_config(config_path)
        pm = make_plugin_manager(enabled=config.enabled_plugins)
        validate_plugin_settings(pm, config)
    except LabeldeskError as exc:
        _fail(exc)
    return config, needed(pm, config)


def _host(config_path):
    from .runtime import host_from_cli

    try:
        return host_from_cli(config_path)
    except LabeldeskError as exc:
        _fail(exc)


def _print_results(results, echo=click.echo) -> None:
    for processed in results:
        ticket = processed.ticket
        if ticket is None:
            continue
        outcome = processed.outcome
        for line in outcome.done + outcome.skipped + outcome.held_back + outcome.errors:
            echo(f"{ticket.thread_id} {ticket.customer.email}: {line}")


def progress_bar(label: str, length: int = 1):
    """click's progress bar on stderr while a person watches the command; off a terminal (cron, a systemd timer, a
    pipe) it writes nothing, where click would still write its label: cron mails every run that writes to stderr,
    and stderr is for problems. For plugins' commands too."""
    import io

    return click.progressbar(length=length, label=label, file=sys.stderr if on_terminal() else io.StringIO())


def on_terminal() -> bool:
    """Whether a person watches stderr (a terminal), not cron, a systemd unit or a pipe."""
    return sys.stderr.isatty()


def _advance_bar(bar, done: int, total: int) -> None:
    bar.length = total
    bar.pos = done
    bar.render_progress()


REPORT_THREADS = 2000  # conversations a report reads at most: 20,000 units, 80 s of a user's Gmail quota


def period_tickets(host, days: int) -> list:
    """The tickets of the last ``days`` days for a report (``labeldesk report``, ``kb gaps``), with a progress bar
    on stderr while Gmail is read. A period with more than REPORT_THREADS conversations is cut to the newest:
    a note says so and from when the tickets counted start, so no figure passes for the whole period."""
    with progress_bar("Reading conversations") as bar:
        tickets, cut = host.tickets_since(days, REPORT_THREADS, progress=lambda done, total: _advance_bar(bar, done, total))
    if cut:
        since = min((t.first_customer_at for t in tickets if t.first_customer_at), default=None)
        start = f" (from {since.astimezone(host.now().tzinfo):%Y-%m-%d %H:%M})" if since else ""
        click.echo(f"note: the last {days} days hold more than {REPORT_THREADS:,} conversations; only the newest "
                   f"{REPORT_THREADS:,} are counted{start}. Use a shorter --since to see a whole period.", err=True)
    return tickets


@contextmanager
def stop_on_signals(host):
    """While a sync or sweep runs, SIGTERM (systemd stopping its unit, `timeout`, a shutdown) or Ctrl-C stops it as
    it stops `serve`: the ticket in hand is finished (its mail sent, its labels set), no other is taken, the cursor
    stays before them. Yields the list the first signal's number is put in; a second signal stops at once. Without
    this, SIGTERM ended the process silently mid-ticket and Ctrl-C said only "Aborted!"."""
    caught: list[int] = []

    def ask_to_stop(signum, frame):
        if caught:  # the second: stop now (the next run repeats the ticket in hand; nothing is sent twice)
            raise KeyboardInterrupt
        caught.append(signum)
        host.stopping.set()
        click.echo(f"{signal.Signals(signum).name}: stopping after the ticket in hand (a second one stops at once)",
                   err=True)

    names = (signal.SIGINT, signal.SIGTERM)
    on_main = threading.current_thread() is threading.main_thread()  # signal handlers are the main thread's
    previous = {number: signal.signal(number, ask_to_stop) for number in names} if on_main else {}
    try:
        yield caught
    except KeyboardInterrupt:
        click.echo("stopped at once: the ticket in hand may be half done; the next run finishes it", err=True)
        end_by_signal(caught[0] if caught else signal.SIGINT)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def end_by_signal(signum: int) -> None:
    """End this process by ``signum`` as if it had not been caught, so cron, systemd (for which a unit stopped by
    SIGTERM stopped cleanly) and shells (exit status 128 + signum) see a run that was stopped, not one that failed
    or finished."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@cli.command()
@_config_option
@click.option("--full", is_flag=True, help="Ignore the cursor and sync recent mail from scratch (a full sync "
              "stopped before goes on where it stopped).")
@click.option("--restart", is_flag=True, help="A full sync from the first thread, even when one stopped before.")
@click.option("--dry-run", is_flag=True, help="Print the actions instead of executing them.")
def sync(config_path, full, restart, dry_run) -> None:
    """Process the mailbox's changes since the cursor once, then exit. A full sync stopped half-way (a signal,
    Gmail refusing) goes on where it stopped at the next run."""
    from .sync import ChangeFeed

    from collections import Counter

    from .sync import NOT_TRIED

    host = _host(config_path)
    with stop_on_signals(host) as stopped, progress_bar("Syncing") as bar:
        feed = ChangeFeed(host, progress=lambda done, total: _advance_bar(bar, done, total))
        report = feed.sync(full=full, dry_run=dry_run, restart=restart)
    _print_results([*report.threads, *report.partly])  # what was done, on the threads that failed too
    moved = "stays at" if report.failed or dry_run else "at"  # the cursor moves only past work that was done
    failed = [(thread_id, why) for thread_id, why in report.failed if not why.startswith(NOT_TRIED)]
    not_tried = len(report.failed) - len(failed)
    kind = "full" if report.full else "incremental"
    if report.continued:
        kind = f"full (continued from thread {report.continued[0]} of {report.continued[1]})"
    click.echo(f"{kind} sync: {len(report.threads)} thread(s), "
               f"{len(failed)} failed{f', {not_tried} not tried' if not_tried else ''}, "
               f"cursor {moved} {feed.cursor.history_id or '(none)'}")
    for thread_id, why in failed[:20]:
        click.echo(f"failed: thread {thread_id}: {why}", err=True)
    if len(failed) > 20:
        click.echo(f"… and {len(failed) - 20} more; the next sync tries them all again", err=True)
    # Those not reached (Gmail refused an earlier one, or a stop) are one line, not one each in every cron mail.
    for why, count in Counter(why for _, why in report.failed if why.startswith(NOT_TRIED)).items():
        click.echo(f"{count} thread(s) {why}; the next sync tries them", err=True)
    for thread_id, why in report.set_aside:
        click.echo(f"set aside after failing 3 syncs in a row: thread {thread_id} ({why}); answer it by hand", err=True)
    if stopped:
        click.echo("stopped.", err=True)
        end_by_signal(stopped[0])
    if report.failed or report.set_aside:  # a thread set aside waits for a person: the run did not do all its job
        sys.exit(1)


@cli.command()
@_config_option
@click.option("--dry-run", is_flag=True, help="Print the actions instead of executing them.")
def sweep(config_path, dry_run) -> None:
    """Run the sweep hook once (SLA deadlines, escalations)."""
    host = _host(config_path)
    with stop_on_signals(host) as stopped, progress_bar("Sweeping") as bar:
        results = host.sweep(dry_run=dry_run, progress=lambda done, total: _advance_bar(bar, done, total))
    _print_results([*results, *results.partly])  # what was done, on the tickets that failed too
    failed = f", {len(results.failed)} failed" if results.failed else ""
    left = f", {results.not_reached} not reached" if results.not_reached else ""
    click.echo(f"sweep: {len(results)} ticket(s) visited{failed}{left}")
    for thread_id, why in results.failed[:20]:
        click.echo(f"failed: thread {thread_id}: {why}", err=True)
    if len(results.failed) > 20:
        click.echo(f"… and {len(results.failed) - 20} more; the next sweep visits them again", err=True)
    if stopped:
        click.echo("stopped: the next sweep visits the tickets this one did not reach", err=True)
        end_by_signal(stopped[0])
    if results.not_reached:
        click.echo(f"{results.not_reached} ticket(s) not reached: Gmail refused; the next sweep visits them",
                   err=True)
    if results.failed:
        sys.exit(1)


def _customer_address(ctx, param, value):
    from .config import EMAIL_RE

    if not EMAIL_RE.match(value.strip()):
        raise click.BadParameter(f"{value!r} is not an email address: give the customer's, e.g. jane@example.org")
    return value.strip().lower()


@cli.command()
@click.argument("address", callback=_customer_address)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@_config_option
def forget(address, dry_run, config_path) -> None:
    """Remove what Labeldesk keeps and wrote about a customer (a request to erase their data): the state folder's
    entries, Labeldesk's tasks in Google Tasks, its notices in the mailbox (to the Trash). Deleting their threads in
    Gmail stays the team's decision. Exits 1 when something could not be removed: run it again. Safe while `serve`
    runs."""
    from .privacy import forget_customer

    host = _host(config_path)
    try:
        result = forget_customer(host, address, dry_run=dry_run)
    except LabeldeskError as exc:  # the state folder cannot be written, or serve held a file too long
        _fail(exc)
    for line in result.removed:  # a dry run's lines say "would …" themselves
        click.echo(line if dry_run else f"removed {line}")
    if not result.removed:
        click.echo(f"Nothing about {address} was found in {host.config.state_path}, Google Tasks or Labeldesk's "
                   "notices.")
    for line in result.left:
        click.echo(f"left: {line}")
    click.echo(f"Gmail is the database: deleting their threads is the team's decision (search: in:anywhere {address}); "
               "while a thread is kept, a sweep may write tasks and notices about it again.")
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)
    if result.problems:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@_config_option
def inspect(paths, as_json, config_path) -> None:
    """Show how Labeldesk reads raw .eml files: customer, language, text, acknowledge or not."""
    from .cli_inspect import run_inspect
    from .config import load_config

    config = None
    try:
        config = load_config(config_path)
    except LabeldeskError:
        if config_path:
            raise
    run_inspect(list(paths), config, as_json, click.echo)


PORT = click.IntRange(1, 65535)


@cli.command()
@_config_option
@click.option("--port", default=8080, show_default=True, type=PORT,
              help="Port for the push endpoint, the add-on and health checks.")
@click.option("--host", "bind", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
def serve(config_path, port, bind) -> None:
    """Run the host: push endpoint, add-on, polling and the sweep scheduler (Ctrl-C or SIGTERM stops)."""
    from .scheduler import run_server

    host = _host(config_path)
    try:
        run_server(host, bind, port, announce=click.echo)
    except LabeldeskError as exc:  # the state folder cannot be written
        _fail(exc)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {bind}:{port}: {exc.strerror or exc}; choose another --port")
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        click.echo("stopped without waiting.")


@cli.command()
@click.option("--once", is_flag=True, help="Process the sample inbox once, print a table, exit.")
@click.option("--port", default=8080, show_default=True, type=PORT,
              help="Port for the preview page and the local Gmail API.")
@click.option("--interval", default=8.0, show_default=True, type=click.FloatRange(min=0.5),
              help="Seconds between new customer messages (at least 0.5).")
def demo(once, port, interval) -> None:
    """Run Labeldesk on a local mailbox seeded with a sample support inbox (no Google account)."""
    from .demo import run_demo

    sys.exit(run_demo(once=once, port=port, interval=interval, echo=click.echo))


@cli.group()
def mailbox() -> None:
    """The local mailbox: a Gmail API stand-in for demos and tests."""


def _address_option(ctx, param, value):
    from .config import EMAIL_RE

    if not EMAIL_RE.match(value):
        raise click.BadParameter(f"{value!r} is not an email address, e.g. support@example.com")
    return value.lower()


def _url_option(ctx, param, value):
    if value and not re.match(r"^https?://[^/\s]+", value):
        raise click.BadParameter(f"{value!r} is not an http(s) URL, e.g. http://127.0.0.1:8080/gmail/push")
    return value


@mailbox.command("serve")
@click.option("--port", default=8025, show_default=True, type=PORT, help="Port to serve the Gmail API on.")
@click.option("--host", "bind", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--data", type=click.Path(file_okay=False), help="Persist state in this directory.")
@click.option("--seed", type=click.Choice(["sample"]), help="Load the sample support inbox.")
@click.option("--address", default="support@example.com", show_default=True, callback=_address_option,
              help="The mailbox's own address.")
@click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True),
              help="Per-user quota units per second (429 above it).")
@click.option("--push-url", callback=_url_option, help="POST Pub/Sub-shaped push messages here after users.watch.")
def mailbox_serve(port, bind, data, seed, address, rate_limit, push_url) -> None:
    """Serve the local mailbox over HTTP (Gmail API v1 + Tasks v1)."""
    from .mailbox import LocalMailbox, serve
    from .web import is_loopback

    try:
        if data:  # fail now, not with a 500 on the first change
            Path(data).mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=data):
                pass
        local = LocalMailbox(address, data_dir=data, seed=seed, rate_limit_units_per_s=rate_limit)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot keep the mailbox in {data}: {exc}")
    local.app.push_url = push_url
    root = f"http://{f'[{bind}]' if ':' in bind else bind}:{port}/"  # an IPv6 address is bracketed in a URL
    click.echo(f"Local mailbox for {address} at {root} ({len(local.mailbox.messages)} messages"
               f"{', persisted in ' + data if data else ', in memory'}).")
    click.echo(f"Point Labeldesk at it with [mailbox] api_root = \"{root}\". Ctrl-C stops.")
    if not is_loopback(bind):
        click.echo(f"Warning: the local mailbox has no authentication; anyone who reaches {bind}:{port} "
                   "can read and send its mail.", err=True)
    serve(local, bind, port)


def get_cli() -> click.Group:
    """The command group with plugin commands registered (tests use this)."""
    _load_plugin_commands()
    return cli


def main() -> None:
    """Entry point of the ``labeldesk`` script."""
    _load_plugin_commands()
    try:
        cli(standalone_mode=True)
    except LabeldeskError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # python -m plugin_host.cli
    main()
