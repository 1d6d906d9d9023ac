"""Errors the optimizer raises on purpose, carrying their data as fields."""

from __future__ import annotations

from dataclasses import dataclass, field

from taskgov.errors import TaskgovError


class OptimizerError(TaskgovError):
    """Root of the optimizer's errors."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """One constraint of a set that cannot hold together.

    Attributes:
        constraint: the solver-visible name, e.g. ``floor[team-a,ml.p4d.24xlarge]``.
        family: the constraint family, e.g. ``floor``, ``capacity``, ``max_change``.
        team: the team it is about, if any.
        instance_type: the instance type it is about, if any.
        detail: what it demands, in one sentence.
    """

    constraint: str
    family: str
    team: str | None
    instance_type: str | None
    detail: str

    def __str__(self) -> str:
        return f"{self.constraint}: {self.detail}"


@dataclass
class InfeasibleError(OptimizerError):
    """No recommendation satisfies the settings; ``conflicts`` is a minimal conflicting set."""

    conflicts: list[Conflict] = field(default_factory=list)
    exit_code = 3

    def __str__(self) -> str:
        lines = ["no quotas satisfy these constraints together:"]
        lines += [f"  {conflict}" for conflict in self.conflicts]
        return "\n".join(lines)
