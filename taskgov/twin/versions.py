"""Each Kueue object in the shape of the API version asked for (v1beta1 or v1beta2).

The store keeps objects as they were written, in either version; a client asking for a version
gets that version's field names, as Kueue's conversion webhook (``apis/kueue/v1beta1/
*_conversion.go``) gives them. The renames that matter to the twin's objects:

- Workload ``spec.priorityClassName`` + ``priorityClassSource`` (v1beta1) are
  ``spec.priorityClassRef {group, kind, name}`` in v1beta2;
  ``status.accumulatedPastExexcutionTimeSeconds`` lost its typo.
- ClusterQueue ``spec.cohort`` is ``spec.cohortName``; ``spec.admissionChecks`` is
  ``spec.admissionChecksStrategy.admissionChecks``; the flavor-fungibility policies ``Borrow``
  and ``Preempt`` are both ``MayStopSearch``.
- LocalQueue ``status.flavorUsage`` is ``status.flavorsUsage``.
"""

from __future__ import annotations

from typing import Any

GROUP = "kueue.x-k8s.io"
WORKLOAD_PRIORITY_SOURCE = "kueue.x-k8s.io/workloadpriorityclass"
POD_PRIORITY_SOURCE = "scheduling.k8s.io/priorityclass"
# v1beta1 priorityClassSource -> v1beta2 priorityClassRef (group, kind)
_PRIORITY_REFS = {
    WORKLOAD_PRIORITY_SOURCE: (GROUP, "WorkloadPriorityClass"),
    POD_PRIORITY_SOURCE: ("scheduling.k8s.io", "PriorityClass"),
}


def _rename(body: dict[str, Any], old: str, new: str) -> None:
    if old in body:
        value = body.pop(old)
        body.setdefault(new, value)


def _workload_spec(spec: dict[str, Any], version: str) -> dict[str, Any]:
    spec = dict(spec)
    if version == "v1beta2":
        name = spec.pop("priorityClassName", None)
        source = spec.pop("priorityClassSource", None)
        if name and source in _PRIORITY_REFS:
            group, kind = _PRIORITY_REFS[source]
            spec.setdefault("priorityClassRef", {"group": group, "kind": kind, "name": name})
        return spec
    ref = spec.pop("priorityClassRef", None)
    if isinstance(ref, dict):
        for source, (group, kind) in _PRIORITY_REFS.items():
            if (ref.get("group"), ref.get("kind")) == (group, kind):
                spec.setdefault("priorityClassName", ref.get("name"))
                spec.setdefault("priorityClassSource", source)
    return spec


def _cluster_queue_spec(spec: dict[str, Any], version: str) -> dict[str, Any]:
    spec = dict(spec)
    fungibility = spec.get("flavorFungibility")
    if version == "v1beta2":
        _rename(spec, "cohort", "cohortName")
        checks = spec.pop("admissionChecks", None)
        if checks:
            spec.setdefault(
                "admissionChecksStrategy", {"admissionChecks": [{"name": c} for c in checks]}
            )
        if isinstance(fungibility, dict):
            fungibility = dict(fungibility)
            for key, old in (("whenCanBorrow", "Borrow"), ("whenCanPreempt", "Preempt")):
                if fungibility.get(key) == old:
                    fungibility[key] = "MayStopSearch"
            spec["flavorFungibility"] = fungibility
        return spec
    _rename(spec, "cohortName", "cohort")
    return spec


def _status(obj: dict[str, Any], old: str, new: str, version: str) -> dict[str, Any] | None:
    status = obj.get("status")
    if not isinstance(status, dict):
        return None
    status = dict(status)
    if version == "v1beta2":
        _rename(status, old, new)
    else:
        _rename(status, new, old)
    return status


def convert(obj: dict[str, Any], version: str) -> dict[str, Any]:
    """``obj`` as ``version`` of the Kueue API shows it; other objects are returned as they are.

    Args:
        obj: a stored object (never mutated).
        version: ``v1beta1`` or ``v1beta2``.
    """
    if not str(obj.get("apiVersion", "")).startswith(f"{GROUP}/v1beta"):
        return obj
    converted = dict(obj)
    converted["apiVersion"] = f"{GROUP}/{version}"
    kind, spec = obj.get("kind"), obj.get("spec")
    if kind == "Workload":
        if isinstance(spec, dict):
            converted["spec"] = _workload_spec(spec, version)
        status = _status(
            obj,
            "accumulatedPastExexcutionTimeSeconds",
            "accumulatedPastExecutionTimeSeconds",
            version,
        )
        if status is not None:
            converted["status"] = status
    elif kind == "ClusterQueue" and isinstance(spec, dict):
        converted["spec"] = _cluster_queue_spec(spec, version)
    elif kind == "LocalQueue":
        status = _status(obj, "flavorUsage", "flavorsUsage", version)
        if status is not None:
            converted["status"] = status
    return converted
