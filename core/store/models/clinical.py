"""Clinical records: doses, labs, SLEDAI-2K, CD20 counts, protocol deviations, adverse
events, patient reports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, String, Text
from sqlmodel import Field, SQLModel

from core.entry_calendar import Timing
from core.store.models.conventions import actor_type, enum_type
from core.store.models.people import Channel
from core.store.types import DecimalText, UtcDateTime
from core.vocabulary import Drug as Drug


class Cd20Unit(StrEnum):
    PER_UL = "/uL"
    PERCENT = "%"


class TriageStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CONVERTED = "converted"


class AttachmentKind(StrEnum):
    """What a file a patient sent with a report is (only photos so far)."""

    IMAGE = "image"


# A channel's id of a file (a Telegram file_id is under 100 characters).
FILE_ID_LENGTH = 255


class DoseAdministration(SQLModel, table=True):
    """A dose given (MP, belimumab: with the weight and vial plan used) or an
    oral dose the patient confirmed (then ``reminder_id`` names the reminder
    answered and the amount may be unknown)."""

    __tablename__ = "dose_administration"
    __table_args__ = (
        CheckConstraint("given_on IS NOT NULL OR given_at IS NOT NULL", name="given_when"),
        CheckConstraint(
            "drug NOT IN ('mp', 'belimumab') OR (amount IS NOT NULL AND unit IS NOT NULL)",
            name="infusion_has_amount",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    drug: Drug = Field(sa_type=enum_type(Drug, "drug"))
    amount: str | None = Field(default=None, sa_type=DecimalText())
    unit: str | None = Field(default=None, sa_type=String(16))
    given_on: date | None = None
    given_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    weight_kg: str | None = Field(default=None, sa_type=DecimalText())
    vial_plan: str | None = Field(default=None, sa_type=Text)
    # /status: whether an infusion event has a belimumab dose recorded against it.
    event_id: int | None = Field(default=None, foreign_key="planned_event.id", index=True)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id")
    recorded_by: str = Field(sa_type=actor_type())
    recorded_at: datetime = Field(sa_type=UtcDateTime())


class LabResult(SQLModel, table=True):
    """One analyte as entered: value and reference limits as text, in the unit given."""

    __tablename__ = "lab_result"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="planned_event.id")
    # /status: the week-24 renal results.
    week: int | None = Field(default=None, index=True)
    analyte: str = Field(sa_type=String(40))
    value: str = Field(sa_type=DecimalText())
    unit: str = Field(sa_type=String(16))
    ref_low: str | None = Field(default=None, sa_type=DecimalText())
    ref_high: str | None = Field(default=None, sa_type=DecimalText())
    ref_unit: str | None = Field(default=None, sa_type=String(16))
    collected_at: datetime = Field(sa_type=UtcDateTime())
    uti: bool = False
    # A 24-hour urine protein the laboratory reports only as below its detection
    # limit ("<0.1 g/24h"): ``value`` holds the limit.
    below_limit: bool = False
    entered_by: str = Field(sa_type=actor_type())
    entered_at: datetime = Field(sa_type=UtcDateTime())


class SledaiAssessment(SQLModel, table=True):
    """A SLEDAI-2K score; ``items`` is JSON text: ``[{"item", "cause", "scored"}]``."""

    __tablename__ = "sledai_assessment"
    __table_args__ = (
        CheckConstraint("total >= 0 AND renal_total >= 0 AND renal_total <= total", name="totals"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    week: int
    assessed_on: date
    total: int
    renal_total: int
    items: str = Field(sa_type=Text)
    entered_by: str = Field(sa_type=actor_type())
    entered_at: datetime = Field(sa_type=UtcDateTime())


class Cd20Count(SQLModel, table=True):
    __tablename__ = "cd20_count"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    week: int
    value: str = Field(sa_type=DecimalText())
    unit: Cd20Unit = Field(sa_type=enum_type(Cd20Unit, "unit"))
    collected_at: datetime = Field(sa_type=UtcDateTime())
    entered_by: str = Field(sa_type=actor_type())
    entered_at: datetime = Field(sa_type=UtcDateTime())


class DeviationEntry(StrEnum):
    """What was entered outside its window."""

    LABS = "labs"
    SLEDAI = "sledai"
    CD20 = "cd20"
    BELIMUMAB = "belimumab"


class ProtocolDeviation(SQLModel, table=True):
    """An entry dated outside its event's window, and the reason staff gave
    (:func:`core.entry_calendar.judge_entry_date`).

    ``event_id`` is the planned event it belongs to (none for a dose no planned
    infusion is left for); ``days_outside`` counts from the nearer end of the
    window; who recorded it and when are the entry's own. A move outside the
    window by /reschedule is kept on the event (``planned_event.deviation_reason``).
    """

    __tablename__ = "protocol_deviation"
    __table_args__ = (CheckConstraint("days_outside >= 0", name="days_outside_not_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="planned_event.id")
    entry: DeviationEntry = Field(sa_type=enum_type(DeviationEntry, "entry"))
    week: int | None = None
    occurred_on: date
    timing: Timing = Field(sa_type=enum_type(Timing, "timing"))
    window_start: date | None = None
    window_end: date | None = None
    days_outside: int
    reason: str = Field(sa_type=Text)
    recorded_by: str = Field(sa_type=actor_type())
    recorded_at: datetime = Field(sa_type=UtcDateTime())


class AdverseEvent(SQLModel, table=True):
    """An adverse event, CTCAE-graded, with the six ICH E2A seriousness criteria.

    ``serious`` is derived from the six flags, never stored, so it cannot
    disagree with them. A patient report that led to this event points here
    (``patient_report.linked_ae_id``); several reports may describe one event.
    """

    __tablename__ = "adverse_event"
    __table_args__ = (
        CheckConstraint("grade BETWEEN 1 AND 5", name="grade_range"),
        CheckConstraint("NOT coded OR term IS NOT NULL", name="coded_has_term"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    ctcae_version: str = Field(sa_type=String(8))
    term: str | None = Field(default=None, sa_type=String(200))
    verbatim: str = Field(sa_type=Text)
    coded: bool = False
    grade: int
    death: bool = False
    life_threatening: bool = False
    hospitalization: bool = False
    disability: bool = False
    congenital_anomaly: bool = False
    important_medical_event: bool = False
    onset_date: date
    awareness_at: datetime = Field(sa_type=UtcDateTime())
    acknowledged_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    acknowledged_by: str | None = Field(default=None, sa_type=actor_type())
    relatedness: str | None = Field(default=None, sa_type=String(32))
    action: str | None = Field(default=None, sa_type=String(32))
    outcome: str | None = Field(default=None, sa_type=String(32))
    # Follow-up to the end (/ae AE<n> ..., core.ae_outcomes): the day it ended and the
    # relatedness to each study drug, on the one scale of core.entry_syntax.Relatedness.
    end_date: date | None = None
    related_belimumab: str | None = Field(default=None, sa_type=String(32))
    related_mmf: str | None = Field(default=None, sa_type=String(32))
    related_tacrolimus: str | None = Field(default=None, sa_type=String(32))
    related_methylprednisolone: str | None = Field(default=None, sa_type=String(32))
    reported_by: str = Field(sa_type=actor_type())
    reported_at: datetime = Field(sa_type=UtcDateTime())

    @property
    def serious(self) -> bool:
        """ICH E2A: serious if any of the six criteria is met."""
        return any(
            (
                self.death,
                self.life_threatening,
                self.hospitalization,
                self.disability,
                self.congenital_anomaly,
                self.important_medical_event,
            )
        )


class PatientReport(SQLModel, table=True):
    """Something a patient reported through the bot, and its triage."""

    __tablename__ = "patient_report"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    category: str = Field(sa_type=String(32))
    severity: str = Field(sa_type=String(32))
    onset: str = Field(sa_type=Text)
    free_text: str | None = Field(default=None, sa_type=Text)
    red_flag: bool = False
    triage_status: TriageStatus = Field(
        default=TriageStatus.OPEN, sa_type=enum_type(TriageStatus, "triage_status")
    )
    linked_ae_id: int | None = Field(default=None, foreign_key="adverse_event.id")
    triage_note: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime())
    triaged_by: str | None = Field(default=None, sa_type=actor_type())
    triaged_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class ReportAttachment(SQLModel, table=True):
    """A file (a photo) a patient sent with a report, kept as their channel's id of it.

    The bytes stay with the channel: staff are shown the file again by its id,
    on the channel it came from (on Telegram a ``file_id`` works for this bot only).
    """

    __tablename__ = "report_attachment"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="patient_report.id", index=True)
    channel: Channel = Field(sa_type=enum_type(Channel, "channel"))
    kind: AttachmentKind = Field(sa_type=enum_type(AttachmentKind, "kind"))
    file_id: str = Field(sa_type=String(FILE_ID_LENGTH))
    created_at: datetime = Field(sa_type=UtcDateTime())
