"""``taskgov twin``: play a scenario on the Kueue-exact simulator."""

from __future__ import annotations

from pathlib import Path

import click

from taskgov.cli.options import output_option
from taskgov.cli.output import dump_json, dump_yaml_documents, render_rows
from taskgov.cli.policy import read_files
from taskgov.errors import Fault, InputError
from taskgov.scenarios import scenario_from_documents
from taskgov.twin.durations import parse_duration_ms
from taskgov.twin.engine import Twin
from taskgov.twin.render import TABLE_COLUMNS, event_rows, workload_manifest, workload_rows
from taskgov.twin.serve import serve_twin


@click.group("twin")
def twin_group() -> None:
    """Simulate a Kueue-governed cluster: the twin decides exactly what Kueue decides.

    \b
    A scenario file is multi-document YAML of ordinary Kueue objects (ResourceFlavor,
    ClusterQueue, Cohort, LocalQueue, WorkloadPriorityClass), Workloads or Jobs
    (batch/v1 Job, kubeflow.org/v1 PyTorchJob with the kueue.x-k8s.io/queue-name label),
    optionally a taskgov/v1 Policy + Cluster (compiled first) and a Scenario document.
    Annotations drive time: taskgov.io/submit-at (default 0s) and taskgov.io/run-for.
    """


@twin_group.command("run")
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--until",
    "until",
    help="Stop at this time from the start, e.g. 30m (default: when nothing is left).",
)
@click.option(
    "--events", is_flag=True, help="Print the timeline of every condition change instead."
)
@output_option()
def run_command(file: Path, until: str | None, events: bool, output: str) -> None:
    """Play FILE and print the Workloads at the end time (or --events)."""
    until_ms = None
    if until is not None:
        try:
            until_ms = parse_duration_ms(until)
        except ValueError as error:
            raise InputError([Fault("--until", "", "", str(error))]) from None
    twin = Twin(scenario_from_documents(read_files((file,))))
    twin.run(until_ms)
    if events:
        rows = event_rows(twin)
        columns = ["time", "workload", "type", "status", "reason", "message"]
        click.echo(render_rows(rows, columns, output), nl=False)  # type: ignore[arg-type]
        return
    if output in ("table", "wide", "csv"):
        columns = ["namespace", *TABLE_COLUMNS]
        click.echo(render_rows(workload_rows(twin), columns, output), nl=False)  # type: ignore[arg-type]
        return
    manifests = [
        workload_manifest(run)
        for run in sorted(twin.runs.values(), key=lambda r: (r.spec.namespace, r.spec.name))
    ]
    if output == "json":
        click.echo(dump_json({"apiVersion": "v1", "kind": "List", "items": manifests}), nl=False)
    else:
        click.echo(dump_yaml_documents(manifests), nl=False)


@twin_group.command("serve")
@click.argument("file", type=click.Path(path_type=Path, allow_dash=True))
@click.option(
    "--port", type=int, default=0, show_default=True, help="TCP port; 0 picks a free one."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Simulated seconds per wall-clock second (60 plays an hour in a minute).",
)
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path),
    default=Path(".taskgov/twin-kubeconfig"),
    show_default=True,
    help="Where to write a kubeconfig for kubectl and the watcher.",
)
@click.option(
    "--history",
    type=int,
    default=100_000,
    show_default=True,
    help="Watch events kept per resource; older resourceVersions get 410 Gone.",
)
@click.option("--exit-when-done", is_flag=True, help="Stop once nothing is left to happen.")
@click.option(
    "--aws-access-key",
    "aws_access_keys",
    multiple=True,
    help="Access keys the SageMaker endpoint accepts (repeatable; default: any).",
)
def serve_command(
    file: Path,
    port: int,
    host: str,
    speed: float,
    kubeconfig: Path,
    history: int,
    exit_when_done: bool,
    aws_access_keys: tuple[str, ...],
) -> None:
    """Play FILE in real time and serve it as a Kubernetes API server.

    \b
    Serves list, get and watch of Workloads, ClusterQueues (with status), LocalQueues,
    ResourceFlavors, WorkloadPriorityClasses and Cohorts under /apis/kueue.x-k8s.io/v1beta1
    and v1beta2, each version in its own shape, with Kueue's short names and printer columns,
    OpenAPI v2/v3, field selectors and paging. ClusterQueues take merge patches (with a
    resourceVersion precondition) that act in the running twin at once; a scenario with a
    Policy also serves the SageMaker compute-quota and scheduler-config API at the same URL
    (boto3's endpoint_url). Other writes get 405 MethodNotAllowed.
    Try, in another shell:
      KUBECONFIG=.taskgov/twin-kubeconfig kubectl get kwl,cq,lq -A
      KUBECONFIG=.taskgov/twin-kubeconfig kubectl explain workload.spec
    """
    if speed <= 0:
        raise InputError([Fault("--speed", "", "", f"must be positive, got {speed}")])
    from taskgov.governance import connect, governance_for

    documents = read_files((file,))
    governance = governance_for(documents, frozenset(aws_access_keys))
    server = serve_twin(
        scenario_from_documents(documents),
        kubeconfig=kubeconfig,
        host=host,
        port=port,
        speed=speed,
        history=history,
        sagemaker=governance[0] if governance else None,
    )
    if governance:
        connect(server, *governance)
    click.echo(
        f"twin serving {file} at {server.url} (speed {speed}x); kubeconfig: {kubeconfig}", err=True
    )
    try:
        while not (exit_when_done and server.live.done.is_set()):
            server.live.done.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
