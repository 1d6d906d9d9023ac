"""Seeded fuzzing of policy and scenario files: no crash, no hang, no exit code but 0 or 2.

A mutator edits real files (the seed's policy and scenario, and twin cases) the way careless
hands and attackers do: lines deleted, doubled, swapped or re-indented, values replaced by
poison (NaN, 5,000 digits, lists for scalars, alias bombs, deep nesting), text truncated.
Every case must end, within a time and memory bound, in a result or an ``InputError``.
A handful of the mutants also go through the installed ``taskgov`` script.
"""

from __future__ import annotations

import copy
import random
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest

from taskgov.errors import InputError
from taskgov.policy.checks import policy_faults
from taskgov.policy.compile import compile_policy
from taskgov.policy.load import Document, policy_and_cluster, read_documents
from taskgov.twin.engine import Twin
from taskgov.twin.scenario import build_scenario
from taskgov.yamlsafe import load_all

ROOT = Path(__file__).parents[1]
TASKGOV = str(Path(sys.executable).with_name("taskgov"))
CASES_PER_KIND = 250
SECONDS_PER_CASE = 5
# How far the process may grow over the whole run (ru_maxrss is in KiB on Linux).
MAX_GROWTH_KIB = 400 * 1024
# Plausible values keep some mutants valid, so the twin runs them to the end.
PLAUSIBLE = ["1", "2", "4", "100", "0s", "1h", "Never", "LowerPriority", "TryNextFlavor", "Any"]
POISON = [
    ".nan",
    ".inf",
    "-.inf",
    "-1",
    "0",
    "1.5",
    "1e999999999",
    "'1e999999999'",
    "1.0e+99999",
    "9" * 5000,
    "2147483648",
    "[Borrow]",
    "{}",
    "[]",
    "null",
    "true",
    "''",
    "x" * 3000,
    "[[[[[[[[]]]]]]]]",
    "*undefined",
    "!!set {a}",
    "99999999999999h",
    "'Key=[[[[['",
    "'Count=" + "9" * 400 + "'",
    "'" + "[" * 600 + "'",
    "{a: 1, a: 2}",
]
ALIAS_BOMB = "bomb: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"b{i}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(7)
)


def _lines_mutation(rng: random.Random, lines: list[str]) -> str:
    position = rng.randrange(len(lines))
    choice = rng.randrange(5)
    if choice == 0:
        del lines[position]
    elif choice == 1:
        lines.insert(position, lines[position])
    elif choice == 2:
        other = rng.randrange(len(lines))
        lines[position], lines[other] = lines[other], lines[position]
    elif choice == 3:
        lines[position] = "  " + lines[position]
    else:
        lines[position] = lines[position][2:]
    return "\n".join(lines)


def _value_mutation(rng: random.Random, lines: list[str]) -> str:
    candidates = [n for n, line in enumerate(lines) if ": " in line or "=" in line]
    if not candidates:
        return "\n".join(lines)
    position = rng.choice(candidates)
    line = lines[position]
    if "=" in line and rng.random() < 0.5:
        key, _, rest = line.partition("=")
        value = rng.choice(["abc", "-5", "9" * 60, "[", "{", "}", "]]", "nan", ""])
        lines[position] = f"{key}={value}{rest[rest.find(',') :] if ',' in rest else rest[-1:]}"
    else:
        key = line.split(": ")[0]
        lines[position] = f"{key}: {rng.choice(POISON if rng.random() < 0.6 else PLAUSIBLE)}"
    return "\n".join(lines)


def mutate(rng: random.Random, text: str) -> str:
    """One to three random edits of ``text``."""
    for _ in range(rng.randint(1, 3)):
        lines = text.split("\n")
        roll = rng.random()
        if roll < 0.35:
            text = _lines_mutation(rng, lines)
        elif roll < 0.85:
            text = _value_mutation(rng, lines)
        elif roll < 0.90:
            text = text[: rng.randrange(len(text) + 1)]
        elif roll < 0.95:
            text += "\n---\n" + ALIAS_BOMB
        else:
            cut = rng.randrange(len(text) + 1)
            text = (
                text[:cut]
                + rng.choice(["\x00", "\t", "{", "]", "&a ", "\ufeff", "- "])
                + text[cut:]
            )
    return text


class CaseTimeout(Exception):
    """A case ran past its time bound."""


@contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_policy(text: str) -> None:
    policy, label, cluster = policy_and_cluster(read_documents(text, "fuzz.yaml"))
    if not policy_faults(policy, cluster, label):
        compile_policy(policy, cluster, label)


def check_scenario(text: str) -> None:
    Twin(build_scenario(read_documents(text, "fuzz.yaml"))).run(None)


def without_case_header(path: Path) -> str:
    """A twin case file without its first document (the case's expectations)."""
    return path.read_text().split("\n---\n", 1)[1]


def fuzz(
    bases: list[str], check: Callable[[str], None], seed: int
) -> tuple[list[str], dict[str, int]]:
    """Faults of the run (anything but a result or an InputError) and how cases ended."""
    rng = random.Random(seed)
    problems: list[str] = []
    outcomes = {"accepted": 0, "rejected": 0}
    start_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for case in range(CASES_PER_KIND):
        text = mutate(rng, rng.choice(bases))
        try:
            with time_bound(SECONDS_PER_CASE):
                check(text)
            outcomes["accepted"] += 1
        except InputError:
            outcomes["rejected"] += 1
        except CaseTimeout:
            problems.append(f"case {case} (seed {seed}) ran past {SECONDS_PER_CASE} s")
        except Exception as error:  # noqa: BLE001 - every other exception is the finding
            problems.append(f"case {case} (seed {seed}): {type(error).__name__}: {error}"[:500])
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_kib
        if grown > MAX_GROWTH_KIB:
            problems.append(f"case {case} (seed {seed}) grew the process by {grown} KiB")
            break
    return problems, outcomes


def test_fuzzed_policies_end_in_a_result_or_input_error() -> None:
    bases = [(ROOT / "taskgov/data/seed/policy.yaml").read_text()]
    problems, outcomes = fuzz(bases, check_policy, seed=17)
    assert problems == []
    assert outcomes["accepted"] + outcomes["rejected"] == CASES_PER_KIND
    assert outcomes["rejected"] > CASES_PER_KIND // 2  # the mutator mostly breaks files


def test_fuzzed_scenarios_end_in_a_result_or_input_error() -> None:
    cases = ROOT / "tests/twin/cases"
    bases = [
        (ROOT / "taskgov/data/seed/scenario.yaml").read_text(),
        without_case_header(next(cases.glob("053-*.yaml"))),
        without_case_header(next(cases.glob("061-*.yaml"))),
    ]
    problems, outcomes = fuzz(bases, check_scenario, seed=1717)
    assert problems == []
    assert outcomes["accepted"] + outcomes["rejected"] == CASES_PER_KIND
    assert outcomes["rejected"] > CASES_PER_KIND // 2


@pytest.mark.parametrize(
    ("command", "base", "seed"),
    [
        pytest.param(
            ("policy", "validate"), "taskgov/data/seed/policy.yaml", 3, id="policy validate"
        ),
        pytest.param(("twin", "run"), "taskgov/data/seed/scenario.yaml", 5, id="twin run"),
    ],
)
def test_fuzzed_files_exit_0_or_2_through_the_script(
    tmp_path: Path, command: tuple[str, ...], base: str, seed: int
) -> None:
    """Three mutants per command through the installed script: 0 or 2, a message, no trace."""
    rng = random.Random(seed)
    text = (ROOT / base).read_text()
    answers = []
    for n in range(3):
        path = tmp_path / f"mutant-{n}.yaml"
        path.write_text(mutate(rng, text))
        done = subprocess.run(
            [TASKGOV, *command, str(path)], capture_output=True, text=True, timeout=60
        )
        answers.append((done.returncode in (0, 2), "Traceback" in done.stderr))
    assert answers == [(True, False)] * 3


# Values of every JSON type, out-of-range numbers and nested nulls, for the structural mutator.
WRONG_TYPES: list[object] = [
    None, 0, -1, 1.5, 2**40, 2**70, True, "", "x", "-5", "1e999", "a" * 300, "Count=[[[",
    [], [1], [None], {}, {"a": 1}, {"x": None},
]  # fmt: skip


def _paths(value: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _paths(item, (*prefix, position))


def replace_somewhere(rng: random.Random, bodies: list[dict[str, object]]) -> list[Document]:
    """The bodies with one field, anywhere, replaced by a value of another type."""
    changed = copy.deepcopy(bodies)
    body = rng.choice(changed)
    path = rng.choice([path for path in _paths(body) if path])
    target: object = body
    for part in path[:-1]:
        target = target[part]  # type: ignore[index]
    target[path[-1]] = copy.deepcopy(rng.choice(WRONG_TYPES))  # type: ignore[index]
    return [Document("fuzz.yaml", n, b) for n, b in enumerate(changed)]


@pytest.mark.parametrize(
    ("base", "check"),
    [
        pytest.param(
            "taskgov/data/seed/policy.yaml",
            lambda docs: check_policy_documents(docs),
            id="policy fields of the wrong type",
        ),
        pytest.param(
            "taskgov/data/seed/scenario.yaml",
            lambda docs: Twin(build_scenario(docs)).run(None),
            id="scenario fields of the wrong type",
        ),
    ],
)
def test_any_field_of_the_wrong_type_is_an_input_error(
    base: str, check: Callable[[list[Document]], None]
) -> None:
    bodies = [body for body in load_all((ROOT / base).read_text(), base) if body is not None]
    rng = random.Random(4242)
    problems = []
    for case in range(CASES_PER_KIND):
        documents = replace_somewhere(rng, bodies)
        try:
            with time_bound(SECONDS_PER_CASE):
                check(documents)
        except InputError:
            pass
        except Exception as error:  # noqa: BLE001 - every other exception is the finding
            problems.append(f"case {case}: {type(error).__name__}: {error}"[:500])
    assert problems == []


def check_policy_documents(documents: list[Document]) -> None:
    policy, label, cluster = policy_and_cluster(documents)
    if not policy_faults(policy, cluster, label):
        compile_policy(policy, cluster, label)
