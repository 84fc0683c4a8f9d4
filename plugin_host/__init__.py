"""Labeldesk's plugin host: everything plugins stand on.

Plugins import ``hookimpl`` from here and implement hooks from :mod:`plugin_host.hookspecs`.
"""
from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("labeldesk")

__all__ = ["hookimpl"]
