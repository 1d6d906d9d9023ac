"""The twin's results as Kueue objects, a ``kubectl get workloads`` table, or a timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from taskgov.kueue.quantity import format_amount
from taskgov.twin.durations import format_duration_ms
from taskgov.twin.engine import Twin, WorkloadRun
from taskgov.twin.scenario import RUN_FOR, SUBMIT_AT

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
TABLE_COLUMNS = ["name", "queue", "reserved in", "admitted", "finished", "age"]


def timestamp(ms: int, epoch: datetime = EPOCH) -> str:
    """RFC 3339 at second precision, as the API server stores times."""
    return (epoch + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(run: WorkloadRun, epoch: datetime) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if run.conditions.is_true("QuotaReserved") and run.assignment is not None:
        status["admission"] = {
            "clusterQueue": run.cluster_queue,
            "podSetAssignments": [
                {
                    "name": ps.name,
                    "flavors": dict(sorted(ps.flavors.items())),
                    "resourceUsage": {
                        resource: format_amount(resource, pod_set.requests.get(resource, 0))
                        for resource in sorted(ps.flavors)
                    },
                    "count": pod_set.count,
                }
                for ps, pod_set in zip(run.assignment.pod_sets, run.spec.pod_sets, strict=True)
            ],
        }
    conditions = []
    for condition in run.conditions.items:
        item: dict[str, Any] = {
            "type": condition.type,
            "status": condition.status,
            "reason": condition.reason,
            "message": condition.message,
            "lastTransitionTime": timestamp(condition.last_transition_ms, epoch),
        }
        if condition.observed_generation is not None:
            item["observedGeneration"] = condition.observed_generation
        conditions.append(item)
    if conditions:
        status["conditions"] = conditions
    if run.evictions:
        status["schedulingStats"] = {
            "evictions": [
                {"reason": reason, "underlyingCause": "", "count": count}
                for reason, count in sorted(run.evictions.items())
            ]
        }
    return status


def workload_manifest(
    run: WorkloadRun, api_version: str = "kueue.x-k8s.io/v1beta1", epoch: datetime = EPOCH
) -> dict[str, Any]:
    """A Workload as ``kubectl get workload -o yaml`` would show it."""
    spec = run.spec
    annotations = {SUBMIT_AT: f"{spec.submit_at_ms // 1000}s"}
    if spec.run_for_ms is not None:
        annotations[RUN_FOR] = f"{spec.run_for_ms // 1000}s"
    body: dict[str, Any] = {
        "queueName": spec.queue_name,
        "podSets": [
            {
                "name": ps.name,
                "count": ps.count,
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "main",
                                "resources": {
                                    "requests": {
                                        r: format_amount(r, a // max(ps.count, 1))
                                        for r, a in sorted(ps.requests.items())
                                    }
                                },
                            }
                        ]
                    }
                },
            }
            for ps in spec.pod_sets
        ],
        "priority": spec.priority,
    }
    if spec.priority_class:
        body["priorityClassName"] = spec.priority_class
        body["priorityClassSource"] = "kueue.x-k8s.io/workloadpriorityclass"
    manifest: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": "Workload",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "uid": spec.uid,
            "generation": 1,
            "creationTimestamp": timestamp(run.created_ms, epoch),
            "annotations": annotations,
        },
        "spec": body,
    }
    if spec.labels:
        manifest["metadata"]["labels"] = dict(spec.labels)
    status = _status(run, epoch)
    if status:
        manifest["status"] = status
    return manifest


def workload_rows(twin: Twin, namespace: str | None = None) -> list[dict[str, str]]:
    """``kubectl get workloads`` rows: NAME, QUEUE, RESERVED IN, ADMITTED, FINISHED, AGE."""
    rows = []
    for run in sorted(twin.runs.values(), key=lambda r: (r.spec.namespace, r.spec.name)):
        if namespace is not None and run.spec.namespace != namespace:
            continue
        admitted = run.conditions.get("Admitted")
        finished = run.conditions.get("Finished")
        rows.append(
            {
                "namespace": run.spec.namespace,
                "name": run.spec.name,
                "queue": run.spec.queue_name,
                "reserved in": run.cluster_queue if run.conditions.is_true("QuotaReserved") else "",
                "admitted": admitted.status if admitted else "",
                "finished": finished.status if finished else "",
                "age": format_duration_ms(twin.now_ms - run.created_ms),
            }
        )
    return rows


def event_rows(twin: Twin) -> list[dict[str, str]]:
    """Every condition change, in the order the twin made them."""
    return [
        {
            "time": timestamp(change.time_ms),
            "workload": change.workload,
            "type": change.type,
            "status": change.status,
            "reason": change.reason,
            "message": change.message,
        }
        for change in twin.ledger
    ]
