"""YAML report fixtures: cluster queues and workloads in, the report's exact rows out.

A fixture file ``fixtures/<report>.yaml`` holds ``cases``; each case has an ``id`` (a sentence),
``cluster_queues`` (quota snapshots, each a quota_changed event replacing that ClusterQueue's
lines, or ``deleted: true``), ``workloads`` (each with its ``events``: ``"HH:MM type"`` or a
mapping with ``at``, ``type`` and fields such as ``message``, ``reason``, ``preemptor``),
optional ``params`` (``since``, ``until``, ``team``) and ``want`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from streams.events import ClusterQueueEvent, WorkloadEvent
from tests.sql.builders import ClusterQueueBuilder, at, make_cluster_queue, make_workload

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Case:
    """One fixture case, its events built."""

    report: str
    id: str
    events: list[WorkloadEvent | ClusterQueueEvent]
    params: dict[str, Any] = field(default_factory=dict)
    want: list[dict[str, Any]] = field(default_factory=list)


def load_cases() -> list[Case]:
    """Every case of every fixture file, in file order."""
    cases = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        for raw in document["cases"]:
            cases.append(
                Case(
                    report=path.stem,
                    id=raw["id"],
                    events=build_events(raw),
                    params=_params(raw.get("params") or {}),
                    want=[normalize(row) for row in raw.get("want") or []],
                )
            )
    return cases


def build_events(raw: dict[str, Any]) -> list[WorkloadEvent | ClusterQueueEvent]:
    """The events a case describes, ClusterQueues first."""
    queues: dict[str, ClusterQueueBuilder] = {}
    for snapshot in raw.get("cluster_queues") or []:
        name = snapshot["name"]
        builder = queues.setdefault(name, make_cluster_queue(name))
        if "team" in snapshot:
            builder.team(snapshot["team"])
        if "cohort" in snapshot:
            builder.cohort(snapshot["cohort"])
        if snapshot.get("deleted"):
            builder.deleted(_time(snapshot["at"]))
            continue
        builder.clear()
        for flavor, amounts in (snapshot.get("nominal") or {}).items():
            for resource, amount in amounts.items():
                builder.nominal(flavor, resource, amount)
        builder.changed(_time(snapshot["at"]))
    events: list[WorkloadEvent | ClusterQueueEvent] = [
        e for builder in queues.values() for e in builder.events()
    ]
    for spec in raw.get("workloads") or []:
        events.extend(_workload(spec))
    return events


def _workload(spec: dict[str, Any]) -> list[WorkloadEvent]:
    builder = make_workload(spec["name"]).team(spec.get("team", "team-a"))
    builder.gpus(spec.get("gpus", 0))
    if "cpu" in spec or "memory" in spec:
        builder.requests(
            **{k: v for k, v in (("cpu", spec.get("cpu")), ("memory", spec.get("memory"))) if v}
        )
    if "flavor" in spec:
        builder.flavor(spec["flavor"])
    if "priority_class" in spec:
        builder.priority_class(spec["priority_class"], spec.get("priority", 0))
    for item in spec["events"]:
        if isinstance(item, str):
            when, event_type = item.rsplit(" ", 1)
            builder.event(when, event_type)  # type: ignore[arg-type]
            continue
        fields = {k: v for k, v in item.items() if k not in ("at", "type", "preemptor")}
        if "preemptor" in item:
            fields["preemptor_uid"] = f"uid-{item['preemptor']}"
        builder.event(_time(item["at"]), item["type"], **fields)
    return builder.events()


def _params(raw: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"since": None, "until": None, "team": None}
    for name in ("since", "until"):
        if raw.get(name) is not None:
            params[name] = at(_time(raw[name]))
    params["team"] = raw.get("team")
    return params


def _time(value: Any) -> str:
    """A time as written in a fixture; YAML reads unquoted 10:30 as a number, so quote it."""
    if not isinstance(value, str):
        raise TypeError(f"quote times in fixtures: {value!r}")
    return value


def normalize(row: dict[str, Any]) -> dict[str, Any]:
    """A row with dates and times as ISO text, so YAML and DuckDB values compare equal."""
    return {key: _plain(value) for key, value in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return value
