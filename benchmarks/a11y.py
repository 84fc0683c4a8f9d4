"""axe-core in headless Chromium against the HTML people see: the demo's add-on preview and the SLA report.

The pages are the demo's own (``labeldesk demo``'s sample inbox, every shipped plugin): the ticket list, a
ticket per customer language (English, Russian, Polish), one whose side panel suggests articles and one whose
does not, and ``labeldesk report --html``'s page for the same tickets. Each HTML response gets axe.min.js and a
runner appended as inline scripts carrying the response's CSP nonce (the page's policy stays as served; the
report's meta policy, which allows no script at all, gets ``script-src 'nonce-…'`` in the measured copy only).
The runner writes the violations into the DOM, which ``chromium --dump-dom`` prints.

    npm pack axe-core && tar xzf axe-core-*.tgz      # anywhere, e.g. /tmp/axe
    python benchmarks/a11y.py /tmp/axe/package/axe.min.js [--details] [--code /tmp/baseline-worktree]

Nothing here is needed by the test suite (tests check the fixed rules on the HTML without axe or npm).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUNNER = """axe.run(document, {resultTypes: ['violations', 'incomplete']}).then(function (r) {
  function brief(v) { return {id: v.id, impact: v.impact, tags: v.tags, help: v.help,
    nodes: v.nodes.map(function (n) { return {target: n.target, html: n.html}; })}; }
  var pre = document.createElement('pre'); pre.id = 'axe-results';
  pre.textContent = JSON.stringify({violations: r.violations.map(brief), incomplete: r.incomplete.map(brief)});
  document.body.appendChild(pre); });"""


def demo_app(state: str):
    """The demo's web app with a /_a11y/report page (the SLA report's HTML for the demo's tickets)."""
    from plugin_host.demo import demo_host
    from plugin_host.sync import ChangeFeed
    from plugin_host.web import create_app
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html

    local, host = demo_host(state)
    ChangeFeed(host).sync()
    app = create_app(host, demo=True)
    tickets, _ = host.tickets_since(30, 2000)
    report = render_html(compute(tickets, policy_of(host.config), host.config, host.now()))
    app.add_url_rule("/_a11y/report", "a11y_report", lambda: (report, 200, {"Content-Type": "text/html"}))
    return local, host, app


def with_axe(app, axe_source: str) -> None:
    """Append axe and the runner to every HTML page, as inline scripts with this response's nonce."""

    from plugin_host.web import csp_nonce

    @app.after_request
    def inject(response):
        if response.mimetype != "text/html":
            return response
        nonce = csp_nonce()
        page = response.get_data(as_text=True)
        page = page.replace("default-src 'none';", f"default-src 'none'; script-src 'nonce-{nonce}';", 1)
        scripts = (f'<script nonce="{nonce}">{axe_source}</script>'
                   f'<script nonce="{nonce}">{RUNNER}</script>')
        response.set_data(page.replace("</body>", scripts + "</body>", 1) if "</body>" in page else page + scripts)
        return response


def pages(local, host, app) -> dict[str, str]:
    """Name -> path of each page measured: the first ticket per language, and the first whose side panel
    suggests help articles ("Insert answer") and the first whose says none fits."""
    chosen = {"ticket list": "/preview/"}
    wanted = {"en": "English ticket", "ru": "Russian ticket", "pl": "Polish ticket"}
    with_suggestions = without = None
    client = app.test_client()
    for thread_id in local.mailbox.threads:
        ticket = host.ticket(thread_id)
        if ticket is None:
            continue
        if ticket.language in wanted:
            chosen[wanted.pop(ticket.language)] = f"/preview/{thread_id}"
        if with_suggestions and without:
            continue
        panel = client.get(f"/preview/{thread_id}").get_data(as_text=True)
        if "Insert answer" in panel and with_suggestions is None and f"/preview/{thread_id}" not in chosen.values():
            with_suggestions = thread_id
        if "None of the" in panel and without is None and f"/preview/{thread_id}" not in chosen.values():
            without = thread_id
    if with_suggestions:
        chosen["ticket with suggestions"] = f"/preview/{with_suggestions}"
    if without:
        chosen["ticket without suggestions"] = f"/preview/{without}"
    chosen["SLA report"] = "/_a11y/report"
    return chosen


def run_axe(url: str, profile: Path) -> dict[str, list[dict]]:
    """axe's violations and its "needs review" (incomplete) results for the page at ``url``."""
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=30000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=180).stdout
    found = re.search(r'<pre id="axe-results">(.*?)</pre>', dom, re.S)
    if not found:
        raise SystemExit(f"axe wrote no results for {url}; the page's DOM began: {dom[:300]!r}")
    import html

    return json.loads(html.unescape(found.group(1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("axe", help="path of axe.min.js (npm pack axe-core)")
    parser.add_argument("--details", action="store_true", help="print each violating element")
    parser.add_argument("--json", help="also write the violations per page here")
    parser.add_argument("--code", default=str(HERE),
                        help="the checkout whose pages are measured (a baseline worktree: git worktree add /tmp/b C)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve()))
    if CHROMIUM is None:
        raise SystemExit("no Chromium found (Debian: apt-get install chromium)")
    from werkzeug.serving import make_server

    tmp = Path(tempfile.mkdtemp())
    local, host, app = demo_app(str(tmp / "state"))
    with_axe(app, Path(args.axe).read_text(encoding="utf-8"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    by_rule: Counter = Counter()
    impact: dict[str, str] = {}
    results = {}
    try:
        for name, path in pages(local, host, app).items():
            results[name] = found = run_axe(f"http://127.0.0.1:{server.server_port}{path}", tmp / "profile")
            violations = found["violations"]
            summary = ", ".join(f"{v['id']} ({v['impact']}) x{len(v['nodes'])}" for v in violations) or "none"
            review = ", ".join(f"{v['id']} x{len(v['nodes'])}" for v in found["incomplete"]) or "none"
            print(f"{name} [{path}]: {summary}; needs review: {review}")
            for v in violations:
                by_rule[v["id"]] += len(v["nodes"])
                impact[v["id"]] = v["impact"]
                if args.details:
                    for n in v["nodes"]:
                        print(f"    {v['id']}: {n['target']} {n['html'][:140]}")
    finally:
        server.shutdown()
    print(f"\n{'rule':28} {'impact':9} elements (all pages)")
    for rule, count in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{rule:28} {impact[rule]:9} {count}")
    print(f"total: {sum(by_rule.values())} violating elements, {len(by_rule)} rules")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
