"""The shapes of a scenario's documents: Kueue's kinds by Kueue's schemas, the rest by ours.

Kueue's kinds are checked by :mod:`taskgov.kueue.schemas.compile`, the one encoding of Kueue's
field rules (the schema the twin serves, and Kueue's webhook rules). What is the twin's own is
here: the batch Jobs and PyTorchJobs it turns into Workloads (their pod templates as Kueue
reads them), the ``Scenario`` document, and the time annotations, durations of at most ten
years. Any other kind is held to Kubernetes' top level and metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from taskgov.kueue.schemas.builders import object_meta, pod_template
from taskgov.kueue.schemas.checks import (
    Check,
    Context,
    anything,
    boolean,
    integer,
    mapping,
    sequence,
    shown,
    string,
)
from taskgov.kueue.schemas.compile import compiled, kueue_check
from taskgov.twin.durations import parse_duration_ms

TIME_ANNOTATIONS = ("taskgov.io/submit-at", "taskgov.io/run-for")
# The twin simulates at most ten years; a longer time is a typo, not a plan.
MAX_DURATION_MS = 10 * 366 * 24 * 3_600_000
# Top-level fields besides apiVersion, kind, metadata, spec and status.
TOP_LEVEL_EXTRA = {"WorkloadPriorityClass": ("value", "description")}


def duration(ctx: Context, value: Any, path: str) -> bool:
    """A Go-style duration of at most ten years."""
    if not isinstance(value, str) or len(value) > 40:
        return ctx.fault(path, f"must be a duration like 90s or 1h30m, got {shown(value)}")
    try:
        ms = parse_duration_ms(value)
    except ValueError as error:
        return ctx.fault(path, str(error))
    if ms > MAX_DURATION_MS:
        return ctx.fault(path, f"{value!r} is longer than the twin's ten years")
    return True


def time_annotations(ctx: Context, body: Mapping[str, Any]) -> None:
    """The twin's ``submit-at`` and ``run-for`` annotations, where they are strings (the
    metadata's own check names a value of another type)."""
    metadata = body.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        return
    for key in TIME_ANNOTATIONS:
        if isinstance(annotations.get(key), str):
            duration(ctx, annotations[key], f"metadata.annotations.{key}")


def _document(spec: Check, *, with_metadata: bool = True, extra: tuple[str, ...] = ()) -> Check:
    """A whole document of a kind that is not Kueue's: Kubernetes' top level and metadata."""
    fields = {
        "apiVersion": anything,
        "kind": anything,
        "metadata": compiled(object_meta()) if with_metadata else anything,
        "spec": spec,
        "status": anything,
    }
    return mapping(fields | {key: anything for key in extra})


@cache
def _any_document(kind: str) -> Check:
    """A kind the reader names as unknown (or a Kueue kind in a version not served): its top
    level and metadata only, so that the reader's fault is the one reported."""
    return _document(anything, extra=TOP_LEVEL_EXTRA.get(kind, ()))


@cache
def _twin_kinds() -> dict[tuple[str, str], Check]:
    template = compiled(pod_template("The Pod template."))
    replica = mapping(
        {"replicas": integer(minimum=0), "template": template, "restartPolicy": anything},
        required=("template",),
    )
    job = mapping(
        {
            "parallelism": integer(minimum=0),
            "completions": integer(minimum=0),
            "template": template,
        },
        required=("template",),
        closed=False,
    )
    pytorch_job = mapping(
        {"pytorchReplicaSpecs": mapping({"Master": replica, "Worker": replica})},
        required=("pytorchReplicaSpecs",),
        closed=False,
    )
    strategies = ("LessThanOrEqualToFinalShare", "LessThanInitialShare")
    fair_sharing = mapping(
        {
            "enable": boolean,
            "preemptionStrategies": sequence(string(choices=strategies), max_items=2),
        }
    )
    scenario = mapping({"fairSharing": fair_sharing, "until": duration})
    return {
        ("Job", "batch/v1"): _document(job),
        ("PyTorchJob", "kubeflow.org/v1"): _document(pytorch_job),
        ("Scenario", "taskgov/v1"): _document(scenario, with_metadata=False),
    }


def read_kind_check(kind: str, api_version: str) -> Check | None:
    """The check of a whole document of a kind the twin reads (a Kueue kind, a Job, a
    PyTorchJob or the Scenario), None for others."""
    return kueue_check(api_version, kind) or _twin_kinds().get((kind, api_version))


def document_check(kind: str, api_version: str) -> Check:
    """The check of a whole document of ``kind`` in ``api_version``."""
    return read_kind_check(kind, api_version) or _any_document(kind)
