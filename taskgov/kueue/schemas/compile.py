"""Kueue's schemas turned into checks: the one encoding of its field rules, made executable.

The schema the twin serves (``/openapi/v3``, ``kubectl explain``) is also what manifests are
checked against, by the watcher's and the twin's readers alike, so the two cannot drift. The
API server's structural-schema semantics apply: unknown fields are refused unless the object
preserves them, ``null`` is unset, a required field with a default may be left out (the API
server fills it in first), and ``x-taskgov-rules`` name the rules across fields
(:mod:`taskgov.kueue.schemas.rules`). Where a schema leaves a string unbounded, at most 253
characters are taken, so a 1 MB value is a fault and not a cost.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from taskgov.kueue.schemas import Schema, schema, served_version
from taskgov.kueue.schemas.builders import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    LABEL_VALUE,
    QUALIFIED_NAME_FORMAT,
)
from taskgov.kueue.schemas.checks import (
    INT32_MAX,
    INT64_MAX,
    Check,
    anything,
    boolean,
    dictionary,
    integer,
    mapping,
    qualified_name,
    quantity,
    sequence,
    string,
)
from taskgov.kueue.schemas.rules import RULES

# What a value that misses a pattern is not, in a fault's message.
_PATTERN_NAMES = {
    DNS_SUBDOMAIN: "DNS-1123 subdomain name",
    DNS_LABEL: "DNS-1123 label",
    LABEL_VALUE: "label value",
}
_INTEGER_BOUNDS = {"int32": (-INT32_MAX - 1, INT32_MAX), "int64": (-INT64_MAX - 1, INT64_MAX)}


def compiled(schema_: Schema) -> Check:
    """The check of values of ``schema_`` (a structural OpenAPI v3 schema built here)."""
    if schema_.get("x-kubernetes-int-or-string"):
        return quantity
    kind = schema_.get("type")
    if kind == "object":
        return _object(schema_)
    if kind == "array":
        return sequence(
            compiled(schema_["items"]),
            min_items=schema_.get("minItems", 0),
            max_items=schema_.get("maxItems"),
        )
    if kind == "integer":
        low, high = _INTEGER_BOUNDS[schema_.get("format", "int32")]
        return integer(minimum=schema_.get("minimum", low), maximum=schema_.get("maximum", high))
    if kind == "boolean":
        return boolean
    return _string(schema_) if kind == "string" else anything


def _string(schema_: Schema) -> Check:
    if schema_.get("x-taskgov-format") == QUALIFIED_NAME_FORMAT:
        return qualified_name
    pattern = schema_.get("pattern")
    return string(
        max_length=schema_.get("maxLength", 253),
        pattern=re.compile(pattern) if pattern else None,
        choices=schema_.get("enum"),
        what=_PATTERN_NAMES.get(pattern or "", ""),
    )


def _object(schema_: Schema) -> Check:
    properties: dict[str, Schema] = schema_.get("properties", {})
    values = schema_.get("additionalProperties")
    if isinstance(values, dict):
        return dictionary(
            qualified_name, compiled(values), max_items=schema_.get("maxProperties", 256)
        )
    return mapping(
        {name: compiled(child) for name, child in properties.items()},
        required=[key for key in schema_.get("required", ()) if "default" not in properties[key]],
        closed=not schema_.get("x-kubernetes-preserve-unknown-fields", False),
        rules=[RULES[name] for name in schema_.get("x-taskgov-rules", ())],
    )


@cache
def kind_check(kind: str, version: str) -> Check:
    """The check of a whole ``kind`` manifest in Kueue API ``version`` (e.g. ``v1beta2``)."""
    return compiled(schema(kind, version))


def kueue_check(api_version: Any, kind: Any) -> Check | None:
    """The check of a manifest of this apiVersion and kind, if it is a Kueue kind served here."""
    version = served_version(api_version, kind)
    return None if version is None else kind_check(str(kind), version)
