"""The audit trail: an append-only, hash-chained list of every change.

Requirement: each record holds "sequence, instant, actor (staff or patient ID, or
``system``), action, entity and key, before and after (JSON), reason where
one was given, and a hash chained to the previous record".

- ``hash`` is the SHA-256 of the canonical JSON (sorted keys,
  ``ensure_ascii=False``, no spaces) of every other field, ``seq`` and
  ``prev_hash`` included; ``prev_hash`` of record 1 is 64 zeros. Editing,
  deleting or reordering a record therefore breaks either its own hash, the
  next record's link or the run of sequence numbers.
- ``audit_head`` holds the last sequence number and hash. Every appender
  locks that row (``SELECT ... FOR UPDATE``) so two PostgreSQL transactions
  cannot both append record *n*; on SQLite ``BEGIN IMMEDIATE`` already lets
  one writer at a time in. :func:`verify` does not trust the head: it walks
  the records by ``seq`` and only then compares the head with the last one,
  which is how a deleted tail shows up.
- The chain proves only that its records agree with each other. Two more
  checks stand on it: :mod:`core.store.reconcile` (every clinical row is what
  its records replay to) and :mod:`core.store.anchor` (the head, signed with a
  key kept outside the database, as the daily digest showed it).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Literal, TypeAlias, cast

from sqlalchemy import Table, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.store.models import AuditHead, AuditRecord

GENESIS_HASH = "0" * 64
SYSTEM = "system"

JsonValue: TypeAlias = "bool | int | str | list[JsonValue] | dict[str, JsonValue] | None"

_ACTOR = re.compile(
    r"^(system|staff:[0-9]+|patient:[A-Za-z0-9_-]{1,32}"
    r"|(telegram|wechat|wecom|memory):[A-Za-z0-9_.@-]{1,64})$"
)


def staff_actor(staff_id: int) -> str:
    """The audit actor for a member of staff (their row id, never a name)."""
    return f"staff:{staff_id}"


def patient_actor(study_id: str) -> str:
    """The audit actor for a patient (their study ID, never a name)."""
    return f"patient:{study_id}"


def check_actor(actor: str) -> str:
    """Refuse an actor that is not ``system``, ``staff:<id>``, ``patient:<study ID>``
    or ``<channel>:<account>`` (someone without a role, whose refused attempt is
    logged, named by their channel account as :func:`core.store.models.person_key`
    writes it).

    Requirement: the actor is "staff or patient ID, or ``system``"; the fixed form
    keeps names out of the trail.
    """
    if not _ACTOR.match(actor):
        raise ValueError(
            "actor must be 'system', 'staff:<id>', 'patient:<study ID>' or "
            f"'<channel>:<account>', got {actor!r}"
        )
    return actor


_AS_IS: frozenset[type] = frozenset({str, int, bool, type(None)})


def to_json_value(value: object) -> JsonValue:
    """A stored value as JSON: instants ISO 8601 in UTC, dates ISO, decimals as text."""
    # Fast paths for the exact types bulk rows are made of (an enrollment digests
    # ~600 rows); subclasses (enums, ...) take the general match below.
    kind = type(value)
    if kind in _AS_IS:
        return cast(JsonValue, value)
    if kind is dict:
        return {str(k): to_json_value(v) for k, v in cast(dict[object, object], value).items()}
    if kind is datetime and cast(datetime, value).tzinfo is UTC:
        return cast(datetime, value).isoformat(timespec="microseconds")
    match value:
        case None | bool() | int() | str():
            return value
        case Enum():
            return to_json_value(value.value)
        case datetime():
            if value.tzinfo is None:
                raise ValueError("naive datetime in an audit payload")
            return value.astimezone(UTC).isoformat(timespec="microseconds")
        case date():
            return value.isoformat()
        case Decimal():
            return str(value)
        case Mapping():
            return {str(k): to_json_value(v) for k, v in value.items()}
        case list() | tuple():
            return [to_json_value(v) for v in value]
    raise TypeError(f"cannot put a {type(value).__name__} in the audit trail")


def canonical_json(value: object) -> str:
    """Canonical JSON text: sorted keys, no spaces, non-ASCII kept as is."""
    return json.dumps(
        to_json_value(value),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        check_circular=False,  # to_json_value made a tree: no cycles
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_hash(record: AuditRecord) -> str:
    """The hash a record must carry: over every field but ``hash`` itself."""
    return _fields_hash(
        record.seq,
        to_json_value(record.at),
        record.actor,
        Entry(
            record.action,
            record.entity,
            record.entity_key,
            record.before,
            record.after,
            record.reason,
        ),
        record.prev_hash,
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """What one record says (the chain adds sequence, instant, actor and hashes).

    ``before`` and ``after`` are canonical JSON text (see :func:`canonical_json`).
    """

    action: str
    entity: str
    entity_key: str
    before: str | None = None
    after: str | None = None
    reason: str | None = None


def _fields_hash(seq: int, at: JsonValue, actor: str, entry: Entry, prev_hash: str) -> str:
    return sha256_hex(canonical_json(_fields(seq, at, actor, entry, prev_hash)))


def _fields(seq: int, at: object, actor: str, entry: Entry, prev_hash: str) -> dict[str, object]:
    """Every field of a record but its hash."""
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_key": entry.entity_key,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "prev_hash": prev_hash,
    }


def lock_head(session: Session) -> AuditHead:
    """Lock and return the chain head, creating it on first use.

    ``SELECT ... FOR UPDATE`` on PostgreSQL (ignored by SQLite, where the
    write transaction is already exclusive). The first append of a new
    database inserts the head with ``ON CONFLICT DO NOTHING`` so two first
    writers cannot both create it.

    The head is locked once per transaction: later calls in the same
    transaction return the row already locked (a lock is held until the
    transaction ends, savepoints or not), without a query. A savepoint rolled
    back expires the head, so it is read again then, as the savepoint left it.
    """
    transaction = session.get_transaction()
    held = session.info.get(_HEAD_KEY)
    if held is not None and transaction is not None and held[0] is transaction:
        return cast(AuditHead, held[1])
    query = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    head = session.exec(query).first()
    if head is None:
        values = {"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}
        if session.get_bind().dialect.name == "postgresql":
            session.execute(postgresql.insert(AuditHead).values(values).on_conflict_do_nothing())
        else:
            session.execute(sqlite.insert(AuditHead).values(values).on_conflict_do_nothing())
        head = session.exec(query.execution_options(populate_existing=True)).one()
    # Keyed by the transaction: a later transaction of the same session locks anew.
    session.info[_HEAD_KEY] = (session.get_transaction(), head)
    return head


_HEAD_KEY = "core.store.audit.head"


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_key: str,
    before: str | None = None,
    after: str | None = None,
    reason: str | None = None,
) -> int:
    """Append one record to the chain in the session's transaction; its sequence number.

    ``before`` and ``after`` are canonical JSON text (see
    :func:`canonical_json`) or None.
    """
    head = lock_head(session)
    entry = Entry(action, entity, entity_key, before, after, reason)
    seq, prev_hash = head.last_seq + 1, head.last_hash
    digest = _fields_hash(seq, to_json_value(at), check_actor(actor), entry, prev_hash)
    # A Core INSERT, not an ORM object: the record is never read back in this
    # transaction, and the ORM's bookkeeping cost more than the insert itself.
    # The head's new values go out with the session's next flush (at the latest
    # its commit); until then this transaction alone sees the head.
    session.execute(
        insert(_record_table()), {**_fields(seq, at, actor, entry, prev_hash), "hash": digest}
    )
    head.last_seq = seq
    head.last_hash = digest
    return seq


def _record_table() -> Table:
    table = sa_inspect(AuditRecord).local_table
    assert isinstance(table, Table)
    return table


def append_many(session: Session, *, at: datetime, actor: str, entries: Sequence[Entry]) -> int:
    """Append several records to the chain, in order, with one INSERT executed
    for all of them; returns the last sequence number.

    The records are exactly those :func:`append` would write one by one (a
    bulk enrollment audits every patient with its own records).
    """
    head = lock_head(session)
    if not entries:
        return head.last_seq
    check_actor(actor)
    at_json = to_json_value(at)
    seq, prev_hash = head.last_seq, head.last_hash
    rows: list[dict[str, object]] = []
    for entry in entries:
        seq += 1
        digest = _fields_hash(seq, at_json, actor, entry, prev_hash)
        rows.append({**_fields(seq, at, actor, entry, prev_hash), "hash": digest})
        prev_hash = digest
    session.execute(insert(_record_table()), rows)
    head.last_seq = seq
    head.last_hash = prev_hash
    session.flush()
    return seq


ProblemKind = Literal["hash", "link", "gap", "head"]


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """The first place where the chain does not hold.

    ``kind``: ``hash`` (the record's content does not match its hash: edited
    or moved), ``link`` (its ``prev_hash`` is not the previous record's hash),
    ``gap`` (sequence number ``seq`` is missing) or ``head`` (the head row
    disagrees with the last record: the tail was deleted).
    """

    seq: int
    kind: ProblemKind
    message: str


def verify_chain(session: Session, batch: int = 1000) -> AuditProblem | None:
    """Walk the records by ``seq``; return the first problem, or None if all hold."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    last: AuditRecord | None = None
    while True:
        query = (
            select(AuditRecord)
            .where(AuditRecord.seq >= expected_seq)
            .order_by(col(AuditRecord.seq))
            .limit(batch)
        )
        rows: Sequence[AuditRecord] = session.exec(query).all()
        if not rows:
            break
        for record in rows:
            if record.seq != expected_seq:
                return AuditProblem(
                    expected_seq,
                    "gap",
                    f"record {expected_seq} is missing (the next one is {record.seq})",
                )
            if record_hash(record) != record.hash:
                return AuditProblem(
                    record.seq,
                    "hash",
                    f"record {record.seq} does not match its hash (edited or moved)",
                )
            if record.prev_hash != prev_hash:
                return AuditProblem(
                    record.seq,
                    "link",
                    f"record {record.seq} does not link to record {record.seq - 1}",
                )
            prev_hash = record.hash
            expected_seq += 1
            last = record
    return _check_head(session, last)


def _check_head(session: Session, last: AuditRecord | None) -> AuditProblem | None:
    head = session.get(AuditHead, 1)
    last_seq = last.seq if last is not None else 0
    last_hash = last.hash if last is not None else GENESIS_HASH
    if head is None:
        if last is None:
            return None
        return AuditProblem(last_seq, "head", "the audit head row is missing")
    if head.last_seq == last_seq and head.last_hash == last_hash:
        return None
    if head.last_seq > last_seq:
        return AuditProblem(
            last_seq + 1,
            "head",
            f"record {last_seq + 1} is missing: the head says the chain ends at "
            f"{head.last_seq} but the last record is {last_seq}",
        )
    return AuditProblem(
        last_seq,
        "head",
        f"the head (record {head.last_seq}) does not match the last record ({last_seq})",
    )


def verify(session: Session) -> int | None:
    """The sequence number of the first record that does not hold, or None."""
    problem = verify_chain(session)
    return None if problem is None else problem.seq
