"""The audit chain's tables: its links and the head every appender locks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlmodel import Field, SQLModel

from core.store.models.conventions import actor_type
from core.store.types import UtcDateTime


class AuditRecord(SQLModel, table=True):
    """One link of the audit chain; see :mod:`core.store.audit`."""

    __tablename__ = "audit_record"
    __table_args__ = (
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index(None, "entity", "entity_key"),
        # /staff: each member's last recorded action, without reading the whole trail.
        Index(None, "actor", "at"),
    )

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UtcDateTime())
    actor: str = Field(sa_type=actor_type())
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
