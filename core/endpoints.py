"""Week-24 and cumulative renal response per patient, from long-format lab rows.

The lab file is the statistician's view of the data: one row per result with
the columns ``patient_id, sex, week, analyte, value, unit, uln, uti``
(analytes ``urine_protein_24h, urine_rbc, urine_wbc, urine_casts,
serum_albumin, serum_creatinine``; ``uln`` is the result's own upper limit in
the row's unit and may be empty; ``uti`` is yes/no and may be empty). The
export writes this format and ``python -m bot endpoints`` reads it back, so the
numbers coordinators see can be re-derived by anyone from the file alone.

Rules: the response rules of :mod:`core.response` (docs/registry-record.txt, outcome
measures; docs/clinical-facts.md §3), each later week against week 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.messages import RuleError
from core.response import (
    Assessment,
    EndpointResult,
    RenalPanel,
    ResponseOptions,
    Sex,
    assess_weeks,
    week24_and_cumulative,
)
from core.units import Analyte, CastKind, Quantity, parse_casts, parse_quantity

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


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that cannot be read: its line in the file and why."""

    line: int
    message: str


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
        )


@dataclass(frozen=True, slots=True)
class PatientEndpoints:
    """One patient's assessments and the endpoint derived from them."""

    patient_id: str
    sex: Sex
    assessments: Mapping[int, Assessment]
    result: EndpointResult


def _read_row(
    line: int, row: Mapping[str, str | None], drafts: dict[str, dict[int, _PanelDraft]]
) -> tuple[str, Sex]:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    patient = cell("patient_id")
    if not patient:
        raise ValueError("patient_id is empty")
    try:
        sex = Sex(cell("sex").upper())
    except ValueError:
        raise ValueError(f"sex must be F or M, got {cell('sex')!r}") from None
    try:
        week = int(cell("week").lower().removeprefix("w"))
    except ValueError:
        raise ValueError(f"week must be a whole number, got {cell('week')!r}") from None
    if week < 0:
        raise ValueError(f"week must not be negative, got {week}")
    analyte = cell("analyte")
    if analyte not in RENAL_ANALYTES:
        raise ValueError(f"analyte must be one of {', '.join(RENAL_ANALYTES)}, got {analyte!r}")
    uti_text = cell("uti").lower()
    if uti_text not in _YES | _NO:
        raise ValueError(f"uti must be yes, no or empty, got {cell('uti')!r}")

    draft = drafts[patient].setdefault(week, _PanelDraft())
    if analyte in draft.lines:
        first_line = draft.lines[analyte]
        raise ValueError(
            f"a second {analyte} for {patient} at week {week} (first on line {first_line})"
        )
    draft.lines[analyte] = line
    draft.uti = draft.uti or uti_text in _YES
    try:
        if analyte == "urine_casts":
            draft.casts = parse_casts(cell("value"))
        else:
            text = f"{cell('value')} {cell('unit')}"
            draft.values[_PANEL_FIELD[analyte]] = parse_quantity(Analyte(analyte), text)
            if analyte == "serum_creatinine" and cell("uln"):
                draft.uln = parse_quantity(Analyte(analyte), f"{cell('uln')} {cell('unit')}")
    except RuleError as exc:
        raise ValueError(str(exc)) from None
    return patient, sex


def derive_endpoints(
    rows: Iterable[tuple[int, Mapping[str, str | None]]],
    options: ResponseOptions | None = None,
) -> list[PatientEndpoints]:
    """Each patient's assessments against week 0, and the week-24 and cumulative class.

    ``rows`` pairs each row with its line number in the file. Every unreadable
    row is collected and reported together in :class:`LabFileError`, so a
    statistician fixes the file in one pass. A patient without week-0 results
    has no baseline: each later week is then not evaluable where the PR
    clauses need it.
    """
    opts = options or ResponseOptions()
    drafts: dict[str, dict[int, _PanelDraft]] = defaultdict(dict)
    sexes: dict[str, tuple[Sex, int]] = {}
    errors: list[RowError] = []
    for line, row in rows:
        try:
            patient, sex = _read_row(line, row, drafts)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        first = sexes.setdefault(patient, (sex, line))
        if first[0] != sex:
            errors.append(
                RowError(
                    line, f"sex {sex} for {patient} differs from {first[0]} on line {first[1]}"
                )
            )
    if errors:
        raise LabFileError(errors)

    out: list[PatientEndpoints] = []
    for patient in sorted(drafts):
        sex = sexes[patient][0]
        panels = {week: draft.panel() for week, draft in drafts[patient].items()}
        assessments = assess_weeks(panels, sex, opts)
        out.append(
            PatientEndpoints(patient, sex, assessments, week24_and_cumulative(assessments, opts))
        )
    return out
