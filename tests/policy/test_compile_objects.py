"""The policy compiles to typed Kueue objects; the twin plays them as it would the manifests.

What-if replays hand the twin the compiled objects directly (no manifests in between), so the
objects must equal what the one Kueue reader makes of the rendered manifests.
"""

from __future__ import annotations

import pytest

from taskgov.policy.compile import compile_objects, compile_policy
from taskgov.policy.load import Document, policy_and_cluster
from taskgov.twin.scenario import Scenario, build_scenario
from tests.builders import cluster_doc, documents, policy_doc, quota

MIXED = "[{InstanceType=ml.g5.8xlarge,Count=1},{InstanceType=ml.p4d.24xlarge,Accelerators=4}]"


@pytest.mark.parametrize(
    "bodies",
    [
        pytest.param(
            (policy_doc(), cluster_doc()),
            id="two teams lending and borrowing with fair sharing on",
        ),
        pytest.param(
            (
                policy_doc(
                    [
                        quota("team-a", sharing="{Strategy=DontLend}", weight=40),
                        quota("team-b", resources=MIXED, sharing="{Strategy=Lend}"),
                        quota("team-c", state="Disabled"),
                    ],
                    scheduler_config="FairShare=Disabled,IdleResourceSharing=Enabled",
                ),
                cluster_doc(ml_g5_8xlarge=4, ml_p4d_24xlarge=2),
            ),
            id="no classes, no fair sharing, a disabled team and idle capacity lent",
        ),
    ],
)
def test_compiled_objects_equal_the_read_manifests(bodies: tuple[dict, ...]) -> None:
    policy, label, cluster = policy_and_cluster(documents(*bodies))
    compiled = compile_objects(policy, cluster, label)
    manifests = compile_policy(policy, cluster, label)

    typed = Scenario.from_objects(compiled.kueue)
    read = build_scenario(
        [Document("compiled", n, body) for n, body in enumerate(manifests)],
        fair_sharing=compiled.kueue.fair_sharing,
    )

    assert (typed.flavors, typed.cluster_queues, typed.cohorts) == (
        read.flavors,
        read.cluster_queues,
        read.cohorts,
    )
    assert (typed.local_queues, typed.priority_classes, typed.fair_sharing) == (
        read.local_queues,
        read.priority_classes,
        read.fair_sharing,
    )
    assert len(typed.cluster_queues) == len(compiled.teams) + (
        "IdleResourceSharing=Enabled" in str(bodies[0])
    )
