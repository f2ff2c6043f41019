"""What coordinators read after a patient's renal assessment, beside the class and clauses:
the cumulative status, and at week 24 that the patient completed it and what is missing.

``/labs`` sends the week's class with every clause (``bot.staff.labs``); these
sentences follow it. Use::

    progress = load_progress(services, "P01", week)          # once, reads the database
    router.alert_staff(lambda t: labs_text(t) + "\\n" + progress_text(t, progress))
"""

from __future__ import annotations

from bot.context import Services
from bot.i18n import Translator
from bot.outputs.summary import load_outputs
from bot.views.response import class_name
from core.messages import N_
from core.trial_summary import CD20_ITEM, SLEDAI_ITEM, PatientProgress, patient_progress
from core.units import ANALYTE_LABELS, Analyte

__all__ = ["ITEM_NAMES", "load_progress", "progress_lines", "progress_text"]

ITEM_NAMES: dict[str, str] = {
    **{a.value: ANALYTE_LABELS[a] for a in Analyte if a.value.startswith(("urine", "serum"))},
    "urine_casts": N_("Cellular casts"),
    SLEDAI_ITEM: N_("SLEDAI-2K"),
    CD20_ITEM: N_("CD20 B cells"),
}


def load_progress(services: Services, study_id: str, week: int) -> PatientProgress:
    """The patient's cumulative status after the assessment of ``week`` (reads the database).

    Raises KeyError for an unknown study ID.
    """
    data, endpoints = load_outputs(services, study_id)
    protocol = services.protocol
    return patient_progress(
        data,
        endpoints,
        study_id,
        week,
        options=protocol.response_options(),
        sledai_weeks=protocol.sledai.weeks,
        cd20_weeks=protocol.cd20.weeks,
    )


def progress_lines(t: Translator, progress: PatientProgress) -> list[str]:
    """The cumulative-status sentences, then (at the endpoint week) the completion sentences."""
    end = progress.endpoint_week
    result = progress.result
    lines: list[str] = []
    if result is None or result.cumulative is None:
        lines.append(
            t._(
                "Cumulative status of {study_id}: no assessment after baseline yet.",
                study_id=progress.study_id,
            )
        )
    elif result.cumulative_week is not None:
        lines.append(
            t._(
                "Cumulative status of {study_id} up to week {week}: {cls}, first reached at "
                "week {first}.",
                study_id=progress.study_id,
                week=min(progress.week, end),
                cls=class_name(t, result.cumulative),
                first=result.cumulative_week,
            )
        )
    else:
        lines.append(
            t._(
                "Cumulative status of {study_id} up to week {week}: {cls}.",
                study_id=progress.study_id,
                week=min(progress.week, end),
                cls=class_name(t, result.cumulative),
            )
        )
    if result is not None and result.cumulative is not None:
        if result.cumulative_cr is True:
            lines.append(t._("Cumulative complete response by week {end}: reached.", end=end))
        elif result.cumulative_cr is None:
            lines.append(
                t._(
                    "Cumulative complete response by week {end}: cannot be decided yet, "
                    "an assessment has data missing.",
                    end=end,
                )
            )
        elif progress.week >= end:
            lines.append(t._("Cumulative complete response by week {end}: not reached.", end=end))
        else:
            lines.append(
                t._("Cumulative complete response by week {end}: not reached so far.", end=end)
            )
    if progress.completed_endpoint:
        week24 = result.week24 if result is not None else None
        lines.append(
            t._(
                "{study_id} has completed week {end}; the week-{end} class is {cls}.",
                study_id=progress.study_id,
                end=end,
                cls=class_name(t, week24),
            )
        )
        if progress.missing_at_endpoint:
            names = [t._(ITEM_NAMES.get(item, item)) for item in progress.missing_at_endpoint]
            lines.append(
                t._(
                    "Week-{end} values still missing: {items}.",
                    end=end,
                    items=t.join(names),
                )
            )
        else:
            lines.append(t._("Every week-{end} value is in.", end=end))
    return lines


def progress_text(t: Translator, progress: PatientProgress) -> str:
    """:func:`progress_lines` as one text."""
    return "\n".join(progress_lines(t, progress))
