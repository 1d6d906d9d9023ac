"""Poison YAML: every file taskgov reads goes through one bounded loader (taskgov.yamlsafe).

The loader's cases run in process; one subprocess per command that reads files shows the
installed ``taskgov`` script answers them with exit code 2 and the same message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taskgov.errors import InputError
from taskgov.settings import load_settings
from taskgov.yamlsafe import YamlLimits, load_all

TASKGOV = str(Path(sys.executable).with_name("taskgov"))
SEED_POLICY = Path(__file__).parents[1] / "taskgov" / "data" / "seed" / "policy.yaml"


def alias_bomb(levels: int = 9) -> str:
    """The billion laughs: each level names the previous one nine times (a 1 KB file)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


YAML_CASES = [
    pytest.param(
        alias_bomb(),
        "f.yaml: not valid YAML at line 5, column 8: aliases expand to more than 10000 nodes",
        id="an alias bomb stops at 10,000 expanded nodes",
    ),
    pytest.param(
        "a: &a [1, *a]\n",
        "f.yaml: not valid YAML at line 1, column 11: alias *a refers to the collection that contains it",
        id="an alias inside its own anchor",
    ),
    pytest.param(
        "a: " + "[" * 490 + "]" * 490 + "\n",
        "f.yaml: not valid YAML at line 1, column 67: nested deeper than 64 levels",
        id="flow brackets nested 490 deep",
    ),
    pytest.param(
        "".join("  " * i + "k:\n" for i in range(100)),
        "f.yaml: not valid YAML at line 64, column 127: nested deeper than 64 levels",
        id="block mappings nested 100 deep",
    ),
    pytest.param(
        "n: " + "9" * 5000 + "\n",
        "f.yaml: not valid YAML at line 1, column 4: an integer of 5000 characters is out of range (at most 40)",
        id="a 5,000-digit number",
    ),
    pytest.param(
        "n: .nan\n",
        "f.yaml: not valid YAML at line 1, column 4: '.nan' is not a finite number (JSON and the Kubernetes API have no infinity or NaN)",
        id="NaN",
    ),
    pytest.param(
        "n: -.inf\n",
        "f.yaml: not valid YAML at line 1, column 4: '-.inf' is not a finite number (JSON and the Kubernetes API have no infinity or NaN)",
        id="minus infinity",
    ),
    pytest.param(
        "Name: a\nWeight: 1\nName: b\n",
        "f.yaml: not valid YAML at line 3, column 1: key 'Name' is given twice in one mapping (first at line 1, again at line 3)",
        id="a duplicate key names the key and both lines",
    ),
    pytest.param(
        "base: &b {x: 1}\nc:\n  <<: *b\n  y: 1\n  y: 2\n",
        "f.yaml: not valid YAML at line 5, column 3: key 'y' is given twice in one mapping (first at line 4, again at line 5)",
        id="a duplicate key beside a merge key",
    ),
    pytest.param(
        "s: !!set {a}\n",
        "f.yaml: not valid YAML at line 1, column 4: tag 'tag:yaml.org,2002:set' is not supported (plain YAML only)",
        id="a YAML set",
    ),
    pytest.param(
        "b: !!python/object:os.system {}\n",
        "f.yaml: not valid YAML at line 1, column 4: tag 'tag:yaml.org,2002:python/object:os.system' is not supported (plain YAML only)",
        id="a Python object tag",
    ),
    pytest.param(
        "a: [unclosed\n",
        "f.yaml: not valid YAML at line 2, column 1: did not find expected ',' or ']'",
        id="an unclosed bracket",
    ),
]


@pytest.mark.parametrize(("text", "want_fault"), YAML_CASES)
def test_poison_yaml_is_one_clear_fault(text: str, want_fault: str) -> None:
    with pytest.raises(InputError) as raised:
        load_all(text, "f.yaml")
    assert [str(fault) for fault in raised.value.faults] == [want_fault]


def test_yaml_larger_than_the_bound_is_refused_before_parsing() -> None:
    with pytest.raises(InputError) as raised:
        load_all("a: " + "x" * 2**20, "big.yaml", YamlLimits(max_bytes=2**20))
    assert [str(fault) for fault in raised.value.faults] == ["big.yaml: larger than 1 MiB of YAML"]


def test_plain_yaml_reads_as_kubernetes_reads_it() -> None:
    """Merge keys work, timestamps stay text (2001-13-45 used to raise ValueError), YAML 1.1
    booleans are booleans, and aliases within the bound are shared values."""
    text = (
        "base: &b {x: 1, y: 2}\nc: {<<: *b, x: 3}\nwhen: 2001-13-45\nday: 2024-05-01\n"
        "on: yes\nlist: [*b, *b]\n"
    )
    assert load_all(text, "f.yaml") == [
        {
            "base": {"x": 1, "y": 2},
            "c": {"x": 3, "y": 2},
            "when": "2001-13-45",
            "day": "2024-05-01",
            True: True,
            "list": [{"x": 1, "y": 2}, {"x": 1, "y": 2}],
        }
    ]


def test_settings_file_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "taskgov.yaml"
    config.write_text("cohort_name: a\ncohort_name: b\n")
    with pytest.raises(InputError) as raised:
        load_settings(config)
    assert [str(fault) for fault in raised.value.faults] == [
        f"{config}: not valid YAML at line 2, column 1: key 'cohort_name' is given twice in one mapping (first at line 1, again at line 2)"
    ]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TASKGOV, *args], capture_output=True, text=True, timeout=60)


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    return str(path)


def test_cli_answers_poison_files_with_exit_2(tmp_path: Path) -> None:
    """One subprocess per command that reads a file: each says what is wrong and exits 2."""
    seed = SEED_POLICY.read_text()
    bomb = write(tmp_path, "bomb.yaml", alias_bomb())
    deep_shorthand = write(
        tmp_path,
        "deep.yaml",
        seed.replace('FairShare=Enabled"', "FairShare=Enabled,X=" + "[" * 5000 + "]" * 5000 + '"'),
    )
    big_number = write(
        tmp_path, "n.yaml", seed.replace("InstanceCount: 4", "InstanceCount: " + "9" * 5000)
    )
    config = write(tmp_path, "config.yaml", "cohort_name: a\ncohort_name: b\n")
    cases = [
        (
            ("policy", "validate", bomb),
            f"error: {bomb}: not valid YAML at line 5, column 8: aliases expand to more than 10000 nodes",
        ),
        (
            ("policy", "compile", deep_shorthand),
            f"error: {deep_shorthand}#1 (Policy example-cluster-scheduler-config), SchedulerConfig: bad CLI shorthand: nested deeper than 32 levels at column 186",
        ),
        (
            ("twin", "run", big_number),
            f"error: {big_number}: not valid YAML at line 12, column 20: an integer of 5000 characters is out of range (at most 40)",
        ),
        (
            ("--config", config, "policy", "compile", str(SEED_POLICY)),
            f"error: {config}: not valid YAML at line 2, column 1: key 'cohort_name' is given twice in one mapping (first at line 1, again at line 2)",
        ),
        (
            ("report", "utilization", "--since", "9999-12-31T23:59:59-01:00"),
            "error: --since, 9999-12-31T23:59:59-01:00: reaches after the year 9999: give a time within the calendar",
        ),
    ]
    answers = [(args, run(*args)) for args, _ in cases]
    assert [(r.returncode, r.stderr.strip(), r.stdout) for _, r in answers] == [
        (2, want, "") for _, want in cases
    ]
