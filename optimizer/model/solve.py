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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ortools.sat.python import cp_model

from optimizer.errors import Conflict
from optimizer.model.build import Built, CellKey, Objective, borrow_limit_phase, build_model
from optimizer.model.data import ModelData
from optimizer.settings import SolverSettings
from taskgov.errors import Fault, InputError

Status = Literal["optimal", "feasible", "infeasible", "unknown", "model_invalid"]
BOUND_TOLERANCE = 1e-6
_STATUS: dict[cp_model.CpSolverStatus, Status] = {
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
    """The chosen values: nominal instances per (team, type), BorrowLimit and FairShareWeight."""

    nominal: Mapping[CellKey, int]
    borrow_pct: Mapping[str, int]
    weight: Mapping[str, int]


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
    """Hint every variable at its value in the last solution (the whole vector at once: one
    ``add_hint`` per variable took a fifth of the wall time of a 500-team solve)."""
    model = built.model
    model.clear_hints()  # type: ignore[no-untyped-call]
    values = list(solver.response_proto.solution)
    hint = model.proto.solution_hint
    hint.vars.extend(range(len(values)))
    hint.values.extend(values)


def _solution(built: Built, solver: cp_model.CpSolver) -> Solution:
    return Solution(
        nominal={k: int(solver.value(v)) for k, v in built.nominal.items()},
        borrow_pct={k: int(solver.value(v)) for k, v in built.borrow_pct.items()},
        weight={k: int(solver.value(v)) for k, v in built.weight.items()},
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
    # Every objective has integer coefficients over integer variables, so the proven bound
    # rounds up to a whole number (CP-SAT reports e.g. 69.99999999999984 for 70).
    bound = float(math.ceil(solver.best_objective_bound - BOUND_TOLERANCE))
    gap = 0.0 if status == "optimal" else (value - bound) / max(1.0, abs(value))
    report = PhaseReport(
        objective.name, objective.description, status, value, bound, gap, solver.wall_time
    )
    # Later phases may not worsen this objective.
    built.model.add(objective.expr <= value)
    _hint_all(built, solver)
    return report, True


def _lexicographic(
    built: Built, objectives: list[Objective], solver: cp_model.CpSolver
) -> tuple[list[PhaseReport], Solution | None]:
    """Run the phases in order; stop at the first that finds nothing."""
    phases: list[PhaseReport] = []
    solution = None
    for objective in objectives:
        report, solved = _run_phase(built, objective, solver)
        phases.append(report)
        if not solved:
            break
        solution = _solution(built, solver)
    return phases, solution


def _by_type(
    data: ModelData, solver: cp_model.CpSolver
) -> tuple[list[list[PhaseReport]], dict[CellKey, int] | None]:
    """The phases before BorrowLimit, per instance type: no team cap links the types there.

    Returns:
        Per phase, the report of each type; the counts of every type (``None`` if a type
        found no solution).
    """
    reports: list[list[PhaseReport]] = []
    nominal: dict[CellKey, int] = {}
    for instance_type in data.instance_types:
        cells = {k: c for k, c in data.cells.items() if k[1] == instance_type}
        part = replace(data, instance_types=(instance_type,), cells=cells)
        built = build_model(part, weights=False)
        phases, solution = _lexicographic(built, built.objectives, solver)
        for index, report in enumerate(phases):
            if index == len(reports):
                reports.append([])
            reports[index].append(report)
        if solution is None:
            return reports, None
        nominal.update(solution.nominal)
    return reports, nominal


_RANK = {"optimal": 0, "feasible": 1, "unknown": 2, "model_invalid": 3, "infeasible": 4}


def _merged(whole: PhaseReport, parts: list[PhaseReport]) -> PhaseReport:
    """A phase solved per instance type: the worst status, summed bounds and wall times.

    ``whole`` is the phase re-evaluated on the full model with the counts fixed, which adds
    the FairShareWeight terms (fixed at their optimum) to the per-type values.
    """
    statuses = [p.status for p in parts] + [whole.status]
    status = max(statuses, key=_RANK.__getitem__)
    if whole.value is None or any(p.value is None or p.bound is None for p in parts):
        return replace(whole, status=status)
    fixed_terms = whole.value - sum(p.value or 0 for p in parts)
    bound = sum(p.bound or 0.0 for p in parts) + fixed_terms
    gap = (whole.value - bound) / max(1.0, abs(whole.value))
    wall = sum(p.wall_s for p in parts) + whole.wall_s
    return replace(whole, status=status, bound=bound, gap=gap, wall_s=wall)


def solve(data: ModelData, settings: SolverSettings) -> SolveReport:
    """Minimise coverage, starvation, change, then BorrowLimit moves; explain infeasibility.

    Without a cap on the teams changed, the phases before BorrowLimit are solved per instance
    type (nothing links the types until BorrowLimit, which the last phase sets with the counts
    fixed); with one, the whole model is solved at once.

    Args:
        data: the model's input.
        settings: time limit per phase, workers, seed and extra CP-SAT parameters.

    Returns:
        The status, one report per phase, the solution or the conflicting constraints.
    """
    solver = solver_for(settings)
    parameters = ", ".join(str(solver.parameters).splitlines())
    split = data.max_teams_changed is None and len(data.instance_types) > 1
    parts: list[list[PhaseReport]] = []
    built = build_model(data)
    if split:
        parts, nominal = _by_type(data, solver)
        if nominal is None:
            phases = [
                replace(reports[-1], wall_s=sum(r.wall_s for r in reports))
                for reports in parts
                if reports
            ]
            return _failed(data, settings, phases, parameters)
        for key, value in nominal.items():
            built.model.add(built.nominal[key] == value)
    phases, solution = _lexicographic(built, list(built.objectives), solver)
    if split:
        phases = [_merged(whole, parts[i]) for i, whole in enumerate(phases)]
    if solution is None:
        return _failed(data, settings, phases, parameters)
    if len(phases) == len(built.objectives):
        # Last phase: BorrowLimit, with the counts fixed.
        report, solved = _run_phase(
            built, borrow_limit_phase(built, data, solution.nominal), solver
        )
        phases.append(report)
        if solved:
            solution = _solution(built, solver)
    complete = len(phases) == len(built.objectives) + 1
    optimal = complete and all(p.status == "optimal" for p in phases)
    return SolveReport(
        "optimal" if optimal else "feasible", tuple(phases), (), solution, parameters
    )


def _failed(
    data: ModelData, settings: SolverSettings, phases: list[PhaseReport], parameters: str
) -> SolveReport:
    """No solution: explain when the first phase proved infeasibility, else unknown."""
    if phases and phases[0].status == "infeasible":
        conflicts = explain(data, settings)
        return SolveReport("infeasible", tuple(phases), conflicts, None, parameters)
    return SolveReport("unknown", tuple(phases), (), None, parameters)


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
