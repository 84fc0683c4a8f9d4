"""Partial responses: Google's standard ``fields`` parameter (``messages(id,threadId),nextPageToken``).

A mask is checked against the method's response schema in the discovery document before the call
runs; a field the response cannot have is Google's 400 "Invalid field selection ...". ``*`` selects
everything at its level.
"""
from __future__ import annotations

import json
from functools import lru_cache

from .errors import ApiError

APIS = {"gmail": ("gmail", "v1"), "tasks": ("tasks", "v1"), "drive": ("drive", "v3")}  # method id prefix


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


def check_fields(spec: str, method_id: str) -> dict:
    """The parsed mask, once every field it names is one the method's response schema has."""
    mask = parse_fields(spec)
    api = method_id.split(".", 1)[0]
    response = _response_ref(method_id) if api in APIS else None
    if response:
        _check(mask, {"$ref": response}, _document(api), "")
    return mask


def _check(mask: dict, schema: dict, doc: dict, path: str) -> None:
    properties = _properties(schema, doc)
    if properties is None:  # a map or free-form object: any key may be there
        return
    for name, sub in mask.items():
        if name == "*":
            continue
        if name not in properties:
            raise ApiError(400, f"Invalid field selection {path}{name}", "invalidParameter")
        if sub:
            _check(sub, properties[name], doc, f"{path}{name}/")


def _properties(schema: dict, doc: dict) -> dict | None:
    """The properties of an object schema, through ``$ref`` and array items."""
    while "$ref" in schema or schema.get("type") == "array":
        schema = doc["schemas"][schema["$ref"]] if "$ref" in schema else schema.get("items", {})
    return schema.get("properties")


@lru_cache(maxsize=None)
def _document(api: str) -> dict:
    from googleapiclient.discovery_cache import get_static_doc

    return json.loads(get_static_doc(*APIS[api]))


@lru_cache(maxsize=None)
def _response_ref(method_id: str) -> str | None:
    def walk(resource: dict) -> str | None:
        for method in resource.get("methods", {}).values():
            if method.get("id") == method_id:
                return method.get("response", {}).get("$ref")
        return next((found for child in resource.get("resources", {}).values() if (found := walk(child))), None)

    return walk(_document(method_id.split(".", 1)[0]))


def _select(value, mask: dict):
    if not mask or "*" in mask:
        return value
    if isinstance(value, list):
        return [_select(v, mask) for v in value]
    if not isinstance(value, dict):
        return value
    return {k: _select(value[k], sub) for k, sub in mask.items() if k in value}


def apply_fields(body: dict, mask: dict | str) -> dict:
    """The parts of ``body`` a mask (parsed, or a ``fields`` string) selects."""
    return _select(body, parse_fields(mask) if isinstance(mask, str) else mask)
