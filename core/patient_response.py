"""A patient's renal response over the weeks, from stored lab rows.

``core.renal_panel`` reads one assessment's stored results into a
:class:`~core.response.RenalPanel`; this module groups a patient's rows by
protocol week, classifies every week after baseline against week 0 and
derives the week-24 and cumulative classes, as :mod:`core.endpoints` does for
a lab file, so ``/status`` and the statistician's export agree.

Rules: :mod:`core.response` (docs/registry-record.txt, outcome measures;
docs/clinical-facts.md §3); each later week against week 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from core.renal_panel import RENAL_ANALYTES, StoredResult, weekly_panels
from core.response import (
    Assessment,
    EndpointResult,
    RenalPanel,
    ResponseOptions,
    Sex,
    assess_weeks,
    baseline_week,
    week24_and_cumulative,
)

__all__ = [
    "RENAL_ANALYTES",
    "LabRow",
    "PatientResponse",
    "patient_response",
]


@dataclass(frozen=True, slots=True)
class LabRow:
    """One stored renal lab result of a patient at a protocol week."""

    patient_id: int
    week: int
    result: StoredResult


@dataclass(frozen=True, slots=True)
class PatientResponse:
    """Each week's panel, each assessed week's class against baseline, the endpoint
    classes, and the weeks whose stored rows could not be read."""

    baseline: RenalPanel | None
    panels: Mapping[int, RenalPanel]
    assessments: Mapping[int, Assessment]
    result: EndpointResult
    unreadable_weeks: tuple[int, ...] = field(default=())

    @property
    def last_week(self) -> int | None:
        """The latest week assessed against baseline (None: baseline only, or nothing)."""
        return max(self.assessments, default=None)


def patient_response(
    rows: Iterable[LabRow], sex: Sex, options: ResponseOptions | None = None
) -> PatientResponse:
    """Classify every week after baseline against week 0, and the endpoint classes.

    Rule: a week's rows (oldest first) make its panel
    (``core.renal_panel.weekly_panels``: the latest row of an analyte
    counts); ``core.response.assess_weeks`` compares each week > 0 with the
    baseline panel (``core.response.baseline_week``: week 0, or a screening
    week when week 0 is missing; an empty panel when there is none, so the PR
    clauses are not evaluable); ``core.response.week24_and_cumulative`` gives the
    class at the endpoint week and the cumulative class. A week whose rows
    cannot be read is left out and named in ``unreadable_weeks``, so a bad
    row shows as missing data, never as a wrong class.
    Source: docs/registry-record.txt (outcome measures); docs/clinical-facts.md §3.
    """
    opts = options or ResponseOptions()
    panels, unreadable = weekly_panels((row.week, row.result) for row in rows)
    assessments = assess_weeks(panels, sex, opts)
    week0 = baseline_week(panels, opts)
    return PatientResponse(
        None if week0 is None else panels[week0],
        MappingProxyType(panels),
        MappingProxyType(assessments),
        week24_and_cumulative(assessments, opts),
        unreadable,
    )
