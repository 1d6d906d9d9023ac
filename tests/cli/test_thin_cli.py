"""The CLI stays thin: short functions, short modules, each shared option declared once, and
the same -o formats on every command that prints data."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

from taskgov.cli.main import SUBCOMMANDS, LazyGroup, cli

CLI = Path(__file__).resolve().parents[2] / "taskgov" / "cli"
MODULES = sorted(CLI.glob("*.py"))
# Options several commands share, declared once in taskgov/cli/options.py. (`twin run
# --until` is simulated time and `recommend --since` on a trace the trace's clock: their own.)
SHARED = ("--db", "--state-dir", "--topic-prefix", "--api-version", "-o", "--output")


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    return [
        (node.name, node.end_lineno - node.lineno + 1)  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_cli_function_is_longer_than_60_lines_nor_module_than_500() -> None:
    long_functions = [
        f"{path.name}:{name} ({lines} lines)"
        for path in MODULES
        for name, lines in _functions(path)
        if lines > 60
    ]
    long_modules = [p.name for p in MODULES if len(p.read_text().splitlines()) > 500]
    assert (long_functions, long_modules) == ([], [])


def test_shared_options_are_declared_only_in_options_py() -> None:
    declared = re.compile(r"click\.option\(\s*\"(-[-\w]+)\"")
    elsewhere = [
        f"{path.name}: {name}"
        for path in MODULES
        if path.name != "options.py"
        for name in declared.findall(path.read_text())
        if name in SHARED
    ]
    assert elsewhere == []


def _commands() -> list[tuple[str, click.Command]]:
    context = click.Context(cli)
    assert isinstance(cli, LazyGroup)
    found = []
    for name in sorted(SUBCOMMANDS):
        command = cli.get_command(context, name)
        assert command is not None
        subcommands = command.commands.items() if isinstance(command, click.Group) else []
        found += [(f"{name} {sub}", c) for sub, c in subcommands] or [(name, command)]
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_output_option_offers_the_same_formats(name: str, command: click.Command) -> None:
    outputs = [p for p in command.params if "--output" in getattr(p, "opts", ())]
    for option in outputs:
        assert isinstance(option.type, click.Choice)
        choices = list(option.type.choices)
        assert choices[:5] == ["table", "json", "yaml", "csv", "wide"], name
