"""Kueue's defaults, filled in as the API server does when it stores an object.

A CRD's structural schema carries ``default`` values; the API server applies them to every
object it stores, so ``kubectl get cq -o wide`` shows ``BestEffortFIFO`` for a ClusterQueue
that never named a strategy. A default applies where the enclosing object exists (or is itself
defaulted, as Kueue's ``preemption: {}``), never inside a list item that is absent.
"""

from __future__ import annotations

import copy
from typing import Any

from taskgov.kueue.schemas import Schema, schema, served_version


def fill_defaults(value: Any, schema_: Schema) -> Any:
    """``value`` with the schema's defaults filled in; ``value`` itself is not changed."""
    if isinstance(value, dict):
        properties = schema_.get("properties")
        if not properties:
            return value
        filled = dict(value)
        for key, child in properties.items():
            if key not in filled and "default" in child:
                filled[key] = copy.deepcopy(child["default"])
            if key in filled:
                filled[key] = fill_defaults(filled[key], child)
        return filled
    if isinstance(value, list) and isinstance(schema_.get("items"), dict):
        return [fill_defaults(item, schema_["items"]) for item in value]
    return value


def with_defaults(manifest: dict[str, Any]) -> dict[str, Any]:
    """A Kueue manifest as the API server would store it; other manifests are returned as is."""
    kind = str(manifest.get("kind", ""))
    version = served_version(manifest.get("apiVersion", ""), kind)
    if version is None:
        return manifest
    filled: dict[str, Any] = fill_defaults(manifest, schema(kind, version))
    return filled
