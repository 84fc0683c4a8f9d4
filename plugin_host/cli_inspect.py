"""``labeldesk inspect``: how Labeldesk understands raw .eml files, one JSON line per file.

Never crashes on a bad file: each failure becomes a line with an ``error``.
"""
from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path
from typing import Iterator

from .config import Config

MAX_BYTES = 64 * 1024 * 1024  # Gmail takes messages up to 25 MB (about 35 MB encoded): anything beyond is no mail


def eml_files(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def inspect_file(path: Path, config: Config | None) -> dict:
    from .guard import unaddressable
    from .language import customer_language
    from .loopguard import should_acknowledge
    from .text import customer_text
    from .tickets import decode_header_value, header, writer

    own = config.mailbox.own_addresses if config else frozenset()
    try:
        raw = read_limited(path)
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        unreadable = not_an_email(raw, msg)
        if unreadable:
            return {"file": str(path), "customer": {"name": "", "email": ""}, "language": "", "text": "",
                    "acknowledge": False, "reason": unreadable}
        text = customer_text(msg)
        decision = should_acknowledge(msg, own)
        sender = writer(msg, "customer" if decision.acknowledge else "automatic", own)  # whom it would go to
        refused = unaddressable(sender.email) if decision.acknowledge else ""  # the guard would stop it
        return {"file": str(path), "customer": {"name": sender.name, "email": sender.email},
                "language": customer_language(f"{decode_header_value(header(msg, 'Subject'))}\n{text}", sender.name,
                                              sender.email),
                "text": text[:2000],
                "acknowledge": decision.acknowledge and not refused, "reason": refused or decision.reason}
    except Exception as exc:  # the contract: a bad file is a line with an error, never a crash
        return {"file": str(path), "error": f"{type(exc).__name__}: {exc}"}


def read_limited(path: Path) -> bytes:
    """The file's bytes, refusing one larger than any mail message (a device such as /dev/zero never ends)."""
    with open(path, "rb") as fh:
        raw = fh.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // (1024 * 1024)} MB: no mail message is this big")
    return raw


def not_an_email(raw: bytes, msg) -> str:
    """Why a file is no email message at all ("" when it looks like one): said plainly, not guessed at."""
    if not raw.strip():
        return "empty file"
    if not msg.keys():
        return "no mail headers: not an .eml file?"
    return ""


def run_inspect(paths: list[str], config: Config | None, as_json: bool, echo) -> int:
    count = 0
    for path in eml_files(paths):
        result = inspect_file(path, config)
        count += 1
        if as_json:
            echo(json.dumps(result, ensure_ascii=False))
        elif "error" in result:
            echo(f"{result['file']}: ERROR {result['error']}")
        else:
            verdict = "acknowledge" if result["acknowledge"] else f"no acknowledgement ({result['reason']})"
            echo(f"{result['file']}: {result['customer']['email'] or '?'} [{result['language'] or '?'}] {verdict}")
    return count
