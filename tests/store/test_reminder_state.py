"""The one owner of a reminder's status (:mod:`core.store.reminder_state`).

Two things are checked: the table of allowed moves, cell by cell, against the
moves the trial's writers make (each listed below with the writer that needs
it), through both the one-row and the batch door; and that no module but the
owner writes a reminder's status (a scan of the source of ``core``,
``scheduler`` and ``bot``).
"""

from __future__ import annotations

import ast
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from core.protocol import Protocol
from core.store import reminder_state
from core.store.db import make_engine, read_session
from core.store.models import AuditRecord, Reminder, ReminderStatus
from core.store.reminder_state import ALLOWED, IllegalTransition, move, move_many
from core.store.uow import UnitOfWork
from tests.support.store_fixtures import enroll

S = ReminderStatus
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "core" / "store" / "reminder_state.py"

# Every move the code makes, and who makes it: the table must hold these and no other.
EXPECTED: dict[tuple[ReminderStatus, ReminderStatus], str] = {
    (S.PENDING, S.SENDING): "services.claim_due_reminders",
    (S.PENDING, S.CANCELLED): "coordination.withdraw_patient, _replace_reminders",
    (S.PENDING, S.SKIPPED): "bot.staff.clinical.mark_event_done",
    (S.PENDING, S.MISSED): "coordination._replace_reminders (new time past)",
    (S.PENDING, S.PENDING): "coordination._replace_reminders (new time future)",
    (S.PENDING, S.UNCERTAIN): "restore.mark_restored_uncertain",
    (S.SENDING, S.SENT): "services.mark_reminder_sent",
    (S.SENDING, S.FAILED): "services.mark_reminder_failed (no retry)",
    (S.SENDING, S.PENDING): (
        "services.mark_reminder_failed (retry), outbox.release, services.release_never_handed"
    ),
    (S.SENDING, S.UNCERTAIN): (
        "outbox.mark_uncertain, services.mark_interrupted_uncertain, "
        "restore.mark_restored_uncertain"
    ),
    (S.SENDING, S.SKIPPED): "outbox.mark_skipped",
    (S.SENDING, S.MISSED): "outbox.mark_missed",
    (S.SENT, S.DELIVERED): "delivery.record_receipt (delivered)",
    (S.SENT, S.FAILED): "delivery.record_receipt (refused)",
    (S.SENT, S.UNCERTAIN): "delivery.record_receipt (failed otherwise)",
    (S.UNCERTAIN, S.PENDING): "outbox.schedule_repeat",
    (S.SKIPPED, S.PENDING): "coordination._replace_reminders (slot reused)",
    (S.SKIPPED, S.MISSED): "coordination._replace_reminders (slot reused, past)",
    (S.MISSED, S.PENDING): "coordination._replace_reminders (slot reused)",
    (S.MISSED, S.MISSED): "coordination._replace_reminders (slot reused, past)",
    (S.CANCELLED, S.PENDING): "coordination._replace_reminders (slot reused)",
    (S.CANCELLED, S.MISSED): "coordination._replace_reminders (slot reused, past)",
}
CELLS = list(itertools.product(ReminderStatus, repeat=2))


# --- the table -----------------------------------------------------------------------


def test_the_table_names_every_status_and_only_statuses() -> None:
    assert set(ALLOWED) == set(ReminderStatus)
    for targets in ALLOWED.values():
        assert isinstance(targets, frozenset)
        assert targets <= set(ReminderStatus)


@pytest.mark.parametrize(("before", "after"), CELLS, ids=[f"{a}->{b}" for a, b in CELLS])
def test_the_table_cell_matches_what_the_writers_do(
    before: ReminderStatus, after: ReminderStatus
) -> None:
    assert (after in ALLOWED[before]) == ((before, after) in EXPECTED)


# --- the doors -----------------------------------------------------------------------


class World(NamedTuple):
    engine: Engine
    template: Reminder  # an enrolled reminder: its patient, event and slot


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> Iterator[World]:
    """One SQLite database for the whole table (the rule does not depend on the backend)."""
    path = tmp_path_factory.mktemp("reminder-state") / "trial.db"
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    enroll(engine, protocol)
    with read_session(engine) as session:
        template = session.execute(select(Reminder).limit(1)).scalars().one()
    try:
        yield World(engine, template)
    finally:
        engine.dispose()


_revisions = itertools.count(1000)


def _new_reminder(world: World, status: ReminderStatus) -> int:
    """A fresh reminder created in ``status`` (its own revision of the template's slot)."""
    t = world.template
    with UnitOfWork(world.engine, "system", NOW) as uow:
        row = uow.add(
            Reminder(
                patient_id=t.patient_id,
                event_id=t.event_id,
                slot=t.slot,
                revision=next(_revisions),
                due_at=t.due_at,
                announces_at=t.announces_at,
                status=status,
            ),
            "reminder.created",
        )
    assert row.id is not None
    return row.id


def _last_audit(engine: Engine) -> AuditRecord:
    with read_session(engine) as session:
        last = session.execute(select(func.max(AuditRecord.seq))).scalar_one()
        record = session.get(AuditRecord, last)
    assert record is not None
    return record


def _stored(engine: Engine, reminder_id: int) -> Reminder:
    with read_session(engine) as session:
        row = session.get(Reminder, reminder_id)
    assert row is not None
    return row


@pytest.mark.parametrize(("before", "after"), CELLS, ids=[f"{a}->{b}" for a, b in CELLS])
def test_move_does_an_allowed_move_audited_and_refuses_any_other(
    world: World, before: ReminderStatus, after: ReminderStatus
) -> None:
    reminder_id = _new_reminder(world, before)
    seq = _last_audit(world.engine).seq
    with UnitOfWork(world.engine, "system", NOW) as uow:
        row = uow.session.get(Reminder, reminder_id)
        assert row is not None
        if (before, after) in EXPECTED:
            move(uow, row, after, "reminder.test", last_error="moved")
        else:
            with pytest.raises(IllegalTransition, match=f"{before.value} -> {after.value}"):
                move(uow, row, after, "reminder.test", last_error="moved")
            assert (row.status, row.last_error) == (before, None)
    stored = _stored(world.engine, reminder_id)
    record = _last_audit(world.engine)
    if (before, after) not in EXPECTED:
        assert (stored.status, stored.last_error) == (before, None)
        assert record.seq == seq  # nothing audited
        return
    assert (stored.status, stored.last_error) == (after, "moved")
    assert (record.seq, record.action, record.entity) == (seq + 1, "reminder.test", "reminder")
    assert record.entity_key == str(reminder_id)
    assert record.after is not None and record.before is not None
    # The audited update records what changed: the status unless it stays.
    same = before == after
    assert json.loads(record.after) == {"last_error": "moved"} | (
        {} if same else {"status": after.value}
    )
    assert json.loads(record.before) == {"last_error": None} | (
        {} if same else {"status": before.value}
    )


@pytest.mark.parametrize(("before", "after"), CELLS, ids=[f"{a}->{b}" for a, b in CELLS])
def test_move_many_moves_a_batch_under_one_record_or_refuses_it_whole(
    world: World, before: ReminderStatus, after: ReminderStatus
) -> None:
    # First a row that may make the move when any may, so a refusal must undo it.
    first = next((s for s in ReminderStatus if (s, after) in EXPECTED), before)
    ids = [_new_reminder(world, first), _new_reminder(world, before), _new_reminder(world, before)]
    seq = _last_audit(world.engine).seq
    allowed = (before, after) in EXPECTED
    with UnitOfWork(world.engine, "system", NOW) as uow:
        rows = [uow.session.get(Reminder, i) for i in ids]
        batch = [r for r in rows if r is not None]
        assert len(batch) == 3
        if allowed:
            moved = move_many(
                uow,
                batch,
                after,
                "reminder.test",
                changes={"last_error": "batch"},
                before={"status": "mixed"},
                after={"note": "n"},
                reason="why",
            )
            assert moved == ids
        else:
            with pytest.raises(IllegalTransition, match=f"{before.value} -> {after.value}"):
                move_many(uow, batch, after, "reminder.test", changes={"last_error": "batch"})
            assert [r.status for r in batch] == [first, before, before]
            assert all(r.last_error is None for r in batch)
    stored = [_stored(world.engine, i) for i in ids]
    record = _last_audit(world.engine)
    if not allowed:
        assert [(r.status, r.last_error) for r in stored] == [(first, None)] + [(before, None)] * 2
        assert record.seq == seq  # nothing audited
        return
    assert [(r.status, r.last_error) for r in stored] == [(after, "batch")] * 3
    assert (record.seq, record.action, record.reason) == (seq + 1, "reminder.test", "why")
    assert record.entity_key == ",".join(str(i) for i in ids)
    assert record.after is not None and record.before is not None
    assert json.loads(record.after) == {"ids": ids, "status": after.value, "note": "n"}
    assert json.loads(record.before) == {"status": "mixed"}


def test_an_empty_batch_writes_nothing(world: World) -> None:
    seq = _last_audit(world.engine).seq
    with UnitOfWork(world.engine, "system", NOW) as uow:
        assert move_many(uow, [], S.CANCELLED, "reminder.cancelled") == []
    assert _last_audit(world.engine).seq == seq


def test_the_status_is_only_the_target_argument(world: World) -> None:
    reminder_id = _new_reminder(world, S.PENDING)
    with UnitOfWork(world.engine, "system", NOW) as uow:
        row = uow.session.get(Reminder, reminder_id)
        assert row is not None
        with pytest.raises(TypeError, match="'to'"):
            move(uow, row, S.SENDING, "reminder.test", status=S.SENT)
        with pytest.raises(TypeError, match="'to'"):
            move_many(uow, [row], S.SENDING, "reminder.test", changes={"status": S.SENT})
        with pytest.raises(AttributeError, match="no column"):
            move_many(uow, [row], S.SENDING, "reminder.test", changes={"colour": "red"})
        assert row.status == S.PENDING


def test_require_names_the_status_found(world: World) -> None:
    row = world.template.model_copy(update={"id": 7, "status": S.FAILED})
    reminder_state.require(row, S.FAILED)
    with pytest.raises(ValueError, match="reminder 7 is failed, not sending"):
        reminder_state.require(row, S.SENDING)
    with pytest.raises(ValueError, match="not one of pending, sending"):
        reminder_state.require(row, S.SENDING, S.PENDING)


# --- nobody else writes the status ----------------------------------------------------


def _mentions(node: ast.AST, names: set[str]) -> bool:
    """Whether ``node`` names ``ReminderStatus`` (by one of ``names``, or as an attribute)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in names:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr == "ReminderStatus":
            return True
    return False


def _assignment(node: ast.AST) -> tuple[list[ast.expr], ast.expr | None]:
    """An assignment's targets and value (none for anything else)."""
    if isinstance(node, ast.Assign):
        return node.targets, node.value
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target], node.value
    return [], None


def _reminder_names(tree: ast.Module) -> set[str]:
    """``ReminderStatus``, its import aliases, and names bound to an expression naming it."""
    names = {"ReminderStatus"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {a.asname for a in node.names if a.name == "ReminderStatus" and a.asname}
    for _ in range(3):  # a name bound from a name bound from ReminderStatus, and so on
        for node in ast.walk(tree):
            targets, value = _assignment(node)
            if value is not None and _mentions(value, names):
                for target in targets:
                    names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _is_reminderish(node: ast.AST) -> bool:
    return "reminder" in ast.unparse(node).lower()


def _is_reminder_update(call: ast.Call) -> bool:
    """``update(Reminder)`` (an SQL UPDATE of the table) somewhere in ``call``'s chain."""
    for sub in ast.walk(call.func):
        if isinstance(sub, ast.Call) and sub.args:
            name = ast.unparse(sub.func).rsplit(".", 1)[-1]
            if name in {"update", "sa_update"} and ast.unparse(sub.args[0]) == "Reminder":
                return True
    return False


def status_writes(source: str) -> list[str]:
    """The places in ``source`` that write a reminder's status, as ``line: code``.

    Flagged: an assignment to ``<x>.status`` (or ``setattr(x, "status", ...)``)
    and a ``status=`` argument (or a ``"status"`` key of ``**{...}`` or of an
    UPDATE's ``.values({...})``), when the value names ``ReminderStatus`` (an
    alias, or a name bound from it), or the object or a call argument is a
    reminder (its text says "reminder", an audit action "reminder.*"), or the
    call is ``update(Reminder)...``. Not flagged: constructing a
    ``Reminder(...)`` (its creation), and statuses of patients, events,
    actions, whose values name their own enums.
    """
    tree = ast.parse(source)
    names = _reminder_names(tree)
    found: list[str] = []

    def flag(node: ast.AST) -> None:
        found.append(f"{getattr(node, 'lineno', '?')}: {ast.unparse(node)}")

    for node in ast.walk(tree):
        targets, value = _assignment(node)
        written = [
            sub.value
            for target in targets
            for sub in ast.walk(target)
            if isinstance(sub, ast.Attribute) and sub.attr == "status"
        ]
        reminder_value = value is not None and _mentions(value, names)
        if written and (reminder_value or any(_is_reminderish(obj) for obj in written)):
            flag(node)
        if not isinstance(node, ast.Call):
            continue
        callee = ast.unparse(node.func)
        if callee == "Reminder" or callee.endswith(".Reminder"):
            continue  # creation, not a move
        if callee == "setattr" and len(node.args) == 3:
            obj, key, value = node.args
            named = isinstance(key, ast.Constant) and key.value == "status"
            if named and (_mentions(value, names) or _is_reminderish(obj)):
                flag(node)
            continue
        values: list[ast.expr] = [k.value for k in node.keywords if k.arg == "status"]
        for mapping in [k.value for k in node.keywords if k.arg is None] + list(node.args):
            if isinstance(mapping, ast.Dict):
                values += [
                    v
                    for k, v in zip(mapping.keys, mapping.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == "status"
                ]
        if not values:
            continue
        action = any(
            isinstance(a, ast.Constant)
            and isinstance(a.value, str)
            and a.value.startswith("reminder.")
            for a in node.args
        )
        about_reminder = action or any(
            isinstance(a, ast.Name | ast.Attribute) and _is_reminderish(a) for a in node.args
        )
        if about_reminder or _is_reminder_update(node) or any(_mentions(v, names) for v in values):
            flag(node)
    return found


def _scanned() -> list[Path]:
    files = [p for d in ("core", "scheduler", "bot") for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 50 and OWNER in files
    return [p for p in files if p != OWNER]


def test_no_module_but_the_owner_writes_a_reminder_status() -> None:
    offenders = {
        str(path.relative_to(ROOT)): writes
        for path in _scanned()
        if (writes := status_writes(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, (
        "change a reminder's status through core.store.reminder_state.move / move_many"
    )


BAD = [
    "reminder.status = ReminderStatus.SENT",
    "row.status = ReminderStatus.CANCELLED",
    "r.status, r.last_error = RS.MISSED, 'x'",
    "uow.update(row, 'reminder.cancelled', status=ReminderStatus.CANCELLED)",
    "uow.update(reminder, 'x', status=new)",
    "uow.update(row, 'reminder.rescheduled', status=new)",
    "uow.update(row, 'x', status=S.MISSED if past else S.PENDING)",
    "uow.update(row, 'x', **{'status': models.ReminderStatus.SENT})",
    "setattr(reminder, 'status', value)",
    "session.execute(update(Reminder).where(x).values(status='cancelled'))",
    "session.execute(sa.update(Reminder).values({'status': 'sent'}))",
    "done = RS.SKIPPED\nuow.update(row, 'x', status=done)",
]
PREAMBLE = "from core.store.models import ReminderStatus as RS\nS = ReminderStatus\n"


@pytest.mark.parametrize("code", BAD)
def test_the_scan_sees_a_status_write(code: str) -> None:
    assert status_writes(PREAMBLE + code), code


GOOD = [
    "uow.update(patient, 'patient.withdrawn', status=PatientStatus.WITHDRAWN)",
    "uow.update(row, 'event.rescheduled', status=status)",
    "uow.update(action, 'action.expired', status=ActionStatus.EXPIRED)",
    "uow.add(Reminder(slot=s, status=ReminderStatus.MISSED), 'reminder.created')",
    "self.status = status",
    "record.status, record.description = exc.status, exc.description",
    "query.where(Reminder.status == ReminderStatus.PENDING)",
    "session.execute(update(Reminder).values(due_at=instant))",
    "move(uow, reminder, RS.SKIPPED, 'reminder.skipped', last_error='event done')",
]


@pytest.mark.parametrize("code", GOOD)
def test_the_scan_leaves_other_statuses_alone(code: str) -> None:
    assert status_writes(PREAMBLE + code) == [], code


def test_the_scan_sees_the_owners_own_writes() -> None:
    """The owner does write the status, so a scan that found nothing there would be blind."""
    assert len(status_writes(OWNER.read_text(encoding="utf-8"))) >= 2
