"""The forward evaluation's pieces: windows, baselines, verdicts, the openb reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.evaluate.baselines import baseline_policies
from optimizer.evaluate.harness import RECOMMENDED, Run, origins
from optimizer.evaluate.metrics import PolicyMetrics, beats
from optimizer.evaluate.policies import (
    largest_remainder,
    scaled_cluster,
    scaled_policy,
    team_values,
)
from optimizer.evaluate.report import COLUMNS, summed_rows, wins
from optimizer.robust import measured
from optimizer.trace import read_trace
from tests.optimizer.builders import HOUR, P4D, make_cluster, make_policy, workloads

DAY = 24 * HOUR


def test_origins_cut_the_span_into_equal_windows() -> None:
    jobs = workloads(("a", 8, 0, 1), ("a", 8, 100 * 24, 1))
    assert origins(jobs, 4) == [
        (20 * DAY, 40 * DAY),
        (40 * DAY, 60 * DAY),
        (60 * DAY, 80 * DAY),
        (80 * DAY, 100 * DAY),
    ]
    assert origins(jobs, 4, 7 * DAY)[0] == (20 * DAY, 27 * DAY)


BEATS_CASES = [
    pytest.param((1.0, 10.0, 5.0), (1.0, 10.0, 5.0), False, id="equal on all three: no beat"),
    pytest.param((1.0, 9.0, 5.0), (1.0, 10.0, 5.0), True, id="10% better on one, equal: beats"),
    pytest.param((1.0, 9.6, 5.0), (1.0, 10.0, 5.0), False, id="only 4% better: no beat"),
    pytest.param((0.0, 5.0, 6.0), (1.0, 10.0, 5.0), False, id="worse on one: no beat"),
    pytest.param((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), False, id="all zero: nothing to beat"),
]


@pytest.mark.parametrize(("theirs", "ours", "want_beaten"), BEATS_CASES)
def test_a_baseline_beats_the_recommendation_only_on_all_three_at_once(
    theirs: tuple[float, float, float], ours: tuple[float, float, float], want_beaten: bool
) -> None:
    assert beats(theirs, ours) is want_beaten


WINS_CASES = [
    pytest.param((7.0, 10.0, 5.0), (10.0, 10.0, 5.0), True, id="30% better on one, equal: wins"),
    pytest.param((7.0, 10.5, 5.0), (10.0, 10.0, 5.0), True, id="30% better, 5% worse: wins"),
    pytest.param((7.0, 10.6, 5.0), (10.0, 10.0, 5.0), False, id="6% worse on one: no win"),
    pytest.param((7.1, 10.0, 5.0), (10.0, 10.0, 5.0), False, id="29% better: no win"),
    pytest.param((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), False, id="both zero: no 30% to win by"),
]


@pytest.mark.parametrize(("ours", "theirs", "want_win"), WINS_CASES)
def test_the_recommendation_wins_summed_over_windows_by_30_percent_at_most_5_worse(
    ours: tuple[float, float, float], theirs: tuple[float, float, float], want_win: bool
) -> None:
    assert wins(ours, theirs) is want_win


@pytest.mark.parametrize(
    ("fair_share", "want_names"),
    [
        pytest.param(False, 10, id="FairShare off: today and 3 splits x 3 BorrowLimits"),
        pytest.param(True, 19, id="FairShare on: each split also with two weightings"),
    ],
)
def test_baselines_are_every_simple_split_and_borrow_limit(
    fair_share: bool, want_names: int
) -> None:
    history = workloads(("a", 8, 0, 10), ("b", 8, 0, 30), ("b", 16, 1, 1))
    policy = make_policy().team("a", count=2).team("b", count=1).team("c", count=1).build()
    policies = baseline_policies(history, policy, make_cluster(4), fair_share=fair_share)
    assert len(policies) == want_names
    counts = {
        name: {t: v.nominal[P4D] for t, v in team_values(p).items()} for name, p in policies.items()
    }
    # a: 80 GPU-h, b: 256; peak a 8, b 24; c has no history and gets nothing by history.
    assert counts["today"] == {"a": 2, "b": 1, "c": 1}
    assert counts["equal BL50" + (" w=equal" if fair_share else "")] == {"a": 2, "b": 1, "c": 1}
    assert counts["GPU-hours BL100" + (" w=share" if fair_share else "")] == {
        "a": 1,
        "b": 3,
        "c": 0,
    }
    assert counts["peak BL10000" + (" w=share" if fair_share else "")] == {"a": 1, "b": 3, "c": 0}
    enabled = {p.scheduler_config.fair_share for p in policies.values()}
    assert enabled == {"Enabled" if fair_share else "Disabled"}


def test_today_shrinks_with_the_cluster_in_proportion() -> None:
    policy = make_policy().team("a", count=6).team("b", count=3).team("c", count=1).build()
    cluster = make_cluster(12)
    half = scaled_cluster(cluster, 0.5)
    counts = {
        t: v.nominal[P4D] for t, v in team_values(scaled_policy(policy, cluster, half)).items()
    }
    # 10 of 12 held become 5 of 6: 3, 1.5 and 0.5; the tie for the last goes by name.
    assert (half.instance_counts(), counts) == ({P4D: 6}, {"a": 3, "b": 2, "c": 0})
    assert largest_remainder({"a": 0.0, "b": 0.0}, 3) == {"a": 2, "b": 1}


def test_openb_pods_become_jobs_of_teams_by_qos_and_gpu_sharing(tmp_path: Path) -> None:
    path = tmp_path / "openb_pod_list_default.csv"
    path.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
        "deletion_time,scheduled_time\n"
        "openb-pod-0000,12000,16384,1,1000,,LS,Running,0,3600,60\n"
        "openb-pod-0001,6000,12288,1,460,,BE,Running,100,7300,\n"
        "openb-pod-0002,6000,12288,0,0,,BE,Running,200,300,200\n"
        "openb-pod-0003,6000,12288,8,1000,,Burstable,Succeeded,50,1050,50\n"
    )
    got = read_trace(path, instance_type=P4D).to_dicts()
    assert got == [
        {
            "team": "ls-whole",
            "instance_type": P4D,
            "accelerators": 1,
            "submit_s": 0.0,
            "run_s": 3540.0,
            "priority_class": None,
        },
        {
            "team": "burstable-whole",
            "instance_type": P4D,
            "accelerators": 8,
            "submit_s": 50.0,
            "run_s": 1000.0,
            "priority_class": None,
        },
        # never scheduled: it asks for its whole life; a shared GPU counts whole.
        {
            "team": "be-shared",
            "instance_type": P4D,
            "accelerators": 1,
            "submit_s": 100.0,
            "run_s": 7200.0,
            "priority_class": None,
        },
    ]


def _metrics(
    p95_h: float, preempted: float, served: float | None, worst: tuple[str, float] | None
) -> PolicyMetrics:
    return PolicyMetrics(
        jobs=10,
        wait_p50_s=0.0,
        wait_p95_s=p95_h * HOUR,
        wait_p99_s=2 * p95_h * HOUR,
        starved_team_h=p95_h,
        preempted_gpu_h=preempted,
        preemptions=1,
        never_started=1,
        utilization=0.5,
        served_5min=served,
        worst_team=None if worst is None else worst[0],
        worst_regression_s=0.0 if worst is None else worst[1] * HOUR,
    )


def test_a_group_of_windows_is_summarised_side_by_side_in_human_units() -> None:
    runs = [
        Run("t", k * DAY, (k + 1) * DAY, 4, False, "cp-sat", {"today": today, RECOMMENDED: ours})
        for k, (today, ours) in enumerate(
            [
                (_metrics(10, 0.0, 1.0, None), _metrics(2, 30.0, None, ("a", 1.5))),
                (_metrics(30, 8.0, 0.5, None), _metrics(4, 10.5, 0.25, ("b", 3.0))),
            ]
        )
    ]
    got = {row["policy"]: row for row in summed_rows(runs)}
    assert got["today"].keys() == got[RECOMMENDED].keys() == set(COLUMNS)
    assert [got[RECOMMENDED][c] for c in COLUMNS] == [
        RECOMMENDED,
        "0.0 h",  # p50: the mean of the windows'
        "3.0 h",  # p95: the mean of 2 h and 4 h
        "6.0 h",
        "6.0 team-h",  # starved: the total
        "40.5 GPU-h",
        "2",
        "25%",  # the served share over the windows that had jobs within guarantee
        "0.500",
        "b +3.0 h",  # the largest regression in any window
    ]
    assert (got["today"]["p95 wait"], got["today"]["guar. <5 min"]) == ("20.0 h", "75%")
    assert got["today"]["worst team"] == "-"


def test_a_replay_is_measured_per_job_and_per_team() -> None:
    # a may not borrow: its second job waits from 0.5 h to 2 h for its first; b's job starts
    # at once.
    policy = make_policy().team("a", count=1, borrow_limit=0).team("b", count=2).build()
    jobs = workloads(("a", 8, 0, 2), ("a", 8, 0.5, 1), ("b", 8, 1, 1))
    got = measured(jobs, {"p": policy}, make_cluster(3))[0]["p"]
    assert (got.jobs, got.wait_p50_s, got.wait_p95_s, got.never_started) == (3, 0.0, 1.5 * HOUR, 0)
    assert (got.team_wait_p50_s, got.team_wait_p95_s, got.team_wait_p99_s) == (
        {"a": 0.0, "b": 0.0},
        {"a": 1.5 * HOUR, "b": 0.0},
        {"a": 1.5 * HOUR, "b": 0.0},
    )
    # a's second job asks beyond its guarantee (16 GPUs of 8): only the other two count.
    assert (got.served_5min, got.team_served_5min) == (1.0, {"a": 1.0, "b": 1.0})
    # a waited 1.5 h while b's GPUs stood idle; nothing was preempted.
    assert (got.starved_team_h, got.preempted_gpu_h, got.preemptions) == (1.5, 0.0, 0)
