"""What every column of the workbook holds: the ``codebook`` sheet's content, as data.

One :class:`ColumnDoc` per (sheet, column) of
:data:`core.tables.workbook.WORKBOOK_SHEETS`: a description, the kind of value,
the unit, and every coded value with its meaning. A column without an entry
makes the export fail (and a test), so a new column cannot reach the
statistician undescribed. The arms are the protocol file's, so their codes are
filled in when the sheet is built (``arm_codes``). Pure.

Sources: the case record's codes (core.trial_records, core.visits,
core.intention_to_treat, core.response, core.entry_syntax), CTCAE v5.0 grades
and the ICH E2A seriousness criteria (docs/clinical-facts.md §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from core.ae_outcomes import Action, Outcome
from core.entry_syntax import Relatedness
from core.intention_to_treat import EndpointCategory
from core.response import ClauseKey, ResponseClass
from core.schedule import EventKind
from core.trial_records import SERIOUSNESS_FLAGS
from core.units import Analyte
from core.visits import VisitOutcome
from core.vocabulary import Drug, Language

__all__ = ["CODEBOOK", "ColumnDoc", "Kind"]

Codes = tuple[tuple[str, str], ...]


class Kind:
    """The kinds of value a column holds (the codebook's ``type``)."""

    TEXT = "text"
    CODE = "code"
    INTEGER = "integer"
    DECIMAL = "decimal"
    NUMBER_OR_TEXT = "decimal, or text when not a plain number (e.g. <0.5)"
    DATE = "date"
    DATE_TIME = "date and time (trial local time, to the minute)"
    YES_NO = "yes/no"


@dataclass(frozen=True, slots=True)
class ColumnDoc:
    """One column: what it holds, its kind, its unit, and its codes with their meanings."""

    description: str
    kind: str
    unit: str | None = None
    codes: Codes = ()
    #: The codes are the protocol file's arms (filled in when the sheet is built).
    arm_codes: bool = False


YES_NO: Final[Codes] = (("yes", "yes"), ("no", "no"))

STUDY_ID = ColumnDoc("The patient's study ID (no names, no chat ids)", Kind.TEXT)
ARM = ColumnDoc("The arm the patient was enrolled in", Kind.CODE, arm_codes=True)
WEEK = ColumnDoc("Study week (weeks count from day 0)", Kind.INTEGER, "week")

SEX: Final[Codes] = (("F", "female"), ("M", "male"))
LANGUAGES: Final[Codes] = (
    (Language.ZH_HANS.value, "Chinese (simplified)"),
    (Language.EN.value, "English"),
)
PATIENT_STATUS: Final[Codes] = (
    ("active", "in the trial"),
    ("withdrawn", "withdrawn from the trial"),
    ("completed", "completed the trial"),
)
EVENT_KINDS: Final[Codes] = (
    (EventKind.MP_PULSE.value, "methylprednisolone pulse (number: pulse day)"),
    (EventKind.BELIMUMAB_INFUSION.value, "belimumab infusion (number: infusion)"),
    (EventKind.URINE_COLLECTION.value, "24-hour urine collection"),
    (EventKind.RENAL_ASSESSMENT.value, "renal assessment (lab panel)"),
    (EventKind.SLEDAI.value, "SLEDAI-2K assessment"),
    (EventKind.CD20.value, "CD20 B-cell count"),
)
EVENT_STATUS: Final[Codes] = (
    ("planned", "nothing recorded yet"),
    ("done", "recorded as done (dose, lab panel or the patient's confirmation)"),
    ("missed", "a coordinator recorded that it did not happen"),
    ("cancelled", "cancelled (no longer part of the plan)"),
)
VISIT_OUTCOMES: Final[Codes] = (
    (VisitOutcome.ATTENDED.value, "attended (done)"),
    (VisitOutcome.MISSED.value, "missed, with the coordinator's reason"),
    (VisitOutcome.NOT_DONE.value, "window closed before the cut-off and nothing recorded"),
    (VisitOutcome.OVERDUE.value, "past its booked day, window still open at the cut-off"),
    (VisitOutcome.PLANNED.value, "still to come at the cut-off"),
    (VisitOutcome.CANCELLED.value, "cancelled"),
)
DRUGS: Final[Codes] = (
    (Drug.MP.value, "methylprednisolone"),
    (Drug.BELIMUMAB.value, "belimumab"),
    (Drug.MMF.value, "mycophenolate mofetil"),
    (Drug.TACROLIMUS.value, "tacrolimus"),
)
ANALYTES: Final[Codes] = (
    (Analyte.URINE_PROTEIN_24H.value, "24-hour urine protein"),
    (Analyte.URINE_RBC.value, "urine red blood cells"),
    (Analyte.URINE_WBC.value, "urine white blood cells"),
    ("urine_casts", "cellular casts in the urine sediment: none, rbc, wbc or rbc+wbc"),
    (Analyte.SERUM_ALBUMIN.value, "serum albumin"),
    (Analyte.SERUM_CREATININE.value, "serum creatinine"),
)
CD20_UNITS: Final[Codes] = (("/uL", "B cells per microlitre"), ("%", "percent of lymphocytes"))
GRADES: Final[Codes] = (
    ("1", "mild"),
    ("2", "moderate"),
    ("3", "severe or medically significant"),
    ("4", "life-threatening"),
    ("5", "death related to the adverse event"),
)
RELATEDNESS: Final[Codes] = (
    (Relatedness.UNRELATED.value, "not related (investigator's judgement)"),
    (Relatedness.UNLIKELY.value, "unlikely related"),
    (Relatedness.POSSIBLE.value, "possibly related"),
    (Relatedness.PROBABLE.value, "probably related"),
    (Relatedness.DEFINITE.value, "definitely related"),
)
AE_OUTCOMES: Final[Codes] = (
    (Outcome.RECOVERED.value, "RECOVERED/RESOLVED"),
    (Outcome.RECOVERING.value, "RECOVERING/RESOLVING"),
    (Outcome.NOT_RECOVERED.value, "NOT RECOVERED/NOT RESOLVED"),
    (Outcome.RECOVERED_WITH_SEQUELAE.value, "RECOVERED/RESOLVED WITH SEQUELAE"),
    (Outcome.FATAL.value, "FATAL"),
    (Outcome.UNKNOWN.value, "UNKNOWN"),
)
AE_ACTIONS: Final[Codes] = (
    (Action.DOSE_NOT_CHANGED.value, "DOSE NOT CHANGED"),
    (Action.DOSE_REDUCED.value, "DOSE REDUCED"),
    (Action.DRUG_INTERRUPTED.value, "DRUG INTERRUPTED"),
    (Action.DRUG_WITHDRAWN.value, "DRUG WITHDRAWN"),
    (Action.NOT_APPLICABLE.value, "NOT APPLICABLE"),
    (Action.UNKNOWN.value, "UNKNOWN"),
)
RESPONSE_CLASSES: Final[Codes] = (
    (ResponseClass.CR.value, "complete renal response"),
    (ResponseClass.PR.value, "partial renal response"),
    (ResponseClass.NR.value, "no response"),
    (ResponseClass.NE.value, "not evaluable (data missing)"),
)
CATEGORIES: Final[Codes] = (
    (EndpointCategory.RESPONDER.value, "CR or PR at week 24"),
    (EndpointCategory.NON_RESPONDER.value, "NR at week 24"),
    (
        EndpointCategory.NOT_EVALUABLE.value,
        "no week-24 class: panel incomplete or missing (missing_reason says which)",
    ),
    (EndpointCategory.WITHDRAWN.value, "withdrawn without a week-24 class"),
    (EndpointCategory.NOT_YET.value, "day 0 + 24 weeks not reached at the cut-off"),
)
MISSING_REASONS: Final[Codes] = (
    ("week-24 panel incomplete", "week-24 results in, not enough to classify"),
    ("withdrawn before any assessment", "no renal assessment after baseline"),
    ("withdrawn", "withdrawn after at least one assessment"),
    ("no week-24 panel", "day 0 + 24 weeks is past and no week-24 result is in"),
    ("not yet at week 24", "day 0 + 24 weeks is after the cut-off"),
)
CLAUSES: Final[Mapping[str, str]] = MappingProxyType(
    {
        ClauseKey.CR_PROTEIN.value: "CR: 24-hour urine protein below the CR threshold",
        ClauseKey.CR_SEDIMENT.value: "CR: inactive urine sediment",
        ClauseKey.CR_ALBUMIN.value: "CR: serum albumin above the CR threshold",
        ClauseKey.CR_CREATININE.value: "CR: serum creatinine normal",
        ClauseKey.PR_PROTEIN_FALL.value: "PR: 24-hour urine protein fell by more than the "
        "protocol's fraction from baseline",
        ClauseKey.PR_PROTEIN_LEVEL.value: "PR: 24-hour urine protein below the PR threshold",
        ClauseKey.PR_RBC_FALL.value: "PR: urine red cells fell by more than the protocol's "
        "fraction from baseline",
        ClauseKey.PR_CREATININE.value: "PR: serum creatinine normal or risen less than the "
        "protocol's fraction",
        ClauseKey.CREATININE_NORMAL.value: "PR creatinine, first half: serum creatinine normal",
        ClauseKey.CREATININE_RISE.value: "PR creatinine, second half: risen less than the "
        "protocol's fraction from baseline",
    }
)
SHEETS: Final[Codes] = (
    ("patients", "one row per enrolled patient"),
    ("visits", "every planned visit but the daily oral doses"),
    ("doses", "every dose given"),
    ("labs", "every lab result as entered"),
    ("sledai_2k", "every SLEDAI-2K assessment"),
    ("cd20", "every CD20 count"),
    ("adverse_events", "every adverse event"),
    ("responses", "each assessed week's renal response"),
    ("endpoints", "every enrolled patient at the week-24 endpoint"),
    ("summary", "the endpoint figures per arm and overall"),
    ("codebook", "this sheet"),
    ("about", "when and from what the workbook was made"),
)
ABOUT_ITEMS: Final[Codes] = (
    ("exported_at_utc", "when the export was made, UTC"),
    ("exported_at_local", "when the export was made, trial local time"),
    ("time_zone", "the trial's time zone"),
    ("data_cut_off", "the day the data and the figures are as of (the export's day)"),
    ("protocol_version", "the protocol file's declared version"),
    ("bot_version", "the bot's package version"),
)


def _flag(description: str) -> ColumnDoc:
    return ColumnDoc(description, Kind.YES_NO, codes=YES_NO)


def _grade_flag(flag: str) -> ColumnDoc:
    return _flag(f"ICH E2A seriousness criterion met: {flag.replace('_', ' ')}")


def _related(drug: str) -> ColumnDoc:
    return ColumnDoc(
        f"Relatedness of the event to {drug}; empty when not assessed",
        Kind.CODE,
        codes=RELATEDNESS,
    )


CODEBOOK: Final[Mapping[str, Mapping[str, ColumnDoc]]] = MappingProxyType(
    {
        "patients": {
            "study_id": STUDY_ID,
            "arm": ARM,
            "day0": ColumnDoc("Day 0: the first day of the methylprednisolone pulse", Kind.DATE),
            "sex": ColumnDoc("Sex", Kind.CODE, codes=SEX),
            "weight_kg": ColumnDoc("Weight at enrollment", Kind.DECIMAL, "kg"),
            "language": ColumnDoc(
                "The language the bot speaks to the patient", Kind.CODE, codes=LANGUAGES
            ),
            "status": ColumnDoc(
                "The patient's status at the export", Kind.CODE, codes=PATIENT_STATUS
            ),
            "birth_year": ColumnDoc("Year of birth; empty when not recorded", Kind.INTEGER),
            "age": ColumnDoc(
                "Age at day 0: day 0's year minus the year of birth (a year too high when "
                "the birthday falls after day 0 in that year); empty without a year of birth",
                Kind.INTEGER,
                "years",
            ),
            "consent_date": ColumnDoc("Informed-consent date; empty when not recorded", Kind.DATE),
            "withdrawn_on": ColumnDoc("Day of withdrawal; empty when not withdrawn", Kind.DATE),
            "withdrawal_reason": ColumnDoc("Reason for withdrawal, as recorded", Kind.TEXT),
        },
        "visits": {
            "study_id": STUDY_ID,
            "event": ColumnDoc("What the visit is", Kind.CODE, codes=EVENT_KINDS),
            "number": ColumnDoc("The event's number within its kind", Kind.INTEGER),
            "week": WEEK,
            "target_date": ColumnDoc("The protocol's day for the visit", Kind.DATE),
            "scheduled_date": ColumnDoc(
                "The day it was booked (moved by a coordinator or not)", Kind.DATE
            ),
            "window_days_before": ColumnDoc(
                "Days before the target the visit may be done", Kind.INTEGER, "days"
            ),
            "window_days_after": ColumnDoc(
                "Days after the target the visit may be done", Kind.INTEGER, "days"
            ),
            "status": ColumnDoc("The stored status", Kind.CODE, codes=EVENT_STATUS),
            "outcome": ColumnDoc(
                "What became of the visit as of the data cut-off", Kind.CODE, codes=VISIT_OUTCOMES
            ),
            "actual_date": ColumnDoc("The day it was done; empty when not done", Kind.DATE),
            "deviation_reason": ColumnDoc(
                "Why it was done or booked outside its window", Kind.TEXT
            ),
            "missed_reason": ColumnDoc("Why a coordinator marked it missed", Kind.TEXT),
        },
        "doses": {
            "study_id": STUDY_ID,
            "drug": ColumnDoc("The drug given", Kind.CODE, codes=DRUGS),
            "amount": ColumnDoc("The dose given", Kind.DECIMAL, "see unit"),
            "unit": ColumnDoc("The dose's unit", Kind.TEXT),
            "date": ColumnDoc("The day it was given (local)", Kind.DATE),
            "study_day": ColumnDoc(
                "SDTM study day (day 0 is day 1; no day 0)", Kind.INTEGER, "day"
            ),
            "week": WEEK,
            "weight_kg": ColumnDoc("The weight the dose was calculated from", Kind.DECIMAL, "kg"),
        },
        "labs": {
            "study_id": STUDY_ID,
            "week": WEEK,
            "analyte": ColumnDoc("What was measured", Kind.CODE, codes=ANALYTES),
            "value": ColumnDoc(
                "The value as entered (<x: below the detection limit x)",
                Kind.NUMBER_OR_TEXT,
                "see unit",
            ),
            "unit": ColumnDoc("The unit as entered", Kind.TEXT),
            "ref_low": ColumnDoc(
                "Lower reference limit as entered", Kind.NUMBER_OR_TEXT, "see ref_unit"
            ),
            "ref_high": ColumnDoc(
                "Upper reference limit as entered", Kind.NUMBER_OR_TEXT, "see ref_unit"
            ),
            "ref_unit": ColumnDoc("The reference limits' unit", Kind.TEXT),
            "uti": _flag("A urinary tract infection was present at the collection"),
            "collected": ColumnDoc("When the sample was collected", Kind.DATE_TIME),
            "value_std": ColumnDoc(
                "The value in the standard unit (exact conversion); empty for casts and "
                "values below the detection limit",
                Kind.DECIMAL,
                "see unit_std",
            ),
            "unit_std": ColumnDoc("The standard unit: umol/L, g/L or g/24h", Kind.TEXT),
            "replaced": _flag(
                "A renal result replaced by a later one of the same analyte "
                "and week (empty for other analytes)"
            ),
        },
        "sledai_2k": {
            "study_id": STUDY_ID,
            "week": WEEK,
            "assessed_on": ColumnDoc("The day of the assessment", Kind.DATE),
            "total": ColumnDoc("SLEDAI-2K total score", Kind.INTEGER, "points"),
            "renal_total": ColumnDoc("SLEDAI-2K renal subset score", Kind.INTEGER, "points"),
            "total_change": ColumnDoc(
                "Total minus the week-0 total (after week 0)", Kind.INTEGER, "points"
            ),
            "renal_change": ColumnDoc(
                "Renal subset minus the week-0 renal subset", Kind.INTEGER, "points"
            ),
            "items": ColumnDoc("The descriptors recorded, separated by '; '", Kind.TEXT),
        },
        "cd20": {
            "study_id": STUDY_ID,
            "week": WEEK,
            "value": ColumnDoc("CD20 B-cell count", Kind.DECIMAL, "see unit"),
            "unit": ColumnDoc("The count's unit", Kind.CODE, codes=CD20_UNITS),
            "collected": ColumnDoc("When the sample was collected", Kind.DATE_TIME),
            "change_from_baseline": ColumnDoc(
                "Value minus the week-0 value, when both are in the same unit",
                Kind.DECIMAL,
                "see unit",
            ),
        },
        "adverse_events": {
            "study_id": STUDY_ID,
            "ae_id": ColumnDoc("The adverse event's id (AE and its row number)", Kind.TEXT),
            "verbatim": ColumnDoc("The event as reported, verbatim", Kind.TEXT),
            "ctcae_term": ColumnDoc("The CTCAE term when coded", Kind.TEXT),
            "soc": ColumnDoc("The CTCAE system organ class when coded", Kind.TEXT),
            "coded": _flag("The event is coded to a CTCAE term"),
            "ctcae_version": ColumnDoc("The CTCAE version of the grade", Kind.TEXT),
            "grade": ColumnDoc("CTCAE grade", Kind.INTEGER, codes=GRADES),
            "serious": _flag("Serious (ICH E2A): any of the six criteria met"),
            **{flag: _grade_flag(flag) for flag in SERIOUSNESS_FLAGS},
            "onset_date": ColumnDoc("The day the event began", Kind.DATE),
            "end_date": ColumnDoc(
                "The day the event ended; empty while ongoing or not recorded", Kind.DATE
            ),
            "outcome": ColumnDoc(
                "The event's outcome as recorded (ae.csv AEOUT); empty when not recorded",
                Kind.CODE,
                codes=AE_OUTCOMES,
            ),
            "open_at_week_24": _flag(
                "The event had begun and had not ended by day 0 + 24 weeks (no end date, "
                "or a later one); empty while that day is after the data cut-off"
            ),
            "action": ColumnDoc(
                "Action taken with the study treatment as recorded (ae.csv "
                "AEACN); empty when not recorded",
                Kind.CODE,
                codes=AE_ACTIONS,
            ),
            "relatedness": ColumnDoc(
                "Relatedness to the study treatment overall", Kind.CODE, codes=RELATEDNESS
            ),
            "related_belimumab": _related("belimumab"),
            "related_mmf": _related("mycophenolate mofetil"),
            "related_tacrolimus": _related("tacrolimus"),
            "related_methylprednisolone": _related("methylprednisolone"),
        },
        "responses": {
            "study_id": STUDY_ID,
            "arm": ARM,
            "week": WEEK,
            "class": ColumnDoc(
                "The week's renal response class", Kind.CODE, codes=RESPONSE_CLASSES
            ),
            "cr_met": _flag("Every CR clause met; empty when not evaluable"),
            "pr_met": _flag("Every PR clause met; empty when not evaluable"),
            **{key: _flag(f"{text}; empty when not evaluable") for key, text in CLAUSES.items()},
        },
        "endpoints": {
            "study_id": STUDY_ID,
            "arm": ARM,
            "category": ColumnDoc(
                "Where the patient stands at week 24 (intention to treat: "
                "all but responders count as non-responders)",
                Kind.CODE,
                codes=CATEGORIES,
            ),
            "week24_class": ColumnDoc(
                "The week-24 class; empty without one", Kind.CODE, codes=RESPONSE_CLASSES
            ),
            "cumulative_class": ColumnDoc(
                "The best class up to week 24", Kind.CODE, codes=RESPONSE_CLASSES
            ),
            "cumulative_cr": _flag(
                "CR reached at any assessment up to week 24; empty when it cannot be decided"
            ),
            "cumulative_week": ColumnDoc(
                "The week the cumulative class was reached", Kind.INTEGER, "week"
            ),
            "assessed_weeks": ColumnDoc(
                "The weeks with a renal assessment, space-separated", Kind.TEXT
            ),
            "missing_reason": ColumnDoc(
                "Why there is no week-24 class", Kind.CODE, codes=MISSING_REASONS
            ),
        },
        "summary": {
            "group": ColumnDoc(
                "The arm, or all patients",
                Kind.CODE,
                codes=(("all", "all patients"),),
                arm_codes=True,
            ),
            "analysis": ColumnDoc(
                "The population counted",
                Kind.CODE,
                codes=(
                    ("intention to treat", "every enrolled patient in the denominator"),
                    ("sensitivity analysis (completers only)", "patients with a week-24 class"),
                ),
            ),
            "endpoint": ColumnDoc("The endpoint counted", Kind.TEXT),
            "count": ColumnDoc("Patients with the endpoint", Kind.INTEGER, "patients"),
            "n": ColumnDoc("The denominator", Kind.INTEGER, "patients"),
            "proportion": ColumnDoc("count / n; empty when n is 0", Kind.DECIMAL, "fraction"),
            "ci_low": ColumnDoc(
                "Exact (Clopper-Pearson) interval, lower bound", Kind.DECIMAL, "fraction"
            ),
            "ci_high": ColumnDoc(
                "Exact (Clopper-Pearson) interval, upper bound", Kind.DECIMAL, "fraction"
            ),
            "ci_level": ColumnDoc("The interval's confidence level", Kind.DECIMAL, "fraction"),
            "as_of": ColumnDoc("The day the figures are as of", Kind.DATE),
            "note": ColumnDoc("Interim: how many patients are not yet at week 24", Kind.TEXT),
        },
        "codebook": {
            "sheet": ColumnDoc("The sheet", Kind.CODE, codes=SHEETS),
            "column": ColumnDoc("The column", Kind.TEXT),
            "description": ColumnDoc("What the column holds", Kind.TEXT),
            "type": ColumnDoc("The kind of value", Kind.TEXT),
            "unit": ColumnDoc("The unit of a number", Kind.TEXT),
            "codes": ColumnDoc(
                "Each coded value and its meaning, 'code = meaning; ...'", Kind.TEXT
            ),
        },
        "about": {
            "item": ColumnDoc("What the row gives", Kind.CODE, codes=ABOUT_ITEMS),
            "value": ColumnDoc("Its value", Kind.TEXT),
        },
    }
)
