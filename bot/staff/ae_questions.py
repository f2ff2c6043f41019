"""What an adverse event is asked before Confirm is offered, for ``/ae`` and ``/triage`` alike.

Two questions, in this order, each only when it applies:

1. A term not on the CTCAE list that is near listed terms: "Did you mean Lung
   infection?", with up to three terms as buttons and "Store as typed
   (uncoded)" (``core.term_matching.suggest_terms``). A term pressed codes the
   event with it (its grade checked against that term); the words typed are kept.
2. A grade 4 event typed without ``serious=``: was it life-threatening? Buttons
   "Life-threatening (serious)" and "Not serious"
   (``core.adverse_events.life_threatening_unanswered``).

Then the command's own preview with Confirm / Cancel (:func:`bot.staff.actions.propose`).
A question waits in ``pending_action`` under its command's question kind, which no
ActionSpec stores, with the event as the command's typed payload (pydantic
``TypeAdapter``, as Confirm keeps it). It is answered once: a second press,
someone else's press, or a press after it expired changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import Field, dataclass, replace
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from babel.lists import format_list
from pydantic import TypeAdapter, ValidationError

from bot.context import Ctx, Handler
from bot.staff.actions import NOT_VALID, VALIDITY, Draft, propose
from bot.staff.clinical import by_language
from core.adverse_events import (
    CtcaeTerm,
    Seriousness,
    check_grade,
    life_threatening_unanswered,
    suggest_terms,
    term_by_key,
)
from core.messages import N_, RuleError
from core.store.clinical import AdverseEventEntry
from core.store.models import ActionStatus, PendingAction

log = logging.getLogger(__name__)

NOT_SERIOUS = N_("Not serious (no seriousness criterion given).")
LIFE_THREATENING_SERIOUS = N_("Life-threatening (serious)")
NOT_SERIOUS_CHOICE = N_("Not serious")
STORE_AS_TYPED = N_("Store as typed (uncoded)")

# The answers a button carries after "<prefix>:<id>:"; a term is its key.
YES, NO, TYPED = "yes", "no", "typed"


class EventPayload(Protocol):
    """A command's Confirm payload: a frozen dataclass holding the event as understood."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def event(self) -> AdverseEventEntry: ...


P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True, slots=True)
class Explained:
    """What the preview says beyond the values stored: how the answers came about.

    ``death_added``: grade 5 made the event serious with the criterion death though
    it was not typed. ``answered_not_life_threatening``: a grade 4 event answered
    "Not serious". ``kept_as_typed``: staff chose to store an unlisted term uncoded.
    """

    death_added: bool = False
    answered_not_life_threatening: bool = False
    kept_as_typed: bool = False


@dataclass(frozen=True, slots=True)
class Waiting(Generic[P]):
    """A question's row: the event so far, and the term keys offered (none: grade 4)."""

    payload: P
    explained: Explained
    offered: tuple[str, ...] = ()


class Questions(Generic[P]):
    """The questions of one command, its buttons ``<prefix>:<id>:<answer>`` and their answers.

    ``kind`` is the command's ActionSpec kind, stored on Confirm; ``preview`` builds
    its Confirm / Cancel summary. The first line of the summary heads each question.
    """

    def __init__(
        self,
        *,
        prefix: str,
        kind: str,
        adapter: TypeAdapter[Waiting[P]],
        preview: Callable[[Ctx, P, Explained], Draft[P]],
    ) -> None:
        self.prefix = prefix
        self.kind = kind
        self.ask_kind = f"{kind}_question"
        self._adapter = adapter
        self._preview = preview

    @property
    def option(self) -> tuple[str, Handler]:
        """The button pattern and handler for the command's ``Feature``."""
        return (rf"^{self.prefix}:", self.answer)

    async def offer(self, ctx: Ctx, payload: P, explained: Explained) -> None:
        """Ask what is still open about the event; when nothing is, the Confirm preview."""
        event = payload.event
        if event.term is None and not explained.kept_as_typed:
            near = suggest_terms(event.verbatim)
            if near:
                await self._ask_term(ctx, payload, explained, near)
                return
        if (
            life_threatening_unanswered(event.grade, event.serious)
            and not explained.answered_not_life_threatening
        ):
            await self._ask_life_threatening(ctx, payload, explained)
            return
        await propose(ctx, self.kind, self._preview(ctx, payload, explained))

    async def _ask_term(
        self, ctx: Ctx, payload: P, explained: Explained, near: tuple[CtcaeTerm, ...]
    ) -> None:
        t = ctx.t
        names = [by_language(t, term.term_en, term.term_zh) for term in near]
        head = self._preview(ctx, payload, explained).summary.splitlines()[0]
        question = t._(
            '"{typed}" is not on the CTCAE term list. Did you mean {terms}? Press a term to '
            "code the event with it, or store it as typed (uncoded).",
            typed=payload.event.verbatim,
            terms=format_list(names, style="or", locale=t.babel_locale),
        )
        waiting = Waiting(payload, explained, tuple(term.key for term in near))
        number = self._wait(ctx, waiting)
        buttons = [
            [(name, f"{self.prefix}:{number}:{term.key}")]
            for name, term in zip(names, near, strict=True)
        ]
        buttons.append([(t._(STORE_AS_TYPED), f"{self.prefix}:{number}:{TYPED}")])
        await ctx.reply(f"{head}\n{question}", buttons)

    async def _ask_life_threatening(self, ctx: Ctx, payload: P, explained: Explained) -> None:
        t = ctx.t
        summary = self._preview(ctx, payload, explained).summary
        not_serious = t._(NOT_SERIOUS)
        lines = [line for line in summary.splitlines() if line != not_serious]
        lines.append(
            t._(
                "Grade 4 is life-threatening in CTCAE terms. Was this event life-threatening "
                "(serious)? Choose one, then confirm the summary."
            )
        )
        number = self._wait(ctx, Waiting(payload, explained))
        buttons = [
            [
                (t._(LIFE_THREATENING_SERIOUS), f"{self.prefix}:{number}:{YES}"),
                (t._(NOT_SERIOUS_CHOICE), f"{self.prefix}:{number}:{NO}"),
            ]
        ]
        await ctx.reply("\n".join(lines), buttons)

    def _wait(self, ctx: Ctx, waiting: Waiting[P]) -> int:
        """Keep the question until it is answered; nothing clinical is stored."""
        with ctx.uow() as uow:
            action = uow.add(
                PendingAction(
                    owner=ctx.person.key,
                    kind=self.ask_kind,
                    payload=self._adapter.dump_json(waiting).decode("utf-8"),
                    created_at=uow.now,
                    expires_at=uow.now + VALIDITY,
                ),
                "action.proposed",
            )
        assert action.id is not None
        return action.id

    def _take(self, ctx: Ctx, number: int, answer: str) -> Waiting[P] | None:
        """The question ``number`` with its row marked answered, if ``answer`` may answer it."""
        with ctx.uow() as uow:
            action = uow.session.get(PendingAction, number)
            if (
                action is None
                or action.kind != self.ask_kind
                or action.owner != ctx.person.key
                or action.status != ActionStatus.OPEN
            ):
                return None
            if action.expires_at <= uow.now:
                uow.update(
                    action, "action.expired", status=ActionStatus.EXPIRED, decided_at=uow.now
                )
                return None
            try:
                waiting = self._adapter.validate_json(action.payload)
            except ValidationError:
                # Written by an older version: like an expired button.
                log.warning("question %d (%s): payload no longer readable", number, action.kind)
                uow.update(
                    action, "action.expired", status=ActionStatus.EXPIRED, decided_at=uow.now
                )
                return None
            allowed = {*waiting.offered, TYPED} if waiting.offered else {YES, NO}
            if answer not in allowed:
                return None
            uow.update(action, "action.answered", status=ActionStatus.CONFIRMED, decided_at=uow.now)
        return waiting

    async def answer(self, ctx: Ctx) -> None:
        """A press on a question's button: the next question, or the preview with Confirm."""
        parts = (ctx.inbound.token or "").split(":")
        waiting = None
        if len(parts) == 3 and parts[1].isdigit():
            waiting = self._take(ctx, int(parts[1]), parts[2])
        if waiting is None:
            await ctx.toast(ctx.t._(NOT_VALID))
            return
        await ctx.toast()
        await ctx.remove_options()
        payload, explained = _answered(waiting, parts[2])
        try:
            if payload.event.term is not None:
                # The term chosen may not have the grade typed.
                check_grade(term_by_key(payload.event.term), payload.event.grade)
            await self.offer(ctx, payload, explained)
        except RuleError as exc:
            await ctx.reply(ctx.t._("Nothing was stored: {reason}", reason=ctx.t.error(exc)))


def _answered(waiting: Waiting[P], answer: str) -> tuple[P, Explained]:
    """The event and its explanation after ``answer`` (already checked to be allowed)."""
    payload, explained = waiting.payload, waiting.explained
    event = payload.event
    if answer == TYPED:
        return payload, replace(explained, kept_as_typed=True)
    if answer == YES:
        event = replace(event, serious=(Seriousness.LIFE_THREATENING,))
    elif answer == NO:
        explained = replace(explained, answered_not_life_threatening=True)
    else:
        event = replace(event, term=answer)
    return replace(payload, event=event), explained
