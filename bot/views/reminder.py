"""Reminder messages as the patient reads them, and their buttons.

The scheduler decides *when* a reminder goes out and records what happened to
it (the outbox, docs/DESIGN.md §3); this module decides *what* it says:
one text and one set of buttons per :class:`~core.schedule.Slot`, in the
patient's language, with dates and times in the trial's time zone.

The texts carry the protocol's instructions and nothing more
(docs/clinical-facts.md §2 and §7): where to come, the 24-hour urine collection steps, come
fasting, the morning tacrolimus dose only after the blood draw. No medical
advice.

Requirement: "Reminders sent later by the scheduler carry buttons (infusion: "I'll
be there" / "I need another day"; urine collection: "Started" / "Finished" /
"Something went wrong"; doses: "Taken")". A button's ``callback_data`` is
``rem:<reminder id>:<choice>`` (at most 64 bytes).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from bot.context import Buttons
from bot.conversations.events import ReminderFacts
from bot.i18n import Translator
from bot.texts import CONTACT_ROLES, OTHER_CONTACT
from core.messages import N_
from core.protocol import Protocol
from core.schedule import DOSE_SLOTS, EventKind, Slot
from core.store.models import PlannedEventRow, Reminder

log = logging.getLogger(__name__)

CALLBACK_PREFIX: Final = "rem:"


class Choice(StrEnum):
    """What a patient can answer to a reminder (stored in ``reminder.response``)."""

    YES = "yes"
    LATER = "later"
    STARTED = "started"
    FINISHED = "finished"
    PROBLEM = "problem"
    TAKEN = "taken"


CHOICE_LABELS: dict[Choice, str] = {
    Choice.YES: N_("I'll be there"),
    Choice.LATER: N_("I need another day"),
    Choice.STARTED: N_("Started"),
    Choice.FINISHED: N_("Finished"),
    Choice.PROBLEM: N_("Something went wrong"),
    Choice.TAKEN: N_("Taken"),
}

_ATTEND = (Choice.YES, Choice.LATER)
_DOSE = (Choice.TAKEN,)

# The buttons of each slot, in the order shown; a slot without buttons is only told.
SLOT_CHOICES: dict[Slot, tuple[Choice, ...]] = {
    Slot.INFUSION_EVENING_BEFORE: _ATTEND,
    Slot.INFUSION_MORNING: _ATTEND,
    Slot.URINE_INSTRUCTIONS: (),
    Slot.URINE_START: (Choice.STARTED, Choice.PROBLEM),
    Slot.URINE_END: (Choice.FINISHED, Choice.PROBLEM),
    Slot.VISIT_EVENING_BEFORE: _ATTEND,
    **{slot: _DOSE for slot in DOSE_SLOTS},
    Slot.DOSE_AFTER_DRAW: _DOSE,
}

# Answers the study team must act on: rebook, or look at a spoiled collection.
ALERTS_STAFF: Final = frozenset({Choice.LATER, Choice.PROBLEM})

REPEAT_NOTE = N_("This is a repeat of a reminder that may not have reached you.")

# A reminder in short, for a channel that shows it as fields (WeChat's template
# messages, docs/wechat-oa/api.json): each label fits a "thing" field, at most 20
# characters in both languages, and names no drug and no diagnosis, since the
# message is seen outside the page it links to (a lock screen, a shared phone).
SHORT_EVENTS: dict[Slot, str] = {
    Slot.INFUSION_EVENING_BEFORE: N_("Infusion {number}"),
    Slot.INFUSION_MORNING: N_("Infusion {number}"),
    Slot.URINE_INSTRUCTIONS: N_("Urine collection {number}"),
    Slot.URINE_START: N_("Urine {number}: start now"),
    Slot.URINE_END: N_("Urine {number}: last void"),
    Slot.VISIT_EVENING_BEFORE: N_("Study visit"),
    **{slot: N_("Take your medicines") for slot in DOSE_SLOTS},
    Slot.DOSE_AFTER_DRAW: N_("Medicines after draw"),
}
DETAILS_NOTE = N_("Tap for details")
SHORT_REPEAT_NOTE = N_("Repeat of a reminder")

# The 24-hour urine collection, docs/clinical-facts.md §7 (patient steps).
URINE_SPOILED = N_(
    "A missed or spilled void, keeping the first void, missing the last one, or collecting "
    "for more or less than 24 hours spoils the collection. If that happens, tell the study "
    "team: they may ask you to start again."
)


def callback_data(reminder_id: int, choice: Choice) -> str:
    """``rem:<reminder id>:<choice>``: well under Telegram's 64 bytes."""
    return f"{CALLBACK_PREFIX}{reminder_id}:{choice.value}"


def parse_callback(data: str) -> tuple[int, Choice] | None:
    """The reminder id and choice of a button, or None if it is not one of ours."""
    if not data.startswith(CALLBACK_PREFIX):
        return None
    number, _, word = data.removeprefix(CALLBACK_PREFIX).partition(":")
    if not (number.isascii() and number.isdigit() and len(number) <= 18):
        return None
    try:
        return int(number), Choice(word)
    except ValueError:
        return None


def choice_label(t: Translator, response: str) -> str:
    """A stored answer as its button label in the reader's language."""
    try:
        return t._(CHOICE_LABELS[Choice(response)])
    except ValueError:
        return response


def reminder_buttons(t: Translator, reminder_id: int, slot: Slot) -> Buttons:
    """The slot's buttons in one row (none for a slot that only informs)."""
    choices = SLOT_CHOICES[slot]
    if not choices:
        return []
    return [[(t._(CHOICE_LABELS[c]), callback_data(reminder_id, c)) for c in choices]]


def contact_lines(t: Translator, protocol: Protocol) -> list[str]:
    """The site's contacts from the protocol file, one per line."""
    return [t._("Study team contacts:"), *contact_entries(t, protocol)]


def contact_entries(t: Translator, protocol: Protocol) -> list[str]:
    """Each of the site's contacts (role and phone) on a line, without a heading."""
    lines = []
    for contact in protocol.site.contacts:
        name = t._(CONTACT_ROLES.get(contact.role, OTHER_CONTACT))
        lines.append(t._("{role}: {phone}", role=name, phone=contact.phone))
    return lines


def _day(t: Translator, instant: datetime) -> date:
    return instant.astimezone(t.zone).date()


def _visit_instant(protocol: Protocol, t: Translator, collection_end: datetime) -> datetime:
    """The renal assessment a urine collection is for: the morning it ends, at the visit time."""
    day = _day(t, collection_end)
    zone = t.zone
    return datetime.combine(day, protocol.renal_assessment.time, tzinfo=zone)


def _lines(t: Translator, protocol: Protocol, slot: Slot, event: PlannedEventRow) -> list[str]:
    start = event.starts_at
    when = {"date": t.date(_day(t, start)), "time": t.time(start)}
    match slot:
        case Slot.INFUSION_EVENING_BEFORE:
            return [
                t._(
                    "Reminder: your belimumab infusion {number} is on {date} at {time}. "
                    "Please come to the infusion unit.",
                    number=event.number,
                    **when,
                ),
                t._("Will you be there?"),
            ]
        case Slot.INFUSION_MORNING:
            return [
                t._(
                    "Today, {date}, at {time}: your belimumab infusion {number}. "
                    "Please come to the infusion unit.",
                    number=event.number,
                    **when,
                ),
                t._("Will you be there?"),
            ]
        case Slot.URINE_INSTRUCTIONS | Slot.URINE_START | Slot.URINE_END:
            return _urine_lines(t, protocol, slot, event)
        case Slot.VISIT_EVENING_BEFORE:
            lines = [t._("Reminder: your study visit is on {date} at {time}.", **when)]
            if event.kind == EventKind.RENAL_ASSESSMENT:
                # docs/clinical-facts.md §2: fasting blood draw; the collection ends that
                # morning; the morning tacrolimus dose after the draw (trough level).
                lines += [
                    t._("Come fasting: do not eat before the blood draw."),
                    t._("Bring your urine collection container and your medicines."),
                    t._("Take your morning tacrolimus dose only after the blood draw, not before."),
                ]
            else:
                lines.append(t._("Bring your medicines."))
            lines.append(t._("Will you be there?"))
            return lines
        case Slot.DOSE_AFTER_DRAW:
            return [
                t._(
                    "After your blood draw, take your morning mycophenolate mofetil and "
                    "tacrolimus now. If your blood has not been drawn yet, wait until it has."
                )
            ]
        case Slot.DOSE_1 | Slot.DOSE_2 | Slot.DOSE_3 | Slot.DOSE_4:
            return [t._("Time to take your mycophenolate mofetil and tacrolimus.")]
    raise AssertionError(slot)  # pragma: no cover - the match is exhaustive


def _urine_lines(
    t: Translator, protocol: Protocol, slot: Slot, event: PlannedEventRow
) -> list[str]:
    """docs/clinical-facts.md §7: the four patient steps, and what spoils the collection."""
    start = event.starts_at
    end = event.ends_at or start
    visit = _visit_instant(protocol, t, end)
    times = {
        "number": event.number,
        "start": t.time(start),
        "end": t.time(end),
        "start_date": t.date(_day(t, start)),
        "end_date": t.date(_day(t, end)),
    }
    if slot == Slot.URINE_START:
        return [
            t._(
                "It is time to start your 24-hour urine collection {number}. Empty your bladder "
                "into the toilet now and discard this urine. Note the time you do it (planned: "
                "{start}).",
                **times,
            ),
            t._(
                "From now on, collect every void in the container, day and night, until the "
                "last sample at {end} on {end_date}.",
                **times,
            ),
        ]
    if slot == Slot.URINE_END:
        return [
            t._(
                "Time for the last sample of your 24-hour urine collection {number}: void into "
                "the container now and note the time.",
                **times,
            ),
            t._(
                "Keep the container cold, not frozen, and bring it to your visit today at {visit}.",
                visit=t.time(visit),
            ),
        ]
    return [
        t._(
            "Your 24-hour urine collection {number} starts on {start_date} at {start} and ends "
            "the next morning at {end}. How to do it:",
            **times,
        ),
        t._(
            "1. At {start}, empty your bladder into the toilet and discard this urine. "
            "Note the time.",
            **times,
        ),
        t._("2. From then on, collect every void in the container for 24 hours, day and night."),
        t._(
            "3. The next morning at {end}, void into the container: this is the last sample. "
            "Note the time.",
            **times,
        ),
        t._(
            "4. Keep the container cold (in a fridge or a cooler), not frozen, and bring it to "
            "your visit on {visit_date} at {visit}.",
            visit_date=t.date(_day(t, visit)),
            visit=t.time(visit),
        ),
        t._(URINE_SPOILED),
    ]


def urine_steps(t: Translator, protocol: Protocol, event: PlannedEventRow) -> list[str]:
    """The whole 24-hour urine collection, step by step (the evening-before text), for a
    page that shows a start or end reminder in full (docs/clinical-facts.md §7)."""
    return _urine_lines(t, protocol, Slot.URINE_INSTRUCTIONS, event)


def render_reminder(
    t: Translator,
    protocol: Protocol,
    reminder: Reminder,
    event: PlannedEventRow,
    *,
    repeat: bool = False,
) -> tuple[str, Buttons]:
    """The patient's text (plain, not yet HTML-escaped) and buttons for one reminder.

    One text per slot (infusion, urine collection, visit, doses;
    docs/clinical-facts.md §2 and §7). ``repeat`` is the scheduler's one
    resend when it cannot know whether the first send arrived: the text
    starts by saying so.
    """
    assert reminder.id is not None
    lines = _lines(t, protocol, reminder.slot, event)
    if repeat:
        lines.insert(0, t._(REPEAT_NOTE))
    return "\n".join(lines), reminder_buttons(t, reminder.id, reminder.slot)


def reminder_facts(
    t: Translator,
    reminder: Reminder,
    event: PlannedEventRow,
    study_id: str,
    *,
    repeat: bool = False,
) -> ReminderFacts:
    """The reminder in short (:data:`SHORT_EVENTS`), in the reader's language.

    The whole text (:func:`render_reminder`) is on the patient's page; the
    short form says whose it is, what and when, and whether it is the one
    repeat.
    """
    assert reminder.id is not None
    return ReminderFacts(
        reminder_id=reminder.id,
        patient_id=reminder.patient_id,
        study_id=study_id,
        slot=reminder.slot,
        language=t.lang,
        event=t._(SHORT_EVENTS[reminder.slot], number=event.number),
        note=t._(SHORT_REPEAT_NOTE if repeat else DETAILS_NOTE),
        at=reminder.announces_at,
        repeat=repeat,
    )
