"""Validate API responses against the schemas of the discovery documents shipped in googleapiclient.

Strict: no field the schema lacks, int64/uint64 values as strings, int32 as numbers, enums respected.
"""
from __future__ import annotations

import json
import os

import googleapiclient

DOCS = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents")
_cache: dict[str, dict] = {}


def document(name: str) -> dict:
    if name not in _cache:
        with open(os.path.join(DOCS, name), encoding="utf-8") as fh:
            _cache[name] = json.load(fh)
    return _cache[name]


def method_response_schema(doc_name: str, method_id: str) -> str | None:
    def walk(res):
        for r in res.get("resources", {}).values():
            for m in r.get("methods", {}).values():
                if m["id"] == method_id:
                    return m.get("response", {}).get("$ref")
            found = walk(r)
            if found:
                return found
        return None
    return walk(document(doc_name))


def check(instance, schema: dict | str, doc_name: str = "gmail.v1.json", path: str = "$") -> list[str]:
    """Return a list of problems (empty when the instance conforms)."""
    doc = document(doc_name)
    if isinstance(schema, str):
        schema = {"$ref": schema}
    if "$ref" in schema:
        return check(instance, doc["schemas"][schema["$ref"]], doc_name, path)
    problems: list[str] = []
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "object":
        if not isinstance(instance, dict):
            return [f"{path}: expected object, got {type(instance).__name__}"]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            if key in props:
                problems += check(value, props[key], doc_name, f"{path}.{key}")
            elif extra is not None:
                problems += check(value, extra, doc_name, f"{path}.{key}")
            else:
                problems.append(f"{path}.{key}: not in schema {schema.get('id', '')}")
    elif kind == "array":
        if not isinstance(instance, list):
            return [f"{path}: expected array"]
        for i, item in enumerate(instance):
            problems += check(item, schema["items"], doc_name, f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(instance, str):
            problems.append(f"{path}: expected string ({fmt or 'string'}), got {type(instance).__name__}")
        elif fmt in ("int64", "uint64") and not instance.lstrip("-").isdigit():
            problems.append(f"{path}: int64 string {instance!r} is not a number")
        elif "enum" in schema and instance not in schema["enum"]:
            problems.append(f"{path}: {instance!r} not one of {schema['enum']}")
    elif kind == "integer":
        if not isinstance(instance, int) or isinstance(instance, bool):
            problems.append(f"{path}: expected integer, got {type(instance).__name__}")
    elif kind == "boolean":
        if not isinstance(instance, bool):
            problems.append(f"{path}: expected boolean")
    elif kind == "number":
        if not isinstance(instance, (int, float)):
            problems.append(f"{path}: expected number")
    return problems
