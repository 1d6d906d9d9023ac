"""Render results as table, json, yaml or csv, the same way for every subcommand.

``table`` is for people: numbers in human units (fractions without exponents, large ones
thousands separated, seconds as durations), one line per row (never wrapped) and text longer
than a Kubernetes name cut with an ellipsis; ``wide`` is the same table with nothing cut.
``json``, ``yaml`` and ``csv`` are for programs: the values as they are.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any, Literal

import yaml

OutputFormat = Literal["table", "wide", "json", "yaml", "csv"]

# Characters of text a ``table`` cell shows (Kubernetes names, at most 63, always fit).
MAX_TABLE_CELL = 64
# Columns holding seconds end so; a table shows them as durations under the name without it.
SECONDS_SUFFIX = "_s"


def dump_yaml_documents(objects: Sequence[Any]) -> str:
    """Multi-document YAML that ``kubectl apply -f -`` takes."""
    return yaml.safe_dump_all(list(objects), sort_keys=False, explicit_start=True)


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


def render_rows(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], output: OutputFormat
) -> str:
    """Rows of data in the chosen format; ``table`` and ``wide`` are for people, the rest for
    programs."""
    if output == "json":
        return dump_json(list(rows))
    if output == "yaml":
        return yaml.safe_dump(list(rows), sort_keys=False)
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    return render_table(rows, columns, cut=output == "table")


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, cut: bool) -> str:
    """Columns two spaces apart, headers in capitals, every line stripped on the right."""
    header = [_heading(column) for column in columns]
    body = [[human_cell(column, row.get(column), cut=cut) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(columns))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in (header, *body)
    )


def _heading(column: str) -> str:
    if column.endswith(SECONDS_SUFFIX) and len(column) > len(SECONDS_SUFFIX):
        column = column.removesuffix(SECONDS_SUFFIX)
    return column.upper()


def human_cell(column: str, value: object, *, cut: bool = True) -> str:
    """One value as a table shows it (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float) and column.endswith(SECONDS_SUFFIX):
        return human_duration(float(value))
    if isinstance(value, float):
        return human_number(value)
    if isinstance(value, int):
        return str(value)  # counts, ids and ports: as they are
    text = " ".join(str(value).split())
    if cut and len(text) > MAX_TABLE_CELL:
        return text[: MAX_TABLE_CELL - 1] + "…"
    return text


def human_number(value: float) -> str:
    """At most 3 decimals, thousands separated, never an exponent (``976,400``, ``0.083``)."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}".removesuffix(".0")
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def human_duration(seconds: float) -> str:
    """Seconds as ``45s``, ``5m``, ``1h30m``, ``3d4h`` (whole seconds; days past 48 hours)."""
    if not math.isfinite(seconds):
        return str(seconds)
    sign, total = ("-" if seconds < 0 else ""), round(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if total >= 2 * 86_400:
        parts = [(days, "d"), (hours, "h")]
    elif total >= 3_600:
        parts = [(days * 24 + hours, "h"), (minutes, "m")]
    elif total >= 60:
        parts = [(minutes, "m"), (secs, "s")]
    else:
        parts = [(secs, "s")]
    text = "".join(f"{amount}{unit}" for amount, unit in parts if amount) or "0s"
    return sign + text
