"""/summary, /plot and /export: the endpoints, the charts and the statistician's files.

- ``/summary``: the endpoint summary per arm and overall (pages with buttons
  when it is longer than one message). Coordinators and investigators.
- ``/plot proteinuria`` (蛋白尿), ``/plot swimmer`` (泳道图), ``/plot P01``:
  a PNG chart sent as a photo with its caption; bare ``/plot`` asks which,
  with buttons. Coordinators and investigators.
- ``/export``: ``trial-<date>.xlsx`` and ``trial-csv-<date>.zip`` sent as
  documents. Coordinators only; each export is recorded in the audit trail
  (who, when, and the files' SHA-256), since it discloses the trial's data.
- ``/export pdf``: the safety-review report for the statistician and the DSMB,
  ``safety-report-<date>.pdf`` on A4 in the reader's language
  (:mod:`bot.outputs.report`), sent as a document and audited the same way.
  (``/report`` is the patients' symptom report, so the PDF is an export.)

Reading the database, drawing and writing the files run in a worker thread,
so the bot keeps answering others meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from bot.context import Ctx
from bot.conversations.feature import Feature
from bot.i18n import Translator
from bot.outputs.export import build_export
from bot.outputs.plots import Chart, patient_chart, proteinuria_chart, swimmer_chart
from bot.outputs.report import build_report, report_name
from bot.outputs.summary import load_outputs, summary_for
from bot.pagination import send_pages
from bot.staff.commands import Field, StaffCommand
from bot.views.summary import summary_blocks
from core.messages import N_, RuleError

__all__ = ["EXPORT", "PLOT", "SUMMARY", "chart_for"]

log = logging.getLogger(__name__)

PLOT_USAGE = N_("/plot proteinuria | swimmer | <study ID>  e.g. /plot proteinuria, /plot P01")
SUMMARY_USAGE = N_("/summary  (no arguments)")
EXPORT_USAGE = N_(
    "/export for the workbook and CSV files, /export pdf for the safety-review report"
)
# The word that asks /export for the PDF report, in either language.
_PDF_WORDS = frozenset({"pdf", "报告", "安全性报告"})

PROTEINURIA = "proteinuria"
SWIMMER = "swimmer"
_PLOT_WORDS = {
    "proteinuria": PROTEINURIA,
    "protein": PROTEINURIA,
    "蛋白尿": PROTEINURIA,
    "尿蛋白": PROTEINURIA,
    "swimmer": SWIMMER,
    "swim": SWIMMER,
    "泳道图": SWIMMER,
    "泳道": SWIMMER,
}


def _summary_pages(ctx: Ctx, argument: str) -> list[str]:
    summary = summary_for(ctx.services)
    return summary_blocks(ctx.t, summary, ctx.today())


async def run_summary(ctx: Ctx, args: list[str]) -> None:
    if args:
        raise RuleError(N_("/summary takes no arguments."))
    blocks = await asyncio.to_thread(_summary_pages, ctx, "")
    await send_pages(ctx, "summary", "", blocks)


def chart_for(ctx: Ctx, what: str, t: Translator) -> Chart:
    """The chart ``what`` names (a chart word in either language, or a study ID), in
    ``t``'s language; RuleError for anything else."""
    services = ctx.services
    protocol = services.protocol
    options = protocol.response_options()
    kind = _PLOT_WORDS.get(what.casefold())
    if kind is None:
        # load_outputs finds the patient whatever the case (core.store.models.study_id_is).
        data, endpoints = load_outputs(services, what)
        patient = data.by_study_id(what)
        if patient is None:
            raise RuleError(
                N_(
                    'There is no chart or patient called "{name}". Choose proteinuria, swimmer '
                    "or a study ID such as P01."
                ),
                name=what,
            )
        return patient_chart(
            t, data, patient, options, protocol.renal_assessment.weeks, ctx.today()
        )
    # The swimmer plot marks missed and overdue assessments: it reads the planned events.
    data, endpoints = load_outputs(services, events=kind == SWIMMER)
    if kind == PROTEINURIA:
        return proteinuria_chart(
            t, data, list(protocol.arms), options, protocol.renal_assessment.weeks, ctx.today()
        )
    return swimmer_chart(
        t,
        data,
        endpoints,
        list(protocol.arms),
        ctx.today(),
        options.endpoint_week,
    )


async def run_plot(ctx: Ctx, args: list[str]) -> None:
    if len(args) != 1:
        raise RuleError(N_("Name one chart: proteinuria, swimmer or a study ID."))
    chart = await asyncio.to_thread(chart_for, ctx, args[0].strip(), ctx.t)
    await ctx.send_file(chart.png, "chart.png", chart.caption, image=True)


def plot_choices(ctx: Ctx) -> list[tuple[str, str]]:
    """The guided /plot's buttons: the two trial charts, then each patient by study ID."""
    with_patients: list[tuple[str, str]] = [
        (ctx.t._("Proteinuria"), PROTEINURIA),
        (ctx.t._("Swimmer plot"), SWIMMER),
    ]
    data, _ = load_outputs(ctx.services)
    with_patients += [(p.study_id, p.study_id) for p in data.patients]
    return with_patients


async def run_export(ctx: Ctx, args: list[str]) -> None:
    if len(args) == 1 and args[0].strip().casefold() in _PDF_WORDS:
        await run_report_pdf(ctx)
        return
    if args:
        raise RuleError(N_('/export takes no arguments, or "pdf" for the safety-review report.'))
    services = ctx.services
    now = ctx.now()
    today = ctx.today()

    def build() -> tuple[bytes, bytes, int]:
        data, endpoints = load_outputs(services, events=True)
        files = build_export(data, endpoints, services.protocol, services.zone, today, now)
        return files.workbook, files.archive, len(data.patients)

    workbook, archive, patients = await asyncio.to_thread(build)
    day = today.isoformat()
    names = (f"trial-{day}.xlsx", f"trial-csv-{day}.zip")
    with ctx.uow() as uow:
        uow.audit(
            "export.sent",
            "export",
            day,
            after={
                "files": list(names),
                "patients": patients,
                "sha256": [hashlib.sha256(b).hexdigest() for b in (workbook, archive)],
            },
        )
    log.info("export of %d patients sent to %s", patients, ctx.person.label)
    t = ctx.t
    await ctx.send_file(
        workbook,
        names[0],
        t.n_(
            "Trial workbook, {patients} patient, study IDs only: one sheet each for "
            "patients, visits, doses, labs, SLEDAI-2K, CD20, adverse events, responses "
            "and endpoints.",
            "Trial workbook, {patients} patients, study IDs only: one sheet each for "
            "patients, visits, doses, labs, SLEDAI-2K, CD20, adverse events, responses "
            "and endpoints.",
            patients,
            patients=t.number(patients),
        ),
    )
    await ctx.send_file(
        archive,
        names[1],
        t._(
            "CSV files: labs.csv (the long-format lab file that python -m bot endpoints "
            "reads) and the SDTM-style datasets DM, DS, SV, EX, AE, SUPPAE, LB, QS and RS."
        ),
    )


REPORT_USAGE = N_("/report pdf for the safety-review report (the same as /export pdf)")


async def run_report_for_staff(ctx: Ctx) -> None:
    """/report from a coordinator: the safety-review report, bare or with "pdf".

    Patients use /report to tell the team about a symptom (bot.handlers.report);
    the authorization table lets no other member of staff use it.
    """
    args = ctx.args
    if not args or (len(args) == 1 and args[0].strip().casefold() in _PDF_WORDS):
        await run_report_pdf(ctx)
        return
    t = ctx.t
    reason = t._('/report takes only "pdf": it sends the safety-review report.')
    await ctx.reply(t._("{reason}\nExpected: {usage}", reason=reason, usage=t._(REPORT_USAGE)))


async def run_report_pdf(ctx: Ctx) -> None:
    """The safety-review PDF as of today (the data cut-off) in the reader's language, sent
    as a document; the audit trail keeps who, when, the file and its SHA-256."""
    services = ctx.services
    t = ctx.t
    now = ctx.now()
    today = ctx.today()

    def build() -> tuple[bytes, str, int]:
        data, endpoints = load_outputs(services, events=True)
        report = build_report(t, data, endpoints, services.protocol, today, now)
        return report.pdf, report.caption, len(data.patients)

    pdf, caption, patients = await asyncio.to_thread(build)
    name = report_name(today)
    with ctx.uow() as uow:
        uow.audit(
            "export.sent",
            "export",
            today.isoformat(),
            after={
                "files": [name],
                "patients": patients,
                "sha256": [hashlib.sha256(pdf).hexdigest()],
            },
        )
    log.info("safety report of %d patients sent to %s", patients, ctx.person.label)
    await ctx.send_file(pdf, name, caption)


SUMMARY = StaffCommand("summary", SUMMARY_USAGE, run_summary)
PLOT = StaffCommand(
    "plot",
    PLOT_USAGE,
    run_plot,
    fields=(Field("chart", N_("Which chart?"), choices=plot_choices),),
)
EXPORT = StaffCommand("export", EXPORT_USAGE, run_export)


FEATURE = Feature(
    "summaries, plots and exports",
    staff_commands=[SUMMARY, PLOT, EXPORT],
    pages={"summary": _summary_pages},
)
