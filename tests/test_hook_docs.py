"""The hook reference is generated from hookspecs and every hook is documented."""
from __future__ import annotations

import inspect

from plugin_host import hookdocs, hookspecs

from .conftest import ROOT


def test_docs_hooks_md_is_generated_from_hookspecs():
    on_disk = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert on_disk == hookdocs.render(), "run: python -m plugin_host.hookdocs > docs/hooks.md"


def test_every_hook_has_a_docstring_with_params():
    for name in hookdocs.hook_names():
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert doc.strip(), f"hook {name} is undocumented"
        for param in inspect.signature(fn).parameters:
            assert f":param {param}:" in doc, f"hook {name} does not document {param}"


def _sections(lines, heading, entry):
    """hook name → the section it is under, for lines where ``heading`` matches a section title and ``entry``
    a hook."""
    sections, current = {}, "(none)"
    for line in lines:
        if found := heading(line):
            current = found
        elif (name := entry(line)) in hookdocs.hook_names():
            sections[name] = current
    return sections


def test_docs_hooks_md_groups_each_hook_under_its_hookspecs_banner():
    """hookspecs.py's banners (`# Event hooks: …`) are the groups: a hook added under one must not land in
    docs/hooks.md's "Other hooks" (background_jobs did, from a second, hand-kept list of groups)."""
    import re

    source = (ROOT / "plugin_host" / "hookspecs.py").read_text(encoding="utf-8").splitlines()
    declared = _sections(source, lambda line: (m := re.match(r"# ([A-Z][^:]*): ", line)) and m.group(1),
                         lambda line: (m := re.match(r"def (\w+)\(", line)) and m.group(1))
    documented = _sections((ROOT / "docs" / "hooks.md").read_text(encoding="utf-8").splitlines(),
                           lambda line: line.startswith("## ") and line[3:],
                           lambda line: (m := re.match(r"### `(\w+)\(", line)) and m.group(1))
    assert set(declared) == set(hookdocs.hook_names())
    assert documented == declared
