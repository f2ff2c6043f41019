"""/ack: a coordinator acknowledges a serious adverse event (acts at once).

The answer says how long acknowledging took and whether it was within the
protocol's reporting limit for a serious adverse event.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session, col, select

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.handlers.joining import ROLE_WITH_ARTICLE
from bot.i18n import Translator
from bot.staff.commands import Field, StaffCommand
from bot.staff.coordinator.shared import log
from core.adverse_events import hours_left, is_overdue, match_term, reporting_deadline, term_by_key
from core.messages import N_, RuleError
from core.store.coordination import AlreadyAcknowledged, acknowledge_adverse_event
from core.store.db import read_session
from core.store.models import AdverseEvent, Patient, Staff

ACK_USAGE = N_("/ack <AE id>  e.g. /ack AE12")


def parse_ae_id(args: Sequence[str]) -> int:
    word = args[0].strip() if len(args) == 1 else ""
    digits = word[2:] if word[:2].casefold() == "ae" else word
    if not digits.isascii() or not digits.isdigit():
        raise RuleError(N_("Name one adverse event by its id, for example AE12."))
    return int(digits)


def _term_name(t: Translator, event: AdverseEvent) -> str:
    """The CTCAE term in the reader's language when it is a listed term, else as stored."""
    if event.term is None:
        return event.verbatim
    try:
        term = term_by_key(event.term)
    except KeyError:
        found = match_term(event.term)
        if found is None:
            return event.term
        term = found.term
    return term.term_zh if t.lang == "zh_Hans" else term.term_en


def _hours(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _acknowledger_role(session: Session, actor: str | None) -> str | None:
    """The role (never the name) of whoever acknowledged, from the audit actor."""
    if actor is None or not actor.startswith("staff:") or not actor[6:].isdigit():
        return None
    staff = session.get(Staff, int(actor[6:]))
    return None if staff is None else staff.role.value


async def run_ack(ctx: Ctx, args: list[str]) -> None:
    """Acknowledge a serious adverse event at once: who and when, audited."""
    ae_id = parse_ae_id(args)
    t = ctx.t
    try:
        with ctx.uow() as uow:
            event = acknowledge_adverse_event(uow, ae_id)
            patient = uow.session.get(Patient, event.patient_id)
            assert patient is not None
            study_id = patient.study_id
    except AlreadyAcknowledged as already:
        with read_session(ctx.services.engine) as session:
            role = _acknowledger_role(session, already.acknowledged_by)
        when = t.datetime(already.acknowledged_at)
        if role is None:
            text = t._("AE{id} was already acknowledged on {when}.", id=ae_id, when=when)
        else:
            text = t._(
                "AE{id} was already acknowledged by {role} on {when}.",
                id=ae_id,
                role=t._(ROLE_WITH_ARTICLE[role]),
                when=when,
            )
        await ctx.reply(text)
        return
    assert event.acknowledged_at is not None
    limit = ctx.services.protocol.adverse_events.serious_report_hours
    deadline = reporting_deadline(event.awareness_at, limit)
    took = _hours(hours_left(event.acknowledged_at, event.awareness_at))
    params: dict[str, object] = {
        "id": ae_id,
        "study_id": study_id,
        "term": _term_name(t, event),
        "hours": t.number(took),
        "limit": limit,
    }
    if is_overdue(deadline, event.acknowledged_at):
        late = _hours(-hours_left(deadline, event.acknowledged_at))
        text = t._(
            "AE{id} acknowledged ({study_id}, {term}): {hours} h after awareness, {late} h "
            "past the {limit}-hour reporting clock. Its escalation stops.",
            late=t.number(late),
            **params,
        )
    else:
        left = _hours(hours_left(deadline, event.acknowledged_at))
        text = t._(
            "AE{id} acknowledged ({study_id}, {term}): {hours} h after awareness, within the "
            "{limit}-hour reporting clock ({left} h left). Its escalation stops.",
            left=t.number(left),
            **params,
        )
    log.info("AE%d acknowledged by %s", ae_id, ctx.person.label)
    await ctx.reply(text)


def _open_serious_choices(ctx: Ctx) -> list[tuple[str, str]]:
    """Serious adverse events not yet acknowledged, by id and study ID (never a name)."""
    with read_session(ctx.services.engine) as session:
        rows = session.exec(
            select(AdverseEvent, Patient.study_id)
            .join(Patient, col(Patient.id) == col(AdverseEvent.patient_id))
            .where(col(AdverseEvent.acknowledged_at).is_(None))
            .order_by(col(AdverseEvent.id))
        ).all()
    return [(f"AE{ae.id} {study_id}", f"AE{ae.id}") for ae, study_id in rows if ae.serious]


ACK = StaffCommand(
    "ack",
    ACK_USAGE,
    run_ack,
    fields=(
        Field(
            "ae",
            N_("Which serious adverse event do you acknowledge?"),
            choices=_open_serious_choices,
        ),
    ),
)


FEATURE = Feature(
    "acknowledgement of serious events",
    staff_commands=[ACK],
)
