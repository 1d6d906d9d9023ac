"""The one Faust app: consume the watcher's topics and hand every record to the DuckDB sink.

Delivery is at least once (Tansu rejects the idempotent aiokafka producer that exactly-once
needs); the sink stores events keyed by event id, so a record delivered twice changes nothing.
No state lives in Faust tables: DuckDB is the system of record, so a restarted worker needs no
changelog recovery (see spec/local-kafka.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faust


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What the worker connects to and where it writes."""

    bootstrap: str
    duckdb_path: Path
    topic_prefix: str = "taskgov"
    app_id: str = "taskgov-worker"
    batch_size: int = 2000
    batch_window_s: float = 0.5


def make_app(settings: WorkerSettings) -> faust.App:
    """A Faust app with timeouts that let a group form quickly on the local broker."""
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        store="memory://",
        processing_guarantee="at_least_once",
        broker_session_timeout=6,
        broker_heartbeat_interval=1.2,
        broker_rebalance_timeout=10,
        web_enabled=False,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
    )
