"""CD20 counts: change from baseline, only between counts of the same kind."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.cd20 import cd20_change
from core.units import Quantity, Unit


def q(value: str, unit: Unit = Unit.PER_UL) -> Quantity:
    return Quantity(Decimal(value), unit)


@pytest.mark.parametrize(
    ("baseline", "later", "change", "percent"),
    [
        (q("150"), q("120"), Decimal("-30"), Decimal("-20.0")),
        (q("120"), q("150"), Decimal("30"), Decimal("25.0")),
        (q("3"), q("1"), Decimal("-2"), Decimal("-66.7")),  # rounded for display only
        (q("8", Unit.PERCENT), q("0.5", Unit.PERCENT), Decimal("-7.5"), Decimal("-93.8")),
        (q("120"), q("120"), Decimal("0"), Decimal("0.0")),
    ],
)
def test_change_and_percent(
    baseline: Quantity, later: Quantity, change: Decimal, percent: Decimal
) -> None:
    result = cd20_change(baseline, later)
    assert result.comparable
    assert result.change == change
    assert result.percent == percent


def test_counts_per_ul_and_percentages_are_never_compared() -> None:
    result = cd20_change(q("150"), q("8", Unit.PERCENT))
    assert not result.comparable
    assert result.change is None
    assert result.percent is None


def test_a_zero_baseline_has_a_change_but_no_percentage() -> None:
    result = cd20_change(q("0"), q("5"))
    assert result.change == Decimal("5")
    assert result.percent is None


@given(
    st.decimals(min_value=0, max_value=5000, places=1),
    st.decimals(min_value=0, max_value=5000, places=1),
)
def test_the_change_is_exact(baseline: Decimal, later: Decimal) -> None:
    result = cd20_change(q(str(baseline)), q(str(later)))
    assert result.change is not None
    assert result.baseline.value + result.change == result.later.value
