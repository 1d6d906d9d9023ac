"""Property test: in a one-level cohort, victims are searched on private copies of the usage
(``taskgov.twin.usage_view``) and must be exactly those the search on the quota tree finds.

Random flat cohorts (2-5 ClusterQueues, with or without quota of the cohort's own, random
nominal quotas, borrowing and lending limits and classical preemption policies, including
``borrowWithinCohort`` with a priority threshold) get random streams of workloads asking for
cpu, or cpu and memory (so both the one-resource and the several-resource searches run). Each
is replayed twice, once as shipped and once with every search on the tree; the ledgers of
condition changes and the preemptions must be identical, entry for entry.
"""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskgov.twin import preemption
from taskgov.twin.build import add_queue, cluster_queue, one_pod_workload, resource_group
from taskgov.twin.engine import Twin
from taskgov.twin.objects import Cohort, Preemption, ResourceFlavor, ResourceQuota
from taskgov.twin.scenario import Scenario

RESOURCES = ("cpu", "memory")
limits = st.one_of(st.none(), st.integers(0, 8))


@st.composite
def classical_scenarios(draw: st.DrawFn) -> Scenario:
    """A random flat cohort under classical preemption and a random workload stream."""
    scenario = Scenario()
    scenario.flavors["default"] = ResourceFlavor("default")

    own = draw(st.integers(0, 4))
    own_quota = {"default": {r: ResourceQuota(own) for r in RESOURCES}}
    scenario.cohorts["pool"] = Cohort("pool", None, (resource_group(own_quota),) if own else ())
    names = [f"cq-{i}" for i in range(draw(st.integers(2, 5)))]
    for name in names:
        quotas = {
            "default": {
                r: ResourceQuota(draw(st.integers(0, 8)), draw(limits), draw(limits))
                for r in RESOURCES
            }
        }
        policy = Preemption(
            draw(st.sampled_from(["Never", "LowerPriority", "LowerOrNewerEqualPriority"])),
            draw(st.sampled_from(["Never", "LowerPriority", "Any"])),
            draw(st.sampled_from(["Never", "LowerPriority"])),
            draw(st.sampled_from([None, 10])),
        )
        add_queue(scenario, cluster_queue(name, "pool", quotas, preemption=policy), "lq")
    for n in range(draw(st.integers(1, 24))):
        namespace = draw(st.sampled_from(names))
        requests = {"cpu": draw(st.integers(1, 6))}
        if draw(st.booleans()):
            requests["memory"] = draw(st.integers(0, 6))
        run_for_s = draw(st.one_of(st.none(), st.integers(1, 20)))
        scenario.workloads.append(
            one_pod_workload(
                namespace,
                f"wl-{n}",
                "lq",
                requests,
                priority=draw(st.sampled_from([0, 10, 100])),
                submit_at_ms=draw(st.integers(0, 5)) * 1_000,
                run_for_ms=None if run_for_s is None else run_for_s * 1_000,
                document=n,
            )
        )
    scenario.workloads.sort(key=lambda w: (w.submit_at_ms, w.document))
    return scenario


def outcome(scenario: Scenario) -> tuple[list[tuple[object, ...]], list[object]]:
    twin = Twin(scenario)
    twin.run()
    ledger = [(c.time_ms, c.workload, c.type, c.status, c.reason, c.message) for c in twin.ledger]
    return ledger, list(twin.preemptions)


# The same 150 seeded scenarios for both tests.
SEEDED = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@SEEDED
@given(classical_scenarios())
def test_one_level_cohort_search_picks_the_tree_search_victims(scenario: Scenario) -> None:
    with patch.object(preemption, "is_flat_cohort_member", lambda node: False):
        want_ledger, want_preemptions = outcome(scenario)
    ledger, preemptions = outcome(scenario)
    assert preemptions == want_preemptions
    assert ledger == want_ledger


def test_the_property_test_sees_preemptions() -> None:
    """The generated scenarios do preempt, with one and with two resources (else the
    property above would compare nothing)."""
    counts = {1: 0, 2: 0}

    @SEEDED
    @given(classical_scenarios())
    def count(scenario: Scenario) -> None:
        twin = Twin(scenario)
        twin.run()
        for p in twin.preemptions:
            requests = twin.runs[p.preemptor].spec.pod_sets[0].requests
            counts[sum(1 for amount in requests.values() if amount > 0)] += 1

    count()
    assert counts[1] > 0
    assert counts[2] > 0
