"""The reader's quantities and the schema check's bounded quantities are one parse.

``parse_quantity`` (what the readers compute with) and ``quantity_value`` (what the schema check
accepts, bounded before any arithmetic) share one suffix table and one pattern: on every
quantity within int64 they must give the same exact value.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskgov.kueue.quantity import SUFFIX_FACTORS, parse_quantity, to_amount
from taskgov.kueue.schemas.checks import INT64_MAX, quantity_value

SUFFIXES = sorted(SUFFIX_FACTORS)


@given(
    mantissa=st.integers(min_value=0, max_value=10**6),
    fraction=st.sampled_from(["", ".5", ".25", ".125"]),
    suffix=st.sampled_from(SUFFIXES),
)
def test_quantity_check_and_reader_agree(mantissa: int, fraction: str, suffix: str) -> None:
    text = f"{mantissa}{fraction}{suffix}"
    value = parse_quantity(text)
    if value <= INT64_MAX:
        assert quantity_value(text) == value
    else:
        assert quantity_value(text) == f"{text!r} is out of range (at most {INT64_MAX})"


@pytest.mark.parametrize(
    ("text", "want_value", "want_cpu_millis"),
    [
        pytest.param("500m", Decimal("0.5"), 500, id="millicores"),
        pytest.param("64Gi", Decimal(64 * 2**30), 64 * 2**30 * 1000, id="a binary suffix"),
        pytest.param("1n", Decimal("1e-9"), 1, id="a nano quantity rounds up to one milli"),
        pytest.param("3u", Decimal("3e-6"), 1, id="a micro quantity rounds up to one milli"),
        pytest.param("1.5e3k", Decimal("1.5e6"), 1_500_000_000, id="an exponent and a suffix"),
    ],
)
def test_quantity_suffixes_as_kubernetes_reads_them(
    text: str, want_value: Decimal, want_cpu_millis: int
) -> None:
    assert (quantity_value(text), parse_quantity(text), to_amount("cpu", text)) == (
        want_value,
        want_value,
        want_cpu_millis,
    )


def test_an_out_of_range_quantity_is_refused_before_any_arithmetic() -> None:
    assert quantity_value("1e999999999") == (
        "'1e999999999' is out of range (at most 9223372036854775807)"
    )
