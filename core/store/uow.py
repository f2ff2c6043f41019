"""The unit of work: the one door every change goes through.

Requirement: "Every change goes through one small service layer (repository /
unit of work) that also appends an audit record in the same transaction".

A :class:`UnitOfWork` is one database transaction with one actor and one
instant (the caller's clock: the store never reads the time). It commits when
the ``with`` block ends normally and rolls back when it raises, so a change
and its audit record are stored together or not at all.

Writers are serialised: on entry the unit of work locks the audit head
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the transaction already
began with ``BEGIN IMMEDIATE``). Every writer takes that one lock first and
row locks only after it, so two writers cannot deadlock, and a row read
inside the block is the latest committed version. For reading only, use
:func:`core.store.db.read_session`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from core.store.audit import (
    Entry,
    JsonValue,
    append,
    append_many,
    canonical_json,
    check_actor,
    lock_head,
    sha256_hex,
    to_json_value,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=SQLModel)


def table_of(model: type[SQLModel]) -> Table:
    """The table a SQLModel class maps to."""
    table = sa_inspect(model).local_table
    assert isinstance(table, Table)
    return table


def row_json(obj: SQLModel) -> dict[str, JsonValue]:
    """Every column of a row as JSON values (instants ISO UTC, decimals as text)."""
    return {c.key: to_json_value(getattr(obj, c.key)) for c in table_of(type(obj)).columns}


def primary_key_text(obj: SQLModel) -> str:
    """The row's primary key as the audit ``entity_key``."""
    identity = sa_inspect(obj).identity
    if identity is None:
        raise ValueError("the row has no primary key yet (flush it first)")
    return ",".join(str(part) for part in identity)


class UnitOfWork:
    """One transaction, one actor, one instant; every change audited.

    ``with UnitOfWork(engine, actor="staff:3", now=clock.now()) as uow: ...``
    """

    def __init__(
        self, engine: Engine, actor: str, now: datetime, reason: str | None = None
    ) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("UnitOfWork needs an aware 'now'")
        self.engine = engine
        self.actor = check_actor(actor)
        self.now = now
        self.reason = reason
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the UnitOfWork in a 'with' block")
        return self._session

    def __enter__(self) -> Self:
        self._session = Session(self.engine, expire_on_commit=False)
        try:
            self._session.begin()
            lock_head(self._session)
        except BaseException:
            self._session.close()
            self._session = None
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if exc_type is None:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
            self._session = None

    @contextmanager
    def acting_as(self, actor: str, reason: str | None = None) -> Iterator[Self]:
        """Within the block, changes are recorded as ``actor``'s, for ``reason``.

        For one transaction holding the changes of two parties: a WeChat push
        stored for the account that sent it, and the delivery receipt it
        carries applied by the bot (``system``), each audited as its own.
        """
        saved = self.actor, self.reason
        self.actor, self.reason = check_actor(actor), reason
        try:
            yield self
        finally:
            self.actor, self.reason = saved

    def audit(
        self,
        action: str,
        entity: str,
        entity_key: str,
        *,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
        reason: str | None = None,
    ) -> int:
        """Append an audit record for a change made in this unit of work; its sequence number."""
        seq = append(
            self.session,
            at=self.now,
            actor=self.actor,
            action=action,
            entity=entity,
            entity_key=entity_key,
            before=None if before is None else canonical_json(before),
            after=None if after is None else canonical_json(after),
            reason=reason if reason is not None else self.reason,
        )
        log.debug("audit %d %s %s:%s", seq, action, entity, entity_key)
        return seq

    def audit_many(self, entries: Sequence[Entry]) -> None:
        """Append several audit records at once, in order (one INSERT for all).

        An entry without a reason takes the unit of work's.
        """
        if self.reason is not None:
            entries = [
                e if e.reason is not None else replace(e, reason=self.reason) for e in entries
            ]
        append_many(self.session, at=self.now, actor=self.actor, entries=entries)
        log.debug("audit %d records", len(entries))

    def add(self, obj: M, action: str, *, reason: str | None = None) -> M:
        """Insert a row and audit it with ``after`` = the whole row."""
        self.session.add(obj)
        self.session.flush()
        self.audit(
            action,
            table_of(type(obj)).name,
            primary_key_text(obj),
            after=row_json(obj),
            reason=reason,
        )
        return obj

    def update(self, obj: M, action: str, /, *, reason: str | None = None, **changes: object) -> M:
        """Change some columns of a row; audit the old and new values of those that changed.

        A change to the value a column already has is not recorded; if nothing
        changes, nothing is written. ``obj`` and ``action`` are positional only, so a
        column named ``action`` (``adverse_event.action``) can be changed too.
        """
        columns = {c.key for c in table_of(type(obj)).columns}
        unknown = sorted(set(changes) - columns)
        if unknown:
            raise AttributeError(f"{type(obj).__name__} has no column {', '.join(unknown)}")
        before: dict[str, JsonValue] = {}
        after: dict[str, JsonValue] = {}
        for key, value in changes.items():
            old = getattr(obj, key)
            if old == value:
                continue
            before[key] = to_json_value(old)
            after[key] = to_json_value(value)
            setattr(obj, key, value)
        if not after:
            return obj
        self.session.flush()
        self.audit(
            action,
            table_of(type(obj)).name,
            primary_key_text(obj),
            before=before,
            after=after,
            reason=reason,
        )
        return obj

    def bulk_insert(
        self,
        model: type[SQLModel],
        rows: Sequence[Mapping[str, object]],
        action: str,
        *,
        entity_key: str,
        summary: Mapping[str, object] | None = None,
    ) -> int:
        """Insert many rows with one statement executed for all of them (DB-API
        ``executemany``: no round-trip per row) and audit them with one record.

        The record's ``after`` holds the row count, the SHA-256 of the rows'
        canonical JSON (so the rows can later be checked against the trail)
        and ``summary``. Every row must have the same keys.
        """
        if not rows:
            return 0
        keys = set(rows[0])
        if any(set(row) != keys for row in rows):
            raise ValueError("bulk_insert rows must all have the same keys")
        payload = [dict(row) for row in rows]
        table = table_of(model)
        # One compiled INSERT executed for all rows (DB-API executemany): SQLite
        # runs it in-process on one prepared statement, psycopg 3 pipelines it.
        # A multi-row ``.values([...])`` is compiled anew for every call and
        # cost ~20x more than the insert itself (measured by bench.run).
        self.session.execute(insert(table), payload)
        after: dict[str, object] = {
            "count": len(payload),
            "rows_sha256": sha256_hex(canonical_json(payload)),
        }
        after.update(summary or {})
        self.audit(action, table.name, entity_key, after=after)
        return len(payload)
