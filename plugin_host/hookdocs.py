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


# What a third-party plugin's author needs beside the hooks (tests/test_third_party_plugins.py keeps it true).
WRITING_A_PLUGIN = """\
## Writing a plugin

- **Installing.** In the plugin's own package, `[project.entry-points.labeldesk]` with `vipdesk = "vipdesk"` (the
  module holding the hook functions). That name, `vipdesk`, is the plugin's: admins put it in `[plugins] enabled`,
  its settings are `[plugins.vipdesk]`, and `labeldesk plugins` lists it. Install it where Labeldesk runs.
- **Settings.** Declare them under the same name: `register("vipdesk", validate)` in `register_settings`; a bad value
  is `raise ConfigError("plugins.vipdesk.domains", "a list of domains")` (`plugin_host.config`: the key, then what
  is wrong), which stops start-up with that line. Every hook's `settings` is the host's whole configuration; yours
  are `settings.plugin("vipdesk")`, what `validate` returned (the section's raw dict when you declared none).
- **Actions.** Event hooks and `on_card_action` record on `actions` (`plugin_host.actions`): `add_labels(*names)`,
  `remove_labels(*names)` (under `[mailbox] label_root` unless given whole, `/` for levels), and `reply`, `draft`,
  `task`, `complete_tasks`, `notify` taking the fields of `Reply`, `Draft`, `Task`, `TaskDone` and `Notification`.
  A reply, draft, task or notification is done once per `key`, and a ticket is tried again after a failure (yours,
  another plugin's, Gmail's). Without a key, an event hook's action gets one naming your plugin, the event and the
  latest message a person wrote: once per event and message, whatever the retries; a button's (`on_card_action`)
  one naming the button and that message, so a second press does nothing until the customer writes again. Give a
  `key` of your own
  (`"vipdesk-refund:" + ticket.thread_id`) for once per ticket, or to repeat on purpose (a date in it).
  A label name that is no string or has an empty level, or an email notification to something that is not an
  address, raises at once, in your hook.
  `Priority/…` is the `sla` plugin's: to make your label raise a ticket's priority, set `[plugins.sla]
  label_priorities` (docs/sla.md).
- **Switched on over history.** Admins switch plugins on one by one on a mailbox with weeks of mail.
  `settings.switched_on_at("vipdesk")` says when yours was switched on (the first sync or sweep that found it in
  `enabled`; switched off and on again, the later time; after the state folder was lost, when Labeldesk last sent
  mail from the mailbox), or `None` when it counts as on from the start (a new install, an upgrade): leave alone
  what was over before, as the `sla` plugin escalates no deadline missed then.
- **When it breaks.** A plugin that raises in an event hook is logged by name with its traceback; what it recorded
  is dropped, the other plugins' actions are carried out, and the ticket is tried again at the next sync (set
  aside after three). A list hook (the side panel's sections too) that raises or answers something else is logged
  and left out. At start, an enabled plugin that is not installed, does not import, does not fit these hooks, or
  fails declaring or checking its settings stops start-up with an error naming it; one installed but not enabled
  only logs a warning, once a run, and `labeldesk plugins` lists it as broken with the reason.
- **Trying it.** `labeldesk mailbox serve --seed sample` and `labeldesk sync --dry-run` (README, *Command line*);
  `LABELDESK_TRACE_HOOKS=1 labeldesk -v sync` logs each hook call. `labeldesk demo` runs the shipped plugins
  only."""


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
             "`labeldesk` entry-point group. Hooks are called with keyword arguments; accept only the ones you need.",
             "", *WRITING_A_PLUGIN.splitlines(), ""]
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
