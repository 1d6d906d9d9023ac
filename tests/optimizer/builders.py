"""Builders for optimizer tests: jobs, histories, policies and model cells."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from optimizer.demand import JOB_COLUMNS
from optimizer.model.data import Cell, ModelData, Team
from optimizer.replay import WORKLOAD_COLUMNS
from taskgov.policy.model import (
    Cluster,
    ComputeQuota,
    ComputeQuotaConfig,
    ComputeQuotaResource,
    ComputeQuotaTarget,
    InstanceGroup,
    Policy,
    ResourceSharingConfig,
    SchedulerConfig,
)

# 8 GPUs an instance.
P4D = "ml.p4d.24xlarge"
HOUR = 3600.0


def job(
    team: str,
    *,
    gpus: int = 8,
    submit_h: float = 0,
    start_h: float | None = 0,
    end_h: float | None = 1,
    priority_class: str | None = None,
    instance_type: str = P4D,
    preemptions: int = 0,
) -> dict[str, Any]:
    """One recorded job; times in hours."""
    return {
        "team": team,
        "instance_type": instance_type,
        "accelerators": gpus,
        "submit_s": submit_h * HOUR,
        "start_s": None if start_h is None else start_h * HOUR,
        "end_s": None if end_h is None else end_h * HOUR,
        "priority_class": priority_class,
        "preemptions": preemptions,
    }


def history(*jobs: dict[str, Any]) -> pl.DataFrame:
    """Jobs as a DemandSource returns them."""
    schema = {**JOB_COLUMNS, "preemptions": pl.Int64}
    return pl.DataFrame(list(jobs), schema=schema, orient="row")


def workloads(*rows: tuple[str, int, float, float]) -> pl.DataFrame:
    """Workloads as a replay takes them: (team, GPUs, submit hour, run hours) per job."""
    return pl.DataFrame(
        [(team, P4D, gpus, submit * HOUR, run * HOUR, None) for team, gpus, submit, run in rows],
        schema=WORKLOAD_COLUMNS,
        orient="row",
    )


def daily(team: str, days: int, **kwargs: Any) -> list[dict[str, Any]]:
    """The same job every day; hour arguments are relative to the day's start."""
    shifted = []
    for day in range(days):
        moved = dict(kwargs)
        for key in ("submit_h", "start_h", "end_h"):
            if moved.get(key) is not None:
                moved[key] = moved[key] + 24 * day
        shifted.append(job(team, **moved))
    return shifted


@dataclass
class PolicyBuilder:
    """``make_policy().team("a", count=2).build()``."""

    name: str = "test-policy"
    teams: list[ComputeQuota] = field(default_factory=list)
    fair_share: str = "Enabled"

    def team(
        self,
        team: str,
        *,
        count: int = 1,
        borrow_limit: int | None = 50,
        weight: int | None = 0,
        instance_type: str = P4D,
    ) -> PolicyBuilder:
        self.teams.append(
            ComputeQuota(
                name=f"{team}-quota",
                compute_quota_config=ComputeQuotaConfig(
                    compute_quota_resources=[
                        ComputeQuotaResource(instance_type=instance_type, count=count)
                    ],
                    resource_sharing_config=ResourceSharingConfig(
                        strategy="LendAndBorrow", borrow_limit=borrow_limit
                    ),
                ),
                compute_quota_target=ComputeQuotaTarget(team_name=team, fair_share_weight=weight),
            )
        )
        return self

    def build(self) -> Policy:
        return Policy(
            name=self.name,
            scheduler_config=SchedulerConfig(fair_share=self.fair_share),  # type: ignore[arg-type]
            compute_quotas=self.teams,
        )


def make_policy() -> PolicyBuilder:
    return PolicyBuilder()


def two_teams_no_borrowing() -> Policy:
    """team-a guaranteed 2 instances, team-b 1; neither may borrow (BorrowLimit 0)."""
    return (
        make_policy()
        .team("team-a", count=2, borrow_limit=0)
        .team("team-b", count=1, borrow_limit=0)
        .build()
    )


def make_cluster(count: int = 3, instance_type: str = P4D) -> Cluster:
    return Cluster(
        name="test-cluster",
        instance_groups=[InstanceGroup(instance_type=instance_type, instance_count=count)],
    )


def cell(team: str, current: int, sustained: int, peak: int | None = None, **kwargs: Any) -> Cell:
    """A team on ml.p4d.24xlarge: counts in instances, demand in GPUs."""
    return Cell(team, P4D, current, sustained, sustained if peak is None else peak, **kwargs)


def model_data(*cells: Cell, capacity: int = 3, **kwargs: Any) -> ModelData:
    """Model input over ml.p4d.24xlarge; ``team_<name>={...}`` overrides a team's settings."""
    overrides = {k.removeprefix("team_"): v for k, v in kwargs.items() if k.startswith("team_")}
    rest = {k: v for k, v in kwargs.items() if not k.startswith("team_")}
    teams = tuple(replace(Team(c.team), **overrides.get(c.team, {})) for c in cells)
    return ModelData(
        instance_types=(P4D,),
        accelerators={P4D: 8},
        capacity={P4D: capacity},
        teams=teams,
        cells={(c.team, P4D): c for c in cells},
        **rest,
    )
