"""Property tests: random fair-sharing scenarios end, and Kueue's quota invariants always hold.

Each scenario is one flat cohort (with or without quota of its own) of 2-4 ClusterQueues with
random nominal quotas, borrowing and lending limits, fair-sharing weights (0 included),
preemption policies and queueing strategies, and up to 16 workloads with random sizes,
priorities, submission times and run times. The twin is stepped event time by event time;
after every step no ClusterQueue holds more than nominal + borrowingLimit, the cohort holds no
more than its capacity, and no ClusterQueue lends more than its lendingLimit (KEP-1224).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskgov.twin.build import add_queue, cluster_queue, one_pod_workload, resource_group
from taskgov.twin.engine import Twin
from taskgov.twin.objects import Cohort, Preemption, ResourceFlavor, ResourceQuota
from taskgov.twin.scenario import STRATEGIES, Scenario

FR = ("default", "cpu")
# A replay of at most 16 workloads needs far fewer event times; more means it does not end.
MAX_STEPS = 5_000

limits = st.one_of(st.none(), st.integers(0, 6))
policies = st.fixed_dictionaries(
    {
        "within": st.sampled_from(["Never", "LowerPriority", "LowerOrNewerEqualPriority"]),
        "reclaim": st.sampled_from(["Never", "LowerPriority", "Any"]),
        "borrow": st.sampled_from(["Never", "LowerPriority"]),
    }
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A random flat cohort with fair sharing on and a random workload stream."""
    scenario = Scenario(fair_sharing=True)
    scenario.preemption_strategies = draw(
        st.sampled_from([STRATEGIES, STRATEGIES[:1], STRATEGIES[1:]])
    )
    scenario.flavors["default"] = ResourceFlavor("default")
    own = draw(st.integers(0, 4))
    groups = (resource_group({"default": {"cpu": ResourceQuota(own)}}),)
    scenario.cohorts["pool"] = Cohort("pool", None, groups if own else ())
    names = [f"cq-{i}" for i in range(draw(st.integers(2, 4)))]
    for name in names:
        quota = ResourceQuota(draw(st.integers(0, 6)), draw(limits), draw(limits))
        policy = draw(policies)
        queue = cluster_queue(
            name,
            "pool",
            {"default": {"cpu": quota}},
            queueing_strategy=draw(st.sampled_from(["BestEffortFIFO", "StrictFIFO"])),
            preemption=Preemption(policy["within"], policy["reclaim"], policy["borrow"]),
            fair_sharing_weight=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
        )
        add_queue(scenario, queue, "lq")
    for n in range(draw(st.integers(1, 16))):
        namespace = draw(st.sampled_from(names))
        run_for_s = draw(st.one_of(st.none(), st.integers(1, 20)))
        priority = draw(st.sampled_from([0, 10, 100]))
        scenario.workloads.append(
            one_pod_workload(
                namespace,
                f"wl-{n}",
                "lq",
                {"cpu": draw(st.integers(1, 5))},
                priority=priority,
                submit_at_ms=draw(st.integers(0, 5)) * 1_000,
                run_for_ms=None if run_for_s is None else run_for_s * 1_000,
                document=n,
            )
        )
    scenario.workloads.sort(key=lambda w: (w.submit_at_ms, w.document))
    return scenario


def quota_violations(twin: Twin) -> list[str]:
    """Every Kueue quota invariant the twin's current state breaks, as sentences."""
    problems = []
    cohort = twin.nodes["cohort:pool"]
    usage = {name: twin.nodes[name].usage.get(FR, 0) for name in twin.scenario.cluster_queues}
    capacity = cohort.subtree_quota.get(FR, 0) + sum(
        twin.nodes[name].local_quota(FR) for name in usage
    )
    if sum(usage.values()) > capacity:
        problems.append(f"cohort uses {sum(usage.values())} of capacity {capacity}")
    for name, cq in twin.scenario.cluster_queues.items():
        quota = cq.quota(*FR)
        assert quota is not None
        if (
            quota.borrowing_limit is not None
            and usage[name] > quota.nominal + quota.borrowing_limit
        ):
            problems.append(f"{name} uses {usage[name]} > nominal + borrowingLimit")
        if quota.lending_limit is not None:
            others = sum(usage.values()) - usage[name]
            lent = max(0, others - (capacity - quota.nominal))
            if lent > quota.lending_limit:
                problems.append(f"{name} lends {lent} > lendingLimit {quota.lending_limit}")
    held = sum(r.usage.get(FR, 0) for runs in twin.running.values() for r in runs)
    if held != sum(usage.values()):
        problems.append(f"admitted workloads hold {held}, quota tree counts {sum(usage.values())}")
    return problems


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_fair_sharing_replay_ends_within_quota_at_every_step(scenario: Scenario) -> None:
    twin = Twin(scenario)
    steps = 0
    while (next_ms := twin.next_event_ms()) is not None:
        twin.run(next_ms)
        steps += 1
        assert steps < MAX_STEPS, "the replay does not end"
        assert quota_violations(twin) == [], f"at {twin.now_ms} ms"
    # Nothing is left to happen: a workload that runs for a while is no longer running.
    assert [key for key, run in twin.runs.items() if run.running and run.spec.run_for_ms] == []
