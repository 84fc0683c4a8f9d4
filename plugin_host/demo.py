"""``labeldesk demo``: the whole product on a local mailbox seeded with a sample support inbox.

``--once`` processes the inbox once and prints a table of tickets. Without it the demo serves the
web app (add-on preview, local mailbox API) and keeps feeding in a new customer message every few
seconds, so a person can watch tickets being acknowledged, labelled and escalated.
"""
from __future__ import annotations

import logging
import signal
import socket
import tempfile
import threading
import tomllib
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)


def demo_host(state_dir: str, now: datetime | None = None):
    """A seeded local mailbox and a Host with every shipped plugin, all in-process."""
    from .config import load_config
    from .mailbox import IN_PROCESS_ROOT, LocalMailbox
    from .mailbox.sample import sample_config_toml
    from .runtime import build_host

    text = sample_config_toml(IN_PROCESS_ROOT)
    data = tomllib.loads(text)
    data.setdefault("host", {})["state_dir"] = state_dir
    # The alert budget keeps a real mailbox's daily sending for customers; the demo's mailbox is in memory, and its
    # sample backlog breaches more or fewer tickets by the hour of day (above 30 alerts in the afternoon, UTC).
    data["host"]["alerts_per_hour"] = 0
    config = load_config(Path(state_dir) / "labeldesk.toml", data=data, environ={})
    local = LocalMailbox(config.mailbox.address, seed="sample", now=now)
    host = build_host(config, http=local.http)
    return local, host


def ticket_table(results) -> list[str]:
    rows = [("customer", "subject", "state", "labels", "actions")]
    for processed in results:
        ticket = processed.ticket
        if ticket is None:
            continue
        root = ticket.label_root + "/"
        state = "awaiting reply" if ticket.awaiting_reply else "answered"
        actions = "; ".join(_short(line) for line in processed.outcome.done + processed.outcome.skipped) or "-"
        after = sorted({l[len(root):] for l in _labels_after(processed) if l.startswith(root)})
        rows.append((ticket.customer.email, ticket.subject[:40], state, ", ".join(after)[:60], actions[:90]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]


def _short(line: str) -> str:
    if line.startswith("sent "):
        return line.split(" (", 1)[0].replace("sent ", "sent ")
    if line.startswith("labelled ") and ": +" in line:
        import ast

        adds, _, removes = line.split(": +", 1)[1].partition(" -")
        return f"labels +{len(ast.literal_eval(adds))} -{len(ast.literal_eval(removes))}"
    return line[:60]


def _labels_after(processed) -> set[str]:
    labels = set(processed.ticket.labels)
    for line in processed.outcome.done:
        if line.startswith("labelled ") and ": +" in line:
            import ast

            adds, _, removes = line.split(": +", 1)[1].partition(" -")
            labels |= set(ast.literal_eval(adds))
            labels -= set(ast.literal_eval(removes))
    return labels


def run_demo(once: bool, port: int, interval: float, echo=print) -> int:
    from .sync import ChangeFeed

    if not once and (why := _unavailable(port)):  # before the sample inbox is processed, not after
        echo(f"Cannot listen on 127.0.0.1:{port} ({why}): try `labeldesk demo --port 8081`.")
        return 1
    with tempfile.TemporaryDirectory(prefix="labeldesk-demo-") as state_dir:
        local, host = demo_host(state_dir)
        feed = ChangeFeed(host, progress=lambda done, total: None)  # the demo prints what each sync did
        report = feed.sync()
        if once:
            for line in ticket_table(report.threads):
                echo(line)
            echo(f"\n{sum(1 for p in report.threads if p.ticket)} tickets, "
                 f"{local.app.total_units} Gmail quota units, {sum(local.app.calls.values())} API calls.")
            return 0 if report.ok else 1
        return _serve_demo(local, host, feed, port, interval, echo)


def _unavailable(port: int) -> str:
    """Why 127.0.0.1:``port`` cannot be listened on, or "" (werkzeug's server would exit by itself)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return ""


def demo_app(local, host, feed):
    """The demo's web app: the host's (add-on preview, health) with the local Gmail API under /mailbox,
    answering only requests addressed to this machine (see :func:`~plugin_host.web.loopback_only`)."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from .web import create_app, loopback_only

    app = create_app(host, feed, demo=True)
    app.wsgi_app = loopback_only(DispatcherMiddleware(app.wsgi_app, {"/mailbox": local.app}))
    return app


def _serve_demo(local, host, feed, port: int, interval: float, echo) -> int:
    from werkzeug.serving import make_server

    app = demo_app(local, host, feed)
    try:
        server = make_server("127.0.0.1", port, app, threaded=True)  # bound before any URL is printed
    except OSError as exc:
        echo(f"Cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}): try `labeldesk demo --port 8081`.")
        return 1
    # From here on SIGTERM (`timeout`, a closed terminal, `docker stop`) stops the demo as Ctrl-C does, so the
    # temporary state folder is removed; and either one, wherever it lands, ends in "stopped.".
    previous = _stop_on_sigterm()
    try:
        _announce_and_serve(local, host, feed, server, port, interval, echo)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    echo("stopped.")
    return 0


def _stop_on_sigterm():
    """Let SIGTERM interrupt as Ctrl-C does; returns the handler it replaced (None off the main thread)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, interrupt)


def _announce_and_serve(local, host, feed, server, port: int, interval: float, echo) -> None:
    from .mailbox.sample import new_customer_message

    base = f"http://127.0.0.1:{port}"
    echo(f"Labeldesk demo for {host.config.mailbox.address}")
    echo(f"  add-on preview:  {base}/preview/")
    echo(f"  local Gmail API: {base}/mailbox/  (api_root for googleapiclient)")
    echo(f"  health:          {base}/healthz")
    echo(f"A new customer message arrives every {interval:g}s. Ctrl-C stops.")
    stop = threading.Event()

    def feeder():
        n = 0
        while not stop.wait(interval):
            n += 1
            try:
                raw = new_customer_message(n, datetime.now(timezone.utc), host.config.mailbox.address)
                local.mailbox.add_message(raw, ["INBOX", "UNREAD"])
                report = feed.sync()
                for processed in report.threads:
                    for line in processed.outcome.done:
                        echo(f"  {processed.ticket.customer.email if processed.ticket else '?'}: {line}")
                if n % 5 == 0:
                    host.sweep()
            except Exception:
                log.exception("demo feeder step failed")

    threading.Thread(target=feeder, daemon=True).start()
    try:
        server.serve_forever()  # werkzeug's returns on Ctrl-C (it takes the KeyboardInterrupt)
    finally:
        stop.set()
