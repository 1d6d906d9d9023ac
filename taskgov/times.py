"""``--since`` and ``--until``: one reading of time bounds for every command.

A bound is a duration back from the end of the record (``720h``, ``90m``, ``7d``; the record
ends at the worker's watermark, so a replayed or old record reads the same as a live one) or
an ISO 8601 date or time (a date is its midnight; a time without a zone is UTC). Bounds past
the calendar's edges are bad input, never an OverflowError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from taskgov.errors import Fault, InputError
from taskgov.twin.durations import parse_duration_ms

ISO_EXAMPLE = "e.g. 2024-05-01 or 2024-05-01T12:00Z"
EXPECTED = (
    "expected a duration back from the end of the record (e.g. 720h) or an ISO 8601 date "
    f"or time ({ISO_EXAMPLE})"
)


def parse_instant(text: str | None, option: str) -> datetime | None:
    """A naive UTC instant from ISO 8601 (a date means its midnight; naive times are UTC).

    Raises:
        InputError: the text is not ISO 8601, or its UTC time is off the calendar.
    """
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        message = f"expected an ISO 8601 date or time, {ISO_EXAMPLE}"
        raise InputError([Fault(option, text, "", message)]) from None
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise InputError([Fault(option, text, "", _off_calendar(moment.year))]) from None


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A checked ``--since``/``--until``: an instant, or how far back from the record's end."""

    option: str
    text: str
    at: datetime | None = None
    back: timedelta | None = None

    def resolve(self, record_end: Callable[[], datetime | None]) -> datetime:
        """The naive UTC instant, reading the record's end only for a duration.

        Raises:
            InputError: a duration on an empty record, or one reaching before the year 1.
        """
        if self.back is None:
            assert self.at is not None
            return self.at
        end = record_end()
        if end is None:
            message = "counts back from the end of the record, and the record is empty"
            raise InputError([Fault(self.option, self.text, "", message)])
        try:
            return end - self.back
        except OverflowError:
            raise InputError([Fault(self.option, self.text, "", _off_calendar(1))]) from None


def parse_time_bound(text: str | None, option: str) -> TimeBound | None:
    """Check ``text`` before anything is opened: a duration or an ISO 8601 time.

    Raises:
        InputError: neither form, or off the calendar.
    """
    if text is None:
        return None
    try:
        return TimeBound(option, text, back=timedelta(milliseconds=parse_duration_ms(text)))
    except ValueError:
        if not _looks_like_a_time(text):
            raise InputError([Fault(option, text, "", EXPECTED)]) from None
        return TimeBound(option, text, at=parse_instant(text, option))
    except OverflowError:
        raise InputError([Fault(option, text, "", "is longer than any calendar")]) from None


def time_bound(
    text: str | None, option: str, record_end: Callable[[], datetime | None]
) -> datetime | None:
    """``text`` as a naive UTC instant: a duration back from ``record_end()``, or ISO 8601.

    Raises:
        InputError: neither form, a duration on an empty record, or off the calendar.
    """
    bound = parse_time_bound(text, option)
    return None if bound is None else bound.resolve(record_end)


def _off_calendar(year: int) -> str:
    edge = "before the year 1" if year < 5000 else "after the year 9999"
    return f"reaches {edge}: give a time within the calendar"


def _looks_like_a_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
