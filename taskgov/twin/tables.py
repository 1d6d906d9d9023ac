"""Server-side tables (``meta.k8s.io/v1 Table``) as the API server renders a CRD's columns.

``kubectl get`` asks for ``as=Table`` and prints whatever columns the server chose: for a
custom resource, ``Name`` followed by the CRD's ``additionalPrinterColumns`` of the requested
version (``Age`` alone when it declares none). Each column is a JSONPath into the object;
``date`` columns are turned into an age, as the API server does, so the column reads like
``kubectl get pods``. See the CustomResourceDefinition docs, "Additional printer columns".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_NAME_DESCRIPTION = (
    "Name must be unique within a namespace; clients use it to refer to the object. "
    "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
# ``.status.conditions[?(@.type=='Admitted')].status``: a filter on a list, then a field.
_FILTER = re.compile(
    r"^(?P<list>[\w.]*)\[\?\(@\.(?P<key>\w+)==\'(?P<value>[^\']*)\'\)\](?P<rest>.*)$"
)


@dataclass(frozen=True, slots=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry: a header, its JSONPath, type and priority."""

    name: str
    json_path: str
    type: str
    description: str
    priority: int = 0


AGE = PrinterColumn(
    "Age",
    ".metadata.creationTimestamp",
    "date",
    "How long ago the object was created (metadata.creationTimestamp).",
)


def human_duration(seconds: float) -> str:
    """Seconds as kubectl shows an age: ``45s``, ``3m20s``, ``5h``, ``12d``, ``2y40d``.

    Times more than a second in the future read ``<invalid>``, as in ``kubectl get``.
    """
    if seconds < -1:
        return "<invalid>"
    total = max(int(seconds), 0)
    minutes, hours = total // 60, total // 3600
    days, years = hours // 24, hours // (24 * 365)
    if total < 120:
        return f"{total}s"
    if minutes < 10:
        return _with_rest(minutes, "m", total % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return _with_rest(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _with_rest(days, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return _with_rest(years, "y", days % 365, "d")
    return f"{years}y"


def _with_rest(whole: int, unit: str, rest: int, rest_unit: str) -> str:
    """``3m20s``, or ``3m`` when the rest is zero, as kubectl's ``HumanDuration`` writes it."""
    return f"{whole}{unit}{rest}{rest_unit}" if rest else f"{whole}{unit}"


def _field(value: Any, dotted: str) -> Any:
    for part in (p for p in dotted.split(".") if p):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def json_path(obj: dict[str, Any], path: str) -> Any:
    """The value at ``path`` (dotted fields, optionally one ``[?(@.k=='v')]`` filter), or None."""
    match = _FILTER.match(path)
    if match is None:
        return _field(obj, path)
    items = _field(obj, match["list"])
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and str(item.get(match["key"])) == match["value"]:
            return _field(item, match["rest"])
    return None


def _cell(column: PrinterColumn, obj: dict[str, Any], now: datetime) -> Any:
    value = json_path(obj, column.json_path)
    if value is None:
        return None
    if column.type == "date":
        try:
            created = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
        return human_duration((now - created).total_seconds())
    if column.type == "integer":
        return value if isinstance(value, int) else None
    return value if isinstance(value, str | int | float | bool) else str(value)


def table(
    columns: tuple[PrinterColumn, ...],
    items: list[dict[str, Any]],
    resource_version: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    continue_token: str = "",
    include_object: str = "Metadata",
) -> dict[str, Any]:
    """A Table of ``items``: ``Name`` then ``columns``.

    Each row carries the object's metadata, the whole object (``include_object="Object"``, as
    ``kubectl get --sort-by`` asks) or nothing (``"None"``), as the ``includeObject`` parameter.
    """
    moment = now()
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [
            {
                "name": "Name",
                "type": "string",
                "format": "name",
                "description": _NAME_DESCRIPTION,
                "priority": 0,
            },
            *(
                {
                    "name": c.name,
                    "type": c.type,
                    "format": "",
                    "description": c.description,
                    "priority": c.priority,
                }
                for c in columns
            ),
        ],
        "rows": [
            {
                "cells": [
                    item["metadata"]["name"],
                    *(_cell(c, item, moment) for c in columns),
                ],
                **_row_object(item, include_object),
            }
            for item in items
        ],
    }


def _row_object(item: dict[str, Any], include_object: str) -> dict[str, Any]:
    if include_object == "None":
        return {}
    if include_object == "Object":
        return {"object": item}
    partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}
    return {"object": {**partial, "metadata": item["metadata"]}}
