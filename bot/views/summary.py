"""The endpoint summary in words, for ``/summary`` and the Monday 09:00 digest.

The numbers come from :func:`core.trial_summary.summarize` over the endpoints
that ``python -m bot endpoints`` derives from the exported lab file
(:func:`core.tables.lab_file.derive_trial_endpoints`); here they are only put
into sentences in the reader's language, numbers formatted by Babel. Loading
the data and sending the digest are in :mod:`bot.outputs.summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from bot.i18n import Translator
from bot.views.plan import arm_name
from core.messages import N_
from core.statistics import Proportion, Spread
from core.trial_summary import GroupSummary, MissingReason, TrialSummary

__all__ = ["group_block", "proportion_text", "spread_text", "summary_blocks"]

MISSING_TEXTS: dict[MissingReason, str] = {
    MissingReason.NOT_YET: N_("Not yet at week {week}: {patients}."),
    MissingReason.WITHDRAWN: N_("Withdrawn without a week-{week} class: {patients}."),
    MissingReason.NO_RESULTS: N_("No week-{week} renal results yet: {patients}."),
    MissingReason.INCOMPLETE: N_("Week-{week} renal results incomplete: {patients}."),
    MissingReason.CUMULATIVE_UNKNOWN: N_(
        "Cumulative CR cannot be decided (an earlier assessment has data missing): {patients}."
    ),
}


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
        percent=t.number(percent),
        level=t.number(_level(p.confidence)),
        low=t.number(bounds[0]),
        high=t.number(bounds[1]),
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


def group_block(t: Translator, group: GroupSummary, week: int) -> str:
    """One arm (or all patients): the response endpoints, SLEDAI-2K, CD20, adverse events."""
    r = group.response
    lines = [
        group_title(t, group),
        t._("n at week {week}: {n}.", week=week, n=t.number(r.n)),
        t._(
            "Cumulative CR by week {week}: {value}",
            week=week,
            value=proportion_text(t, r.cumulative_cr),
        ),
        t._("CR at week {week}: {value}", week=week, value=proportion_text(t, r.cr)),
        t._("PR at week {week}: {value}", week=week, value=proportion_text(t, r.pr)),
        t._("NR at week {week}: {value}", week=week, value=proportion_text(t, r.nr)),
        t._("ORR (CR + PR) at week {week}: {value}", week=week, value=proportion_text(t, r.orr)),
    ]
    for missing in r.missing:
        lines.append(
            t._(MISSING_TEXTS[missing.reason], week=week, patients=_ids(t, missing.study_ids))
        )
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
