"""Typed checks of one field of a Kubernetes object, composed into object shapes.

:mod:`taskgov.kueue.schemas.compile` builds them from Kueue's schemas; the readers trust the
shapes they guarantee, so that a list where a mapping belongs, a ``.nan`` quantity or a 1 MB
name becomes a fault naming the field, the way the Kubernetes API server answers ``kubectl
apply``, instead of a crash deep in a reader. Each check returns whether the value is usable,
so callers can skip dependent checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from taskgov.errors import Fault
from taskgov.kueue.quantity import QUANTITY, SUFFIX_FACTORS
from taskgov.kueue.schemas.builders import DNS_LABEL, DNS_SUBDOMAIN, LABEL_VALUE, QUALIFIED_NAME

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN)
_DNS_LABEL = re.compile(DNS_LABEL)
_QUALIFIED_NAME = re.compile(QUALIFIED_NAME)
_LABEL_VALUE = re.compile(LABEL_VALUE)
# A JSON value's type as messages name it; the readers name expected types the same way.
TYPE_NAMES: dict[type, str] = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


@dataclass
class Context:
    """Where faults of one document go: ``file#index`` and ``Kind namespace/name``."""

    where: str
    subject: str
    faults: list[Fault] = field(default_factory=list)

    def fault(self, path: str, message: str) -> bool:
        """Record a fault at ``path``; returns False so checks can ``return ctx.fault(...)``."""
        self.faults.append(Fault(self.where, self.subject, path, message))
        return False


# A check of one value at a field path.
Check = Callable[[Context, Any, str], bool]


def type_name(value: Any) -> str:
    """``a mapping``, ``a list``... for the value's JSON type."""
    for kind, name in TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def shown(value: Any, limit: int = 80) -> str:
    """A short repr: a 1 MB name is shown by its length."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"


def anything(ctx: Context, value: Any, path: str) -> bool:
    """Any value: fields the twin does not read keep the API server's freedom."""
    return True


def string(
    *,
    max_length: int = 253,
    pattern: re.Pattern[str] | None = None,
    choices: Iterable[str] | None = None,
    what: str = "",
) -> Check:
    """A string of at most ``max_length``, matching ``pattern`` or one of ``choices``."""
    allowed = tuple(choices) if choices is not None else None

    def check(ctx: Context, value: Any, path: str) -> bool:
        if not isinstance(value, str):
            return ctx.fault(path, f"must be a string, got {type_name(value)} {shown(value)}")
        if allowed is not None:
            if value not in allowed:
                return ctx.fault(path, f"must be one of {', '.join(allowed)}, got {shown(value)}")
            return True
        if len(value) > max_length:
            return ctx.fault(path, f"has {len(value)} characters; at most {max_length} are allowed")
        if pattern is not None and not pattern.fullmatch(value):
            return ctx.fault(path, f"{shown(value)} is not a valid {what or 'value'}")
        return True

    return check


def dns_subdomain(ctx: Context, value: Any, path: str) -> bool:
    """A DNS-1123 subdomain: the name of most Kubernetes and Kueue objects."""
    return string(max_length=253, pattern=_DNS_SUBDOMAIN, what="DNS-1123 subdomain name")(
        ctx, value, path
    )


def dns_label(ctx: Context, value: Any, path: str) -> bool:
    """A DNS-1123 label: namespaces and pod set names."""
    return string(max_length=63, pattern=_DNS_LABEL, what="DNS-1123 label")(ctx, value, path)


def qualified_name(ctx: Context, value: Any, path: str) -> bool:
    """A label key or resource name: ``[prefix/]name``, prefix a subdomain, name at most 63."""
    if not string(max_length=253 + 1 + 63)(ctx, value, path):
        return False
    prefix, _, name = value.rpartition("/")
    valid = len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name) is not None
    if "/" in value:
        valid = valid and len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix) is not None
    return valid or ctx.fault(path, f"{shown(value)} is not a valid qualified name")


def label_value(ctx: Context, value: Any, path: str) -> bool:
    """A label value: at most 63 letters, digits, '-', '_' and '.'."""
    return string(max_length=63, pattern=_LABEL_VALUE, what="label value")(ctx, value, path)


def boolean(ctx: Context, value: Any, path: str) -> bool:
    return isinstance(value, bool) or ctx.fault(path, f"must be a boolean, got {type_name(value)}")


def integer(*, minimum: int | None = None, maximum: int = INT32_MAX) -> Check:
    """An integer (a boolean is not one) within ``[minimum, maximum]``."""

    def check(ctx: Context, value: Any, path: str) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            return ctx.fault(path, f"must be an integer, got {type_name(value)} {shown(value)}")
        if minimum is not None and value < minimum:
            return ctx.fault(path, f"must be at least {minimum}, got {value}")
        if value > maximum:
            return ctx.fault(path, f"must be at most {maximum}, got {shown(value)}")
        return True

    return check


def quantity_value(value: Any) -> Decimal | str:
    """The exact value of a Kubernetes quantity, or why it is not one (within int64).

    Bounds are checked before any arithmetic, so ``1e999999999`` costs nothing.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"must be a quantity such as 2, 500m or 64Gi, got {type_name(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite quantity"
    if isinstance(value, int | float):
        number = Decimal(str(value))
        return number if abs(number) <= INT64_MAX else f"{shown(value)} is out of range"
    match = QUANTITY.fullmatch(value.strip()) if len(value) <= 64 else None
    if match is None:
        return f"{shown(value)} is not a quantity"
    mantissa, exponent, suffix = match.group(1), match.group(2), match.group(3) or ""
    if exponent and len(exponent.lstrip("eE+-")) > 2:
        return f"{shown(value)} is out of range (at most {INT64_MAX})"
    exponent_value = int(exponent[1:]) if exponent else 0
    number = Decimal(mantissa) * Decimal(10) ** exponent_value * SUFFIX_FACTORS[suffix]
    if abs(number) > INT64_MAX:
        return f"{shown(value)} is out of range (at most {INT64_MAX})"
    return number


def quantity(ctx: Context, value: Any, path: str) -> bool:
    """A non-negative Kubernetes quantity whose Kueue integer fits in int64."""
    number = quantity_value(value)
    if isinstance(number, str):
        return ctx.fault(path, number)
    if number < 0:
        return ctx.fault(path, f"must not be negative, got {shown(value)}")
    return True


def mapping(
    fields: Mapping[str, Check],
    *,
    required: Iterable[str] = (),
    closed: bool = True,
    rules: Iterable[Callable[[Context, Mapping[str, Any], str], None]] = (),
) -> Check:
    """A mapping with these fields; unknown fields are faults when ``closed``.

    ``rules`` run after the fields when every field is usable: the cross-field rules of
    Kueue's webhooks.
    """
    needed = tuple(required)
    later = tuple(rules)

    def check(ctx: Context, value: Any, path: str) -> bool:
        if not isinstance(value, Mapping):
            return ctx.fault(path, f"must be a mapping, got {type_name(value)}")
        sound = True
        prefix = f"{path}." if path else ""
        for key, item in value.items():
            child = fields.get(key) if isinstance(key, str) else None
            if child is None:
                if closed or not isinstance(key, str):
                    readable = isinstance(key, str) and len(key) <= 80
                    name = key if readable else shown(key, 60)
                    sound = ctx.fault(f"{prefix}{name}", "unknown field")
                continue
            if item is None:
                continue  # null is "not set", as in the API
            sound = child(ctx, item, f"{prefix}{key}") and sound
        for key in needed:
            if value.get(key) is None:
                sound = ctx.fault(f"{prefix}{key}", "is required")
        if sound:
            for rule in later:
                rule(ctx, value, path)
        return sound

    return check


def sequence(item: Check, *, min_items: int = 0, max_items: int | None = None) -> Check:
    """A list of ``item`` with ``min_items`` to ``max_items`` entries."""

    def check(ctx: Context, value: Any, path: str) -> bool:
        if not isinstance(value, list):
            return ctx.fault(path, f"must be a list, got {type_name(value)}")
        if len(value) < min_items:
            return ctx.fault(path, f"must have at least {min_items} item(s), got {len(value)}")
        if max_items is not None and len(value) > max_items:
            return ctx.fault(path, f"must have at most {max_items} items, got {len(value)}")
        sound = True
        for position, entry in enumerate(value):
            sound = item(ctx, entry, f"{path}[{position}]") and sound
        return sound

    return check


def dictionary(key: Check, value: Check, *, max_items: int = 256) -> Check:
    """A mapping of arbitrary keys (labels, resource lists), each key and value checked."""

    def check(ctx: Context, mapping_value: Any, path: str) -> bool:
        if not isinstance(mapping_value, Mapping):
            return ctx.fault(path, f"must be a mapping, got {type_name(mapping_value)}")
        if len(mapping_value) > max_items:
            return ctx.fault(path, f"must have at most {max_items} entries")
        sound = True
        for name, entry in mapping_value.items():
            readable = isinstance(name, str) and len(name) <= 80
            at = f"{path}.{name}" if readable else f"{path}.{shown(name, 60)}"
            sound = key(ctx, name, at) and value(ctx, entry, at) and sound
        return sound

    return check
