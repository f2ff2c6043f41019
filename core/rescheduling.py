"""Moving one event of a patient's plan: what moves with it, and whether it is a deviation.

Requirement: "``/reschedule P01 infusion 3 2026-12-18`` (or ``assessment 4 ...``)
-> moves one event; outside its window it asks for a reason and records a
protocol deviation; later events stay anchored to day 0; that event's
pending reminders are recomputed at once."

- ``infusion N`` is belimumab infusion number N.
- ``assessment N`` is renal assessment number N; the SLEDAI-2K and CD20
  assessments booked on the same visit day, and the 24-hour urine collection
  that ends on the morning of that visit (docs/clinical-facts.md §2: "a 24-hour
  urine collection ends on the morning of each"), move with it by the same
  number of days. Events already done stay where they were.
- Nothing else moves: every other event keeps its day-0 anchor
  (docs/clinical-facts.md §2: "schedule anchored to day 0, never to the
  previous infusion").
- The window is the named event's (:meth:`PlannedEvent.in_window`, target
  date +/- the protocol's window days, bounds included); a date outside it
  needs a reason, recorded as a protocol deviation.
- Belimumab infusions keep their order and at least
  ``belimumab.min_days_between_infusions`` days (7 in the bundled protocol)
  between them: a move that would put infusion N on or before infusion N-1,
  on or after infusion N+1, or closer than that to either is refused, naming
  the neighbour and its date. docs/clinical-facts.md §2 gives the infusion
  weeks and their +/- 3-day windows but no minimum interval between two
  infusions; the 7 days are a protocol choice (the protocol file, the
  README's choices table), so that two windows stretched towards each other
  can never put two 10 mg/kg doses in the same week. Other events have no
  such rule: a renal assessment moves within its own window and carries its
  visit with it, and its order against other assessments is not checked.

Pure: the caller passes today's date in the trial time zone and the events.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, Protocol, TypeVar

from core.messages import N_, RuleError
from core.schedule import EventKind, PlannedEvent, move_event

MAX_REASON_LENGTH: Final = 500


class EventChoice(StrEnum):
    """What a coordinator may move by name."""

    INFUSION = "infusion"
    ASSESSMENT = "assessment"

    @property
    def kind(self) -> EventKind:
        return (
            EventKind.BELIMUMAB_INFUSION
            if self is EventChoice.INFUSION
            else EventKind.RENAL_ASSESSMENT
        )

    @property
    def label(self) -> str:
        """A message id naming the event (the bot translates ``item`` placeholders)."""
        return _LABELS[self]


_LABELS: Final[dict[EventChoice, str]] = {
    EventChoice.INFUSION: N_("Belimumab infusion"),
    EventChoice.ASSESSMENT: N_("Renal assessment"),
}


_CHOICE_WORDS: Final[dict[str, EventChoice]] = {
    "infusion": EventChoice.INFUSION,
    "输注": EventChoice.INFUSION,
    "assessment": EventChoice.ASSESSMENT,
    "评估": EventChoice.ASSESSMENT,
}

# Assessments held at the renal assessment visit move with it.
_SAME_VISIT: Final = (EventKind.SLEDAI, EventKind.CD20)


def parse_event_choice(text: str) -> EventChoice:
    """``infusion``/``输注`` or ``assessment``/``评估``, else refuse.

    Source: the command syntax (``/reschedule P01 infusion 3 ...`` or ``assessment 4 ...``).
    """
    word = unicodedata.normalize("NFKC", text).strip().casefold()
    choice = _CHOICE_WORDS.get(word)
    if choice is None:
        raise RuleError(
            N_("{text} is not an event to move: write infusion (输注) or assessment (评估)."),
            text=text,
        )
    return choice


def parse_event_number(text: str) -> int:
    """The event's number as a whole number from 1 (``3`` for infusion 3), else refuse."""
    word = unicodedata.normalize("NFKC", text).strip()
    if not word.isascii() or not word.isdigit() or not 1 <= int(word) <= 999:
        raise RuleError(
            N_("{text} is not an event number: write a whole number such as 3."), text=text
        )
    return int(word)


@dataclass(frozen=True, slots=True)
class Move:
    """One event, as booked before and after the move."""

    before: PlannedEvent
    after: PlannedEvent


@dataclass(frozen=True, slots=True)
class Reschedule:
    """The named event moved to ``new_date``, and the events that move with it.

    ``moves[0]`` is the named event. ``in_window`` judges ``new_date`` against
    the named event's protocol window.
    """

    moves: tuple[Move, ...]
    new_date: date

    @property
    def anchor(self) -> PlannedEvent:
        return self.moves[0].before

    @property
    def in_window(self) -> bool:
        return self.anchor.in_window(self.new_date)

    @property
    def window_start(self) -> date:
        return self.anchor.window_start

    @property
    def window_end(self) -> date:
        return self.anchor.window_end


class Named(Protocol):
    """An event as a coordinator names it: its kind and its number."""

    @property
    def kind(self) -> EventKind: ...

    @property
    def number(self) -> int: ...


N = TypeVar("N", bound=Named)


def named_event(events: Iterable[N], choice: EventChoice, number: int) -> N:
    """The patient's event ``choice`` number ``number`` (``infusion 3``), else refuse, saying
    how the plan numbers them. Source: the command syntax (module docstring)."""
    kind = choice.kind
    found = [e for e in events if e.kind == kind]
    anchor = next((e for e in found if e.number == number), None)
    if anchor is not None:
        return anchor
    available = sorted(e.number for e in found)
    if not available:
        raise RuleError(N_("This patient's arm has no belimumab infusions."))
    raise RuleError(
        N_("{item} {number} is not in this patient's plan; they are numbered {first} to {last}."),
        item=choice.label,
        number=number,
        first=available[0],
        last=available[-1],
    )


def plan_move(
    events: Sequence[PlannedEvent],
    choice: EventChoice,
    number: int,
    new_date: date,
    *,
    today: date,
    timezone: str,
    min_days_between_infusions: int,
    done: Collection[str] = frozenset(),
) -> Reschedule:
    """Move the chosen event (and, for an assessment, its visit) to ``new_date``.

    Refuses (RuleError): an event number the plan does not have; a date
    before ``today`` (the trial zone's date); the date it is already booked
    for; an event already done (its key is in ``done``); an infusion moved
    out of order or closer than ``min_days_between_infusions`` to the
    infusion before or after it (:func:`check_infusion_spacing`). The window
    is not checked here: :func:`check_reason` does that with the reason.
    Source: the module docstring.
    """
    kind = choice.kind
    anchor = named_event(events, choice, number)
    if anchor.key in done:
        raise RuleError(
            N_("{item} {number} is already recorded as done; it cannot be moved."),
            item=choice.label,
            number=number,
        )
    if new_date < today:
        raise RuleError(
            N_("{day} is in the past; choose today ({today}) or a later date."),
            day=new_date.isoformat(),
            today=today.isoformat(),
        )
    if new_date == anchor.scheduled_date:
        raise RuleError(
            N_("{item} {number} is already booked for {day}; nothing to move."),
            item=choice.label,
            number=number,
            day=new_date.isoformat(),
        )
    if kind == EventKind.BELIMUMAB_INFUSION:
        check_infusion_spacing(events, anchor, new_date, min_days_between_infusions)
    shift = new_date - anchor.scheduled_date
    moves = [Move(anchor, move_event(anchor, new_date, timezone))]
    if kind == EventKind.RENAL_ASSESSMENT:
        for event in _moving_with(events, anchor, done):
            moves.append(Move(event, move_event(event, event.scheduled_date + shift, timezone)))
    return Reschedule(tuple(moves), new_date)


def check_infusion_spacing(
    events: Iterable[PlannedEvent], infusion: PlannedEvent, new_date: date, min_days: int
) -> None:
    """Refuse moving ``infusion`` to ``new_date`` if it breaks the infusions' order or spacing.

    Belimumab infusions keep their order and at least ``min_days`` days
    between them (a protocol choice, ``belimumab.min_days_between_infusions``;
    see the module docstring). Only the neighbours by number count: infusion
    N-1 must stay ``min_days`` or more before the new date, infusion N+1 as
    much after it. A neighbour already done counts at the date it was booked
    for, since that is when it was given.
    """
    infusions = {e.number: e for e in events if e.kind == EventKind.BELIMUMAB_INFUSION}
    gap = timedelta(days=min_days)
    before = infusions.get(infusion.number - 1)
    after = infusions.get(infusion.number + 1)
    if before is not None and new_date < before.scheduled_date + gap:
        neighbour = before
    elif after is not None and new_date > after.scheduled_date - gap:
        neighbour = after
    else:
        return
    raise RuleError(
        N_(
            "Infusion {number} cannot move to {day}: infusion {other} is on {other_day}, "
            "and infusions must stay in order, at least {min_days} days apart."
        ),
        number=infusion.number,
        day=new_date,
        other=neighbour.number,
        other_day=neighbour.scheduled_date,
        min_days=min_days,
    )


def _moving_with(
    events: Iterable[PlannedEvent], anchor: PlannedEvent, done: Collection[str]
) -> list[PlannedEvent]:
    same_visit = [
        e for e in events if e.kind in _SAME_VISIT and e.scheduled_date == anchor.scheduled_date
    ]
    collection = [
        e for e in events if e.kind == EventKind.URINE_COLLECTION and e.number == anchor.number
    ]
    order = {kind: i for i, kind in enumerate(EventKind)}
    moving = sorted(same_visit, key=lambda e: (order[e.kind], e.number)) + collection
    return [e for e in moving if e.key not in done]


def check_reason(reschedule: Reschedule, reason: str | None) -> str | None:
    """The deviation reason to record: required outside the window, None inside.

    Requirement: "outside its window it asks for a reason and records a protocol
    deviation". Inside the window nothing is a deviation, so a reason given
    anyway is not recorded as one. Refuses a missing or blank reason outside
    the window (naming the window) and one longer than 500 characters.
    """
    if reschedule.in_window:
        return None
    text = " ".join((reason or "").split())
    if not text:
        raise RuleError(
            N_(
                "{day} is outside the window {start} to {end}: a reason is required, "
                "recorded as a protocol deviation. Add reason=... at the end."
            ),
            day=reschedule.new_date.isoformat(),
            start=reschedule.window_start.isoformat(),
            end=reschedule.window_end.isoformat(),
        )
    if len(text) > MAX_REASON_LENGTH:
        raise RuleError(
            N_("The reason is too long: at most {limit} characters."), limit=MAX_REASON_LENGTH
        )
    return text


def lab_days(
    events: Iterable[PlannedEvent], reschedule: Reschedule | None = None
) -> frozenset[date]:
    """The renal assessment dates once ``reschedule`` is applied (the moved one included).

    They decide on which days the morning dose waits for the blood draw
    (docs/clinical-facts.md §2, :func:`core.schedule.reminders_for_event`).
    """
    moved = {} if reschedule is None else {m.before.key: m.after for m in reschedule.moves}
    return frozenset(
        moved.get(e.key, e).scheduled_date for e in events if e.kind == EventKind.RENAL_ASSESSMENT
    )
