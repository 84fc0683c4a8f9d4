"""The plugin manager: load plugins from the ``labeldesk`` entry-point group, enable them per config.

Built by a function (never at import time). Shipped plugins are registered through the same entry
points as third-party ones. ``LABELDESK_LOAD_PLUGINS`` (comma-separated) limits which entry points
load, ``LABELDESK_TRACE_HOOKS=1`` logs every hook call — both for debugging.
"""
from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import pluggy

from . import hookspecs
from .config import did_you_mean, from_environment
from .errors import ConfigError, GmailError, PluginError
from .ticket import CONTINUED

log = logging.getLogger(__name__)
GROUP = "labeldesk"
ALWAYS_ON = {"addon"}  # parts of the product packaged as plugins, not features admins switch
# Names of hooks called in this process (with at least one implementation); tests use it to prove
# every hook is exercised.
HOOKS_CALLED: set[str] = set()
# Installed plugins left out because they are broken (name → why), as said in this process: each is said once a
# run, at WARNING (an enabled one stops start-up with its own error), and `labeldesk plugins` lists them.
BROKEN: dict[str, str] = {}


def left_out_as_broken(name: str, problem: str) -> None:
    """Record and say, once a process, that the installed plugin ``name`` is left out and why."""
    problem = " ".join(problem.split())  # pluggy's explanation spans lines: one log line each
    if BROKEN.get(name) == problem:
        log.debug("plugin %s left out again: %s", name, problem)
        return
    BROKEN[name] = problem
    log.warning("plugin %s left out: %s; update or uninstall it (enabled, it stops start-up)", name, problem)


@dataclass(frozen=True)
class PluginInfo:
    """What ``labeldesk plugins`` shows about one installed plugin."""

    name: str
    version: str
    enabled: bool
    hooks: tuple[str, ...]
    broken: str = ""  # why it is left out ("it does not load (…)"), or "" when it loaded


def installed_plugins() -> dict[str, tuple[Any, str]]:
    """Entry points of group ``labeldesk``: name → (loaded module, distribution version)."""
    allow = os.environ.get("LABELDESK_LOAD_PLUGINS")
    allowed = {n.strip() for n in allow.split(",")} if allow else None
    found = {}
    for ep in metadata.entry_points(group=GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        try:
            module = ep.load()
        except Exception as exc:  # a broken third-party plugin must not take the host down
            left_out_as_broken(ep.name, f"it does not load ({type(exc).__name__}: {exc})")
            continue
        version = ep.dist.version if ep.dist else "?"
        found[ep.name] = (module, version)
    return found


def left_out_by_environment(name: str) -> str:
    """Why an installed plugin ``name`` did not load when ``LABELDESK_LOAD_PLUGINS`` leaves it out, else ""."""
    allow = os.environ.get("LABELDESK_LOAD_PLUGINS")
    if not allow or name not in {ep.name for ep in metadata.entry_points(group=GROUP)}:
        return ""
    return (f"{name} is installed but LABELDESK_LOAD_PLUGINS={allow} leaves it out: add it there, unset the "
            f"variable, or take it out of [plugins] enabled")


def load_failure(name: str) -> str:
    """Why the installed plugin ``name`` does not load (its entry point raises on import), or "" when it loads or is
    not installed."""
    for ep in metadata.entry_points(group=GROUP, name=name):
        try:
            ep.load()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    return ""


def make_plugin_manager(enabled: tuple[str, ...] | None = None, extra: dict[str, Any] | None = None) -> pluggy.PluginManager:
    """A manager with every enabled installed plugin (all of them when ``enabled`` is None).

    ``extra`` registers additional plugin objects by name (tests, one-off plugins).
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    available = installed_plugins()
    if enabled is not None:
        unknown = [n for n in enabled if n not in available and n not in (extra or {})]
        if unknown and left_out_by_environment(unknown[0]):
            raise ConfigError("plugins.enabled", left_out_by_environment(unknown[0]))
        if unknown and (why := load_failure(unknown[0])):
            raise PluginError(f"plugin {unknown[0]} is installed but does not load ({why}): install what it needs, "
                              "update or reinstall it, or take it out of [plugins] enabled")
        if unknown:
            raise ConfigError("plugins.enabled", f"unknown plugin {unknown[0]!r}{did_you_mean(unknown[0], available, repr)}"
                                                 f": install its package where Labeldesk runs, or take it out of "
                                                 f"[plugins] enabled; installed: {sorted(available)}")
    for name, (module, _version) in available.items():
        if enabled is None or name in enabled or name in ALWAYS_ON:
            _register(pm, module, name, broken_is_fatal=enabled is not None)
    for name, plugin in (extra or {}).items():
        pm.register(plugin, name=name)
    pm.check_pending()
    pm.add_hookcall_monitoring(lambda name, impls, kwargs: impls and HOOKS_CALLED.add(name),
                               lambda outcome, name, impls, kwargs: None)
    if os.environ.get("LABELDESK_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda msg: log.info("hook %s", msg.rstrip()))
        pm.enable_tracing()
    return pm


def _register(pm: pluggy.PluginManager, module, name: str, broken_is_fatal: bool) -> bool:
    """Register one plugin; one whose hooks do not fit Labeldesk's (written for another version) is an error
    naming it when it is enabled, and is left out with a logged error when every installed plugin is loaded
    (the command line, ``labeldesk plugins``) or it is off."""
    try:
        pm.register(module, name=name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        if pm.is_registered(module):
            pm.unregister(module)
        if broken_is_fatal:
            raise PluginError(f"plugin {name} does not fit this Labeldesk ({exc}): update it, or take it out of "
                              "[plugins] enabled") from None
        left_out_as_broken(name, f"it does not fit this Labeldesk ({exc})")
        return False
    return True


def hook_callers(pm: pluggy.PluginManager, hook: str) -> Iterator[tuple[str, Callable[..., list]]]:
    """(plugin name, a caller of ``hook`` on that plugin alone) for each plugin implementing it, in pluggy's
    order, so the caller can name a plugin that breaks and go on with the others where that is right.

    For the registration hooks, which are called once at start: each implementation is called as pluggy calls
    it (its own arguments, by position; a ``None`` result is no result); hook wrappers are not called."""
    for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue

        def call(_impl=impl, **kwargs) -> list:
            HOOKS_CALLED.add(hook)
            result = _impl.function(*[kwargs[name] for name in _impl.argnames])
            return [] if result is None else [result]
        yield impl.plugin_name, call


def listed_answers(pm: pluggy.PluginManager, hook: str, item: type | tuple[type, ...],
                   broken: Callable[[PluginError], None], order: Callable[[list[str]], list[str]] | None = None,
                   **kwargs) -> list:
    """The items the plugins answer to a hook that returns a list (``sweep_queries``, ``google_scopes``, the side
    panel's sections…), each plugin asked on its own, in pluggy's order or by ``order(plugin names)``. One that
    raises, or answers anything but a list or tuple of ``item`` (a bare string would be read letter by letter), is
    handed to ``broken`` as a :class:`PluginError` naming it and the hook, and its answer is left out: ``broken``
    raises to stop (at start-up), or logs so the others go on. Gmail refusing (a :class:`GmailError`) is raised."""
    impls = getattr(pm.hook, hook).get_hookimpls()
    asked = list(reversed(impls))
    if order is not None:
        place = {name: at for at, name in enumerate(order([impl.plugin_name for impl in impls]))}
        asked.sort(key=lambda impl: place[impl.plugin_name])
    found = []
    for impl in asked:
        if impl.hookwrapper or impl.wrapper:
            continue
        call = pm.subset_hook_caller(hook, remove_plugins=[i.plugin for i in impls if i is not impl])
        try:
            answers = call(**kwargs)
        except GmailError:
            raise
        except Exception as exc:
            error = PluginError(f"plugin {impl.plugin_name} failed in {hook} ({type(exc).__name__}: {exc})"[:300])
            error.__cause__ = exc
            broken(error)
            continue
        answer = answers[0] if answers else []
        if not isinstance(answer, (list, tuple)) or not all(isinstance(one, item) for one in answer):
            wanted = " or ".join(t.__name__ for t in (item if isinstance(item, tuple) else (item,)))
            broken(PluginError(f"plugin {impl.plugin_name}: {hook} returned {answer!r:.120}, not a list of {wanted}"))
            continue
        found.extend(answer)
    return found


def log_broken(error: PluginError) -> None:
    """For :func:`listed_answers` while the host runs: said with the plugin's traceback, its answer left out."""
    log.error("%s; left out, the other plugins' answers are used", error, exc_info=error.__cause__)


def plugin_infos(pm_all: pluggy.PluginManager, enabled: tuple[str, ...] | None) -> list[PluginInfo]:
    """Name, version, enabled flag and implemented hooks of every installed plugin, the broken ones too."""
    versions = {ep.name: ep.dist.version if ep.dist else "?" for ep in metadata.entry_points(group=GROUP)}
    on = lambda name: enabled is None or name in enabled or name in ALWAYS_ON  # noqa: E731
    infos = []
    for name, plugin in pm_all.list_name_plugin():
        hooks = tuple(sorted(h.name for h in pm_all.get_hookcallers(plugin) or ()))
        infos.append(PluginInfo(name, versions.get(name, "?"), on(name), hooks))
    for name, problem in BROKEN.items():
        if name in versions and not pm_all.has_plugin(name):
            infos.append(PluginInfo(name, versions[name], on(name), (), problem))
    return sorted(infos, key=lambda info: info.name)


def check_plugin_sections(config, extra: dict[str, Any] | None = None) -> None:
    """Every ``[plugins.<name>]`` belongs to an installed plugin: a misspelt name is an error, not ignored."""
    installed = {ep.name for ep in metadata.entry_points(group=GROUP)} | set(extra or {})
    for name in sorted(set(config.plugin_raw) & ALWAYS_ON - set(extra or {})):  # [plugins.addon]: read by nothing
        raise ConfigError(f"plugins.{name}", f"{name} is always on and has no [plugins.{name}] section: "
                                             f"its settings go in [{name}] (see README, Configuration)")
    for name in sorted(set(config.plugin_raw) - installed):
        raise ConfigError(f"plugins.{name}", f"no plugin {name!r} is installed{did_you_mean(name, installed, repr)}; "
                                             f"installed: {sorted(installed)}")


def validate_plugin_settings(pm: pluggy.PluginManager, config) -> None:
    """Run each enabled plugin's ``register_settings`` validators over ``[plugins.<name>]``; store results. A
    plugin that breaks while declaring or checking its settings stops start-up with an error naming it."""
    def broken(plugin: str, exc: Exception) -> None:
        if isinstance(exc, ConfigError):
            raise exc
        raise PluginError(f"plugin {plugin} failed while declaring its settings ({type(exc).__name__}: {exc}): "
                          "update or reinstall it, or take it out of [plugins] enabled") from exc

    for name, (validate, paths, plugin) in _validators(pm, broken).items():
        try:
            config.plugin_settings[name] = _validated(name, validate, paths, config)
        except ConfigError:
            raise
        except Exception as exc:  # its own bug, not the admin's setting: say whose and where
            raise PluginError(f"plugin {plugin} failed checking [plugins.{name}] ({type(exc).__name__}: {exc}): "
                              "update or reinstall it, or take it out of [plugins] enabled") from exc


Validators = dict[str, tuple[Callable[[dict], Any], tuple[str, ...], str]]


def _validators(pm: pluggy.PluginManager, broken: Callable[[str, Exception], None]) -> Validators:
    """Settings section → (validator, path keys, declaring plugin), asking each plugin by itself; ``broken(plugin,
    exception)`` hears of a plugin whose ``register_settings`` raised, and raises to stop or returns to go on."""
    validators: Validators = {}
    declaring = [""]

    def register(name: str, validate: Callable[[dict], Any], paths: tuple[str, ...] = ()) -> None:
        if name in validators:
            raise ConfigError(f"plugins.{name}", f"settings declared by two plugins, {validators[name][2]} and "
                                                 f"{declaring[0]}: uninstall one of them or take it out of [plugins] enabled")
        validators[name] = (validate, tuple(paths), declaring[0])

    for plugin, call in hook_callers(pm, "register_settings"):
        declaring[0] = plugin
        try:
            call(register=register)
        except Exception as exc:
            for name in [n for n, entry in validators.items() if entry[2] == plugin]:
                del validators[name]  # what it declared before it broke is left out with it
            broken(plugin, exc)
    return validators


def _validated(name: str, validate: Callable, paths: tuple[str, ...], config) -> Any:
    raw = _paths_beside_config(dict(config.plugin_raw.get(name, {})), paths, getattr(config, "path", None))
    try:
        takes_config = len(inspect.signature(validate).parameters) >= 2
        return validate(raw, config) if takes_config else validate(raw)
    except ConfigError as exc:  # name the LABELDESK_PLUGINS__… variable when one set the value
        raise from_environment(exc, getattr(config, "environment", {})) from None


def warn_disabled_settings(config, enabled_pm: pluggy.PluginManager) -> None:
    """The ``[plugins.<name>]`` sections of installed plugins that are not enabled are checked too: a mistake
    there is a warning now (the plugin is off), not a surprise on the day an admin switches it on. Whatever such a
    plugin does wrong itself (a hook that raises or does not fit) is a warning naming it: it cannot stop the host."""
    disabled = _disabled_plugins(config, enabled_pm, lambda name: name in config.plugin_raw)

    def broken(plugin: str, exc: Exception) -> None:
        log.warning("%s is not enabled; declaring its settings failed (%s: %s): update or reinstall it before "
                    "enabling it", plugin, type(exc).__name__, exc)

    for name, (validate, paths, plugin) in _validators(disabled, broken).items():
        if name in config.plugin_raw and not enabled_pm.has_plugin(name):
            try:
                _validated(name, validate, paths, config)
            except ConfigError as exc:
                log.warning("%s is not enabled; fix its settings before enabling it: %s", name, exc)
            except Exception as exc:  # its own bug: a plugin that is off must not take the host down
                log.warning("%s is not enabled; checking its settings failed (%s: %s)", name, type(exc).__name__, exc)


def _disabled_plugins(config, enabled_pm: pluggy.PluginManager, wanted: Callable[[str], bool]) -> pluggy.PluginManager:
    """A manager of the installed plugins that are not enabled (those ``wanted``), only to ask them about
    themselves; one whose hooks do not fit is left out with a warning."""
    disabled = pluggy.PluginManager(GROUP)
    disabled.add_hookspecs(hookspecs)
    for name, (module, _version) in installed_plugins().items():
        if wanted(name) and not enabled_pm.has_plugin(name):
            try:
                disabled.register(module, name=name)
            except pluggy.PluginValidationError as exc:
                left_out_as_broken(name, f"it does not fit this Labeldesk ({exc})")
    return disabled


def disabled_plugin_manager(config, enabled_pm: pluggy.PluginManager) -> pluggy.PluginManager:
    """The installed plugins that are not enabled, to ask about what they keep (``forget_customer``)."""
    return _disabled_plugins(config, enabled_pm, lambda name: True)


def _paths_beside_config(raw: dict, paths: tuple[str, ...], config_file) -> dict:
    """Relative path settings, read from the configuration file's folder (like ``state_dir``)."""
    for key in paths:
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            path = Path(value).expanduser()
            if not path.is_absolute() and config_file is not None:
                path = Path(config_file).parent / path
            raw[key] = str(path)
    return raw


def disabled_plugins_labels(config, enabled_pm: pluggy.PluginManager) -> set[str]:
    """Labels that installed plugins which are not enabled declare with ``owned_labels``, less those an
    enabled plugin owns too: nothing keeps them true any more. A plugin that is off and raises is named in
    a warning and its labels are left alone (what it owns cannot be known)."""
    disabled = _disabled_plugins(config, enabled_pm, lambda name: True)
    owned = set()
    for plugin, call in hook_callers(disabled, "owned_labels"):
        try:
            owned |= {label for labels in call(settings=config) for label in labels or []}
        except Exception as exc:
            log.warning("%s is not enabled; asking which labels it owns failed (%s: %s): its labels are kept",
                        plugin, type(exc).__name__, exc)
    kept = set(listed_answers(enabled_pm, "owned_labels", str, log_broken, settings=config))
    hosts = {label for label in owned - kept if host_label(label, config.mailbox.label_root)}
    for label in sorted(hosts):
        log.warning("a plugin that is not enabled claims the label %s, which Labeldesk itself keeps: it is kept",
                    label)
    return owned - kept - hosts


HOST_LABELS = {"Awaiting reply", "Owner", CONTINUED}  # and each agent's Owner/… label: the host's, whatever plugin is on


def host_label(label: str, root: str) -> bool:
    """Whether ``label`` (short, or under ``root``) is the host's own or Gmail's: never a plugin's to retire."""
    from .executor import SYSTEM_LABELS

    name = label[len(root) + 1:] if root and label.startswith(root + "/") else label
    return name.split("/")[0] in HOST_LABELS or label == root or label in SYSTEM_LABELS | {"SENT", "DRAFT", "CHAT"} \
        or label.startswith("CATEGORY_")
