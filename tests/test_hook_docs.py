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
