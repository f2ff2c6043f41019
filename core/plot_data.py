"""What the charts draw, as numbers: proteinuria over weeks, one lane per patient, one
patient's renal values against baseline.

Pure: takes the records and the endpoints (as derived from the exported lab
file, :func:`core.tables.lab_file.derive_trial_endpoints`) and returns points;
drawing them is the bot's job (matplotlib). Values are the panels the
response rules read (:func:`core.tables.lab_file.renal_weeks`), converted
exactly to one unit per chart (g/24h, g/L, µmol/L; docs/clinical-facts.md §4)
so lines are comparable. Time on study is days since day 0 divided by 7
(docs/clinical-facts.md §1: weeks count from day 0).

A line is not drawn across a planned assessment week that has no result
(:func:`with_gaps`), so a missing week is seen as missing, not interpolated.
On the swimmer plot a renal assessment that was missed, not done or is
overdue is marked where it was planned (:func:`core.visits.visit_outcome`, as
of the data cut-off), and every recorded infusion of belimumab and of the
methylprednisolone pulse is drawn (docs/registry-record.txt: both are given as
infusions). These are presentation choices; the registry record does not
specify charts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.endpoints import PatientEndpoints
from core.response import ResponseClass, ResponseOptions
from core.schedule import EventKind
from core.tables.lab_file import renal_weeks
from core.trial_records import PatientRecord, TrialData
from core.units import Quantity, Unit, canonical, to_unit
from core.visits import VisitOutcome, visit_outcome

__all__ = [
    "Lane",
    "PatientSeries",
    "ProteinSeries",
    "patient_series",
    "protein_series",
    "swimmer_lanes",
    "weeks_since",
    "with_gaps",
]

Point = tuple[int, Decimal]
#: A point of a drawn line; None is a planned week without a result (the line breaks).
GapPoint = tuple[int, Decimal | None]

#: The visit outcomes the swimmer plot marks on a lane (an assessment that did not happen).
UNMET: frozenset[VisitOutcome] = frozenset(
    {VisitOutcome.MISSED, VisitOutcome.NOT_DONE, VisitOutcome.OVERDUE}
)


def weeks_since(day0: date, day: date) -> Decimal:
    """Time on study in weeks: (day - day 0) / 7, to 0.01 week (display only)."""
    return (Decimal((day - day0).days) / 7).quantize(Decimal("0.01"))


def _in(q: Quantity | None, unit: Unit) -> Decimal | None:
    return None if q is None else to_unit(canonical(q), unit).value


def with_gaps(points: Sequence[Point], planned: Sequence[int]) -> tuple[GapPoint, ...]:
    """``points`` with a None at every planned week between two results that has none.

    Rule: a planned assessment week (the protocol's renal assessment weeks)
    after the first result and before the last one, without a result of its
    own, breaks the line there; weeks before the first or after the last
    result are not drawn at all (not yet reached, or not started).
    """
    if not points:
        return ()
    have = {week for week, _ in points}
    first, last = min(have), max(have)
    gaps: list[GapPoint] = [(w, None) for w in planned if first < w < last and w not in have]
    return tuple(sorted([*points, *gaps], key=lambda point: point[0]))


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
    ``adverse_events`` each event's onset week, grade and seriousness;
    ``pulses`` the weeks of methylprednisolone doses; ``unmet`` each planned
    renal assessment without a result that was missed, not done or is overdue.
    """

    study_id: str
    arm: str
    withdrawn: bool
    length: Decimal
    infusions: tuple[Decimal, ...] = field(default=())
    assessments: tuple[tuple[int, ResponseClass | None], ...] = field(default=())
    adverse_events: tuple[tuple[Decimal, int, bool], ...] = field(default=())
    pulses: tuple[Decimal, ...] = field(default=())
    unmet: tuple[tuple[int, VisitOutcome], ...] = field(default=())


def swimmer_lanes(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    today: date,
    endpoint_week: int = 24,
) -> list[Lane]:
    """One lane per patient (sorted by arm, then study ID) over the induction.

    Rule: a lane runs from day 0 to today, at most to the endpoint week;
    infusions are recorded belimumab doses, pulses recorded methylprednisolone
    doses; assessments are the weeks with a renal panel, each classed against
    week 0 (core.response); a planned renal assessment (``data.events``) up to
    the endpoint week with no panel that week is unmet when its outcome as of
    ``today`` (the data cut-off) is missed, not done or overdue
    (core.visits.visit_outcome); adverse events sit at their onset with their
    CTCAE grade and ICH E2A seriousness.
    """
    end = Decimal(endpoint_week)
    weeks = renal_weeks(data.labs)
    baselines = {w.patient_id for w in weeks if w.week == 0}
    panel_weeks: dict[int, set[int]] = {}
    for w in weeks:
        panel_weeks.setdefault(w.patient_id, set()).add(w.week)
    lanes: list[Lane] = []
    for p in sorted(data.patients, key=lambda p: (p.arm, p.study_id)):
        length = min(max(weeks_since(p.day0, today), Decimal(0)), end)
        doses = [d for d in data.doses if d.patient_id == p.id]
        infusions = tuple(weeks_since(p.day0, d.day) for d in doses if d.drug == "belimumab")
        pulses = tuple(weeks_since(p.day0, d.day) for d in doses if d.drug == "mp")
        e = endpoints.get(p.study_id)
        assessed: list[tuple[int, ResponseClass | None]] = [(0, None)] if p.id in baselines else []
        if e is not None:
            assessed += [(w, a.cls) for w, a in sorted(e.assessments.items()) if w <= endpoint_week]
        with_panel = panel_weeks.get(p.id, set())
        unmet = tuple(
            sorted(
                (event.week, outcome)
                for event in data.events
                if event.patient_id == p.id
                and event.kind == EventKind.RENAL_ASSESSMENT
                and event.week <= endpoint_week
                and event.week not in with_panel
                and (outcome := visit_outcome(event, today)) in UNMET
            )
        )
        events = tuple(
            (weeks_since(p.day0, ae.onset_date), ae.grade, ae.serious)
            for ae in data.adverse_events
            if ae.patient_id == p.id
        )
        lanes.append(
            Lane(
                p.study_id,
                p.arm,
                p.withdrawn,
                length,
                infusions,
                tuple(assessed),
                events,
                pulses,
                unmet,
            )
        )
    return lanes
