"""The demo's last act: recommend from the record, apply it to the twin, see what changed.

The seed's scenario is served again with its SageMaker endpoint (the twin speaks the compute
quota API at its Kubernetes address); `taskgov recommend` reads the record the live spine just
filled, `taskgov apply` first meets a guardrail, then applies under the demo's own limits, and
the ClusterQueues the running twin serves show the change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from taskgov.cli.output import render_rows
from taskgov.governance import connect, governance_for
from taskgov.kueue.quantity import parse_quantity
from taskgov.policy.load import Document
from taskgov.scenarios import scenario_from_documents
from taskgov.twin.serve import RunningTwinServer, serve_twin

# The twin plays the seed's 15 minutes in about 3 s before the apply.
APPLY_SPEED = 300.0
DEMO_KEYS = {"AWS_ACCESS_KEY_ID": "demo-admin", "AWS_SECRET_ACCESS_KEY": "demo"}
# A BorrowLimit step the default guardrails (200 points) refuse; the demo's limits allow it.
DEMO_GUARDRAILS = "max_borrow_limit_change_pct: 10000\n"


def recommend_and_apply(
    documents: list[Document], policy_file: Path, record: Path, workdir: Path
) -> None:
    """Recommend from ``record``, apply the run to a twin of the seed, print what changed.

    ``workdir`` holds the twin's kubeconfig and the demo's guardrails for as long as it runs.
    """
    click.echo("\n== Recommend from the record, then apply it to the twin's SageMaker API")
    _taskgov("recommend", "--db", str(record), "--policy", str(policy_file))
    server = _serve(documents, workdir)
    try:
        before = cluster_queue_rows(server)
        url = server.url
        click.echo("   (a twin of the seed's cluster, its SageMaker API at the same URL)")
        _taskgov("apply", "1", "--db", str(record), "--endpoint-url", url)
        guardrails = workdir / "demo-guardrails.yaml"
        guardrails.write_text(DEMO_GUARDRAILS)
        click.echo(f"   the demo's guardrails ({DEMO_GUARDRAILS.strip()}) allow that step:")
        _taskgov(
            "apply",
            "1",
            "--db",
            str(record),
            "--endpoint-url",
            url,
            "--guardrails",
            str(guardrails),
            "--approve",
        )
        after = cluster_queue_rows(server)
    finally:
        server.stop()
    click.echo("\n== ClusterQueues in the running twin, before -> after the apply")
    rows = [
        {
            "cluster_queue": b["name"],
            "gpu_nominal": f"{b['nominal']} -> {a['nominal']}",
            "gpu_borrowing_limit": f"{b['borrowing_limit']} -> {a['borrowing_limit']}",
        }
        for b, a in zip(before, after, strict=True)
    ]
    columns = ["cluster_queue", "gpu_nominal", "gpu_borrowing_limit"]
    click.echo(render_rows(rows, columns, "table"), nl=False)
    _taskgov("apply", "--history", "--db", str(record))


def _serve(documents: list[Document], workdir: Path) -> RunningTwinServer:
    governance = governance_for(documents)
    assert governance is not None, "the seed scenario has a Policy"
    scenario = scenario_from_documents(documents)
    server = serve_twin(
        scenario,
        kubeconfig=workdir / "kubeconfig",
        speed=APPLY_SPEED,
        sagemaker=governance[0],
    )
    connect(server, *governance)
    server.live.done.wait(30)
    time.sleep(0.2)
    return server


def cluster_queue_rows(server: RunningTwinServer) -> list[dict[str, Any]]:
    """Each team ClusterQueue's GPU nominal quota and borrowing limit, as served."""
    rows = []
    for obj in sorted(
        server.store.list("clusterqueues", lambda _: True)[0], key=lambda o: o["metadata"]["name"]
    ):
        for group in obj["spec"].get("resourceGroups", []):
            for flavor in group.get("flavors", []):
                for resource in flavor.get("resources", []):
                    if resource["name"] == "nvidia.com/gpu":
                        limit = resource.get("borrowingLimit")
                        rows.append(
                            {
                                "name": obj["metadata"]["name"],
                                "nominal": int(parse_quantity(resource["nominalQuota"])),
                                "borrowing_limit": "none"
                                if limit is None
                                else int(parse_quantity(limit)),
                            }
                        )
    return rows


def _taskgov(*args: str) -> None:
    """Run a taskgov command as the user would, showing it and what it prints."""
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    click.echo(f"\n$ taskgov {shown}")
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "taskgov.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **DEMO_KEYS},
        timeout=300,
    )
    click.echo(done.stdout, nl=False)
    click.echo(done.stderr, nl=False)
    if done.returncode:
        click.echo(f"   (exit {done.returncode})")
