"""The versioned wire schema of the events the watcher sends to Kafka.

One event per workload transition (submitted, quota reserved, admitted, evicted, preempted,
requeued, finished, deleted), plus ``pending`` when the reason a workload waits changes,
and ``quota_changed`` for ClusterQueues. Event ids are deterministic, so a watcher that
restarts, relists or is delivered twice never creates a second id for the same transition.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1

WorkloadEventType = Literal[
    "submitted",
    "quota_reserved",
    "admitted",
    "evicted",
    "preempted",
    "requeued",
    "finished",
    "deleted",
    "pending",
]
# Transitions counted one for one against the twin's ledger; ``pending`` is a sample, not a count.
COUNTED_TYPES: tuple[WorkloadEventType, ...] = (
    "submitted",
    "quota_reserved",
    "admitted",
    "evicted",
    "preempted",
    "requeued",
    "finished",
    "deleted",
)


def event_id(cluster: str, uid: str, event_type: str, ordinal: int | str) -> str:
    """The id of the ``ordinal``-th transition of one kind on one object."""
    digest = hashlib.sha256(f"{cluster}\n{uid}\n{event_type}\n{ordinal}".encode()).hexdigest()
    return digest[:32]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str
    cluster: str
    # When the transition happened (the condition's lastTransitionTime), and when we saw it.
    occurred_at: datetime
    observed_at: datetime


class WorkloadEvent(_Event):
    """A transition of one Kueue Workload, with what it asked for and where it ran."""

    kind: Literal["Workload"] = "Workload"
    event_type: WorkloadEventType
    ordinal: int = Field(ge=1)
    # True when a relist showed the transition happened but not exactly when.
    inferred: bool = False
    namespace: str
    name: str
    uid: str
    team: str
    local_queue: str
    cluster_queue: str | None = None
    priority: int = 0
    priority_class: str | None = None
    # The flavor (HyperPod instance type) of the accelerators, once quota is reserved.
    instance_type: str | None = None
    # Total requests over pod sets, in Kueue units (cpu in millicores, memory in bytes).
    requests: dict[str, int] = Field(default_factory=dict)
    accelerators: int = 0
    reason: str | None = None
    message: str | None = None
    preemptor_uid: str | None = None
    created_at: datetime


class QuotaLine(BaseModel):
    """One flavor and resource of a ClusterQueue's quota; ``None`` limits are unlimited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flavor: str
    resource: str
    nominal: int
    borrowing_limit: int | None = None
    lending_limit: int | None = None


class ClusterQueueEvent(_Event):
    """A ClusterQueue's quota as it is now (sent when it is created or changes)."""

    kind: Literal["ClusterQueue"] = "ClusterQueue"
    event_type: Literal["quota_changed", "deleted"]
    name: str
    team: str
    cohort: str | None = None
    resource_version: str
    quotas: list[QuotaLine] = Field(default_factory=list)


class DeadLetter(BaseModel):
    """An object the watcher could not understand, with why, for the dead-letter topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    cluster: str
    kind: str
    reason: str
    raw: str
    observed_at: datetime
