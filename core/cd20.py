"""CD20 B-cell counts: the change from baseline.

The registry record (docs/registry-record.txt) follows "changes" in CD20 B cells by week 24
(docs/clinical-facts.md §2: CD20 B cells at weeks 0, 4, 12, 24). A count is entered
either per µL or as a percentage of lymphocytes (``/cd20 P01 w4
120/uL`` "or % of lymphocytes"). The two are different measures: a change is
computed only between counts in the same unit, never by converting one into
the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.units import Quantity

__all__ = ["Cd20Change", "cd20_change"]

_PERCENT_STEP = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Cd20Change:
    """A later count against the baseline count.

    ``comparable`` is False when the two are in different units; ``change``
    (later - baseline, in their unit) and ``percent`` (the change as a
    percentage of the baseline, rounded half-up to 0.1 for display) are then
    None. ``percent`` is None too when the baseline is 0.
    """

    baseline: Quantity
    later: Quantity
    comparable: bool
    change: Decimal | None
    percent: Decimal | None


def cd20_change(baseline: Quantity, later: Quantity) -> Cd20Change:
    """The change of a CD20 count from its baseline, exactly, in the unit both were counted in.

    Rule: counts per µL and percentages of lymphocytes are not converted into
    each other (different measures), so a pair in different units has no
    change. The difference is exact decimal arithmetic on the entered values;
    the percentage is for display only.
    SOURCE: docs/clinical-facts.md §2 (CD20 "changes" by week 24); the unit rule is our choice.
    """
    if baseline.unit is not later.unit:
        return Cd20Change(baseline, later, comparable=False, change=None, percent=None)
    change = later.value - baseline.value
    percent: Decimal | None = None
    if baseline.value != 0:
        percent = (change * 100 / baseline.value).quantize(_PERCENT_STEP, rounding=ROUND_HALF_UP)
    return Cd20Change(baseline, later, comparable=True, change=change, percent=percent)
