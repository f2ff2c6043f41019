"""People and how they are reached: patients, staff, invites, channel accounts.

Nothing here holds a name or a phone number: a patient is a study ID, a
member of staff is a role and their accounts on the chat channels (docs/DESIGN.md
§4: "Logs carry study IDs, never names or phone numbers").
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ColumnElement, String, Text, UniqueConstraint, func
from sqlmodel import Field, SQLModel

from core.store.models.conventions import (
    ACCOUNT_LENGTH,
    PERSON_KEY_LENGTH,
    actor_type,
    enum_type,
    one_of,
)
from core.store.types import DecimalText, UtcDateTime
from core.vocabulary import STAFF_ROLES, Role
from core.vocabulary import Language as Language
from core.vocabulary import Sex as Sex


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


# The vocabularies are defined once, in core.vocabulary; the old names stay for
# the call sites. A member of staff has one of STAFF_ROLES (the staff table's
# CHECK); an invite may be for any role.
StaffRole = Role
InviteRole = Role


class Patient(SQLModel, table=True):
    __tablename__ = "patient"

    id: int | None = Field(default=None, primary_key=True)
    study_id: str = Field(sa_type=String(32), unique=True)
    arm: str = Field(sa_type=String(32))
    day0: date
    sex: Sex = Field(sa_type=enum_type(Sex, "sex"))
    weight_kg: str = Field(sa_type=DecimalText())
    language: Language = Field(sa_type=enum_type(Language, "language"))
    timezone: str = Field(sa_type=String(64))
    # The channel reminders go through; None until the patient has joined on one.
    preferred_channel: Channel | None = Field(
        default=None, sa_type=enum_type(Channel, "preferred_channel")
    )
    status: PatientStatus = Field(
        default=PatientStatus.ACTIVE, sa_type=enum_type(PatientStatus, "status")
    )
    unreachable_since: datetime | None = Field(default=None, sa_type=UtcDateTime())
    daily_dose_reminders: bool = False
    withdrawn_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime())
    # Asked at enrollment since revision 0026; None for patients enrolled before.
    birth_year: int | None = None
    consent_date: date | None = None


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
    __table_args__ = (one_of("role", STAFF_ROLES),)

    id: int | None = Field(default=None, primary_key=True)
    # The channel alerts go through: the one the member joined on last.
    preferred_channel: Channel | None = Field(
        default=None, sa_type=enum_type(Channel, "preferred_channel")
    )
    role: Role = Field(sa_type=enum_type(Role, "role", constraint=False))
    language: Language | None = Field(default=None, sa_type=enum_type(Language, "language"))
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
    role: Role = Field(sa_type=enum_type(Role, "role"))
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    # A /link invitation: the member of staff whose account on another channel it adds.
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    created_by: str = Field(sa_type=actor_type())
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
    channel: Channel = Field(sa_type=enum_type(Channel, "channel"))
    account: str = Field(sa_type=String(ACCOUNT_LENGTH))
    chat: str = Field(sa_type=String(ACCOUNT_LENGTH))
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    created_at: datetime = Field(sa_type=UtcDateTime())
