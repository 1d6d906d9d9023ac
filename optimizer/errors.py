"""The optimizer's error root, and the conflicts an infeasible plan names.

Infeasibility is data (the plan's status and its conflicts), not an exception: the CLI prints
the conflicts and exits 3.
"""

from __future__ import annotations

from dataclasses import dataclass

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
