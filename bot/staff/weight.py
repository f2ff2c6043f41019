"""/weight: the weight the belimumab dose is planned from.

``/weight P01 61.5kg`` updates the patient's weight (audited, old and new
value) and shows the new belimumab plan for the belimumab arm. Part of the
"doses and weights" feature (:mod:`bot.staff.doses`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.context import Ctx
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.belimumab_plan import current_plan, fit_preview, plain, plan_lines
from bot.staff.clinical import patient_for_entry
from bot.staff.commands import Field, StaffCommand, patient_choices
from core.dosing import BelimumabPlan
from core.messages import N_, RuleError
from core.store.clinical import record_weight
from core.store.uow import UnitOfWork
from core.units import Analyte, parse_quantity

WEIGHT_KIND = "weight"

WEIGHT_USAGE = N_("/weight <study ID> <weight>kg  e.g. /weight P01 61.5kg")


@dataclass(frozen=True, slots=True)
class WeightPayload:
    """What Confirm stores for ``/weight``."""

    patient_id: int
    study_id: str
    weight_kg: Decimal


async def run_weight(ctx: Ctx, args: list[str]) -> None:
    patient = patient_for_entry(ctx, args)
    if len(args) < 2:
        raise RuleError(N_("Give the weight with its unit, for example 61.5kg."))
    weight = parse_quantity(Analyte.WEIGHT, " ".join(args[1:]))
    t = ctx.t
    lines = [
        t._(
            "New weight for {study_id}: {weight} kg (was {old} kg).",
            study_id=patient.study_id,
            weight=t.number(weight.value),
            old=t.number(Decimal(patient.weight_kg)),
        )
    ]
    if ctx.services.protocol.gets_belimumab(patient.arm):
        lines.append(t._("The next belimumab dose from this weight:"))
        plan = current_plan(ctx.services.protocol, plain(weight.value))
        first, lines = fit_preview(t, lines, plan, [], ctx.out.limits.text)
        if first:
            await ctx.reply("\n".join(first))
    assert patient.id is not None
    payload = WeightPayload(patient.id, patient.study_id, weight.value)
    await propose(ctx, WEIGHT_KIND, Draft("\n".join(lines), payload))


@dataclass(frozen=True, slots=True)
class WeightStored:
    study_id: str
    weight_kg: str
    plan: BelimumabPlan | None


def store_weight(ctx: Ctx, uow: UnitOfWork, payload: WeightPayload) -> WeightStored:
    patient = record_weight(uow, payload.patient_id, payload.study_id, payload.weight_kg)
    protocol = ctx.services.protocol
    plan = None
    if protocol.gets_belimumab(patient.arm):
        plan = current_plan(protocol, patient.weight_kg)
    return WeightStored(patient.study_id, patient.weight_kg, plan)


async def after_weight(ctx: Ctx, stored: WeightStored) -> None:
    t = ctx.t
    lines = [
        t._(
            "The weight of {study_id} is now {weight} kg.",
            study_id=stored.study_id,
            weight=t.number(Decimal(stored.weight_kg)),
        )
    ]
    if stored.plan is not None:
        lines.append(t._("The next belimumab dose from this weight:"))
        lines += plan_lines(t, stored.plan)
    await ctx.reply("\n".join(lines))


WEIGHT_COMMAND = StaffCommand(
    "weight",
    WEIGHT_USAGE,
    run_weight,
    fields=(
        Field("patient", N_("Which patient?"), choices=patient_choices),
        Field("weight", N_("Type the new weight with its unit, for example 61.5kg.")),
    ),
)


WEIGHT_ACTION: ActionSpec[WeightPayload] = ActionSpec(
    WEIGHT_KIND, "weight", WeightPayload, store_weight, after_weight
)
