"""The lake: the record exported as Parquet partitioned by cluster and day, read back by reports.

Reports read from the lake must equal the same reports read from the DuckDB file, row for row,
on a local folder and on an S3 API (moto's server, started here on a free loopback port).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from streams.sink_duckdb import DuckDBSink
from streams.synthetic import replay
from taskgov.store import load_reports, open_read_only, run_report, watermark
from taskgov.store.lake import export_lake, lake_at, open_lake

REPORTS = sorted(load_reports())
TASKGOV = str(Path(sys.executable).with_name("taskgov"))


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file holding two clusters' replay of a contended twin run."""
    path = tmp_path_factory.mktemp("record") / "taskgov.duckdb"
    with DuckDBSink(path) as sink:
        sink.add_all(replay(30, 2).events)
    return path


@pytest.fixture(scope="module")
def local_lake(record: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The record exported to a local folder."""
    folder = tmp_path_factory.mktemp("lake")
    with open_read_only(record) as conn:
        export_lake(conn, lake_at(str(folder)))
    return folder


@pytest.mark.parametrize("name", [pytest.param(n, id=f"report {n}") for n in REPORTS])
@pytest.mark.parametrize("last_hour", [False, True], ids=["full range", "last hour"])
def test_lake_report_equals_the_duckdb_report_row_for_row(
    record: Path, local_lake: Path, name: str, last_hour: bool
) -> None:
    report = load_reports()[name]
    with open_read_only(record) as conn:
        end = watermark(conn)
        since = end - timedelta(hours=1) if last_hour and end else None
        want_rows = run_report(conn, report, since=since).rows
    with open_lake(lake_at(str(local_lake))) as lake:
        got_rows = run_report(lake, report, since=since).rows
    assert got_rows == want_rows


def test_lake_is_partitioned_hive_style_by_cluster_and_day(local_lake: Path) -> None:
    folders = sorted(
        str(p.parent.relative_to(local_lake)) for p in local_lake.glob("*/*/*/*.parquet")
    )
    want_folders = [
        f"{table}/cluster={cluster}/day=2025-01-01"
        for table in sorted(
            ("cluster_queue_events", "usage_minutes", "workload_events")
            + ("workload_intervals", "workload_waits")
        )
        for cluster in ("cluster-00", "cluster-01")
    ]
    assert sorted(set(folders)) == want_folders
    assert sorted(p.name for p in local_lake.glob("*/*.parquet")) == [
        "part-0.parquet",
        "part-0.parquet",
    ]


def test_lake_export_since_rewrites_only_the_partitions_it_can_reach(
    record: Path, tmp_path: Path
) -> None:
    lake = lake_at(str(tmp_path))
    with open_read_only(record) as conn:
        full = export_lake(conn, lake)
        end = watermark(conn)
        assert end is not None
        recent = export_lake(conn, lake, since=end + timedelta(days=1))
        with open_lake(lake) as read_back:
            for report in load_reports().values():
                assert run_report(read_back, report).rows == run_report(conn, report).rows
    assert full.rows["workload_events"] > 0
    assert recent.rows["workload_events"] == 0
    assert recent.rows["aggregate_state"] == 1


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, with a bucket ``lake``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - moto accepts any
        ).create_bucket(Bucket="lake")
        yield endpoint
    finally:
        server.stop()


def taskgov(*args: str, endpoint: str) -> dict[str, object] | list[object]:
    """Run the installed ``taskgov`` with S3 credentials for moto; its JSON output."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    done = subprocess.run(  # noqa: S603 - our own console script
        [TASKGOV, *args, "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parsed: dict[str, object] | list[object] = json.loads(done.stdout)
    return parsed


def test_lake_on_an_s3_api_round_trips_reports_through_the_cli(
    record: Path, s3_endpoint: str
) -> None:
    exported = taskgov(
        "export", "--db", str(record), "--to", "s3://lake/taskgov", endpoint=s3_endpoint
    )
    assert {row["table"] for row in exported} >= {"workload_events", "usage_minutes"}  # type: ignore[index]
    for name in ("utilization", "wait_times", "preemptions"):
        want = taskgov("report", name, "--db", str(record), endpoint=s3_endpoint)
        got = taskgov("report", name, "--lake", "s3://lake/taskgov", endpoint=s3_endpoint)
        assert got == want
        assert want
    got_sql = taskgov(
        "sql",
        "SELECT cluster, count(*) AS events FROM workload_events GROUP BY cluster ORDER BY cluster",
        "--lake",
        "s3://lake/taskgov",
        endpoint=s3_endpoint,
    )
    want_sql = taskgov(
        "sql",
        "SELECT cluster, count(*) AS events FROM workload_events GROUP BY cluster ORDER BY cluster",
        "--db",
        str(record),
        endpoint=s3_endpoint,
    )
    assert got_sql == want_sql
