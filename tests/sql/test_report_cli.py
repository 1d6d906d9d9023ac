"""``taskgov report`` and ``taskgov sql`` on a real database file written by the sink."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl
import pytest
from click.testing import CliRunner, Result

from streams.sink_duckdb import DuckDBSink
from taskgov.cli.report import report_command, sql_command
from taskgov.errors import InputError
from taskgov.store import load_reports
from tests.sql.fixtures import load_cases


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A database holding the utilization fixture's first case (team-a lends to team-b)."""
    path = tmp_path / "taskgov.duckdb"
    case = next(c for c in load_cases() if c.report == "utilization")
    with DuckDBSink(path) as sink:
        sink.add_all(case.events)
    return path


def invoke(command: click.Command, *args: str) -> Result:
    return CliRunner().invoke(command, list(args), catch_exceptions=True)


def test_report_list_names_every_report_with_its_question(database: Path) -> None:
    result = invoke(report_command, "--list", "-o", "json")

    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == sorted(load_reports())
    assert all(r["answers"] and r["parameters"] == "--since --until --team" for r in rows)


def test_report_csv_is_the_report_rows(database: Path) -> None:
    result = invoke(
        report_command, "utilization", "--db", str(database), "--team", "team-b", "-o", "csv"
    )

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "day,team,instance_type,guaranteed_gpu_hours,used_gpu_hours,allocated_gpu_hours,"
        "borrowed_gpu_hours,lent_gpu_hours,idle_gpu_hours,guarantee_used_pct",
        "2024-05-01,team-b,ml.g5.8xlarge,8.0,6.0,4.0,2.0,0.0,4.0,50.0",
    ]


def test_report_json_window_uses_since_and_until(database: Path) -> None:
    result = invoke(
        report_command,
        "utilization",
        "--db",
        str(database),
        "--since",
        "2024-05-01T01:00Z",
        "--until",
        "2024-05-01T01:30",
        "--team",
        "team-a",
        "-o",
        "json",
    )

    rows = json.loads(result.output)
    assert [(r["day"], r["guaranteed_gpu_hours"], r["lent_gpu_hours"]) for r in rows] == [
        ("2024-05-01", 2.0, 0.0)
    ]


def test_report_parquet_to_a_file_keeps_column_types(database: Path, tmp_path: Path) -> None:
    out = tmp_path / "usage.parquet"

    result = invoke(
        report_command, "utilization", "--db", str(database), "-o", "parquet", "--out", str(out)
    )

    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(out)
    assert frame.height == 2
    assert frame.schema["day"] == pl.Date
    assert frame.schema["guaranteed_gpu_hours"] == pl.Float64


def test_report_parquet_without_out_is_refused(database: Path) -> None:
    result = invoke(report_command, "utilization", "--db", str(database), "-o", "parquet")

    assert isinstance(result.exception, InputError)
    assert (result.exception.exit_code, str(result.exception), result.stdout_bytes) == (
        2,
        "-o parquet: parquet is binary: give --out FILE",
        b"",
    )


@pytest.mark.parametrize(
    ("args", "want_fault"),
    [
        pytest.param(
            ("nonsense",), "unknown report; available: idle_capacity", id="unknown report"
        ),
        pytest.param((), "name a report: idle_capacity", id="no report named"),
        pytest.param(
            ("utilization", "--since", "yesterday"), "(e.g. 720h) or an ISO 8601", id="bad time"
        ),
        pytest.param(
            ("utilization", "--db", "/nonexistent/x.duckdb"), "no such database", id="no db"
        ),
    ],
)
def test_report_bad_input_is_an_input_error(args: tuple[str, ...], want_fault: str) -> None:
    result = invoke(report_command, *args)

    error = result.exception
    assert isinstance(error, InputError)
    assert error.exit_code == 2
    assert want_fault in str(error)


def test_sql_runs_a_select_read_only(database: Path) -> None:
    minutes = "SELECT team, count(*) AS minutes FROM usage_minutes GROUP BY team ORDER BY team"

    result = invoke(sql_command, minutes, "--db", str(database), "-o", "csv")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["team,minutes", "team-a,120", "team-b,120"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("DELETE FROM usage_minutes", id="a delete"),
        pytest.param("SELECT 1; DROP TABLE usage_minutes", id="a select then a drop"),
        pytest.param("COPY usage_minutes TO '/tmp/x.csv'", id="a copy"),
        pytest.param("SELEC 1", id="not SQL"),
    ],
)
def test_sql_rejects_anything_but_one_select(database: Path, query: str) -> None:
    result = invoke(sql_command, query, "--db", str(database))

    error = result.exception
    assert isinstance(error, InputError)
    assert error.exit_code == 2


def test_sql_cannot_read_other_files(database: Path) -> None:
    result = invoke(sql_command, "SELECT * FROM read_csv('/etc/hostname')", "--db", str(database))

    assert isinstance(result.exception, InputError)


@pytest.mark.parametrize(
    ("args", "want_code"),
    [
        pytest.param(["report", "nonsense"], 2, id="unknown report exits 2"),
        pytest.param(["sql", "DROP TABLE usage_minutes"], 2, id="a non-select exits 2"),
        pytest.param(["report", "utilization", "-o", "csv"], 0, id="a report exits 0"),
    ],
)
def test_taskgov_exit_codes(
    database: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], want_code: int
) -> None:
    from taskgov.cli import main as entry

    monkeypatch.setitem(entry.cli.commands, "report", report_command)
    monkeypatch.setitem(entry.cli.commands, "sql", sql_command)
    monkeypatch.setenv("TASKGOV_DUCKDB_PATH", str(database))
    monkeypatch.setattr("sys.argv", ["taskgov", *args])

    with pytest.raises(SystemExit) as exited:
        entry.main()
        raise SystemExit(0)

    assert exited.value.code == want_code


def test_report_on_a_database_held_by_a_writer_is_a_runtime_error(database: Path) -> None:
    from taskgov.cli.report import DatabaseError

    with DuckDBSink(database):
        result = invoke(report_command, "utilization", "--db", str(database))

    error = result.exception
    assert isinstance(error, DatabaseError)
    assert error.exit_code == 1


def test_sql_parquet_keeps_decimals_as_doubles_and_the_rest_as_text(
    database: Path, tmp_path: Path
) -> None:
    out = tmp_path / "q.parquet"

    result = invoke(
        sql_command,
        "SELECT 1.5::DECIMAL(4, 1) AS x, [1, 2] AS l, 3 AS n",
        "--db",
        str(database),
        "-o",
        "parquet",
        "--out",
        str(out),
    )

    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).rows() == [(1.5, "[1, 2]", 3)]
