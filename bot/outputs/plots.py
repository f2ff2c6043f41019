"""Charts as PNG images (matplotlib, Agg): proteinuria, the swimmer plot, one patient.

Labels follow the reader's language; Chinese needs a font with CJK glyphs
(:mod:`bot.outputs.chart_fonts`: without one the chart is labelled in English
and the caption, in Chinese, says so). What every chart shares (colours, the
figure, the PNG, the caption) is :mod:`bot.outputs.chart_style`.

Every chart says how many patients it draws ("n = "), breaks a line at a
planned week without a result (:func:`core.plot_data.with_gaps`), lists in
its legend only what it draws, and writes the data cut-off date in its corner.
The ``draw_*`` functions draw onto a given figure (the PDF report,
:mod:`bot.outputs.report`, puts the same charts on A4 pages).

Titles carry study IDs only, never names. Rendering uses matplotlib's
object API (no ``pyplot`` state) under a lock, because matplotlib's font
settings are process-wide; call the ``*_chart`` functions from a worker
thread (``asyncio.to_thread``) so the bot keeps answering meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.i18n import Translator
from bot.outputs import chart_style as style
from bot.outputs.chart_fonts import find_cjk_font, labels_for
from bot.outputs.chart_style import ARM_COLOURS, CLASS_COLOURS, GRADE_COLOURS, Chart
from bot.views.plan import arm_name
from core.endpoints import PatientEndpoints
from core.plot_data import patient_series, protein_series, swimmer_lanes, with_gaps
from core.response import ResponseClass, ResponseOptions
from core.trial_records import PatientRecord, TrialData
from core.units import Unit, canonical, to_unit
from core.visits import VisitOutcome

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Chart",
    "draw_patient",
    "draw_proteinuria",
    "draw_swimmer",
    "find_cjk_font",
    "patient_chart",
    "proteinuria_chart",
    "swimmer_chart",
]

# Drawing floor on the log axis: a result of 0 g/24h is drawn here.
LOG_FLOOR = Decimal("0.01")
LOG_TICKS = tuple(Decimal(v) for v in ("0.01", "0.1", "0.4", "1", "3.5", "10", "30"))


def draw_proteinuria(
    figure: Figure,
    lt: Translator,
    data: TrialData,
    arms: Sequence[str],
    options: ResponseOptions,
    weeks: Sequence[int],
    cutoff: date,
) -> bool:
    """Draw the proteinuria chart onto ``figure`` (labels in ``lt``'s language); True when
    a result of 0 was drawn at the floor (the caption says so)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    series = protein_series(data)
    shown_arms = [a for a in arms] + sorted({s.arm for s in series} - set(arms))
    cr = style.g24(options.cr_protein_below.value, options.cr_protein_below.unit)
    pr = style.g24(options.pr_protein_below.value, options.pr_protein_below.unit)
    end = options.endpoint_week
    zero_drawn = False
    axes = figure.subplots(1, max(1, len(shown_arms)), sharey=True, squeeze=False)[0]
    for ax, arm in zip(axes, shown_arms, strict=False):
        drawn = 0
        for s in series:
            if s.arm != arm or not s.points:
                continue
            floored = [(w, max(v, LOG_FLOOR)) for w, v in s.points]
            xs, ys = style.nan_gaps(with_gaps(floored, weeks))
            zero_drawn = zero_drawn or any(v < LOG_FLOOR for _, v in s.points)
            ax.plot(xs, ys, marker="o", linewidth=1.4, markersize=4, label=s.study_id)
            drawn += 1
        ax.set_yscale("log")
        ax.set_yticks([style.position(v) for v in LOG_TICKS])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        for value, text, colour in (
            (cr, lt._("{value} g/24h (CR)", value=lt.number(cr)), "#1a9850"),
            (pr, lt._("{value} g/24h (PR)", value=lt.number(pr)), "#d73027"),
        ):
            ax.axhline(style.position(value), color=colour, linestyle="--", linewidth=1)
            ax.annotate(
                text,
                xy=(1, style.position(value)),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 3),
                textcoords="offset points",
                ha="right",
                fontsize=9,
                color=colour,
            )
        # n counts the patients drawn in the panel, not every patient of the arm.
        ax.set_title(
            lt._("{arm} (n = {n})", arm=arm_name(lt, arm), n=lt.number(drawn)), fontsize=11
        )
        style.week_axis(ax, lt, weeks, end)
        if drawn:
            ax.legend(fontsize=8, ncol=2, loc="lower left")
        else:
            ax.text(0.5, 0.5, lt._("No results yet"), transform=ax.transAxes, ha="center")
    axes[0].set_ylabel(lt._("24-hour urine protein (g/24h, log scale)"))
    if not shown_arms:
        axes[0].text(0.5, 0.5, lt._("No results yet"), transform=axes[0].transAxes)
    figure.suptitle(lt._("24-hour urine protein by week"))
    style.cutoff_note(figure, lt, cutoff)
    return zero_drawn


def proteinuria_chart(
    t: Translator,
    data: TrialData,
    arms: Sequence[str],
    options: ResponseOptions,
    weeks: Sequence[int],
    cutoff: date,
) -> Chart:
    """24-hour urine protein over weeks for every patient, one panel per arm, log scale,
    with the CR (0.4 g/24h) and PR (3.5 g/24h) thresholds marked; data as of ``cutoff``.

    Thresholds come from the protocol's response options (registry: "less
    than 0.4g/24h", "less than 3.5g/24h"). A result of 0 is drawn at 0.01
    g/24h (a log axis has no 0), said in the caption.
    """
    labels = labels_for(t)
    panels = max(1, len(arms) + len({p.arm for p in data.patients} - set(arms)))
    cr = style.g24(options.cr_protein_below.value, options.cr_protein_below.unit)
    pr = style.g24(options.pr_protein_below.value, options.pr_protein_below.unit)
    with style.figure(labels, 6.0 * panels, 6.0) as figure:
        zero_drawn = draw_proteinuria(figure, labels.t, data, arms, options, weeks, cutoff)
        png, width, height = style.png(figure)
    text = t._(
        "24-hour urine protein by week for every patient, one panel per arm (log scale); "
        "dashed lines at {cr} g/24h (complete response) and {pr} g/24h (partial response).",
        cr=t.number(cr),
        pr=t.number(pr),
    )
    if zero_drawn:
        text += "\n" + t._("Results of 0 g/24h are drawn at 0.01 g/24h.")
    return Chart(png, style.caption(t, text, labels), width, height)


def _marker(marker: str, colour: str, label: str, **style_: Any) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, color=colour, linestyle="", label=label, **style_)


#: How an unmet assessment is marked: a cross for one that did not happen, an open
#: circle for one that is late but may still happen.
UNMET_MARKERS: Mapping[VisitOutcome, tuple[str, str]] = {
    VisitOutcome.MISSED: ("X", "#e31a1c"),
    VisitOutcome.NOT_DONE: ("X", "#e31a1c"),
    VisitOutcome.OVERDUE: ("o", "#ff7f00"),
}


def draw_swimmer(
    figure: Figure,
    lt: Translator,
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    arms: Sequence[str],
    cutoff: date,
    endpoint_week: int,
) -> None:
    """Draw the swimmer plot onto ``figure``, as of ``cutoff`` (the data cut-off)."""
    from matplotlib.patches import Patch

    lanes = swimmer_lanes(data, endpoints, cutoff, endpoint_week)
    order = {arm: i for i, arm in enumerate(arms)}
    lanes.sort(key=lambda lane: (order.get(lane.arm, len(order)), lane.arm, lane.study_id))
    arm_list = list(dict.fromkeys(lane.arm for lane in lanes))
    ax = figure.subplots()
    for y, lane in enumerate(reversed(lanes)):
        colour = ARM_COLOURS[arm_list.index(lane.arm) % len(ARM_COLOURS)]
        ax.barh(
            y,
            style.position(lane.length),
            left=0,
            height=0.6,
            color=colour,
            edgecolor="#888888",
            hatch="//" if lane.withdrawn else None,
        )
        for infusion in lane.infusions:
            ax.plot(style.position(infusion), y + 0.22, marker="v", color="#08519c", markersize=7)
        for pulse in lane.pulses:
            ax.plot(style.position(pulse), y + 0.22, marker="v", color="#6a3d9a", markersize=7)
        for week, cls in lane.assessments:
            ax.plot(week, y, marker="o", color=CLASS_COLOURS[cls], markersize=9)
            ax.annotate(
                cls.value if cls is not None else lt._("BL"),
                xy=(week, y),
                xytext=(0, -13),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
        for week, outcome in lane.unmet:
            marker, mark_colour = UNMET_MARKERS[outcome]
            if marker == "o":
                ax.plot(
                    week,
                    y,
                    marker="o",
                    markersize=9,
                    markerfacecolor="none",
                    markeredgecolor=mark_colour,
                    markeredgewidth=1.6,
                    linestyle="",
                )
            else:
                ax.plot(week, y, marker=marker, color=mark_colour, markersize=8, linestyle="")
        for onset, grade, serious in lane.adverse_events:
            ax.plot(
                style.position(onset),
                y - 0.22,
                marker="*",
                markersize=12 if serious else 9,
                color=GRADE_COLOURS[min(max(grade, 1), 5) - 1],
                markeredgecolor="#e31a1c" if serious else "#555555",
                markeredgewidth=1.4 if serious else 0.5,
            )
    ax.set_yticks(list(range(len(lanes))))
    ax.set_yticklabels([lane.study_id for lane in reversed(lanes)])
    ax.set_ylim(-0.8, max(len(lanes), 1) - 0.2)
    style.week_axis(ax, lt, list(range(0, endpoint_week + 1, 2)), endpoint_week)
    if not lanes:
        ax.text(0.5, 0.5, lt._("No patients enrolled yet"), transform=ax.transAxes)
    # The legend lists only what is drawn; each arm with the number of lanes it has.
    handles: list[Any] = [
        Patch(
            facecolor=ARM_COLOURS[i % len(ARM_COLOURS)],
            edgecolor="#888888",
            label=lt._(
                "{arm} (n = {n})",
                arm=arm_name(lt, arm),
                n=lt.number(sum(1 for lane in lanes if lane.arm == arm)),
            ),
        )
        for i, arm in enumerate(arm_list)
    ]
    if any(lane.withdrawn for lane in lanes):
        handles.append(
            Patch(facecolor="white", edgecolor="#888888", hatch="//", label=lt._("Withdrawn"))
        )
    if any(lane.infusions for lane in lanes):
        handles.append(_marker("v", "#08519c", lt._("Belimumab infusion")))
    if any(lane.pulses for lane in lanes):
        handles.append(_marker("v", "#6a3d9a", lt._("Methylprednisolone infusion")))
    classes = {cls for lane in lanes for _, cls in lane.assessments}
    if None in classes:
        handles.append(_marker("o", CLASS_COLOURS[None], lt._("Baseline assessment")))
    handles += [
        _marker("o", CLASS_COLOURS[cls], cls.value) for cls in ResponseClass if cls in classes
    ]
    outcomes = {outcome for lane in lanes for _, outcome in lane.unmet}
    if outcomes & {VisitOutcome.MISSED, VisitOutcome.NOT_DONE}:
        handles.append(_marker("X", "#e31a1c", lt._("Assessment missed or not done")))
    if VisitOutcome.OVERDUE in outcomes:
        handles.append(
            _marker(
                "o",
                "#ff7f00",
                lt._("Assessment overdue"),
                markerfacecolor="none",
                markeredgewidth=1.6,
            )
        )
    grades = sorted({min(max(g, 1), 5) for lane in lanes for _, g, _ in lane.adverse_events})
    handles += [
        _marker(
            "*",
            GRADE_COLOURS[g - 1],
            lt._("AE grade {grade}", grade=g),
            markeredgecolor="#555555",
            markersize=10,
        )
        for g in grades
    ]
    if any(serious for lane in lanes for _, _, serious in lane.adverse_events):
        handles.append(
            _marker(
                "*",
                "white",
                lt._("Serious AE"),
                markeredgecolor="#e31a1c",
                markeredgewidth=1.4,
                markersize=12,
            )
        )
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(lt._("Time on study: infusions, renal assessments and adverse events"))
    style.cutoff_note(figure, lt, cutoff)


def swimmer_height(patients: int) -> float:
    """The swimmer plot's height in inches for ``patients`` lanes."""
    # Telegram refuses a photo whose width and height add up to more than 10000 px.
    return min(max(4.5, 0.45 * patients + 2.5), 80.0)


def swimmer_chart(
    t: Translator,
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    arms: Sequence[str],
    today: date,
    endpoint_week: int,
) -> Chart:
    """One lane per patient over the induction: infusions, renal assessments with their
    class, missed and overdue assessments, adverse events by CTCAE grade (serious ones
    ringed in red); ``today`` is the data cut-off."""
    labels = labels_for(t)
    with style.figure(labels, 11.0, swimmer_height(len(data.patients))) as figure:
        draw_swimmer(figure, labels.t, data, endpoints, arms, today, endpoint_week)
        png, width, height_px = style.png(figure)
    text = t._(
        "Swimmer plot on {date}: one lane per patient up to week {week}; triangles are "
        "belimumab infusions, circles renal assessments with their class, stars adverse events "
        "by grade (serious ones ringed in red); hatched lanes are withdrawn patients.",
        date=t.date(today),
        week=endpoint_week,
    )
    text += "\n" + t._(
        "Crosses mark renal assessments missed or not done, open circles overdue ones."
    )
    return Chart(png, style.caption(t, text, labels), width, height_px)


_Panel = tuple[str, Sequence[tuple[int, Decimal]], Decimal | None, tuple[tuple[Decimal, str], ...]]


def draw_patient(
    figure: Figure,
    lt: Translator,
    data: TrialData,
    patient: PatientRecord,
    options: ResponseOptions,
    weeks: Sequence[int],
    cutoff: date,
) -> Decimal:
    """Draw one patient's renal chart onto ``figure``; the creatinine upper limit used."""
    s = patient_series(data, patient, options)
    end = options.endpoint_week
    albumin_cr = to_unit(canonical(options.cr_albumin_above), Unit.G_PER_L).value
    cr_protein = style.g24(options.cr_protein_below.value, options.cr_protein_below.unit)
    pr_protein = style.g24(options.pr_protein_below.value, options.pr_protein_below.unit)
    panels: tuple[_Panel, ...] = (
        (
            lt._("24-hour urine protein (g/24h)"),
            s.protein,
            s.baseline_protein,
            (
                (cr_protein, lt._("{value} g/24h (CR)", value=lt.number(cr_protein))),
                (pr_protein, lt._("{value} g/24h (PR)", value=lt.number(pr_protein))),
            ),
        ),
        (
            lt._("Serum albumin (g/L)"),
            s.albumin,
            s.baseline_albumin,
            ((albumin_cr, lt._("{value} g/L (CR)", value=lt.number(albumin_cr.normalize()))),),
        ),
        (
            lt._("Serum creatinine (µmol/L)"),
            s.creatinine,
            s.baseline_creatinine,
            (
                (
                    s.creatinine_uln,
                    lt._("upper limit {value} µmol/L", value=lt.number(s.creatinine_uln)),
                ),
            ),
        ),
    )
    axes = figure.subplots(3, 1, sharex=True)
    for ax, (title, points, baseline, limits) in zip(axes, panels, strict=True):
        if points:
            xs, ys = style.nan_gaps(with_gaps(points, weeks))
            ax.plot(xs, ys, marker="o", color="#2166ac", linewidth=1.6)
        else:
            ax.text(0.5, 0.5, lt._("No results yet"), transform=ax.transAxes, ha="center")
        if baseline is not None:
            ax.axhline(style.position(baseline), color="#525252", linestyle="--", linewidth=1)
            ax.annotate(
                lt._("baseline {value}", value=lt.number(baseline)),
                xy=(0.5, style.position(baseline)),
                xycoords=("axes fraction", "data"),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=8,
                color="#525252",
            )
        for limit, label in limits:
            ax.axhline(style.position(limit), color="#d73027", linestyle=":", linewidth=1)
            ax.annotate(
                label,
                xy=(1, style.position(limit)),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 3),
                textcoords="offset points",
                ha="right",
                fontsize=8,
                color="#d73027",
            )
        ax.set_ylabel(title, fontsize=9)
        ax.grid(True, axis="y", color="#eeeeee")
    style.week_axis(axes[-1], lt, weeks, end)
    figure.suptitle(lt._("{study_id}: renal values against baseline", study_id=patient.study_id))
    style.cutoff_note(figure, lt, cutoff)
    return s.creatinine_uln


def patient_chart(
    t: Translator,
    data: TrialData,
    patient: PatientRecord,
    options: ResponseOptions,
    weeks: Sequence[int],
    cutoff: date,
) -> Chart:
    """One patient's 24-hour urine protein, serum albumin and serum creatinine by week,
    each against its baseline (dashed), with the CR/PR thresholds and the creatinine
    upper limit (dotted); data as of ``cutoff``."""
    labels = labels_for(t)
    with style.figure(labels, 9.0, 9.0) as figure:
        uln = draw_patient(figure, labels.t, data, patient, options, weeks, cutoff)
        png, width, height = style.png(figure)
    text = t._(
        "{study_id}: 24-hour urine protein, serum albumin and serum creatinine by week; dashed "
        "lines are the baseline (week 0), dotted lines the response thresholds and the "
        "creatinine upper limit ({uln} µmol/L).",
        study_id=patient.study_id,
        uln=t.number(uln),
    )
    return Chart(png, style.caption(t, text, labels), width, height)
