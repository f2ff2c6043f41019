"""Descriptive statistics for the trial summary: proportions with exact intervals, quartiles.

Pure and exact: no binary floats, no scipy. Two methods, each a named,
documented choice so the statistician can reproduce every number shown:

- **Exact (Clopper-Pearson) confidence interval** for a binomial proportion
  k / n. The lower bound is the p with P(X >= k | n, p) = alpha / 2 (0 when
  k = 0) and the upper bound the p with P(X <= k | n, p) = alpha / 2 (1 when
  k = n), alpha = 1 - confidence. These are the beta-distribution quantiles
  Beta(alpha/2; k, n-k+1) and Beta(1-alpha/2; k+1, n-k) usually quoted; here
  they are found by bisection on the binomial distribution function summed in
  60-digit decimal arithmetic (no binary floats), to a bracket 10^4 times
  narrower than the last place returned.
  Source: Clopper CJ, Pearson ES. "The use of confidence or fiducial limits
  illustrated in the case of the binomial." Biometrika 1934;26:404-413.
- **Quartiles** by linear interpolation between order statistics, Hyndman and
  Fan's definition 7: the p-quantile of sorted x_1..x_N is
  x_(j) + g (x_(j+1) - x_(j)) with h = (N - 1) p, j = floor(h) + 1, g = h - floor(h).
  This is Python's ``statistics.quantiles(..., method="inclusive")``, R's
  default ``quantile(type = 7)``, numpy's default and Excel's QUARTILE.INC;
  the median is the usual median. A single value is its own median and
  quartiles. Arithmetic is :class:`~decimal.Decimal`, exact because g is a
  multiple of 1/4.
  Source: Hyndman RJ, Fan Y. "Sample quantiles in statistical packages."
  The American Statistician 1996;50:361-365.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from math import floor

__all__ = [
    "Interval",
    "Proportion",
    "Spread",
    "clopper_pearson",
    "proportion",
    "quantile",
    "spread",
]

_NINETY_FIVE = Decimal("0.95")


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval for a proportion, bounds between 0 and 1."""

    low: Decimal
    high: Decimal


def _check_counts(successes: int, trials: int) -> None:
    if trials < 1:
        raise ValueError("trials must be at least 1")
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")


_PRECISION = 60  # significant digits for the binomial sums: far beyond any rounding shown


def _at_most(k: int, n: int, p: Decimal) -> Decimal:
    """P(X <= k) for X ~ Binomial(n, p), summed term by term:
    t_0 = (1 - p)^n, t_(i+1) = t_i (n - i) / (i + 1) x p / (1 - p)."""
    if k < 0:
        return Decimal(0)
    q = 1 - p
    term = q**n
    total = term
    ratio = p / q
    for i in range(min(k, n)):
        term = term * (n - i) / (i + 1) * ratio
        total += term
    return total


def _solve(n: int, target: Decimal, k: int, step: Decimal, *, upper: bool) -> Decimal:
    """Bisection for the bound where the binomial tail equals ``target``.

    Upper bound: P(X <= k) falls as p rises. Lower bound: P(X >= k) =
    1 - P(X <= k - 1) rises with p. Stops when the bracket is narrower than
    ``step``; returns its midpoint.
    """
    lo, hi = Decimal(0), Decimal(1)
    while hi - lo > step:
        mid = (lo + hi) / 2
        tail = _at_most(k, n, mid) if upper else 1 - _at_most(k - 1, n, mid)
        # The root is left of mid where the tail has already passed the target.
        if (tail < target) if upper else (tail > target):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _decimal(value: Fraction, places: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    return _round(exact, places)


def clopper_pearson(
    successes: int, trials: int, confidence: Decimal = _NINETY_FIVE, places: int = 6
) -> Interval:
    """The exact (Clopper-Pearson) two-sided confidence interval for successes / trials.

    Rule: lower bound L solves P(X >= k | n, L) = alpha/2 (L = 0 when k = 0);
    upper bound U solves P(X <= k | n, U) = alpha/2 (U = 1 when k = n), with
    alpha = 1 - ``confidence``. Bounds are rounded half-up to ``places``
    decimals (default 6). Examples: 3/10 -> 0.066739-0.652453;
    0/15 -> 0-0.218019; 15/15 -> 0.781981-1.
    Source: Clopper and Pearson, Biometrika 1934 (see the module docstring).
    """
    _check_counts(successes, trials)
    if not Decimal(0) < confidence < Decimal(1):
        raise ValueError("confidence must be between 0 and 1")
    if places < 1:
        raise ValueError("places must be at least 1")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        half_alpha = (1 - confidence) / 2
        # A bracket far narrower than the rounding step of the result.
        step = Decimal(1).scaleb(-(places + 4))
        low = (
            Decimal(0)
            if successes == 0
            else _solve(trials, half_alpha, successes, step, upper=False)
        )
        high = (
            Decimal(1)
            if successes == trials
            else _solve(trials, half_alpha, successes, step, upper=True)
        )
    return Interval(_round(low, places), _round(high, places))


@dataclass(frozen=True, slots=True)
class Proportion:
    """``count`` of ``n``: the fraction, and its exact confidence interval.

    ``fraction`` and ``interval`` are None when ``n`` is 0 (nothing to estimate).
    """

    count: int
    n: int
    fraction: Decimal | None
    interval: Interval | None
    confidence: Decimal = _NINETY_FIVE

    def percent(self, places: int = 1) -> Decimal | None:
        """The fraction as a percentage, rounded half-up to ``places`` decimals."""
        if self.fraction is None:
            return None
        return _percent(Fraction(self.count, self.n), places)

    def interval_percent(self, places: int = 1) -> tuple[Decimal, Decimal] | None:
        """The interval's bounds as percentages, rounded half-up to ``places`` decimals."""
        if self.interval is None:
            return None
        return (
            _percent(Fraction(self.interval.low), places),
            _percent(Fraction(self.interval.high), places),
        )


def _percent(value: Fraction, places: int) -> Decimal:
    return _decimal(value * 100, places)


def proportion(count: int, n: int, confidence: Decimal = _NINETY_FIVE) -> Proportion:
    """``count`` / ``n`` with its exact (Clopper-Pearson) interval; n = 0 gives no estimate.

    Rule: :func:`clopper_pearson` (module docstring). The fraction is kept to
    6 decimals; percentages are rounded for display by :meth:`Proportion.percent`.
    """
    if n == 0:
        if count != 0:
            raise ValueError("count must be 0 when n is 0")
        return Proportion(0, 0, None, None, confidence)
    _check_counts(count, n)
    fraction = _decimal(Fraction(count, n), 6)
    return Proportion(count, n, fraction, clopper_pearson(count, n, confidence), confidence)


def quantile(ordered: list[Decimal], p: Fraction) -> Decimal:
    """The p-quantile of already sorted values by Hyndman-Fan definition 7.

    Rule: h = (N - 1) p; the value at floor(h) plus (h - floor(h)) times the
    step to the next value. Source: Hyndman and Fan 1996; equals Python's
    ``statistics.quantiles(method="inclusive")``.
    """
    if not ordered:
        raise ValueError("quantile of no values")
    if not 0 <= p <= 1:
        raise ValueError("p must be between 0 and 1")
    h = (len(ordered) - 1) * p
    j = floor(h)
    g = h - j
    if g == 0:
        return ordered[j]
    step = ordered[j + 1] - ordered[j]
    return ordered[j] + Decimal(g.numerator) * step / Decimal(g.denominator)


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and interquartile range (first and third quartiles) of ``n`` values.

    Every statistic is None when ``n`` is 0.
    """

    n: int
    median: Decimal | None
    q1: Decimal | None
    q3: Decimal | None


def spread(values: Iterable[Decimal | int]) -> Spread:
    """Median, first and third quartile of ``values`` (Hyndman-Fan definition 7).

    Rule: see :func:`quantile`; quartiles at p = 1/4, 1/2, 3/4. Source: module
    docstring (the quantile method is a choice, stated so it can be reproduced).
    """
    ordered = sorted(Decimal(v) for v in values)
    if not ordered:
        return Spread(0, None, None, None)
    return Spread(
        len(ordered),
        quantile(ordered, Fraction(1, 2)),
        quantile(ordered, Fraction(1, 4)),
        quantile(ordered, Fraction(3, 4)),
    )
