"""A patient's answer to a reminder: recorded once, against that reminder.

Requirement: "the bot records each press against the right reminder, and a
second press changes nothing". An answer counts only when it comes from the
patient the reminder belongs to, is one of that slot's choices, and the
reminder went out (``sent`` or ``delivered``, or ``uncertain``: it may have arrived). The
first answer is kept. The unit of work holds the writers' lock, so two
answers at the same moment cannot both be first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from core.schedule import EventKind, Slot
from core.store.models import DoseAdministration, PlannedEventRow, Reminder, ReminderStatus
from core.store.uow import UnitOfWork
from core.vocabulary import ORAL_DRUGS

# A reminder can be answered once it may have reached the patient.
_ANSWERABLE = (ReminderStatus.SENT, ReminderStatus.DELIVERED, ReminderStatus.UNCERTAIN)


class Outcome(Enum):
    RECORDED = "recorded"
    ALREADY = "already"
    NOT_YOURS = "not_yours"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Answer:
    """What an answer did, and what the replies need to say about it."""

    outcome: Outcome
    response: str | None = None
    slot: Slot | None = None
    kind: EventKind | None = None
    number: int = 0
    starts_at: datetime | None = None


def record_reminder_answer(
    uow: UnitOfWork,
    patient_id: int,
    reminder_id: int,
    response: str,
    *,
    choices: Mapping[Slot, Collection[str]],
    doses_taken: bool = False,
) -> Answer:
    """Record ``response`` on the reminder (``reminder.answered``), once.

    ``choices`` are the answers each slot offers. With ``doses_taken`` the
    answer also records one dose of each oral drug, linked to the reminder
    (``dose.confirmed_by_patient``; the amount is the prescribed one, unknown here).
    """
    reminder = uow.session.get(Reminder, reminder_id)
    if reminder is None or reminder.patient_id != patient_id:
        return Answer(Outcome.NOT_YOURS)
    if response not in choices[reminder.slot]:
        return Answer(Outcome.STALE)
    if reminder.response is not None:
        return Answer(Outcome.ALREADY, response=reminder.response)
    if reminder.status not in _ANSWERABLE:
        return Answer(Outcome.STALE)
    event = uow.session.get(PlannedEventRow, reminder.event_id)
    assert event is not None
    uow.update(reminder, "reminder.answered", response=response, responded_at=uow.now)
    if doses_taken:
        for drug in ORAL_DRUGS:
            uow.add(
                DoseAdministration(
                    patient_id=patient_id,
                    drug=drug,
                    given_at=uow.now,
                    event_id=event.id,
                    reminder_id=reminder.id,
                    recorded_by=uow.actor,
                    recorded_at=uow.now,
                ),
                "dose.confirmed_by_patient",
            )
    return Answer(
        Outcome.RECORDED,
        response=response,
        slot=reminder.slot,
        kind=event.kind,
        number=event.number,
        starts_at=event.starts_at,
    )
