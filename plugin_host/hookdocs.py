"""Generate docs/hooks.md from the docstrings in :mod:`plugin_host.hookspecs`.

``python -m plugin_host.hookdocs > docs/hooks.md`` regenerates it; a test fails when the file and
the hookspecs disagree or when a hook has no docstring.
"""
from __future__ import annotations

import inspect

from . import hookspecs

GROUPS = [
    ("Event hooks", ["on_ticket_opened", "on_customer_replied", "on_agent_replied", "sweep_queries", "sweep_tasklists", "on_sweep",
                     "owned_labels"]),
    ("Facts hooks", ["ticket_deadline", "suggest_articles"]),
    ("UI hooks", ["ticket_sections", "compose_suggestions", "homepage_sections", "on_card_action"]),
    ("Registration hooks", ["register_routes", "register_commands", "register_settings"]),
]


def hook_names() -> list[str]:
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, "labeldesk_spec")]


def render() -> str:
    lines = ["# Labeldesk plugin hooks", "",
             "Generated from `plugin_host/hookspecs.py` by `python -m plugin_host.hookdocs`; do not edit by hand.",
             "", "Implement hooks with `from plugin_host import hookimpl` and register the module under the",
             "`labeldesk` entry-point group. Hooks are called with keyword arguments; accept only the ones you need.", ""]
    grouped = {n for _, names in GROUPS for n in names}
    missing = [n for n in hook_names() if n not in grouped]
    for title, names in GROUPS + ([("Other hooks", missing)] if missing else []):
        lines += [f"## {title}", ""]
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
