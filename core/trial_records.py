"""The trial's stored data as plain values: what summaries, plots and exports read.

:mod:`core.store.trial_data` loads these from the database (one query per
table, rows sorted); the pure functions of :mod:`core.trial_summary`,
:mod:`core.tables` and :mod:`core.plot_data` take them. Nothing here
holds a name, a phone number or a Telegram id: a patient is a study ID and a
row id (docs/DESIGN.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from core.schedule import EventKind


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A patient as enrolled: study ID, arm, day 0, sex, weight at enrollment, status,
    year of birth and informed-consent date (None for patients enrolled before they were
    asked), and the day and reason of a withdrawal."""

    id: int
    study_id: str
    arm: str
    day0: date
    sex: str
    weight_kg: str
    language: str
    status: str
    birth_year: int | None = None
    consent_date: date | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: str | None = None

    @property
    def age(self) -> int | None:
        """Age in years at day 0, from the year of birth alone: enrollment asks for the
        year, not the date (less identifying), so the age is day 0's year minus it, a
        year too high for a patient whose birthday falls after day 0 in that year."""
        if self.birth_year is None:
            return None
        return self.day0.year - self.birth_year

    @property
    def withdrawn(self) -> bool:
        return self.status == "withdrawn"


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One planned protocol event and what happened to it."""

    patient_id: int
    kind: EventKind
    number: int
    week: int
    target_date: date
    scheduled_date: date
    window_before: int
    window_after: int
    status: str
    actual_date: date | None = None
    deviation_reason: str | None = None
    #: Why a coordinator marked the visit missed (``status == "missed"``).
    missed_reason: str | None = None
    #: The patient confirmed it for its current booking: "I'll be there" to one of its
    #: reminders, or "Finished" for a urine collection (:data:`core.visits.CONFIRMING_ANSWERS`).
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """A dose given or confirmed; ``day`` is the local date it was given."""

    id: int
    patient_id: int
    drug: str
    amount: str | None
    unit: str | None
    day: date
    weight_kg: str | None = None
    week: int | None = None


@dataclass(frozen=True, slots=True)
class LabRecord:
    """One lab result as entered (value and unit text), with its local collection time."""

    id: int
    patient_id: int
    week: int | None
    analyte: str
    value: str
    unit: str
    collected_at: datetime
    entered_at: datetime
    ref_low: str | None = None
    ref_high: str | None = None
    ref_unit: str | None = None
    uti: bool = False
    below_limit: bool = False


@dataclass(frozen=True, slots=True)
class SledaiRecord:
    """A SLEDAI-2K assessment: totals and the descriptors recorded (keys, with causes)."""

    patient_id: int
    week: int
    assessed_on: date
    total: int
    renal_total: int
    items: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Cd20Record:
    """A CD20 B-cell count: value text and unit (``/uL`` or ``%``)."""

    patient_id: int
    week: int
    value: str
    unit: str
    collected_at: datetime


SERIOUSNESS_FLAGS: tuple[str, ...] = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
)


@dataclass(frozen=True, slots=True)
class AdverseEventRecord:
    """An adverse event: CTCAE term (if coded) and verbatim text, grade, ICH E2A criteria."""

    id: int
    patient_id: int
    ctcae_version: str
    term: str | None
    verbatim: str
    coded: bool
    grade: int
    onset_date: date
    criteria: tuple[str, ...] = field(default=())
    relatedness: str | None = None
    action: str | None = None
    outcome: str | None = None
    end_date: date | None = None
    #: Relatedness per study drug, (drug, assessment) pairs sorted by drug: drugs are
    #: belimumab, mmf, tacrolimus, methylprednisolone; assessments as in core.adverse_events.
    related_to: tuple[tuple[str, str], ...] = field(default=())

    @property
    def serious(self) -> bool:
        """ICH E2A: serious if any of the six criteria is met."""
        return bool(self.criteria)


@dataclass(frozen=True, slots=True)
class TrialData:
    """Everything the outputs read, each table sorted (patients by study ID, rows by
    patient, then time, then row id), so every export is the same for the same data."""

    patients: tuple[PatientRecord, ...]
    events: tuple[EventRecord, ...] = field(default=())
    doses: tuple[DoseRecord, ...] = field(default=())
    labs: tuple[LabRecord, ...] = field(default=())
    sledai: tuple[SledaiRecord, ...] = field(default=())
    cd20: tuple[Cd20Record, ...] = field(default=())
    adverse_events: tuple[AdverseEventRecord, ...] = field(default=())

    def patient(self, patient_id: int) -> PatientRecord:
        """The patient with row id ``patient_id``."""
        for p in self.patients:
            if p.id == patient_id:
                return p
        raise KeyError(patient_id)

    def by_study_id(self, study_id: str) -> PatientRecord | None:
        """The patient with ``study_id`` (exact, then case-insensitive), or None."""
        for p in self.patients:
            if p.study_id == study_id:
                return p
        folded = study_id.casefold()
        return next((p for p in self.patients if p.study_id.casefold() == folded), None)
