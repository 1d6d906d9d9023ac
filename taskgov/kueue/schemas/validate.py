"""Check a Kueue manifest against its version's schema and Kueue's validation rules.

The schema part is what the API server does with a CRD's structural schema under strict field
validation: types, enums, bounds, patterns, required fields, and unknown fields rejected. The
rules part restates the CEL rules of Kueue's CRDs (named by ``x-taskgov-rules`` in the
schema) as Python, so a manifest the twin or the project ships is one Kueue would accept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from taskgov.kueue.schemas import BUILDERS, VERSIONS, Schema, schema

GROUP = "kueue.x-k8s.io"


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing wrong with a manifest: where (``spec.podSets[0].count``) and what."""

    path: str
    message: str


def _type_ok(value: Any, schema_: Schema) -> bool:
    if "anyOf" in schema_:  # int-or-string
        return isinstance(value, int | str) and not isinstance(value, bool)
    expected = schema_.get("type")
    checks: dict[str, Callable[[Any], bool]] = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    return expected is None or checks[expected](value)


def _scalar(value: Any, schema_: Schema, path: str) -> list[Violation]:
    found = []
    if "enum" in schema_ and value not in schema_["enum"]:
        allowed = ", ".join(f'"{e}"' for e in schema_["enum"])
        found.append(Violation(path, f'unsupported value "{value}": must be one of {allowed}'))
    if isinstance(value, str):
        if "pattern" in schema_ and not re.match(schema_["pattern"], value):
            found.append(Violation(path, f'"{value}" does not match {schema_["pattern"]}'))
        if len(value) > schema_.get("maxLength", len(value)):
            found.append(Violation(path, f"longer than {schema_['maxLength']} characters"))
        if len(value) < schema_.get("minLength", 0):
            found.append(Violation(path, f"shorter than {schema_['minLength']} characters"))
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema_ and value < schema_["minimum"]:
            found.append(Violation(path, f"must be at least {schema_['minimum']}"))
        if "maximum" in schema_ and value > schema_["maximum"]:
            found.append(Violation(path, f"must be at most {schema_['maximum']}"))
    return found


def check_schema(value: Any, schema_: Schema, path: str = "") -> list[Violation]:
    """Every way ``value`` breaks ``schema_`` (a structural OpenAPI v3 schema)."""
    where = path or "<root>"
    if not _type_ok(value, schema_):
        wanted = schema_.get("type", "integer or string")
        return [Violation(where, f"must be of type {wanted}, got {type(value).__name__}")]
    found = _scalar(value, schema_, where)
    if isinstance(value, list):
        if len(value) > schema_.get("maxItems", len(value)):
            found.append(Violation(where, f"must have at most {schema_['maxItems']} items"))
        if len(value) < schema_.get("minItems", 0):
            found.append(Violation(where, f"must have at least {schema_['minItems']} items"))
        for i, item in enumerate(value):
            found += check_schema(item, schema_["items"], f"{path}[{i}]")
    elif isinstance(value, dict) and not schema_.get("x-kubernetes-preserve-unknown-fields"):
        properties = schema_.get("properties")
        extra = schema_.get("additionalProperties")
        for key in schema_.get("required", []):
            if key not in value:
                found.append(Violation(f"{path}.{key}".lstrip("."), "required value"))
        for key, item in value.items():
            child = f"{path}.{key}".lstrip(".")
            if properties is not None and key in properties:
                found += check_schema(item, properties[key], child)
            elif isinstance(extra, dict):
                found += check_schema(item, extra, child)
            elif properties is not None:
                found.append(Violation(child, "field not declared in schema"))
        found += _rules(value, schema_, where)
    return found


def _priority_with_class(spec: dict[str, Any]) -> str:
    named = "priorityClassName" in spec or "priorityClassRef" in spec
    return "a priority class needs spec.priority too" if named and "priority" not in spec else ""


def _min_count(pod_set: dict[str, Any]) -> str:
    min_count, count = pod_set.get("minCount"), pod_set.get("count", 1)
    wrong = isinstance(min_count, int) and isinstance(count, int) and min_count > count
    return "minCount must not exceed count" if wrong else ""


def _class_kind(ref: dict[str, Any]) -> str:
    kinds = {GROUP: "WorkloadPriorityClass", "scheduling.k8s.io": "PriorityClass"}
    wanted = kinds.get(str(ref.get("group")))
    wrong = wanted is not None and ref.get("kind") != wanted
    return f"group {ref.get('group')} holds only {wanted}" if wrong else ""


def _covered(group: dict[str, Any]) -> str:
    covered = group.get("coveredResources") or []
    for flavor in group.get("flavors") or []:
        names = [r.get("name") for r in flavor.get("resources") or [] if isinstance(r, dict)]
        if names != covered:
            return f"flavor {flavor.get('name')} must list exactly the covered resources, in order"
    return ""


def _limits_need_cohort(spec: dict[str, Any]) -> str:
    if spec.get("cohort") or spec.get("cohortName"):
        return ""
    for group in spec.get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            for quota in flavor.get("resources") or []:
                if isinstance(quota, dict) and "borrowingLimit" in quota:
                    return "borrowingLimit needs a cohort to borrow from"
    return ""


def _preference(fungibility: dict[str, Any]) -> str:
    both = (fungibility.get("whenCanBorrow"), fungibility.get("whenCanPreempt"))
    allowed = "preference" not in fungibility or both == ("TryNextFlavor", "TryNextFlavor")
    return "" if allowed else "preference needs whenCanBorrow and whenCanPreempt TryNextFlavor"


def _reclaim_never(preemption: dict[str, Any]) -> str:
    policy = (preemption.get("borrowWithinCohort") or {}).get("policy", "Never")
    wrong = preemption.get("reclaimWithinCohort", "Never") == "Never" and policy != "Never"
    return "borrowWithinCohort needs reclaimWithinCohort other than Never" if wrong else ""


_RULES: dict[str, Callable[[dict[str, Any]], str]] = {
    "priority-with-class": _priority_with_class,
    "min-count-at-most-count": _min_count,
    "priority-class-kind-matches-group": _class_kind,
    "flavors-cover-resources": _covered,
    "limits-need-cohort": _limits_need_cohort,
    "preference-needs-try-next-flavor": _preference,
    "reclaim-never-borrow-never": _reclaim_never,
}


def _rules(value: dict[str, Any], schema_: Schema, where: str) -> list[Violation]:
    messages = (_RULES[name](value) for name in schema_.get("x-taskgov-rules", []))
    return [Violation(where, message) for message in messages if message]


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
    return check_schema(manifest, schema(kind, version))
