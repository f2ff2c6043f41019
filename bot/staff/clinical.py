"""What the clinical data-entry commands share: the patient, dates, weeks, languages.

``/ae``, ``/labs``, ``/dose``, ``/weight``, ``/sledai`` and ``/cd20`` all name
a patient by study ID first. An unknown study ID, or a patient who withdrew,
is refused with the reason (requirement: "Every refusal says why and what was
expected, and stores nothing"); the services of :mod:`core.store.clinical`
check again at Confirm, since the patient may have been withdrawn in between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

from bot.context import Ctx
from bot.i18n import Translator
from bot.staff.commands import Choices
from core.messages import N_, RuleError
from core.schedule import trial_today
from core.store.clinical import check_active
from core.store.db import read_session
from core.store.models import Patient
from core.store.services import patient_by_study_id
from core.units import Quantity

NO_STUDY_ID = N_("Start with the patient's study ID, for example P01.")


def patient_for_entry(ctx: Ctx, args: Sequence[str]) -> Patient:
    """The patient the first word names; refuses a missing, unknown or withdrawn one."""
    if not args:
        raise RuleError(NO_STUDY_ID)
    study_id = args[0].strip()[:32]
    with read_session(ctx.services.engine) as session:
        return check_active(patient_by_study_id(session, study_id), study_id)


def local_date(ctx: Ctx, instant: datetime) -> date:
    """The trial's date of a stored instant."""
    return trial_today(instant, ctx.services.zone)


def instant_on(ctx: Ctx, day: date, wall: time) -> datetime:
    """``day`` at the wall-clock time ``wall`` in the trial zone, but never after now.

    A sample collected "today" is given the protocol's visit time; when that
    time is still to come, the entry's own instant is used instead.
    """
    moment = datetime.combine(day, wall, tzinfo=ctx.services.zone)
    return min(moment, ctx.now())


def by_language(t: Translator, en: str, zh: str) -> str:
    """Pick the reader's version of a name the core data holds in both languages."""
    return zh if t.lang == "zh_Hans" else en


def quantity_text(t: Translator, q: Quantity) -> str:
    """A value as entered, in the reader's number format, with its unit (``0.25 g/24h``)."""
    return f"{t.number(q.value)}{q.unit.suffix}"


def signed(t: Translator, value: Decimal | int) -> str:
    """A change with its sign: ``+4``, ``-30``, ``0``."""
    text = t.number(abs(Decimal(value)))
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text


def week_choices(weeks: Callable[[Ctx], Sequence[int]]) -> Choices:
    """Buttons for a guided flow's week step: the protocol's weeks for that measurement."""

    def choices(ctx: Ctx) -> list[tuple[str, str]]:
        return [(ctx.t._("Week {week}", week=week), f"w{week}") for week in weeks(ctx)]

    return choices


def last_week(ctx: Ctx) -> int:
    """The last study week data may be entered for (the end of the induction)."""
    return ctx.services.protocol.trial.induction_weeks
