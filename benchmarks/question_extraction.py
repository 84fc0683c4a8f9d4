"""How well Labeldesk finds the customer's own words in a reply, on public reply-parsing test corpora.

The knowledge-base query and the acknowledgement read the customer's latest message without quoted history,
signatures and greetings (:func:`plugin_host.text.customer_text`, then ``Ticket.question``). This benchmark runs
that extraction on the real-world replies other reply parsers test themselves with, each with the reply text
their authors expect, and scores it.

Corpora (fetched with the registries' own clients, never committed: the benchmark reads them from the
downloaded packages)::

    python benchmarks/question_extraction.py --fetch      # or by hand, into the cache directory:
    pip download --no-deps --no-binary :all: talon==1.4.4 quotequail==0.5.4 -d /tmp/labeldesk-reply-corpora
    (cd /tmp/labeldesk-reply-corpora && npm pack planer@1.2.0)
    python benchmarks/question_extraction.py [--corpora DIR] [--failures]

- talon 1.4.4 (mailgun, Apache-2.0): tests/fixtures/standard_replies (.eml from 13 clients, expected "Hello" or
  a ``*_reply_text`` file), tests/fixtures/html_replies (9 clients, expected "Hi. I am fine. Thanks, Alex"),
  tests/fixtures/signature/emails/stripped (body, sender, signature), and the literal cases of
  tests/text_quotations_test.py (``eq_(expected, quotations.extract_from_plain(body))``).
- quotequail 0.5.4 (Close, MIT): the parametrised cases of tests/test_quote.py and tests/test_quote_html.py
  (the reply is the unquoted parts of ``quote(..., quote_intro_line=True)``).
- planer 1.2.0 (npm, talon's JavaScript port, MIT): the literal cases of test/planerText.test.coffee and
  test/planerHtml.test.coffee not already in talon, and test/examples/html (a reply and a quoted snippet each).
- Localized clients (no download): the reply and forward headers Thunderbird, Roundcube, K-9 Mail and (from a
  public parser) Gmail and Outlook write in their users' languages, from tests/data/localized_reply_headers.json,
  rendered by benchmarks/localized_clients.py; printed as a table of its own after the corpora's.
- Looked at, no usable fixtures in the published packages: email_reply_parser 0.5.12 and mail-parser-reply 1.36
  (their tests open test/emails/*.txt, which the sdists leave out), npm email-reply-parser 2.3.7 (no tests).

Scores, per case with an expected reply (whitespace runs collapsed before comparing):
- exact: the message text (customer_text) equals the expected reply;
- kept: every word of the expected reply is in the message text (as often as there);
- clean: no word of the removed part (the input's words beyond the expected reply's) is in it;
- q-kept / q-clean: the same for the knowledge-base question (greeting and sign-off stripped on purpose, so
  q-kept is measured against the expected reply with our own greeting and sign-off rules applied to it).
"""
from __future__ import annotations

import argparse
import ast
import collections
import email
import email.policy
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from email.mime.text import MIMEText
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin_host.mailbox.mime import html_to_text  # noqa: E402
from plugin_host.text import customer_text, strip_greeting, strip_sign_off  # noqa: E402

from benchmarks.localized_clients import cases as localized_cases  # noqa: E402
from benchmarks.localized_clients import check as check_localized  # noqa: E402
from benchmarks.localized_clients import table as localized_table  # noqa: E402

CACHE = Path("/tmp/labeldesk-reply-corpora")
PACKAGES = {"talon": ("pip", "talon==1.4.4"), "quotequail": ("pip", "quotequail==0.5.4"),
            "planer": ("npm", "planer@1.2.0")}


@dataclass
class Case:
    corpus: str
    name: str
    body: str
    kind: str = "plain"  # plain | html | eml
    expected: str | None = None  # the reply text; None: snippets only
    keep: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    sender: str = ""
    group: str = ""
    result: dict = field(default_factory=dict)


def fetch(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for tool, spec in PACKAGES.values():
        if tool == "pip":
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                            spec, "-d", str(cache)], check=True)
        else:
            subprocess.run(["npm", "pack", spec], cwd=cache, check=True, stdout=subprocess.DEVNULL)


def unpack(cache: Path) -> dict[str, Path]:
    """Each package's unpacked root in ``cache``/x/<package>."""
    roots = {}
    for name in PACKAGES:
        archives = sorted(cache.glob(f"{name}-*.tar.gz")) + sorted(cache.glob(f"{name}-*.tgz"))
        if not archives:
            continue
        target = cache / "x" / name
        if not target.exists():
            with tarfile.open(archives[-1]) as tar:
                tar.extractall(target, filter="data")
        roots[name] = next(p.parent for p in target.rglob("LICENSE"))
    return roots


# -- harvesting ---------------------------------------------------------------------------------------------

def _strings(tree: ast.AST) -> dict[str, str]:
    return {node.targets[0].id: node.value.value for node in getattr(tree, "body", [])
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def _value(node: ast.AST, env: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    return None


def talon_text_cases(root: Path) -> list[Case]:
    """``eq_(expected, quotations.extract_from_plain(body))`` with literal strings, in tests not patching talon."""
    source = root / "tests" / "text_quotations_test.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    cases = []
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or fn.decorator_list:
            continue
        env: dict[str, str] = {}
        for i, stmt in enumerate(fn.body):
            env.update(_strings(ast.Module(body=[stmt], type_ignores=[])))
            call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
            if not (call and getattr(call.func, "id", "") == "eq_" and len(call.args) >= 2):
                continue
            expected, extraction = call.args[0], call.args[1]
            if not (isinstance(extraction, ast.Call) and getattr(extraction.func, "attr", "") == "extract_from_plain"):
                continue
            body, want = _value(extraction.args[0], env), _value(expected, env)
            if body is not None and want is not None:
                cases.append(Case("talon", f"{fn.name}#{i}", body, expected=want))
    return cases


def talon_fixture_cases(root: Path) -> list[Case]:
    fixtures = root / "tests" / "fixtures"
    cases = []
    for eml in sorted((fixtures / "standard_replies").glob("*.eml")):
        expected_file = eml.with_name(eml.stem + "_reply_text")
        expected = expected_file.read_text(encoding="utf-8").strip() if expected_file.exists() else "Hello"
        cases.append(Case("talon", f"standard_replies/{eml.name}", eml.read_text(encoding="utf-8", errors="replace"),
                          kind="eml", expected=expected, group=f"client:{eml.stem.rstrip('_2')}"))
    for page in sorted((fixtures / "html_replies").glob("*.html")):
        cases.append(Case("talon", f"html_replies/{page.name}", page.read_text(encoding="utf-8"), kind="html",
                          expected="Hi. I am fine.\n\nThanks,\nAlex", group=f"client:{page.stem}"))
    stripped = fixtures / "signature" / "emails" / "stripped"
    for body_file in sorted(stripped.glob("*_body")):
        stem = body_file.name[:-len("_body")]
        body = body_file.read_text(encoding="utf-8")
        signature = (stripped / f"{stem}_signature").read_text(encoding="utf-8").strip()
        sender = (stripped / f"{stem}_sender").read_text(encoding="utf-8").strip()
        expected = body.strip()[:len(body.strip()) - len(signature)].strip() if signature else body.strip()
        cases.append(Case("talon-signature", f"signature/{stem}", body.replace("#sig#", ""),
                          expected=expected.replace("#sig#", ""), sender=sender, group="signature"))
    return cases


def quotequail_cases(root: Path) -> list[Case]:
    cases = []
    for name, kind in (("test_quote.py", "plain"), ("test_quote_html.py", "html")):
        tree = ast.parse((root / "tests" / name).read_text(encoding="utf-8"))
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            for deco in fn.decorator_list:
                if not (isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize"):
                    continue
                for n, row in enumerate(ast.literal_eval(deco.args[1])):
                    body, _, with_intro = row
                    reply = "".join(chunk for own, chunk in with_intro if own)
                    quoted = "".join(chunk for own, chunk in with_intro if not own)
                    if kind == "html":
                        reply, quoted = html_to_text(reply), html_to_text(quoted)
                    case = Case("quotequail", f"{name}#{n}", body, kind=kind, expected=reply.strip())
                    case.result["quoted"] = quoted
                    cases.append(case)
    return cases


COFFEE_STRING = r'("""(?:.|\n)*?"""|\'(?:[^\'\\\n]|\\.)*\'|"(?:[^"\\\n]|\\.)*")'


def _coffee(literal: str) -> str:
    """A CoffeeScript string literal's value: a heredoc loses its lines' common indentation."""
    if literal.startswith('"""'):
        lines = literal[3:-3].split("\n")
        indents = [len(line) - len(line.lstrip(" ")) for line in lines[1:] if line.strip()]
        cut = min(indents, default=0)
        text = "\n".join([lines[0]] + [line[cut:] for line in lines[1:]])
    else:
        text = literal[1:-1]
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def planer_cases(root: Path, known: set[str]) -> list[Case]:
    cases = []
    for name, kind, call in (("planerText.test.coffee", "plain", "extractFromPlain"),
                             ("planerHtml.test.coffee", "html", "extractFromHtml")):
        source = (root / "test" / name).read_text(encoding="utf-8")
        for n, block in enumerate(re.split(r"\n\s*it '", source)[1:]):
            env: dict[str, str] = {}
            for m in re.finditer(r"(\w+)\s*=\s*" + COFFEE_STRING + "|expect\\(planer\\." + call +
                                 r"\((\w+)[^)]*\)\)\.to\.equal\((\w+|" + COFFEE_STRING + r")\)", block):
                if m.group(1):
                    env[m.group(1)] = _coffee(m.group(2))
                    continue
                body = env.get(m.group(3))
                want = m.group(4)
                want = env.get(want) if re.fullmatch(r"\w+", want) else _coffee(want)
                if body is None or want is None or body in known:
                    continue
                if kind == "html":
                    want = html_to_text(want)
                cases.append(Case("planer", f"{name}#{n}", body, kind=kind, expected=want))
    snippets = re.findall(r"replySnippet = " + COFFEE_STRING + r"\s*originalMsgSnippet = " + COFFEE_STRING +
                          r"\s*msgBody = fs.readFileSync\(absolutePath\('([^']+)'", source)
    for reply, original, path in snippets:
        cases.append(Case("planer", path, (root / "test" / path).read_text(encoding="utf-8"), kind="html",
                          keep=(_coffee(reply),), drop=(_coffee(original),), group="client:outlook"))
    return cases


# -- grouping -----------------------------------------------------------------------------------------------

LANGUAGES = [("ru", r"пишет|написал|\d:\d\d.*<[^>]*@[^>]*>:\s*$|Исходное|От:"), ("pl", r"napisał|pisze|Od:"),
             ("de", r"schrieb|Von:|Ursprüngliche"), ("fr", r"a écrit|De :|De:"), ("es", r"escribió"),
             ("nl", r"schreef|Van:"), ("sv/da/no", r"skrev|Fra:|Från:"), ("en", r"wrote|sent:|Original Message|From:"),
             ("ja/zh", r"[\u3040-\u30ff\u4e00-\u9fff]")]
CLIENTS = [("gmail", r"gmail_quote|gmail_extra"), ("outlook", r"divRplyFwdMsg|OLK_SRC|MsoNormal|mso-|appendonsend"),
           ("apple", r'type="?cite'), ("yahoo", r"yahoo_quoted"), ("thunderbird", r"moz-cite-prefix")]


def group_of(case: Case) -> str:
    if case.group:
        return case.group
    if case.kind == "html":
        for client, pattern in CLIENTS:
            if re.search(pattern, case.body, re.I):
                return f"client:{client}"
        return "client:other-html"
    for language, pattern in LANGUAGES:
        if re.search(pattern, case.body, re.I | re.M):
            return f"lang:{language}"
    return "lang:none (no attribution)"


# -- scoring ------------------------------------------------------------------------------------------------

WORD = re.compile(r"\w+", re.U)


def words(text: str) -> collections.Counter:
    return collections.Counter(w.lower() for w in WORD.findall(text or ""))


def squash(text: str) -> str:
    return " ".join((text or "").split())


def message_of(case: Case):
    if case.kind == "eml":
        return email.message_from_string(case.body, policy=email.policy.compat32)
    return MIMEText(case.body, case.kind, "utf-8")


def source_text(case: Case) -> str:
    if case.kind == "html":
        return html_to_text(case.body)
    if case.kind == "eml":
        from plugin_host.text import plain_text
        return plain_text(message_of(case))
    return case.body


def score(case: Case) -> dict:
    text = customer_text(message_of(case))
    question = strip_sign_off(strip_greeting(text), name=case.sender)
    result = {"text": text, "question": question}
    if case.expected is None:
        result.update(kept=all(s in text for s in case.keep), clean=not any(s in text for s in case.drop))
        result.update(q_kept=all(s in question for s in case.keep), q_clean=not any(s in question for s in case.drop))
        return result
    want = words(case.expected)
    removed = words(source_text(case)) - want
    got, asked = words(text), words(question)
    want_question = words(strip_sign_off(strip_greeting(case.expected), name=case.sender))
    result.update(
        exact=squash(text) == squash(case.expected),
        kept=not (want - got), clean=not any(got[w] > want[w] for w in removed),
        q_kept=not (want_question - asked), q_clean=not any(asked[w] > want[w] for w in removed),
        lost=sorted((want - got).elements()), leaked=sorted(w for w in removed if got[w] > want[w]))
    return result


def table(rows: dict[str, list[Case]]) -> list[str]:
    out = ["| | cases | exact | kept | clean | kept & clean | q-kept | q-clean |", "|---|---|---|---|---|---|---|---|"]
    for name, cases in rows.items():
        n = len(cases)

        def pct(key):
            scored = [c for c in cases if key in c.result]
            return f"{sum(bool(c.result[key]) for c in scored)}/{len(scored)}" if scored else "–"
        both = f"{sum(c.result['kept'] and c.result['clean'] for c in cases)}/{n}"
        out.append(f"| {name} | {n} | {pct('exact')} | {pct('kept')} | {pct('clean')} | {both} | {pct('q_kept')} | "
                   f"{pct('q_clean')} |")
    return out


def load(cache: Path) -> list[Case]:
    roots = unpack(cache)
    if not roots:
        sys.exit(f"no corpora in {cache}: run with --fetch (pip download / npm pack into it), or pass --corpora DIR")
    cases: list[Case] = []
    if "talon" in roots:
        cases += talon_text_cases(roots["talon"]) + talon_fixture_cases(roots["talon"])
    if "quotequail" in roots:
        cases += quotequail_cases(roots["quotequail"])
    if "planer" in roots:
        cases += planer_cases(roots["planer"], {c.body for c in cases})
    return cases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=CACHE, help=f"download/cache directory (default {CACHE})")
    parser.add_argument("--fetch", action="store_true", help="download the packages into --corpora first")
    parser.add_argument("--failures", action="store_true", help="print each case that is not kept & clean")
    args = parser.parse_args(argv)
    if args.fetch:
        fetch(args.corpora)
    cases = load(args.corpora)
    for case in cases:
        case.result = score(case) | {k: v for k, v in case.result.items() if k == "quoted"}
    by_corpus = collections.defaultdict(list)
    by_group = collections.defaultdict(list)
    for case in cases:
        by_corpus[case.corpus].append(case)
        by_group[group_of(case)].append(case)
    print("\n".join(table(dict(by_corpus) | {"**all**": cases})))
    print()
    print("\n".join(table(dict(sorted(by_group.items())))))
    print("\nLocalized clients (benchmarks/localized_clients.py: Thunderbird, Roundcube, K-9, Gmail/Outlook in Japanese):")
    print("\n".join(localized_table([(case, check_localized(case)) for case in localized_cases()])))
    if args.failures:
        for case in cases:
            r = case.result
            if r["kept"] and r["clean"] and r.get("q_kept", True) and r.get("q_clean", True):
                continue
            print(f"\n=== {case.corpus} {case.name} [{group_of(case)}] kept={r['kept']} clean={r['clean']} "
                  f"q_kept={r['q_kept']} q_clean={r['q_clean']} lost={r.get('lost')} leaked={r.get('leaked')}")
            print("--- expected:\n" + (case.expected if case.expected is not None else f"keep {case.keep}"))
            print("--- got:\n" + r["text"])
            if r["question"] != r["text"]:
                print("--- question:\n" + r["question"])


if __name__ == "__main__":
    main()
