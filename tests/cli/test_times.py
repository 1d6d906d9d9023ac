"""--since/--until: a duration back from the end of the record or an ISO time, on every
command; the calendar's edges are bad input (exit 2), never an OverflowError."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskgov.errors import InputError
from taskgov.times import time_bound

END = datetime(2025, 1, 1, 0, 10)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param("720h", datetime(2024, 12, 2, 0, 10), id="hours back from the record's end"),
        pytest.param("5m", datetime(2025, 1, 1, 0, 5), id="minutes back from the record's end"),
        pytest.param("0", END, id="zero is the end itself"),
        pytest.param("2024-05-01", datetime(2024, 5, 1), id="a date is its midnight"),
        pytest.param("2024-05-01T12:00Z", datetime(2024, 5, 1, 12), id="a UTC time"),
        pytest.param("2024-05-01T14:00+02:00", datetime(2024, 5, 1, 12), id="a zone is made UTC"),
        pytest.param("2024-05-01 12:00", datetime(2024, 5, 1, 12), id="a naive time is UTC"),
        pytest.param(None, None, id="no bound"),
    ],
)
def test_time_bound_reads_durations_and_iso_times(text: str | None, want: datetime) -> None:
    assert time_bound(text, "--since", lambda: END) == want


@pytest.mark.parametrize(
    ("text", "end", "want_message"),
    [
        pytest.param(
            "yesterday",
            END,
            "--since, yesterday: expected a duration back from the end of the record (e.g. "
            "720h) or an ISO 8601 date or time (e.g. 2024-05-01 or 2024-05-01T12:00Z)",
            id="neither a duration nor a time",
        ),
        pytest.param(
            "20000000h",
            END,
            "--since, 20000000h: reaches before the year 1: give a time within the calendar",
            id="a duration back past the year 1",
        ),
        pytest.param(
            "99999999999999h",
            END,
            "--since, 99999999999999h: is longer than any calendar",
            id="a duration longer than any calendar",
        ),
        pytest.param(
            "9999-12-31T23:00-05:00",
            END,
            "--since, 9999-12-31T23:00-05:00: reaches after the year 9999: give a time within "
            "the calendar",
            id="a zoned time whose UTC is past the year 9999",
        ),
        pytest.param(
            "0001-01-01T00:30+01:00",
            END,
            "--since, 0001-01-01T00:30+01:00: reaches before the year 1: give a time within "
            "the calendar",
            id="a zoned time whose UTC is before the year 1",
        ),
        pytest.param(
            "720h",
            None,
            "--since, 720h: counts back from the end of the record, and the record is empty",
            id="a duration on an empty record",
        ),
    ],
)
def test_time_bound_faults_are_bad_input(
    text: str, end: datetime | None, want_message: str
) -> None:
    with pytest.raises(InputError) as caught:
        time_bound(text, "--since", lambda: end)
    assert (caught.value.exit_code, str(caught.value)) == (2, want_message)


@given(st.text(max_size=30))
def test_time_bound_never_raises_anything_but_input_error(text: str) -> None:
    try:
        got = time_bound(text, "--until", lambda: END)
    except InputError as error:
        assert error.exit_code == 2
    else:
        assert got is None or got.tzinfo is None
