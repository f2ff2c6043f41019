"""/status in words: the pure parts of the trial overview and the patient page.

:mod:`bot.staff.status` loads the numbers and applies the rules; here they are
put into sentences in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.i18n import Translator
from bot.texts import EVENT_TITLES, OUTCOME_NAMES
from core.adverse_events import term_by_key
from core.ae_outcomes import Outcome
from core.dosing import RangeStatus
from core.intention_to_treat import IntentionToTreat
from core.messages import N_
from core.overview import count_classes
from core.response import ResponseClass
from core.schedule import EventKind
from core.store.models import AdverseEvent, PatientStatus
from core.trial_records import EventRecord
from core.visits import VisitOutcome, last_day_for

# Study IDs per line in the unreachable / not-joined lists (pages break between lines).
IDS_PER_LINE = 12

WEEK_LINES: dict[EventKind, str] = {
    EventKind.BELIMUMAB_INFUSION: N_(
        "Belimumab infusions: {done} done, {due} due, {overdue} overdue"
    ),
    EventKind.RENAL_ASSESSMENT: N_("Renal assessments: {done} done, {due} due, {overdue} overdue"),
    EventKind.URINE_COLLECTION: N_(
        "24-hour urine collections: {done} done, {due} due, {overdue} overdue"
    ),
}

PATIENT_STATUS: dict[PatientStatus, str] = {
    PatientStatus.ACTIVE: N_("in the study"),
    PatientStatus.WITHDRAWN: N_("withdrawn from the study"),
    PatientStatus.COMPLETED: N_("completed the study"),
}

MP_RANGE: dict[RangeStatus, str] = {
    RangeStatus.BELOW: N_("below the protocol range {low}-{high} mg"),
    RangeStatus.WITHIN: N_("within the protocol range {low}-{high} mg"),
    RangeStatus.ABOVE: N_("above the protocol range {low}-{high} mg"),
}


def id_lines(ids: Sequence[str]) -> list[str]:
    """Study IDs, a few to a line (pages break between lines)."""
    return ["  " + ", ".join(ids[i : i + IDS_PER_LINE]) for i in range(0, len(ids), IDS_PER_LINE)]


def term_name(t: Translator, event: AdverseEvent) -> str:
    """An adverse event's CTCAE term in the reader's language, else as typed."""
    if event.coded and event.term:
        try:
            term = term_by_key(event.term)
        except KeyError:
            return event.term
        return term.term_zh if t.lang == "zh_Hans" else term.term_en
    return event.verbatim


def _fraction(count: int, n: int) -> str:
    return f"{count}/{n}"


def endpoint_lines(
    t: Translator,
    arms: Sequence[str],
    endpoint: int,
    reached: Mapping[str, int],
    itt: Mapping[str, IntentionToTreat],
    classes: Mapping[str, Sequence[ResponseClass | None]],
) -> list[str]:
    """How many reached the endpoint week; arm by arm the response by intention to treat
    (every enrolled patient), then the completers-only counts as the sensitivity analysis."""
    not_yet = sum(itt[arm].not_yet for arm in arms)
    if not_yet:
        heading = N_(
            "Response by week {week}, intention to treat, interim (every enrolled patient; "
            "no week-{week} class counts as non-response):"
        )
    else:
        heading = N_(
            "Response by week {week}, intention to treat (every enrolled patient; "
            "no week-{week} class counts as non-response):"
        )
    lines = [
        t._("Reached week {week}: {count}", week=endpoint, count=sum(reached.values())),
        t._(heading, week=endpoint),
    ]
    for arm in arms:
        figures = itt[arm]
        lines.append(
            "  "
            + t._(
                "{arm}: cumulative CR {cumulative}, CR {cr}, PR {pr}, ORR {orr}; "
                "{missing} without a week-{week} class",
                arm=arm,
                cumulative=_fraction(figures.cumulative_cr_count, figures.enrolled),
                cr=_fraction(figures.cr_count, figures.enrolled),
                pr=_fraction(figures.pr_count, figures.enrolled),
                orr=_fraction(figures.cr_count + figures.pr_count, figures.enrolled),
                missing=figures.without_class,
                week=endpoint,
            )
        )
    if not_yet:
        lines.append(
            "  "
            + t.n_(
                "Interim: {n} patient is not yet at week {week} and counts as a non-responder "
                "so far.",
                "Interim: {n} patients are not yet at week {week} and count as non-responders "
                "so far.",
                not_yet,
                week=endpoint,
            )
        )
    lines.append(
        t._(
            "Sensitivity analysis (completers only): cumulative response by week {week} "
            "(CR at any assessment up to week {week}), among patients with a week-{week} "
            "assessment:",
            week=endpoint,
        )
    )
    for arm in arms:
        counts = count_classes(classes.get(arm, []))
        lines.append(
            "  "
            + t._(
                "{arm}: {reached} reached week {week}, {assessed} assessed: "
                "CR {cr}, PR {pr}, NR {nr}, not evaluable {ne}",
                arm=arm,
                reached=reached.get(arm, 0),
                week=endpoint,
                assessed=counts.total,
                cr=counts.cr,
                pr=counts.pr,
                nr=counts.nr,
                ne=counts.ne + counts.none,
            )
        )
    return lines


def visit_lines(t: Translator, outcomes: Sequence[tuple[EventRecord, VisitOutcome]]) -> list[str]:
    """The patient's visits so far (:func:`core.visits.visit_outcome` as of today): how
    many were attended, missed, not done and overdue, then each one that was not
    attended, by day, with the reason of a missed one."""
    count = {o: sum(1 for _, x in outcomes if x is o) for o in VisitOutcome}
    lines = [
        t._(
            "Visits so far: {attended} attended, {missed} missed, {not_done} not done, "
            "{overdue} overdue",
            attended=count[VisitOutcome.ATTENDED],
            missed=count[VisitOutcome.MISSED],
            not_done=count[VisitOutcome.NOT_DONE],
            overdue=count[VisitOutcome.OVERDUE],
        )
    ]
    for event, outcome in sorted(outcomes, key=lambda item: item[0].scheduled_date):
        title = t._(EVENT_TITLES[event.kind], number=event.number)
        day = t.date(event.scheduled_date)
        if outcome is VisitOutcome.MISSED:
            text = t._(
                "{day}: {event}, missed: {reason}",
                day=day,
                event=title,
                reason=event.missed_reason or "",
            )
        elif outcome is VisitOutcome.NOT_DONE:
            text = t._(
                "{day}: {event}, not done (its window closed with nothing recorded)",
                day=day,
                event=title,
            )
        elif outcome is VisitOutcome.OVERDUE:
            text = t._(
                "{day}: {event}, overdue (its window is open until {last})",
                day=day,
                event=title,
                last=t.date(last_day_for(event)),
            )
        else:
            continue
        lines.append("  " + text)
    return lines


def outcome_name(t: Translator, outcome: str | None) -> str:
    """An adverse event's stored outcome (CDISC OUT) in the reader's words; "not recorded"
    for none, and a word stored before the outcome vocabulary existed as it was stored."""
    if not outcome:
        return t._("not recorded")
    try:
        return t._(OUTCOME_NAMES[Outcome(outcome)])
    except ValueError:
        return outcome
