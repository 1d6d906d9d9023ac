"""Fixtures for the SQL tests: a migrated in-memory database behind the real sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.sink_duckdb import DuckDBSink


@pytest.fixture
def sink() -> Iterator[DuckDBSink]:
    """An in-memory database migrated from the real ``sql/`` files, written by the real sink."""
    with DuckDBSink(":memory:") as opened:
        yield opened
