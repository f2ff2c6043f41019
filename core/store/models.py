"""The trial's tables (SQLModel), as the store's requirements list them.

Nothing here holds a name or a phone number: a patient is a study ID, a
member of staff is a role and their accounts on the chat channels (docs/DESIGN.md
§4: "Logs carry study IDs, never names or phone numbers").

Conventions:

- integer surrogate keys; natural keys (study ID, channel accounts, token hash)
  are UNIQUE;
- every instant is a :class:`~core.store.types.UtcDateTime` (aware, UTC);
- every clinical number is a :class:`~core.store.types.DecimalText` (the text
  entered, exactly);
- every closed vocabulary (status, role, sex, ...) is a short string with a
  CHECK constraint (``Enum(native_enum=False)``), so a typo cannot land in
  the table and PostgreSQL needs no custom types;
- JSON payloads (SLEDAI items, vial plans, audit before/after) are stored as
  canonical JSON text, so what is hashed is what is stored;
- constraint names follow :data:`NAMING_CONVENTION`, so migrations can refer
  to them on both databases.

Schema changes are Alembic migrations (``migrations/``); a test checks that
these models and the migrations agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from core.schedule import EventKind, Slot
from core.store.types import DecimalText, UtcDateTime
from core.vocabulary import STAFF_ROLES, Role
from core.vocabulary import Drug as Drug
from core.vocabulary import Language as Language
from core.vocabulary import Sex as Sex

# The vocabularies are defined once, in core.vocabulary; the old names stay for
# the call sites. A member of staff has one of STAFF_ROLES (the staff table's
# CHECK); an invite may be for any role.
StaffRole = Role
InviteRole = Role

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Set before any table is declared: names are attached when constraints are.
SQLModel.metadata.naming_convention = NAMING_CONVENTION

ACTOR_LENGTH = 64
# A channel's id of a person (a WeChat openid is 28 characters, a WeCom userid up to 64).
ACCOUNT_LENGTH = 64
PERSON_KEY_LENGTH = 80


def person_key(channel: str, account: str) -> str:
    """One channel account as one string (``telegram:5001``): who owns a flow or a draft."""
    return f"{channel}:{account}"


class PatientStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"


class Channel(StrEnum):
    """Where a person is reached: the chat apps the bot speaks through.

    Telegram for people outside mainland China; the hospital's WeChat Official
    Account for patients and its WeCom application for staff in mainland China
    (docs/DESIGN.md §4); ``memory`` is the in-process channel of tests and
    rehearsals, which reaches no one outside the process.
    """

    TELEGRAM = "telegram"
    WECHAT = "wechat"
    WECOM = "wecom"
    MEMORY = "memory"


class EventStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class ReminderStatus(StrEnum):
    """The outbox states (docs/DESIGN.md §3).

    ``pending`` waits for its due instant; a worker moves it to ``sending``
    when it claims it; then ``sent`` (with the Telegram message id),
    ``failed`` (gave up), ``uncertain`` (the worker died after the request
    left, or the answer timed out: Telegram may or may not have delivered it;
    the engine resends it once, marked as a repeat), ``skipped`` (no longer
    relevant, e.g. the event is done), ``missed`` (its time passed before it
    could be sent: never sent late) or ``cancelled`` (the event moved or the
    patient left).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    SKIPPED = "skipped"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Cd20Unit(StrEnum):
    PER_UL = "/uL"
    PERCENT = "%"


class TriageStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CONVERTED = "converted"


def _enum(cls: type[StrEnum], name: str, *, constraint: bool = True) -> SAEnum:
    """A closed vocabulary stored as its values in a VARCHAR with a CHECK.

    ``constraint=False`` leaves the CHECK to the table (see :func:`_one_of`).
    """
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=constraint,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def _one_of(column: str, cls: Iterable[StrEnum]) -> CheckConstraint:
    """The CHECK of a closed vocabulary (or a part of one, such as the staff
    roles) written as ``a = 'x' OR a = 'y' ...``.

    For the tables enrollment fills in bulk (~570 rows a patient): SQLite
    evaluates the ``IN (...)`` list SQLAlchemy's Enum writes by building a
    temporary table for each row inserted, which made those CHECKs cost more
    than the insert itself (bench.run: 43,000 against 89,000 reminder rows/s).
    The comparisons accept exactly the same values.
    """
    text = " OR ".join(f"{column} = '{member.value}'" for member in cls)
    return CheckConstraint(text, name=column)


def _actor() -> String:
    return String(ACTOR_LENGTH)


class Patient(SQLModel, table=True):
    __tablename__ = "patient"

    id: int | None = Field(default=None, primary_key=True)
    study_id: str = Field(sa_type=String(32), unique=True)
    arm: str = Field(sa_type=String(32))
    day0: date
    sex: Sex = Field(sa_type=_enum(Sex, "sex"))
    weight_kg: str = Field(sa_type=DecimalText())
    language: Language = Field(sa_type=_enum(Language, "language"))
    timezone: str = Field(sa_type=String(64))
    # The channel reminders go through; None until the patient has joined on one.
    preferred_channel: Channel | None = Field(
        default=None, sa_type=_enum(Channel, "preferred_channel")
    )
    status: PatientStatus = Field(
        default=PatientStatus.ACTIVE, sa_type=_enum(PatientStatus, "status")
    )
    unreachable_since: datetime | None = Field(default=None, sa_type=UtcDateTime())
    daily_dose_reminders: bool = False
    withdrawn_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime())


def study_id_is(study_id: str) -> ColumnElement[bool]:
    """The SQL test "the patient's study ID is ``study_id``, whatever the case".

    Study IDs are stored as typed at enrollment (``P01``) and found however
    they are typed later (``p01``). They are ASCII letters, digits, ``-`` and
    ``_`` (core.enrollment.STUDY_ID_PATTERN), so ``lower`` folds them the same
    on SQLite and PostgreSQL.
    """
    return func.lower(Patient.study_id) == study_id.strip().lower()


class Staff(SQLModel, table=True):
    __tablename__ = "staff"
    # Role is the one vocabulary of roles; this table holds the study team's only.
    __table_args__ = (_one_of("role", STAFF_ROLES),)

    id: int | None = Field(default=None, primary_key=True)
    # The channel alerts go through: the one the member joined on last.
    preferred_channel: Channel | None = Field(
        default=None, sa_type=_enum(Channel, "preferred_channel")
    )
    role: Role = Field(sa_type=_enum(Role, "role", constraint=False))
    language: Language | None = Field(default=None, sa_type=_enum(Language, "language"))
    active: bool = True
    created_at: datetime = Field(sa_type=UtcDateTime())


class Invite(SQLModel, table=True):
    """A one-time invite. Only the SHA-256 of the token is kept."""

    __tablename__ = "invite"
    __table_args__ = (
        CheckConstraint(
            "(role = 'patient' AND patient_id IS NOT NULL)"
            " OR (role <> 'patient' AND patient_id IS NULL)",
            name="patient_iff_patient_role",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    role: Role = Field(sa_type=_enum(Role, "role"))
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    created_by: str = Field(sa_type=_actor())
    created_at: datetime = Field(sa_type=UtcDateTime())
    expires_at: datetime = Field(sa_type=UtcDateTime())
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    # Who used it, as :func:`person_key` names a channel account.
    used_by: str | None = Field(default=None, sa_type=String(PERSON_KEY_LENGTH))


class ChannelIdentity(SQLModel, table=True):
    """One person's account on one channel: how the bot knows and reaches them.

    A patient or a member of staff may have one account per channel (a
    coordinator on Telegram and on WeCom, say). ``account`` is the channel's
    own id of the person (a Telegram user id, a WeChat openid, a WeCom
    userid), never a name; ``chat`` is where to write to them.
    """

    __tablename__ = "channel_identity"
    __table_args__ = (
        UniqueConstraint("channel", "account"),
        UniqueConstraint("channel", "patient_id"),
        UniqueConstraint("channel", "staff_id"),
        CheckConstraint("(patient_id IS NULL) <> (staff_id IS NULL)", name="patient_or_staff"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = Field(sa_type=_enum(Channel, "channel"))
    account: str = Field(sa_type=String(ACCOUNT_LENGTH))
    chat: str = Field(sa_type=String(ACCOUNT_LENGTH))
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    created_at: datetime = Field(sa_type=UtcDateTime())


class PlannedEventRow(SQLModel, table=True):
    """One event of a patient's plan (``core.schedule.PlannedEvent``) and what happened."""

    __tablename__ = "planned_event"
    __table_args__ = (
        UniqueConstraint("patient_id", "kind", "number"),
        # /status counts this week's events by kind and booked day; status and
        # patient_id make the index covering, so the count never reads the table.
        Index(None, "kind", "scheduled_date", "status", "patient_id"),
        _one_of("kind", EventKind),
        _one_of("status", EventStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    kind: EventKind = Field(sa_type=_enum(EventKind, "kind", constraint=False))
    number: int
    week: int
    target_date: date
    scheduled_date: date
    window_before: int
    window_after: int
    starts_at: datetime = Field(sa_type=UtcDateTime())
    ends_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    status: EventStatus = Field(
        default=EventStatus.PLANNED, sa_type=_enum(EventStatus, "status", constraint=False)
    )
    actual_date: date | None = None
    deviation_reason: str | None = Field(default=None, sa_type=Text)


# The rows of the reminder retry index: a retry waiting for its instant.
RETRY_WAITING = "next_attempt_at IS NOT NULL"


class Reminder(SQLModel, table=True):
    """The outbox: one message to send, unique per patient, event and slot."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("patient_id", "event_id", "slot", "revision"),
        Index(None, "status", "due_at"),
        # The engine's refill looks up pending retries by instant; without it
        # every refill scans all pending rows (16 s cold start at 10,000 patients).
        # Only retries have the instant, so the rows enrollment writes stay out.
        Index(
            None,
            "status",
            "next_attempt_at",
            sqlite_where=text(RETRY_WAITING),
            postgresql_where=text(RETRY_WAITING),
        ),
        # A reminder's event, and /status asking whether a urine collection was
        # answered "Finished", without reading the table.
        Index(None, "event_id", "response"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        _one_of("slot", Slot),
        _one_of("status", ReminderStatus),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    event_id: int = Field(foreign_key="planned_event.id")
    slot: Slot = Field(sa_type=_enum(Slot, "slot", constraint=False))
    due_at: datetime = Field(sa_type=UtcDateTime())
    announces_at: datetime = Field(sa_type=UtcDateTime())
    status: ReminderStatus = Field(
        default=ReminderStatus.PENDING, sa_type=_enum(ReminderStatus, "status", constraint=False)
    )
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    last_error: str | None = Field(default=None, sa_type=Text)
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger)
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    is_repeat: bool = False
    # A slot's reminder is sent once per booking of its event: moving an event
    # after a reminder went out adds the next revision for the new date.
    revision: int = 0
    response: str | None = Field(default=None, sa_type=String(32))
    responded_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


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
    drug: Drug = Field(sa_type=_enum(Drug, "drug"))
    amount: str | None = Field(default=None, sa_type=DecimalText())
    unit: str | None = Field(default=None, sa_type=String(16))
    given_on: date | None = None
    given_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    weight_kg: str | None = Field(default=None, sa_type=DecimalText())
    vial_plan: str | None = Field(default=None, sa_type=Text)
    # /status: whether an infusion event has a belimumab dose recorded against it.
    event_id: int | None = Field(default=None, foreign_key="planned_event.id", index=True)
    reminder_id: int | None = Field(default=None, foreign_key="reminder.id")
    recorded_by: str = Field(sa_type=_actor())
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
    entered_by: str = Field(sa_type=_actor())
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
    entered_by: str = Field(sa_type=_actor())
    entered_at: datetime = Field(sa_type=UtcDateTime())


class Cd20Count(SQLModel, table=True):
    __tablename__ = "cd20_count"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    week: int
    value: str = Field(sa_type=DecimalText())
    unit: Cd20Unit = Field(sa_type=_enum(Cd20Unit, "unit"))
    collected_at: datetime = Field(sa_type=UtcDateTime())
    entered_by: str = Field(sa_type=_actor())
    entered_at: datetime = Field(sa_type=UtcDateTime())


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
    acknowledged_by: str | None = Field(default=None, sa_type=_actor())
    relatedness: str | None = Field(default=None, sa_type=String(32))
    action: str | None = Field(default=None, sa_type=String(32))
    outcome: str | None = Field(default=None, sa_type=String(32))
    reported_by: str = Field(sa_type=_actor())
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
        default=TriageStatus.OPEN, sa_type=_enum(TriageStatus, "triage_status")
    )
    linked_ae_id: int | None = Field(default=None, foreign_key="adverse_event.id")
    triage_note: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime())
    triaged_by: str | None = Field(default=None, sa_type=_actor())
    triaged_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class AuditRecord(SQLModel, table=True):
    """One link of the audit chain; see :mod:`core.store.audit`."""

    __tablename__ = "audit_record"
    __table_args__ = (
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index(None, "entity", "entity_key"),
    )

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UtcDateTime())
    actor: str = Field(sa_type=_actor())
    action: str = Field(sa_type=String(64))
    entity: str = Field(sa_type=String(64))
    entity_key: str = Field(sa_type=Text)
    before: str | None = Field(default=None, sa_type=Text)
    after: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    prev_hash: str = Field(sa_type=String(64))
    hash: str = Field(sa_type=String(64))


class AuditHead(SQLModel, table=True):
    """The single row every appender locks, so the chain never forks."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int
    last_hash: str = Field(sa_type=String(64))


class Conversation(SQLModel, table=True):
    """Where one person is in a multi-step chat flow (choosing a language, a report).

    The bot keeps no flow state in memory, so a restart mid-flow loses
    nothing: the next message or button press continues from this row.
    """

    __tablename__ = "conversation"

    person: str = Field(sa_type=String(PERSON_KEY_LENGTH), primary_key=True)
    flow: str = Field(sa_type=String(32))
    step: str = Field(sa_type=String(32))
    data: str = Field(default="{}", sa_type=Text)
    updated_at: datetime = Field(sa_type=UtcDateTime())


class ActionStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PendingAction(SQLModel, table=True):
    """Clinical data a member of staff typed, waiting for their Confirm or Cancel.

    Nothing clinical is stored until Confirm: the parsed values wait here, and
    the buttons name this row, so an old or repeated button finds it decided
    and changes nothing.
    """

    __tablename__ = "pending_action"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(sa_type=String(PERSON_KEY_LENGTH), index=True)
    kind: str = Field(sa_type=String(32))
    payload: str = Field(sa_type=Text)
    status: ActionStatus = Field(default=ActionStatus.OPEN, sa_type=_enum(ActionStatus, "status"))
    created_at: datetime = Field(sa_type=UtcDateTime())
    expires_at: datetime = Field(sa_type=UtcDateTime())
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class Setting(SQLModel, table=True):
    """A small piece of running state the bot must find again after a restart.

    Keys in use: ``rehearsal_clock`` (where the rehearsal clock stood, for
    ``python -m bot run --resume``) and ``job:<name>`` (the trial instant a
    periodic scheduler job last ran for). Values are JSON text.
    """

    __tablename__ = "setting"

    key: str = Field(sa_type=String(64), primary_key=True)
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=UtcDateTime())


class EscalationNotice(SQLModel, table=True):
    """An escalation step already sent (or covered by a later one): sent once, never again."""

    __tablename__ = "escalation_notice"
    __table_args__ = (UniqueConstraint("kind", "subject", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32))
    subject: str = Field(sa_type=String(64))
    step: str = Field(sa_type=String(32))
    sent_at: datetime = Field(sa_type=UtcDateTime())
