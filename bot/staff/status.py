"""/status: the trial at a glance, or one patient (coordinators).

Requirement: "``/status`` -> the trial at a glance on one screen: enrolled per
arm against the target of 15; this week's infusions, assessments and urine
collections with done / due / overdue; open adverse events with every serious
one's reporting clock (hours left, or overdue); patients who are unreachable
or not yet joined; how many reached week 24 and their response class
(cumulative CR / PR / NR per arm)" and "``/status P01`` -> one patient: study
day and week, arm, next events, last renal panel against baseline with the
current response class and each clause, SLEDAI-2K trend, CD20 trend, doses
given (belimumab count and the next dose plan from the latest weight, MP
cumulative total), adverse events, open patient reports, reminder delivery
(sent / confirmed / missed)"; on WeChat, sent and delivered. One patient's view
also lists their protocol deviations: entries dated outside their windows
(:mod:`core.entry_calendar`) and events /reschedule booked outside theirs, each
with its reason.

The response classes per arm are counted by intention to treat, as
``/summary`` counts them (every enrolled patient in the denominator, a
missing week-24 class counted as non-response, :mod:`core.intention_to_treat`);
today's completers-only counts follow as the sensitivity analysis.

Showing is not recording: no Confirm. The numbers come from aggregate
queries (:mod:`core.store.status`); the rules from :mod:`core.overview`,
:mod:`core.patient_response`, :mod:`core.intention_to_treat`,
:mod:`core.dosing`; long replies are paged (:mod:`bot.pagination`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.pagination import send_pages
from bot.staff.clinical import outside_window_text
from bot.staff.commands import StaffCommand
from bot.staff.reports import category_name
from bot.texts import ARM_NAMES, EVENT_TITLES
from bot.views.response import assessment_lines, class_name
from bot.views.status import (
    MP_RANGE,
    PATIENT_STATUS,
    WEEK_LINES,
    endpoint_lines,
    id_lines,
    outcome_name,
    term_name,
    visit_lines,
)
from core.dosing import mp_cumulative
from core.intention_to_treat import (
    MissingReason,
    PatientOutcome,
    intention_to_treat,
    missing_reason,
    patient_outcome,
    reached_week,
)
from core.messages import N_, RuleError
from core.overview import (
    ProgressCounts,
    reporting_clock,
    study_time,
    tally_progress,
    week_bounds,
)
from core.patient_response import LabRow, patient_response
from core.protocol import Protocol
from core.response import ResponseClass
from core.schedule import EventKind, trial_today
from core.store import status as queries
from core.store.db import read_session
from core.store.models import (
    Channel,
    DeviationEntry,
    Patient,
    PatientStatus,
    PlannedEventRow,
    ProtocolDeviation,
)
from core.store.services import patient_by_study_id
from core.store.trial_data import load_trial_data
from core.units import Unit
from core.visits import visit_outcome

COMMAND = "status"
USAGE = N_("/status for the whole trial, or /status <study ID> for one patient  e.g. /status P01")
NO_PATIENT = N_("There is no patient with study ID {study_id}.")

_NEXT_EVENTS = 3


def _collection_days(protocol: Protocol) -> int:
    """Days a urine collection runs past its start day (1: it ends the next morning)."""
    start = protocol.urine_collection.start_time
    minutes = start.hour * 60 + start.minute + protocol.urine_collection.hours * 60
    return minutes // (24 * 60)


# --------------------------------------------------------------------------- the trial


def overview_blocks(ctx: Ctx) -> list[str]:
    """The whole trial on one screen (pages when it is long)."""
    t = ctx.t
    protocol = ctx.services.protocol
    now = ctx.now()
    # The same instant as ``now`` (bench.run drives this with a Ctx that has only now()).
    today = trial_today(now, ctx.services.zone)
    monday, sunday = week_bounds(today)
    endpoint = protocol.trial.induction_weeks
    with read_session(ctx.services.engine) as session:
        arms = queries.enrollment_by_arm(session)
        groups = queries.week_event_groups(session, monday, sunday)
        open_total, open_serious = queries.open_adverse_event_count(session)
        open_events = queries.open_adverse_events(session)
        serious = queries.serious_unacknowledged(session)
        unreachable = queries.unreachable_study_ids(session)
        not_joined = queries.not_joined_study_ids(session)
        reached = queries.reached_week_by_arm(session, today, endpoint)
        unassessed = queries.unassessed_counts(session, today, endpoint)
        assessed = queries.assessed_patients(session, endpoint)
        rows = queries.assessed_lab_rows(session, endpoint) if assessed else []

    blocks = [t._("Trial status on {date}", date=t.date(today))]

    # Enrolment per arm, every arm of the protocol even before its first patient.
    by_arm = {a.arm: a for a in arms}
    target = protocol.trial.enrollment_target
    lines = [t._("Enrolled (target {target} per arm):", target=target)]
    for arm in [*protocol.arms, *sorted(set(by_arm) - set(protocol.arms))]:
        counts = by_arm.get(arm, queries.ArmEnrollment(arm, 0, 0))
        if counts.withdrawn:
            lines.append(
                "  "
                + t._(
                    "{arm}: {enrolled} / {target} ({withdrawn} withdrawn)",
                    arm=arm,
                    enrolled=counts.enrolled,
                    target=target,
                    withdrawn=counts.withdrawn,
                )
            )
        else:
            lines.append(
                "  "
                + t._(
                    "{arm}: {enrolled} / {target}", arm=arm, enrolled=counts.enrolled, target=target
                )
            )
    lines.append("  " + t._("Total: {enrolled}", enrolled=sum(a.enrolled for a in arms)))
    blocks.append("\n".join(lines))

    # This week's events.
    tallies = tally_progress(
        ((g.kind, g.scheduled_date, g.done, g.count) for g in groups),
        today,
        {EventKind.URINE_COLLECTION: _collection_days(protocol)},
    )
    lines = [
        t._(
            "This week ({monday} to {sunday}):",
            monday=t.date(monday, "MMMEd"),
            sunday=t.date(sunday, "MMMEd"),
        )
    ]
    for kind, template in WEEK_LINES.items():
        progress = tallies.get(kind, ProgressCounts())
        lines.append(
            "  " + t._(template, done=progress.done, due=progress.due, overdue=progress.overdue)
        )
    blocks.append("\n".join(lines))

    # Adverse events and the reporting clocks.
    hours = protocol.adverse_events.serious_report_hours
    lines = [
        t._(
            "Open adverse events: {count} ({serious} serious)",
            count=open_total,
            serious=open_serious,
        )
    ]
    blocks.append("\n".join(lines))
    # Each open event, until its outcome says it ended (/ae AE<n> outcome=...).
    for open_event, study_id in open_events:
        blocks.append(
            "  "
            + t._(
                "AE{number} {study_id}: {term}, grade {grade}, onset {onset}",
                number=open_event.id,
                study_id=study_id,
                term=term_name(t, open_event),
                grade=open_event.grade,
                onset=t.date(open_event.onset_date),
            )
        )
    if serious:
        blocks.append(t._("Serious, not yet acknowledged:"))
    for event in serious:
        clock = reporting_clock(event.awareness_at, now, hours)
        if clock.overdue:
            text = t._(
                "AE{number} {study_id}: report overdue by {hours} h",
                number=event.ae_id,
                study_id=event.study_id,
                hours=clock.hours,
            )
        else:
            text = t._(
                "AE{number} {study_id}: {hours} h left to report (by {deadline})",
                number=event.ae_id,
                study_id=event.study_id,
                hours=clock.hours,
                deadline=t.datetime(clock.deadline),
            )
        blocks.append("  " + text)

    # People the bot cannot reach.
    blocks.append(t._("Unreachable: {count}", count=len(unreachable)))
    blocks.extend(id_lines(unreachable))
    blocks.append(t._("Not yet joined: {count}", count=len(not_joined)))
    blocks.extend(id_lines(not_joined))

    # Week 24 and the response classes.
    blocks.append("\n".join(_endpoint_lines(ctx, endpoint, reached, unassessed, assessed, rows)))
    return blocks


def _endpoint_lines(
    ctx: Ctx,
    endpoint: int,
    reached: dict[str, int],
    unassessed: Sequence[queries.UnassessedCount],
    patients: dict[int, queries.AssessedPatient],
    rows: Iterable[LabRow],
) -> list[str]:
    t = ctx.t
    protocol = ctx.services.protocol
    options = protocol.response_options()
    today = trial_today(ctx.now(), ctx.services.zone)
    by_patient: dict[int, list[LabRow]] = {}
    for row in rows:
        by_patient.setdefault(row.patient_id, []).append(row)
    outcomes: dict[str, list[PatientOutcome]] = {}
    classes: dict[str, list[ResponseClass | None]] = {}
    for patient_id, patient in patients.items():
        own = by_patient.get(patient_id, [])
        result = patient_response(own, patient.sex, options).result
        endpoint_results_in = any(row.week == endpoint for row in own)
        outcomes.setdefault(patient.arm, []).append(
            patient_outcome(
                patient.study_id,
                result,
                withdrawn=patient.withdrawn,
                endpoint_results_in=endpoint_results_in,
                reached_endpoint=reached_week(patient.day0, endpoint, today),
            )
        )
        # The completers-only counts: on study, with a week-24 renal result.
        if endpoint_results_in and not patient.withdrawn:
            classes.setdefault(patient.arm, []).append(result.cumulative)
    # Patients without any assessment after baseline, counted by the database: the same
    # rule gives each group its reason.
    unlisted: dict[str, dict[MissingReason, int]] = {}
    for group in unassessed:
        reason = missing_reason(
            None,
            withdrawn=group.withdrawn,
            endpoint_results_in=False,
            reached_endpoint=group.reached,
        )
        assert reason is not None  # no result: never a week-24 class
        by_reason = unlisted.setdefault(group.arm, {})
        by_reason[reason] = by_reason.get(reason, 0) + group.count
    known = set(outcomes) | set(unlisted) | set(reached)
    arms = [*protocol.arms, *sorted(known - set(protocol.arms))]
    itt = {
        arm: intention_to_treat(outcomes.get(arm, []), unlisted=unlisted.get(arm)) for arm in arms
    }
    return endpoint_lines(t, arms, endpoint, reached, itt, classes)


# --------------------------------------------------------------------------- one patient


def _find(ctx: Ctx, study_id: str) -> Patient:
    with read_session(ctx.services.engine) as session:
        found = patient_by_study_id(session, study_id)
    if found is None:
        raise RuleError(NO_PATIENT, study_id=study_id)
    return found


def patient_blocks(ctx: Ctx, study_id: str) -> list[str]:
    """One patient in full (pages when it is long)."""
    t = ctx.t
    patient = _find(ctx, study_id)
    assert patient.id is not None
    with read_session(ctx.services.engine) as session:
        # A patient who left the study has nothing coming: their planned events stay
        # in the records (withdrawal keeps everything) but will not happen.
        events = (
            queries.next_events(session, patient.id, ctx.now(), _NEXT_EVENTS)
            if patient.status != PatientStatus.WITHDRAWN
            else []
        )
        lab_rows = queries.patient_lab_rows(session, patient.id)
        sledai = queries.sledai_trend(session, patient.id)
        cd20 = queries.cd20_trend(session, patient.id)
        belimumab_given = queries.belimumab_dose_count(session, patient.id)
        mp = queries.mp_doses(session, patient.id)
        adverse = queries.adverse_events_of(session, patient.id)
        reports = queries.open_reports_of(session, patient.id)
        delivery = queries.reminder_delivery(session, patient.id)
        deviations = queries.deviations_of(session, patient.id)
        moved = queries.moved_outside_window(session, patient.id)
        records = load_trial_data(session, ctx.services.zone, study_id=patient.study_id).events

    when = study_time(patient.day0, ctx.today())
    arm_name = ARM_NAMES.get(patient.arm)
    blocks = [
        "\n".join(
            [
                t._(
                    "{study_id}: {arm} ({arm_name}), {status}",
                    study_id=patient.study_id,
                    arm=patient.arm,
                    arm_name=t._(arm_name) if arm_name else patient.arm,
                    status=t._(PATIENT_STATUS[patient.status]),
                ),
                t._(
                    "Day 0: {day0}. Today is study day {day}, week {week}.",
                    day0=t.date(patient.day0),
                    day=when.day,
                    week=when.week,
                ),
            ]
        )
    ]

    lines = [t._("Next events:")]
    for event in events:
        title = t._(EVENT_TITLES[event.kind], number=event.number)
        lines.append("  " + t._("{when}: {title}", when=t.datetime(event.starts_at), title=title))
    if not events:
        lines.append("  " + t._("No more planned events."))
    blocks.append("\n".join(lines))

    blocks.append("\n".join(_renal_lines(ctx, patient, lab_rows)))

    lines = [t._("SLEDAI-2K:")]
    lines += [
        "  "
        + t._(
            "Week {week}: total {total}, renal {renal}",
            week=s.week,
            total=s.total,
            renal=s.renal_total,
        )
        for s in sledai
    ]
    if not sledai:
        lines.append("  " + t._("None recorded yet."))
    blocks.append("\n".join(lines))

    lines = [t._("CD20 B cells:")]
    lines += [
        "  "
        + t._(
            "Week {week}: {value}",
            week=c.week,
            value=f"{t.number(Decimal(c.value))}{Unit(c.unit.value).suffix}",
        )
        for c in cd20
    ]
    if not cd20:
        lines.append("  " + t._("None recorded yet."))
    blocks.append("\n".join(lines))

    blocks.append("\n".join(_dose_lines(ctx, patient, belimumab_given, mp)))

    lines = [t._("Adverse events:")]
    for ae in adverse:
        if not ae.serious:
            template = N_("AE{number} {term}, grade {grade}, not serious")
        elif ae.acknowledged_at is not None:
            template = N_("AE{number} {term}, grade {grade}, serious, acknowledged")
        else:
            template = N_("AE{number} {term}, grade {grade}, serious, not yet acknowledged")
        lines.append("  " + t._(template, number=ae.id, term=term_name(t, ae), grade=ae.grade))
        if ae.outcome is not None:
            lines.append("    " + _outcome_text(ctx, ae.outcome, ae.end_date))
    if not adverse:
        lines.append("  " + t._("None recorded."))
    blocks.append("\n".join(lines))

    lines = [t._("Open patient reports:")]
    for report in reports:
        lines.append(
            "  "
            + t._(
                "R{number} {category}, {created}",
                number=report.id,
                category=category_name(t, report),
                created=t.datetime(report.created_at),
            )
        )
    if not reports:
        lines.append("  " + t._("None open."))
    blocks.append("\n".join(lines))

    today = ctx.today()
    visits = [
        (e, visit_outcome(e, today))
        for e in records
        if e.patient_id == patient.id and e.kind in queries.OVERVIEW_KINDS
    ]
    blocks.append("\n".join(visit_lines(t, visits)))
    blocks.append("\n".join(_deviation_lines(ctx, deviations, moved)))
    blocks.append(_delivery_line(ctx, patient, delivery))
    return blocks


def _outcome_text(ctx: Ctx, outcome: str, end: date | None) -> str:
    """An adverse event's recorded outcome (/ae AE<n> outcome=...), with its end date."""
    t = ctx.t
    name = outcome_name(t, outcome)
    if end is None:
        return t._("Outcome: {outcome}", outcome=name)
    return t._("Outcome: {outcome}, ended {end}", outcome=name, end=t.date(end))


def _delivery_line(ctx: Ctx, patient: Patient, delivery: queries.ReminderDelivery) -> str:
    """Reminders sent, answered, missed and failed; and delivered where the channel says so.

    WeChat reports each template message's delivery (docs/DESIGN.md §3:
    ``sent -> delivered``); Telegram does not, so a Telegram patient's line
    has no delivered count that would always read 0.
    """
    counts = {
        "sent": delivery.sent,
        "confirmed": delivery.confirmed,
        "missed": delivery.missed,
        "failed": delivery.failed,
    }
    if patient.preferred_channel == Channel.WECHAT or delivery.delivered:
        return ctx.t._(
            "Reminders: {sent} sent, {delivered} of them delivered, {confirmed} confirmed, "
            "{missed} missed, {failed} failed",
            delivered=delivery.delivered,
            **counts,
        )
    return ctx.t._(
        "Reminders: {sent} sent, {confirmed} confirmed, {missed} missed, {failed} failed",
        **counts,
    )


DEVIATION_ENTRIES: dict[DeviationEntry, str] = {
    DeviationEntry.LABS: N_("Renal labs, week {week}"),
    DeviationEntry.SLEDAI: N_("SLEDAI-2K, week {week}"),
    DeviationEntry.CD20: N_("CD20 B cells, week {week}"),
    DeviationEntry.BELIMUMAB: N_("Belimumab dose"),
}


def _deviation_lines(
    ctx: Ctx, deviations: Sequence[ProtocolDeviation], moved: Sequence[PlannedEventRow]
) -> list[str]:
    """Entries outside their windows and events moved outside theirs, with the reasons."""
    t = ctx.t
    dated: list[tuple[date, str]] = []
    for row in deviations:
        window = None
        if row.window_start is not None and row.window_end is not None:
            window = (row.window_start, row.window_end)
        where = outside_window_text(t, row.occurred_on, row.timing, row.days_outside, window)
        what = t._(DEVIATION_ENTRIES[row.entry], week=row.week)
        text = t._("{what}: {where}; reason: {reason}", what=what, where=where, reason=row.reason)
        dated.append((row.occurred_on, text))
    for event in moved:
        start = event.target_date - timedelta(days=event.window_before)
        end = event.target_date + timedelta(days=event.window_after)
        text = t._(
            "{event} booked for {date}, outside its window ({start} to {end}); reason: {reason}",
            event=t._(EVENT_TITLES[event.kind], number=event.number),
            date=t.date(event.scheduled_date),
            start=t.date(start),
            end=t.date(end),
            reason=event.deviation_reason,
        )
        dated.append((event.scheduled_date, text))
    lines = [t._("Protocol deviations:")]
    lines += ["  " + text for _, text in sorted(dated, key=lambda item: item[0])]
    if not dated:
        lines.append("  " + t._("None recorded."))
    return lines


def _renal_lines(ctx: Ctx, patient: Patient, rows: Sequence[LabRow]) -> list[str]:
    t = ctx.t
    options = ctx.services.protocol.response_options()
    response = patient_response(rows, patient.sex, options)
    last = response.last_week
    if last is None:
        if response.baseline is not None:
            return [t._("Renal response: only the baseline (week 0) panel so far.")]
        return [t._("Renal response: no renal results yet.")]
    lines = [t._("Renal response at week {week} against baseline (week 0):", week=last)]
    lines += ["  " + line for line in assessment_lines(t, response.assessments[last])]
    result = response.result
    if result.cumulative is not None:
        lines.append(
            t._(
                "Cumulative by week {week}: {response}",
                week=result.endpoint_week,
                response=class_name(t, result.cumulative),
            )
        )
    return lines


def _dose_lines(
    ctx: Ctx, patient: Patient, belimumab_given: int, mp: Sequence[tuple[str, str]]
) -> list[str]:
    t = ctx.t
    protocol = ctx.services.protocol
    lines = [t._("Doses:")]
    if protocol.gets_belimumab(patient.arm):
        lines.append("  " + t._("Belimumab doses given: {count}", count=belimumab_given))
        try:
            plan = protocol.belimumab.dose_plan(Decimal(patient.weight_kg))
        except (RuleError, InvalidOperation):
            lines.append("  " + t._("No belimumab dose plan: the recorded weight is not usable."))
        else:
            vials = " + ".join(f"{size} mg × {count}" for size, count in plan.vial_counts)
            lines.append(
                "  "
                + t._(
                    "Next belimumab dose from the latest weight ({weight} kg): {dose} mg, "
                    "vials {vials}, {volume} mL",
                    weight=t.number(plan.weight_kg),
                    dose=t.number(plan.dose_mg),
                    vials=vials,
                    volume=t.number(plan.volume_ml_display),
                )
            )
    doses = _mp_mg(mp)
    if not doses:
        lines.append("  " + t._("Methylprednisolone: none recorded yet."))
        return lines
    pulse = protocol.mp_pulse
    try:
        status = mp_cumulative(
            doses, pulse.total_mg_min, pulse.total_mg_max, pulse.max_single_dose_mg
        )
    except RuleError:
        total = sum(doses, Decimal(0))
        lines.append("  " + t._("Methylprednisolone total: {total} mg", total=t.number(total)))
        return lines
    lines.append(
        "  "
        + t.n_(
            "Methylprednisolone total: {total} mg in {n} dose, {range}",
            "Methylprednisolone total: {total} mg in {n} doses, {range}",
            len(doses),
            total=t.number(status.total_mg),
            range=t._(
                MP_RANGE[status.status],
                low=t.number(status.low_mg),
                high=t.number(status.high_mg),
            ),
        )
    )
    return lines


def _mp_mg(rows: Sequence[tuple[str, str]]) -> list[Decimal]:
    """Recorded MP amounts in mg (a dose recorded in g counts x 1000)."""
    out: list[Decimal] = []
    for amount, unit in rows:
        try:
            value = Decimal(amount)
        except InvalidOperation:
            continue
        out.append(value * 1000 if unit.strip().lower() == "g" else value)
    return out


# --------------------------------------------------------------------------- the command


def _blocks(ctx: Ctx, argument: str) -> list[str]:
    return patient_blocks(ctx, argument) if argument else overview_blocks(ctx)


async def run(ctx: Ctx, args: list[str]) -> None:
    """``/status`` (the trial) or ``/status P01`` (one patient)."""
    if len(args) > 1:
        raise RuleError(N_("Name one patient at most."))
    argument = args[0].strip()[:32] if args else ""
    if argument:
        argument = _find(ctx, argument).study_id
    await send_pages(ctx, COMMAND, argument, _blocks(ctx, argument))


STATUS = StaffCommand(COMMAND, USAGE, run)


FEATURE = Feature(
    "trial status",
    staff_commands=[STATUS],
    pages={COMMAND: _blocks},
)
