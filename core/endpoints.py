"""Week-24 and cumulative renal response per patient, from long-format lab rows.

The lab file is the statistician's view of the data: one row per result with
the columns ``patient_id, sex, week, analyte, value, unit, uln, uti``
(analytes ``urine_protein_24h, urine_rbc, urine_wbc, urine_casts,
serum_albumin, serum_creatinine``; ``uln`` is the result's own upper limit in
the row's unit and may be empty; ``uti`` is yes/no and may be empty). The
export writes this format and ``python -m bot endpoints`` reads it back, so the
numbers coordinators see can be re-derived by anyone from the file alone.

Rules: the response rules of :mod:`core.response` (docs/registry-record.txt, outcome
measures; docs/clinical-facts.md §3), each later week against the baseline.

What the file may hold beyond what the export writes (a file from the site's
laboratory system), each a choice:

- negative weeks: screening results before day 0, the baseline when week 0
  is missing (:func:`core.response.baseline_week`, protocol option
  ``baseline_when_week0_missing``);
- a 24-hour urine protein below the detection limit, ``<0.1`` in the value
  column: read as below 0.1 (:attr:`core.response.RenalPanel.protein_below_limit`);
- urine WBC counted per µL by an analyser (:data:`core.units.LAB_FILE_RANGES`):
  read, and the sediment is not evaluable from it (the protocol's WBC
  threshold is per high-power field, docs/clinical-facts.md §3);
- a row that cannot be read: named with its line, and its patient is left out
  (a missing row could change the class), while every other patient is
  derived (:func:`read_lab_file`).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.messages import N_, RuleError
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
from core.units import LAB_FILE_RANGES, Analyte, CastKind, Quantity, parse_casts, parse_quantity

COLUMNS = ("patient_id", "sex", "week", "analyte", "value", "unit", "uln", "uti")
RENAL_ANALYTES = (
    "urine_protein_24h",
    "urine_rbc",
    "urine_wbc",
    "urine_casts",
    "serum_albumin",
    "serum_creatinine",
)
_PANEL_FIELD = {
    "urine_protein_24h": "protein",
    "urine_rbc": "rbc",
    "urine_wbc": "wbc",
    "serum_albumin": "albumin",
    "serum_creatinine": "creatinine",
}
_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否", ""}
# A result reported only as below the laboratory's detection limit: "<0.1".
_BELOW = "<"


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that cannot be read: its line in the file, its patient if known, and why.

    ``error`` is a translatable refusal; ``message`` is its English text.
    """

    line: int
    error: RuleError
    patient_id: str | None = None

    @property
    def message(self) -> str:
        return str(self.error)


class LabFileError(ValueError):
    """The lab file has rows that cannot be read; every one is listed."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("\n".join(f"line {e.line}: {e.message}" for e in errors))


@dataclass(slots=True)
class _PanelDraft:
    values: dict[str, Quantity] = field(default_factory=dict)
    casts: frozenset[CastKind] | None = None
    uln: Quantity | None = None
    uti: bool = False
    protein_below_limit: bool = False
    lines: dict[str, int] = field(default_factory=dict)

    def panel(self) -> RenalPanel:
        return RenalPanel(
            protein=self.values.get("protein"),
            rbc=self.values.get("rbc"),
            wbc=self.values.get("wbc"),
            casts=self.casts,
            albumin=self.values.get("albumin"),
            creatinine=self.values.get("creatinine"),
            creatinine_uln=self.uln,
            uti=self.uti,
            protein_below_limit=self.protein_below_limit,
        )


@dataclass(frozen=True, slots=True)
class PatientEndpoints:
    """One patient's assessments and the endpoint derived from them.

    ``baseline_week`` is the week the assessments were compared with: 0, a
    screening week (negative) when week 0 is missing, or None (no baseline).
    """

    patient_id: str
    sex: Sex
    assessments: Mapping[int, Assessment]
    result: EndpointResult
    baseline_week: int | None = 0


@dataclass(frozen=True, slots=True)
class LabFileEndpoints:
    """What a lab file gives: the patients derived, and the rows that could not be read.

    ``not_derived`` maps each patient left out to the lines of their unreadable rows.
    """

    patients: list[PatientEndpoints]
    errors: list[RowError]
    not_derived: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class _Row:
    patient: str
    sex: Sex
    week: int
    analyte: str
    value: str
    unit: str
    uln: str
    uti: bool


def _parse_row(row: Mapping[str, str | None]) -> _Row:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    patient = cell("patient_id")
    if not patient:
        raise RuleError(N_("patient_id is empty"))
    try:
        sex = Sex(cell("sex").upper())
    except ValueError:
        raise RuleError(N_("sex must be F or M, got {got}"), got=repr(cell("sex"))) from None
    try:
        week = int(cell("week").lower().removeprefix("w"))
    except ValueError:
        raise RuleError(
            N_("week must be a whole number, got {got}"), got=repr(cell("week"))
        ) from None
    analyte = cell("analyte")
    if analyte not in RENAL_ANALYTES:
        raise RuleError(
            N_("analyte must be one of {names}, got {got}"),
            names=", ".join(RENAL_ANALYTES),
            got=repr(analyte),
        )
    uti_text = cell("uti").lower()
    if uti_text not in _YES | _NO:
        raise RuleError(N_("uti must be yes, no or empty, got {got}"), got=repr(cell("uti")))
    return _Row(
        patient, sex, week, analyte, cell("value"), cell("unit"), cell("uln"), uti_text in _YES
    )


def _patient_of(row: Mapping[str, str | None]) -> str | None:
    return (row.get("patient_id") or "").strip() or None


def _read_value(draft: _PanelDraft, row: _Row) -> None:
    if row.analyte == "urine_casts":
        draft.casts = parse_casts(row.value)
        return
    analyte = Analyte(row.analyte)
    value = unicodedata.normalize("NFKC", row.value)
    below = analyte is Analyte.URINE_PROTEIN_24H and value.startswith(_BELOW)
    if below:
        value = value.removeprefix(_BELOW)
    quantity = parse_quantity(analyte, f"{value} {row.unit}", LAB_FILE_RANGES)
    draft.values[_PANEL_FIELD[row.analyte]] = quantity
    draft.protein_below_limit = draft.protein_below_limit or below
    if analyte is Analyte.SERUM_CREATININE and row.uln:
        draft.uln = parse_quantity(analyte, f"{row.uln} {row.unit}", LAB_FILE_RANGES)


def _read_row(line: int, row: _Row, drafts: dict[str, dict[int, _PanelDraft]]) -> None:
    draft = drafts[row.patient].setdefault(row.week, _PanelDraft())
    if row.analyte in draft.lines:
        raise RuleError(
            N_("a second {name} for {patient} at week {week} (first on line {first_line})"),
            name=row.analyte,
            patient=row.patient,
            week=row.week,
            first_line=draft.lines[row.analyte],
        )
    _read_value(draft, row)
    draft.lines[row.analyte] = line
    draft.uti = draft.uti or row.uti


def read_lab_file(
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    options: ResponseOptions | None = None,
) -> LabFileEndpoints:
    """Each readable patient's assessments and endpoint classes, and every unreadable row.

    ``rows`` pairs each row with its line number in the file. A row that
    cannot be read is named with its line and why (all of them, so a
    statistician fixes the file in one pass); its patient is left out, since
    the missing result could change the class, and every other patient is
    derived. Each later week is compared with the baseline
    (:func:`core.response.baseline_week`: week 0, else the latest screening
    week under the protocol option); a patient without one is not evaluable
    where the PR clauses need it.
    Source: docs/clinical-facts.md §3 (the rules); the module docstring (the choices).
    """
    opts = options or ResponseOptions()
    drafts: dict[str, dict[int, _PanelDraft]] = defaultdict(dict)
    sexes: dict[str, tuple[Sex, int]] = {}
    errors: list[RowError] = []
    for line, raw in rows:
        try:
            row = _parse_row(raw)
            first = sexes.setdefault(row.patient, (row.sex, line))
            if first[0] != row.sex:
                raise RuleError(
                    N_("sex {sex} for {patient} differs from {first} on line {first_line}"),
                    sex=str(row.sex),
                    patient=row.patient,
                    first=str(first[0]),
                    first_line=first[1],
                )
            _read_row(line, row, drafts)
        except RuleError as exc:
            errors.append(RowError(line, exc, _patient_of(raw)))

    lines_of: dict[str, list[int]] = defaultdict(list)
    for error in errors:
        if error.patient_id is not None:
            lines_of[error.patient_id].append(error.line)
    out: list[PatientEndpoints] = []
    for patient in sorted(drafts):
        if patient in lines_of:
            continue
        sex = sexes[patient][0]
        panels = {week: draft.panel() for week, draft in drafts[patient].items()}
        assessments = assess_weeks(panels, sex, opts)
        out.append(
            PatientEndpoints(
                patient,
                sex,
                assessments,
                week24_and_cumulative(assessments, opts),
                baseline_week(panels, opts),
            )
        )
    not_derived = {patient: tuple(lines) for patient, lines in sorted(lines_of.items())}
    return LabFileEndpoints(out, errors, not_derived)


def derive_endpoints(
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    options: ResponseOptions | None = None,
) -> list[PatientEndpoints]:
    """Each patient's assessments against the baseline, and the week-24 and cumulative class.

    As :func:`read_lab_file`, for a file that must be whole (the export read
    back): any unreadable row raises :class:`LabFileError` listing every one.
    """
    read = read_lab_file(rows, options)
    if read.errors:
        raise LabFileError(read.errors)
    return read.patients
