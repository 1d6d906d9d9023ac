"""What every applier provides, and the shapes an apply passes around.

A backend reads the live state into per-team objects (with the id and version that make a write
conditional), turns a desired object into the exact call, and makes it. The engine
(``optimizer/appliers/engine.py``) does the rest the same way for SageMaker and for Kueue.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from optimizer.appliers.quotas import TeamQuota
from taskgov.errors import TaskgovError
from taskgov.policy.model import Policy


class Backend(StrEnum):
    """The governance API an apply writes to."""

    SAGEMAKER = "sagemaker"
    KUEUE = "kueue"


class Outcome(StrEnum):
    """How an apply, or one object of it, ended."""

    DRY_RUN = "dry-run"
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    CONFLICT = "conflict"
    FAILED = "failed"
    PARTIAL = "partial"
    NOT_ATTEMPTED = "not-attempted"


@dataclass(frozen=True, slots=True)
class LiveObject:
    """One governed object as the API holds it now.

    Attributes:
        name: the allocation's or ClusterQueue's name.
        object_id: the API's id (SageMaker's ComputeQuotaId; Kueue: the name).
        version: what makes a write conditional (ComputeQuotaVersion, resourceVersion).
        body: the object in the API's own shape (what a rollback restores).
    """

    name: str
    object_id: str
    version: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LiveState:
    """The live governance state: per team its object and quota, and the scheduler config."""

    objects: Mapping[str, LiveObject]
    quotas: Mapping[str, TeamQuota]
    scheduler: LiveObject | None = None


@dataclass(frozen=True, slots=True)
class Desired:
    """What one team's object should become, and the same in the guardrails' numbers."""

    team: str
    body: dict[str, Any]
    quota: TeamQuota


@dataclass(frozen=True, slots=True)
class Call:
    """One exact API call, with real ids and versions, and what it changes."""

    team: str | None
    kind: str
    name: str
    operation: str
    request: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any]

    def command(self) -> str:
        """The call as a shell line with real ids and versions: the AWS CLI for SageMaker,
        ``kubectl patch`` for a ClusterQueue (its body carries the resourceVersion)."""
        if self.kind == "ClusterQueue":
            body = json.dumps(self.request, separators=(",", ":"), sort_keys=True)
            return f"kubectl patch clusterqueue {self.name} --type merge -p {shlex.quote(body)}"
        words = ["aws", "sagemaker", _kebab(self.operation)]
        for key, value in self.request.items():
            text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            words += [f"--{_kebab(key)}", shlex.quote(str(text))]
        return " ".join(words)


def _kebab(name: str) -> str:
    """``UpdateComputeQuota`` -> ``update-compute-quota`` (the AWS CLI's names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


@dataclass(frozen=True, slots=True)
class CallResult:
    """What happened to one call."""

    call: Call
    outcome: Outcome
    response: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class ApplyError(TaskgovError):
    """A governance API could not be read or written; the message names the endpoint."""

    exit_code = 1


class ConflictError(ApplyError):
    """The object changed since it was read (stale TargetVersion, HTTP 409)."""


class Applier(Protocol):
    """A governance API: read the live state, shape a call, make it."""

    backend: Backend
    endpoint: str

    def caller(self) -> str:
        """Who the calls are made as (the AWS caller identity or the Kubernetes user)."""
        ...

    def read_live(self) -> LiveState:
        """Every team's governed object, with ids and versions."""
        ...

    def desired(self, policy: Policy, team: str) -> Desired:
        """What ``team``'s object should be under ``policy``."""
        ...

    def restore(self, team: str, body: dict[str, Any] | None) -> Desired:
        """What ``team``'s object should be to restore a recorded ``body``."""
        ...

    def call_for(self, live: LiveState, desired: Desired) -> Call | None:
        """The call that makes ``desired`` true; ``None`` when it already is."""
        ...

    def make(self, call: Call) -> dict[str, Any]:
        """Make ``call``; the response body.

        Raises:
            ConflictError: the object changed since it was read.
            ApplyError: the endpoint is down, the credentials are missing or denied, or the
                API refused the request.
        """
        ...
