"""Why does a Workload wait? Kueue's reason in plain words, its place in its ClusterQueue,
what blocks it, what would free it, and when it should start.

Facts come from the record at one instant (``sql/serve/why_*.sql``); the estimate from a
twin run forward from that state (``forward.py``), with the assumptions it made.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from taskgov.errors import Fault, InputError
from taskgov.serve.forward import HORIZON, ForwardRun, cohort_of
from taskgov.serve.records import QUERIES, run
from taskgov.store import Connection, database_path, watermark

_SHORT = re.compile(r"insufficient unused quota for (\S+) in flavor (\S+), (\d+) more needed")
_MAXIMUM = re.compile(
    r"insufficient quota for (\S+) in flavor (\S+), .*current podset request \((\d+)\) > "
    r"maximum capacity \((\d+)\)"
)
PLAIN = {
    "waiting_for_quota": "Kueue cannot reserve quota for it yet: its ClusterQueue and cohort "
    "have too little unused quota right now.",
    "exceeds_max_quota": "It asks for more than its ClusterQueue may ever hold (nominal quota "
    "plus borrowing limit), so Kueue will not admit it as configured.",
    "waiting_for_preemption": "Kueue has chosen workloads to preempt for it and waits for "
    "them to stop.",
    "no_matching_flavor": "No flavor of its ClusterQueue matches its node selectors or "
    "tolerations.",
    "inactive_queue": "Its LocalQueue or ClusterQueue is missing or inactive.",
    "other": "Kueue has not said why yet.",
}


class Line(BaseModel):
    """One line of the answer: what it is about, and the words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    text: str


class Answer(BaseModel):
    """Why ``workload`` waits at ``at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str
    at: datetime
    phase: str
    position: int | None
    estimated_start: datetime | None
    lines: list[Line]


def _row_key(row: dict[str, Any]) -> str:
    return f"{row['namespace']}/{row['name']}"


def _ahead(target: dict[str, Any], pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pending Workloads of the same team's ClusterQueue that Kueue tries first (BestEffortFIFO:
    higher priority, then older)."""

    def order(row: dict[str, Any]) -> tuple[int, str]:
        return (-int(row["priority"]), str(row["created_at"]))

    return [
        row
        for row in pending
        if row["team"] == target["team"]
        and row["cluster"] == target["cluster"]
        and order(row) < order(target)
    ]


def _blocks(target: dict[str, Any], quotas: list[dict[str, Any]]) -> tuple[list[Line], str]:
    """What blocks it, from Kueue's message, and the smallest quota change that would help."""
    message = target["message"] or ""
    queue = next((q["cluster_queue"] for q in quotas if q["team"] == target["team"]), "?")
    short = _SHORT.search(message)
    if short:
        resource, flavor, more = short.group(1), short.group(2), int(short.group(3))
        return [
            Line(topic="blocked by", text=f"{resource} in flavor {flavor}: {more} more needed"),
        ], f"{more} more {resource} of nominal quota in {flavor} for {queue}"
    maximum = _MAXIMUM.search(message)
    if maximum:
        resource, flavor = maximum.group(1), maximum.group(2)
        request, capacity = int(maximum.group(3)), int(maximum.group(4))
        return [
            Line(
                topic="blocked by",
                text=f"{resource} in flavor {flavor}: requests {request}, {queue} may hold at "
                f"most {capacity} (nominal + borrowingLimit)",
            )
        ], f"raise {queue}'s borrowingLimit for {resource} in {flavor} by {request - capacity}"
    return [Line(topic="blocked by", text=message or "no message from Kueue yet")], ""


def _borrowers(
    target: dict[str, Any], running: list[dict[str, Any]], quotas: list[dict[str, Any]]
) -> list[Line]:
    """Workloads of other ClusterQueues in the cohort holding quota above their nominal."""
    cohort_of = {q["cluster_queue"]: q["cohort"] for q in quotas}
    team_queue = next((q["cluster_queue"] for q in quotas if q["team"] == target["team"]), None)
    cohort = cohort_of.get(team_queue or "")
    nominal = {
        (q["cluster_queue"], q["flavor"]): q["nominal"]
        for q in quotas
        if q["resource"] in ("nvidia.com/gpu", "aws.amazon.com/neurondevice")
    }
    used: dict[tuple[str, str], int] = {}
    for row in running:
        key = (row["cluster_queue"], row["instance_type"])
        used[key] = used.get(key, 0) + int(row["accelerators"])
    lines = []
    for (queue, flavor), amount in sorted(used.items()):
        over = amount - nominal.get((queue, flavor), 0)
        if queue == team_queue or cohort is None or cohort_of.get(queue) != cohort or over <= 0:
            continue
        holders = [_row_key(r) for r in running if r["cluster_queue"] == queue]
        lines.append(
            Line(
                topic="borrowed quota",
                text=f"{queue} borrows {over} accelerators of {flavor} from the cohort "
                f"(held by {', '.join(holders)}); reclaiming it needs {team_queue} under its "
                "nominal quota",
            )
        )
    return lines


def explain(
    conn: Connection,
    workload: str,
    *,
    at: datetime | None = None,
    runtime: timedelta = timedelta(hours=1),
    horizon: timedelta = HORIZON,
) -> Answer:
    """Why ``workload`` (namespace/name) waits at ``at`` (default: the watermark).

    The state read and the forward run of the Workload's cohort are kept while the watermark
    stays, so a second ask (of it or of any Workload in the same state) costs milliseconds;
    the run looks at most ``horizon`` ahead.

    Raises:
        InputError: the name is not namespace/name, or no such Workload is pending or
            running then.
    """
    if workload.count("/") != 1:
        raise InputError([Fault("workload", workload, "", "expected NAMESPACE/NAME")])
    state = _state(conn, at, runtime, horizon)
    target = state.targets.get(workload)
    if target is None:
        raise InputError(
            [Fault("workload", workload, "", "not pending or running at that instant")]
        )
    moment = datetime.fromisoformat(str(target["at"]).removesuffix("Z"))
    if target["phase"] == "admitted":
        text = (
            f"It is not waiting: admitted in {target['cluster_queue']} since "
            f"{target['phase_since']}."
        )
        return Answer(
            workload=workload,
            at=moment,
            phase="admitted",
            position=None,
            estimated_start=None,
            lines=[Line(topic="state", text=text)],
        )
    return _pending_answer(conn, state, target, moment)


class _State:
    """The record's state at one instant and the forward runs made from it (one per cohort):
    the reads and the twin run are the slow part of an answer, and they do not change until
    the sink writes again."""

    def __init__(self, rows: list[dict[str, Any]], runtime: timedelta, horizon: timedelta) -> None:
        self.rows = rows
        self.runtime = runtime
        self.horizon = horizon
        self.targets = {_row_key(r): r for r in rows}
        self.quotas: dict[str, list[dict[str, Any]]] = {}
        self.runs: dict[tuple[str, str], ForwardRun] = {}
        self.lock = threading.Lock()
        self.read_at = time.monotonic()


# How long a state read at the watermark answers asks after the sink has moved the watermark
# on (it flushes every few seconds, so a state kept only while the watermark stays would
# rarely be asked twice); the answer names the instant it describes. A state at a given
# instant (--at) is read again whenever the watermark moves, since late events may change it.
KEEP_S = 60.0
# The latest state read, per (database file, instant asked, runtime, horizon), with the
# watermark it was read at.
_STATES: dict[tuple[str, object, timedelta, timedelta], tuple[object, _State]] = {}
_STATES_LOCK = threading.Lock()


def _state(conn: Connection, at: datetime | None, runtime: timedelta, horizon: timedelta) -> _State:
    key = (database_path(conn), at, runtime, horizon)
    now = watermark(conn)
    with _STATES_LOCK:
        kept = _STATES.get(key)
        if kept is not None:
            read_at, state = kept
            if read_at == now or (at is None and time.monotonic() - state.read_at < KEEP_S):
                return state
        rows = run(conn, QUERIES["why_workloads"], {"at": at}).records
        state = _State(rows, runtime, horizon)
        _STATES.clear()
        if key[0] != ":memory:":  # another in-memory database could have the same key
            _STATES[key] = (now, state)
        return state


def _forward(
    conn: Connection, state: _State, target: dict[str, Any], moment: datetime
) -> tuple[list[dict[str, Any]], ForwardRun]:
    """The cluster's quota lines, and the forward run of the target's cohort (made once)."""
    cluster = target["cluster"]
    with state.lock:
        if cluster not in state.quotas:
            given = {"at": moment, "cluster": cluster}
            state.quotas[cluster] = run(conn, QUERIES["why_quotas"], given).records
        quotas = state.quotas[cluster]
        cohort = cohort_of(target["team"], quotas)
        queues = sorted({q["cluster_queue"] for q in cohort})
        key = (cluster, ",".join(queues))
        if key not in state.runs:
            same = [r for r in state.rows if r["cluster"] == cluster]
            state.runs[key] = ForwardRun(same, cohort, moment, state.runtime, state.horizon)
        return quotas, state.runs[key]


def _pending_answer(
    conn: Connection, state: _State, target: dict[str, Any], moment: datetime
) -> Answer:
    workload = _row_key(target)
    quotas, forward = _forward(conn, state, target, moment)
    rows = [r for r in state.rows if r["cluster"] == target["cluster"]]
    pending = [r for r in rows if r["phase"] == "pending"]
    running = [r for r in rows if r["phase"] == "admitted"]
    ahead = _ahead(target, pending)
    same_queue = [r for r in pending if r["team"] == target["team"]]
    lines = [
        Line(
            topic="kueue says",
            text=": ".join(str(t) for t in (target["reason"], target["message"]) if t),
        ),
        Line(topic="in plain words", text=PLAIN.get(target["cause"] or "other", PLAIN["other"])),
        Line(
            topic="position",
            text=f"{len(ahead) + 1} of {len(same_queue)} pending in {target['team']}'s "
            "ClusterQueue"
            + (f"; ahead: {', '.join(_describe(r) for r in ahead)}" if ahead else ""),
        ),
    ]
    blocks, change = _blocks(target, quotas)
    lines += blocks + _borrowers(target, running, quotas)
    result = forward.forecast(workload)
    start = result.admitted_at.get(workload)
    frees = [w for w in result.finished_before if w != workload] if start else []
    if frees:
        lines.append(Line(topic="would free it", text=f"{', '.join(frees)} finishing"))
    if change:
        lines.append(Line(topic="smallest quota change", text=change))
    estimate = (
        f"{start:%Y-%m-%d %H:%M:%S} UTC"
        if start
        else f"not within the run's {forward.horizon_words}: later, if ever"
        if result.ran_out
        else "not within the run: never as configured"
    )
    lines.append(Line(topic="estimated start", text=estimate))
    lines += [Line(topic="assuming", text=a) for a in result.assumptions]
    return Answer(
        workload=workload,
        at=moment,
        phase="pending",
        position=len(ahead) + 1,
        estimated_start=start,
        lines=lines,
    )


def _describe(row: dict[str, Any]) -> str:
    return f"{_row_key(row)} (priority {row['priority']}, {row['accelerators']} accelerators)"
