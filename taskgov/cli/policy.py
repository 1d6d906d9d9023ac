"""``taskgov policy`` and ``taskgov catalog``: the governance policy and the instance catalog."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from taskgov.catalog import instance_catalog
from taskgov.cli.options import kueue_api_version_option, output_option
from taskgov.cli.output import dump_json, dump_yaml_documents, render_rows
from taskgov.errors import InputError
from taskgov.policy.checks import policy_faults
from taskgov.policy.compile import CompileOptions, compile_policy
from taskgov.policy.load import Document, policy_and_cluster, read_documents
from taskgov.settings import load_settings
from taskgov.yamlsafe import read_text


def read_files(paths: tuple[Path, ...]) -> list[Document]:
    """All YAML documents of the given files (``-`` is standard input), in order."""
    documents: list[Document] = []
    for path in paths:
        source = "<stdin>" if str(path) == "-" else str(path)
        text = sys_stdin_text() if str(path) == "-" else read_text(path)
        documents += read_documents(text, source)
    return documents


def sys_stdin_text() -> str:
    return click.get_text_stream("stdin").read()


@click.group("policy")
def policy_group() -> None:
    """Check and compile HyperPod task-governance policies.

    \b
    A policy file holds a `Cluster` document (instance groups) and a `Policy` document
    (the cluster policy and every team's compute allocation). API shapes keep their
    SageMaker names and may be written as the AWS CLI shorthand strings, e.g.
      schedulerConfig: "PriorityClasses=[{Name=training,Weight=70}],FairShare=Enabled"
    See `taskgov demo` for a complete example.
    """


@policy_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
def validate_command(files: tuple[Path, ...]) -> None:
    """Check a policy against its cluster; exit 2 naming every fault."""
    policy, label, cluster = policy_and_cluster(read_files(files))
    faults = policy_faults(policy, cluster, label)
    if faults:
        raise InputError(faults)
    teams = len(policy.active_quotas())
    click.echo(
        f"{label}: valid ({teams} active allocations, "
        f"{len(policy.scheduler_config.priority_classes)} priority classes)"
    )


@policy_group.command("compile")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@output_option(default="yaml")
@click.option("--cohort", help="Cohort of the team ClusterQueues [settings: cohort_name].")
@kueue_api_version_option
@click.pass_context
def compile_command(
    context: click.Context,
    files: tuple[Path, ...],
    output: str,
    cohort: str | None,
    api_version: str | None,
) -> None:
    """Print the Kueue objects a policy becomes, ready for `kubectl apply -f -`.

    \b
    Example:
      taskgov policy compile policy.yaml | kubectl apply -f -
      taskgov policy compile policy.yaml -o table     what it would create
    """
    settings = load_settings(context.obj["config_file"])
    options = CompileOptions(
        cohort_name=cohort or settings.cohort_name,
        api_version=api_version or settings.kueue_api_version,  # type: ignore[arg-type]
    )
    policy, label, cluster = policy_and_cluster(read_files(files))
    objects = compile_policy(policy, cluster, label, options)
    if output == "json":
        click.echo(dump_json({"apiVersion": "v1", "kind": "List", "items": objects}), nl=False)
    elif output == "yaml":
        click.echo(dump_yaml_documents(objects), nl=False)
    else:
        rows = [
            {
                "kind": o["kind"],
                "api_version": o["apiVersion"],
                "namespace": o["metadata"].get("namespace", ""),
                "name": o["metadata"]["name"],
            }
            for o in objects
        ]
        columns = ["kind", "api_version", "namespace", "name"]
        click.echo(render_rows(rows, columns, output), nl=False)  # type: ignore[arg-type]


@click.command("catalog")
@output_option()
def catalog_command(output: str) -> None:
    """List the accelerated instance types and the resources one instance brings."""
    rows = [asdict(spec) for spec in instance_catalog().values()]
    columns = [
        "instance_type",
        "accelerator_resource",
        "accelerator_count",
        "accelerator_model",
        "vcpu",
        "memory_gib",
    ]
    click.echo(render_rows(rows, columns, output), nl=False)  # type: ignore[arg-type]
