"""Workload conditions exactly as Kueue v0.19 writes them.

A condition's lastTransitionTime moves only when its status flips; new condition types are
placed in Kueue's canonical order (its server-side-apply field list).
"""

from __future__ import annotations

from dataclasses import dataclass

CANONICAL_ORDER = ("QuotaReserved", "Evicted", "Admitted", "Preempted", "Requeued", "Finished")
NO_RESERVATION = "The workload has no reservation"

PREEMPTION_CAUSES = {
    "InClusterQueue": "prioritization in the ClusterQueue",
    "InCohortReclamation": "reclamation within the cohort",
    "InCohortFairSharing": "Fair Sharing within the cohort",
    "InCohortReclaimWhileBorrowing": "reclamation within the cohort while borrowing",
}


@dataclass(slots=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str
    last_transition_ms: int
    observed_generation: int | None = 1


@dataclass(slots=True)
class ConditionChange:
    """One entry of the twin's ledger: a condition that changed on a workload."""

    time_ms: int
    workload: str
    type: str
    status: str
    reason: str
    message: str


class Conditions:
    """A workload's conditions, recording every change into a shared ledger."""

    def __init__(self, workload: str, ledger: list[ConditionChange]) -> None:
        self.workload = workload
        self.ledger = ledger
        self.items: list[Condition] = []

    def get(self, type_: str) -> Condition | None:
        return next((c for c in self.items if c.type == type_), None)

    def is_true(self, type_: str) -> bool:
        condition = self.get(type_)
        return condition is not None and condition.status == "True"

    def set(
        self,
        type_: str,
        status: str,
        reason: str,
        message: str,
        now_ms: int,
        observed_generation: int | None = 1,
    ) -> None:
        existing = self.get(type_)
        if existing is None:
            condition = Condition(type_, status, reason, message, now_ms, observed_generation)
            rank = CANONICAL_ORDER.index(type_)
            position = next(
                (i for i, c in enumerate(self.items) if CANONICAL_ORDER.index(c.type) > rank),
                len(self.items),
            )
            self.items.insert(position, condition)
        else:
            if (existing.status, existing.reason, existing.message) == (status, reason, message):
                return
            if existing.status != status:
                existing.last_transition_ms = now_ms
            existing.status, existing.reason, existing.message = status, reason, message
            existing.observed_generation = observed_generation
        self.ledger.append(ConditionChange(now_ms, self.workload, type_, status, reason, message))


def preemption_message(
    preemptor_uid: str,
    preemptor_job_uid: str | None,
    reason: str,
    preemptor_path: str,
    preemptee_path: str,
) -> str:
    return (
        f"Preempted to accommodate a workload (UID: {preemptor_uid}, "
        f"JobUID: {preemptor_job_uid or 'UNKNOWN'}) due to {PREEMPTION_CAUSES[reason]}; "
        f"preemptor path: {preemptor_path}; preemptee path: {preemptee_path}"
    )


def set_pending(conditions: Conditions, message: str, now_ms: int) -> None:
    """The scheduler could not reserve quota (``UnsetQuotaReservationWithCondition``)."""
    conditions.set("QuotaReserved", "False", "Pending", message, now_ms)
    admitted = conditions.get("Admitted")
    if admitted is not None:
        conditions.set("Admitted", "False", "NoReservation", NO_RESERVATION, now_ms)


def set_admitted(conditions: Conditions, cluster_queue: str, now_ms: int) -> None:
    conditions.set(
        "QuotaReserved",
        "True",
        "QuotaReserved",
        f"Quota reserved in ClusterQueue {cluster_queue}",
        now_ms,
    )
    for type_ in ("Evicted", "Preempted"):
        condition = conditions.get(type_)
        if condition is not None and condition.status == "True":
            conditions.set(
                type_,
                "False",
                "QuotaReserved",
                f"Previously: {condition.message}",
                now_ms,
                condition.observed_generation,
            )
    conditions.set("Admitted", "True", "Admitted", "The workload is admitted", now_ms)


def set_evicted(conditions: Conditions, reason: str, message: str, now_ms: int) -> None:
    conditions.set("Evicted", "True", "Preempted", message, now_ms)
    conditions.set("Preempted", "True", reason, message, now_ms, observed_generation=None)


def set_released(conditions: Conditions, message: str, now_ms: int) -> None:
    """The job stopped after eviction: requeued, quota released, no longer admitted."""
    conditions.set("QuotaReserved", "False", "Pending", message, now_ms)
    conditions.set("Admitted", "False", "NoReservation", NO_RESERVATION, now_ms)
    conditions.set("Requeued", "True", "Preempted", message, now_ms)


def set_finished(conditions: Conditions, message: str, now_ms: int) -> None:
    conditions.set("Finished", "True", "Succeeded", message, now_ms)
