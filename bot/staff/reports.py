"""/reports and /triage: the patient reports waiting for the study team, and their triage.

Requirement: "``/reports`` lists open patient reports; ``/triage R7 ae G2 <term>``
turns one into an adverse event, ``/triage R7 close <note>`` closes it."

- ``/reports`` (nurses, investigators, coordinators) lists every open report:
  red flags first, then oldest first; long lists are paged with buttons.
- ``/triage R7 ae G2 <term> [serious=<criterion>] [onset=YYYY-MM-DD]
  [related=<relatedness>]`` shows the adverse event it would create, with
  Confirm / Cancel. The term is matched like ``/ae`` (CTCAE v5.0, either
  language; unmatched text is kept verbatim and uncoded) and the grade is
  checked against the term. The onset comes from the patient's answer to
  "When did it start?" (:func:`core.overview.onset_date`) unless ``onset=``
  is given; the site became aware when the patient reported, so
  ``awareness_at`` is the report's time and a serious event's reporting
  clock runs from then. On Confirm the report is marked converted and linked
  to the new event, in the same transaction; a serious event alerts every
  coordinator like ``/ae``.
- ``/triage R7 close <note>`` closes it with the note (Confirm / Cancel).

Refused, storing nothing: an unknown report, a report already triaged, a
grade the term does not have, a missing grade, term or note.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Final

from bot.context import Ctx
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
from bot.staff.commands import Field, StaffCommand
from core.adverse_events import (
    CTCAE_VERSION,
    Seriousness,
    check_grade,
    code_event,
    parse_seriousness,
    term_by_key,
)
from core.entry_syntax import (
    parse_entry_date,
    parse_grade_token,
    parse_options,
    parse_relatedness,
)
from core.messages import N_, RuleError
from core.overview import onset_date
from core.schedule import trial_today
from core.store import status as queries
from core.store.db import read_session
from core.store.models import AdverseEvent, Patient, PatientReport, TriageStatus
from core.store.uow import UnitOfWork

log = logging.getLogger(__name__)

REPORTS: Final = "reports"
TRIAGE: Final = "triage"
KIND_AE: Final = "triage_ae"
KIND_CLOSE: Final = "triage_close"

REPORTS_USAGE = N_("/reports lists the patient reports waiting for triage.")
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


def report_block(t: Translator, report: PatientReport, study_id: str) -> str:
    """One open report as staff read it in the list."""
    if report.red_flag:
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
    if report.free_text:
        return (
            head + "\n  " + t._("In the patient's words: {text}", text=_preview(report.free_text))
        )
    return head


# --------------------------------------------------------------------------- /reports


def report_blocks(ctx: Ctx, _argument: str = "") -> list[str]:
    """Every open report, red flags first, then oldest first."""
    with read_session(ctx.services.engine) as session:
        reports = queries.open_reports(session)
    t = ctx.t
    if not reports:
        return [t._("No patient reports are waiting for triage.")]
    header = t._(
        "Open patient reports: {count}. Triage one with /triage R<number> ae G<grade> <term> "
        "or /triage R<number> close <note>.",
        count=len(reports),
    )
    return [header, *(report_block(t, report, study_id) for report, study_id in reports)]


async def run_reports(ctx: Ctx, args: list[str]) -> None:
    await send_pages(ctx, REPORTS, "", report_blocks(ctx))


# --------------------------------------------------------------------------- /triage


def parse_report_number(word: str) -> int:
    """``R7``, ``r7``, ``#7`` or ``7`` -> 7; anything else is refused."""
    text = word.strip().lstrip("#")
    if text[:1] in ("R", "r"):
        text = text[1:]
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise RuleError(N_("Name the report by its number, for example R7."))
    return int(text)


def _open_report(
    session_report: tuple[PatientReport, str] | None, number: int
) -> tuple[PatientReport, str]:
    if session_report is None:
        raise RuleError(N_("There is no patient report R{number}."), number=number)
    report, study_id = session_report
    if report.triage_status == TriageStatus.CONVERTED:
        raise RuleError(
            N_("Report R{number} was already triaged: it became adverse event AE{ae}."),
            number=number,
            ae=report.linked_ae_id or "?",
        )
    if report.triage_status != TriageStatus.OPEN:
        raise RuleError(N_("Report R{number} was already triaged: it is closed."), number=number)
    return report, study_id


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
        report, study_id = _open_report(queries.report_with_study_id(session, number), number)
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
    payload = {"report_id": report.id, "study_id": study_id, "note": note}
    await propose(ctx, KIND_CLOSE, Draft(summary, payload))


async def _propose_ae(ctx: Ctx, report: PatientReport, study_id: str, words: list[str]) -> None:
    at = next((i for i, w in enumerate(words) if parse_grade_token(w) is not None), None)
    if at is None:
        raise RuleError(N_("Give the CTCAE grade as G1 to G5, for example: ae G2 headache."))
    grade = parse_grade_token(words[at])
    assert grade is not None
    rest = words[:at] + words[at + 1 :]
    first_option = next((i for i, w in enumerate(rest) if "=" in w), len(rest))
    verbatim = " ".join(rest[:first_option])
    options = parse_options(
        rest[first_option:], ae_command.OPTION_KEYS, repeatable=frozenset({"serious"})
    )
    coded = code_event(verbatim, grade)
    criteria: list[Seriousness] = []
    for word in options.get("serious", ()):
        criterion = parse_seriousness(word)
        if criterion not in criteria:
            criteria.append(criterion)
    criteria.sort(key=list(Seriousness).index)
    zone = ctx.services.zone
    reported_on = trial_today(report.created_at, zone)
    today = ctx.today()
    if "onset" in options:
        onset = parse_entry_date(options["onset"][0], today=today)
    else:
        onset = onset_date(report.onset, reported_on)
    related = parse_relatedness(options["related"][0]) if "related" in options else None

    t = ctx.t
    lines = [
        t._(
            "Report R{number} from {study_id} ({category}) becomes an adverse event:",
            number=report.id,
            study_id=study_id,
            category=category_name(t, report),
        )
    ]
    lines += ae_command.coded_lines(t, coded, grade, criteria)
    if "onset" in options:
        lines.append(t._("Onset: {date}.", date=t.date(onset)))
    else:
        lines.append(
            t._(
                "Onset: {date} (the patient answered: {answer}).",
                date=t.date(onset),
                answer=_onset_name(t, report),
            )
        )
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
    payload: dict[str, Any] = {
        "report_id": report.id,
        "study_id": study_id,
        "verbatim": coded.verbatim,
        "term": coded.term.key if coded.term is not None else None,
        "grade": grade,
        "serious": [c.value for c in criteria],
        "onset": onset.isoformat(),
        "related": related.value if related is not None else None,
    }
    await propose(ctx, KIND_AE, Draft("\n".join(lines), payload, tuple(warnings)))


# --------------------------------------------------------------------------- Confirm


def _report_in_store(uow: UnitOfWork, payload: dict[str, Any]) -> PatientReport:
    """The report again inside the Confirm transaction; refused if triaged meanwhile."""
    number = int(payload["report_id"])
    report = uow.session.get(PatientReport, number)
    found = None if report is None else (report, str(payload["study_id"]))
    return _open_report(found, number)[0]


def store_ae(ctx: Ctx, uow: UnitOfWork, payload: dict[str, Any]) -> ae_command.Stored:
    """Create the adverse event from the report and link the report to it."""
    report = _report_in_store(uow, payload)
    patient = uow.session.get(Patient, report.patient_id)
    assert patient is not None
    term_key: str | None = payload["term"]
    grade = check_grade(term_by_key(term_key) if term_key else None, int(payload["grade"]))
    criteria = [Seriousness(c) for c in payload["serious"]]
    awareness: datetime = report.created_at
    event = uow.add(
        AdverseEvent(
            patient_id=report.patient_id,
            ctcae_version=CTCAE_VERSION,
            term=term_key,
            verbatim=payload["verbatim"],
            coded=term_key is not None,
            grade=grade,
            onset_date=date.fromisoformat(payload["onset"]),
            awareness_at=awareness,
            relatedness=payload["related"],
            reported_by=uow.actor,
            reported_at=uow.now,
            death=Seriousness.DEATH in criteria,
            life_threatening=Seriousness.LIFE_THREATENING in criteria,
            hospitalization=Seriousness.HOSPITALIZATION in criteria,
            disability=Seriousness.DISABILITY in criteria,
            congenital_anomaly=Seriousness.CONGENITAL_ANOMALY in criteria,
            important_medical_event=Seriousness.IMPORTANT_MEDICAL_EVENT in criteria,
        ),
        "adverse_event.reported",
    )
    assert event.id is not None
    uow.update(
        report,
        "patient_report.converted",
        triage_status=TriageStatus.CONVERTED,
        linked_ae_id=event.id,
        triaged_by=uow.actor,
        triaged_at=uow.now,
    )
    log.info("report %s of %s became AE%d", report.id, patient.study_id, event.id)
    return ae_command.Stored(
        event.id,
        patient.study_id,
        term_key,
        payload["verbatim"],
        grade,
        criteria,
        event.onset_date,
        awareness,
    )


async def after_ae(ctx: Ctx, stored: ae_command.Stored) -> None:
    await ae_command.after(ctx, stored)


def store_close(ctx: Ctx, uow: UnitOfWork, payload: dict[str, Any]) -> tuple[int, str]:
    """Close the report with the note."""
    report = _report_in_store(uow, payload)
    assert report.id is not None
    uow.update(
        report,
        "patient_report.closed",
        triage_status=TriageStatus.CLOSED,
        triage_note=payload["note"],
        triaged_by=uow.actor,
        triaged_at=uow.now,
    )
    log.info("report %s closed", report.id)
    return report.id, str(payload["study_id"])


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
    actions=[
        ActionSpec(KIND_AE, TRIAGE, store_ae, after_ae),
        ActionSpec(KIND_CLOSE, TRIAGE, store_close, after_close),
    ],
    pages={REPORTS: report_blocks},
)
