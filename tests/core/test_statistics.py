"""Exact binomial intervals and quartiles (core.statistics)."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.statistics import clopper_pearson, proportion, quantile, spread


def _reference(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """An independent Clopper-Pearson: float bisection on the binomial tails."""

    def cdf(x: int, p: float) -> float:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(x + 1))

    def solve(f: object, increasing: bool) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(200):
            mid = (lo + hi) / 2
            value = f(mid)  # type: ignore[operator]
            if (value > alpha / 2) == increasing:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    low = 0.0 if k == 0 else solve(lambda p: 1 - cdf(k - 1, p), increasing=True)
    high = 1.0 if k == n else solve(lambda p: cdf(k, p), increasing=False)
    return low, high


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Published values (e.g. R binom.test, rounded to 4 places).
        (3, 10, "0.0667", "0.6525"),
        (0, 15, "0.0000", "0.2180"),
        (15, 15, "0.7820", "1.0000"),
        (7, 15, "0.2127", "0.7341"),
        (1, 4, "0.0063", "0.8059"),
        (2, 4, "0.0676", "0.9324"),
        (5, 30, "0.0564", "0.3472"),
    ],
)
def test_clopper_pearson_known_values(k: int, n: int, low: str, high: str) -> None:
    interval = clopper_pearson(k, n)
    assert interval.low.quantize(Decimal("0.0001")) == Decimal(low)
    assert interval.high.quantize(Decimal("0.0001")) == Decimal(high)


@pytest.mark.parametrize("n", [1, 2, 7, 15, 30])
def test_clopper_pearson_closed_forms_at_the_edges(n: int) -> None:
    # k = 0: upper = 1 - (alpha/2)^(1/n); k = n: lower = (alpha/2)^(1/n).
    edge = Decimal(repr(0.025 ** (1 / n))).quantize(Decimal("0.000001"))
    assert clopper_pearson(0, n).high == Decimal(1) - edge
    assert clopper_pearson(n, n).low == edge
    assert clopper_pearson(0, n).low == 0
    assert clopper_pearson(n, n).high == 1


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=30).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_clopper_pearson_matches_an_independent_computation(kn: tuple[int, int]) -> None:
    k, n = kn
    interval = clopper_pearson(k, n)
    low, high = _reference(k, n)
    assert abs(float(interval.low) - low) < 2e-6
    assert abs(float(interval.high) - high) < 2e-6
    # Symmetry: the interval of n - k is the mirror image.
    mirror = clopper_pearson(n - k, n)
    assert interval.low + mirror.high == 1
    assert interval.high + mirror.low == 1


@pytest.mark.parametrize(("k", "n"), [(-1, 3), (4, 3), (0, 0)])
def test_clopper_pearson_refuses_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="must"):
        clopper_pearson(k, n)


def test_a_99_percent_interval_is_wider() -> None:
    ninety_five = clopper_pearson(3, 10)
    ninety_nine = clopper_pearson(3, 10, Decimal("0.99"))
    assert ninety_nine.low < ninety_five.low
    assert ninety_nine.high > ninety_five.high


def test_proportion_percentages_and_empty_denominator() -> None:
    p = proportion(2, 3)
    assert p.percent() == Decimal("66.7")
    assert p.interval_percent() == (Decimal("9.4"), Decimal("99.2"))
    empty = proportion(0, 0)
    assert empty.percent() is None
    assert empty.interval is None
    with pytest.raises(ValueError, match="count must be 0"):
        proportion(1, 0)


@pytest.mark.parametrize(
    ("values", "median", "q1", "q3"),
    [
        ([5], "5", "5", "5"),
        ([1, 2, 3, 4], "2.5", "1.75", "3.25"),
        ([-14, -8, 0], "-8", "-11", "-4"),
        ([-14, -8, -8, 0], "-8", "-9.5", "-6"),
        ([0, 10, 20, 30, 40], "20", "10", "30"),
    ],
)
def test_spread_by_hand(values: list[int], median: str, q1: str, q3: str) -> None:
    s = spread(values)
    assert (s.n, s.median, s.q1, s.q3) == (len(values), Decimal(median), Decimal(q1), Decimal(q3))


def test_spread_of_nothing() -> None:
    assert spread([]).median is None


@settings(max_examples=80, deadline=None)
@given(st.lists(st.decimals(min_value=-500, max_value=500, places=2), min_size=2, max_size=40))
def test_quartiles_equal_python_inclusive_method(values: list[Decimal]) -> None:
    s = spread(values)
    q1, median, q3 = statistics.quantiles(sorted(values), n=4, method="inclusive")
    assert (s.q1, s.median, s.q3) == (q1, median, q3)
    assert s.median == statistics.median(values)


def test_quantile_bounds() -> None:
    ordered = [Decimal(1), Decimal(3)]
    assert quantile(ordered, Fraction(0)) == 1
    assert quantile(ordered, Fraction(1)) == 3
    with pytest.raises(ValueError, match="no values"):
        quantile([], Fraction(1, 2))
