"""Go-style durations (``1h30m``, ``500ms``, ``2.5s``) as integer milliseconds."""

from __future__ import annotations

import re
from decimal import Decimal

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_MS = {"ms": Decimal(1), "s": Decimal(1000), "m": Decimal(60_000), "h": Decimal(3_600_000)}


def parse_duration_ms(text: str) -> int:
    """Milliseconds in a duration such as ``90s`` or ``1h30m``.

    Raises:
        ValueError: the text is not a non-negative duration.
    """
    value = str(text).strip()
    if value in ("0", ""):
        if value == "":
            raise ValueError("empty duration")
        return 0
    position, total = 0, Decimal(0)
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += Decimal(match.group(1)) * _UNIT_MS[match.group(2)]
        position = match.end()
    if position != len(value) or position == 0:
        raise ValueError(f"{text!r} is not a duration like 90s, 1h30m or 500ms")
    return int(total)


def format_duration_ms(ms: int) -> str:
    """A short, kubectl-like age: ``45s``, ``5m``, ``2h10m``, ``3d``."""
    seconds = ms // 1000
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 180:
        return f"{minutes}m" if minutes < 10 else f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h{minutes % 60}m" if minutes % 60 and hours < 8 else f"{hours}h"
    return f"{hours // 24}d"
