"""The whole loop against `taskgov twin serve`'s own code, with boto3, kubectl and the
installed `taskgov` script: recommend, dry run, apply, conflicts, refusals, verify, rollback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from optimizer.appliers.base import Call, Outcome
from optimizer.appliers.engine import run_apply
from optimizer.appliers.guardrails import ApplyContext, Guardrail, GuardrailSettings
from optimizer.appliers.quotas import quota_of, team_quotas
from optimizer.appliers.sagemaker import SageMakerApplier, SageMakerTarget, quota_body
from optimizer.store import open_store, read_run
from streams.sink_duckdb import DuckDBSink
from taskgov.governance import connect, governance_for
from taskgov.policy.load import read_documents
from taskgov.scenarios import scenario_from_documents
from taskgov.twin.serve import RunningTwinServer, serve_twin
from tests.builders import p4d_policy_documents

TASKGOV = str(Path(sys.executable).with_name("taskgov"))
T = "ml.p4d.24xlarge"
BEFORE = (("16", "0"), ("8", "0"))
# Limits loose enough for whatever run 1 proposes (the recommender decides its steps).
OPEN = "max_instances_change: 100\nmax_borrow_limit_change_pct: 10000\nmax_weight_change: 100\ncooldown_s: 0\n"
KEYS = {"AWS_ACCESS_KEY_ID": "admin", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-west-2"}


def _pending_job() -> dict[str, Any]:
    """team-b's 16-GPU job: 2 instances, more than its 1 with BorrowLimit 0."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "big-b",
            "namespace": "hyperpod-ns-team-b",
            "labels": {"kueue.x-k8s.io/queue-name": "hyperpod-ns-team-b-localqueue"},
            "annotations": {"taskgov.io/submit-at": "0s", "taskgov.io/run-for": "1000h"},
        },
        "spec": {
            "parallelism": 2,
            "template": {
                "spec": {
                    "containers": [{"name": "c", "resources": {"requests": {"nvidia.com/gpu": 8}}}]
                }
            },
        },
    }


@dataclass
class Loop:
    tmp: Path
    db: Path
    server: RunningTwinServer
    env: dict[str, str]

    def taskgov(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        done = subprocess.run(  # noqa: S603 - our own console script
            [TASKGOV, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**self.env, **(env or {})},
            cwd=self.tmp,
        )
        return done.returncode, done.stdout, done.stderr

    def apply_approved(self, guardrails: str = "open.yaml") -> tuple[int, str, str]:
        """``taskgov apply 1 --approve`` through the served SageMaker endpoint, within the
        limits of the file ``guardrails`` in the test's folder."""
        return self.taskgov(
            "apply",
            "1",
            "--db",
            str(self.db),
            "--endpoint-url",
            self.server.url,
            "--approve",
            "--guardrails",
            str(self.tmp / guardrails),
        )

    def gpus(self, team: str) -> tuple[str, str]:
        """The team ClusterQueue's GPU nominal quota and borrowing limit, as served."""
        cq = self.server.store.get("clusterqueues", f"hyperpod-ns-{team}-clusterqueue")
        assert cq is not None
        resources = cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
        gpu = next(r for r in resources if r["name"] == "nvidia.com/gpu")
        return gpu["nominalQuota"], gpu.get("borrowingLimit", "none")

    def state(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return self.gpus("team-a"), self.gpus("team-b")

    def want(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """What run 1's proposal compiles to, per team (8 GPUs an instance, the limit as
        BorrowLimit percent of the nominal GPUs, rounded down)."""
        with open_store(self.db, read_only=True) as conn:
            proposed = read_run(conn, 1).proposed
        assert proposed is not None
        quotas = team_quotas(proposed)
        pairs = []
        for team in ("team-a", "team-b"):
            gpus = quotas[team].instances(T) * 8
            pairs.append((str(gpus), str(gpus * quotas[team].borrow_limit_pct // 100)))
        return pairs[0], pairs[1]

    def proposed_body(self, team: str) -> dict[str, Any]:
        with open_store(self.db, read_only=True) as conn:
            proposed = read_run(conn, 1).proposed
        assert proposed is not None
        quota = quota_of(proposed, team)
        assert quota is not None
        return quota_body(quota)

    def workload_condition(self, name: str) -> str:
        for obj in self.server.store.list("workloads", lambda o: True)[0]:
            if obj["metadata"]["name"].startswith(f"job-{name}"):
                conditions = {c["type"]: c["status"] for c in obj["status"].get("conditions", [])}
                return "Admitted" if conditions.get("Admitted") == "True" else "Pending"
        return "missing"

    def sagemaker(self, key: str = "admin") -> Any:
        return boto3.client(
            "sagemaker",
            endpoint_url=self.server.url,
            region_name="us-west-2",
            aws_access_key_id=key,
            aws_secret_access_key="secret",
        )


def _write_inputs(folder: Path) -> tuple[Path, Path, Path]:
    trace = folder / "trace.csv"
    rows = ["vc,arrival_time_s,num_gpus,est_duration_s"]
    for day in range(2):
        rows += [f"team-a,{day * 86_400},8,28800"] + [f"team-b,{day * 86_400},8,28800"] * 3
    trace.write_text("\n".join(rows) + "\n")
    policy = folder / "policy.yaml"
    policy.write_text(yaml.safe_dump_all(p4d_policy_documents({"team-a": 2, "team-b": 1})))
    scenario = folder / "scenario.yaml"
    scenario.write_text(
        yaml.safe_dump_all([*p4d_policy_documents({"team-a": 2, "team-b": 1}), _pending_job()])
    )
    return trace, policy, scenario


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A record holding run 1: the recommendation for the trace (made once per module)."""
    folder = tmp_path_factory.mktemp("recorded")
    trace, policy, _ = _write_inputs(folder)
    db = folder / "record.duckdb"
    DuckDBSink(db).close()  # the worker's record (its tables) the run is stored beside
    done = subprocess.run(  # noqa: S603 - our own console script
        [
            TASKGOV,
            "recommend",
            "--trace",
            str(trace),
            "--policy",
            str(policy),
            "--db",
            str(db),
            "--workers",
            "1",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def loop(tmp_path: Path, recorded: Path) -> Iterator[Loop]:
    _, _, scenario = _write_inputs(tmp_path)
    documents = read_documents(scenario.read_text(), str(scenario))
    governance = governance_for(documents, frozenset({"admin", "operator"}))
    assert governance is not None
    server = serve_twin(
        scenario_from_documents(documents),
        kubeconfig=tmp_path / "kubeconfig",
        speed=1.0,
        sagemaker=governance[0],
    )
    connect(server, *governance)
    env = {**os.environ, **KEYS, "KUBECONFIG": str(tmp_path / "kubeconfig")}
    db = tmp_path / "record.duckdb"
    shutil.copyfile(recorded, db)
    (tmp_path / "open.yaml").write_text(OPEN)
    try:
        yield Loop(tmp_path, db, server, env)
    finally:
        server.stop()


def test_apply_dry_run_apply_then_rollback_through_sagemaker(loop: Loop) -> None:
    url = loop.server.url
    base = [
        "--db",
        str(loop.db),
        "--endpoint-url",
        url,
        "--guardrails",
        str(loop.tmp / "open.yaml"),
    ]
    assert loop.workload_condition("big-b") == "Pending"

    code, out, _ = loop.taskgov("apply", "1", *base)
    assert code == 0
    assert "apply 1: dry-run (as arn:aws:iam::123456789012:user/admin)" in out
    assert (
        "aws sagemaker update-compute-quota --compute-quota-id 0ee0d77118b2 --target-version 1"
        in out
    )
    assert loop.state() == BEFORE

    code, out, _ = loop.taskgov("apply", "1", *base, "--approve", "-o", "json")
    assert code == 0
    result = json.loads(out)
    assert (result["apply_id"], result["outcome"]) == (2, "applied")
    assert [(c["team"], c["call"], c["outcome"]) for c in result["calls"]] == [
        ("team-a", "UpdateComputeQuota", "applied"),
        ("team-b", "UpdateComputeQuota", "applied"),
    ]
    # The twin took the change at once: team-b may now hold 2 instances and its job runs.
    assert loop.state() == loop.want() != BEFORE
    assert loop.workload_condition("big-b") == "Admitted"
    quotas = loop.sagemaker().list_compute_quotas(ClusterArn=governance_arn(loop))
    versions = {q["Name"]: q["ComputeQuotaVersion"] for q in quotas["ComputeQuotaSummaries"]}
    assert versions == {"team-a-quota": 2, "team-b-quota": 2}

    code, out, err = loop.taskgov("apply", "1", *base, "--approve")
    assert (code, out.splitlines()[0]) == (
        0,
        "apply 3: unchanged (as arn:aws:iam::123456789012:user/admin)",
    )

    code, out, err = loop.taskgov("rollback", "2", *base, "--approve", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["outcome"] == "applied"
    assert loop.state() == BEFORE

    code, out, _ = loop.taskgov("apply", "--history", "--db", str(loop.db), "-o", "json")
    history = [
        (h["apply_id"], h["run_id"], h["rollback_of"], h["outcome"], h["objects_applied"])
        for h in json.loads(out)
    ]
    assert history == [
        (4, None, 2, "applied", 2),
        (3, 1, None, "unchanged", 0),
        (2, 1, None, "applied", 2),
        (1, 1, None, "dry-run", 0),
    ]
    with open_store(loop.db, read_only=True) as conn:
        rows = conn.execute(
            "SELECT apply_id, team, operation, outcome, before_json, after_json"
            " FROM apply_objects WHERE outcome = 'applied' ORDER BY apply_id, position"
        ).fetchall()
    governed = ("ComputeQuotaConfig", "ComputeQuotaTarget")
    proposed = {t: loop.proposed_body(t) for t in ("team-a", "team-b")}
    seeded = {t: json.loads(rows[0 if t == "team-a" else 1][4]) for t in ("team-a", "team-b")}
    assert [
        (
            a,
            t,
            op,
            out_,
            {k: json.loads(b)[k] for k in governed},
            {k: json.loads(af)[k] for k in governed},
        )
        for a, t, op, out_, b, af in rows
    ] == [
        (
            2,
            t,
            "UpdateComputeQuota",
            "applied",
            {k: seeded[t][k] for k in governed},
            {k: proposed[t][k] for k in governed},
        )
        for t in ("team-a", "team-b")
    ] + [
        (
            4,
            t,
            "UpdateComputeQuota",
            "applied",
            {k: proposed[t][k] for k in governed},
            {k: seeded[t][k] for k in governed},
        )
        for t in ("team-a", "team-b")
    ]


def governance_arn(loop: Loop) -> str:
    return str(loop.sagemaker().list_clusters()["ClusterSummaries"][0]["ClusterArn"])


def test_apply_refuses_per_guardrail_with_exit_4(loop: Loop) -> None:
    limits = loop.tmp / "guardrails.yaml"
    limits.write_text(
        "max_borrow_limit_change_pct: 0\nmax_weight_change: 0\nmax_instances_change: 0\n"
    )
    code, out, err = loop.apply_approved(limits.name)
    assert code == 4
    with open_store(loop.db, read_only=True) as conn:
        run = read_run(conn, 1)
    assert run.proposed is not None
    before, after = team_quotas(run.policy), team_quotas(run.proposed)
    want = set()
    for team in ("team-a", "team-b"):
        if before[team].nominal != after[team].nominal:
            want.add((Guardrail.MAX_INSTANCES_CHANGE, team))
        if before[team].borrow_limit_pct != after[team].borrow_limit_pct:
            want.add((Guardrail.MAX_BORROW_LIMIT_CHANGE, team))
        if before[team].fair_share_weight != after[team].fair_share_weight:
            want.add((Guardrail.MAX_WEIGHT_CHANGE, team))
    refused = {
        (Guardrail(line.split("]")[0].removeprefix("refused [")), line.split("] ")[1].split(":")[0])
        for line in err.splitlines()
    }
    assert refused == want and want
    assert loop.state() == BEFORE


def test_apply_through_kubectl_patch_and_kueue_backend(loop: Loop) -> None:
    limits = loop.tmp / "open.yaml"
    code, out, err = loop.taskgov(
        "apply",
        "1",
        "--backend",
        "kueue",
        "--db",
        str(loop.db),
        "--guardrails",
        str(limits),
        "--approve",
        "-o",
        "json",
    )
    assert code == 0, err
    assert [c["call"] for c in json.loads(out)["calls"]] == ["PATCH (merge)", "PATCH (merge)"]
    assert loop.state() == loop.want() != BEFORE
    assert loop.workload_condition("big-b") == "Admitted"
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is installed by scripts/test.sh")
    stale = json.dumps(
        {"metadata": {"resourceVersion": "1"}, "spec": {"fairSharing": {"weight": "3"}}}
    )
    done = subprocess.run(  # noqa: S603
        [
            "kubectl",
            "patch",
            "clusterqueue",
            "hyperpod-ns-team-a-clusterqueue",
            "--type",
            "merge",
            "-p",
            stale,
        ],
        capture_output=True,
        text=True,
        env=loop.env,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        "the object has been modified; please apply your changes to the latest version"
        in done.stderr
    )


class ConcurrentEdit(SageMakerApplier):
    """Before its first update, somebody else edits the same allocation."""

    def __init__(self, target: SageMakerTarget, edit: dict[str, Any]) -> None:
        super().__init__(target)
        self.edit = edit
        self.done = False

    def make(self, call: Call) -> dict[str, Any]:
        if not self.done:
            self.done = True
            described = self._client.describe_compute_quota(
                ComputeQuotaId=call.request["ComputeQuotaId"]
            )
            self._client.update_compute_quota(
                ComputeQuotaId=call.request["ComputeQuotaId"],
                TargetVersion=described["ComputeQuotaVersion"],
                **self.edit,
            )
        return super().make(call)


@pytest.mark.parametrize(
    ("edit", "want_outcome", "want_note", "want_gpus"),
    [
        pytest.param(
            {"Description": "renamed by a colleague"},
            Outcome.APPLIED,
            "team-a: team-a-quota changed meanwhile only in fields we do not govern (version 1 -> 2); applied again",
            "proposed",
            id="an edit of a field we do not govern is re-checked and applied again",
        ),
        pytest.param(
            {
                "ComputeQuotaConfig": {
                    "ComputeQuotaResources": [{"InstanceType": T, "Count": 2}],
                    "ResourceSharingConfig": {"Strategy": "LendAndBorrow", "BorrowLimit": 100},
                }
            },
            Outcome.CONFLICT,
            "team-a: changed meanwhile from 2 x ml.p4d.24xlarge, BorrowLimit 0, weight 0 to 2 x ml.p4d.24xlarge, BorrowLimit 100, weight 0; nothing more applied",
            "before",
            id="a concurrent quota change stops the apply with the difference",
        ),
    ],
)
def test_conflict_rereads_and_rechecks(
    loop: Loop,
    edit: dict[str, Any],
    want_outcome: Outcome,
    want_note: str,
    want_gpus: str,
) -> None:
    """``want_gpus``: team-b's queue as proposed (both applied) or as before (stopped)."""
    os.environ.update(KEYS)
    applier = ConcurrentEdit(SageMakerTarget("test-cluster", endpoint_url=loop.server.url), edit)
    with open_store(loop.db, read_only=True) as conn:
        run = read_run(conn, 1)
    assert run.proposed is not None
    desired = [applier.desired(run.proposed, t) for t in ("team-a", "team-b")]
    context = ApplyContext(run.cluster.instance_counts(), None, None, {}, datetime(2026, 1, 1))
    limits = GuardrailSettings(max_borrow_limit_change_pct=10_000, max_weight_change=100)
    report = run_apply(applier, desired, limits, lambda _: context, approve=True)
    assert (report.outcome, report.notes[0]) == (want_outcome, want_note)
    assert loop.gpus("team-b") == (loop.want()[1] if want_gpus == "proposed" else BEFORE[1])


@pytest.mark.parametrize(
    ("args", "env", "want_code", "want_err"),
    [
        pytest.param(
            ["apply", "9"], {}, 2, "no such run (stored runs: 1)", id="an unknown run is bad input"
        ),
        pytest.param(
            ["apply", "1", "--cluster", "other-cluster"],
            {},
            1,
            "no HyperPod cluster named 'other-cluster' at {url} (clusters there: test-cluster)",
            id="a plan for a cluster that is not the live one",
        ),
        pytest.param(
            ["apply", "1"],
            {"AWS_ACCESS_KEY_ID": "intruder"},
            1,
            "AccessDenied",
            id="credentials the endpoint denies",
        ),
        pytest.param(
            ["apply", "1"],
            {
                "AWS_ACCESS_KEY_ID": "",
                "AWS_SECRET_ACCESS_KEY": "",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                "AWS_CONFIG_FILE": "/nonexistent",
            },
            1,
            "no AWS credentials found",
            id="no credentials at all",
        ),
        pytest.param(
            ["apply", "1", "--endpoint-url", "http://127.0.0.1:9"],
            {},
            1,
            "cannot reach the SageMaker endpoint http://127.0.0.1:9",
            id="the endpoint is down",
        ),
        pytest.param(
            ["apply", "--verify", "1"],
            {},
            2,
            "apply 1 changed nothing",
            id="verifying a dry run is bad input",
        ),
    ],
)
def test_apply_bad_input_names_what_is_wrong(
    loop: Loop, args: list[str], env: dict[str, str], want_code: int, want_err: str
) -> None:
    endpoint = [] if "--endpoint-url" in args else ["--endpoint-url", loop.server.url]
    if args[:2] == ["apply", "--verify"]:
        loop.taskgov("apply", "1", "--db", str(loop.db), *endpoint)
    code, _, err = loop.taskgov(*args, "--db", str(loop.db), *endpoint, env=env)
    assert code == want_code, err
    assert want_err.format(url=loop.server.url) in err
    assert loop.state() == BEFORE


def test_every_sagemaker_request_fits_botocores_model(loop: Loop) -> None:
    os.environ.update(KEYS)
    applier = SageMakerApplier(SageMakerTarget("test-cluster", endpoint_url=loop.server.url))
    with open_store(loop.db, read_only=True) as conn:
        run = read_run(conn, 1)
    assert run.proposed is not None
    live = applier.read_live()
    calls = [applier.call_for(live, applier.desired(run.proposed, t)) for t in ("team-a", "team-b")]
    model = botocore.session.get_session().get_service_model("sagemaker")
    for call in calls:
        assert call is not None
        shape = model.operation_model(call.operation).input_shape
        assert not ParamValidator().validate(call.request, shape).has_errors()


def test_iam_policy_grants_exactly_what_the_applier_calls() -> None:
    document = json.loads((Path(__file__).parents[2] / "deploy/iam/taskgov-apply.json").read_text())
    granted = {a for s in document["Statement"] for a in s["Action"]}
    source = (Path(__file__).parents[2] / "optimizer/appliers/sagemaker.py").read_text()
    import re

    called = {
        "sagemaker:" + "".join(p.title() for p in m.split("_"))
        for m in re.findall(r'"((?:list|describe|update|create)_[a-z_]+)"', source)
    }
    assert granted == called


def test_verify_compares_each_team_before_and_after_the_apply(loop: Loop) -> None:
    code, _, err = loop.apply_approved()
    assert code == 0, err
    import duckdb

    conn = duckdb.connect(str(loop.db))
    (at,) = conn.execute("SELECT created_at FROM apply_runs WHERE apply_id = 1").fetchone()
    zeros = ", 0" * 12
    for minute, nominal, used, pending in [
        (-2, 8, 0, 16),
        (-1, 8, 0, 16),
        (1, 16, 16, 0),
        (2, 16, 16, 0),
    ]:
        conn.execute(
            f"INSERT INTO usage_minutes VALUES ('c', 'pool', 'team-b', '{T}', "
            f"date_trunc('minute', ?::TIMESTAMP) + to_minutes({minute}), ?, ?, 0, 0, 0, ?{zeros})",
            [at, nominal, used, pending],
        )
    for started, wait_s in [(-30, 7200.0), (10, 60.0)]:
        conn.execute(
            "INSERT INTO workload_waits VALUES ('c', ?, 'hyperpod-ns-team-b', ?, 'team-b', NULL,"
            " 'initial', ?::TIMESTAMP + to_minutes(?), 'admitted', NULL, ?)",
            [f"uid{started}", f"job{started}", at, started, wait_s],
        )
    conn.execute(
        "INSERT OR REPLACE INTO aggregate_state VALUES ('watermark', ?::TIMESTAMP + INTERVAL 1 HOUR)",
        [at],
    )
    conn.close()
    code, out, err = loop.taskgov("apply", "--verify", "1", "--db", str(loop.db), "-o", "json")
    assert code == 0, err
    rows = [{k: v for k, v in r.items() if k != "predicted"} for r in json.loads(out)]
    assert rows == [
        {
            "team": "team-b",
            "side": "before",
            "waits": 1,
            "wait_p50_s": 7200.0,
            "wait_p95_s": 7200.0,
            "starved_minutes": 2,
            "preemptions": 0,
            "used_gpu_hours": 0.0,
            "guaranteed_gpu_hours": 0.267,
            "changed": True,
        },
        {
            "team": "team-b",
            "side": "after",
            "waits": 1,
            "wait_p50_s": 60.0,
            "wait_p95_s": 60.0,
            "starved_minutes": 0,
            "preemptions": 0,
            "used_gpu_hours": 0.533,
            "guaranteed_gpu_hours": 0.533,
            "changed": True,
        },
    ]
    with open_store(loop.db, read_only=True) as store:
        effect = next(t.effect for t in read_run(store, 1).plan.teams if t.team == "team-b")
    assert json.loads(out)[1]["predicted"] == {metric: pair[1] for metric, pair in effect.items()}
    assert json.loads(out)[0]["predicted"] == {}


def test_the_watcher_streams_the_applied_change(loop: Loop, kafka_bootstrap: str) -> None:
    """The watcher, watching the twin while the apply lands, sends each team ClusterQueue's
    quota before and after: the record sees the change as Kueue's API server shows it."""
    import threading
    import uuid

    from streams.watcher import Watcher, WatcherConfig
    from taskgov.broker import ensure_topics
    from tests.streams.helpers import read_topic

    prefix = f"apply-{uuid.uuid4().hex[:8]}"
    config = WatcherConfig(
        bootstrap=kafka_bootstrap,
        checkpoint=loop.tmp / "checkpoint.json",
        kubeconfig=loop.tmp / "kubeconfig",
        api_version="v1beta2",
        events_topic=f"{prefix}.workload-events",
        queues_topic=f"{prefix}.clusterqueue-events",
        dead_letter_topic=f"{prefix}.dead-letter",
    )
    ensure_topics(
        kafka_bootstrap,
        {config.events_topic: 1, config.queues_topic: 1, config.dead_letter_topic: 1},
    )
    stop, synced = threading.Event(), threading.Event()
    thread = threading.Thread(target=Watcher(config).run, args=(stop, synced), daemon=True)
    thread.start()
    try:
        assert synced.wait(60)
        code, _, err = loop.apply_approved()
        assert code == 0, err

        def gpus() -> dict[str, list[tuple[int, int]]]:
            seen: dict[str, list[tuple[int, int]]] = {}
            for event in read_topic(kafka_bootstrap, config.queues_topic, idle_ms=1500):
                for line in event["quotas"]:
                    if line["resource"] == "nvidia.com/gpu":
                        pair = (int(line["nominal"]), int(line["borrowing_limit"]))
                        seen.setdefault(event["team"], []).append(pair)
            return seen

        deadline = time.monotonic() + 30
        want_a, want_b = loop.want()
        want = {
            "team-a": [(16, 0), (int(want_a[0]), int(want_a[1]))],
            "team-b": [(8, 0), (int(want_b[0]), int(want_b[1]))],
        }
        while gpus() != want and time.monotonic() < deadline:
            time.sleep(0.5)
        assert gpus() == want
    finally:
        stop.set()
        thread.join(30)
