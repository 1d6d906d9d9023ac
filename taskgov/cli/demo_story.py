"""The demo's narration: the set-up first, then what Kueue decides as each job arrives.

Everything said is read from the seed's documents and the twin's own ledger, so the story
stays true when the seed or the twin changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from taskgov.catalog import instance_catalog
from taskgov.kueue.hyperpod import PRIORITY_CLASS_SUFFIX
from taskgov.policy.compile import namespace_name
from taskgov.policy.model import Cluster, ComputeQuota, Policy
from taskgov.twin.durations import format_duration_ms
from taskgov.twin.engine import Twin
from taskgov.twin.objects import WorkloadSpec

# The API's BorrowLimit when a LendAndBorrow allocation names none.
DEFAULT_BORROW_LIMIT_PCT = 50


@dataclass(frozen=True, slots=True)
class Job:
    """One job of the story: its number, team, size and rank."""

    number: int
    spec: WorkloadSpec
    team: str
    accelerators: int
    priority_class: str

    @property
    def label(self) -> str:
        return f"Job {self.number} ({self.spec.name})"


def story_jobs(
    workloads: tuple[WorkloadSpec, ...] | list[WorkloadSpec], policy: Policy
) -> list[Job]:
    """The scenario's workloads numbered in submission order, with their team and size."""
    teams = {
        namespace_name(q.compute_quota_target.team_name): q.compute_quota_target.team_name
        for q in policy.compute_quotas
    }
    jobs = []
    for number, spec in enumerate(workloads, 1):
        accelerators = sum(
            amount
            for pod_set in spec.pod_sets
            for resource, amount in pod_set.requests.items()
            if resource not in ("cpu", "memory")
        )
        priority_class = (spec.priority_class or "").removesuffix(PRIORITY_CLASS_SUFFIX) or "none"
        jobs.append(
            Job(
                number,
                spec,
                teams.get(spec.namespace, spec.namespace),
                accelerators,
                priority_class,
            )
        )
    return jobs


def setup_lines(policy: Policy, cluster: Cluster, jobs: list[Job]) -> Iterator[str]:
    """The cluster, the teams' guarantees and borrowing, the priority classes and the jobs."""
    catalog = instance_catalog()
    yield f"== The set-up: cluster {cluster.name}, policy {policy.name}"
    for instance_type, count in cluster.instance_counts().items():
        spec = catalog[instance_type]
        yield (
            f"  {count} x {instance_type}, {spec.accelerator_count} {spec.accelerator_model} "
            f"accelerator(s) each: {count * spec.accelerator_count} in all"
        )
    for quota in policy.active_quotas():
        yield f"  {_quota_line(quota)}"
    classes = sorted(policy.scheduler_config.priority_classes, key=lambda c: -c.weight)
    if classes:
        ranked = ", ".join(f"{c.name} {c.weight}" for c in classes)
        yield f"  priority classes (higher weight first): {ranked}"
    for job in jobs:
        yield f"  {_job_line(job, jobs)}"
    yield ""


def _quota_line(quota: ComputeQuota) -> str:
    config = quota.compute_quota_config
    catalog = instance_catalog()
    guaranteed = sum(
        (r.accelerators if r.accelerators is not None else (r.count or 0))
        * (1 if r.accelerators is not None else catalog[r.instance_type].accelerator_count)
        for r in config.compute_quota_resources
    )
    instances = ", ".join(
        f"{r.count} x {r.instance_type}" for r in config.compute_quota_resources if r.count
    )
    sharing = config.resource_sharing_config
    line = f"{quota.compute_quota_target.team_name}: guaranteed {instances or 'nothing'}"
    line += f" ({guaranteed} accelerators); {sharing.strategy}"
    if sharing.strategy == "LendAndBorrow":
        percent = DEFAULT_BORROW_LIMIT_PCT if sharing.borrow_limit is None else sharing.borrow_limit
        line += (
            f", BorrowLimit {percent}: lends what it leaves idle and may borrow up to "
            f"{guaranteed * percent // 100} more"
        )
    return line


def _job_line(job: Job, jobs: list[Job]) -> str:
    line = (
        f"{job.label}: {job.team}, {job.accelerators} accelerator(s), priority class "
        f"{job.priority_class} ({job.spec.priority}), submitted at "
        f"{format_duration_ms(job.spec.submit_at_ms)}"
    )
    outranked = [
        other.label.split(" (")[0]
        for other in jobs
        if other.number < job.number
        and other.team == job.team
        and other.spec.priority < job.spec.priority
    ]
    if outranked:
        line += f"; it outranks {' and '.join(outranked)}"
    return line


def _borrowed_accelerators(twin: Twin, key: str) -> str:
    run = twin.runs[key]
    node = twin.nodes[run.cluster_queue]
    usage = run.running.usage if run.running else {}
    return "".join(
        f", borrowing {node.usage[fr] - node.nominal(fr)} {fr[1]} in flavor {fr[0]}"
        for fr in usage
        if fr[1] not in ("cpu", "memory") and node.usage.get(fr, 0) > node.nominal(fr)
    )


def narrate_step(twin: Twin, since: int, job_names: dict[str, str]) -> list[str]:
    """What happened to the jobs since ledger entry ``since``, from the twin's own ledger.

    Admissions and evictions in order, then the last reason each job still waits for.
    """
    lines = []
    waiting: dict[str, str] = {}
    for change in twin.ledger[since:]:
        job = job_names.get(change.workload, change.workload)
        if change.type == "Admitted" and change.status == "True":
            queue = twin.runs[change.workload].cluster_queue
            borrowed = _borrowed_accelerators(twin, change.workload)
            lines.append(f"{job} is admitted in ClusterQueue {queue}{borrowed}.")
            waiting.pop(job, None)
        elif change.type == "Preempted" and change.status == "True":
            lines.append(f"{job} is evicted: Preempted, reason {change.reason}: {change.message}")
        elif change.type == "QuotaReserved" and change.message.startswith("couldn't assign"):
            if "Pending the preemption" not in change.message:
                waiting[job] = change.message
    return lines + [f"{job} waits: {message}" for job, message in sorted(waiting.items())]
