"""Running ``taskgov worker`` (a subprocess) until DuckDB holds given offsets, and a broker of
a test's own to stop and restart."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

from taskgov.broker import BrokerInfo
from tests.conftest import local_broker
from tests.streams.test_worker import WorkerLog, start_worker, wait_until_stored


def store_until(
    bootstrap: str, prefix: str, db: Path, log_path: Path, ends: dict[tuple[str, int], int]
) -> None:
    """Run the worker on ``PREFIX.*`` until its log shows every partition stored up to
    ``ends``, then stop it with SIGTERM."""
    log = WorkerLog(log_path)
    process = start_worker(bootstrap, prefix, db, log_path, f"g-{prefix}")
    reached: dict[tuple[str, int], int] = {}
    try:
        wait_until_stored(log, process, ends, reached)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


@contextlib.contextmanager
def private_broker(state_dir: Path) -> Iterator[BrokerInfo]:
    """A Tansu of this test's own, to restart or stop (fails in CI if it cannot start)."""
    with local_broker(
        state_dir,
        ci_needs="CI needs a local broker to stop and restart",
        else_skip="no local broker",
    ) as info:
        yield info
