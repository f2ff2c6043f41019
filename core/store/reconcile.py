"""The database is the evidence: every clinical row must be what its audit records say.

Requirement: "``python -m bot audit verify`` also reconciles the data: every
clinical row ... must equal the state its audit records produce; a value
changed directly in its table is reported with the table, key, stored and
expected value".

Every service writes a clinical row through the unit of work
(:mod:`core.store.uow`), which records it whole when it is inserted
(``after`` = every column) and records the old and new value of each column
an update changes. Replaying a table's records in sequence order therefore
rebuilds each row; :func:`replay` does that, purely, and :func:`compare`
sets the result beside the stored rows. A row nobody recorded (inserted by
hand) and a recorded row that is gone (deleted by hand) are reported too.

Two kinds of rows are not recorded whole, and are reconciled on what is:

- reminders are inserted in bulk at enrollment (one digest per patient, see
  :mod:`core.store.enrollment`), unanswered; only the patient's answer
  (``response``, ``responded_at``) is reconciled, from ``reminder.answered``;
- a column a record does not name (one added by a later migration, read in
  an older record) is not known, so it is checked only once a later record
  sets it. Columns a record names that the table no longer has are ignored:
  older records stay readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from sqlalchemy import or_
from sqlmodel import Session, SQLModel, col, select

from core.store.audit import JsonValue, to_json_value
from core.store.models import (
    AdverseEvent,
    AuditRecord,
    Cd20Count,
    DoseAdministration,
    LabResult,
    Patient,
    ProtocolDeviation,
    Reminder,
    SledaiAssessment,
)
from core.store.uow import row_json, table_of

Row = dict[str, JsonValue]

# Where a row is absent on one side of a mismatch.
ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class AuditedTable:
    """A table reconciled against its audit records.

    ``whole_rows``: its rows are inserted with every column recorded; else
    they are created elsewhere and only ``columns`` are reconciled, each
    None until a record sets it.
    """

    model: type[SQLModel]
    whole_rows: bool = True
    columns: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return table_of(self.model).name


# The clinical tables: labs, doses, weights (on the patient), adverse events,
# SLEDAI-2K, CD20 counts, protocol deviations, patients, reminders' answers.
AUDITED: tuple[AuditedTable, ...] = (
    AuditedTable(Patient),
    AuditedTable(LabResult),
    AuditedTable(DoseAdministration),
    AuditedTable(AdverseEvent),
    AuditedTable(SledaiAssessment),
    AuditedTable(Cd20Count),
    AuditedTable(ProtocolDeviation),
    AuditedTable(Reminder, whole_rows=False, columns=("response", "responded_at")),
)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One value in a table that is not what the audit trail says it should be.

    ``column`` is None when the whole row is at issue: ``stored`` or
    ``expected`` is then :data:`ABSENT` (a row added or deleted outside the bot).
    """

    table: str
    key: str
    column: str | None
    stored: JsonValue
    expected: JsonValue

    def describe(self) -> str:
        where = f"{self.table} {self.key}"
        if self.column is None:
            if self.stored == ABSENT:
                return f"{where}: the audit trail has this row but the table does not (deleted)"
            return f"{where}: the table has this row but the audit trail never recorded it"
        return (
            f"{where} {self.column}: stored {_shown(self.stored)}, expected {_shown(self.expected)}"
        )


def _shown(value: JsonValue) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Change:
    """What one audit record says about one row: ``before`` and ``after`` as JSON."""

    entity_key: str
    before: Mapping[str, JsonValue] | None
    after: Mapping[str, JsonValue] | None


def replay(
    table: AuditedTable, columns: Iterable[str], changes: Iterable[Change]
) -> dict[str, Row]:
    """The rows the records produce, by key: what the table must hold (pure).

    ``columns`` are the table's current columns; ``changes`` its records in
    sequence order. A record without ``before`` inserts the row (whole rows);
    one with ``before`` changes the columns it names. A record for several rows
    at once (a batch of reminders, keyed ``1,2,3``) names no column reconciled here.
    """
    known = set(columns)
    reconciled = known if table.whole_rows else set(table.columns)
    rows: dict[str, Row] = {}
    for change in changes:
        if change.after is None or "," in change.entity_key:
            continue
        values = {k: v for k, v in change.after.items() if k in reconciled}
        if change.before is None and table.whole_rows:
            rows[change.entity_key] = values
        elif values:
            row = rows.setdefault(change.entity_key, {} if table.whole_rows else _unset(table))
            row.update(values)
    return rows


def _unset(table: AuditedTable) -> Row:
    return dict.fromkeys(table.columns)


def compare(
    table: AuditedTable, expected: Mapping[str, Row], stored: Mapping[str, Row]
) -> list[Mismatch]:
    """Every difference between the rows the trail produces and the stored ones (pure).

    Only the columns the trail knows for a row are compared. For a table whose
    rows are not recorded whole, a stored row the trail does not name must
    have its reconciled columns unset.
    """
    name = table.name
    out: list[Mismatch] = []
    for key in sorted(expected.keys() | stored.keys(), key=_key_order):
        want, have = expected.get(key), stored.get(key)
        if have is None:
            if table.whole_rows:
                out.append(Mismatch(name, key, None, ABSENT, "present"))
            continue
        if want is None:
            if table.whole_rows:
                out.append(Mismatch(name, key, None, "present", ABSENT))
                continue
            want = _unset(table)
        out += [
            Mismatch(name, key, column, have.get(column), value)
            for column, value in want.items()
            if have.get(column) != value
        ]
    return out


def _key_order(key: str) -> tuple[int, ...] | tuple[float, str]:
    try:
        return tuple(int(part) for part in key.split(","))
    except ValueError:
        return (float("inf"), key)


# --- reading the database ------------------------------------------------------------------


def _changes(session: Session, table: AuditedTable) -> Iterator[Change]:
    query = (
        select(AuditRecord.entity_key, AuditRecord.before, AuditRecord.after)
        .where(AuditRecord.entity == table.name)
        .order_by(col(AuditRecord.seq))
        .execution_options(yield_per=1000)
    )
    if not table.whole_rows:
        # A reminder is recorded at each send and receipt; only the records that name
        # an answer column are read (a value that merely contains the name is let through
        # and dropped by replay).
        recorded = col(AuditRecord.after)
        query = query.where(or_(*(recorded.contains(f'"{c}"') for c in table.columns)))
    for key, before, after in session.exec(query):
        yield Change(key, _json_object(before), _json_object(after))


def _json_object(text: str | None) -> Mapping[str, JsonValue] | None:
    if text is None:
        return None
    value = json.loads(text)
    return cast(Mapping[str, JsonValue], value) if isinstance(value, dict) else None


def _stored_whole(session: Session, model: type[SQLModel]) -> dict[str, Row]:
    rows = session.exec(select(model).execution_options(yield_per=1000))
    return {_pk(row): row_json(row) for row in rows}


def _pk(row: SQLModel) -> str:
    # Every audited table has the integer key ``id`` (what ``primary_key_text`` records).
    return str(getattr(row, "id"))  # noqa: B009


def _stored_columns(session: Session, table: AuditedTable, keys: Iterable[str]) -> dict[str, Row]:
    """The reconciled columns of the rows that have any set, and of ``keys``.

    The others are unset, as an unanswered reminder must be; reading only these
    keeps a trial of thousands of patients' reminders out of memory.
    """
    t = table_of(table.model)
    cols = [t.c[c] for c in table.columns]
    ids = sorted({int(k) for k in keys})
    found: dict[str, Row] = {}
    queries = [select(t.c.id, *cols).where(or_(*(c.is_not(None) for c in cols)))]
    queries += [
        select(t.c.id, *cols).where(t.c.id.in_(ids[i : i + 500])) for i in range(0, len(ids), 500)
    ]
    for query in queries:
        for row in session.execute(query):
            found[str(row[0])] = {
                c: to_json_value(v) for c, v in zip(table.columns, row[1:], strict=True)
            }
    return found


def reconcile_table(session: Session, table: AuditedTable) -> list[Mismatch]:
    """The table's stored rows against the state its audit records produce."""
    columns = [c.key for c in table_of(table.model).columns]
    expected = replay(table, columns, _changes(session, table))
    if table.whole_rows:
        stored = _stored_whole(session, table.model)
    else:
        stored = _stored_columns(session, table, expected.keys())
    return compare(table, expected, stored)


def reconcile(session: Session, tables: Iterable[AuditedTable] = AUDITED) -> list[Mismatch]:
    """Every clinical value that differs from what the audit trail produces."""
    out: list[Mismatch] = []
    for table in tables:
        out += reconcile_table(session, table)
    return out
