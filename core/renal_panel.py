"""A renal assessment's panel from stored lab results: complete or not, and as a RenalPanel.

Staff enter a week's renal results in any order and any number of messages
(``/labs ... (any subset)``); the response is computed "when a renal
assessment's panel is complete". This module is the one reading of stored
rows for that:

- the six analytes of a panel are :data:`core.endpoints.RENAL_ANALYTES`
  (24-hour urine protein, urine RBC, urine WBC, cellular casts, serum albumin,
  serum creatinine): the registry's CR and PR definitions need all of them
  (docs/clinical-facts.md §3);
- rows are given in the order they were entered; a later row of the same
  analyte replaces an earlier one (a result entered again with ``/labs``);
  ``/correct`` instead changes the latest row in place, its audit record
  keeping the old value and the reason (:mod:`core.store.corrections`);
- values come back exactly as stored (the entered text and its unit), so the
  response rules compare the numbers staff typed.

Casts are not a number but a ``lab_result`` row holds decimal text, so a
casts row is stored as ``value`` = the number of cellular cast kinds seen
(0, 1 or 2) and ``unit`` = which ones (``none``, ``rbc``, ``wbc``,
``rbc+wbc``): :func:`casts_row` and :func:`casts_from_row` are the two
directions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from core.endpoints import RENAL_ANALYTES
from core.response import RenalPanel
from core.units import CastKind, Quantity, Unit

__all__ = [
    "CASTS",
    "CASTS_UNITS",
    "RENAL_ANALYTES",
    "StoredResult",
    "casts_from_row",
    "casts_row",
    "is_complete",
    "latest_by_analyte",
    "missing_analytes",
    "panel_from_results",
    "weekly_panels",
]

CASTS = "urine_casts"
PROTEIN = "urine_protein_24h"
RBC = "urine_rbc"
WBC = "urine_wbc"
ALBUMIN = "serum_albumin"
CREATININE = "serum_creatinine"

# The unit text of a casts row, for each set of cellular cast kinds.
CASTS_UNITS: Mapping[frozenset[CastKind], str] = {
    frozenset(): "none",
    frozenset({CastKind.RBC}): "rbc",
    frozenset({CastKind.WBC}): "wbc",
    frozenset({CastKind.RBC, CastKind.WBC}): "rbc+wbc",
}
_CASTS_BY_UNIT = {unit: kinds for kinds, unit in CASTS_UNITS.items()}

# Analytes whose value is a sample of urine: a urinary tract infection
# recorded with any of them applies to the urine sediment (docs/clinical-facts.md §3).
URINE_ANALYTES = frozenset({PROTEIN, RBC, WBC, CASTS})


@dataclass(frozen=True, slots=True)
class StoredResult:
    """One stored lab result as the rules need it (a ``lab_result`` row, no ids)."""

    analyte: str
    value: str
    unit: str
    ref_high: str | None = None
    ref_unit: str | None = None
    uti: bool = False
    below_limit: bool = False


def casts_row(kinds: frozenset[CastKind]) -> tuple[str, str]:
    """The ``(value, unit)`` a casts result is stored as: ``("1", "rbc")``, ``("0", "none")``.

    Rule: RBC and WBC cellular casts are what count for active sediment
    (docs/clinical-facts.md §3, ACR 2012), so those two kinds are what is kept.
    """
    return str(len(kinds)), CASTS_UNITS[frozenset(kinds)]


def casts_from_row(value: str, unit: str) -> frozenset[CastKind]:
    """The cast kinds of a stored casts row (the inverse of :func:`casts_row`).

    A row whose count disagrees with its kinds was not written by
    :func:`casts_row`: ValueError.
    """
    kinds = _CASTS_BY_UNIT.get(unit)
    if kinds is None or Decimal(value) != len(kinds):
        raise ValueError(f"not a casts row: value {value!r}, unit {unit!r}")
    return kinds


def latest_by_analyte(results: Iterable[StoredResult]) -> dict[str, StoredResult]:
    """The latest result of each analyte, ``results`` being in the order they were entered.

    Rule: a later entry of the same analyte for the same assessment corrects
    the earlier one; only the latest counts.
    """
    latest: dict[str, StoredResult] = {}
    for result in results:
        latest[result.analyte] = result
    return latest


def missing_analytes(results: Iterable[StoredResult]) -> tuple[str, ...]:
    """The renal analytes not yet entered, in the panel's order.

    SOURCE: docs/clinical-facts.md §3 (CR and PR together need protein, RBC, WBC,
    casts, albumin and creatinine).
    """
    present = set(latest_by_analyte(results))
    return tuple(a for a in RENAL_ANALYTES if a not in present)


def is_complete(results: Iterable[StoredResult]) -> bool:
    """True when all six renal analytes have a result (see :func:`missing_analytes`)."""
    return not missing_analytes(results)


def _quantity(result: StoredResult | None) -> Quantity | None:
    if result is None:
        return None
    return Quantity(Decimal(result.value), Unit(result.unit))


def panel_from_results(results: Iterable[StoredResult]) -> RenalPanel:
    """One assessment's :class:`~core.response.RenalPanel` from its stored results.

    The latest result of each analyte counts (:func:`latest_by_analyte`); a
    missing analyte stays None (its clauses are then not evaluable). The
    creatinine upper limit is the one stored with the creatinine result
    (``ref_high``/``ref_unit``), if any, else None so the protocol default for
    the patient's sex applies. A urinary tract infection recorded with any
    urine result of the panel applies to the sediment ("white cells do not
    count when a urinary tract infection is recorded", docs/clinical-facts.md §3).
    A protein stored as below the detection limit is read as below that value
    (the README's choices table; :func:`core.response.classify`).
    SOURCE: docs/clinical-facts.md §3; docs/registry-record.txt (outcome measures).
    """
    latest = latest_by_analyte(results)
    creatinine = latest.get(CREATININE)
    uln: Quantity | None = None
    if creatinine is not None and creatinine.ref_high is not None:
        uln = Quantity(Decimal(creatinine.ref_high), Unit(creatinine.ref_unit or creatinine.unit))
    casts = latest.get(CASTS)
    protein = latest.get(PROTEIN)
    return RenalPanel(
        protein=_quantity(protein),
        protein_below_limit=protein is not None and protein.below_limit,
        rbc=_quantity(latest.get(RBC)),
        wbc=_quantity(latest.get(WBC)),
        casts=None if casts is None else casts_from_row(casts.value, casts.unit),
        albumin=_quantity(latest.get(ALBUMIN)),
        creatinine=_quantity(creatinine),
        creatinine_uln=uln,
        uti=any(r.uti for a, r in latest.items() if a in URINE_ANALYTES),
    )


def weekly_panels(
    results: Iterable[tuple[int, StoredResult]],
) -> tuple[dict[int, RenalPanel], tuple[int, ...]]:
    """One patient's renal panel per protocol week, and the weeks that cannot be read.

    ``results`` pairs each stored result with its week, in the order they were
    entered; only the renal analytes count. Each week's panel is
    :func:`panel_from_results` over that week's results; a week whose results
    cannot be read is left out of the panels and named in the second value,
    so a bad row shows as missing data, never as a wrong class. The one
    grouping of results into weeks, for the stored data
    (core.patient_response) and the lab file (core.tables.lab_file).
    """
    by_week: dict[int, list[StoredResult]] = {}
    for week, result in results:
        if result.analyte in RENAL_ANALYTES:
            by_week.setdefault(week, []).append(result)
    panels: dict[int, RenalPanel] = {}
    unreadable: list[int] = []
    for week, week_results in sorted(by_week.items()):
        try:
            panels[week] = panel_from_results(week_results)
        except (ValueError, ArithmeticError):
            unreadable.append(week)
    return panels, tuple(unreadable)
