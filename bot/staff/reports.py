"""/reports and /triage: the patient reports waiting for the study team, and their triage.

Requirement: "``/reports`` lists open patient reports; ``/triage R7 ae G2 <term>``
turns one into an adverse event, ``/triage R7 close <note>`` closes it."

- ``/reports`` (nurses, investigators, coordinators) lists every open report:
  red flags first, then oldest first; long lists are paged with buttons. A
  report the patient simply wrote to the bot says so, and a report with
  photos says how many. ``/reports R7`` shows one report whole, open or
  triaged, and sends its photos again (by the channel's file id, on the
  channel they came from).
- ``/triage R7 ae G2 <term> [serious=<criterion>] [onset=YYYY-MM-DD]
  [related=<relatedness>]`` shows the adverse event it would create, with
  Confirm / Cancel. The term is matched like ``/ae`` (CTCAE v5.0, either
  language; unmatched text near listed terms is asked about with the nearest
  terms as buttons, other unmatched text is kept verbatim and uncoded) and the
  grade is checked against the term. A grade 4 event without ``serious=`` is
  asked whether it was life-threatening before Confirm is offered, as with
  ``/ae`` (:mod:`bot.staff.ae_questions`). The onset comes from the patient's answer to
  "When did it start?" (:func:`core.overview.onset_date`) unless ``onset=``
  is given; the site became aware when the patient reported, so
  ``awareness_at`` is the report's time and a serious event's reporting
  clock runs from then. A report written to the bot asked no onset:
  ``onset=`` is then required. On Confirm the report is marked converted and linked
  to the new event, in the same transaction; a serious event alerts every
  coordinator like ``/ae``.
- ``/triage R7 close <note>`` closes it with the note (Confirm / Cancel).

Refused, storing nothing: an unknown report, a report already triaged, a
grade the term does not have, a missing grade, term or note.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from pydantic import TypeAdapter

from bot.context import Ctx
from bot.conversations.events import FileRef
from bot.conversations.feature import Feature
from bot.handlers.report import (
    CATEGORY_NAMES,
    ONSET_NAMES,
    RED_FLAG_NAMES,
    SEVERITY_NAMES,
    Category,
    Onset,
    RedFlag,
    Severity,
)
from bot.i18n import Translator
from bot.pagination import send_pages
from bot.staff import adverse_events as ae_command
from bot.staff.actions import ActionSpec, Draft, propose
from bot.staff.ae_questions import Explained, Questions, Waiting
from bot.staff.commands import Field, StaffCommand
from core.adverse_events import code_entry, onset_before_day0
from core.messages import N_, RuleError
from core.overview import onset_date
from core.schedule import trial_today
from core.store import status as queries
from core.store.clinical import AdverseEventEntry
from core.store.db import read_session
from core.store.models import PatientReport, ReportAttachment
from core.store.reports import (
    attachments_of,
    check_open,
    close_report,
    convert_report_to_adverse_event,
    is_written,
)
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

REPORTS: Final = "reports"
TRIAGE: Final = "triage"
KIND_AE: Final = "triage_ae"
KIND_CLOSE: Final = "triage_close"

REPORTS_USAGE = N_(
    "/reports lists the patient reports waiting for triage; /reports R<number> shows one "
    "whole, with its photos."
)
TRIAGE_USAGE = N_(
    "/triage R<number> ae G<grade> <term> [serious=<criterion>], or /triage R<number> close "
    "<note>  e.g. /triage R7 ae G2 headache, /triage R7 close seen at the visit, no event"
)

# The patient's own words in the list: enough to recognise the report.
TEXT_PREVIEW: Final = 120
MAX_NOTE: Final = 1000

_AE_WORDS: Final = frozenset({"ae", "adverse", "不良事件", "不良反应"})
_CLOSE_WORDS: Final = frozenset({"close", "closed", "关闭", "结束"})


# --------------------------------------------------------------------------- names


def category_name(t: Translator, report: PatientReport) -> str:
    """What a report is about, in the reader's language (a red flag by its name)."""
    try:
        if report.red_flag:
            return t._(RED_FLAG_NAMES[RedFlag(report.category)])
        return t._(CATEGORY_NAMES[Category(report.category)])
    except ValueError:
        return report.category


def _severity_name(t: Translator, report: PatientReport) -> str:
    try:
        return t._(SEVERITY_NAMES[Severity(report.severity)])
    except ValueError:
        return report.severity


def _onset_name(t: Translator, report: PatientReport) -> str:
    try:
        return t._(ONSET_NAMES[Onset(report.onset)])
    except ValueError:
        return t._("happening now (red flag)") if report.onset == "now" else report.onset


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_PREVIEW else flat[: TEXT_PREVIEW - 1] + "…"


def report_block(
    t: Translator,
    report: PatientReport,
    study_id: str,
    photos: int = 0,
    *,
    whole: bool = False,
) -> str:
    """One report as staff read it: in the list (its words shortened), or ``whole``."""
    if is_written(report):
        head = t._(
            "R{number} {study_id}: written to the bot, not through /report; reported {created}",
            number=report.id,
            study_id=study_id,
            created=t.datetime(report.created_at),
        )
    elif report.red_flag:
        head = t._(
            "R{number} {study_id} RED FLAG: {category}; reported {created}",
            number=report.id,
            study_id=study_id,
            category=category_name(t, report),
            created=t.datetime(report.created_at),
        )
    else:
        head = t._(
            "R{number} {study_id}: {category}; {severity}; started: {onset}; reported {created}",
            number=report.id,
            study_id=study_id,
            category=category_name(t, report),
            severity=_severity_name(t, report),
            onset=_onset_name(t, report),
            created=t.datetime(report.created_at),
        )
    lines = [head]
    if report.free_text:
        words = report.free_text if whole else _preview(report.free_text)
        lines.append("  " + t._("In the patient's words: {text}", text=words))
    if photos and not whole:
        lines.append(
            "  "
            + t.n_(
                "{n} photo: /reports R{number} shows it.",
                "{n} photos: /reports R{number} shows them.",
                photos,
                number=report.id,
            )
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- /reports


def report_blocks(ctx: Ctx, _argument: str = "") -> list[str]:
    """Every open report, red flags first, then oldest first."""
    with read_session(ctx.services.engine) as session:
        reports = queries.open_reports(session)
        files = attachments_of(session, [report.id for report, _ in reports if report.id])
    t = ctx.t
    if not reports:
        return [t._("No patient reports are waiting for triage.")]
    header = t._(
        "Open patient reports: {count}. Triage one with /triage R<number> ae G<grade> <term> "
        "or /triage R<number> close <note>.",
        count=len(reports),
    )
    return [
        header,
        *(
            report_block(t, report, study_id, len(files.get(report.id or 0, [])))
            for report, study_id in reports
        ),
    ]


async def run_reports(ctx: Ctx, args: list[str]) -> None:
    """``/reports`` (the open ones) or ``/reports R7`` (one, whole, with its photos)."""
    if not args:
        await send_pages(ctx, REPORTS, "", report_blocks(ctx))
        return
    if len(args) > 1:
        raise RuleError(N_("Name one report at most, for example R7."))
    await _show_report(ctx, parse_report_number(args[0]))


async def _show_report(ctx: Ctx, number: int) -> None:
    """One report whole (and whether it was triaged), then each photo sent with it."""
    with read_session(ctx.services.engine) as session:
        found = queries.report_with_study_id(session, number)
        files = attachments_of(session, [number]).get(number, [])
    if found is None:
        raise RuleError(N_("There is no patient report R{number}."), number=number)
    report, study_id = found
    t = ctx.t
    lines = [report_block(t, report, study_id, whole=True)]
    try:
        check_open(report, number)
    except RuleError as triaged:
        lines.append(t.error(triaged))
    await ctx.reply("\n".join(lines))
    for index, file in enumerate(files, start=1):
        await _show_file(ctx, file, number, study_id, index, len(files))


async def _show_file(
    ctx: Ctx, file: ReportAttachment, number: int, study_id: str, index: int, count: int
) -> None:
    t = ctx.t
    if file.channel != ctx.inbound.channel:
        # A channel's file id means nothing to another channel.
        await ctx.reply(
            t._(
                "Photo {index} of {count} of report R{number} was sent on {channel} and can "
                "be shown there only.",
                index=index,
                count=count,
                number=number,
                channel=file.channel.value,
            )
        )
        return
    caption = t._(
        "Photo {index} of {count} of report R{number} from {study_id}.",
        index=index,
        count=count,
        number=number,
        study_id=study_id,
    )
    await ctx.show_file(FileRef(file.kind, file.file_id), caption)


# --------------------------------------------------------------------------- /triage


def parse_report_number(word: str) -> int:
    """``R7``, ``r7``, ``#7`` or ``7`` -> 7; anything else is refused."""
    text = word.strip().lstrip("#")
    if text[:1] in ("R", "r"):
        text = text[1:]
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise RuleError(N_("Name the report by its number, for example R7."))
    return int(text)


def _action(word: str) -> str:
    folded = word.strip().casefold()
    if folded in _AE_WORDS:
        return "ae"
    if folded in _CLOSE_WORDS:
        return "close"
    raise RuleError(N_('After the report number write "ae" or "close", not "{word}".'), word=word)


async def run_triage(ctx: Ctx, args: list[str]) -> None:
    """``/triage R7 ae G2 <term> ...`` or ``/triage R7 close <note>``: propose, Confirm stores."""
    if not args:
        raise RuleError(N_("Name the report by its number, for example R7."))
    number = parse_report_number(args[0])
    with read_session(ctx.services.engine) as session:
        found = queries.report_with_study_id(session, number)
    report = check_open(found[0] if found is not None else None, number)
    assert found is not None
    study_id = found[1]
    if len(args) < 2:
        raise RuleError(N_('After the report number write "ae" (adverse event) or "close".'))
    action = _action(args[1])
    if action == "close":
        await _propose_close(ctx, report, study_id, args[2:])
    else:
        await _propose_ae(ctx, report, study_id, args[2:])


async def _propose_close(ctx: Ctx, report: PatientReport, study_id: str, words: list[str]) -> None:
    note = " ".join(words).strip()
    if not note:
        raise RuleError(N_("Write a note saying why the report is closed."))
    if len(note) > MAX_NOTE:
        raise RuleError(
            N_("The note is {length} characters; the limit is {limit}."),
            length=len(note),
            limit=MAX_NOTE,
        )
    t = ctx.t
    summary = "\n".join(
        [
            t._(
                "Close report R{number} from {study_id} ({category}) with the note:",
                number=report.id,
                study_id=study_id,
                category=category_name(t, report),
            ),
            note,
        ]
    )
    assert report.id is not None
    await propose(ctx, KIND_CLOSE, Draft(summary, ClosePayload(report.id, study_id, note)))


async def _propose_ae(ctx: Ctx, report: PatientReport, study_id: str, words: list[str]) -> None:
    understood = ae_command.parse_adverse_event(
        words,
        today=ctx.today(),
        no_grade=N_("Give the CTCAE grade as G1 to G5, for example: ae G2 headache."),
    )
    if understood.onset is None and is_written(report):
        raise RuleError(
            N_(
                "Report R{number} was written to the bot and does not say when it started: "
                "add onset=YYYY-MM-DD."
            ),
            number=report.id,
        )
    # The patient's answer to "When did it start?", counted back from the report's day;
    # a written report was never asked, so its onset is the one typed.
    entry = understood.entry(
        understood.onset
        if understood.onset is not None
        else onset_date(report.onset, trial_today(report.created_at, ctx.services.zone))
    )
    # Refused before anything is asked or proposed when far before day 0 (a likely typo).
    onset_before_day0(entry.onset, ae_command.patient_day0(ctx, report.patient_id))
    assert report.id is not None
    payload = TriageAePayload(report.id, study_id, entry, onset_typed=understood.onset is not None)
    await TRIAGE_QUESTIONS.offer(ctx, payload, understood.explained)


def triage_preview(
    ctx: Ctx, payload: TriageAePayload, explained: Explained
) -> Draft[TriageAePayload]:
    """The summary shown with Confirm / Cancel for ``/triage R<n> ae``.

    The report is read again: one triaged meanwhile is refused.
    """
    with read_session(ctx.services.engine) as session:
        found = queries.report_with_study_id(session, payload.report_id)
    report = check_open(found[0] if found is not None else None, payload.report_id)
    entry = payload.event
    criteria = list(entry.serious)
    t = ctx.t
    lines = [
        t._(
            "Report R{number} from {study_id} ({category}) becomes an adverse event:",
            number=report.id,
            study_id=payload.study_id,
            category=category_name(t, report),
        )
    ]
    coded = code_entry(entry.verbatim, entry.grade, entry.term)
    lines += ae_command.coded_lines(t, coded, entry.grade, criteria, explained)
    if payload.onset_typed:
        lines.append(t._("Onset: {date}.", date=t.date(entry.onset)))
    else:
        lines.append(
            t._(
                "Onset: {date} (the patient answered: {answer}).",
                date=t.date(entry.onset),
                answer=_onset_name(t, report),
            )
        )
    lines += ae_command.onset_lines(t, entry.onset, ae_command.patient_day0(ctx, report.patient_id))
    lines += ae_command.related_lines(t, entry.related)
    lines.append(
        t._(
            "The site became aware when the patient reported: {created}.",
            created=t.datetime(report.created_at),
        )
    )
    warnings: list[str] = []
    if criteria:
        warnings.append(
            t._(
                "On Confirm every coordinator is alerted and the {hours}-hour reporting clock "
                "starts.",
                hours=ctx.services.protocol.adverse_events.serious_report_hours,
            )
        )
    return Draft("\n".join(lines), payload, tuple(warnings))


# --------------------------------------------------------------------------- Confirm


@dataclass(frozen=True, slots=True)
class TriageAePayload:
    """What Confirm stores for ``/triage R<n> ae``; ``onset_typed``: ``onset=`` was given
    (else the onset is the patient's answer)."""

    report_id: int
    study_id: str
    event: AdverseEventEntry
    onset_typed: bool = False


TRIAGE_QUESTIONS: Questions[TriageAePayload] = Questions(
    prefix="trq",
    kind=KIND_AE,
    adapter=TypeAdapter(Waiting[TriageAePayload]),
    preview=triage_preview,
)


@dataclass(frozen=True, slots=True)
class ClosePayload:
    """What Confirm stores for ``/triage R<n> close``."""

    report_id: int
    study_id: str
    note: str


def store_ae(ctx: Ctx, uow: UnitOfWork, payload: TriageAePayload) -> ae_command.Stored:
    """Create the adverse event from the report and link the report to it."""
    event, patient = convert_report_to_adverse_event(uow, payload.report_id, payload.event)
    return ae_command.stored(event, patient.study_id, payload.event)


async def after_ae(ctx: Ctx, stored: ae_command.Stored) -> None:
    await ae_command.after(ctx, stored)


def store_close(ctx: Ctx, uow: UnitOfWork, payload: ClosePayload) -> tuple[int, str]:
    """Close the report with the note."""
    close_report(uow, payload.report_id, payload.note)
    return payload.report_id, payload.study_id


async def after_close(ctx: Ctx, result: tuple[int, str]) -> None:
    number, study_id = result
    await ctx.reply(
        ctx.t._("Report R{number} from {study_id} is closed.", number=number, study_id=study_id)
    )


# --------------------------------------------------------------------------- guided flow


def report_choices(ctx: Ctx) -> list[tuple[str, str]]:
    """Open reports as buttons: ``R7 P01``."""
    with read_session(ctx.services.engine) as session:
        reports = queries.open_reports(session)
    return [(f"R{report.id} {study_id}", f"R{report.id}") for report, study_id in reports]


def action_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(ctx.t._("Make it an adverse event"), "ae"), (ctx.t._("Close it"), "close")]


REPORTS_COMMAND = StaffCommand(REPORTS, REPORTS_USAGE, run_reports)
TRIAGE_COMMAND = StaffCommand(
    TRIAGE,
    TRIAGE_USAGE,
    run_triage,
    fields=(
        Field("report", N_("Which report?"), choices=report_choices),
        Field("action", N_("Make it an adverse event, or close it?"), choices=action_choices),
        Field(
            "details",
            N_(
                "For an adverse event type the grade and the term, for example G2 headache; "
                "to close the report type a note."
            ),
        ),
    ),
)


FEATURE = Feature(
    "patient reports",
    staff_commands=[REPORTS_COMMAND, TRIAGE_COMMAND],
    options=[TRIAGE_QUESTIONS.option],
    actions=[
        ActionSpec(KIND_AE, TRIAGE, TriageAePayload, store_ae, after_ae, ae_command.stored_name),
        ActionSpec(KIND_CLOSE, TRIAGE, ClosePayload, store_close, after_close),
    ],
    pages={REPORTS: report_blocks},
)
