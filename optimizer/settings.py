"""The optimizer's knobs: percentiles, bounds, change caps and solver parameters.

Validated once at the edge (a YAML file or CLI flags); the core reads the frozen model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from taskgov.errors import Fault, InputError
from taskgov.settings import setting_faults
from taskgov.yamlsafe import load_one, read_text

Percentile = Annotated[float, Field(gt=0, le=100)]
Instances = Annotated[int, Field(ge=0)]
# Key of a per-type bound that applies to every instance type of the team.
ANY_TYPE = "*"


class SolverSettings(BaseModel):
    """CP-SAT parameters; every run states them, so results can be reproduced.

    Attributes:
        time_limit_s: wall-time limit of each lexicographic phase.
        num_workers: parallel search workers.
        seed: ``random_seed``.
        params: more ``SatParameters`` as ``name:value,name:value``; they win over the above.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_limit_s: Annotated[float, Field(gt=0)] = 10.0
    num_workers: Annotated[int, Field(ge=1, le=64)] = 8
    seed: Annotated[int, Field(ge=0)] = 0
    params: str = ""


class ForwardSettings(BaseModel):
    """How candidates are judged on futures the solver did not see (``optimizer.robust``).

    Attributes:
        holdout_days: the history's last days, kept from the solver to judge candidates on.
        futures: resampled futures that report the chosen candidate's effect (their mean and
            range: more than one, so the range is a spread).
        future_days: days per resampled future.
        sustained_percentiles: the sustained percentiles CP-SAT proposes a candidate for.
        largest_job_acc: the largest job any team may plausibly submit, accelerators; every
            BorrowLimit lets such a job run, capacity permitting. ``None``: the largest job
            any team submitted.
        wait_warning_h: the plan warns when the proposal's p95 wait stays above this.
        seed: the resampling's random seed.
        max_replay_jobs: most jobs one replay of a future plays (the jobs running and
            pending at the start count too; the future's first jobs, its horizon shortened);
            ``None`` is no cap.
        finalists: with more candidates, every candidate is first replayed on the surge's
            first ``screen_jobs`` jobs and only this many best go on to the full futures;
            ``None`` replays every candidate in full.
        screen_jobs: the length of that first replay, jobs.
        choice: how the finalists are ranked: ``ratio`` (the lowest robust score: summed
            ratios to the best candidate, the worst future) or ``verdict`` (the forward
            evaluation's own rule on the choose futures: the fewest candidates it is beaten
            by in a future or does not win against summed; then the robust score).
        split_borrow_limits: the BorrowLimits each candidate split comes with.
        today_candidate: today's quotas (guarded) are a candidate too, last.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    holdout_days: Annotated[float, Field(gt=0)] = 7.0
    futures: Annotated[int, Field(ge=1, le=20)] = 3
    future_days: Annotated[int, Field(ge=1, le=60)] = 7
    sustained_percentiles: tuple[Percentile, ...] = (50.0, 75.0)
    largest_job_acc: Annotated[int, Field(ge=0)] | None = None
    wait_warning_h: Annotated[float, Field(ge=0)] = 24.0
    seed: Annotated[int, Field(ge=0)] = 0
    max_replay_jobs: Annotated[int, Field(ge=1)] | None = 1_000
    finalists: Annotated[int, Field(ge=1)] | None = 3
    screen_jobs: Annotated[int, Field(ge=1)] = 300
    choice: Literal["ratio", "verdict"] = "ratio"
    split_borrow_limits: tuple[Annotated[int, Field(ge=0, le=10_000)], ...] = (50, 100, 10_000)
    today_candidate: bool = True


class OptimizerSettings(BaseModel):
    """What the recommendation must respect and how it weighs demand.

    Attributes:
        sustained_percentile: the demand percentile each team's nominal quota should cover.
        peak_percentile: the demand percentile a team should reach by borrowing idle quota.
        demand_basis: which demand the percentiles read: ``offered`` (each job's run time
            from its submission, as if nothing queued: what the team would use) or
            ``queued`` (running + pending, which also counts the backlog today's quotas
            caused and so overstates a team held back by them).
        max_change_instances: largest change of one team's nominal count per type per run.
        max_change_overrides: the same, per team.
        floors: least nominal instances, per team and instance type (``*``: every type).
        ceilings: most nominal instances, per team and instance type (``*``: every type).
        max_teams_changed: at most this many teams change per run; ``None`` is no cap.
        max_borrow_limit_change_pct: largest BorrowLimit change per run; ``None`` is no cap.
        max_weight_change: largest FairShareWeight change per run; ``None`` is no cap.
        solver: CP-SAT parameters.
        forward: how candidates are judged on resampled futures.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sustained_percentile: Percentile = 75.0
    peak_percentile: Percentile = 95.0
    demand_basis: Literal["offered", "queued"] = "offered"
    max_change_instances: Instances = 4
    max_change_overrides: dict[str, Instances] = {}
    floors: dict[str, dict[str, Instances]] = {}
    ceilings: dict[str, dict[str, Instances]] = {}
    max_teams_changed: Instances | None = None
    max_borrow_limit_change_pct: Annotated[int, Field(ge=0, le=10_000)] | None = None
    max_weight_change: Annotated[int, Field(ge=0, le=100)] | None = None
    solver: SolverSettings = SolverSettings()
    forward: ForwardSettings = ForwardSettings()

    @model_validator(mode="after")
    def _peak_above_sustained(self) -> OptimizerSettings:
        if self.peak_percentile < self.sustained_percentile:
            raise ValueError(
                f"peak_percentile {self.peak_percentile} is below sustained_percentile "
                f"{self.sustained_percentile}"
            )
        return self

    def percentiles(self) -> tuple[float, ...]:
        """The demand percentiles a profile must hold: the median, sustained and peak."""
        return tuple(sorted({50.0, self.sustained_percentile, self.peak_percentile}))

    def bound(self, which: dict[str, dict[str, int]], team: str, instance_type: str) -> int | None:
        """A team's floor or ceiling for one type: the type's own entry, else ``*``."""
        by_type = which.get(team, {})
        return by_type.get(instance_type, by_type.get(ANY_TYPE))

    def max_change(self, team: str) -> int:
        """Largest change of ``team``'s nominal count per instance type this run."""
        return self.max_change_overrides.get(team, self.max_change_instances)


def optimizer_settings(data: dict[str, Any], source: str) -> OptimizerSettings:
    """Validate settings, turning every validation error into a named fault.

    Raises:
        InputError: an unknown or invalid setting.
    """
    try:
        return OptimizerSettings.model_validate(data)
    except ValidationError as error:
        raise InputError(setting_faults(error, source, "optimizer settings")) from None


def load_optimizer_settings(path: Path) -> OptimizerSettings:
    """Settings from a YAML mapping (keys as the attribute names, ``-`` or ``_``).

    Raises:
        InputError: the file is unreadable, not a mapping, or holds a bad setting.
    """
    loaded = load_one(read_text(path), str(path)) or {}
    if not isinstance(loaded, dict):
        raise InputError([Fault(str(path), "", "", "must be a mapping of setting: value")])
    return optimizer_settings({str(k).replace("-", "_"): v for k, v in loaded.items()}, str(path))
