"""``limit`` and ``continue``: a list served in pages, all from one consistent snapshot.

The API server serves every page of a paged list at the resourceVersion of the first page
(etcd keeps that revision), and answers ``410 Expired`` once it is compacted away. The twin
keeps the snapshots of recent paged lists (the objects are shared, never copied) and forgets
the oldest, so an old continue token gets the same 410 a real cluster would give.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Listing = tuple[list[dict[str, Any]], int]


class PagingError(ValueError):
    """A bad ``limit`` or ``continue``, with the HTTP code and reason to answer."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    resource_version: int
    token: str  # empty on the last page
    remaining: int


class Pages:
    """Snapshots of paged lists, by id, the most recent ``keep`` of them."""

    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._snapshots: OrderedDict[int, Listing] = OrderedDict()

    def page(self, resource: str, listing: Callable[[], Listing], limit: str, token: str) -> Page:
        """The page ``token`` points at (or the first), at most ``limit`` items long.

        Raises:
            PagingError: ``limit`` is not a whole number, or ``token`` is malformed (400),
                or its snapshot has been forgotten (410).
        """
        size = _limit(limit)
        if token:
            snapshot_id, offset = _decode(token, resource)
            with self._lock:
                snapshot = self._snapshots.get(snapshot_id)
            if snapshot is None:
                raise PagingError(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter.",
                )
        else:
            snapshot, snapshot_id, offset = listing(), 0, 0
        items, version = snapshot
        if not size or offset + size >= len(items):
            return Page(items[offset:], version, "", 0)
        if not snapshot_id:
            with self._lock:
                snapshot_id = next(self._ids)
                self._snapshots[snapshot_id] = snapshot
                while len(self._snapshots) > self._keep:
                    self._snapshots.popitem(last=False)
        end = offset + size
        return Page(
            items[offset:end], version, _encode(snapshot_id, end, resource), len(items) - end
        )


def _limit(text: str) -> int:
    if not text:
        return 0
    try:
        size = int(text)
    except ValueError:
        raise PagingError(400, "BadRequest", f"limit must be a whole number: {text!r}") from None
    return max(size, 0)


def _encode(snapshot_id: int, offset: int, resource: str) -> str:
    raw = json.dumps({"snapshot": snapshot_id, "offset": offset, "resource": resource})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode(token: str, resource: str) -> tuple[int, int]:
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
        snapshot_id, offset = int(body["snapshot"]), int(body["offset"])
        same_resource = body["resource"] == resource
    except (binascii.Error, ValueError, KeyError, TypeError):
        same_resource = False
    if not same_resource:
        raise PagingError(400, "BadRequest", "continue key is not valid for this list")
    return snapshot_id, offset
