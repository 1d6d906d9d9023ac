"""``taskgov apply`` and ``taskgov rollback``: a stored recommendation onto the live cluster.

Exit codes: 0 ok (dry run, applied or nothing to change), 1 runtime failure (endpoint down,
credentials missing or denied, a call failed: partial failures are reported per object),
2 bad input, 4 refused by a guardrail, 5 conflict (the live state changed under the apply).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import click
import yaml

from optimizer.appliers.base import Applier, Backend
from optimizer.appliers.engine import ApplyReport
from optimizer.appliers.guardrails import GuardrailSettings
from optimizer.appliers.service import Attempt
from taskgov.cli.options import database_path, db_option, output_option
from taskgov.cli.output import OutputFormat, render_rows
from taskgov.errors import Fault, InputError


def _guardrails(path: Path | None) -> GuardrailSettings:
    if path is None:
        return GuardrailSettings()
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(path.read_text()) or {}
        return GuardrailSettings.model_validate(data)
    except (OSError, yaml.YAMLError) as error:
        raise InputError([Fault(str(path), "guardrails", "", str(error))]) from None
    except ValidationError as error:
        faults = [
            Fault(str(path), "guardrails", ".".join(map(str, e["loc"])), e["msg"])
            for e in error.errors()
        ]
        raise InputError(faults) from None


def _applier(options: dict[str, Any], cluster: str | None) -> Applier:
    backend = Backend(options["backend"])
    if backend is Backend.SAGEMAKER:
        from optimizer.appliers.sagemaker import SageMakerApplier, SageMakerTarget

        target = SageMakerTarget(
            cluster_name=options["cluster"] or cluster or "",
            cluster_arn=options["cluster_arn"],
            endpoint_url=options["endpoint_url"],
            region=options["region"],
        )
        return SageMakerApplier(target)
    from optimizer.appliers.kueue import KueueApplier

    return KueueApplier(options["kubeconfig"], options["context_name"])


def _target_options(command: Any) -> Any:
    decorators = [
        click.option(
            "--backend",
            type=click.Choice([b.value for b in Backend]),
            default="sagemaker",
            envvar="TASKGOV_APPLY_BACKEND",
            show_default=True,
            help="SageMaker task governance, or plain Kueue ClusterQueues.",
        ),
        click.option(
            "--endpoint-url",
            envvar="TASKGOV_SAGEMAKER_ENDPOINT",
            help="SageMaker endpoint (default: AWS's for the region).",
        ),
        click.option("--region", default="us-west-2", envvar="AWS_REGION", show_default=True),
        click.option("--cluster", help="HyperPod cluster name (default: the run's)."),
        click.option("--cluster-arn", help="HyperPod cluster ARN (default: looked up by name)."),
        click.option(
            "--kubeconfig",
            type=click.Path(path_type=Path, dir_okay=False),
            envvar="KUBECONFIG",
            help="For --backend kueue.",
        ),
        click.option("--context", "context_name", help="kubeconfig context, for --backend kueue."),
        click.option(
            "--guardrails",
            type=click.Path(path_type=Path, dir_okay=False),
            envvar="TASKGOV_GUARDRAILS",
            help="YAML of guardrail limits.",
        ),
        click.option("--approve", is_flag=True, help="Make the calls (default: a dry run)."),
        output_option(),
        db_option,
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _rows(report: ApplyReport) -> list[dict[str, Any]]:
    return [
        {
            "team": r.call.team or "(cluster)",
            "object": r.call.name,
            "call": r.call.operation,
            "outcome": str(r.outcome),
            "request": json.dumps(r.call.request, sort_keys=True, default=str),
            "command": r.call.command(),
            "error": r.error or "",
        }
        for r in report.results
    ]


def _print(attempt: Attempt, output: str, verb: str) -> None:
    report = attempt.report
    rows = _rows(report)
    if output not in ("table", "wide"):
        body = {
            "apply_id": attempt.apply_id,
            "outcome": str(report.outcome),
            "caller": attempt.caller,
            "calls": rows,
            "refusals": [
                {"guardrail": str(r.guardrail), "team": r.team, "detail": r.detail}
                for r in report.refusals
            ],
            "notes": report.notes,
        }
        if output == "csv":
            cols = ["team", "object", "call", "outcome", "request", "error"]
            click.echo(render_rows(rows, cols, "csv"), nl=False)
        else:
            text = json.dumps(body, indent=2) if output == "json" else yaml.safe_dump(body)
            click.echo(text)
        return
    click.echo(f"{verb} {attempt.apply_id}: {report.outcome} (as {attempt.caller})")
    if rows:
        columns = ["team", "object", "call", "outcome"]
        click.echo(render_rows(rows, columns, output))  # type: ignore[arg-type]
        for row in rows:
            click.echo(f"  {row['command']}")
    for refusal in report.refusals:
        click.echo(f"refused {refusal.line()}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if str(report.outcome) == "dry-run":
        click.echo("dry run: nothing changed; add --approve to make these calls")


@click.command("apply")
@click.argument("run_id", type=int, required=False)
@click.option("--history", is_flag=True, help="List every recorded apply and rollback.")
@click.option("--verify", "verify_id", type=int, help="Before vs after of an apply, per team.")
@click.option("--window", default=None, help="With --verify: window length, e.g. 24h.")
@_target_options
@click.pass_context
def apply_command(
    context: click.Context,
    run_id: int | None,
    history: bool,
    verify_id: int | None,
    window: str | None,
    **options: Any,
) -> None:
    """Apply stored recommendation RUN_ID to the live cluster (a dry run without --approve).

    Exit codes: 0 ok, 1 runtime failure (per-object outcomes are printed and recorded),
    2 bad input, 4 refused by a guardrail, 5 the live state changed under the apply.
    """
    db = database_path(context, options["db"])
    if history:
        _history(db, options["output"])
        return
    if verify_id is not None:
        _verify(db, verify_id, window, options["output"])
        return
    if run_id is None:
        raise InputError([Fault("RUN_ID", "", "", "give a run id (taskgov recommend --list)")])
    from optimizer.appliers.service import apply_run
    from optimizer.store import open_store, read_run

    with open_store(db, read_only=True) as conn:
        cluster = read_run(conn, run_id).cluster.name
    _attempt(context, options, "apply", cluster, partial(apply_run, db, run_id))


@click.command("rollback")
@click.argument("apply_id", type=int)
@_target_options
@click.pass_context
def rollback_command(context: click.Context, apply_id: int, **options: Any) -> None:
    """Restore what apply APPLY_ID changed, under the same guardrails (dry run without
    --approve). Exit codes as `taskgov apply`."""
    from optimizer.appliers import audit
    from optimizer.appliers.service import rollback
    from optimizer.store import open_store

    db = database_path(context, options["db"])
    with open_store(db, read_only=True) as conn:
        cluster = str(audit.attempt(conn, apply_id)[0]["cluster"])
    _attempt(context, options, "rollback", cluster, partial(rollback, db, apply_id))


def _attempt(
    context: click.Context, options: dict[str, Any], verb: str, cluster: str, run: Any
) -> None:
    """Run an apply or rollback against the chosen backend, print it, exit with its code."""
    attempt = run(
        _applier(options, cluster),
        _guardrails(options["guardrails"]),
        approve=options["approve"],
        now=datetime.now(UTC).replace(tzinfo=None),
    )
    _print(attempt, options["output"], verb)
    context.exit(attempt.report.exit_code)


def _history(db: Path, output: OutputFormat) -> None:
    from optimizer.appliers.audit import history
    from optimizer.store import open_store

    with open_store(db, read_only=True) as conn:
        rows = history(conn) if _has_audit(conn) else []
    for row in rows:
        row["created_at"] = row["created_at"].strftime("%Y-%m-%d %H:%M:%S")
    columns = [
        "apply_id",
        "created_at",
        "run_id",
        "rollback_of",
        "backend",
        "cluster",
        "caller",
        "approved",
        "outcome",
        "objects_applied",
        "objects",
        "refusals",
    ]
    click.echo(render_rows(rows, columns, output), nl=False)


def _has_audit(conn: Any) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'apply_runs'"
    ).fetchone()
    return bool(row and row[0])


def _verify(db: Path, apply_id: int, window: str | None, output: OutputFormat) -> None:
    from optimizer.appliers.service import verify

    span = None
    if window:
        hours = window.removesuffix("h")
        try:
            span = timedelta(hours=float(hours))
        except ValueError:
            raise InputError(
                [Fault("--window", window, "", "a number of hours, e.g. 24h")]
            ) from None
    rows = verify(db, apply_id, span)
    for row in rows:
        if output in ("table", "wide", "csv"):
            row["predicted"] = json.dumps(row["predicted"]) if row["predicted"] else ""
        if output in ("table", "wide"):
            for key in ("wait_p50_s", "wait_p95_s"):
                value = row.pop(key)
                row[key.replace("_s", "_h")] = None if value is None else f"{value / 3600:.2f} h"
    columns = list(rows[0]) if rows else ["team", "side"]
    click.echo(render_rows(rows, columns, output), nl=False)
