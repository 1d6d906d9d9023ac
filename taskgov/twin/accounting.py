"""The twin's own record of quota used and borrowed, integrated over simulated time.

Kept beside the scheduler so that what the pipeline derives from watched events (usage_minutes)
can be checked against what the simulation actually did, to the millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskgov.twin.objects import FlavorResource

AccountKey = tuple[str, FlavorResource]  # (ClusterQueue, (flavor, resource))


@dataclass(slots=True)
class _Level:
    since_ms: int
    used: int
    nominal: int


@dataclass(frozen=True, slots=True)
class Usage:
    """Amount x milliseconds: ``used`` while admitted, ``borrowed`` above the nominal quota."""

    used: int
    borrowed: int


class QuotaAccounting:
    """Integrates, per ClusterQueue and flavor-resource, what admitted Workloads hold."""

    def __init__(self) -> None:
        self._levels: dict[AccountKey, _Level] = {}
        self._used: dict[AccountKey, int] = {}
        self._borrowed: dict[AccountKey, int] = {}

    def change(
        self, cluster_queue: str, fr: FlavorResource, nominal: int, delta: int, now_ms: int
    ) -> None:
        """Record that the ClusterQueue's usage of ``fr`` changed by ``delta`` at ``now_ms``."""
        key = (cluster_queue, fr)
        level = self._levels.get(key)
        if level is None:
            self._levels[key] = _Level(now_ms, delta, nominal)
            return
        self._close(key, level, now_ms)
        level.used += delta
        level.nominal = nominal
        level.since_ms = now_ms

    def totals(self, until_ms: int) -> dict[AccountKey, Usage]:
        """Used and borrowed amount x ms per key; what is still held counts to ``until_ms``."""
        used, borrowed = dict(self._used), dict(self._borrowed)
        for key, level in self._levels.items():
            span = max(0, until_ms - level.since_ms)
            used[key] = used.get(key, 0) + level.used * span
            borrowed[key] = borrowed.get(key, 0) + max(0, level.used - level.nominal) * span
        return {key: Usage(used.get(key, 0), borrowed.get(key, 0)) for key in used}

    def _close(self, key: AccountKey, level: _Level, now_ms: int) -> None:
        span = now_ms - level.since_ms
        self._used[key] = self._used.get(key, 0) + level.used * span
        excess = max(0, level.used - level.nominal)
        self._borrowed[key] = self._borrowed.get(key, 0) + excess * span
