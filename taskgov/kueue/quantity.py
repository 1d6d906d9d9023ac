"""Kubernetes resource quantities as the integers Kueue computes with.

Kueue keeps CPU in millicores and every other resource in whole units (bytes for
memory), see ``pkg/resources`` in Kueue. We do the same so quota arithmetic is exact.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CPU = "cpu"
MEMORY = "memory"

_SUFFIX_FACTORS: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(
    r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?"
)
_BINARY_SUFFIXES = (
    ("Ei", 2**60),
    ("Pi", 2**50),
    ("Ti", 2**40),
    ("Gi", 2**30),
    ("Mi", 2**20),
    ("Ki", 2**10),
)


class QuantityError(ValueError):
    """A string or number that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact decimal value of a quantity such as ``500m``, ``128Gi`` or ``2``.

    Raises:
        QuantityError: the value is not a quantity.
    """
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.fullmatch(str(value).strip())
    if not match:
        raise QuantityError(f"{value!r} is not a quantity")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        raise QuantityError(f"{value!r} is not a quantity") from None
    return number * _SUFFIX_FACTORS[match.group(2) or ""]


def to_amount(resource: str, value: str | int | float | Decimal) -> int:
    """A quantity as Kueue's integer for ``resource``: millicores for CPU, else rounded-up units."""
    number = value if isinstance(value, Decimal) else parse_quantity(value)
    scaled = number * 1000 if resource == CPU else number
    integral = int(scaled.to_integral_value(rounding="ROUND_CEILING"))
    return integral


def format_amount(resource: str, amount: int) -> str:
    """The canonical quantity string for one of our integers (``64``, ``500m``, ``256Gi``)."""
    if resource == CPU:
        return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"
    if resource == MEMORY and amount:
        for suffix, factor in _BINARY_SUFFIXES:
            if amount % factor == 0:
                return f"{amount // factor}{suffix}"
    return str(amount)
