"""Acknowledgement templates: Jinja2 in an immutable sandbox, admin folder first, shipped second.

One template per language and variant: ``<lang>/acknowledgement.txt.j2`` and
``<lang>/out_of_hours.txt.j2``. A broken admin template is a start-up error naming the file and
line; a render failure at run time falls back to the shipped template and is logged.
"""
from __future__ import annotations

import difflib
import logging
import sys
import time
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from plugin_host.errors import ConfigError

from .sandbox import MAX_EXPONENT, MAX_TEXT, BoundedSandbox  # noqa: F401 - MAX_EXPONENT: the bounds' names

log = logging.getLogger(__name__)
SHIPPED = Path(__file__).parent / "templates"
VARIANTS = ("acknowledgement", "out_of_hours")


MAX_SECONDS = 2.0  # an acknowledgement renders in milliseconds; loops in loops that write nothing run for hours


def environment(templates_dir: str = "") -> ImmutableSandboxedEnvironment:
    # utf-8-sig: a template saved by Notepad (with a byte-order mark) must not start the customer's mail with it
    loaders = [FileSystemLoader(templates_dir, encoding="utf-8-sig")] if templates_dir else []
    loaders.append(FileSystemLoader(str(SHIPPED)))
    return BoundedSandbox(loader=ChoiceLoader(loaders), autoescape=False, undefined=StrictUndefined,
                          keep_trailing_newline=True, trim_blocks=False)


def bounded_render(template, context: dict) -> str:
    """The template's text, refused once it grows beyond ``MAX_TEXT`` (a long loop), not after, or once the
    render has run ``MAX_SECONDS``: loops that write nothing (``range(99999)`` in ``range(99999)``) meet no
    bound on text, and a render runs in the host's own thread, which no timeout can stop from outside."""
    parts, size = [], 0
    previous = sys.gettrace()
    sys.settrace(_deadline_watch(time.monotonic() + MAX_SECONDS))
    try:
        for part in template.generate(**context):
            size += len(part)
            if size > MAX_TEXT:
                raise SecurityError(f"the text grows beyond {MAX_TEXT} characters")
            parts.append(part)
    finally:
        sys.settrace(previous)
    return "".join(parts)


def _deadline_watch(deadline: float):
    """A trace function raising in the template's code (and the helpers it calls, such as ``lipsum``) once
    ``deadline`` has passed; Python raises it in the traced frame, so the render stops there."""
    def watch(frame, event, arg):
        if time.monotonic() > deadline:
            raise SecurityError(f"the render ran longer than {MAX_SECONDS:g} s (a loop in a loop?)")
        return watch
    return watch


def shipped_environment() -> ImmutableSandboxedEnvironment:
    return environment("")


def languages(templates_dir: str = "") -> set[str]:
    found = {p.name for p in SHIPPED.iterdir() if p.is_dir()}
    if templates_dir:
        found |= {p.name for p in Path(templates_dir).iterdir() if p.is_dir()}
    return found


SAMPLE_CONTEXT = {"first_name": "Anna", "subject": "Order 1234", "owner_phrase": "our team will look after it",
                  "owner_name": "Anna Kowalska",
                  "expectation": "We usually answer within one business day.",
                  "deadline": "Monday, 23 November 2026, 17:00 (Europe/Warsaw, UTC+01:00)",
                  "articles": [{"title": "Refunds", "url": "https://help.example.com/refunds",
                                "readable_url": "https://help.example.com/refunds"}],
                  "agent_name": "Anna Kowalska", "agent_title": "Support", "holiday": "",
                  "back_at": "Monday, 23 November 2026, 09:00 (Europe/Warsaw, UTC+01:00)"}


# Everything an admin template can raise while rendering; a folder removed at run time is an OSError.
# MemoryError: one allocation too large for the machine failed (nothing of it is held).
RENDER_FAILURES = (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError, OSError, MemoryError)


def check_templates(settings) -> None:
    """Compile and trial-render every admin template now, so a mistake stops start-up, not a
    customer's reply: syntax errors, unknown variables (in every branch, not only those the sample
    takes), endless recursion, unreadable files and attempts to reach Python internals."""
    if not settings.templates_dir:
        return
    _check_language_folders(Path(settings.templates_dir))
    env = environment(settings.templates_dir)
    for path in sorted(Path(settings.templates_dir).rglob("*.j2")):
        name = path.relative_to(settings.templates_dir).as_posix()
        try:
            bounded_render(env.get_template(name), SAMPLE_CONTEXT)
            unknown = unknown_variables(env, name)
        except TemplateSyntaxError as exc:
            raise ConfigError("plugins.autoreply.templates_dir", f"{path}:{exc.lineno}: {exc.message}") from None
        except SecurityError as exc:
            why = "runs too long" if "ran longer" in str(exc) else "makes too much text" \
                if any(word in str(exc) for word in ("beyond", "longer", "larger", "exponent")) \
                else "tries to reach Python internals"
            raise ConfigError("plugins.autoreply.templates_dir", f"{path}: refused, the template {why} ({exc})") from None
        except RecursionError:
            raise ConfigError("plugins.autoreply.templates_dir",
                              f"{path}: the template calls itself without end (a recursive macro?)") from None
        except RENDER_FAILURES as exc:
            raise ConfigError("plugins.autoreply.templates_dir",
                              f"{path}{_line(exc, path)}: {type(exc).__name__}: {exc}") from None
        if unknown:
            raise ConfigError("plugins.autoreply.templates_dir", f"{path}: unknown variable {unknown[0]!r}; "
                                                                 f"the templates know {sorted(SAMPLE_CONTEXT)}")


def _line(exc: BaseException, path: Path) -> str:
    """":<line>" of the template where a render failed (Jinja puts the template's lines in the traceback)."""
    lines = [tb.tb_lineno for tb in _frames(exc.__traceback__) if tb.tb_frame.f_code.co_filename == str(path)]
    return f":{lines[-1]}" if lines else ""


def _frames(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _check_language_folders(templates_dir: Path) -> None:
    """A language of the admin's own with one variant only gets the English other one (said now, not found
    out at the first out-of-hours mail); a misspelt variant's file would never be used."""
    shipped = {p.name for p in SHIPPED.iterdir() if p.is_dir()}
    files = [f"{v}.txt.j2" for v in VARIANTS]
    for folder in sorted(p for p in templates_dir.iterdir() if p.is_dir()):
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            close = difflib.get_close_matches(path.name, files, n=1, cutoff=0.85)
            if close and path.name not in files and not (folder / close[0]).is_file():  # beside it: a partial
                raise ConfigError("plugins.autoreply.templates_dir", f"{path}: not a template name (did you mean "
                                                                     f"{close[0]}?); a language folder holds "
                                                                     f"{' and '.join(files)}")
        present = [f for f in files if (folder / f).is_file()]
        for missing in [f for f in files if f not in present] if present and folder.name not in shipped else []:
            log.warning("%s is missing: %s customers get the English %s (copy %s and translate it)",
                        folder / missing, folder.name, missing, SHIPPED / "en" / missing)


def unknown_variables(env, name: str) -> list[str]:
    """Variables a template reads that the acknowledgement does not give it, whichever branch uses them."""
    source, _, _ = env.loader.get_source(env, name)
    found = meta.find_undeclared_variables(env.parse(source))
    return sorted(found - set(SAMPLE_CONTEXT) - set(env.globals))


def template_name(templates_dir: str, language: str, variant: str) -> str:
    """The template for a language, English when neither the admin nor we ship that language (or that variant)."""
    name = f"{language}/{variant}.txt.j2"
    if language in languages(templates_dir) and any((Path(d) / name).is_file() for d in (templates_dir, SHIPPED) if d):
        return name
    return f"en/{variant}.txt.j2"


def render_shipped(language: str, variant: str, context: dict) -> str:
    name = f"{language}/{variant}.txt.j2"
    if not (SHIPPED / name).exists():
        name = f"en/{variant}.txt.j2"
    return shipped_environment().get_template(name).render(**context)


def render(settings, language: str, variant: str, context: dict) -> str:
    """The admin's template (or ours); any failure of the admin's falls back to the shipped one."""
    try:
        name = template_name(settings.templates_dir, language, variant)
        return bounded_render(environment(settings.templates_dir).get_template(name), context)
    except RENDER_FAILURES as exc:
        log.error("template %s/%s failed (%s: %s); using the shipped template", language, variant,
                  type(exc).__name__, exc)
        return render_shipped(language, variant, context)


def written_language(templates_dir: str, language: str, variant: str) -> str:
    """The language the acknowledgement is written in: the customer's when a template exists for it, else
    English. Its dates and sentences follow it, so a German customer's English text has no German date in it."""
    try:
        return template_name(templates_dir, language, variant).split("/", 1)[0]
    except OSError:  # the admin's folder is gone: ``render`` falls back to the shipped templates
        return language if (SHIPPED / f"{language}/{variant}.txt.j2").is_file() else "en"
