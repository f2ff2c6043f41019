"""/ae: log an adverse event in one message, and alert coordinators to a serious one.

``/ae P01 lung infection G3 serious=hospitalization onset=2026-12-20`` (or
``/ae P01 肺部感染 G3 serious=住院 onset=2026-12-20``): the words between the
study ID and the ``G<n>`` token are the event as typed; it is matched to a
CTCAE v5.0 term in either language (synonyms included: pneumonia -> Lung
infection, 带状疱疹 -> Shingles), the grade is checked against that term's
grades, ``serious=`` names ICH E2A criteria (repeat it or separate with
commas), ``onset=`` is the onset date (today when left out; never in the
future) and ``related=`` the relatedness on one five-level scale, unrelated to
definite, in either language (optional; ``core.entry_syntax.parse_relatedness``).
Text that matches no term, when near listed terms, is first asked about: "Did
you mean Lung infection?" with the nearest terms and "Store as typed
(uncoded)" as buttons; text near none is kept verbatim and stored uncoded
(docs/clinical-facts.md §6). An onset before the patient's day 0 is accepted
with a note asking whether it is medical history; one more than 26 weeks
before day 0 is refused as a likely typo
(``core.adverse_events.onset_before_day0``).

Grade 5 is death (CTCAE v5.0): such an event is serious with the criterion
death whatever was typed. A grade 4 event typed without ``serious=`` is first
asked about: "Life-threatening (serious)" or "Not serious", and only the
answer's preview has Confirm (``core.adverse_events``). Both questions are
:mod:`bot.staff.ae_questions`, shared with ``/triage``.

On Confirm the event is stored with the instant the site became aware of it
(the Confirm). A serious event then alerts every active coordinator at once,
each in their own language, with the 24-hour reporting clock counted from
awareness (docs/clinical-facts.md §6): the deadline and the hours left, and the
``/ack AE<id>`` that acknowledges it.

Stored ``adverse_event.term`` is the CTCAE term's stable key
(``lung_infection``; ``core.adverse_events.term_by_key`` gives its names),
None when uncoded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import TypeAdapter

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.staff.actions import ActionSpec, Draft
from bot.staff.ae_follow_up import ACTION as FOLLOW_UP_ACTION
from bot.staff.ae_follow_up import USAGE as FOLLOW_UP_USAGE
from bot.staff.ae_follow_up import propose_follow_up
from bot.staff.ae_questions import NOT_SERIOUS, Explained, Questions, Waiting
from bot.staff.clinical import by_language, patient_for_entry
from bot.staff.commands import Field, StaffCommand, patient_choices
from bot.texts import RELATEDNESS_NAMES
from core.adverse_events import (
    CTCAE_VERSION,
    CodedEvent,
    MatchKind,
    Seriousness,
    code_entry,
    code_event,
    hours_left,
    onset_before_day0,
    parse_seriousness,
    reporting_deadline,
    seriousness_for_grade,
    term_by_key,
)
from core.entry_syntax import (
    Relatedness,
    parse_ae_number,
    parse_entry_date,
    parse_grade_token,
    parse_options,
    parse_relatedness,
)
from core.messages import N_, RuleError
from core.store.clinical import AdverseEventEntry, record_adverse_event
from core.store.db import read_session
from core.store.models import AdverseEvent, Patient, StaffRole
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

KIND = "ae"

USAGE = N_(
    "/ae <study ID> <term> G<grade> [serious=<criterion>] [onset=YYYY-MM-DD] [related=<relatedness>]"
    "  e.g. /ae P01 lung infection G3 serious=hospitalization onset=2026-12-20"
)

# What staff may type before "=", in either language.
OPTION_KEYS = {
    "serious": "serious",
    "严重": "serious",
    "严重性": "serious",
    "onset": "onset",
    "发生": "onset",
    "发生日期": "onset",
    "起病": "onset",
    "related": "related",
    "relatedness": "related",
    "相关": "related",
    "相关性": "related",
}

# Short names for buttons and summaries (the ICH E2A wording is long).
CRITERION_NAMES: dict[Seriousness, str] = {
    Seriousness.DEATH: N_("results in death"),
    Seriousness.LIFE_THREATENING: N_("life-threatening"),
    Seriousness.HOSPITALIZATION: N_("requires or prolongs hospitalisation"),
    Seriousness.DISABILITY: N_("persistent or significant disability"),
    Seriousness.CONGENITAL_ANOMALY: N_("congenital anomaly or birth defect"),
    Seriousness.IMPORTANT_MEDICAL_EVENT: N_("important medical event"),
}


def _criteria_text(t: Translator, criteria: list[Seriousness]) -> str:
    return t.join([t._(CRITERION_NAMES[c]) for c in criteria])


def coded_lines(
    t: Translator,
    coded: CodedEvent,
    grade: int,
    criteria: list[Seriousness],
    explained: Explained,
) -> list[str]:
    """How an adverse event was understood: its CTCAE term (or uncoded), grade, seriousness.

    Shared by /ae and /triage so both read the same way. ``explained.death_added``:
    grade 5 made the event serious with the criterion death though it was not
    typed, and the summary says why.
    """
    lines: list[str] = []
    if coded.match is None:
        lines.append(
            t._(
                'Term: "{verbatim}" is not on the CTCAE term list: it is kept as typed and '
                "marked uncoded.",
                verbatim=coded.verbatim,
            )
        )
    else:
        name = by_language(t, coded.match.term.term_en, coded.match.term.term_zh)
        if coded.match.kind is MatchKind.CHOSEN:
            lines.append(
                t._(
                    'Term: {term} (CTCAE v{version}), chosen for "{typed}".',
                    term=name,
                    version=CTCAE_VERSION,
                    typed=coded.verbatim,
                )
            )
        elif coded.match.kind.is_synonym:
            lines.append(
                t._(
                    'Term: {term} (CTCAE v{version}), matched from "{typed}".',
                    term=name,
                    version=CTCAE_VERSION,
                    typed=coded.verbatim,
                )
            )
        else:
            lines.append(t._("Term: {term} (CTCAE v{version}).", term=name, version=CTCAE_VERSION))
    grade_words = by_language(t, coded.grade_text.en, coded.grade_text.zh)
    lines.append(t._("Grade {grade}: {text}", grade=grade, text=grade_words))
    if criteria:
        lines.append(t._("Serious: {criteria}.", criteria=_criteria_text(t, criteria)))
    elif explained.answered_not_life_threatening:
        lines.append(t._("Not serious (answered: not life-threatening)."))
    else:
        lines.append(t._(NOT_SERIOUS))
    if explained.death_added:
        lines.append(
            t._(
                "Grade 5 means death: the event is serious with the criterion {criterion}.",
                criterion=t._(CRITERION_NAMES[Seriousness.DEATH]),
            )
        )
    return lines


def onset_lines(t: Translator, onset: date, day0: date) -> list[str]:
    """The preview's note for an onset before day 0; refuses one far before it.

    Shared by /ae and /triage. Rule: ``core.adverse_events.onset_before_day0``.
    """
    if not onset_before_day0(onset, day0):
        return []
    return [
        t._(
            "The onset is before day 0 ({day0}): if this began before the study, it may be "
            "medical history rather than an adverse event.",
            day0=t.date(day0),
        )
    ]


def related_lines(t: Translator, related: Relatedness | None) -> list[str]:
    """The preview's relatedness line, on the one scale in the reader's language.

    Shared by /ae and /triage.
    """
    if related is None:
        return []
    return [
        t._(
            "Relatedness to the study treatment: {relatedness}.",
            relatedness=t._(RELATEDNESS_NAMES[related]),
        )
    ]


def patient_day0(ctx: Ctx, patient_id: int) -> date:
    """The stored day 0 of the patient ``patient_id``."""
    with read_session(ctx.services.engine) as session:
        patient = session.get(Patient, patient_id)
    assert patient is not None
    return patient.day0


def _term_name(t: Translator, term_key: str | None, verbatim: str) -> str:
    if term_key is None:
        return verbatim
    term = term_by_key(term_key)
    return by_language(t, term.term_en, term.term_zh)


def _reporting_hours(ctx: Ctx) -> int:
    return ctx.services.protocol.adverse_events.serious_report_hours


def whole_hours(value: Decimal) -> int:
    """Hours left shown to people: rounded to the nearest whole hour."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- reading an adverse event ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Understood:
    """An adverse event as typed: coded, graded, its criteria; onset None when not given.

    ``criteria`` include death for a grade 5 event; ``death_added`` says it was not typed.
    """

    coded: CodedEvent
    grade: int
    criteria: tuple[Seriousness, ...]
    onset: date | None
    related: Relatedness | None
    death_added: bool = False

    @property
    def explained(self) -> Explained:
        """What the preview says beyond the values: grade 5 made it serious."""
        return Explained(death_added=self.death_added)

    def entry(self, onset: date) -> AdverseEventEntry:
        """What is stored, with ``onset`` for an onset not given."""
        return AdverseEventEntry(
            verbatim=self.coded.verbatim,
            term=self.coded.term.key if self.coded.term is not None else None,
            grade=self.grade,
            serious=self.criteria,
            onset=self.onset if self.onset is not None else onset,
            related=self.related,
        )


def parse_adverse_event(
    words: Sequence[str], *, today: date, no_grade: str, term_before_grade: bool = False
) -> Understood:
    """The one reading of an adverse event, for ``/ae`` and ``/triage``.

    The ``G<n>`` token (first one) is the grade. With ``term_before_grade``
    (``/ae P01 lung infection G3 ...``) the event as typed is every word before
    it and every word after it must be an option; otherwise (``/triage R7 ae
    G2 headache``) the event is the other words before the first
    ``key=value``. The event is matched to a CTCAE term; the options are
    ``serious=`` (repeatable), ``onset=`` (never in the future) and
    ``related=``. ``no_grade`` is the refusal when no grade is given (each
    command shows its own example). A grade 5 event is serious with the
    criterion death whatever was typed (``core.adverse_events.seriousness_for_grade``).
    """
    at = next((i for i, w in enumerate(words) if parse_grade_token(w) is not None), None)
    if at is None:
        raise RuleError(no_grade)
    grade = parse_grade_token(words[at])
    assert grade is not None
    if term_before_grade:
        term_words, option_words = list(words[:at]), list(words[at + 1 :])
    else:
        rest = [*words[:at], *words[at + 1 :]]
        first_option = next((i for i, w in enumerate(rest) if "=" in w), len(rest))
        term_words, option_words = rest[:first_option], rest[first_option:]
    options = parse_options(option_words, OPTION_KEYS, repeatable=frozenset({"serious"}))
    coded = code_event(" ".join(term_words), grade)
    criteria: list[Seriousness] = []
    for word in options.get("serious", ()):
        criterion = parse_seriousness(word)
        if criterion not in criteria:
            criteria.append(criterion)
    serious = seriousness_for_grade(grade, criteria)
    onset = parse_entry_date(options["onset"][0], today=today) if "onset" in options else None
    related = parse_relatedness(options["related"][0]) if "related" in options else None
    death_added = Seriousness.DEATH in serious and Seriousness.DEATH not in criteria
    return Understood(coded, grade, serious, onset, related, death_added)


# --- the one-message form ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AePayload:
    """What Confirm stores for ``/ae``."""

    patient_id: int
    study_id: str
    event: AdverseEventEntry


async def run(ctx: Ctx, args: list[str]) -> None:
    ae_id = parse_ae_number(args[0]) if args else None
    # /ae AE12 outcome=...: a stored event followed up, with its own usage. A study ID may
    # also read AE12 (core.enrollment.STUDY_ID_PATTERN): followed by a term, it is a new event.
    if ae_id is not None and (len(args) == 1 or "=" in args[1]):
        try:
            await propose_follow_up(ctx, ae_id, args[1:])
        except RuleError as exc:
            t = ctx.t
            await ctx.reply(
                t._("{reason}\nExpected: {usage}", reason=t.error(exc), usage=t._(FOLLOW_UP_USAGE))
            )
        return
    patient = patient_for_entry(ctx, args)
    assert patient.id is not None
    understood = parse_adverse_event(
        args[1:],
        today=ctx.today(),
        no_grade=N_(
            "Give the CTCAE grade as G1 to G5 after the term, for example: lung infection G3."
        ),
        term_before_grade=True,
    )
    payload = AePayload(patient.id, patient.study_id, understood.entry(ctx.today()))
    # Refused before anything is asked or proposed (a likely typo).
    onset_before_day0(payload.event.onset, patient.day0)
    await QUESTIONS.offer(ctx, payload, understood.explained)


def preview(ctx: Ctx, payload: AePayload, explained: Explained) -> Draft[AePayload]:
    """The summary shown with Confirm / Cancel for ``payload``."""
    entry = payload.event
    t = ctx.t
    # The term as matched from the words typed, or as chosen from the suggestions.
    coded = code_entry(entry.verbatim, entry.grade, entry.term)
    lines = [t._("Adverse event for {study_id}:", study_id=payload.study_id)]
    lines += coded_lines(t, coded, entry.grade, list(entry.serious), explained)
    lines.append(t._("Onset: {date}.", date=t.date(entry.onset)))
    lines += onset_lines(t, entry.onset, patient_day0(ctx, payload.patient_id))
    lines += related_lines(t, entry.related)
    warnings: list[str] = []
    if entry.serious:
        warnings.append(
            t._(
                "On Confirm every coordinator is alerted and the {hours}-hour reporting clock "
                "starts.",
                hours=_reporting_hours(ctx),
            )
        )
    return Draft("\n".join(lines), payload, tuple(warnings))


# --- the questions before Confirm -----------------------------------------------------------

QUESTIONS: Questions[AePayload] = Questions(
    prefix="aeq",
    kind=KIND,
    adapter=TypeAdapter(Waiting[AePayload]),
    preview=preview,
)


# --- Confirm ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    ae_id: int
    study_id: str
    term_key: str | None
    verbatim: str
    grade: int
    criteria: list[Seriousness]
    onset: date
    awareness_at: datetime


def stored(event: AdverseEvent, study_id: str, entry: AdverseEventEntry) -> Stored:
    """What the replies and the alert say about a stored event."""
    assert event.id is not None
    return Stored(
        event.id,
        study_id,
        entry.term,
        entry.verbatim,
        event.grade,
        list(entry.serious),
        event.onset_date,
        event.awareness_at,
    )


def store(ctx: Ctx, uow: UnitOfWork, payload: AePayload) -> Stored:
    event = record_adverse_event(uow, payload.patient_id, payload.study_id, payload.event)
    return stored(event, payload.study_id, payload.event)


def stored_name(stored: Stored) -> str:
    """How staff name a stored event ("AE8"), for a Confirm pressed again."""
    return f"AE{stored.ae_id}"


def alert_text(t: Translator, stored: Stored, hours: int, now: datetime) -> str:
    """The serious-event alert in one reader's language, with its reporting clock."""
    deadline = reporting_deadline(stored.awareness_at, hours)
    left = whole_hours(hours_left(deadline, now))
    if stored.term_key is None:
        head = t._(
            'SERIOUS ADVERSE EVENT AE{id}, patient {study_id}: "{verbatim}" (uncoded), '
            "grade {grade}.",
            id=stored.ae_id,
            study_id=stored.study_id,
            verbatim=stored.verbatim,
            grade=stored.grade,
        )
    else:
        head = t._(
            "SERIOUS ADVERSE EVENT AE{id}, patient {study_id}: {term}, grade {grade}.",
            id=stored.ae_id,
            study_id=stored.study_id,
            term=_term_name(t, stored.term_key, stored.verbatim),
            grade=stored.grade,
        )
    return "\n".join(
        [
            head,
            t._("Serious: {criteria}.", criteria=_criteria_text(t, stored.criteria)),
            t._(
                "Onset {onset}; the site became aware at {aware}.",
                onset=t.date(stored.onset),
                aware=t.datetime(stored.awareness_at),
            ),
            (
                t._(
                    "Report it within {window} hours of awareness: by {deadline} ({left} h left).",
                    window=hours,
                    deadline=t.datetime(deadline),
                    left=left,
                )
                if left >= 0
                else t._(
                    "Report it within {window} hours of awareness: by {deadline} (overdue by "
                    "{late} h).",
                    window=hours,
                    deadline=t.datetime(deadline),
                    late=-left,
                )
            ),
            t._("Acknowledge with /ack AE{id}.", id=stored.ae_id),
        ]
    )


async def after(ctx: Ctx, stored: Stored) -> None:
    t = ctx.t
    await ctx.reply(
        t._(
            "Adverse event AE{id} is recorded for {study_id}.",
            id=stored.ae_id,
            study_id=stored.study_id,
        )
    )
    if not stored.criteria:
        return
    hours = _reporting_hours(ctx)
    sent = await ctx.router.alert_staff(
        lambda reader: alert_text(reader, stored, hours, ctx.now()),
        roles=[StaffRole.COORDINATOR],
    )
    deadline = reporting_deadline(stored.awareness_at, hours)
    if sent == 0:
        await ctx.reply(
            t._(
                "AE{id} is serious, but no coordinator could be alerted: tell the study "
                "coordinator now. Report it by {deadline}.",
                id=stored.ae_id,
                deadline=t.datetime(deadline),
            )
        )
        return
    await ctx.reply(
        t._(
            "AE{id} is serious. Coordinators alerted: {count}. Report it by {deadline} "
            "({left} h left).",
            id=stored.ae_id,
            count=sent,
            deadline=t.datetime(deadline),
            left=whole_hours(hours_left(deadline, ctx.now())),
        )
    )


# --- the guided flow ----------------------------------------------------------------------


def grade_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(f"G{grade}", f"G{grade}") for grade in range(1, 6)]


def serious_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._(name), criterion.value) for criterion, name in CRITERION_NAMES.items()]


COMMAND = StaffCommand(
    "ae",
    USAGE,
    run,
    fields=(
        Field("patient", N_("Which patient?"), choices=patient_choices),
        Field(
            "term",
            N_("What is the adverse event? Type it, for example lung infection or 肺部感染."),
        ),
        Field("grade", N_("Which CTCAE grade?"), choices=grade_choices),
        Field(
            "serious",
            N_("Is it serious? Press the criterion that applies, or Skip if it is not."),
            choices=serious_choices,
            template="serious={value}",
            optional=True,
        ),
        Field(
            "onset",
            N_("When did it start? Type the date as YYYY-MM-DD, or press Skip for today."),
            template="onset={value}",
            optional=True,
        ),
    ),
)


FEATURE = Feature(
    "adverse events",
    staff_commands=[COMMAND],
    options=[QUESTIONS.option],
    actions=[
        ActionSpec(KIND, "ae", AePayload, store, after, stored_name),
        FOLLOW_UP_ACTION,
    ],
)
