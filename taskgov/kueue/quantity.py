"""Kubernetes resource quantities as the integers Kueue computes with.

Kueue keeps CPU in millicores and every other resource in whole units (bytes for
memory), see ``pkg/resources`` in Kueue. We do the same so quota arithmetic is exact.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CPU = "cpu"
MEMORY = "memory"

# Kubernetes' suffixes: decimal SI (``n`` to ``E``) and binary (``Ki`` to ``Ei``) multipliers.
DECIMAL_EXPONENTS = {"n": -9, "u": -6, "m": -3, "": 0} | {
    prefix: 3 * (n + 1) for n, prefix in enumerate("kMGTPE")
}
BINARY_EXPONENTS = {f"{prefix}i": 10 * (n + 1) for n, prefix in enumerate("KMGTPE")}
SUFFIX_FACTORS: dict[str, Decimal] = {
    **{suffix: Decimal(10) ** power for suffix, power in DECIMAL_EXPONENTS.items()},
    **{suffix: Decimal(2) ** power for suffix, power in BINARY_EXPONENTS.items()},
}
# A quantity: mantissa, optional decimal exponent, optional suffix.
QUANTITY = re.compile(
    r"([+-]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?"
)
_BINARY_SUFFIXES = tuple((suffix, 2**power) for suffix, power in reversed(BINARY_EXPONENTS.items()))


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
    match = QUANTITY.fullmatch(str(value).strip())
    if not match:
        raise QuantityError(f"{value!r} is not a quantity")
    try:
        number = Decimal(match.group(1) + (match.group(2) or ""))
    except InvalidOperation:
        raise QuantityError(f"{value!r} is not a quantity") from None
    return number * SUFFIX_FACTORS[match.group(3) or ""]


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
