"""What the charts draw, as numbers: proteinuria over weeks, one lane per patient, one
patient's renal values against baseline.

Pure: takes the records and the endpoints (as derived from the exported lab
file, :func:`core.tables.lab_file.derive_trial_endpoints`) and returns points;
drawing them is the bot's job (matplotlib). Values are the panels the
response rules read (:func:`core.tables.lab_file.renal_weeks`), converted
exactly to one unit per chart (g/24h, g/L, µmol/L; docs/clinical-facts.md §4)
so lines are comparable. Time on study is days since day 0 divided by 7
(docs/clinical-facts.md §1: weeks count from day 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.endpoints import PatientEndpoints
from core.response import ResponseClass, ResponseOptions
from core.tables.lab_file import renal_weeks
from core.trial_records import PatientRecord, TrialData
from core.units import Quantity, Unit, canonical, to_unit

__all__ = [
    "Lane",
    "PatientSeries",
    "ProteinSeries",
    "patient_series",
    "protein_series",
    "swimmer_lanes",
    "weeks_since",
]

Point = tuple[int, Decimal]


def weeks_since(day0: date, day: date) -> Decimal:
    """Time on study in weeks: (day - day 0) / 7, to 0.01 week (display only)."""
    return (Decimal((day - day0).days) / 7).quantize(Decimal("0.01"))


def _in(q: Quantity | None, unit: Unit) -> Decimal | None:
    return None if q is None else to_unit(canonical(q), unit).value


@dataclass(frozen=True, slots=True)
class ProteinSeries:
    """One patient's 24-hour urine protein (g/24h) at each week with a result."""

    study_id: str
    arm: str
    points: tuple[Point, ...]


def protein_series(data: TrialData) -> list[ProteinSeries]:
    """Every patient's 24-hour urine protein in g/24h by week, sorted by arm and study ID.

    Rule: the week's panel value (a later entry corrects an earlier one),
    mg/24h converted to g/24h exactly (docs/clinical-facts.md §4).
    """
    points: dict[int, list[Point]] = {}
    for week in renal_weeks(data.labs):
        value = _in(week.panel.protein, Unit.G_PER_24H)
        if value is not None:
            points.setdefault(week.patient_id, []).append((week.week, value))
    return [
        ProteinSeries(p.study_id, p.arm, tuple(points.get(p.id, ())))
        for p in sorted(data.patients, key=lambda p: (p.arm, p.study_id))
    ]


@dataclass(frozen=True, slots=True)
class PatientSeries:
    """One patient's protein (g/24h), albumin (g/L) and creatinine (µmol/L) by week, with
    the week-0 value of each (None without one) and the creatinine upper limit used."""

    study_id: str
    protein: tuple[Point, ...]
    albumin: tuple[Point, ...]
    creatinine: tuple[Point, ...]
    baseline_protein: Decimal | None
    baseline_albumin: Decimal | None
    baseline_creatinine: Decimal | None
    creatinine_uln: Decimal


def patient_series(
    data: TrialData, patient: PatientRecord, options: ResponseOptions | None = None
) -> PatientSeries:
    """A patient's renal values in one unit each, and their baselines (week 0).

    Rule: units as in :func:`protein_series`; albumin in g/L (g/dL x 10),
    creatinine in µmol/L (mg/dL x 88.4), docs/clinical-facts.md §4. The
    creatinine upper limit is the latest one printed with a result, else the
    protocol's default for the patient's sex (core.response).
    """
    opts = options or ResponseOptions()
    series: dict[str, list[Point]] = {"protein": [], "albumin": [], "creatinine": []}
    uln: Decimal | None = None
    for week in renal_weeks(data.labs):
        if week.patient_id != patient.id:
            continue
        panel = week.panel
        for name, q, unit in (
            ("protein", panel.protein, Unit.G_PER_24H),
            ("albumin", panel.albumin, Unit.G_PER_L),
            ("creatinine", panel.creatinine, Unit.UMOL_PER_L),
        ):
            value = _in(q, unit)
            if value is not None:
                series[name].append((week.week, value))
        if panel.creatinine_uln is not None:
            uln = _in(panel.creatinine_uln, Unit.UMOL_PER_L)
    if uln is None:
        default = opts.creatinine_uln_female if patient.sex == "F" else opts.creatinine_uln_male
        uln = to_unit(canonical(default), Unit.UMOL_PER_L).value

    def baseline(name: str) -> Decimal | None:
        return next((v for w, v in series[name] if w == 0), None)

    return PatientSeries(
        patient.study_id,
        tuple(series["protein"]),
        tuple(series["albumin"]),
        tuple(series["creatinine"]),
        baseline("protein"),
        baseline("albumin"),
        baseline("creatinine"),
        uln,
    )


@dataclass(frozen=True, slots=True)
class Lane:
    """One patient's lane on the swimmer plot.

    ``length`` is time on study in weeks (up to the endpoint week; 0 before
    day 0); ``infusions`` the weeks of belimumab doses; ``assessments`` each
    renal assessment's week and class (week 0 is the baseline, class None);
    ``adverse_events`` each event's onset week, grade and seriousness.
    """

    study_id: str
    arm: str
    withdrawn: bool
    length: Decimal
    infusions: tuple[Decimal, ...] = field(default=())
    assessments: tuple[tuple[int, ResponseClass | None], ...] = field(default=())
    adverse_events: tuple[tuple[Decimal, int, bool], ...] = field(default=())


def swimmer_lanes(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    today: date,
    endpoint_week: int = 24,
) -> list[Lane]:
    """One lane per patient (sorted by arm, then study ID) over the induction.

    Rule: a lane runs from day 0 to today, at most to the endpoint week;
    infusions are recorded belimumab doses; assessments are the weeks with a
    renal panel, each classed against week 0 (core.response); adverse events
    sit at their onset with their CTCAE grade and ICH E2A seriousness.
    """
    end = Decimal(endpoint_week)
    baselines = {w.patient_id for w in renal_weeks(data.labs) if w.week == 0}
    lanes: list[Lane] = []
    for p in sorted(data.patients, key=lambda p: (p.arm, p.study_id)):
        length = min(max(weeks_since(p.day0, today), Decimal(0)), end)
        infusions = tuple(
            weeks_since(p.day0, d.day)
            for d in data.doses
            if d.patient_id == p.id and d.drug == "belimumab"
        )
        e = endpoints.get(p.study_id)
        assessed: list[tuple[int, ResponseClass | None]] = [(0, None)] if p.id in baselines else []
        if e is not None:
            assessed += [(w, a.cls) for w, a in sorted(e.assessments.items()) if w <= endpoint_week]
        events = tuple(
            (weeks_since(p.day0, ae.onset_date), ae.grade, ae.serious)
            for ae in data.adverse_events
            if ae.patient_id == p.id
        )
        lanes.append(
            Lane(p.study_id, p.arm, p.withdrawn, length, infusions, tuple(assessed), events)
        )
    return lanes
