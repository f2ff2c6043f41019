"""Enrollment: a patient, the plan's events and every reminder, in one transaction.

Requirement: "Enrolling a patient writes the patient, the planned events and
every reminder in one transaction, in bulk (not one INSERT round-trip per
row)", and "reminders already past are recorded as not sent and never
sent late". The benchmark (``make bench``) enrolls 10,000 patients at >= 50,000
reminder rows/s into SQLite, which is why the rows go to the driver in
storage form (:mod:`core.store.bulk`) and why a cohort is enrolled by
:func:`enroll_patients` in one unit of work: every patient still gets their
own three audit records, and the whole cohort is stored or none of it.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import TypeVar, cast

from sqlalchemy import func, select

from core.messages import N_, RuleError
from core.protocol import Protocol
from core.schedule import Enrollment, EventKind, Plan, plan
from core.store.audit import Entry, canonical_json
from core.store.bulk import Row, allocate_ids, date_text, insert_rows, instant_text, rows_sha256
from core.store.models import (
    EventStatus,
    Language,
    Patient,
    PatientStatus,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    Sex,
)
from core.store.types import check_decimal_text
from core.store.uow import UnitOfWork, row_json, table_of

log = logging.getLogger(__name__)

MISSED_AT_ENROLLMENT = "due before enrollment; never sent late"

EVENT_COLUMNS = (
    "id",
    "patient_id",
    "kind",
    "number",
    "week",
    "target_date",
    "scheduled_date",
    "window_before",
    "window_after",
    "starts_at",
    "ends_at",
    "status",
)
REMINDER_COLUMNS = (
    "id",
    "patient_id",
    "event_id",
    "slot",
    "due_at",
    "announces_at",
    "status",
    "attempts",
    "last_error",
    "is_repeat",
    "revision",
)
# Positions in the rows before their id is put in front.
_DUE = itemgetter(REMINDER_COLUMNS.index("due_at") - 1)
_KIND_RANK = {kind.value: rank for rank, kind in enumerate(EventKind)}
# Bound parameters per statement stay far below SQLite's and PostgreSQL's limits.
_IN_CHUNK = 500

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Newcomer:
    """One patient to enroll, as entered by the coordinator.

    ``weight_kg`` is the text entered (validated as a decimal number; stored
    exactly). ``birth_year`` and ``consent_date`` are checked by the caller
    (:func:`core.enrollment.parse_birth_year`, :func:`core.enrollment.check_consent_date`);
    None stores NULL, as for patients enrolled before they were asked.
    """

    study_id: str
    arm: str
    day0: date
    sex: Sex | str
    weight_kg: str
    language: Language | str
    timezone: str
    daily_dose_reminders: bool
    birth_year: int | None = None
    consent_date: date | None = None


@dataclass(frozen=True, slots=True)
class PlanRows:
    """A plan in storage form, without the ids a patient's rows will get.

    ``events``: the event columns after ``id`` and ``patient_id``, in plan
    order; ``reminders``: (index into ``events``, slot, due, announces), in
    due order.
    """

    events: tuple[Row, ...]
    reminders: tuple[tuple[int, str, str, str], ...]
    dues: tuple[str, ...]  # the reminders' due instants, in order
    # Each event's place in plan order: (starts_at, kind, number).
    event_order: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, the_plan: Plan) -> PlanRows:
        events: list[Row] = []
        keys: list[tuple[str, int]] = []
        for e in the_plan.events:
            keys.append((e.kind.value, e.number))
            events.append(
                (
                    e.kind.value,
                    e.number,
                    e.week,
                    date_text(e.target_date),
                    date_text(e.scheduled_date),
                    e.window_before,
                    e.window_after,
                    instant_text(e.starts_at),
                    None if e.ends_at is None else instant_text(e.ends_at),
                    EventStatus.PLANNED.value,
                )
            )
        index = {key: i for i, key in enumerate(keys)}
        reminders = tuple(
            (
                index[(r.event_kind.value, r.event_number)],
                r.slot.value,
                instant_text(r.due),
                instant_text(r.announces),
            )
            for r in the_plan.reminders
        )
        dues = tuple(due for _, _, due, _ in reminders)
        if list(dues) != sorted(dues):
            raise ValueError("a plan's reminders must be in due order")
        order = tuple(
            (instant_text(e.starts_at), _KIND_RANK[e.kind.value], e.number) for e in the_plan.events
        )
        if list(order) != sorted(order):
            raise ValueError("a plan's events must be in plan order")
        return cls(tuple(events), reminders, dues, order)


class _PlanRowsCache:
    """The storage-form plans of the last few (protocol, enrollment) pairs.

    A plan is a pure function of the protocol and the enrollment (arm, day 0,
    time zone, dose reminders), and the patients of a cohort share them: a
    single-centre trial enrolls at most a few patients on any one day. The
    protocol is compared by identity (it is not hashable) and kept alive by
    its entry, so an id is never mistaken for another protocol's.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, Enrollment], tuple[Protocol, PlanRows]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, protocol: Protocol, enrollment: Enrollment) -> PlanRows:
        key = (id(protocol), enrollment)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] is protocol:
                self._entries.move_to_end(key)
                return hit[1]
        rows = PlanRows.of(plan(protocol, enrollment))  # may raise RuleError: nothing cached
        with self._lock:
            self._entries[key] = (protocol, rows)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return rows


_PLANS = _PlanRowsCache(size=128)


def plan_rows(protocol: Protocol, enrollment: Enrollment) -> PlanRows:
    """The enrollment's plan (``core.schedule.plan``) in storage form."""
    return _PLANS.get(protocol, enrollment)


def enroll_patient(
    uow: UnitOfWork,
    protocol: Protocol,
    *,
    study_id: str,
    arm: str,
    day0: date,
    sex: Sex | str,
    weight_kg: str,
    language: Language | str,
    timezone: str,
    daily_dose_reminders: bool,
    birth_year: int | None = None,
    consent_date: date | None = None,
    now: datetime | None = None,
) -> Patient:
    """Enroll a patient: the patient, the plan's events and every reminder, in one transaction.

    The plan is ``core.schedule.plan``. A reminder due before ``now``
    (default: the unit of work's instant) is stored as ``missed`` with
    :data:`MISSED_AT_ENROLLMENT` and never sent late. The audit trail gets
    three records: ``patient.enrolled`` (the whole row), then
    ``plan.events_created`` and ``plan.reminders_created``, each with the row
    count and :func:`core.store.bulk.rows_sha256` of the rows as inserted
    (columns :data:`EVENT_COLUMNS` and :data:`REMINDER_COLUMNS`, rows in id
    order). A study ID already enrolled is refused with a :class:`RuleError`;
    bad values raise before anything is written.
    """
    newcomer = Newcomer(
        study_id,
        arm,
        day0,
        sex,
        weight_kg,
        language,
        timezone,
        daily_dose_reminders,
        birth_year,
        consent_date,
    )
    (patient_id,) = enroll_patients(uow, protocol, [newcomer], now=now)
    patient = uow.session.get(Patient, patient_id)
    assert patient is not None
    return patient


def enroll_patients(
    uow: UnitOfWork,
    protocol: Protocol,
    newcomers: Sequence[Newcomer],
    *,
    now: datetime | None = None,
) -> list[int]:
    """Enroll every newcomer in the unit of work's transaction; their patient ids, in order.

    Each patient gets the rows and audit records :func:`enroll_patient`
    describes (one INSERT per table for the whole cohort). Every value is
    checked before anything is written; a study ID already enrolled, or
    given twice, refuses the whole cohort with a :class:`RuleError`.
    """
    moment = now if now is not None else uow.now
    patients = [_patient(protocol, n, moment) for n in newcomers]
    _refuse_duplicates(uow, [p.study_id for p, _ in patients])
    if not patients:
        return []
    connection = uow.session.connection()
    patient_table = table_of(Patient)
    event_table, reminder_table = table_of(PlannedEventRow), table_of(Reminder)

    # Ids are reserved, not read back, so rows can name each other at once.
    # The cohort's rows go in in time order (events by start, reminders by
    # due), numbered in that order: the table is appended to and each index
    # on a date is filled in one sweep, not at a random page for every row
    # (bench.run at 10,000 patients: 27,000 -> 58,000 reminder rows/s). A
    # patient's rows are thus numbered in plan order, as one by one.
    patient_ids = allocate_ids(connection, patient_table, len(patients))
    for (p, _), pid in zip(patients, patient_ids, strict=True):
        p.id = pid
    # A column no newcomer gives a value (the year of birth and consent date of a
    # cohort enrolled without them) is left out: NULL either way, and the INSERT
    # names only what is stored, so it also runs on a schema from before that column.
    given = [
        c.key
        for c in patient_table.columns
        if any(getattr(p, c.key) is not None for p, _ in patients)
    ]
    connection.execute(
        patient_table.insert(),
        [{key: getattr(p, key) for key in given} for p, _ in patients],
    )

    order = sorted(
        (*key, k, i)
        for k, (_, rows) in enumerate(patients)
        for i, key in enumerate(rows.event_order)
    )
    event_ids = allocate_ids(connection, event_table, len(order))
    ids_of: list[list[int]] = [[0] * len(rows.events) for _, rows in patients]
    events_of: list[list[Row]] = [[] for _ in patients]
    all_events: list[Row] = []
    for eid, (_, _, _, k, i) in zip(event_ids, order, strict=True):
        ids_of[k][i] = eid
        row = (eid, patient_ids[k], *patients[k][1].events[i])
        events_of[k].append(row)
        all_events.append(row)
    insert_rows(connection, event_table, EVENT_COLUMNS, all_events)

    now_text = instant_text(moment)
    unnumbered: list[Row] = []
    missed_of: list[int] = []
    for (_, rows), pid, ids in zip(patients, patient_ids, ids_of, strict=True):
        reminders, missed = _reminders(pid, ids, rows, now_text)
        unnumbered += reminders
        missed_of.append(missed)
    unnumbered.sort(key=_DUE)
    reminder_ids = allocate_ids(connection, reminder_table, len(unnumbered))
    all_reminders = [(rid, *row) for rid, row in zip(reminder_ids, unnumbered, strict=True)]
    insert_rows(connection, reminder_table, REMINDER_COLUMNS, all_reminders)

    reminders_of: dict[int, list[Row]] = {pid: [] for pid in patient_ids}
    for row in all_reminders:
        reminders_of[cast(int, row[1])].append(row)
    entries: list[Entry] = []
    for (p, _), pid, events, missed in zip(
        patients, patient_ids, events_of, missed_of, strict=True
    ):
        reminders = reminders_of[pid]
        entries += _audit_entries(p, pid, events, reminders, missed)
        log.info(
            "enrolled %s (patient %d): %d events, %d reminders, %d already past",
            p.study_id,
            pid,
            len(events),
            len(reminders),
            missed,
        )
    uow.audit_many(entries)
    return patient_ids


def _patient(protocol: Protocol, n: Newcomer, moment: datetime) -> tuple[Patient, PlanRows]:
    """The patient row and plan of a newcomer; raises on any bad value."""
    sex = Sex(n.sex)
    language = Language(n.language)
    weight = check_decimal_text(n.weight_kg)
    rows = plan_rows(protocol, Enrollment(n.arm, n.day0, n.timezone, n.daily_dose_reminders))
    patient = Patient(
        study_id=n.study_id,
        arm=n.arm,
        day0=n.day0,
        sex=sex,
        weight_kg=weight,
        language=language,
        timezone=n.timezone,
        daily_dose_reminders=n.daily_dose_reminders,
        status=PatientStatus.ACTIVE,
        created_at=moment,
        birth_year=n.birth_year,
        consent_date=n.consent_date,
    )
    return patient, rows


def _refuse_duplicates(uow: UnitOfWork, study_ids: list[str]) -> None:
    # Study IDs are found whatever their case (core.store.models.study_id_is), so
    # ``p01`` is a duplicate of ``P01``.
    seen: set[str] = set()
    for study_id in study_ids:
        if study_id.lower() in seen:
            raise RuleError(N_("Study ID {study_id} is already enrolled."), study_id=study_id)
        seen.add(study_id.lower())
    column = table_of(Patient).c.study_id
    for chunk in _chunks(study_ids):
        folded = [study_id.lower() for study_id in chunk]
        taken = (
            uow.session.execute(select(column).where(func.lower(column).in_(folded)))
            .scalars()
            .first()
        )
        if taken is not None:
            raise RuleError(N_("Study ID {study_id} is already enrolled."), study_id=taken)


def _reminders(
    pid: int, event_ids: list[int], rows: PlanRows, now_text: str
) -> tuple[list[Row], int]:
    """A patient's reminder rows without their ids, in plan order, and how
    many are ``missed``: those due before now.

    ``event_ids`` are the patient's events' ids in plan order. The plan is in
    due order and storage-form instants compare as text in time order (fixed
    width, UTC), so the missed ones are a prefix.
    """
    missed = bisect_left(rows.dues, now_text)
    missed_status, pending_status = ReminderStatus.MISSED.value, ReminderStatus.PENDING.value
    out: list[Row] = [
        (pid, event_ids[i], slot, due, announces, missed_status, 0, MISSED_AT_ENROLLMENT, False, 0)
        for i, slot, due, announces in rows.reminders[:missed]
    ]
    out += [
        (pid, event_ids[i], slot, due, announces, pending_status, 0, None, False, 0)
        for i, slot, due, announces in rows.reminders[missed:]
    ]
    return out, missed


def _audit_entries(
    patient: Patient, pid: int, events: list[Row], reminders: list[Row], missed: int
) -> list[Entry]:
    summary: dict[str, object] = {"patient_id": pid, "study_id": patient.study_id}
    return [
        Entry("patient.enrolled", "patient", str(pid), after=canonical_json(row_json(patient))),
        Entry(
            "plan.events_created",
            "planned_event",
            str(pid),
            after=canonical_json(
                {
                    "count": len(events),
                    "rows_sha256": rows_sha256(EVENT_COLUMNS, events),
                    **summary,
                }
            ),
        ),
        Entry(
            "plan.reminders_created",
            "reminder",
            str(pid),
            after=canonical_json(
                {
                    "count": len(reminders),
                    "rows_sha256": rows_sha256(REMINDER_COLUMNS, reminders),
                    **summary,
                    "missed": missed,
                }
            ),
        ),
    ]


def _chunks(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]
