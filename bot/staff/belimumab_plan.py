"""The belimumab dose plan as staff read it: shared by ``/dose`` and ``/weight``.

The plan itself (dose from the latest weight, vials, volume) is
``protocol.belimumab.dose_plan``; this is how it is shown, with the label's
preparation facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.i18n import Translator
from bot.pagination import utf16_len
from core.dosing import BELIMUMAB_PREPARATION, BelimumabPlan
from core.protocol import Protocol


def plain(value: Decimal) -> str:
    """A decimal as fixed-point text (never ``1E+3``)."""
    return format(value, "f")


def tidy(value: Decimal) -> Decimal:
    """A computed amount without a meaningless ".0" (61.5 kg x 10 = 615, not 615.0).

    Only for amounts the bot computes; values staff type keep their digits.
    """
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


# --- the plan as read -----------------------------------------------------------------------


def vials_text(plan: BelimumabPlan) -> str:
    """``400 mg ×1 + 120 mg ×2``: a formula, the same in both languages."""
    return " + ".join(f"{size} mg ×{count}" for size, count in plan.vial_counts)


def plan_lines(t: Translator, plan: BelimumabPlan) -> list[str]:
    """Dose, vials, volume and the label's preparation facts, in the reader's language."""
    return dose_lines(t, plan) + preparation_lines(t)


def dose_lines(t: Translator, plan: BelimumabPlan) -> list[str]:
    """Dose, vials and volume, in the reader's language."""
    return [
        t._(
            "Dose: {dose} mg = {per_kg} mg/kg × {weight} kg (latest weight).",
            dose=t.number(tidy(plan.dose_mg)),
            per_kg=t.number(tidy(plan.mg_per_kg)),
            weight=t.number(plan.weight_kg),
        ),
        t._(
            "Vials: {vials}, {total} mg in all ({waste} mg left over).",
            vials=vials_text(plan),
            total=t.number(tidy(plan.total_mg)),
            waste=t.number(tidy(plan.waste_mg)),
        ),
        t._(
            "Withdraw {volume} mL ({concentration} mg/mL after reconstitution).",
            volume=t.number(plan.volume_ml_display),
            concentration=t.number(tidy(plan.concentration_mg_per_ml)),
        ),
    ]


def preparation_lines(t: Translator) -> list[str]:
    """The label's preparation facts, under their heading."""
    return [t._("Preparation:"), *(f"- {t._(fact)}" for fact in BELIMUMAB_PREPARATION)]


def fit_preview(
    t: Translator,
    before: Sequence[str],
    plan: BelimumabPlan,
    after: Sequence[str],
    limit: int,
) -> tuple[list[str], list[str]]:
    """A preview showing ``plan`` between ``before`` and ``after`` lines, fitted to a channel
    whose message holds ``limit`` characters: ``([], preview)`` with the whole plan when it
    fits, else ``(preparation, preview)``: the label's preparation facts as a message of
    their own, sent first, and the preview with dose, vials and volume only. A preview
    with Confirm cannot be split (:mod:`bot.conversations.guard`), and on WeCom (600
    characters) the whole plan does not fit one message.
    """
    whole = [*before, *plan_lines(t, plan), *after]
    if utf16_len("\n".join(whole)) <= limit:
        return [], whole
    return preparation_lines(t), [*before, *dose_lines(t, plan), *after]


def current_plan(protocol: Protocol, weight_kg: str) -> BelimumabPlan:
    return protocol.belimumab.dose_plan(Decimal(weight_kg))
