"""The long-format lab file, read back into each patient's endpoints.

The long-format lab file is the one ``python -m bot endpoints --labs`` reads
(:data:`core.endpoints.COLUMNS`). It holds each renal result once, as the
response rules read the store (:func:`core.renal_panel.panel_from_results`): the
latest row for an analyte and week (a later row is a correction); a urinary
tract infection recorded on any result of a week applies to the week's urine;
casts are written as ``none``, ``rbc``, ``wbc`` or ``rbc+wbc``; the
creatinine row carries its own upper limit in the row's unit. Rows without a
protocol week, with a negative week (``/labs`` takes weeks 0 to 24, so the
store holds no screening week to write), or that cannot be read are left out
(the response rules leave them out too). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.endpoints import COLUMNS, PatientEndpoints, derive_endpoints
from core.renal_panel import CASTS, RENAL_ANALYTES, StoredResult, weekly_panels
from core.response import RenalPanel, ResponseOptions
from core.tables.cells import casts_text, plain
from core.trial_records import LabRecord, TrialData
from core.units import CastKind, Quantity, canonical

__all__ = ["RenalWeek", "derive_trial_endpoints", "long_lab_rows", "panel_values", "renal_weeks"]


@dataclass(frozen=True, slots=True)
class RenalWeek:
    """A patient's renal panel of one protocol week, and the stored row behind each value."""

    patient_id: int
    week: int
    panel: RenalPanel
    rows: Mapping[str, LabRecord]


def _stored(record: LabRecord) -> StoredResult:
    return StoredResult(
        record.analyte,
        record.value,
        record.unit,
        record.ref_high,
        record.ref_unit,
        record.uti,
        record.below_limit,
    )


def renal_weeks(labs: Iterable[LabRecord]) -> list[RenalWeek]:
    """Each patient's renal panel per week, as the response rules read the store.

    Rule: :func:`core.renal_panel.panel_from_results` over the week's rows in
    the order they were entered (a later row of an analyte corrects an earlier
    one); rows without a protocol week or with a negative one are left out,
    and so is a week whose rows cannot be read (as
    :func:`core.patient_response.patient_response` does). Sorted by patient
    row id and week.
    """
    by_patient: dict[int, list[tuple[int, LabRecord]]] = {}
    for record in sorted(labs, key=lambda r: (r.entered_at, r.id)):
        if record.analyte not in RENAL_ANALYTES or record.week is None or record.week < 0:
            continue
        by_patient.setdefault(record.patient_id, []).append((record.week, record))
    out: list[RenalWeek] = []
    for patient_id, records in sorted(by_patient.items()):
        panels, _ = weekly_panels((week, _stored(r)) for week, r in records)
        for week, panel in panels.items():
            rows = {r.analyte: r for w, r in records if w == week}
            out.append(RenalWeek(patient_id, week, panel, rows))
    return out


def panel_values(panel: RenalPanel) -> list[tuple[str, Quantity | frozenset[CastKind]]]:
    """The week's values in the file's analyte order, the missing ones left out."""
    values: list[tuple[str, Quantity | frozenset[CastKind] | None]] = [
        ("urine_protein_24h", panel.protein),
        ("urine_rbc", panel.rbc),
        ("urine_wbc", panel.wbc),
        (CASTS, panel.casts),
        ("serum_albumin", panel.albumin),
        ("serum_creatinine", panel.creatinine),
    ]
    return [(name, value) for name, value in values if value is not None]


def long_lab_rows(data: TrialData) -> list[dict[str, str]]:
    """The long-format lab file (``core.endpoints.COLUMNS``), sorted by study ID, week, analyte.

    Rule: one row per value of each week's panel (:func:`renal_weeks`), the
    value written exactly as stored (``0.40`` stays ``0.40``) with its unit as
    a ``core.units.Unit`` code, which ``parse_quantity`` reads back (a protein
    below the detection limit as ``<0.1``, as the file is read); casts as
    ``none``, ``rbc``, ``wbc`` or ``rbc+wbc``; the week's urinary tract
    infection flag on every row of the week; the creatinine row carries its
    own upper limit. When that limit is in another unit than the value, both
    are written in µmol/L (exact: x 88.4), so every comparison is unchanged.
    Source: core.endpoints module docstring (the file format); clinical-facts
    section 4 (the conversion).
    """
    patients = {p.id: p for p in data.patients}
    out: list[dict[str, str]] = []
    for week in renal_weeks(data.labs):
        patient = patients[week.patient_id]
        for analyte, value in panel_values(week.panel):
            row = dict.fromkeys(COLUMNS, "")
            row.update(
                patient_id=patient.study_id,
                sex=patient.sex,
                week=str(week.week),
                analyte=analyte,
                uti="yes" if week.panel.uti else "no",
            )
            if isinstance(value, frozenset):
                row["value"] = casts_text(value)
            else:
                q, uln = value, None
                if analyte == "serum_creatinine" and week.panel.creatinine_uln is not None:
                    uln = week.panel.creatinine_uln
                    if uln.unit is not q.unit:
                        q, uln = canonical(q), canonical(uln)
                below = analyte == "urine_protein_24h" and week.panel.protein_below_limit
                row["value"] = ("<" if below else "") + plain(q.value)
                row["unit"] = q.unit.value
                row["uln"] = "" if uln is None else plain(uln.value)
            out.append(row)
    order = {name: i for i, name in enumerate(RENAL_ANALYTES)}
    return sorted(out, key=lambda r: (r["patient_id"], int(r["week"]), order[r["analyte"]]))


def derive_trial_endpoints(
    data: TrialData, options: ResponseOptions | None = None
) -> dict[str, PatientEndpoints]:
    """Each patient's assessments and endpoint classes, derived from the long-format lab file.

    Rule: :func:`core.endpoints.derive_endpoints` over :func:`long_lab_rows`,
    so what coordinators see is exactly what ``python -m bot endpoints``
    derives from the exported file. Keyed by study ID.
    """
    rows = long_lab_rows(data)
    return {e.patient_id: e for e in derive_endpoints(enumerate(rows, start=2), options)}
