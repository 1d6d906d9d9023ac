"""The twin's clock: a heap of typed future events, in time order, ties in push order."""

from __future__ import annotations

import heapq
from enum import IntEnum
from typing import NamedTuple


class EventKind(IntEnum):
    """What happens at an event's time."""

    # A Workload is created (``taskgov.io/submit-at``).
    SUBMIT = 0
    # An admitted Workload's job ends (``taskgov.io/run-for`` after its admission).
    FINISH = 1
    # Kueue requeues the parked (inadmissible) workloads of a cohort tree.
    FLUSH = 2
    # The scheduler's next cycle, after Kueue's backoff between unproductive cycles.
    CYCLE = 3


class Event(NamedTuple):
    time_ms: int
    sequence: int
    kind: EventKind
    # A workload key (SUBMIT, FINISH), a root cohort or ClusterQueue name (FLUSH), or "".
    key: str
    # FINISH only: the admission this finish belongs to; a re-admission makes it stale.
    token: int = 0


class EventQueue:
    """Future events, earliest first."""

    def __init__(self) -> None:
        self._heap: list[Event] = []
        self._sequence = 0

    def __bool__(self) -> bool:
        return bool(self._heap)

    def push(self, time_ms: int, kind: EventKind, key: str = "", token: int = 0) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, Event(time_ms, self._sequence, kind, key, token))

    def next_ms(self) -> int | None:
        return self._heap[0].time_ms if self._heap else None

    def pop(self) -> Event:
        return heapq.heappop(self._heap)
