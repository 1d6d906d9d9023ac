"""The versioned wire schema of the events the watcher sends to Kafka.

One event per workload transition (submitted, quota reserved, admitted, evicted, preempted,
requeued, finished, deleted), plus ``pending`` when the reason a workload waits changes,
and ``quota_changed`` for ClusterQueues. Event ids are deterministic, so a watcher that
restarts, relists or is delivered twice never creates a second id for the same transition.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
COUNTED_TYPES: tuple[WorkloadEventType, ...] = tuple(
    event_type for event_type in get_args(WorkloadEventType) if event_type != "pending"
)


# Bounds of the numbers an event may carry. Kueue's counts and priorities are int32; a quantity
# (cpu millis, memory bytes, accelerators in a quota) up to 2**53 is exact as a double and its
# aggregates, in microseconds, stay inside DuckDB's integers. Larger values are no cluster's:
# they are dead letters with the reason, never a write that fails (spec: issue 17).
INT32_MAX = 2**31 - 1
QUANTITY_MAX = 2**53
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Quantity = Annotated[int, Field(ge=0, le=QUANTITY_MAX)]
# Where a dead letter cuts the text of what it keeps; the digest of the whole is added after it.
RAW_KEPT_CHARS = 100_000


def event_id(cluster: str, uid: str, event_type: str, ordinal: int | str) -> str:
    """The id of the ``ordinal``-th transition of one kind on one object."""
    digest = hashlib.sha256(f"{cluster}\n{uid}\n{event_type}\n{ordinal}".encode()).hexdigest()
    return digest[:32]


class _Message(BaseModel):
    """What every record on the wire carries first: its schema version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION


class _Event(_Message):
    event_id: str
    cluster: str
    # When the transition happened (the condition's lastTransitionTime), and when we saw it.
    occurred_at: datetime
    observed_at: datetime


class WorkloadEvent(_Event):
    """A transition of one Kueue Workload, with what it asked for and where it ran."""

    kind: Literal["Workload"] = "Workload"
    event_type: WorkloadEventType
    ordinal: int = Field(ge=1, le=INT32_MAX)
    # True when a relist showed the transition happened but not exactly when.
    inferred: bool = False
    namespace: str
    name: str
    uid: str
    team: str
    local_queue: str
    cluster_queue: str | None = None
    priority: int = Field(default=0, ge=-INT32_MAX - 1, le=INT32_MAX)
    priority_class: str | None = None
    # The flavor (HyperPod instance type) of the accelerators, once quota is reserved.
    instance_type: str | None = None
    # Total requests over pod sets, in Kueue units (cpu in millicores, memory in bytes).
    requests: dict[str, Quantity] = Field(default_factory=dict)
    accelerators: Count = 0
    reason: str | None = None
    message: str | None = None
    preemptor_uid: str | None = None
    created_at: datetime


class QuotaLine(BaseModel):
    """One flavor and resource of a ClusterQueue's quota; ``None`` limits are unlimited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flavor: str
    resource: str
    nominal: Quantity
    borrowing_limit: Quantity | None = None
    lending_limit: Quantity | None = None


class ClusterQueueEvent(_Event):
    """A ClusterQueue's quota as it is now (sent when it is created or changes)."""

    kind: Literal["ClusterQueue"] = "ClusterQueue"
    event_type: Literal["quota_changed", "deleted"]
    name: str
    team: str
    cohort: str | None = None
    resource_version: str
    quotas: list[QuotaLine] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_line_per_flavor_and_resource(self) -> ClusterQueueEvent:
        """Kueue allows one quota per (flavor, resource); the store keys quotas by them."""
        seen: set[tuple[str, str]] = set()
        for line in self.quotas:
            key = (line.flavor, line.resource)
            if key in seen:
                raise ValueError(
                    f"quota of flavor {line.flavor!r} and resource {line.resource!r} twice"
                )
            seen.add(key)
        return self


class DeadLetter(_Message):
    """An object the watcher could not understand, with why, for the dead-letter topic."""

    cluster: str
    kind: str
    reason: str
    raw: str
    observed_at: datetime


def kept_raw(text: str) -> str:
    """What a dead letter keeps of a record: all of it up to ``RAW_KEPT_CHARS``, else its start
    followed by the length and SHA-256 of the whole, so two long records that differ only after
    the cut stay two dead letters (the dead letter's id is built from this text)."""
    if len(text) <= RAW_KEPT_CHARS:
        return text
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"{text[:RAW_KEPT_CHARS]}… [cut: {len(text):,} characters in all, sha256 {digest}]"
