"""Kubernetes label selectors: ``a=b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``, ``a notin (x)``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQUALITY = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")


class SelectorError(ValueError):
    """A label selector that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class _Requirement:
    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("in", "="):
            return present and value in self.values
        if self.operator in ("notin", "!="):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        return not present


@dataclass(frozen=True, slots=True)
class LabelSelector:
    requirements: tuple[_Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse a selector; commas inside ``( )`` belong to a set.

        Raises:
            SelectorError: naming the part that is not a requirement.
        """
        parts, depth, current = [], 0, ""
        for char in text:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 0:
                parts.append(current)
                current = ""
            else:
                current += char
        if current.strip():
            parts.append(current)
        requirements = []
        for part in parts:
            if match := _SET.match(part):
                values = frozenset(v.strip() for v in match[3].split(",") if v.strip())
                requirements.append(_Requirement(match[1], match[2], values))
            elif match := _EQUALITY.match(part):
                operator = "!=" if match[2] == "!=" else "="
                requirements.append(_Requirement(match[1], operator, frozenset({match[3]})))
            elif match := _EXISTS.match(part):
                requirements.append(
                    _Requirement(match[2], "absent" if match[1] else "exists", frozenset())
                )
            else:
                raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
        return cls(tuple(requirements))

    def matches(self, labels: dict[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


# Custom resources can be selected by these fields only (Kueue's CRDs declare no
# ``selectableFields``), as the API server answers for any CRD.
SELECTABLE_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A ``fieldSelector``: ``metadata.name=x``, ``metadata.namespace!=y``, comma-joined."""

    requirements: tuple[tuple[str, bool, str], ...] = ()  # (field, equal, value)

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Parse a field selector.

        Raises:
            SelectorError: a part is not ``field=value``/``field!=value``, or names a field
                custom resources cannot be selected by.
        """
        requirements = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            match = _EQUALITY.match(part)
            if match is None:
                raise SelectorError(f"invalid field selector: {part!r}")
            if match[1] not in SELECTABLE_FIELDS:
                raise SelectorError(f'field label not supported: "{match[1]}"')
            requirements.append((match[1], match[2] != "!=", match[3]))
        return cls(tuple(requirements))

    def matches(self, metadata: dict[str, str]) -> bool:
        return all(
            (metadata.get(name.removeprefix("metadata."), "") == value) == equal
            for name, equal, value in self.requirements
        )
