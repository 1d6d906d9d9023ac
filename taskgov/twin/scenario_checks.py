"""What Kueue's API server would reject in a scenario, found before the twin reads it.

Each document is checked against its kind's shape (:mod:`taskgov.twin.object_shapes`), so the
reader can trust them. Across objects this adds what the twin needs to terminate and to be
exact: no cohort cycle, one object per name, unique UIDs, and ``status.admission`` naming a
ClusterQueue and flavors that exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from taskgov.errors import Fault
from taskgov.kueue.schemas.checks import Context, shown
from taskgov.twin.object_shapes import document_check, read_kind_check, time_annotations
from taskgov.twin.quota import find_cohort_cycle


def document_faults(where: str, body: Any) -> list[Fault]:
    """Faults of one document's shape; empty for kinds the reader itself reports as unknown."""
    if not isinstance(body, Mapping):
        return [Fault(where, "", "", "a document must be a mapping")]
    kind, api_version = body.get("kind"), body.get("apiVersion")
    ctx = Context(where, f"{kind if isinstance(kind, str) else 'object'} {_name(body)}".strip())
    for key, value in (("kind", kind), ("apiVersion", api_version)):
        if not isinstance(value, str):
            ctx.fault(key, f"must be a string, got {shown(value)}")
    if ctx.faults or (kind, api_version) in (("Policy", "taskgov/v1"), ("Cluster", "taskgov/v1")):
        return ctx.faults
    read = read_kind_check(str(kind), str(api_version))
    document_check(str(kind), str(api_version))(ctx, body, "")
    time_annotations(ctx, body)
    needs_spec = kind in ("Workload", "LocalQueue", "Job", "PyTorchJob")
    if read is not None and needs_spec and body.get("spec") is None:
        ctx.fault("spec", "is required")
    return ctx.faults


def _name(body: Mapping[str, Any]) -> str:
    metadata = body.get("metadata")
    if not isinstance(metadata, Mapping):
        return ""
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or len(name) > 253:
        return ""
    return f"{namespace}/{name}" if isinstance(namespace, str) and len(namespace) <= 63 else name


def drop_nulls(body: Any) -> None:
    """Remove ``key: null`` from every mapping, in place: the API server reads null as unset,
    and so, after this, does the scenario reader (which gives unset fields their defaults)."""
    stack = [body]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key in [key for key, item in value.items() if item is None]:
                del value[key]
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def scenario_faults(documents: Iterable[tuple[str, Any]]) -> list[Fault]:
    """Every fault of a scenario's documents, given as (``file#index``, body) pairs.

    Shapes come first; the checks across objects run only on well-shaped documents.
    """
    pairs = list(documents)
    for _, body in pairs:
        drop_nulls(body)
    faults = [fault for where, body in pairs for fault in document_faults(where, body)]
    return faults or _cross_faults(pairs)


def _cross_faults(pairs: list[tuple[str, Any]]) -> list[Fault]:
    faults: list[Fault] = []
    first: dict[tuple[str, str], str] = {}
    uids: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    flavors_of: dict[str, set[str]] = {}
    flavors: set[str] = set()
    for where, body in pairs:
        kind, metadata = body.get("kind"), body.get("metadata") or {}
        if kind in ("Scenario", "Namespace", "Policy", "Cluster") or not metadata:
            continue
        key = (kind, _name(body))
        subject = f"{kind} {key[1]}"
        if key in first:
            faults.append(
                Fault(where, subject, "metadata.name", f"already defined at {first[key]}")
            )
        first.setdefault(key, where)
        uid = metadata.get("uid")
        if uid is not None:
            if uid in uids:
                faults.append(
                    Fault(where, subject, "metadata.uid", f"{uid!r} is also the UID of {uids[uid]}")
                )
            uids.setdefault(uid, f"{subject} ({where})")
        spec = body.get("spec") or {}
        if kind == "Cohort":
            parents[key[1]] = spec.get("parentName") or spec.get("parent")
        elif kind == "ClusterQueue":
            flavors_of[key[1]] = {
                flavor["name"]
                for group in spec.get("resourceGroups") or []
                for flavor in group["flavors"]
            }
        elif kind == "ResourceFlavor":
            flavors.add(key[1])
    cycle = find_cohort_cycle(parents)
    if cycle:
        where = first.get(("Cohort", cycle[0]), "scenario")
        faults.append(
            Fault(
                where,
                f"Cohort {cycle[0]}",
                "spec.parentName",
                "cohorts form a cycle: " + " -> ".join(cycle),
            )
        )
    for where, body in pairs:
        if body.get("kind") == "Workload":
            faults += _admission_faults(where, body, flavors_of, flavors)
    return faults


def _admission_faults(
    where: str, body: Mapping[str, Any], flavors_of: dict[str, set[str]], flavors: set[str]
) -> list[Fault]:
    admission = (body.get("status") or {}).get("admission")
    if not admission:
        return []
    ctx = Context(where, f"Workload {_name(body)}")
    queue = admission["clusterQueue"]
    if queue not in flavors_of:
        ctx.fault("status.admission.clusterQueue", f"ClusterQueue {queue!r} does not exist")
        return ctx.faults
    pod_sets = {pod_set.get("name", "main") for pod_set in body["spec"]["podSets"]}
    for a, assignment in enumerate(admission["podSetAssignments"]):
        path = f"status.admission.podSetAssignments[{a}]"
        if assignment["name"] not in pod_sets:
            ctx.fault(f"{path}.name", f"the Workload has no pod set {assignment['name']!r}")
        for resource, flavor in (assignment.get("flavors") or {}).items():
            if flavor not in flavors:
                ctx.fault(f"{path}.flavors.{resource}", f"ResourceFlavor {flavor!r} does not exist")
            elif flavor not in flavors_of[queue]:
                ctx.fault(
                    f"{path}.flavors.{resource}",
                    f"ClusterQueue {queue!r} has no flavor {flavor!r}",
                )
    return ctx.faults
