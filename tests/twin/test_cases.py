"""Table-driven twin scenarios: each file in cases/ holds Kueue objects and what Kueue decides."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from taskgov.policy.load import read_documents
from taskgov.scenarios import scenario_from_documents
from taskgov.twin.engine import Twin
from taskgov.twin.render import workload_manifest

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
UID_PLACEHOLDER = re.compile(r"\{uid:([^}]+)\}")


def play(path: Path) -> tuple[dict[str, Any], Twin]:
    text = path.read_text()
    header, *_ = yaml.safe_load_all(text)
    documents = [doc for doc in read_documents(text, path.name) if doc.index > 0]
    twin = Twin(scenario_from_documents(documents))
    twin.run()
    return header, twin


def observed(twin: Twin, want: dict[str, Any]) -> dict[str, Any]:
    """The same shape as ``want``, filled from the twin, with only the fields ``want`` names."""
    workloads: dict[str, Any] = {}
    for key, run in sorted(twin.runs.items()):
        expected = want["workloads"].get(key, {})
        manifest = workload_manifest(run)
        state = (
            "Finished" if run.finished_ms is not None else "Admitted" if run.running else "Pending"
        )
        got: dict[str, Any] = {"state": state}
        if "clusterQueue" in expected:
            got["clusterQueue"] = run.cluster_queue
        if "flavors" in expected:
            assignments = (
                manifest.get("status", {}).get("admission", {}).get("podSetAssignments", [])
            )
            got["flavors"] = {a["name"]: a["flavors"] for a in assignments}
        if "conditions" in expected:
            by_type = {c["type"]: c for c in manifest.get("status", {}).get("conditions", [])}
            got["conditions"] = {
                type_: {field: by_type.get(type_, {}).get(field) for field in fields}
                for type_, fields in expected["conditions"].items()
            }
        workloads[key] = got
    result: dict[str, Any] = {"workloads": workloads}
    if "preemptions" in want:
        timed = any("timeMs" in p for p in want["preemptions"])
        result["preemptions"] = [
            {"victim": p.victim, "preemptor": p.preemptor, "reason": p.reason}
            | ({"timeMs": p.time_ms} if timed else {})
            for p in twin.preemptions
        ]
    if "thrashes" in want:
        result["thrashes"] = [
            {
                "timeMs": t.time_ms,
                "sinceMs": t.since_ms,
                "preemptors": list(t.preemptors),
                "victims": list(t.victims),
            }
            for t in twin.thrashes
        ]
    if "events" in want:
        result["events"] = events_in_order(twin, want["events"])
    if "endMs" in want:
        result["endMs"] = twin.now_ms
    return result


def events_in_order(twin: Twin, wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The wanted condition changes that the ledger holds, matched in order (a subsequence)."""
    found: list[dict[str, Any]] = []
    ledger = iter(twin.ledger)
    for event in wanted:
        for change in ledger:
            got = {
                "timeMs": change.time_ms,
                "workload": change.workload,
                "type": change.type,
                "status": change.status,
                "reason": change.reason,
                "message": change.message,
            }
            if all(got[k] == v for k, v in event.items()):
                found.append({k: got[k] for k in event})
                break
    return found


def expand(want: Any, twin: Twin) -> Any:
    if isinstance(want, dict):
        return {key: expand(value, twin) for key, value in want.items()}
    if isinstance(want, list):
        return [expand(value, twin) for value in want]
    if isinstance(want, str):
        return UID_PLACEHOLDER.sub(lambda m: twin.runs[m.group(1)].spec.uid, want)
    return want


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_twin_case(path: Path) -> None:
    header, twin = play(path)
    want = expand(header["want"], twin)
    assert observed(twin, want) == want, header["case"]


def test_twin_has_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
