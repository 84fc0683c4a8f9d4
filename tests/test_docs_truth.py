"""The documentation names only settings, commands and modules that exist, and every setting is documented.

Settings tables are the Markdown tables whose first column holds `` `key` `` cells (README.md: `` `[section] key` ``);
commands are the ``labeldesk …`` lines of README.md's code blocks.
"""
from __future__ import annotations

import re

import pytest

from plugin_host import config as host_config
from plugin_host.errors import ConfigError

from .conftest import ROOT

CODE_NAME = re.compile(r"`([^`]+)`")


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _first_cells(text: str, heading: str | None = None) -> list[str]:
    """The first cell of every row of the tables (under ``heading`` when given), header rows left out."""
    if heading is not None:
        text = text.split(heading, 1)[1]
        text = re.split(r"\n## ", text, maxsplit=1)[0]
    cells = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cell = line.split("|")[1].strip()
            if cell.startswith("`"):
                cells.append(cell)
    return cells


def _readme_host_settings() -> set[str]:
    """``section.key`` for every row of README.md's settings table (``[agents]`` is a table of addresses)."""
    keys = set()
    for cell in _first_cells(_read("README.md"), "## Configuration"):
        names = CODE_NAME.findall(cell)
        section = re.match(r"\[(\w+)\]\s*(.*)", names[0])
        assert section, f"README settings row {cell!r} does not start with `[section] key`"
        if section.group(1) == "agents":
            continue
        for key in [section.group(2), *names[1:]]:
            keys.add(f"{section.group(1)}.{key.strip()}")
    return keys


def _code_settings() -> set[str]:
    keys = {f"mailbox.{k}" for k in host_config.MAILBOX_KEYS}
    keys |= {f"host.{f.name}" for f in host_config.dataclasses.fields(host_config.HostSettings)}
    keys |= {f"addon.{f.name}" for f in host_config.dataclasses.fields(host_config.AddonSettings)}
    keys |= {"admin.admins"}
    return keys


def test_readme_settings_table_matches_config():
    documented, known = _readme_host_settings(), _code_settings()
    assert documented - known == set(), "README.md documents settings plugin_host/config.py does not know"
    assert known - documented == set(), "settings missing from README.md's table"


def test_admin_section_holds_only_what_the_readme_says():
    with pytest.raises(ConfigError) as raised:
        host_config.validate({"mailbox": {"address": "support@example.com"}, "admin": {"zzz": 1}}, None)
    assert raised.value.problem.endswith("known: admins")


def test_readme_agent_keys_match_config():
    row = next(c for c in _read("README.md").splitlines() if c.startswith('| `[agents]'))
    described = set(re.search(r"\{([^}]*)\}", row).group(1).replace(" ", "").split(","))
    assert described == set(host_config.AGENT_KEYS)


def _sla_known() -> set[str]:
    from plugins.sla.policy import validate

    with pytest.raises(ConfigError) as raised:
        validate({"zzz_not_a_setting": 1})
    return set(raised.value.problem.split("known: ", 1)[1].split(", "))


def _autoreply_known() -> set[str]:
    from plugins.autoreply.settings import AutoreplySettings

    return set(AutoreplySettings.__dataclass_fields__)


def _kb_known() -> set[str]:
    from plugins.kb_suggest import KNOWN

    return set(KNOWN)


@pytest.mark.parametrize("doc, heading, known", [("docs/autoreply.md", "## Settings", _autoreply_known),
                                                 ("docs/sla.md", "## Settings", _sla_known),
                                                 ("docs/kb.md", "## Sources", _kb_known)])
def test_plugin_settings_tables_match_validators(doc, heading, known):
    documented = set()
    for cell in _first_cells(_read(doc), heading):
        for name in CODE_NAME.findall(cell):
            documented.add(name.split(".", 1)[0])  # targets.<priority>.<target> → targets
    documented &= {n for n in documented if re.fullmatch(r"[a-z_]+", n)}
    expected = known()
    assert documented - expected == set(), f"{doc} documents settings the plugin does not accept"
    assert expected - documented == set(), f"settings missing from {doc}'s table"


def _readme_commands() -> set[tuple[str, ...]]:
    """Each ``labeldesk`` command line in README.md's code blocks, as its command path (no options)."""
    blocks = re.findall(r"```(?:bash)?\n(.*?)```", _read("README.md"), re.S)
    paths = set()
    for block in blocks:
        for line in block.splitlines():
            for found in re.finditer(r"(?:^|&&\s*|\.venv/bin/)labeldesk\s+([a-z][a-z ]*?)(?=\s+[-A-Z\[\"'.#|]|\s*$|\s+&&)",
                                     line.strip()):
                paths.add(tuple(found.group(1).split()))
    return paths


def test_every_readme_command_exists():
    from plugin_host.cli import get_cli

    group = get_cli()
    commands = _readme_commands()
    assert ("mailbox", "serve") in commands and ("demo",) in commands
    for path in commands:
        command = group
        for part in path:
            sub = getattr(command, "commands", {}).get(part)
            if sub is None:  # "kb index | search TEXT | …": the words after a group are its commands or arguments
                assert command is not group, f"README.md names `labeldesk {' '.join(path)}`, which does not exist"
                break
            command = sub


def test_every_command_is_in_the_readme():
    from plugin_host.cli import get_cli

    readme = _read("README.md")
    group = get_cli()
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        for full in ([f"{name} {sub}" for sub in subcommands] if subcommands else [name]):
            if full.startswith("kb "):  # listed as `labeldesk kb index | search TEXT | eval | gaps | import`
                assert full.split()[1] in readme.split("labeldesk kb ", 1)[1].split("\n", 1)[0]
                continue
            assert f"labeldesk {full}" in readme, f"`labeldesk {full}` is missing from README.md"


def test_architecture_names_existing_modules():
    text = _read("docs/architecture.md")
    named = set(re.findall(r"`((?:plugin_host|plugins|gmail_addon)/[\w/]*\.py)`", text))
    for cell in _first_cells(text, "## Modules"):
        for name in CODE_NAME.findall(cell):
            if name.endswith(".py"):
                named.add(f"plugin_host/{name}")
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
    modules = {p.name for p in (ROOT / "plugin_host").glob("*.py")} - {"__init__.py"}
    undocumented = sorted(m for m in modules if f"`{m}`" not in text and f"plugin_host/{m}" not in text)
    assert not undocumented, f"plugin_host modules missing from docs/architecture.md: {undocumented}"


def test_every_environment_variable_the_code_reads_is_in_the_readme():
    """Besides LABELDESK_<SECTION>__<KEY> overrides, the code reads a few variables by name (the plugin allow-list,
    the hook trace): an admin only learns of them from README.md."""
    read = set()
    for folder in ("plugin_host", "plugins", "gmail_addon"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r"environ\.get\(\"(LABELDESK_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    assert "LABELDESK_CONFIG" in read
    readme = _read("README.md")
    assert sorted(name for name in read if f"`{name}" not in readme) == []
