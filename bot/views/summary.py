"""The endpoint summary in words, for ``/summary`` and the Monday 09:00 digest.

The numbers come from :func:`core.trial_summary.summarize` over the endpoints
that ``python -m bot endpoints`` derives from the exported lab file
(:func:`core.tables.lab_file.derive_trial_endpoints`); here they are only put
into sentences in the reader's language, numbers formatted by Babel. Loading
the data and sending the digest are in :mod:`bot.outputs.summary`.

Each group shows the intention-to-treat figures first (every enrolled patient
in the denominator; who counts as a non-responder for want of a week-24 class
is listed by reason, and the figures are marked interim while some patients
are not yet at week 24), then the completers-only figures under "Sensitivity
analysis (completers only)" (rules: :mod:`core.intention_to_treat`).

Until a patient reaches week 24 the Monday message is :func:`early_lines`
instead: a few lines (enrolled per arm, renal assessments done of those due,
the next milestone), since every response table would be empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from bot.i18n import Translator
from bot.views.plan import arm_name
from core.intention_to_treat import Completers, IntentionToTreat, MissingReason
from core.messages import N_
from core.statistics import Proportion, Spread
from core.trial_summary import EarlyProgress, GroupSummary, TrialSummary

__all__ = [
    "completers_lines",
    "early_lines",
    "group_block",
    "itt_lines",
    "proportion_text",
    "spread_text",
    "summary_blocks",
]

MISSING_TEXTS: dict[MissingReason, str] = {
    MissingReason.INCOMPLETE: N_("Week-{week} panel incomplete: {patients}."),
    MissingReason.WITHDRAWN_UNASSESSED: N_("Withdrawn before any assessment: {patients}."),
    MissingReason.WITHDRAWN: N_("Withdrawn without a week-{week} class: {patients}."),
    MissingReason.NO_RESULTS: N_("No week-{week} panel: {patients}."),
    MissingReason.NOT_YET: N_("Not yet at week {week} (non-responders so far): {patients}."),
}

# Lines under a heading are indented, so the two analyses read apart.
INDENT = "  "


def _ids(t: Translator, study_ids: Sequence[str]) -> str:
    return t.join(list(study_ids))


def proportion_text(t: Translator, p: Proportion) -> str:
    """``2/5 (40.0%; 95% CI 5.3%–85.3%)``, or ``0/0`` when there is no denominator."""
    percent = p.percent()
    bounds = p.interval_percent()
    if percent is None or bounds is None:
        return t._("{count}/{n} (no estimate)", count=t.number(p.count), n=t.number(p.n))
    return t._(
        "{count}/{n} ({percent}%; {level}% CI {low}%–{high}%)",
        count=t.number(p.count),
        n=t.number(p.n),
        percent=t.percent(percent),
        level=t.number(_level(p.confidence)),
        low=t.percent(bounds[0]),
        high=t.percent(bounds[1]),
    )


def _level(confidence: Decimal) -> Decimal:
    # 0.95 -> 95 (not 95.00): the confidence level as people write it.
    level = confidence * 100
    integral = level.to_integral_value()
    return integral if level == integral else level.normalize()


def _signed(t: Translator, value: Decimal) -> str:
    text = t.number(abs(value))
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text


def spread_text(t: Translator, s: Spread) -> str:
    """``median -4, IQR -6 to -2`` (signed: a fall is negative)."""
    if s.median is None or s.q1 is None or s.q3 is None:
        return t._("no values")
    return t._(
        "median {median}, IQR {q1} to {q3}",
        median=_signed(t, s.median),
        q1=_signed(t, s.q1),
        q3=_signed(t, s.q3),
    )


def group_title(t: Translator, group: GroupSummary) -> str:
    if group.arm is None:
        return t._("All patients: {enrolled} enrolled.", enrolled=t.number(group.enrolled))
    return t._(
        "{arm} ({code}): {enrolled} enrolled.",
        arm=arm_name(t, group.arm),
        code=group.arm,
        enrolled=t.number(group.enrolled),
    )


def itt_lines(t: Translator, itt: IntentionToTreat, week: int) -> list[str]:
    """The intention-to-treat figures, who counts as a non-responder and why."""
    if itt.not_yet:
        heading = N_(
            "Intention to treat, interim (all {enrolled} enrolled; no week-{week} "
            "class counts as non-response):"
        )
    else:
        heading = N_(
            "Intention to treat (all {enrolled} enrolled; no week-{week} class counts as "
            "non-response):"
        )
    body = [
        t._(
            "Cumulative CR by week {week}: {value}",
            week=week,
            value=proportion_text(t, itt.cumulative_cr),
        ),
        t._("CR at week {week}: {value}", week=week, value=proportion_text(t, itt.cr)),
        t._("PR at week {week}: {value}", week=week, value=proportion_text(t, itt.pr)),
        t._("ORR (CR + PR) at week {week}: {value}", week=week, value=proportion_text(t, itt.orr)),
        t._(
            "Non-responders at week {week} (NR or no week-{week} class): {value}",
            week=week,
            value=proportion_text(t, itt.non_responders),
        ),
    ]
    if itt.missing:
        body.append(t._("Counted as non-responders for want of a week-{week} class:", week=week))
        body += [
            INDENT + t._(MISSING_TEXTS[m.reason], week=week, patients=_ids(t, m.study_ids))
            for m in itt.missing
        ]
    if itt.cr_without_class:
        body.append(
            t._(
                "Cumulative CR already reached, counted though without a week-{week} class: "
                "{patients}.",
                week=week,
                patients=_ids(t, itt.cr_without_class),
            )
        )
    if itt.cumulative_unknown:
        body.append(
            t._(
                "Cumulative CR cannot be decided (an earlier assessment has data missing), "
                "counted as not reached: {patients}.",
                patients=_ids(t, itt.cumulative_unknown),
            )
        )
    if itt.not_yet:
        body.append(
            t.n_(
                "Interim: {n} patient is not yet at week {week} and counts as a non-responder "
                "so far.",
                "Interim: {n} patients are not yet at week {week} and count as non-responders "
                "so far.",
                itt.not_yet,
                week=week,
            )
        )
    title = t._(heading, enrolled=t.number(itt.enrolled), week=week)
    return [title] + [INDENT + line for line in body]


def completers_lines(t: Translator, c: Completers, week: int) -> list[str]:
    """The completers-only figures, labelled as the sensitivity analysis."""
    body = [
        t._(
            "Cumulative CR by week {week}: {value}",
            week=week,
            value=proportion_text(t, c.cumulative_cr),
        ),
        t._("CR at week {week}: {value}", week=week, value=proportion_text(t, c.cr)),
        t._("PR at week {week}: {value}", week=week, value=proportion_text(t, c.pr)),
        t._("NR at week {week}: {value}", week=week, value=proportion_text(t, c.nr)),
        t._("ORR (CR + PR) at week {week}: {value}", week=week, value=proportion_text(t, c.orr)),
    ]
    if c.cumulative_unknown:
        body.append(
            t._(
                "Cumulative CR cannot be decided (an earlier assessment has data missing): "
                "{patients}.",
                patients=_ids(t, c.cumulative_unknown),
            )
        )
    title = t.n_(
        "Sensitivity analysis (completers only: the {n} patient with a week-{week} class):",
        "Sensitivity analysis (completers only: the {n} patients with a week-{week} class):",
        c.n,
        week=week,
    )
    return [title] + [INDENT + line for line in body]


def group_block(t: Translator, group: GroupSummary, week: int) -> str:
    """One arm (or all patients): the response endpoints by intention to treat, then
    completers only; SLEDAI-2K, CD20, adverse events."""
    lines = [
        group_title(t, group),
        *itt_lines(t, group.itt, week),
        *completers_lines(t, group.completers, week),
    ]
    s = group.sledai
    if s.total.n:
        lines.append(
            t._(
                "SLEDAI-2K change from baseline to week {week} (n = {n}): {total}; "
                "renal subset: {renal}.",
                week=week,
                n=t.number(s.total.n),
                total=spread_text(t, s.total),
                renal=spread_text(t, s.renal),
            )
        )
    else:
        lines.append(
            t._("SLEDAI-2K change from baseline to week {week}: no patient yet.", week=week)
        )
    if s.missing:
        lines.append(
            t._(
                "SLEDAI-2K at week {week} missing: {patients}.",
                week=week,
                patients=_ids(t, s.missing),
            )
        )
    c = group.cd20
    for unit, values in c.by_unit:
        lines.append(
            t._(
                "CD20 change from baseline to week {week} (n = {n}, {unit}): {change}.",
                week=week,
                n=t.number(values.n),
                unit="/µL" if unit == "/uL" else unit,
                change=spread_text(t, values),
            )
        )
    if not c.by_unit:
        lines.append(t._("CD20 change from baseline to week {week}: no patient yet.", week=week))
    if c.missing:
        lines.append(
            t._("CD20 at week {week} missing: {patients}.", week=week, patients=_ids(t, c.missing))
        )
    ae = group.adverse_events
    g1, g2, g3, g4, g5 = (t.number(n) for n in ae.by_grade)
    lines.append(
        t._(
            "Adverse events: {events} (grade 1: {g1}, grade 2: {g2}, grade 3: {g3}, "
            "grade 4: {g4}, grade 5: {g5}); serious {serious}, not serious {not_serious}.",
            events=t.number(ae.events),
            g1=g1,
            g2=g2,
            g3=g3,
            g4=g4,
            g5=g5,
            serious=t.number(ae.serious),
            not_serious=t.number(ae.non_serious),
        )
    )
    lines.append(
        t._(
            "Patients with at least one adverse event: {any}; with at least one serious "
            "adverse event: {serious}.",
            any=proportion_text(t, ae.patients_any),
            serious=proportion_text(t, ae.patients_serious),
        )
    )
    return "\n".join(lines)


def summary_blocks(t: Translator, summary: TrialSummary, today: date) -> list[str]:
    """The summary as blocks: a heading, then one block per arm and one for all patients."""
    heading = t._(
        "Trial summary on {date}: endpoints at week {week}; exact (Clopper-Pearson) confidence "
        "intervals at {level}%, median and IQR by linear interpolation (Hyndman-Fan type 7).",
        date=t.date(today),
        week=summary.endpoint_week,
        level=t.number(_level(summary.confidence)),
    )
    return [heading] + ["\n" + group_block(t, g, summary.endpoint_week) for g in summary.groups]


def early_lines(t: Translator, progress: EarlyProgress, today: date) -> list[str]:
    """The Monday message before anyone reaches the endpoint week: at most four lines."""
    week = progress.endpoint_week
    arms = t.join(
        [
            t._("{arm}: {count}", arm=arm_name(t, arm), count=t.number(count))
            for arm, count in progress.enrolled
        ]
    )
    lines = [
        t._(
            "Weekly summary on {date}: no patient has reached week {week} yet, so there are "
            "no response figures.",
            date=t.date(today),
            week=week,
        ),
        t._("Enrolled: {total} ({arms}).", total=t.number(progress.total), arms=arms)
        if progress.enrolled
        else t._("Enrolled: {total}.", total=t.number(0)),
        t._(
            "Renal assessments so far: {done} done of {due} due.",
            done=t.number(progress.assessments_done),
            due=t.number(progress.assessments_due),
        ),
    ]
    if progress.next_study_id is not None and progress.next_date is not None:
        lines.append(
            t._(
                "Next milestone: {study_id} reaches week {week} on {date}, the first "
                "endpoint assessment.",
                study_id=progress.next_study_id,
                week=week,
                date=t.date(progress.next_date),
            )
        )
    return lines
