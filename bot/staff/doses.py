"""/dose and /weight: doses given, and the weight the belimumab dose is planned from.

- ``/dose P01 belimumab`` shows the plan from the latest recorded weight
  (``protocol.belimumab.dose_plan``: dose, vials, volume) and the label's
  preparation facts; Confirm records the dose against the infusion due on
  its date (:func:`core.store.clinical.belimumab_entry`: the planned one whose
  window contains the date, else the nearest) and marks that infusion done.
  Outside the infusion's window the dose needs ``reason=...`` and is a
  protocol deviation; an infusion whose window has not opened yet is never
  marked done by an early dose; a dose within
  ``belimumab.min_days_between_infusions`` of another is refused. Refused for
  the control arm.
- ``/dose P01 mp 500mg`` records a methylprednisolone pulse dose against the
  pulse day booked for its date, and answers with the cumulative total
  against the registry's 1500-3000 mg (``core.dosing.mp_cumulative``): below
  the range is normal while the pulse is still going on, so it reads "so
  far"; above it is a warning.
- ``/dose P01 mmf 750mg`` and ``/dose P01 tacrolimus 1mg`` record one oral
  dose, with the day's total so far against the registry's daily range.
- Every ``/dose`` takes ``date=YYYY-MM-DD`` (today when left out): a pulse
  given on days 0-2 is recorded on its own day, and the day totals are that
  day's.
- ``/weight P01 61.5kg`` updates the patient's weight (audited, old and new
  value) and shows the new belimumab plan for the belimumab arm
  (:mod:`bot.staff.weight`, part of this feature).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session, col, select

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.belimumab_plan import current_plan, fit_preview, plain, tidy
from bot.staff.clinical import calendar_lines, local_date, patient_for_entry
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.staff.weight import WEIGHT_ACTION, WEIGHT_COMMAND
from bot.texts import EVENT_TITLES
from core.dosing import (
    DEFAULT_DAILY_RANGES,
    DailyRange,
    Dose,
    MassUnit,
    MpStatus,
    RangePolicy,
    RangeStatus,
    UnitFamily,
    check_daily_total,
    mp_cumulative,
    outside_message,
    parse_dose,
    unit_family,
)
from core.entry_calendar import EntryDate
from core.entry_syntax import parse_entry_date, parse_options, split_reason
from core.messages import N_, RuleError
from core.protocol import Protocol
from core.schedule import EventKind
from core.store.clinical import belimumab_entry, pulse_day, record_dose
from core.store.db import read_session
from core.store.models import DoseAdministration, Patient
from core.store.uow import UnitOfWork
from core.vocabulary import ORAL_DRUGS, Drug, drug_from_word

log = logging.getLogger(__name__)

DOSE_KIND = "dose"

DOSE_USAGE = N_(
    "/dose <study ID> belimumab | mp <dose> | mmf <dose> | tacrolimus <dose> "
    "[date=YYYY-MM-DD] [reason=...]  e.g. /dose P01 belimumab, /dose P01 mp 500mg"
)

DATE_KEYS = {"date": "date", "日期": "date"}

DRUG_NAMES: dict[Drug, str] = {
    Drug.BELIMUMAB: N_("belimumab"),
    Drug.MP: N_("methylprednisolone"),
    Drug.MMF: N_("mycophenolate mofetil"),
    Drug.TACROLIMUS: N_("tacrolimus"),
}

_MG_PER = {"mg": Decimal(1), "g": Decimal(1000)}


def _mg(row: DoseAdministration) -> Decimal:
    assert row.amount is not None
    assert row.unit is not None
    return Decimal(row.amount) * _MG_PER[row.unit]


def dose_text(t: Translator, amount: str, unit: str) -> str:
    return f"{t.number(Decimal(amount))} {unit}"


@dataclass(frozen=True, slots=True)
class VialPlan:
    """The belimumab plan a dose was given by (``dose_administration.vial_plan``)."""

    weight_kg: Decimal
    mg_per_kg: Decimal
    dose_mg: Decimal
    vials_mg: tuple[int, ...]
    total_mg: Decimal
    waste_mg: Decimal
    concentration_mg_per_ml: Decimal
    volume_ml: Decimal

    def as_json(self) -> dict[str, object]:
        """The stored JSON: amounts as fixed-point text, vial sizes as numbers."""
        return {
            key: list(value) if isinstance(value, tuple) else plain(value)
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True, slots=True)
class DosePayload:
    """What Confirm stores for ``/dose``: the drug, amount and day given, and for
    belimumab the weight, vial plan and, outside the infusion's window, the reason."""

    patient_id: int
    study_id: str
    drug: Drug
    amount: Decimal
    unit: str
    given_on: date
    weight_kg: Decimal | None = None
    vial_plan: VialPlan | None = None
    reason: str | None = None


def doses_of(session: Session, patient_id: int, drug: Drug) -> list[DoseAdministration]:
    return list(
        session.exec(
            select(DoseAdministration)
            .where(DoseAdministration.patient_id == patient_id)
            .where(DoseAdministration.drug == drug)
            .order_by(col(DoseAdministration.id))
        ).all()
    )


# --- /dose ------------------------------------------------------------------------------------


def _drug(args: list[str]) -> Drug:
    if len(args) < 2:
        raise RuleError(N_("Name the drug after the study ID: belimumab, mp, mmf or tacrolimus."))
    drug = drug_from_word(args[1])
    if drug is None:
        raise RuleError(
            N_('"{word}" is not a study drug. Use belimumab, mp, mmf or tacrolimus.'),
            word=args[1],
        )
    return drug


def _dose_words(ctx: Ctx, drug: Drug, rest: list[str]) -> tuple[list[str], date, str | None]:
    """The amount's words, the day given (``date=``, today when left out) and the
    reason (``reason=...`` to the end; a belimumab dose's only)."""
    words, reason = split_reason(rest)
    at = next((i for i, word in enumerate(words) if "=" in word), len(words))
    options = parse_options(words[at:], DATE_KEYS)
    day = ctx.today()
    if "date" in options:
        day = parse_entry_date(options["date"][0], today=day)
    if reason is not None and drug != Drug.BELIMUMAB:
        raise RuleError(
            N_("reason= is for a belimumab dose outside its infusion's window; leave it out here.")
        )
    return words[:at], day, reason


async def run_dose(ctx: Ctx, args: list[str]) -> None:
    patient = patient_for_entry(ctx, args)
    drug = _drug(args)
    amount, day, reason = _dose_words(ctx, drug, args[2:])
    if drug == Drug.BELIMUMAB:
        await _propose_belimumab(ctx, patient, amount, day, reason)
    elif drug == Drug.MP:
        await _propose_mp(ctx, patient, amount, day)
    else:
        await _propose_oral(ctx, patient, drug, amount, day)


async def _propose_belimumab(
    ctx: Ctx, patient: Patient, rest: list[str], day: date, reason: str | None
) -> None:
    assert patient.id is not None
    protocol = ctx.services.protocol
    if not protocol.gets_belimumab(patient.arm):
        raise RuleError(
            N_(
                "{study_id} is in the control arm (multi-target therapy only) and gets no "
                "belimumab."
            ),
            study_id=patient.study_id,
        )
    if rest:
        raise RuleError(
            N_(
                "The belimumab dose comes from the latest weight: write only /dose {study_id} "
                "belimumab (use /weight first if the weight changed)."
            ),
            study_id=patient.study_id,
        )
    plan = current_plan(protocol, patient.weight_kg)
    with read_session(ctx.services.engine) as session:
        event, entry = belimumab_entry(session, protocol, patient, day, reason)
    t = ctx.t
    if event is None:
        head = t._(
            "Belimumab for {study_id}: no planned infusion is due on {date}, so the dose is "
            "recorded without an infusion number.",
            study_id=patient.study_id,
            date=t.date(day),
        )
    else:
        head = t._(
            "Belimumab for {study_id}: {event}, week {week}, booked for {date}.",
            study_id=patient.study_id,
            event=t._(EVENT_TITLES[EventKind.BELIMUMAB_INFUSION], number=event.number),
            week=event.week,
            date=t.date(event.scheduled_date),
        )
    vial_plan = VialPlan(
        weight_kg=plan.weight_kg,
        mg_per_kg=plan.mg_per_kg,
        dose_mg=tidy(plan.dose_mg),
        vials_mg=tuple(plan.vials),
        total_mg=tidy(plan.total_mg),
        waste_mg=tidy(plan.waste_mg),
        concentration_mg_per_ml=plan.concentration_mg_per_ml,
        volume_ml=plan.volume_ml,
    )
    payload = DosePayload(
        patient.id,
        patient.study_id,
        Drug.BELIMUMAB,
        tidy(plan.dose_mg),
        "mg",
        day,
        weight_kg=Decimal(patient.weight_kg),
        vial_plan=vial_plan,
        reason=entry.reason,
    )
    given = t._("Given on {date}.", date=t.date(day))
    infusion = (EventKind.BELIMUMAB_INFUSION, event.number) if event is not None else None
    warnings = calendar_lines(t, entry, infusion, confirmed=False)
    first, summary = fit_preview(t, [head, given], plan, warnings, ctx.out.limits.text)
    if first:
        await ctx.reply("\n".join(first))
    await propose(ctx, DOSE_KIND, Draft("\n".join(summary), payload))


def mp_line(t: Translator, status: MpStatus) -> str:
    """The cumulative pulse total: "so far" below the range, a warning above it."""
    params = {
        "total": t.number(status.total_mg),
        "low": t.number(status.low_mg),
        "high": t.number(status.high_mg),
    }
    if status.status is RangeStatus.BELOW:
        return t._(
            "Cumulative methylprednisolone so far: {total} mg (protocol total {low}-{high} mg).",
            **params,
        )
    if status.status is RangeStatus.ABOVE:
        assert status.warning is not None
        return t._(status.warning, **status.warning_params)
    return t._(
        "Cumulative methylprednisolone: {total} mg, within the protocol's {low}-{high} mg.",
        **params,
    )


def _mp_day_totals(
    ctx: Ctx, rows: list[DoseAdministration], extra: tuple[date, Decimal] | None = None
) -> list[Decimal]:
    """Each pulse day's methylprednisolone total in mg, in day order, with ``extra``
    (a dose being entered now: its day and mg) added to its day's.

    The protocol's per-day limit (``mp_pulse.max_single_dose_mg``) applies to a
    day's total, not to one entry: two entries of 600 mg on one day are
    1,200 mg that day. An entry with no day is a day of its own.
    """
    totals: dict[date | int, Decimal] = {}
    for index, row in enumerate(rows):
        day = _given_day(ctx, row)
        key: date | int = day if day is not None else index
        totals[key] = totals.get(key, Decimal(0)) + _mg(row)
    if extra is not None:
        day, mg = extra
        totals[day] = totals.get(day, Decimal(0)) + mg
    return list(totals.values())


def _mp_status(ctx: Ctx, doses_mg: list[Decimal]) -> MpStatus:
    pulse = ctx.services.protocol.mp_pulse
    return mp_cumulative(
        doses_mg,
        low=pulse.total_mg_min,
        high=pulse.total_mg_max,
        max_single_dose_mg=pulse.max_single_dose_mg,
    )


def _amount(rest: list[str], example: str) -> str:
    if not rest:
        raise RuleError(N_("Give the dose with its unit, for example {example}."), example=example)
    return " ".join(rest)


def _on_day(ctx: Ctx, template_today: str, template_day: str, day: date, **params: object) -> str:
    """A sentence about a dose: its "today" form, or its form naming ``day``."""
    if day == ctx.today():
        return ctx.t._(template_today, **params)
    return ctx.t._(template_day, date=ctx.t.date(day), **params)


async def _propose_mp(ctx: Ctx, patient: Patient, rest: list[str], day: date) -> None:
    assert patient.id is not None
    dose = parse_dose(_amount(rest, "500mg"), UnitFamily.G_OR_MG)
    with read_session(ctx.services.engine) as session:
        earlier = doses_of(session, patient.id, Drug.MP)
        pulse = pulse_day(session, patient.id, day)
    status = _mp_status(ctx, _mp_day_totals(ctx, earlier, extra=(day, dose.mg)))
    t = ctx.t
    lines = [
        _on_day(
            ctx,
            N_("Methylprednisolone for {study_id}: {dose} today."),
            N_("Methylprednisolone for {study_id}: {dose} on {date}."),
            day,
            study_id=patient.study_id,
            dose=dose_text(t, plain(dose.amount), dose.unit.value),
        ),
    ]
    if pulse is not None:
        lines.append(
            t._("For {event}.", event=t._(EVENT_TITLES[EventKind.MP_PULSE], number=pulse.number))
        )
    lines.append(mp_line(t, status))
    payload = DosePayload(patient.id, patient.study_id, Drug.MP, dose.amount, dose.unit.value, day)
    await propose(ctx, DOSE_KIND, Draft("\n".join(lines), payload))


def _daily_range(protocol: Protocol, drug: Drug) -> DailyRange:
    m = protocol.medication
    if drug is Drug.MMF:
        return DailyRange(m.mmf_g_per_day_min, m.mmf_g_per_day_max, MassUnit.G)
    if drug is Drug.TACROLIMUS:
        return DailyRange(m.tacrolimus_mg_per_day_min, m.tacrolimus_mg_per_day_max, MassUnit.MG)
    return DEFAULT_DAILY_RANGES[drug]  # pragma: no cover - two oral drugs


def oral_line(ctx: Ctx, drug: Drug, doses: list[Dose], day: date) -> str:
    """The day's total so far against the daily range; a warning only above it.

    Below the range is normal until the day's last dose, so it is not flagged;
    with ``out_of_range = "refuse"`` a total above the range is refused.
    """
    limits = _daily_range(ctx.services.protocol, drug)
    m = ctx.services.protocol.medication
    refused_above = (
        m.mmf_g_per_day_refused_above if drug is Drug.MMF else m.tacrolimus_mg_per_day_refused_above
    )
    check = check_daily_total(
        drug, doses, policy=RangePolicy.FLAG, daily_range=limits, refused_above=refused_above
    )
    t = ctx.t
    if check.status is RangeStatus.ABOVE:
        if ctx.services.protocol.medication.out_of_range == "refuse":
            raise RuleError(outside_message(drug), **check.warning_params)
        return t._(outside_message(drug), **check.warning_params)
    return _on_day(
        ctx,
        N_("Today's total so far: {total} {unit} (protocol: {low}-{high} {unit} per day)."),
        N_("Total on {date} so far: {total} {unit} (protocol: {low}-{high} {unit} per day)."),
        day,
        total=t.number(check.total.normalize()),
        unit=check.unit.value,
        low=t.number(check.low),
        high=t.number(check.high),
    )


def _given_day(ctx: Ctx, row: DoseAdministration) -> date | None:
    if row.given_on is not None:
        return row.given_on
    return local_date(ctx, row.given_at) if row.given_at is not None else None


def _doses_on(ctx: Ctx, session: Session, patient_id: int, drug: Drug, day: date) -> list[Dose]:
    """The doses of ``drug`` with a known amount given on ``day`` (trial time zone)."""
    return [
        Dose(Decimal(row.amount), MassUnit(row.unit))
        for row in doses_of(session, patient_id, drug)
        if row.amount is not None and row.unit is not None and _given_day(ctx, row) == day
    ]


async def _propose_oral(ctx: Ctx, patient: Patient, drug: Drug, rest: list[str], day: date) -> None:
    assert patient.id is not None
    family = unit_family(drug)
    dose = parse_dose(_amount(rest, family.example.split(",")[0]), family)
    with read_session(ctx.services.engine) as session:
        earlier = _doses_on(ctx, session, patient.id, drug, day)
    t = ctx.t
    lines = [
        _on_day(
            ctx,
            N_("{drug} for {study_id}: {dose} today."),
            N_("{drug} for {study_id}: {dose} on {date}."),
            day,
            drug=t._(DRUG_NAMES[drug]),
            study_id=patient.study_id,
            dose=dose_text(t, plain(dose.amount), dose.unit.value),
        ),
        oral_line(ctx, drug, [*earlier, dose], day),
    ]
    payload = DosePayload(patient.id, patient.study_id, drug, dose.amount, dose.unit.value, day)
    await propose(ctx, DOSE_KIND, Draft("\n".join(lines), payload))


@dataclass(frozen=True, slots=True)
class DoseStored:
    dose_id: int
    study_id: str
    drug: Drug
    amount: str
    unit: str
    event: tuple[EventKind, int] | None  # the infusion or pulse day the dose is for
    closed: bool  # whether that event is now done
    entry: EntryDate | None  # a belimumab dose's date against the infusion's window
    count: int
    follow_up: str | None  # an MP total or an oral day total, already translated


def store_dose(ctx: Ctx, uow: UnitOfWork, payload: DosePayload) -> DoseStored:
    entered = record_dose(
        uow,
        ctx.services.protocol,
        payload.patient_id,
        payload.study_id,
        drug=payload.drug,
        amount=payload.amount,
        unit=payload.unit,
        given_on=payload.given_on,
        weight_kg=payload.weight_kg,
        vial_plan=payload.vial_plan.as_json() if payload.vial_plan is not None else None,
        reason=payload.reason,
    )
    row = entered.row
    assert row.id is not None
    drug, day = payload.drug, payload.given_on
    doses = doses_of(uow.session, row.patient_id, drug)
    follow_up: str | None = None
    if drug == Drug.MP:
        follow_up = mp_line(ctx.t, _mp_status(ctx, _mp_day_totals(ctx, doses)))
    elif drug in ORAL_DRUGS:
        follow_up = oral_line(
            ctx, drug, _doses_on(ctx, uow.session, row.patient_id, drug, day), day
        )
    event = entered.event
    return DoseStored(
        row.id,
        payload.study_id,
        drug,
        plain(payload.amount),
        payload.unit,
        (event.kind, event.number) if event is not None else None,
        entered.closed,
        entered.entry,
        len(doses),
        follow_up,
    )


async def after_dose(ctx: Ctx, stored: DoseStored) -> None:
    t = ctx.t
    lines = [
        t._(
            "Recorded: {drug} {dose} for {study_id}.",
            drug=t._(DRUG_NAMES[stored.drug]),
            dose=dose_text(t, stored.amount, stored.unit),
            study_id=stored.study_id,
        )
    ]
    if stored.event is not None and stored.closed:
        kind, number = stored.event
        lines.append(t._("{event} is marked done.", event=t._(EVENT_TITLES[kind], number=number)))
    lines += calendar_lines(t, stored.entry, stored.event, confirmed=True)
    if stored.drug == Drug.BELIMUMAB:
        lines.append(t._("Belimumab doses given so far: {count}.", count=stored.count))
    if stored.follow_up is not None:
        lines.append(stored.follow_up)
    await ctx.reply("\n".join(lines))


# --- the guided flows ---------------------------------------------------------------------


def drug_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(DRUG_NAMES[drug]), drug.value) for drug in DRUG_NAMES]


DOSE_COMMAND = StaffCommand(
    "dose",
    DOSE_USAGE,
    run_dose,
    fields=(
        Field("patient", N_("Which patient?"), choices=patient_choices),
        Field("drug", N_("Which drug?"), choices=drug_choices),
        Field(
            "amount",
            N_(
                "Type the dose with its unit, for example 500mg. For belimumab press Skip: "
                "the dose comes from the latest weight."
            ),
            optional=True,
        ),
    ),
)

FEATURE = Feature(
    "doses and weights",
    staff_commands=[DOSE_COMMAND, WEIGHT_COMMAND],
    actions=[
        ActionSpec(DOSE_KIND, "dose", DosePayload, store_dose, after_dose),
        WEIGHT_ACTION,
    ],
)
