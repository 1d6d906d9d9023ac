"""Running ``taskgov worker`` (a subprocess) until DuckDB holds given offsets, and a broker of
a test's own to stop and restart."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskgov.broker import BrokerError, BrokerInfo, start_broker, stop_broker
from tests.conftest import in_ci
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
    try:
        info = start_broker(state_dir)
    except BrokerError as error:
        if in_ci():
            pytest.fail(f"CI needs a local broker to stop and restart: {error}")
        pytest.skip(f"no local broker: {error}")
    try:
        yield info
    finally:
        stop_broker(state_dir)
