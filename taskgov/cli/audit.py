"""``taskgov audit``: check that the aggregates still agree with the event log.

Each audit of ``sql/audits`` returns no rows when the tables it checks agree. The one that
compares the aggregates with the log checks only what the sink changed since its last pass
(recorded when it finds nothing), so it is cheap enough to run after every restart of the
worker; ``--whole`` checks the whole record. It records its passes, so it needs the file to
itself: run it while the worker is stopped (or on a copy).
"""

from __future__ import annotations

from pathlib import Path

import click

from taskgov.cli.options import database_path, db_option, output_option
from taskgov.cli.output import render_rows
from taskgov.errors import DatabaseError, Fault, InputError
from taskgov.store import connect_read_write, migrate, pending_versions
from taskgov.store.audits import run_audits

# An audit found rows: the aggregates disagree with the log (see the README's exit codes).
AUDIT_FAILED_EXIT = 6
# Rows shown per failed audit with -o json/yaml (an audit of a broken record can find millions).
FOUND_SHOWN = 20


@click.command("audit")
@click.option(
    "--whole",
    is_flag=True,
    help="Check every Workload and day against the log, not only what changed since the last "
    "pass (minutes on a large record).",
)
@db_option
@output_option()
@click.pass_context
def audit_command(context: click.Context, whole: bool, db: Path | None, output: str) -> None:
    """Check that the aggregates agree with the event log (sql/audits).

    \b
    Exit codes: 0 every audit found nothing; 6 an audit found rows that disagree (printed
    with -o json/yaml); 1 the file cannot be opened for writing (the worker holds it: stop it
    first) or needs the worker to upgrade it; 2 no database at --db.
    """
    path = database_path(context, db)
    if not path.is_file():
        raise InputError([Fault("--db", str(path), "", "no such database")])
    conn = connect_read_write(path)
    try:
        if pending_versions(conn):
            raise DatabaseError(
                str(path), "its schema is older than this taskgov: start `taskgov worker` once"
            )
        migrate(conn)  # nothing pending: this only re-creates the views the audits read
        results = run_audits(conn, whole=whole)
    finally:
        conn.close()
    rows: list[dict[str, object]] = [
        {"audit": r.name, "result": "failed" if r.rows else "passed", "rows": len(r.rows)}
        for r in results
    ]
    if output in ("json", "yaml"):  # the first rows each audit found, as text
        for row, result in zip(rows, results, strict=True):
            row["found"] = [[str(v) for v in found] for found in result.rows[:FOUND_SHOWN]]
    click.echo(render_rows(rows, ("audit", "result", "rows"), output), nl=False)  # type: ignore[arg-type]
    if any(r.rows for r in results):
        context.exit(AUDIT_FAILED_EXIT)
