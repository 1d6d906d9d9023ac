"""The CP-SAT model: lending, starvation, change caps, team caps and named infeasibility."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from optimizer.errors import Conflict
from optimizer.model.data import Cell, ModelData, Team
from optimizer.model.solve import Solution, solve
from optimizer.settings import SolverSettings
from tests.optimizer.builders import P4D, cell, model_data

SOLVER = SolverSettings(num_workers=1, time_limit_s=10)

SOLVED_CASES = [
    pytest.param(
        model_data(cell("idle", 2, sustained=0), cell("busy", 1, sustained=24), capacity=3),
        Solution(
            nominal={("idle", P4D): 0, ("busy", P4D): 3},
            borrow_pct={"idle": 50, "busy": 50},
            weight={"idle": 0, "busy": 0},
        ),
        {"runnable": 0, "coverage": 0, "starvation": 0, "change": 3200, "borrow_limit": 0},
        id="a team that never uses its quota lends it to the team short of quota",
    ),
    pytest.param(
        model_data(
            cell("steady", 2, sustained=8, peak=8),
            cell("bursty", 1, sustained=8, peak=24),
            capacity=3,
            team_steady={"current_borrow_pct": 0},
            team_bursty={"current_borrow_pct": 0, "target_weight": 100},
        ),
        # 16 GPUs idle beside steady's 8; bursty reaches them by borrowing 8 on its 8.
        Solution(
            nominal={("steady", P4D): 2, ("bursty", P4D): 1},
            borrow_pct={"steady": 0, "bursty": 100},
            weight={"steady": 0, "bursty": 100},
        ),
        {"runnable": 0, "coverage": 0, "starvation": 0, "change": 1000, "borrow_limit": 100},
        id="a team starving beside idle capacity gets the borrow limit and weight to reach it",
    ),
    pytest.param(
        model_data(
            cell("idle", 4, sustained=0, max_change=2),
            cell("busy", 1, sustained=40, max_change=2),
            capacity=5,
        ),
        Solution(
            nominal={("idle", P4D): 2, ("busy", P4D): 3},
            # to borrow the 16 GPUs left idle on its 24: floor(24 x 67 / 100) = 16.
            borrow_pct={"idle": 50, "busy": 67},
            weight={"idle": 0, "busy": 0},
        ),
        # 16 GPUs of busy's sustained demand stay outside its guarantee this run.
        {"runnable": 0, "coverage": 16, "starvation": 0, "change": 3200, "borrow_limit": 17},
        id="the change cap holds: two instances move, not four",
    ),
    pytest.param(
        model_data(
            cell("idle", 1, sustained=0),
            cell("busy", 1, sustained=24),
            capacity=3,
            max_teams_changed=1,
        ),
        Solution(
            nominal={("idle", P4D): 1, ("busy", P4D): 2},
            borrow_pct={"idle": 50, "busy": 50},
            weight={"idle": 0, "busy": 0},
        ),
        {"runnable": 0, "coverage": 8, "starvation": 0, "change": 800, "borrow_limit": 0},
        id="at most one team changes: the busy team takes the free instance, the idle one keeps its",
    ),
    pytest.param(
        model_data(cell("big", 3, sustained=24), cell("rare", 0, 0, largest_acc=16), capacity=3),
        # Without an instance rare borrows nothing, so its 16-GPU job would never run: it gets
        # one instance and BorrowLimit 100 to borrow the other 8, before big's coverage.
        Solution(
            nominal={("big", P4D): 2, ("rare", P4D): 1},
            borrow_pct={"big": 50, "rare": 100},
            weight={"big": 0, "rare": 0},
        ),
        {"runnable": 0, "coverage": 8, "starvation": 0, "change": 1600, "borrow_limit": 50},
        id="a team's largest job must fit in its nominal quota plus borrowing limit",
    ),
    pytest.param(
        model_data(cell("idle", 1, sustained=0), cell("busy", 1, sustained=24), capacity=3),
        Solution(
            nominal={("idle", P4D): 0, ("busy", P4D): 3},
            borrow_pct={"idle": 50, "busy": 50},
            weight={"idle": 0, "busy": 0},
        ),
        {"runnable": 0, "coverage": 0, "starvation": 0, "change": 2400, "borrow_limit": 0},
        id="without the team cap both teams change",
    ),
    pytest.param(
        model_data(
            cell("steady", 3, sustained=8),
            cell("bursty", 1, sustained=8, peak=16, max_acc=24),
            capacity=4,
        ),
        # 24 of the 32 GPUs idle beside steady's 8: bursty borrows 16 on its 8 to reach the
        # 24 it has asked for, floor(8 x 200 / 100) = 16, not only the 8 of its peak.
        Solution(
            nominal={("steady", P4D): 3, ("bursty", P4D): 1},
            borrow_pct={"steady": 50, "bursty": 200},
            weight={"steady": 0, "bursty": 0},
        ),
        {"runnable": 0, "coverage": 0, "starvation": 0, "change": 0, "borrow_limit": 150},
        id="the borrow limit reaches the most demand recorded, not only the peak",
    ),
    pytest.param(
        model_data(
            cell("steady", 3, sustained=16),
            cell("bursty", 1, sustained=8, peak=16, max_acc=24),
            capacity=4,
        ),
        # steady's sustained 16 leaves 16 of the 32 GPUs idle: bursty borrows 8 on its 8.
        Solution(
            nominal={("steady", P4D): 3, ("bursty", P4D): 1},
            borrow_pct={"steady": 50, "bursty": 100},
            weight={"steady": 0, "bursty": 0},
        ),
        {"runnable": 0, "coverage": 0, "starvation": 0, "change": 0, "borrow_limit": 50},
        id="the borrow limit reaches only as far as the other teams leave capacity idle",
    ),
    pytest.param(
        model_data(
            cell("steady", 3, sustained=8),
            cell("bursty", 1, sustained=8, peak=16, max_acc=24),
            capacity=4,
            max_borrow_change_pct=50,
        ),
        # BorrowLimit may rise to 100 at most, 8 GPUs on one instance: steady lends bursty an
        # instance instead, and 50% of 16 lets it reach 24.
        Solution(
            nominal={("steady", P4D): 2, ("bursty", P4D): 2},
            borrow_pct={"steady": 50, "bursty": 50},
            weight={"steady": 0, "bursty": 0},
        ),
        {"runnable": 0, "coverage": 0, "starvation": 0, "change": 1600, "borrow_limit": 0},
        id="the BorrowLimit change cap holds: nominal quota moves instead",
    ),
    pytest.param(
        model_data(
            cell("idle", 2, sustained=0),
            cell("busy", 1, sustained=24),
            capacity=3,
            max_teams_changed=0,
        ),
        # Nothing moves: 16 of busy's 24 stay outside its 8 guaranteed, and 12 of them
        # beyond the 4 BorrowLimit 50 lends it, weighed 200 (peak) + 50 (most recorded).
        Solution(
            nominal={("idle", P4D): 2, ("busy", P4D): 1},
            borrow_pct={"idle": 50, "busy": 50},
            weight={"idle": 0, "busy": 0},
        ),
        {"runnable": 0, "coverage": 16, "starvation": 3000, "change": 0, "borrow_limit": 0},
        id="with no team allowed to change every value stays",
    ),
    pytest.param(
        model_data(
            cell("idle", 2, sustained=0),
            cell("busy", 1, sustained=16),
            cell("busier", 1, sustained=24),
            capacity=4,
            max_teams_changed=2,
        ),
        # Two teams may change: idle's two instances go to busier (16 short), not busy (8).
        Solution(
            nominal={("idle", P4D): 0, ("busy", P4D): 1, ("busier", P4D): 3},
            borrow_pct={"idle": 50, "busy": 50, "busier": 50},
            weight={"idle": 0, "busy": 0, "busier": 0},
        ),
        {"runnable": 0, "coverage": 8, "starvation": 0, "change": 3200, "borrow_limit": 0},
        id="at most two teams change: the idle instances go where they cover most",
    ),
    pytest.param(
        model_data(
            cell("steady", 2, sustained=8, peak=8),
            cell("bursty", 1, sustained=8, peak=24),
            capacity=3,
            team_bursty={"target_weight": 100},
            max_weight_change=30,
        ),
        # The weight moves 30 of the 100 points to its target; 70 stay off target.
        Solution(
            nominal={("steady", P4D): 2, ("bursty", P4D): 1},
            borrow_pct={"steady": 50, "bursty": 100},
            weight={"steady": 0, "bursty": 30},
        ),
        {"runnable": 0, "coverage": 0, "starvation": 70, "change": 300, "borrow_limit": 50},
        id="the FairShareWeight change cap holds",
    ),
]


def _check_invariants(data: ModelData, solution: Solution) -> None:
    for instance_type, count in data.capacity.items():
        held = sum(n for (_, t), n in solution.nominal.items() if t == instance_type)
        assert held <= count, f"{instance_type}: {held} nominal > {count} in the cluster"
    for key, c in data.cells.items():
        assert abs(solution.nominal[key] - c.current) <= c.max_change, key
    for team in data.teams:
        if data.max_borrow_change_pct is not None:
            moved = abs(solution.borrow_pct[team.name] - team.current_borrow_pct)
            assert moved <= data.max_borrow_change_pct, team.name
        if data.max_weight_change is not None:
            moved = abs(solution.weight[team.name] - team.current_weight)
            assert moved <= data.max_weight_change, team.name
    if data.max_teams_changed is not None:
        teams = {t.name: t for t in data.teams}
        changed = {
            team
            for team in teams
            if solution.borrow_pct[team] != teams[team].current_borrow_pct
            or solution.weight[team] != teams[team].current_weight
            or any(solution.nominal[k] != c.current for k, c in data.cells.items() if k[0] == team)
        }
        assert len(changed) <= data.max_teams_changed


@pytest.mark.parametrize(("data", "want_solution", "want_objectives"), SOLVED_CASES)
def test_solve_recommends(
    data: ModelData, want_solution: Solution, want_objectives: dict[str, int]
) -> None:
    report = solve(data, SOLVER)
    got_objectives = {p.objective: p.value for p in report.phases}
    assert (report.status, report.solution, got_objectives) == (
        "optimal",
        want_solution,
        want_objectives,
    )
    assert all(p.gap == 0.0 and p.bound == p.value for p in report.phases)
    _check_invariants(data, want_solution)


def _conflict(name: str, family: str, team: str | None, detail: str) -> Conflict:
    return Conflict(name, family, team, None if family == "max_teams_changed" else P4D, detail)


INFEASIBLE_CASES = [
    pytest.param(
        model_data(cell("a", 1, 0, floor=2), cell("b", 1, 0, floor=2), cell("c", 1, 0), capacity=3),
        [
            _conflict(
                "capacity[ml.p4d.24xlarge]",
                "capacity",
                None,
                "teams' nominal ml.p4d.24xlarge instances fit in the cluster's 3",
            ),
            _conflict(
                "floor[a,ml.p4d.24xlarge]",
                "floor",
                "a",
                "a keeps at least 2 ml.p4d.24xlarge instances",
            ),
            _conflict(
                "floor[b,ml.p4d.24xlarge]",
                "floor",
                "b",
                "b keeps at least 2 ml.p4d.24xlarge instances",
            ),
        ],
        id="floors above the cluster's capacity name the capacity and both floors",
    ),
    pytest.param(
        model_data(cell("a", 2, 0, floor=4), cell("b", 1, 0), capacity=3),
        [
            _conflict(
                "capacity[ml.p4d.24xlarge]",
                "capacity",
                None,
                "teams' nominal ml.p4d.24xlarge instances fit in the cluster's 3",
            ),
            _conflict(
                "floor[a,ml.p4d.24xlarge]",
                "floor",
                "a",
                "a keeps at least 4 ml.p4d.24xlarge instances",
            ),
        ],
        id="one floor above the whole cluster names the capacity and the floor",
    ),
    pytest.param(
        model_data(cell("a", 0, 0, floor=3, max_change=2), capacity=4),
        [
            _conflict(
                "floor[a,ml.p4d.24xlarge]",
                "floor",
                "a",
                "a keeps at least 3 ml.p4d.24xlarge instances",
            ),
            _conflict(
                "max_change[a,ml.p4d.24xlarge]",
                "max_change",
                "a",
                "a moves by at most 2 ml.p4d.24xlarge instances this run (from 0: 0 to 2)",
            ),
        ],
        id="a floor out of one run's reach names the floor and the change cap",
    ),
    pytest.param(
        model_data(cell("a", 2, 0, floor=2, ceiling=1), capacity=4),
        [
            _conflict(
                "ceiling[a,ml.p4d.24xlarge]",
                "ceiling",
                "a",
                "a gets at most 1 ml.p4d.24xlarge instances",
            ),
            _conflict(
                "floor[a,ml.p4d.24xlarge]",
                "floor",
                "a",
                "a keeps at least 2 ml.p4d.24xlarge instances",
            ),
        ],
        id="a floor above the ceiling names both",
    ),
    pytest.param(
        model_data(cell("a", 1, 0, floor=2), cell("b", 1, 0), capacity=4, max_teams_changed=0),
        [
            _conflict(
                "floor[a,ml.p4d.24xlarge]",
                "floor",
                "a",
                "a keeps at least 2 ml.p4d.24xlarge instances",
            ),
            _conflict(
                "max_teams_changed", "max_teams_changed", None, "at most 0 teams change this run"
            ),
        ],
        id="a floor that needs a change while no team may change names both",
    ),
]


@pytest.mark.parametrize(("data", "want_conflicts"), INFEASIBLE_CASES)
def test_solve_names_conflicting_constraints(
    data: ModelData, want_conflicts: list[Conflict]
) -> None:
    report = solve(data, SOLVER)
    assert (report.status, report.solution, list(report.conflicts)) == (
        "infeasible",
        None,
        want_conflicts,
    )


def test_solver_parameters_are_explicit_and_applied() -> None:
    data: Any = SOLVED_CASES[0].values[0]
    settings = SolverSettings(
        num_workers=1, time_limit_s=5, seed=7, params="log_search_progress:false"
    )
    report = solve(data, settings)
    assert report.parameters == (
        "random_seed: 7, max_time_in_seconds: 5, log_search_progress: false, num_workers: 1"
    )


P5 = "ml.p5.48xlarge"


def _two_types(**p5_cell: Any) -> ModelData:
    """team-a and team-b on ml.p4d.24xlarge (3 instances) and ml.p5.48xlarge (2 instances)."""
    cells = {
        ("team-a", P4D): Cell("team-a", P4D, 2, sustained_acc=0, peak_acc=0),
        ("team-b", P4D): Cell("team-b", P4D, 1, sustained_acc=24, peak_acc=24),
        ("team-a", P5): Cell("team-a", P5, 1, sustained_acc=16, peak_acc=16, **p5_cell),
        ("team-b", P5): Cell("team-b", P5, 1, sustained_acc=0, peak_acc=0, floor=1),
    }
    return ModelData(
        instance_types=(P4D, P5),
        accelerators={P4D: 8, P5: 8},
        capacity={P4D: 3, P5: 2},
        teams=(Team("team-a"), Team("team-b")),
        cells=cells,
    )


def test_solve_per_instance_type_matches_the_whole() -> None:
    data = _two_types()
    report = solve(data, SOLVER)
    whole = solve(replace(data, max_teams_changed=2), SOLVER)
    want = Solution(
        nominal={("team-a", P4D): 0, ("team-b", P4D): 3, ("team-a", P5): 1, ("team-b", P5): 1},
        # team-a holds 8 of its 16 p5 GPUs (team-b's floor takes the other instance) and
        # borrows the 8 team-b leaves idle: floor(8 x 100 / 100) = 8.
        borrow_pct={"team-a": 100, "team-b": 50},
        weight={"team-a": 0, "team-b": 0},
    )
    assert (report.status, report.solution) == ("optimal", want)
    assert (whole.status, whole.solution) == ("optimal", want)
    values = {p.objective: p.value for p in report.phases}
    assert values == {p.objective: p.value for p in whole.phases}


def test_solve_per_instance_type_names_the_conflict_on_its_type() -> None:
    report = solve(_two_types(floor=2), SOLVER)
    assert (report.status, [c.constraint for c in report.conflicts]) == (
        "infeasible",
        [
            "capacity[ml.p5.48xlarge]",
            "floor[team-a,ml.p5.48xlarge]",
            "floor[team-b,ml.p5.48xlarge]",
        ],
    )
