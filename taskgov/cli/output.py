"""Render results as table, json, yaml or csv, the same way for every subcommand."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

import yaml
from rich.console import Console
from rich.table import Table

OutputFormat = Literal["table", "json", "yaml", "csv"]


def dump_yaml_documents(objects: Sequence[Any]) -> str:
    """Multi-document YAML that ``kubectl apply -f -`` takes."""
    return yaml.safe_dump_all(list(objects), sort_keys=False, explicit_start=True)


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


def render_rows(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], output: OutputFormat
) -> str:
    """Rows of data in the chosen format; ``table`` is for people, the rest for programs."""
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
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column.upper())
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(table)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "".join(line.rstrip() + "\n" for line in text.splitlines())
