"""Initial schema: patients, staff, invites, the plan, the reminder outbox,
clinical records and the audit trail.

Reviewed by hand from Alembic's draft:

- instants are ``timestamp with time zone`` (SQLite: DATETIME text in UTC);
  clinical numbers are VARCHAR(40) holding the decimal text as entered;
- closed vocabularies are VARCHAR(32) with a named CHECK (``ck_<table>_<column>``),
  no PostgreSQL enum types;
- constraint and index names follow ``core.store.models.NAMING_CONVENTION``;
- no column holds a name or a phone number.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The vocabularies as they were at this revision (a later change is a new migration).
SEX = ("F", "M")
LANGUAGE = ("zh_Hans", "en")
PATIENT_STATUS = ("active", "withdrawn", "completed")
STAFF_ROLE = ("nurse", "investigator", "coordinator")
INVITE_ROLE = ("patient", "nurse", "investigator", "coordinator")
EVENT_KIND = (
    "mp_pulse",
    "belimumab_infusion",
    "urine_collection",
    "renal_assessment",
    "sledai_assessment",
    "cd20_count",
    "oral_dose",
)
EVENT_STATUS = ("planned", "done", "missed", "cancelled")
SLOT = (
    "infusion_evening_before",
    "infusion_morning",
    "urine_instructions",
    "urine_start",
    "urine_end",
    "visit_evening_before",
    "dose_1",
    "dose_2",
    "dose_3",
    "dose_4",
    "dose_after_draw",
)
REMINDER_STATUS = (
    "pending",
    "sending",
    "sent",
    "failed",
    "uncertain",
    "skipped",
    "missed",
    "cancelled",
)
DRUG = ("mp", "belimumab", "mmf", "tacrolimus")
CD20_UNIT = ("/uL", "%")
TRIAGE_STATUS = ("open", "closed", "converted")


def _one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def _choice(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=32), nullable=nullable)


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _decimal(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=40), nullable=nullable)


def _actor(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), nullable=nullable)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _patient_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["patient_id"], ["patient.id"], name=op.f(f"fk_{table}_patient_id_patient")
    )


def _index_patient(table: str) -> None:
    op.create_index(op.f(f"ix_{table}_patient_id"), table, ["patient_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "patient",
        _id(),
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("arm", sa.String(length=32), nullable=False),
        sa.Column("day0", sa.Date(), nullable=False),
        _choice("sex"),
        _decimal("weight_kg"),
        _choice("language"),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        _choice("status"),
        _instant("unreachable_since", nullable=True),
        sa.Column("daily_dose_reminders", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        _instant("created_at"),
        _one_of("patient", "sex", SEX),
        _one_of("patient", "language", LANGUAGE),
        _one_of("patient", "status", PATIENT_STATUS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
        sa.UniqueConstraint("study_id", name=op.f("uq_patient_study_id")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_patient_telegram_user_id")),
        sa.UniqueConstraint("telegram_chat_id", name=op.f("uq_patient_telegram_chat_id")),
    )
    op.create_table(
        "staff",
        _id(),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        _choice("role"),
        _choice("language", nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _instant("created_at"),
        _one_of("staff", "role", STAFF_ROLE),
        _one_of("staff", "language", LANGUAGE),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_staff_telegram_user_id")),
    )
    op.create_table(
        "invite",
        _id(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _choice("role"),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        _actor("created_by"),
        _instant("created_at"),
        _instant("expires_at"),
        _instant("used_at", nullable=True),
        sa.Column("used_by_telegram_user_id", sa.BigInteger(), nullable=True),
        _one_of("invite", "role", INVITE_ROLE),
        sa.CheckConstraint(
            "(role = 'patient' AND patient_id IS NOT NULL)"
            " OR (role <> 'patient' AND patient_id IS NULL)",
            name=op.f("ck_invite_patient_iff_patient_role"),
        ),
        _patient_fk("invite"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invite_token_hash")),
    )
    _index_patient("invite")
    op.create_table(
        "planned_event",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        _choice("kind"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("scheduled_date", sa.Date(), nullable=False),
        sa.Column("window_before", sa.Integer(), nullable=False),
        sa.Column("window_after", sa.Integer(), nullable=False),
        _instant("starts_at"),
        _instant("ends_at", nullable=True),
        _choice("status"),
        sa.Column("actual_date", sa.Date(), nullable=True),
        sa.Column("deviation_reason", sa.Text(), nullable=True),
        _one_of("planned_event", "kind", EVENT_KIND),
        _one_of("planned_event", "status", EVENT_STATUS),
        _patient_fk("planned_event"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_event")),
        sa.UniqueConstraint(
            "patient_id", "kind", "number", name=op.f("uq_planned_event_patient_id_kind_number")
        ),
    )
    op.create_table(
        "reminder",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        _choice("slot"),
        _instant("due_at"),
        _instant("announces_at"),
        _choice("status"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        _instant("claimed_at", nullable=True),
        _instant("sent_at", nullable=True),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.Column("response", sa.String(length=32), nullable=True),
        _instant("responded_at", nullable=True),
        _one_of("reminder", "slot", SLOT),
        _one_of("reminder", "status", REMINDER_STATUS),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_reminder_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["planned_event.id"], name=op.f("fk_reminder_event_id_planned_event")
        ),
        _patient_fk("reminder"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint(
            "patient_id", "event_id", "slot", name=op.f("uq_reminder_patient_id_event_id_slot")
        ),
    )
    op.create_index(op.f("ix_reminder_event_id"), "reminder", ["event_id"], unique=False)
    # The outbox query: pending reminders by due instant.
    op.create_index(op.f("ix_reminder_status_due_at"), "reminder", ["status", "due_at"])
    op.create_table(
        "dose_administration",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        _choice("drug"),
        _decimal("amount", nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("given_on", sa.Date(), nullable=True),
        _instant("given_at", nullable=True),
        _decimal("weight_kg", nullable=True),
        sa.Column("vial_plan", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        _actor("recorded_by"),
        _instant("recorded_at"),
        _one_of("dose_administration", "drug", DRUG),
        sa.CheckConstraint(
            "given_on IS NOT NULL OR given_at IS NOT NULL",
            name=op.f("ck_dose_administration_given_when"),
        ),
        sa.CheckConstraint(
            "drug NOT IN ('mp', 'belimumab') OR (amount IS NOT NULL AND unit IS NOT NULL)",
            name=op.f("ck_dose_administration_infusion_has_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["planned_event.id"],
            name=op.f("fk_dose_administration_event_id_planned_event"),
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["reminder.id"],
            name=op.f("fk_dose_administration_reminder_id_reminder"),
        ),
        _patient_fk("dose_administration"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_administration")),
    )
    _index_patient("dose_administration")
    op.create_table(
        "lab_result",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("week", sa.Integer(), nullable=True),
        sa.Column("analyte", sa.String(length=40), nullable=False),
        _decimal("value"),
        sa.Column("unit", sa.String(length=16), nullable=False),
        _decimal("ref_low", nullable=True),
        _decimal("ref_high", nullable=True),
        sa.Column("ref_unit", sa.String(length=16), nullable=True),
        _instant("collected_at"),
        sa.Column("uti", sa.Boolean(), nullable=False),
        _actor("entered_by"),
        _instant("entered_at"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["planned_event.id"], name=op.f("fk_lab_result_event_id_planned_event")
        ),
        _patient_fk("lab_result"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_result")),
    )
    _index_patient("lab_result")
    op.create_table(
        "sledai_assessment",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("renal_total", sa.Integer(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        _actor("entered_by"),
        _instant("entered_at"),
        sa.CheckConstraint(
            "total >= 0 AND renal_total >= 0 AND renal_total <= total",
            name=op.f("ck_sledai_assessment_totals"),
        ),
        _patient_fk("sledai_assessment"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sledai_assessment")),
    )
    _index_patient("sledai_assessment")
    op.create_table(
        "cd20_count",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        _decimal("value"),
        _choice("unit"),
        _instant("collected_at"),
        _actor("entered_by"),
        _instant("entered_at"),
        _one_of("cd20_count", "unit", CD20_UNIT),
        _patient_fk("cd20_count"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cd20_count")),
    )
    _index_patient("cd20_count")
    op.create_table(
        "adverse_event",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("ctcae_version", sa.String(length=8), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=True),
        sa.Column("verbatim", sa.Text(), nullable=False),
        sa.Column("coded", sa.Boolean(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("death", sa.Boolean(), nullable=False),
        sa.Column("life_threatening", sa.Boolean(), nullable=False),
        sa.Column("hospitalization", sa.Boolean(), nullable=False),
        sa.Column("disability", sa.Boolean(), nullable=False),
        sa.Column("congenital_anomaly", sa.Boolean(), nullable=False),
        sa.Column("important_medical_event", sa.Boolean(), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        _instant("awareness_at"),
        _instant("acknowledged_at", nullable=True),
        _actor("acknowledged_by", nullable=True),
        sa.Column("relatedness", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        _actor("reported_by"),
        _instant("reported_at"),
        sa.CheckConstraint("grade BETWEEN 1 AND 5", name=op.f("ck_adverse_event_grade_range")),
        sa.CheckConstraint(
            "NOT coded OR term IS NOT NULL", name=op.f("ck_adverse_event_coded_has_term")
        ),
        _patient_fk("adverse_event"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event")),
    )
    _index_patient("adverse_event")
    op.create_table(
        "patient_report",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("onset", sa.Text(), nullable=False),
        sa.Column("free_text", sa.Text(), nullable=True),
        sa.Column("red_flag", sa.Boolean(), nullable=False),
        _choice("triage_status"),
        sa.Column("linked_ae_id", sa.Integer(), nullable=True),
        sa.Column("triage_note", sa.Text(), nullable=True),
        _instant("created_at"),
        _actor("triaged_by", nullable=True),
        _instant("triaged_at", nullable=True),
        _one_of("patient_report", "triage_status", TRIAGE_STATUS),
        sa.ForeignKeyConstraint(
            ["linked_ae_id"],
            ["adverse_event.id"],
            name=op.f("fk_patient_report_linked_ae_id_adverse_event"),
        ),
        _patient_fk("patient_report"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_report")),
    )
    _index_patient("patient_report")
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        _instant("at"),
        _actor("actor"),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_record_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_record")),
    )
    op.create_index(
        op.f("ix_audit_record_entity_entity_key"), "audit_record", ["entity", "entity_key"]
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )


def downgrade() -> None:
    # Dependents first; dropping a table drops its indexes.
    for table in (
        "audit_head",
        "audit_record",
        "patient_report",
        "adverse_event",
        "cd20_count",
        "sledai_assessment",
        "lab_result",
        "dose_administration",
        "reminder",
        "planned_event",
        "invite",
        "staff",
        "patient",
    ):
        op.drop_table(table)
