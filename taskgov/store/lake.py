"""The record as a lake: Parquet files partitioned by cluster and day, at a path or on S3.

``export_lake`` writes the event log and the aggregates the reports read as hive-style Parquet
(``TABLE/cluster=NAME/day=YYYY-MM-DD/*.parquet``; the two small tables without a cluster,
``cluster_queue_quotas`` and ``aggregate_state``, as one file each), so Athena, Trino, Spark or
another DuckDB can read them, and so can ``taskgov report --lake`` (:func:`open_lake`). One
worker per cluster set keeps its own DuckDB file; the lake is the shared record they all
export to (each writes only its own clusters' partitions).

With ``since``, only the partitions a change after ``since`` can reach are rewritten (each
whole, so the files stay exactly the DuckDB tables): the days from ``since`` on, and the days
of stretches and waits still open or ending after it. Without it, every partition is written.

S3 goes through pyarrow's S3 filesystem (``endpoint_url`` for an S3-compatible server such as
MinIO or moto); credentials come from the usual AWS environment variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from taskgov.store.aggregates import rebuild_report_summaries
from taskgov.store.connect import Connection, connect_memory
from taskgov.store.files import SQL_DIR, run_script, sql_text
from taskgov.store.migrations import derived_files, migrate

# The partition keys, in directory order.
PARTITION = pa.schema([("cluster", pa.string()), ("day", pa.date32())])
# What an export without ``since`` counts changes from: every row is changed.
_BEGINNING = datetime.min


@dataclass(frozen=True, slots=True)
class LakeTable:
    """One table of the lake.

    Attributes:
        name: the DuckDB table (and the lake folder).
        partitioned: whether it is split by cluster and day (``sql/lake/NAME.sql`` adds
            ``day`` and which rows changed, ``sql/lake/partitions.sql`` keeps their
            partitions); the others are written as one file.
    """

    name: str
    partitioned: bool


LAKE_TABLES = (
    LakeTable("workload_events", True),
    LakeTable("cluster_queue_events", True),
    LakeTable("workload_intervals", True),
    LakeTable("workload_waits", True),
    LakeTable("usage_minutes", True),
    LakeTable("cluster_queue_quotas", False),
    LakeTable("aggregate_state", False),
)


@dataclass(frozen=True, slots=True)
class Lake:
    """Where the lake is: a filesystem and the root folder on it.

    Attributes:
        filesystem: pyarrow's local or S3 filesystem.
        root: the folder (``bucket/prefix`` on S3).
        location: as the user gave it, for messages.
    """

    filesystem: pafs.FileSystem
    root: str
    location: str

    def path(self, table: str) -> str:
        """The folder of ``table``."""
        return f"{self.root.rstrip('/')}/{table}"


def lake_at(location: str, *, endpoint_url: str | None = None) -> Lake:
    """The lake at a local path or ``s3://bucket/prefix`` (``endpoint_url``: another S3 API)."""
    parsed = urlparse(location)
    if parsed.scheme != "s3":
        return Lake(pafs.LocalFileSystem(), location, location)
    options: dict[str, object] = {}
    if endpoint_url:
        endpoint = urlparse(endpoint_url)
        options["endpoint_override"] = endpoint.netloc or endpoint_url
        options["scheme"] = endpoint.scheme or "https"
    return Lake(
        pafs.S3FileSystem(**options),  # type: ignore[arg-type]
        f"{parsed.netloc}{parsed.path}",
        location,
    )


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What one export wrote: rows per table."""

    rows: dict[str, int]


def export_lake(conn: Connection, lake: Lake, *, since: datetime | None = None) -> ExportResult:
    """Write the lake's tables from ``conn`` (all partitions, or those ``since`` can reach).

    Args:
        conn: a migrated connection (read-only is enough).
        lake: where to write.
        since: naive UTC; None writes everything.

    Returns:
        Rows written per table.
    """
    rows = {}
    for table in LAKE_TABLES:
        if table.partitioned:
            query = _changed_partitions(conn, table, since or _BEGINNING)
        elif since is None or table.name == "aggregate_state" or _quotas_changed(conn, since):
            query = conn.cursor().sql(sql_text(f"lake/{table.name}.sql"))
        else:
            continue
        reader = query.to_arrow_reader()
        counted = _Counted(reader)
        ds.write_dataset(
            counted.batches(),
            lake.path(table.name),
            schema=reader.schema,
            format="parquet",
            filesystem=lake.filesystem,
            partitioning=ds.partitioning(PARTITION, flavor="hive") if table.partitioned else None,
            existing_data_behavior="delete_matching",
            basename_template="part-{i}.parquet",
        )
        rows[table.name] = counted.rows
    return ExportResult(rows)


def open_lake(lake: Lake) -> Connection:
    """An in-memory DuckDB whose tables are the lake's (read lazily through pyarrow) and whose
    views and macros are ``sql/views``': reports run on it as on the DuckDB file."""
    conn = connect_memory()
    for table in LAKE_TABLES:
        dataset = ds.dataset(
            lake.path(table.name),
            format="parquet",
            filesystem=lake.filesystem,
            partitioning=ds.partitioning(PARTITION, flavor="hive") if table.partitioned else None,
        )
        conn.register(f"lake_{table.name}", dataset)
    migrate(conn)
    # The tables become views of the same names over the datasets, in the tables' column order.
    run_script(conn, "lake/read_lake.sql", {})
    for table in LAKE_TABLES:
        run_script(conn, f"lake/view_{table.name}.sql", {})
    for derived in derived_files(SQL_DIR):
        conn.execute(derived.sql)
    run_script(conn, "lake/report_summaries.sql", {})
    rebuild_report_summaries(conn)
    return conn


def _changed_partitions(
    conn: Connection, table: LakeTable, since: datetime
) -> duckdb.DuckDBPyRelation:
    """The rows of ``table``'s partitions that hold a row changed at or after ``since``."""
    rows = conn.cursor().sql(sql_text(f"lake/{table.name}.sql"), params={"since": since})
    partitions = rows.query("lake_rows", sql_text("lake/partitions.sql"))
    assert partitions is not None  # a SELECT always gives a relation
    return partitions


def _quotas_changed(conn: Connection, since: datetime) -> bool:
    row = conn.cursor().execute(sql_text("lake/quotas_changed.sql"), {"since": since}).fetchone()
    return bool(row and row[0])


class _Counted:
    """Record batches passed through, counting rows."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self._reader = reader
        self.rows = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        for batch in self._reader:
            self.rows += batch.num_rows
            yield batch
