"""Check a Kueue manifest against its version's schema and Kueue's rules across fields.

What the API server does with a CRD's structural schema under strict field validation (types,
enums, bounds, patterns, required fields, unknown fields refused), plus the rules of Kueue's
CEL validations and webhooks, so a manifest the twin or the project ships is one Kueue would
accept. The checks are the ones the readers use (:mod:`taskgov.kueue.schemas.compile`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskgov.kueue.schemas import BUILDERS, GROUP, VERSIONS, Schema
from taskgov.kueue.schemas.checks import Check, Context
from taskgov.kueue.schemas.compile import compiled, kind_check


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing wrong with a manifest: where (``spec.podSets[0].count``) and what."""

    path: str
    message: str


def check_schema(value: Any, schema_: Schema, path: str = "") -> list[Violation]:
    """Every way ``value`` breaks ``schema_`` (a structural OpenAPI v3 schema)."""
    return _violations(compiled(schema_), value, path)


def validate_manifest(manifest: dict[str, Any]) -> list[Violation]:
    """Every violation of Kueue's schema and rules for the manifest's kind and version.

    Manifests that are not Kueue kinds this module knows yield no violations.
    """
    api_version, kind = str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
    group, _, version = api_version.partition("/")
    if group != GROUP or kind not in BUILDERS:
        return []
    if version not in VERSIONS:
        return [Violation("apiVersion", f"{api_version} is not served")]
    return _violations(kind_check(kind, version), manifest, "")


def _violations(check: Check, value: Any, path: str) -> list[Violation]:
    ctx = Context("", "")
    check(ctx, value, path)
    return [Violation(fault.field or "<root>", fault.message) for fault in ctx.faults]
