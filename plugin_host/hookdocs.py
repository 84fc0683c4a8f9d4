"""Generate docs/hooks.md from the docstrings in :mod:`plugin_host.hookspecs`.

``python -m plugin_host.hookdocs > docs/hooks.md`` regenerates it, grouped by the banner comments of
hookspecs.py (one list of groups, not a second one kept here); a test fails when the file and
the hookspecs disagree or when a hook has no docstring.
"""
from __future__ import annotations

import inspect
import re

from . import hookspecs

# A banner of hookspecs.py: a dashed line, "# <Title>: <what they are for>", a dashed line.
BANNER = re.compile(r"^# -{10,}\n# (?P<title>[^:\n]+): (?P<about>[^\n]*)\n# -{10,}$", re.M)


def hook_names() -> list[str]:
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, "labeldesk_spec")]


def groups() -> list[tuple[str, str, list[str]]]:
    """(title, what for, hook names) for each banner comment of hookspecs.py, the hooks below it in the
    order they are declared; hooks above the first banner come last, as "Other hooks"."""
    source = inspect.getsource(hookspecs)
    banners = [(source.count("\n", 0, m.start()) + 1, m["title"], m["about"]) for m in BANNER.finditer(source)]
    found = [(banner[0], banner[1], banner[2], []) for banner in banners]
    other = []
    for line, name in sorted((inspect.getsourcelines(getattr(hookspecs, n))[1], n) for n in hook_names()):
        above = [group for group in found if group[0] < line]
        (above[-1][3] if above else other).append(name)
    return [(title, about, names) for _, title, about, names in found if names] + (
        [("Other hooks", "", other)] if other else [])


def render() -> str:
    lines = ["# Labeldesk plugin hooks", "",
             "Generated from `plugin_host/hookspecs.py` by `python -m plugin_host.hookdocs`; do not edit by hand.",
             "", "Implement hooks with `from plugin_host import hookimpl` and register the module under the",
             "`labeldesk` entry-point group. Hooks are called with keyword arguments; accept only the ones you need.", ""]
    for title, about, names in groups():
        lines += [f"## {title}", ""] + ([about[:1].upper() + about[1:], ""] if about else [])
        for name in names:
            fn = getattr(hookspecs, name)
            opts = fn.labeldesk_spec
            signature = f"{name}{inspect.signature(fn)}"
            lines += [f"### `{signature}`", ""]
            if opts.get("firstresult"):
                lines += ["*firstresult: the first non-None answer wins.*", ""]
            lines += [inspect.cleandoc(fn.__doc__ or "").strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
