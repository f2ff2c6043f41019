"""The safety-review report as a PDF on A4: what the statistician and the DSMB receive.

Sent by ``/export pdf`` and written by ``python -m bot report --pdf FILE``. In
the reader's language (Chinese drawn with the shipped Noto Sans SC,
:mod:`bot.outputs.chart_fonts`, embedded in the file so the text can be
searched and copied); study IDs only, never names. It holds, as of the data
cut-off:

1. the response summary with its exact (Clopper-Pearson) intervals, the
   same words as ``/summary`` (:func:`bot.views.summary.summary_blocks`);
2. adverse events by arm and grade: patients by their highest grade, then
   events by term and grade for each arm (:mod:`core.safety`);
3. the serious adverse events (ICH E2A) with their seriousness criteria and
   the outcome recorded for them;
4. the protocol deviations recorded (visits moved outside their window, visits
   marked missed) and how many planned visits were not done;
5. the proteinuria chart and the swimmer plot
   (:mod:`bot.outputs.plots`), on landscape A4 pages.

Every page gives the data cut-off and its number. Drawn with matplotlib's
``PdfPages`` (no other PDF library); text pages are portrait A4, chart pages
landscape A4.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Final

from bot.i18n import Translator
from bot.outputs import chart_style as style
from bot.outputs.chart_fonts import labels_for
from bot.outputs.plots import draw_proteinuria, draw_swimmer
from bot.outputs.summary import trial_summary
from bot.texts import EVENT_TITLES
from bot.views.plan import arm_name
from bot.views.status import outcome_name
from bot.views.summary import summary_blocks
from core.adverse_events import Seriousness, term_by_key
from core.endpoints import PatientEndpoints
from core.messages import N_
from core.protocol import Protocol
from core.safety import (
    GRADES,
    ArmSafety,
    PatientEvent,
    deviations,
    events_by_term,
    not_done_visits,
    open_at_week_events,
    patients_by_worst_grade,
    serious_events,
)
from core.statistics import proportion
from core.trial_records import AdverseEventRecord, TrialData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["A4_INCHES", "SafetyReport", "build_report", "report_name"]

#: ISO 216 A4, 210 x 297 mm, in inches (portrait).
A4_INCHES: Final = (210 / 25.4, 297 / 25.4)
MARGIN: Final = 0.7
FOOTER: Final = 0.45
BODY: Final = 9.0
SMALL: Final = 8.0
# Width of one column of text (a Latin letter; a Chinese character takes two), in inches
# per point of font size: generous, so a line never runs past the margin.
COLUMN_PER_PT: Final = 0.0088
# A table's header is wrapped past this many columns, when its column is narrower.
HEADER_WIDTH: Final = 24
# Swimmer lanes per landscape page.
LANES_PER_PAGE: Final = 22

TITLE = N_("Safety review report")


def report_name(cutoff: date) -> str:
    """The file's name: ``safety-report-<cut-off>.pdf``."""
    return f"safety-report-{cutoff.isoformat()}.pdf"


@dataclass(frozen=True, slots=True)
class SafetyReport:
    """The PDF's bytes, its number of pages, and the caption to send with it."""

    pdf: bytes
    pages: int
    caption: str


# --------------------------------------------------------------------------- layout


def _width(text: str) -> int:
    """Columns a text takes: a wide (Chinese) character two, any other one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _tokens(text: str) -> list[str]:
    """Words and spaces, each wide character a word of its own (Chinese breaks anywhere),
    a slash ending a word."""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ch == " " or unicodedata.east_asian_width(ch) in "WF":
            if word:
                tokens.append(word)
            tokens.append(ch)
            word = ""
        elif ch == "/":  # "recovered/resolved" may break after the slash
            tokens.append(word + ch)
            word = ""
        else:
            word += ch
    if word:
        tokens.append(word)
    return tokens


def wrap(text: str, columns: int) -> list[str]:
    """``text`` in lines of at most ``columns`` (a longer word is cut); a leading indent
    is kept on every line."""
    indent = text[: len(text) - len(text.lstrip(" "))]
    lines: list[str] = []
    line = indent
    for token in _tokens(text.lstrip(" ")):
        if _width(line) + _width(token) > columns and line.strip():
            lines.append(line.rstrip())
            line = indent
            if token == " ":
                continue
        while _width(indent) + _width(token) > columns:
            cut = max(1, columns - _width(indent))
            lines.append(indent + token[:cut])
            token = token[cut:]
        line += token
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


@dataclass(frozen=True, slots=True)
class _Text:
    x: float  # inches from the left edge
    y: float  # inches from the top edge (the text's top)
    text: str
    size: float
    bold: bool = False
    right: bool = False


@dataclass(slots=True)
class _Page:
    texts: list[_Text] = field(default_factory=list)
    rules: list[tuple[float, float, float]] = field(default_factory=list)  # x0, x1, y


class _Flow:
    """Text, headings and tables laid down portrait A4 pages, a new page when one is full."""

    def __init__(self) -> None:
        self.width, self.height = A4_INCHES
        self.pages: list[_Page] = [_Page()]
        self.y = MARGIN

    @property
    def usable(self) -> float:
        return self.width - 2 * MARGIN

    def columns(self, size: float) -> int:
        return int(self.usable / (COLUMN_PER_PT * size))

    def _room(self, height: float) -> None:
        if self.y + height > self.height - MARGIN - FOOTER and self.y > MARGIN:
            self.pages.append(_Page())
            self.y = MARGIN

    def space(self, inches: float) -> None:
        self.y += inches

    def text(self, text: str, size: float = BODY, *, bold: bool = False) -> None:
        step = size * 1.45 / 72
        for paragraph in text.split("\n"):
            for line in wrap(paragraph, self.columns(size)):
                self._room(step)
                self.pages[-1].texts.append(_Text(MARGIN, self.y, line, size, bold))
                self.y += step

    def heading(self, text: str, size: float = 12.0) -> None:
        self.space(0.12 if size > BODY else 0.0)
        self._room(0.7)  # a heading is not left alone at the foot of a page
        self.text(text, size, bold=True)
        self.space(0.04)

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]
    ) -> None:
        """A table in :data:`SMALL` type: columns as wide as their content (the widest
        narrowed until the table fits), cells wrapped, numbers right-aligned, a rule
        under the header."""
        size = SMALL
        budget = self.columns(size) - 2 * (len(header) - 1)
        # A header wraps only when it is long (a column of numbers stays narrow).
        widths = [
            max([min(_width(h), HEADER_WIDTH)] + [_width(row[i]) for row in rows])
            for i, h in enumerate(header)
        ]
        while sum(widths) > budget and max(widths) > 6:
            widths[widths.index(max(widths))] -= 1
        unit = COLUMN_PER_PT * size
        xs: list[float] = []
        x = MARGIN
        for w in widths:
            xs.append(x)
            x += (w + 2) * unit
        step = size * 1.4 / 72

        def put(cells: Sequence[str], bold: bool) -> None:
            wrapped = [wrap(cell, w) for cell, w in zip(cells, widths, strict=True)]
            height = max(len(lines) for lines in wrapped) * step
            self._room(height + step)
            for i, lines in enumerate(wrapped):
                for k, line in enumerate(lines):
                    right = numeric[i] and not bold
                    at = xs[i] + widths[i] * unit if right else xs[i]
                    self.pages[-1].texts.append(
                        _Text(at, self.y + k * step, line, size, bold, right)
                    )
            self.y += height

        put(header, True)
        self.pages[-1].rules.append((MARGIN, x - 2 * unit, self.y + 0.02))
        self.y += 0.05
        for row in rows:
            put(row, False)
            self.y += 0.02
        self.space(0.1)


def _draw_page(figure: Figure, page: _Page) -> None:
    from matplotlib.lines import Line2D

    width, height = A4_INCHES
    for item in page.texts:
        figure.text(
            item.x / width,
            1 - item.y / height,
            item.text,
            fontsize=item.size,
            fontweight="bold" if item.bold else "normal",
            ha="right" if item.right else "left",
            va="top",
        )
    for x0, x1, y in page.rules:
        figure.add_artist(
            Line2D(
                [x0 / width, x1 / width],
                [1 - y / height, 1 - y / height],
                transform=figure.transFigure,
                color="#333333",
                linewidth=0.6,
            )
        )


def _footer(figure: Figure, t: Translator, cutoff: date, page: int, pages: int) -> None:
    width, _ = (float(v) for v in figure.get_size_inches())
    figure.text(
        MARGIN / width,
        0.012,
        t._(
            "{title} · data cut-off {date} · page {page} of {pages}",
            title=t._(TITLE),
            date=t.date(cutoff),
            page=t.number(page),
            pages=t.number(pages),
        ),
        fontsize=7,
        color="#525252",
        ha="left",
        va="bottom",
    )


# --------------------------------------------------------------------------- content


def _cell(t: Translator, count: int, n: int) -> str:
    percent = proportion(count, n).percent()
    if percent is None:
        return t.number(count)
    return t._("{count} ({percent}%)", count=t.number(count), percent=t.percent(percent))


def _term(t: Translator, term: str, coded: bool) -> str:
    if coded:
        try:
            found = term_by_key(term)
        except KeyError:
            return term
        return found.term_zh if t.lang == "zh_Hans" else found.term_en
    return t._("{verbatim} (uncoded)", verbatim=term)


def _criteria(t: Translator, ae: AdverseEventRecord) -> str:
    names: list[str] = []
    for criterion in ae.criteria:
        try:
            known = Seriousness(criterion)
        except ValueError:
            names.append(criterion)
            continue
        names.append(known.name_zh if t.lang == "zh_Hans" else known.name_en)
    return t.join(names)


def _grade_table(flow: _Flow, t: Translator, rows: Sequence[ArmSafety]) -> None:
    total = ArmSafety(
        "",
        sum(r.patients for r in rows),
        sum(r.with_event for r in rows),
        sum(r.with_serious for r in rows),
        tuple(sum(r.by_worst_grade[i] for r in rows) for i in range(len(GRADES))),
    )
    groups = [*rows, total]
    header = [t._("Patients")] + [
        t._("{arm} (n = {n})", arm=arm_name(t, r.arm), n=t.number(r.patients)) for r in rows
    ]
    header.append(t._("All patients (n = {n})", n=t.number(total.patients)))
    body = [[t._("Any adverse event")] + [_cell(t, g.with_event, g.patients) for g in groups]]
    for i, grade in enumerate(GRADES):
        label = t._("Highest grade {grade}", grade=grade)
        body.append([label] + [_cell(t, g.by_worst_grade[i], g.patients) for g in groups])
    body.append(
        [t._("Any serious adverse event")] + [_cell(t, g.with_serious, g.patients) for g in groups]
    )
    flow.table(header, body, [False] + [True] * len(groups))


def _term_tables(flow: _Flow, t: Translator, data: TrialData, arms: Sequence[str]) -> None:
    terms = events_by_term(data, arms)
    for arm in [r.arm for r in patients_by_worst_grade(data, arms)]:
        n = sum(1 for p in data.patients if p.arm == arm)
        flow.heading(t._("{arm} (n = {n})", arm=arm_name(t, arm), n=t.number(n)), BODY)
        rows = [
            [_term(t, row.term, row.coded)]
            + [t.number(c) for c in row.counts[arm]]
            + [t.number(sum(row.counts[arm]))]
            for row in terms
            if sum(row.counts[arm])
        ]
        if not rows:
            flow.text(t._("No adverse events recorded."))
            flow.space(0.08)
            continue
        header = (
            [t._("Event (CTCAE v5.0 term)")]
            + [t._("Grade {grade}", grade=g) for g in GRADES]
            + [t._("All grades")]
        )
        flow.table(header, rows, [False] + [True] * (len(GRADES) + 1))


def _event_table(
    flow: _Flow, t: Translator, rows: Sequence[PatientEvent], *, criteria: bool
) -> None:
    """One line per event: patient, arm, term, grade, onset, (criteria,) outcome."""
    header = [t._("Study ID"), t._("Arm"), t._("Event"), t._("Grade"), t._("Onset")]
    header += [t._("Seriousness criteria")] if criteria else []
    header.append(t._("Outcome"))
    body = [
        [
            row.patient.study_id,
            arm_name(t, row.patient.arm),
            _term(t, row.event.term or row.event.verbatim, row.event.coded),
            t.number(row.event.grade),
            t.date(row.event.onset_date, "yMd"),
            *([_criteria(t, row.event)] if criteria else []),
            outcome_name(t, row.event.outcome),
        ]
        for row in rows
    ]
    flow.table(header, body, [column == t._("Grade") for column in header])


def _serious_table(flow: _Flow, t: Translator, data: TrialData) -> None:
    rows = serious_events(data)
    if rows:
        _event_table(flow, t, rows, criteria=True)
    else:
        flow.text(t._("No serious adverse events recorded."))


def _open_at_week_table(
    flow: _Flow, t: Translator, data: TrialData, week: int, cutoff: date
) -> None:
    rows = open_at_week_events(data, week, cutoff)
    if rows:
        _event_table(flow, t, rows, criteria=False)
    else:
        flow.text(t._("No adverse event was open at week {week}.", week=t.number(week)))


def _deviation_table(flow: _Flow, t: Translator, data: TrialData, cutoff: date) -> None:
    rows = deviations(data, cutoff)
    if rows:
        header = [t._("Study ID"), t._("Visit"), t._("Planned"), t._("Deviation"), t._("Reason")]
        body = [
            [
                row.patient.study_id,
                t._(EVENT_TITLES[row.event.kind], number=row.event.number),
                t.date(row.event.target_date, "yMd"),
                t._("marked missed")
                if row.outcome is not None
                else t._("moved outside its window"),
                row.reason or t._("not given"),
            ]
            for row in rows
        ]
        flow.table(header, body, [False] * 5)
    else:
        flow.text(t._("No protocol deviations recorded."))
    flow.text(
        t._(
            "Planned visits whose window closed with nothing recorded (not done): {count}.",
            count=t.number(not_done_visits(data, cutoff)),
        )
    )


def _text_pages(
    t: Translator,
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    protocol: Protocol,
    cutoff: date,
    generated_at: datetime,
) -> list[_Page]:
    arms = list(protocol.arms)
    flow = _Flow()
    flow.text(t._(TITLE), 18.0, bold=True)
    flow.space(0.08)
    flow.text(
        t._(
            "Trial {registry}, protocol version {version}. Data cut-off: {date}. Produced {when}.",
            registry=protocol.trial.registry_id,
            version=protocol.version,
            date=t.date(cutoff),
            when=t.datetime(generated_at),
        )
    )
    flow.text(
        t._(
            "Patients: {patients}. Study IDs only. The safety population is every enrolled "
            "patient, by the arm they were assigned to (allocation is not randomised).",
            patients=t.number(len(data.patients)),
        )
    )
    flow.heading(t._("Response summary"))
    summary = trial_summary(data, endpoints, protocol, cutoff)
    for block in summary_blocks(t, summary, cutoff):
        flow.text(block.strip("\n"))
        flow.space(0.06)
    flow.heading(t._("Adverse events: patients by highest grade"))
    _grade_table(flow, t, patients_by_worst_grade(data, arms))
    flow.heading(t._("Adverse events by arm, term and grade (number of events)"))
    _term_tables(flow, t, data, arms)
    flow.heading(t._("Serious adverse events"))
    _serious_table(flow, t, data)
    week = protocol.trial.induction_weeks
    flow.heading(
        t._(
            "Adverse events still open at week {week} (end of induction)",
            week=t.number(week),
        )
    )
    _open_at_week_table(flow, t, data, week, cutoff)
    flow.heading(t._("Protocol deviations"))
    _deviation_table(flow, t, data, cutoff)
    return flow.pages


def _lane_groups(data: TrialData) -> list[TrialData]:
    """The patients in groups of at most :data:`LANES_PER_PAGE`, one swimmer page each."""
    patients = list(data.patients)
    if len(patients) <= LANES_PER_PAGE:
        return [data]
    return [
        replace(data, patients=tuple(patients[i : i + LANES_PER_PAGE]))
        for i in range(0, len(patients), LANES_PER_PAGE)
    ]


def build_report(
    t: Translator,
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    protocol: Protocol,
    cutoff: date,
    generated_at: datetime,
) -> SafetyReport:
    """The safety-review report of ``data`` (planned events loaded) as of ``cutoff`` in
    ``t``'s language; ``generated_at`` (aware) is printed on page 1."""
    from matplotlib.backends.backend_pdf import PdfPages

    labels = labels_for(t)
    lt = labels.t
    options = protocol.response_options()
    weeks = protocol.renal_assessment.weeks
    arms = list(protocol.arms)
    landscape = (A4_INCHES[1], A4_INCHES[0])
    buffer = io.BytesIO()
    metadata = {"Title": lt._(TITLE), "Creator": "lupus-trial-bot", "CreationDate": None}
    with style.rendering(labels), PdfPages(buffer, metadata=metadata) as pdf:
        pages = _text_pages(lt, data, endpoints, protocol, cutoff, generated_at)
        groups = _lane_groups(data)
        total = len(pages) + 1 + len(groups)
        number = 0
        for page in pages:
            number += 1
            figure = style.new_figure(*A4_INCHES)
            _draw_page(figure, page)
            _footer(figure, lt, cutoff, number, total)
            pdf.savefig(figure)
        figure = style.new_figure(*landscape)
        draw_proteinuria(figure, lt, data, arms, options, weeks, cutoff)
        number += 1
        _footer(figure, lt, cutoff, number, total)
        pdf.savefig(figure)
        for group in groups:
            figure = style.new_figure(*landscape)
            draw_swimmer(figure, lt, group, endpoints, arms, cutoff, options.endpoint_week)
            number += 1
            _footer(figure, lt, cutoff, number, total)
            pdf.savefig(figure)
    caption = t._(
        "Safety review report as of {date}: response summary with exact confidence "
        "intervals, adverse events by arm and grade, serious adverse events, protocol "
        "deviations, the proteinuria chart and the swimmer plot. Study IDs only.",
        date=t.date(cutoff),
    )
    return SafetyReport(buffer.getvalue(), total, style.caption(t, caption, labels))
