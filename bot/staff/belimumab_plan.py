"""The belimumab dose plan as staff read it: shared by ``/dose`` and ``/weight``.

The plan itself (dose from the latest weight, vials, volume) is
``protocol.belimumab.dose_plan``; this is how it is shown, with the label's
preparation facts.
"""

from __future__ import annotations

from decimal import Decimal

from bot.i18n import Translator
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
    lines = [
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
        t._("Preparation:"),
    ]
    lines += [f"- {t._(fact)}" for fact in BELIMUMAB_PREPARATION]
    return lines


def current_plan(protocol: Protocol, weight_kg: str) -> BelimumabPlan:
    return protocol.belimumab.dose_plan(Decimal(weight_kg))
