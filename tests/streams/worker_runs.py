"""Running ``taskgov worker`` (a subprocess) until DuckDB holds given offsets, for the tests."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.streams.test_worker import WorkerLog, start_worker, stored_offsets, wait_for


def store_until(
    bootstrap: str, prefix: str, db: Path, log_path: Path, ends: dict[tuple[str, int], int]
) -> None:
    """Run the worker on ``PREFIX.*`` until its log shows every partition stored up to
    ``ends``, then stop it with SIGTERM."""
    log = WorkerLog(log_path)
    process = start_worker(bootstrap, prefix, db, log_path, f"g-{prefix}")
    reached: dict[tuple[str, int], int] = {}
    try:
        while any(reached.get(tp, 0) < end for tp, end in ends.items()):
            for tp, offset in stored_offsets(wait_for(log, process, "batch_stored", 120)).items():
                reached[tp] = max(reached.get(tp, 0), offset)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
