"""Workloads of a scenario: Workload manifests, and batch Jobs and PyTorchJobs as Kueue's job
integrations turn them into Workloads, with the twin's timing annotations.

Each is read with :mod:`taskgov.kueue.read` (Kueue's request semantics), then given its
priority (from its WorkloadPriorityClass) and when it is submitted and how long it runs.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from taskgov.kueue.read import FieldReader, read_pod_set, read_workload
from taskgov.twin.durations import parse_duration_ms
from taskgov.twin.objects import PodSet, WorkloadSpec

SUBMIT_AT = "taskgov.io/submit-at"
RUN_FOR = "taskgov.io/run-for"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
JOB_UID_LABEL = "kueue.x-k8s.io/job-uid"
JOB_KINDS = {("Job", "batch/v1"), ("PyTorchJob", "kubeflow.org/v1")}


def stable_uid(*parts: str) -> str:
    """A deterministic UID, so the same scenario always prints the same output."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "taskgov-twin/" + "/".join(parts)))


def workload_name_for_job(kind: str, group: str, name: str, uid: str) -> str:
    """Kueue's ``GetWorkloadNameForOwnerWithGVK``: lower(kind)-name-<5 hex of sha1>."""
    digest = hashlib.sha1(
        f"{kind}\n{group}\n{name}\n{uid}".encode(), usedforsecurity=False
    ).hexdigest()
    prefix = f"{kind.lower()}-{name}"[: 253 - 6]
    return f"{prefix}-{digest[:5]}"


def _duration(reader: FieldReader, value: Any, path: str) -> int | None:
    try:
        return parse_duration_ms(str(value))
    except ValueError as error:
        reader.fault(path, str(error))
        return None


def _timing(reader: FieldReader, annotations: Mapping[str, Any]) -> tuple[int, int | None]:
    """When the workload is submitted and how long it runs once admitted (None: forever)."""
    submit = _duration(
        reader, annotations.get(SUBMIT_AT, "0s"), f"metadata.annotations.{SUBMIT_AT}"
    )
    run_for = None
    if RUN_FOR in annotations:
        run_for = _duration(reader, annotations[RUN_FOR], f"metadata.annotations.{RUN_FOR}")
    return submit or 0, run_for


def _priority(reader: FieldReader, classes: dict[str, int], name: str | None, path: str) -> int:
    if name is None:
        return 0
    if name not in classes:
        reader.fault(path, f"WorkloadPriorityClass {name!r} does not exist")
        return 0
    return classes[name]


def workload_spec(
    reader: FieldReader, body: Mapping[str, Any], classes: dict[str, int], document: int
) -> WorkloadSpec:
    """A Workload manifest of the scenario (a ``status.admission`` admits it at time zero)."""
    workload = read_workload(reader, body)
    priority = workload.priority
    if priority is None:
        priority = _priority(reader, classes, workload.priority_class, "spec.priorityClassName")
    submit_at, run_for = _timing(reader, workload.annotations)
    admission = workload.admission
    return WorkloadSpec(
        namespace=workload.namespace,
        name=workload.name,
        uid=workload.uid or stable_uid(workload.namespace, workload.name),
        queue_name=workload.queue_name,
        priority=priority,
        priority_class=workload.priority_class,
        pod_sets=workload.pod_sets,
        submit_at_ms=submit_at,
        run_for_ms=run_for,
        job_uid=workload.labels.get(JOB_UID_LABEL),
        labels=workload.labels,
        preadmitted=admission.flavors if admission else None,
        preadmitted_cluster_queue=admission.cluster_queue if admission else None,
        document=document,
    )


def job_workload_spec(
    reader: FieldReader,
    kind: str,
    body: Mapping[str, Any],
    classes: dict[str, int],
    document: int,
) -> WorkloadSpec:
    """A batch Job or PyTorchJob as Kueue's job integrations turn it into a Workload."""
    metadata = reader.get(body, "metadata", dict, {})
    name = reader.required(metadata, "name", str) or ""
    namespace = reader.get(metadata, "namespace", str, "default")
    labels = dict(metadata.get("labels") or {})
    kind, group = ("Job", "batch") if kind == "Job" else ("PyTorchJob", "kubeflow.org")
    job_uid = str(metadata.get("uid") or stable_uid(kind, namespace, name))
    spec = reader.get(body, "spec", dict, {})
    pod_sets = _job_pod_sets(reader, spec) if kind == "Job" else _replica_pod_sets(reader, spec)
    class_name = labels.get(PRIORITY_LABEL)
    submit_at, run_for = _timing(reader, metadata.get("annotations") or {})
    wl_name = workload_name_for_job(kind, group, name, job_uid)
    return WorkloadSpec(
        namespace=namespace,
        name=wl_name,
        uid=stable_uid(namespace, wl_name),
        queue_name=labels.get(QUEUE_LABEL, ""),
        priority=_priority(reader, classes, class_name, f"metadata.labels.{PRIORITY_LABEL}"),
        priority_class=class_name,
        pod_sets=pod_sets,
        submit_at_ms=submit_at,
        run_for_ms=run_for,
        job_uid=job_uid,
        labels={JOB_UID_LABEL: job_uid},
        document=document,
    )


def _job_pod_sets(reader: FieldReader, spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    parallelism = reader.get(spec, "parallelism", int, 1)
    completions = reader.get(spec, "completions", int, parallelism)
    template = reader.required(spec, "template", dict) or {}
    return (read_pod_set(reader, "main", min(parallelism, completions), template, "spec"),)


def _replica_pod_sets(reader: FieldReader, spec: Mapping[str, Any]) -> tuple[PodSet, ...]:
    replicas = reader.required(spec, "pytorchReplicaSpecs", dict) or {}
    pod_sets = []
    for replica_type in ("Master", "Worker"):
        replica = replicas.get(replica_type)
        if replica is None:
            continue
        path = f"spec.pytorchReplicaSpecs.{replica_type}"
        count = reader.get(replica, "replicas", int, 1)
        template = replica.get("template") or {}
        pod_sets.append(read_pod_set(reader, replica_type.lower(), count, template, path))
    for replica_type in sorted(set(replicas) - {"Master", "Worker"}):
        reader.fault(
            f"spec.pytorchReplicaSpecs.{replica_type}", "replica type must be Master or Worker"
        )
    return tuple(pod_sets)
