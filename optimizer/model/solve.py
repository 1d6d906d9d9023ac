"""Solve the model lexicographically and report the status as data; explain infeasibility.

Each objective of ``build.Built.objectives`` is minimised in turn, then BorrowLimit moves
(``build.borrow_limit_phase``), with the earlier ones held at the value found (their optimum
when the phase is OPTIMAL) and the previous solution as a hint. A phase that ends FEASIBLE
(time limit) makes the whole report ``feasible``; one that finds nothing keeps the previous
phase's solution.

When the hard constraints conflict, the explanation pass rebuilds the model with one
enforcement literal per named constraint, solves under those literals as assumptions, takes
CP-SAT's sufficient assumptions for infeasibility and shrinks them by deletion to a minimal
set: every constraint named is needed for the conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ortools.sat.python import cp_model

from optimizer.errors import Conflict
from optimizer.model.build import Built, CellKey, Objective, borrow_limit_phase, build_model
from optimizer.model.data import ModelData
from optimizer.settings import SolverSettings
from taskgov.errors import Fault, InputError

Status = Literal["optimal", "feasible", "infeasible", "unknown", "model_invalid"]
_STATUS: dict[int, Status] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
    cp_model.MODEL_INVALID: "model_invalid",
}


@dataclass(frozen=True, slots=True)
class PhaseReport:
    """One lexicographic phase.

    Attributes:
        objective: the objective's name (``coverage``, ``starvation``, ``change``).
        description: what one unit of it is.
        status: CP-SAT's status for this phase.
        value: the objective's value in the solution kept, if any.
        bound: CP-SAT's best proven lower bound.
        gap: (value - bound) / max(1, |value|); 0 when proven optimal.
        wall_s: wall time of the phase.
    """

    objective: str
    description: str
    status: Status
    value: int | None
    bound: float | None
    gap: float | None
    wall_s: float


@dataclass(frozen=True, slots=True)
class Solution:
    """The chosen values: nominal instances, BorrowLimit, FairShareWeight, borrowing caps."""

    nominal: Mapping[CellKey, int]
    borrow_pct: Mapping[str, int]
    weight: Mapping[str, int]
    borrow_cap: Mapping[CellKey, int]


@dataclass(frozen=True, slots=True)
class SolveReport:
    """What the solver found, as data.

    Attributes:
        status: ``optimal`` when every phase is proven optimal, ``feasible`` when a phase hit
            its time limit with a solution, ``infeasible`` with ``conflicts``, or ``unknown``.
        phases: one report per objective that was solved.
        conflicts: a minimal set of named constraints that cannot hold together.
        solution: the values, unless infeasible or unknown.
        parameters: the CP-SAT parameters used, in text format.
    """

    status: Status
    phases: tuple[PhaseReport, ...]
    conflicts: tuple[Conflict, ...]
    solution: Solution | None
    parameters: str


def solver_for(settings: SolverSettings, *, workers: int | None = None) -> cp_model.CpSolver:
    """A solver with the settings' time limit, workers and seed, then ``settings.params``.

    Raises:
        InputError: ``params`` is not ``name:value,...`` of known SatParameters.
    """
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = settings.time_limit_s
    solver.parameters.num_workers = workers or settings.num_workers
    solver.parameters.random_seed = settings.seed
    if settings.params.strip():
        text = " ".join(part.strip() for part in settings.params.split(",") if part.strip())
        if not solver.parameters.merge_text_format(text):
            message = f"{settings.params!r} is not name:value,... of CP-SAT SatParameters"
            raise InputError([Fault("--solver-params", "", "", message)])
    return solver


def _hint_all(built: Built, solver: cp_model.CpSolver) -> None:
    model = built.model
    model.clear_hints()
    for index in range(len(model.proto.variables)):
        var = model.get_int_var_from_proto_index(index)
        model.add_hint(var, solver.value(var))


def _solution(built: Built, solver: cp_model.CpSolver) -> Solution:
    return Solution(
        nominal={k: int(solver.value(v)) for k, v in built.nominal.items()},
        borrow_pct={k: int(solver.value(v)) for k, v in built.borrow_pct.items()},
        weight={k: int(solver.value(v)) for k, v in built.weight.items()},
        borrow_cap={k: int(solver.value(v)) for k, v in built.borrow_cap.items()},
    )


def _run_phase(
    built: Built, objective: Objective, solver: cp_model.CpSolver
) -> tuple[PhaseReport, bool]:
    """Minimise one objective; on success hold it there and hint the solution found."""
    built.model.minimize(objective.expr)
    status = _STATUS[solver.solve(built.model)]
    if status not in ("optimal", "feasible"):
        report = PhaseReport(
            objective.name, objective.description, status, None, None, None, solver.wall_time
        )
        return report, False
    value = round(solver.objective_value)
    bound = solver.best_objective_bound
    gap = 0.0 if status == "optimal" else (value - bound) / max(1.0, abs(value))
    report = PhaseReport(
        objective.name, objective.description, status, value, bound, gap, solver.wall_time
    )
    # Later phases may not worsen this objective.
    built.model.add(objective.expr <= value)
    _hint_all(built, solver)
    return report, True


def solve(data: ModelData, settings: SolverSettings) -> SolveReport:
    """Minimise coverage, starvation, change, then BorrowLimit moves; explain infeasibility.

    Args:
        data: the model's input.
        settings: time limit per phase, workers, seed and extra CP-SAT parameters.

    Returns:
        The status, one report per phase, the solution or the conflicting constraints.
    """
    built = build_model(data)
    solver = solver_for(settings)
    parameters = ", ".join(str(solver.parameters).splitlines())
    phases: list[PhaseReport] = []
    solution: Solution | None = None
    objectives = list(built.objectives)
    for index in range(len(objectives) + 1):
        if index == len(objectives):
            assert solution is not None
            objective = borrow_limit_phase(built, data, solution.nominal)
        else:
            objective = objectives[index]
        report, solved = _run_phase(built, objective, solver)
        phases.append(report)
        if not solved:
            if report.status == "infeasible" and index == 0:
                conflicts = explain(data, settings)
                return SolveReport("infeasible", tuple(phases), conflicts, None, parameters)
            break
        solution = _solution(built, solver)
    if solution is None:
        return SolveReport("unknown", tuple(phases), (), None, parameters)
    complete = len(phases) == len(objectives) + 1 and all(p.status == "optimal" for p in phases)
    return SolveReport(
        "optimal" if complete else "feasible", tuple(phases), (), solution, parameters
    )


def explain(data: ModelData, settings: SolverSettings) -> tuple[Conflict, ...]:
    """A minimal set of named constraints that together admit no solution.

    Returns:
        The conflicting constraints in name order; empty if the pass could not prove
        infeasibility within the time limit.
    """
    built = build_model(data, explain=True)
    names = sorted(built.guards)
    by_index = {built.guards[name][0].index: name for name in names}
    solver = solver_for(settings, workers=1)

    def conflict_in(subset: Sequence[str]) -> list[str] | None:
        built.model.clear_assumptions()
        built.model.add_assumptions([built.guards[name][0] for name in subset])
        if solver.solve(built.model) != cp_model.INFEASIBLE:
            return None
        core = {by_index[i] for i in solver.sufficient_assumptions_for_infeasibility()}
        return sorted(core & set(subset)) or list(subset)

    core = conflict_in(names)
    if core is None:
        return ()
    position = 0
    while position < len(core):
        # Drop one constraint; if the rest still conflict, it was not needed.
        smaller = conflict_in(core[:position] + core[position + 1 :])
        if smaller is None:
            position += 1
        else:
            core = smaller
    return tuple(built.guards[name][1] for name in core)
