"""The solver's input: plain frozen numbers per team and instance type, nothing to validate.

Built once from a demand profile, the current policy, the cluster and the settings. Amounts
of demand are accelerators; quotas are whole instances (``ComputeQuotaResources[].Count``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from optimizer.demand import DemandProfile, offered_column, percentile_column
from optimizer.settings import OptimizerSettings
from taskgov.catalog import instance_catalog
from taskgov.policy.compile import DEFAULT_BORROW_LIMIT_PCT
from taskgov.policy.model import Cluster, ComputeQuota, Policy

# ResourceSharingConfig.BorrowLimit and ComputeQuotaTarget.FairShareWeight ranges (botocore).
MAX_BORROW_LIMIT_PCT = 10_000
MAX_FAIR_SHARE_WEIGHT = 100
# How a team borrows: by a BorrowLimit percent the model chooses, not at all (Strategy Lend or
# DontLend), or by AbsoluteBorrowLimits the model keeps (and assumes let it reach its peak).
BorrowMode = Literal["percent", "none", "absolute"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One team on one instance type.

    Attributes:
        team: the team (its ClusterQueue is ``hyperpod-ns-<team>-clusterqueue``).
        instance_type: the instance type (a ResourceFlavor of the same name).
        current: nominal instances today (``Count``; 0 when the team has no entry).
        sustained_acc: demand at the sustained percentile, accelerators.
        peak_acc: demand at the peak percentile, accelerators.
        largest_acc: accelerators of the team's largest job on the type.
        max_acc: the most demand recorded at any time, accelerators; ``None`` is the peak.
        floor: least nominal instances allowed, if set.
        ceiling: most nominal instances allowed, if set.
        max_change: largest change of the nominal count this run.
        fixed_acc: accelerators of an entry the model keeps as it is (given by amounts, not
            Count); ``None`` when the model chooses the Count.
    """

    team: str
    instance_type: str
    current: int
    sustained_acc: int
    peak_acc: int
    largest_acc: int = 0
    floor: int | None = None
    ceiling: int | None = None
    max_change: int = 4
    fixed_acc: int | None = None
    max_acc: int | None = None

    @property
    def top_acc(self) -> int:
        """The most demand recorded, never below the peak."""
        return max(self.peak_acc, self.max_acc or 0)


@dataclass(frozen=True, slots=True)
class Team:
    """A team's settings that span instance types.

    Attributes:
        name: the team.
        current_borrow_pct: the BorrowLimit in force (the API default 50 when unset).
        borrow: how the team borrows; only ``percent`` lets the model choose BorrowLimit.
        current_weight: the FairShareWeight in force (0 when unset).
        target_weight: the weight that shares idle capacity in proportion to burst demand.
    """

    name: str
    current_borrow_pct: int = DEFAULT_BORROW_LIMIT_PCT
    borrow: BorrowMode = "percent"
    current_weight: int = 0
    target_weight: int = 0


@dataclass(frozen=True, slots=True)
class ModelData:
    """Everything the CP-SAT model reads.

    Attributes:
        instance_types: types in the cluster, in cluster order.
        accelerators: accelerators per instance of each type.
        capacity: instances of each type in the cluster.
        teams: every team, sorted by name.
        cells: one per (team, instance type).
        idle_sharing: IdleResourceSharing is Enabled, so unallocated instances are lent too.
        max_teams_changed: at most this many teams change, if set.
        max_borrow_change_pct: largest BorrowLimit change per team, if set.
        max_weight_change: largest FairShareWeight change per team, if set.
        sustained_percentile: the percentile ``Cell.sustained_acc`` holds.
        peak_percentile: the percentile ``Cell.peak_acc`` holds.
    """

    instance_types: tuple[str, ...]
    accelerators: Mapping[str, int]
    capacity: Mapping[str, int]
    teams: tuple[Team, ...]
    cells: Mapping[tuple[str, str], Cell]
    idle_sharing: bool = False
    max_teams_changed: int | None = None
    max_borrow_change_pct: int | None = None
    max_weight_change: int | None = None
    sustained_percentile: float = 75.0
    peak_percentile: float = 95.0


def runnable_acc(cell: Cell, accelerators: int, capacity: int) -> int:
    """The team's largest job, as far as the type's instances can hold it."""
    return min(cell.largest_acc, accelerators * capacity)


def reach_acc(
    cell: Cell, accelerators: int, capacity: int, sustained_all: int, *, top: bool = False
) -> int:
    """Peak demand idle capacity could serve: the peak (with ``top``, the most recorded), at
    most the type's accelerators minus the other teams' sustained demand (``sustained_all``
    includes this cell's)."""
    demand = cell.top_acc if top else cell.peak_acc
    return min(demand, accelerators * capacity - (sustained_all - cell.sustained_acc))


def target_weights(cells: Mapping[tuple[str, str], Cell], teams: list[str]) -> dict[str, int]:
    """FairShareWeight in proportion to each team's burst (peak minus sustained) accelerators.

    Under Kueue fair sharing a borrower's share is its borrowed fraction divided by its
    weight, so weights proportional to burst demand split idle capacity in proportion to
    need. The burstiest team gets 100; a team that never bursts gets 0. Empty when no team
    bursts (nothing to share, so weights stay as they are).
    """
    burst = {
        team: sum(max(0, c.peak_acc - c.sustained_acc) for (t, _), c in cells.items() if t == team)
        for team in teams
    }
    largest = max(burst.values(), default=0)
    if largest == 0:
        return {}
    return {team: (200 * b + largest) // (2 * largest) for team, b in burst.items()}


def _current_counts(quota: ComputeQuota | None) -> tuple[dict[str, int], dict[str, int]]:
    """Instances per type given by Count, and accelerators of entries given by amounts."""
    counts: dict[str, int] = {}
    fixed: dict[str, int] = {}
    if quota is None:
        return counts, fixed
    for entry in quota.compute_quota_config.compute_quota_resources:
        if entry.count is not None:
            counts[entry.instance_type] = entry.count
        else:
            fixed[entry.instance_type] = entry.accelerators or 0
    return counts, fixed


def _cells(
    team_names: list[str],
    types: tuple[str, ...],
    quotas: dict[str, ComputeQuota],
    demand: dict[tuple[str, str], dict[str, Any]],
    settings: OptimizerSettings,
) -> dict[tuple[str, str], Cell]:
    """One cell per team and instance type, every pair present: a team without demand on a
    type still has a current count the model may keep or change."""
    column = offered_column if settings.demand_basis == "offered" else percentile_column
    sustained = column(settings.sustained_percentile)
    peak = column(settings.peak_percentile)
    most = "offered_max" if settings.demand_basis == "offered" else "demand_max"
    cells: dict[tuple[str, str], Cell] = {}
    for team in team_names:
        counts, fixed = _current_counts(quotas.get(team))
        for instance_type in types:
            row = demand.get((team, instance_type), {})
            cells[(team, instance_type)] = Cell(
                team=team,
                instance_type=instance_type,
                current=counts.get(instance_type, 0),
                sustained_acc=int(row.get(sustained) or 0),
                peak_acc=int(row.get(peak) or 0),
                largest_acc=int(row.get("job_max") or 0),
                floor=settings.bound(settings.floors, team, instance_type),
                ceiling=settings.bound(settings.ceilings, team, instance_type),
                max_change=settings.max_change(team),
                fixed_acc=fixed.get(instance_type),
                max_acc=int(row.get(most) or 0),
            )
    return cells


def _team(team: str, quota: ComputeQuota | None, targets: Mapping[str, int]) -> Team:
    """A team's borrowing and weight today: a policy without a ComputeQuota for the team
    reads as the defaults (HyperPod's borrow limit, weight 0), and the borrow mode says which
    of the model's borrow variables the team may have."""
    sharing = quota.compute_quota_config.resource_sharing_config if quota else None
    weight = (quota.compute_quota_target.fair_share_weight if quota else None) or 0
    pct = sharing.borrow_limit if sharing and sharing.borrow_limit is not None else None
    mode: BorrowMode = "percent"
    if sharing is not None and sharing.strategy != "LendAndBorrow":
        mode = "none"
    elif sharing is not None and sharing.absolute_borrow_limits:
        mode = "absolute"
    return Team(
        name=team,
        current_borrow_pct=DEFAULT_BORROW_LIMIT_PCT if pct is None else pct,
        borrow=mode,
        current_weight=weight,
        target_weight=targets.get(team, weight),
    )


def model_data(
    profile: DemandProfile, policy: Policy, cluster: Cluster, settings: OptimizerSettings
) -> ModelData:
    """The model's input from recorded demand, today's policy and the settings.

    Teams with demand but no ComputeQuota enter with nothing; a proposal for them becomes a
    new allocation. Entries given by Accelerators/VCpu/MemoryInGiB instead of Count are kept
    as they are and their accelerators count against the cluster's capacity.
    """
    catalog = instance_catalog()
    capacity = cluster.instance_counts()
    types = tuple(capacity)
    quotas = {q.compute_quota_target.team_name: q for q in policy.active_quotas()}
    demand = {
        (row["team"], row["instance_type"]): row for row in profile.by_team.iter_rows(named=True)
    }
    team_names = sorted(set(quotas) | {team for team, _ in demand})
    cells = _cells(team_names, types, quotas, demand, settings)
    targets = target_weights(cells, team_names)
    teams = [_team(team, quotas.get(team), targets) for team in team_names]
    return ModelData(
        instance_types=types,
        accelerators={t: catalog[t].accelerator_count for t in types},
        capacity=capacity,
        teams=tuple(teams),
        cells=cells,
        idle_sharing=policy.scheduler_config.idle_resource_sharing == "Enabled",
        max_teams_changed=settings.max_teams_changed,
        max_borrow_change_pct=settings.max_borrow_limit_change_pct,
        max_weight_change=settings.max_weight_change,
        sustained_percentile=settings.sustained_percentile,
        peak_percentile=settings.peak_percentile,
    )
