"""``taskgov demo``: the seed's example on embedded defaults."""

from __future__ import annotations

from importlib import resources

import click

from taskgov.cli.output import dump_yaml_documents
from taskgov.policy.compile import compile_policy
from taskgov.policy.load import policy_and_cluster, read_documents

SEED_POLICY = "data/seed/policy.yaml"


def seed_policy_text() -> str:
    return resources.files("taskgov").joinpath(SEED_POLICY).read_text()


@click.command("demo")
def demo_command() -> None:
    """Run the HyperPod example: compile its policy and show the Kueue objects.

    The policy is the one the HyperPod task-governance example creates with the AWS CLI:
    4 ml.g5.8xlarge instances, team-a and team-b with 2 each, LendAndBorrow with
    BorrowLimit 50, and four priority classes.
    """
    documents = read_documents(seed_policy_text(), f"taskgov:{SEED_POLICY}")
    policy, label, cluster = policy_and_cluster(documents)
    objects = compile_policy(policy, cluster, label)
    click.echo(
        f"# {label}: {len(policy.active_quotas())} teams on "
        f"{', '.join(f'{n} x {t}' for t, n in cluster.instance_counts().items())}",
        err=True,
    )
    click.echo(dump_yaml_documents(objects), nl=False)
