"""/withdraw: a patient leaves the study; their coming reminders are cancelled (on Confirm)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.staff.coordinator.shared import active_patient
from core.enrollment import check_study_id
from core.messages import N_, RuleError
from core.store.coordination import withdraw_patient
from core.store.db import read_session
from core.store.models import Reminder, ReminderStatus
from core.store.uow import UnitOfWork

WITHDRAW_USAGE = N_("/withdraw <study ID> <reason>  e.g. /withdraw P01 consent withdrawn")


async def run_withdraw(ctx: Ctx, args: list[str]) -> None:
    study_id = check_study_id(args[0] if args else "")
    reason = " ".join(args[1:]).strip()
    if not reason:
        raise RuleError(N_("A reason is required to withdraw {study_id}."), study_id=study_id)
    if len(reason) > 500:
        raise RuleError(N_("The reason is too long: at most {limit} characters."), limit=500)
    with read_session(ctx.services.engine) as session:
        patient = active_patient(session, study_id)
        pending = len(
            session.exec(
                select(Reminder.id).where(
                    Reminder.patient_id == patient.id,
                    Reminder.status == ReminderStatus.PENDING,
                )
            ).all()
        )
    t = ctx.t
    lines = [
        t._("Withdraw {study_id} from the study?", study_id=patient.study_id),
        t._("Reason: {reason}", reason=reason),
        t._("Pending reminders to cancel: {count}.", count=pending),
        t._("Everything recorded for {study_id} is kept.", study_id=patient.study_id),
    ]
    await propose(
        ctx, "withdraw", Draft("\n".join(lines), WithdrawRequest(patient.study_id, reason))
    )


@dataclass(frozen=True, slots=True)
class WithdrawRequest:
    """What Confirm stores for /withdraw."""

    study_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Withdrawn:
    study_id: str
    cancelled: int


def store_withdraw(ctx: Ctx, uow: UnitOfWork, request: WithdrawRequest) -> Withdrawn:
    patient = active_patient(uow.session, request.study_id)
    cancelled = withdraw_patient(uow, patient, request.reason)
    return Withdrawn(patient.study_id, cancelled)


async def after_withdraw(ctx: Ctx, result: Withdrawn) -> None:
    await ctx.reply(
        ctx.t._(
            "{study_id} is withdrawn. Pending reminders cancelled: {count}. "
            "Everything recorded is kept.",
            study_id=result.study_id,
            count=result.cancelled,
        )
    )


WITHDRAW = StaffCommand(
    "withdraw",
    WITHDRAW_USAGE,
    run_withdraw,
    fields=(
        Field("study_id", N_("Which patient?"), choices=patient_choices),
        Field("reason", N_("Why is the patient withdrawn? Type the reason:")),
    ),
)


FEATURE = Feature(
    "withdrawal",
    staff_commands=[WITHDRAW],
    actions=[
        ActionSpec("withdraw", "withdraw", WithdrawRequest, store_withdraw, after_withdraw),
    ],
)
