"""A quota change on a running tree: what each queue may lend and borrow follows the new quotas.

Kueue recomputes a cohort's resource node whenever a ClusterQueue's spec changes
(pkg/cache ``updateCohortTreeResources``); the twin keeps what a node can lend (Kueue's
``calculateLendable``) between changes, so a change must drop it.
"""

from __future__ import annotations

import pytest

from taskgov.kueue.objects import Cohort, ResourceQuota
from taskgov.twin.build import cluster_queue
from taskgov.twin.quota import build_subtree_quotas, build_tree

GPU = "nvidia.com/gpu"
FLAVOR = "ml.p5.48xlarge"


def gpus(nominal: int, borrowing_limit: int | None = None) -> dict[str, dict[str, ResourceQuota]]:
    return {FLAVOR: {GPU: ResourceQuota(nominal, borrowing_limit=borrowing_limit)}}


@pytest.mark.parametrize(
    ("queue", "new_quota", "want_lendable_a", "want_lendable_b"),
    [
        pytest.param("b", ResourceQuota(24), 32, 32, id="b's nominal raised: a may use more"),
        pytest.param("b", ResourceQuota(0), 8, 8, id="b's nominal cut to 0: a keeps its own"),
        pytest.param(
            "a", ResourceQuota(8, borrowing_limit=4), 12, 16, id="a given a borrowing limit of 4"
        ),
    ],
)
def test_lendable_follows_a_quota_change(
    queue: str, new_quota: ResourceQuota, want_lendable_a: int, want_lendable_b: int
) -> None:
    queues = {name: cluster_queue(name, "pool", gpus(8)) for name in ("a", "b")}
    nodes = build_tree({"pool": Cohort("pool")}, queues)
    assert nodes["a"].lendable() == {GPU: 16}  # kept from here on

    nodes[queue].quotas = {(FLAVOR, GPU): new_quota}
    build_subtree_quotas(nodes[queue].root())

    assert nodes["a"].lendable() == {GPU: want_lendable_a}
    assert nodes["b"].lendable() == {GPU: want_lendable_b}
