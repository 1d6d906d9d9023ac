"""The error hierarchy shared by every taskgov package.

Errors carry their data as fields so that callers and tests inspect attributes,
not message strings; ``str(error)`` is the one line a user sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class TaskgovError(Exception):
    """Root of every error taskgov raises on purpose."""

    exit_code: int = 1

    def __post_init__(self) -> None:
        """A dataclass error's ``args`` are its one line, as a plain exception's would be."""
        super().__init__(str(self))


@dataclass(frozen=True, slots=True)
class Fault:
    """One thing wrong with an input document.

    Attributes:
        document: where the input came from, e.g. ``policy.yaml#2 (Policy)``.
        subject: the object at fault, e.g. ``ComputeQuota Team-A-Quota-Allocation``.
        field: dotted path of the field at fault, e.g. ``ComputeQuotaTarget.FairShareWeight``.
        message: what is wrong, in one sentence.
    """

    document: str
    subject: str
    field: str
    message: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.document, self.subject) if part)
        at = f" field {self.field}:" if self.field else ""
        return f"{where}:{at} {self.message}"


@dataclass
class InputError(TaskgovError):
    """Bad input: a policy, scenario, config or trace that cannot be used. Exit code 2."""

    faults: list[Fault] = field(default_factory=list)
    exit_code = 2

    def __str__(self) -> str:
        return "\n".join(str(fault) for fault in self.faults)


@dataclass
class DatabaseError(TaskgovError):
    """The database cannot be opened, read or written as asked. Exit code 1.

    Attributes:
        path: the database file.
        problem: what went wrong.
    """

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"
