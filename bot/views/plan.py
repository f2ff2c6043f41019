"""The study plan as a person reads it (text) and as a program reads it (JSON)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from bot.i18n import Translator
from bot.texts import ARM_NAMES, EVENT_TITLES, SLOT_TITLES
from core.dosing import BelimumabPlan
from core.protocol import Protocol
from core.schedule import Enrollment, EventKind, Plan, PlannedEvent, PlannedReminder


def arm_name(t: Translator, arm: str) -> str:
    return t._(ARM_NAMES[arm]) if arm in ARM_NAMES else arm


def event_title(t: Translator, event: PlannedEvent) -> str:
    return t._(EVENT_TITLES[event.kind], number=event.number)


def _reminders_by_event(plan: Plan) -> dict[str, list[PlannedReminder]]:
    grouped: dict[str, list[PlannedReminder]] = defaultdict(list)
    for reminder in plan.reminders:
        grouped[reminder.event_key].append(reminder)
    return grouped


def dose_line(t: Translator, dose: BelimumabPlan) -> str:
    """One line a nurse can prepare the infusion from."""
    return t._(
        "Dose from {weight} kg: {dose} mg; vials {vials}; withdraw {volume} mL.",
        weight=t.number(dose.weight_kg),
        dose=t.number(dose.dose_mg),
        vials=" + ".join(f"{size} mg" for size in dose.vials),
        volume=t.number(dose.volume_ml_display),
    )


def render_plan(
    t: Translator,
    protocol: Protocol,
    enrollment: Enrollment,
    plan: Plan,
    weight_kg: Decimal | None = None,
) -> str:
    """A calendar a coordinator can check against the protocol before go-live."""
    dose = protocol.belimumab.dose_plan(weight_kg) if weight_kg is not None else None
    lines = [
        t._(
            "Study plan: {arm}, day 0 on {day0} (time zone {zone}).",
            arm=arm_name(t, enrollment.arm),
            day0=t.date(enrollment.day0),
            zone=enrollment.timezone,
        )
    ]
    reminders = _reminders_by_event(plan)
    for event in plan.events:
        if event.kind == EventKind.ORAL_DOSE:
            continue
        params = {
            "week": event.week,
            "when": t.datetime(event.starts_at),
            "title": event_title(t, event),
        }
        if event.window_before or event.window_after:
            lines.append(
                t._(
                    "Week {week} · {when} · {title} (window {start} to {end})",
                    start=t.date(event.window_start, "MMMd"),
                    end=t.date(event.window_end, "MMMd"),
                    **params,
                )
            )
        else:
            lines.append(t._("Week {week} · {when} · {title}", **params))
        if dose is not None and event.kind == EventKind.BELIMUMAB_INFUSION:
            lines.append("    " + dose_line(t, dose))
        for reminder in reminders.get(event.key, []):
            lines.append(
                t._(
                    "    reminder {when}: {what}",
                    when=t.datetime(reminder.due),
                    what=t._(SLOT_TITLES[reminder.slot]),
                )
            )
    med = protocol.medication
    lines.append(
        t._(
            "Daily medication reminders, for patients who opt in: {times}. On renal "
            "assessment days the morning dose waits until {after_draw}, after the blood draw.",
            times=t.join([time.strftime("%H:%M") for time in med.dose_times]),
            after_draw=protocol.lab_day_dose_time().strftime("%H:%M"),
        )
    )
    return "\n".join(lines)


def plan_as_json(plan: Plan, dose: BelimumabPlan | None = None) -> list[dict[str, Any]]:
    """Events with their windows and reminders; dates ISO 8601, instants in UTC.

    With a dose plan, each belimumab infusion carries it (decimals as text).
    """
    reminders = _reminders_by_event(plan)
    dose_json = None
    if dose is not None:
        dose_json = {
            "weight_kg": str(dose.weight_kg),
            "dose_mg": str(dose.dose_mg),
            "vials_mg": list(dose.vials),
            "volume_ml": str(dose.volume_ml_display),
        }
    return [
        {
            "kind": str(event.kind),
            "number": event.number,
            "week": event.week,
            "date": event.target_date.isoformat(),
            "window": {
                "start": event.window_start.isoformat(),
                "end": event.window_end.isoformat(),
            },
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat() if event.ends_at else None,
            "reminders": [
                {
                    "slot": str(r.slot),
                    "due": r.due.isoformat(),
                    "announces": r.announces.isoformat(),
                }
                for r in reminders.get(event.key, [])
            ],
            **(
                {"dose": dose_json}
                if dose_json and event.kind == EventKind.BELIMUMAB_INFUSION
                else {}
            ),
        }
        for event in plan.events
    ]
