"""Small recorded scenarios for the server's tests, built with the SQL tests' builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.sink_duckdb import DuckDBSink
from tests.sql.builders import make_cluster_queue, make_workload

G5 = "ml.g5.8xlarge"
BIG_MESSAGE = (
    "couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in flavor "
    "ml.g5.8xlarge, previously considered podsets requests (0) + current podset request (4) > "
    "maximum capacity (2)"
)
SHORT_MESSAGE = (
    "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in "
    "flavor ml.g5.8xlarge, 2 more needed"
)


def _tick(at: str) -> list[Any]:
    """A Workload that comes and goes at ``at``, so the record reaches that instant."""
    return make_workload("tick").team("team-b").event(at, "submitted").event(at, "deleted").events()


def borrow_blocked_events() -> list[Any]:
    """team-a (2 GPUs, borrowingLimit 0) asks for 4 while team-b's 4 sit idle; to 00:20."""
    team_a = make_cluster_queue("team-a-cq").nominal(G5, "gpu", 2, borrowing_limit=0)
    team_b = make_cluster_queue("team-b-cq").nominal(G5, "gpu", 4)
    big = make_workload("big").team("team-a").gpus(4).flavor(G5)
    big.event("00:00", "submitted").event("00:00:01", "pending", message=BIG_MESSAGE)
    return [
        *team_a.changed("00:00").events(),
        *team_b.changed("00:00").events(),
        *big.events(),
        *_tick("00:20"),
    ]


def behind_higher_priority_events() -> list[Any]:
    """team-a (2 GPUs, alone in its cohort) runs ``running`` (priority 100); ``low``
    (priority 0, older) and ``high`` (priority 100) wait for the same 2 GPUs; to 00:02."""
    queue = make_cluster_queue("team-a-cq").nominal(G5, "gpu", 2, borrowing_limit=0)
    # As high a priority as ``high``, so under withinClusterQueue LowerPriority nothing preempts it.
    running = make_workload("running").team("team-a").gpus(2).flavor(G5)
    running.priority_class("inference", 100)
    running.event("00:00", "submitted").event("00:00", "quota_reserved").event("00:00", "admitted")
    low = make_workload("low").team("team-a").gpus(2).flavor(G5).priority_class("training", 0)
    low.event("00:00:30", "submitted").event("00:00:31", "pending", message=SHORT_MESSAGE)
    high = make_workload("high").team("team-a").gpus(2).flavor(G5).priority_class("inference", 100)
    high.event("00:01", "submitted").event("00:01:01", "pending", message=SHORT_MESSAGE)
    return [
        *queue.changed("00:00").events(),
        *running.events(),
        *low.events(),
        *high.events(),
        *_tick("00:02"),
    ]


def record(path: Path, events: list[Any]) -> Path:
    """``events`` stored by the real sink in a DuckDB file at ``path``."""
    with DuckDBSink(str(path)) as sink:
        sink.add_all(events)
        sink.flush()
    return path
