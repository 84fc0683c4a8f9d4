"""Partial responses: Google's standard ``fields`` parameter (``messages(id,threadId),nextPageToken``)."""
from __future__ import annotations

from .errors import ApiError


def parse_fields(spec: str) -> dict:
    """Parse a fields mask into a nested dict; an empty dict means 'everything below'."""
    tree: dict = {}
    stack = [tree]
    token = ""

    def flush():
        nonlocal token
        if token:
            node = stack[-1]
            for part in token.strip().split("/"):
                node = node.setdefault(part.strip(), {})
            token = ""
            return node
        return None

    last = None
    for ch in spec:
        if ch == ",":
            flush()
        elif ch == "(":
            last = flush()
            if last is None:
                raise ApiError(400, f"Invalid field selection {spec}", "invalidParameter")
            stack.append(last)
        elif ch == ")":
            flush()
            if len(stack) == 1:
                raise ApiError(400, f"Invalid field selection {spec}", "invalidParameter")
            stack.pop()
        else:
            token += ch
    flush()
    if len(stack) != 1:
        raise ApiError(400, f"Invalid field selection {spec}", "invalidParameter")
    return tree


def _select(value, mask: dict):
    if not mask:
        return value
    if isinstance(value, list):
        return [_select(v, mask) for v in value]
    if not isinstance(value, dict):
        return value
    return {k: _select(value[k], sub) for k, sub in mask.items() if k in value}


def apply_fields(body: dict, spec: str) -> dict:
    return _select(body, parse_fields(spec))
