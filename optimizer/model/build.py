"""The CP-SAT model: 1. variables, 2. hard constraints, 3. objectives in order of importance.

Objectives, solved lexicographically (each phase holds the earlier ones at the value found):

1. ``runnable``: accelerators of each team's largest job that its nominal quota plus its
   borrowing limit cannot hold (such a job never runs; with a 0 count a team borrows nothing).
2. ``coverage``: accelerators of each team's sustained demand (a percentile, from settings)
   that its nominal quota does not cover, summed over teams and instance types.
3. ``starvation``: accelerators of demand kept waiting beside idle capacity, weighted by how
   long demand stays there (:func:`starve_weights`): the peak percentile's accelerators the
   limits keep out, times the permille of the window demand lies between the sustained and
   the peak percentile, plus the most recorded demand's, times the permille above the peak.
   Together an upper bound of the accelerator-time waiting once nominal quota covers the
   sustained demand: a borrowing limit that only reaches the peak percentile starves the
   team whenever it asks for more, although borrowing takes only idle, reclaimable capacity.
   Plus the points by which each FairShareWeight misses its burst-proportional target
   (``data.target_weights``). Idle capacity a team can expect is the cluster's capacity of
   the type minus the other teams' sustained demand; the team reaches it up to its borrowing
   limit, floor(accelerators x nominal x BorrowLimit / 100) as HyperPod compiles it, and,
   without IdleResourceSharing, only as far as the teams' nominal quotas hold it (nobody
   lends unallocated instances).
4. ``change``: ``NOMINAL_CHANGE_WEIGHT`` per accelerator of nominal quota moved plus
   ``WEIGHT_CHANGE_WEIGHT`` per FairShareWeight point moved.
5. ``borrow_limit``: BorrowLimit points moved, with the counts and weights of phase 4 fixed.

Phases 1-4 let each team borrow as much as its BorrowLimit may reach (10000%, or its change
cap), which keeps them linear; phase 5 then picks the smallest BorrowLimit change that keeps
the earlier phases' values, where the counts are constants and the product is linear again.

Hard constraints are named (``floor[team-a,ml.p4d.24xlarge]``). With ``explain=True`` each is
enforced by its own literal and no objective is added: ``solve.explain`` passes the literals
as assumptions to find the constraints that conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from optimizer.errors import Conflict
from optimizer.model.data import (
    MAX_BORROW_LIMIT_PCT,
    MAX_FAIR_SHARE_WEIGHT,
    Cell,
    ModelData,
    Team,
    reach_acc,
    runnable_acc,
)

NOMINAL_CHANGE_WEIGHT = 100
WEIGHT_CHANGE_WEIGHT = 10
CellKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Objective:
    """One lexicographic level: a name, a linear expression to minimise, what it means."""

    name: str
    expr: cp_model.LinearExprT
    description: str


@dataclass
class Built:
    """A model and handles on the variables that make up a recommendation."""

    model: cp_model.CpModel
    # nominal[team,type]: instances of the type the team's ClusterQueue guarantees.
    nominal: dict[CellKey, cp_model.IntVar]
    # borrow_pct[team]: ResourceSharingConfig.BorrowLimit, percent of the team's nominal quota.
    borrow_pct: dict[str, cp_model.IntVar]
    # weight[team]: ComputeQuotaTarget.FairShareWeight.
    weight: dict[str, cp_model.IntVar]
    # changed[team]: the team's counts, BorrowLimit or weight differ from today's (K cap only).
    changed: dict[str, cp_model.IntVar] = field(default_factory=dict)
    # borrow_cap[team,type]: accelerators of the type the team may borrow.
    borrow_cap: dict[CellKey, cp_model.IntVar] = field(default_factory=dict)
    # starve[team,type]: accelerators of reachable peak demand the team cannot run.
    starve: dict[CellKey, cp_model.IntVar] = field(default_factory=dict)
    # starve_top[team,type]: accelerators of the most recorded demand, reachable, it cannot run.
    starve_top: dict[CellKey, cp_model.IntVar] = field(default_factory=dict)
    # guards[name]: the literal enforcing one named constraint, and what it says (explain only).
    guards: dict[str, tuple[cp_model.IntVar, Conflict]] = field(default_factory=dict)
    objectives: list[Objective] = field(default_factory=list)


def starve_weights(data: ModelData) -> tuple[int, int]:
    """Weights of the peak's and the most recorded demand's unserved accelerators.

    Demand lies between the sustained and the peak percentile for (peak - sustained)% of the
    window, and above the peak for (100 - peak)%; in permille (at least 1 each), so that the
    weighted sum bounds the accelerator-time kept waiting from above.
    """
    peak = max(1, round(10 * (data.peak_percentile - data.sustained_percentile)))
    top = max(1, round(10 * (100 - data.peak_percentile)))
    return peak, top


def borrow_range(team: Team, max_change: int | None) -> tuple[int, int]:
    """BorrowLimit values the team may get this run."""
    if team.borrow != "percent":
        return team.current_borrow_pct, team.current_borrow_pct
    if max_change is None:
        return 0, MAX_BORROW_LIMIT_PCT
    current = team.current_borrow_pct
    return max(0, current - max_change), min(MAX_BORROW_LIMIT_PCT, current + max_change)


def build_model(data: ModelData, *, explain: bool = False, weights: bool = True) -> Built:
    """The CP-SAT model of one recommendation run.

    Args:
        data: the model's input.
        explain: guard every named constraint with a literal and leave out the objectives.
        weights: include the FairShareWeight terms in the objectives.

    Returns:
        The model, its decision variables and the objectives of phases 1-4.
    """
    model = cp_model.CpModel()
    # 1. Variables.
    # A floor above the cluster's capacity widens the domain, so that the named capacity
    # constraint, not the domain, is what it conflicts with.
    nominal = {
        key: model.new_int_var(
            0, max(data.capacity[key[1]], cell.floor or 0), f"nominal[{key[0]},{key[1]}]"
        )
        for key, cell in data.cells.items()
    }
    borrow_pct = {
        t.name: model.new_int_var(0, MAX_BORROW_LIMIT_PCT, f"borrow_pct[{t.name}]")
        for t in data.teams
    }
    weight = {
        t.name: model.new_int_var(0, MAX_FAIR_SHARE_WEIGHT, f"weight[{t.name}]") for t in data.teams
    }
    built = Built(model, nominal, borrow_pct, weight)
    _hard_constraints(built, data, explain)
    if not explain:
        _objectives(built, data, weights)
    return built


def _guard(built: Built, constraint: cp_model.Constraint, conflict: Conflict, on: bool) -> None:
    """Enforce ``constraint`` by a named literal when explaining; otherwise it always holds."""
    if not on:
        return
    literal = built.model.new_bool_var(f"on:{conflict.constraint}")
    constraint.only_enforce_if(literal)
    built.guards[conflict.constraint] = (literal, conflict)


def _hard_constraints(built: Built, data: ModelData, explain: bool) -> None:
    """2. Constraints from the cluster, the policy and the settings."""
    _capacity_constraints(built, data, explain)
    _cell_constraints(built, data, explain)
    _team_constraints(built, data, explain)
    if data.max_teams_changed is not None:
        _changed(built, data)
        # At most max_teams_changed teams change at all this run.
        detail = f"at most {data.max_teams_changed} teams change this run"
        conflict = Conflict("max_teams_changed", "max_teams_changed", None, None, detail)
        total = cp_model.LinearExpr.sum(list(built.changed.values()))
        _guard(built, built.model.add(total <= data.max_teams_changed), conflict, explain)


def _capacity_constraints(built: Built, data: ModelData, explain: bool) -> None:
    """2a. The cluster's side: one guarded constraint per instance type, so an infeasible run
    can name the type whose instances the guarantees outgrow."""
    model, nominal = built.model, built.nominal
    # The teams' guarantees of a type fit in the instances of that type the cluster has.
    for instance_type in data.instance_types:
        acc = data.accelerators[instance_type]
        cells = [c for c in data.cells.values() if c.instance_type == instance_type]
        held = cp_model.LinearExpr.sum([acc * nominal[(c.team, instance_type)] for c in cells])
        fixed = sum(c.fixed_acc or 0 for c in cells)
        detail = (
            f"teams' nominal {instance_type} instances fit in the cluster's "
            f"{data.capacity[instance_type]}"
        )
        _guard(
            built,
            model.add(held + fixed <= acc * data.capacity[instance_type]),
            Conflict(f"capacity[{instance_type}]", "capacity", None, instance_type, detail),
            explain,
        )


def _cell_constraints(built: Built, data: ModelData, explain: bool) -> None:
    """2b. The settings' bounds on each team's nominal count of each type, each guarded so an
    infeasible run names the team and type."""
    model, nominal = built.model, built.nominal
    for (team, instance_type), cell in data.cells.items():
        var, where = nominal[(team, instance_type)], f"{team},{instance_type}"
        # Entries given by amounts instead of Count stay as they are.
        if cell.fixed_acc is not None:
            model.add(var == cell.current)
            continue
        # A team keeps at least its floor (settings.floors).
        if cell.floor is not None:
            detail = f"{team} keeps at least {cell.floor} {instance_type} instances"
            conflict = Conflict(f"floor[{where}]", "floor", team, instance_type, detail)
            _guard(built, model.add(var >= cell.floor), conflict, explain)
        # A team gets at most its ceiling (settings.ceilings).
        if cell.ceiling is not None:
            detail = f"{team} gets at most {cell.ceiling} {instance_type} instances"
            conflict = Conflict(f"ceiling[{where}]", "ceiling", team, instance_type, detail)
            _guard(built, model.add(var <= cell.ceiling), conflict, explain)
        # One run moves a team's nominal count by at most max_change instances.
        low, high = max(0, cell.current - cell.max_change), cell.current + cell.max_change
        detail = (
            f"{team} moves by at most {cell.max_change} {instance_type} instances this run "
            f"(from {cell.current}: {low} to {high})"
        )
        conflict = Conflict(f"max_change[{where}]", "max_change", team, instance_type, detail)
        _guard(built, model.add_linear_constraint(var, low, high), conflict, explain)


def _team_constraints(built: Built, data: ModelData, explain: bool) -> None:
    """2c. Each team's BorrowLimit and FairShareWeight within the API's range and the caps."""
    model = built.model
    for member in data.teams:
        # BorrowLimit stays in the API's range, within its change cap; it is fixed unless the
        # team borrows by percent.
        low, high = borrow_range(member, data.max_borrow_change_pct)
        model.add_linear_constraint(built.borrow_pct[member.name], low, high)
        # FairShareWeight moves by at most the settings' cap per run.
        if data.max_weight_change is not None:
            cap, current = data.max_weight_change, member.current_weight
            detail = f"{member.name}'s FairShareWeight moves by at most {cap} from {current}"
            conflict = Conflict(
                f"max_weight_change[{member.name}]", "max_weight_change", member.name, None, detail
            )
            constraint = model.add_linear_constraint(
                built.weight[member.name], current - cap, current + cap
            )
            _guard(built, constraint, conflict, explain)


def _changed(built: Built, data: ModelData) -> None:
    """changed[team] is false only if the team keeps every value it has today."""
    model = built.model
    for team in data.teams:
        flag = model.new_bool_var(f"changed[{team.name}]")
        # An unchanged team keeps its counts, BorrowLimit and weight.
        for (name, instance_type), cell in data.cells.items():
            if name == team.name:
                var = built.nominal[(name, instance_type)]
                model.add(var == cell.current).only_enforce_if(~flag)
        model.add(built.borrow_pct[team.name] == team.current_borrow_pct).only_enforce_if(~flag)
        model.add(built.weight[team.name] == team.current_weight).only_enforce_if(~flag)
        built.changed[team.name] = flag


@dataclass
class _Terms:
    """The terms of phases 1-4 collected over the cells of one instance type."""

    blocked: list[cp_model.IntVar] = field(default_factory=list)
    shortfall: list[cp_model.IntVar] = field(default_factory=list)
    starve: list[cp_model.IntVar] = field(default_factory=list)
    starve_top: list[cp_model.IntVar] = field(default_factory=list)
    moved: list[cp_model.LinearExprT] = field(default_factory=list)


def _objectives(built: Built, data: ModelData, weights: bool) -> None:
    """3. The objectives of phases 1-4, most important first (see the module docstring)."""
    teams = {t.name: t for t in data.teams}
    total = cp_model.LinearExpr.sum
    runnable: list[cp_model.LinearExprT] = []
    coverage: list[cp_model.LinearExprT] = []
    starvation: list[cp_model.LinearExprT] = []
    change: list[cp_model.LinearExprT] = []
    peak_weight, top_weight = starve_weights(data)
    for instance_type in data.instance_types:
        terms = _type_terms(built, data, instance_type, teams)
        runnable.append(total(terms.blocked))
        coverage.append(total(terms.shortfall))
        starvation.append(peak_weight * total(terms.starve) + top_weight * total(terms.starve_top))
        change.append(total(terms.moved))
    off_target, reweighted = _weight_distances(built, data)
    if weights:
        starvation.append(total(off_target))
        change.append(WEIGHT_CHANGE_WEIGHT * total(reweighted))
    built.objectives = [
        Objective(
            "runnable",
            total(runnable),
            "accelerators of each team's largest job its nominal quota and borrowing limit "
            "cannot hold",
        ),
        Objective("coverage", total(coverage), "accelerators of sustained demand not guaranteed"),
        Objective(
            "starvation",
            total(starvation),
            f"{peak_weight} x accelerators of peak and {top_weight} x of the most recorded "
            "demand kept waiting beside idle capacity + FairShareWeight points off target",
        ),
        Objective(
            "change",
            total(change),
            f"{NOMINAL_CHANGE_WEIGHT} per accelerator of nominal quota moved + "
            f"{WEIGHT_CHANGE_WEIGHT} per FairShareWeight point moved",
        ),
    ]


def _type_terms(
    built: Built, data: ModelData, instance_type: str, teams: Mapping[str, Team]
) -> _Terms:
    """The terms of phases 1-4 over the cells of one instance type: each type's teams share
    one pool, so borrowing and starvation are read against that pool."""
    model, nominal = built.model, built.nominal
    terms = _Terms()
    acc = data.accelerators[instance_type]
    cells = [c for c in data.cells.values() if c.instance_type == instance_type]
    # pool[type]: accelerators of the type the teams' nominal quotas hold.
    pool = model.new_int_var(0, acc * data.capacity[instance_type], f"pool[{instance_type}]")
    model.add(
        pool
        == cp_model.LinearExpr.sum([acc * nominal[(c.team, instance_type)] for c in cells])
        + sum(c.fixed_acc or 0 for c in cells)
    )
    sustained_all = sum(c.sustained_acc for c in cells)
    for cell in cells:
        key, where = (cell.team, instance_type), f"{cell.team},{instance_type}"
        held = acc * nominal[key] + (cell.fixed_acc or 0)
        # Sustained demand beyond the guarantee is a shortfall.
        if cell.sustained_acc > 0:
            short = model.new_int_var(0, cell.sustained_acc, f"shortfall[{where}]")
            model.add(short >= cell.sustained_acc - held)
            need = cell.sustained_acc - (cell.fixed_acc or 0)
            _shortfall_cut(model, short, nominal[key], need, acc)
            terms.shortfall.append(short)
        _borrowing(built, data, teams[cell.team], cell, held, pool, sustained_all, terms)
        # Moving nominal quota costs in proportion to the accelerators moved.
        if cell.fixed_acc is None:
            distance = _distance(model, nominal[key], cell.current)
            terms.moved.append(NOMINAL_CHANGE_WEIGHT * acc * distance)
    return terms


def _weight_distances(
    built: Built, data: ModelData
) -> tuple[list[cp_model.LinearExpr], list[cp_model.LinearExpr]]:
    """Per team, how far its weight lands from the burst-proportional target and how far it
    moves from today's (phases 3 and 4)."""
    model = built.model
    off_target, reweighted = [], []
    for team in data.teams:
        if data.max_teams_changed is None:
            # Nothing else links a weight: its phase-3 optimum is the target, clamped into
            # the change cap. Fixing it now spares the search that choice.
            low, high = team.current_weight - MAX_FAIR_SHARE_WEIGHT, MAX_FAIR_SHARE_WEIGHT
            if data.max_weight_change is not None:
                low = team.current_weight - data.max_weight_change
                high = team.current_weight + data.max_weight_change
            model.add(built.weight[team.name] == min(max(team.target_weight, low), high))
        # Weights away from the burst-proportional target; weights moved from today's.
        off_target.append(_distance(model, built.weight[team.name], team.target_weight))
        reweighted.append(_distance(model, built.weight[team.name], team.current_weight))
    return off_target, reweighted


def _borrowing(
    built: Built,
    data: ModelData,
    team: Team,
    cell: Cell,
    held: cp_model.LinearExpr,
    pool: cp_model.IntVar,
    sustained_all: int,
    terms: _Terms,
) -> None:
    """The borrowing cap of one cell and what it leaves blocked or starving."""
    model, instance_type = built.model, cell.instance_type
    key, where = (cell.team, instance_type), f"{cell.team},{instance_type}"
    acc, capacity = data.accelerators[instance_type], data.capacity[instance_type]
    reach = reach_acc(cell, acc, capacity, sustained_all)
    top = reach_acc(cell, acc, capacity, sustained_all, top=True)
    job = runnable_acc(cell, acc, capacity)
    if max(top, job) <= 0:
        return
    cap = model.new_int_var(0, max(top, job), f"borrow_cap[{where}]")
    _cap_at_most(built, data, team, key, cap)
    built.borrow_cap[key] = cap
    # With no instances a team borrows nothing (borrowingLimit is a percent of nominal):
    # valid cuts keep the LP from lending it part of an instance.
    empty = team.borrow == "percent" and cell.fixed_acc is None
    families = [
        (job, terms.blocked, "blocked", None),
        (reach, terms.starve, "starve", built.starve),
    ]
    if top > reach:
        families.append((top, terms.starve_top, "starve_top", built.starve_top))
    for amount, found, name, handles in families:
        if amount <= 0:
            continue
        # blocked: the largest job must fit in nominal plus borrowing limit, or it never
        # runs. starve, starve_top: peak and most recorded demand idle capacity could serve
        # but limits keep waiting.
        short = model.new_int_var(0, amount, f"{name}[{where}]")
        model.add(short >= amount - held - cap)
        if empty:
            model.add(short >= amount - amount * built.nominal[key])
        if handles is not None and not data.idle_sharing:
            # Nobody lends unallocated instances: what the pool lacks starves too.
            others = sustained_all - cell.sustained_acc
            model.add(short >= amount - pool + others)
        if handles is not None:
            handles[key] = short
        found.append(short)
    if 0 < reach == top:
        # The most recorded demand is the peak: one variable counts for both.
        terms.starve_top.append(built.starve[key])


def _shortfall_cut(
    model: cp_model.CpModel, short: cp_model.IntVar, count: cp_model.IntVar, need: int, acc: int
) -> None:
    """Tighten shortfall >= need - acc x count to the integer hull between the two counts
    around need / acc: the LP relaxation then no longer covers demand with part of an
    instance, which is what makes the coverage phase quick to prove."""
    whole, rest = divmod(need, acc)
    if need > 0 and rest:
        model.add(short >= rest * (whole + 1) - rest * count)


def _cap_at_most(
    built: Built, data: ModelData, team: Team, key: CellKey, cap: cp_model.IntVar
) -> None:
    """Phases 1-4: the borrowing cap at the most BorrowLimit may give (today's if unchanged)."""
    model, acc = built.model, data.accelerators[key[1]]
    if team.borrow == "none" or data.cells[key].fixed_acc is not None:
        model.add(cap == 0)
        return
    if team.borrow == "absolute":
        return
    _, high = borrow_range(team, data.max_borrow_change_pct)
    # 100 x cap <= acc x nominal x pct  <=>  cap <= floor(acc x nominal x pct / 100).
    most = model.add(100 * cap <= acc * high * built.nominal[key])
    if team.name in built.changed:
        most.only_enforce_if(built.changed[team.name])
        today = acc * team.current_borrow_pct * built.nominal[key]
        model.add(100 * cap <= today).only_enforce_if(~built.changed[team.name])


def borrow_limit_phase(built: Built, data: ModelData, nominal: Mapping[CellKey, int]) -> Objective:
    """Phase 5: fix the counts, tie each cap to BorrowLimit, minimise BorrowLimit moved.

    Args:
        built: the model after phase 4.
        data: the model's input.
        nominal: the counts phase 4 chose.

    Returns:
        The phase's objective.
    """
    model = built.model
    for key, value in nominal.items():
        model.add(built.nominal[key] == value)
    teams = {t.name: t for t in data.teams}
    for key, cap in built.borrow_cap.items():
        if teams[key[0]].borrow == "percent" and data.cells[key].fixed_acc is None:
            # Kueue's borrowingLimit: floor(accelerators x nominal x BorrowLimit / 100).
            acc = data.accelerators[key[1]]
            model.add(100 * cap <= acc * nominal[key] * built.borrow_pct[key[0]])
    moved = [_distance(model, built.borrow_pct[t.name], t.current_borrow_pct) for t in data.teams]
    return Objective(
        "borrow_limit", cp_model.LinearExpr.sum(moved), "BorrowLimit percentage points moved"
    )


def _distance(model: cp_model.CpModel, var: cp_model.IntVar, target: int) -> cp_model.LinearExpr:
    """|var - target| as up + down, both >= 0; exact when minimised."""
    # The bindings' repeated fields take no negative index: read both ends explicitly.
    domain = list(model.proto.variables[var.index].domain)
    low, high = domain[0], domain[len(domain) - 1]
    up = model.new_int_var(0, max(0, high - target), f"{var.name}_up")
    down = model.new_int_var(0, max(0, target - low), f"{var.name}_down")
    model.add(var - target == up - down)
    return up + down
