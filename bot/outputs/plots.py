"""Charts as PNG images (matplotlib, Agg): proteinuria, the swimmer plot, one patient.

Labels follow the reader's language; Chinese needs a font with CJK glyphs
(:mod:`bot.outputs.chart_fonts`: without one the chart is labelled in English
and the caption, in Chinese, says so). What every chart shares (colours, the
figure, the PNG, the caption) is :mod:`bot.outputs.chart_style`.

Titles carry study IDs only, never names. Rendering uses matplotlib's
object API (no ``pyplot`` state) under a lock, because matplotlib's font
settings are process-wide; call the ``*_chart`` functions from a worker
thread (``asyncio.to_thread``) so the bot keeps answering meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from bot.i18n import Translator
from bot.outputs import chart_style as style
from bot.outputs.chart_fonts import find_cjk_font, labels_for
from bot.outputs.chart_style import ARM_COLOURS, CLASS_COLOURS, GRADE_COLOURS, Chart
from bot.views.plan import arm_name
from core.endpoints import PatientEndpoints
from core.plot_data import patient_series, protein_series, swimmer_lanes
from core.response import ResponseClass, ResponseOptions
from core.trial_records import PatientRecord, TrialData
from core.units import Unit, canonical, to_unit

__all__ = [
    "Chart",
    "find_cjk_font",
    "patient_chart",
    "proteinuria_chart",
    "swimmer_chart",
]

# Drawing floor on the log axis: a result of 0 g/24h is drawn here.
LOG_FLOOR = Decimal("0.01")
LOG_TICKS = tuple(Decimal(v) for v in ("0.01", "0.1", "0.4", "1", "3.5", "10", "30"))


def proteinuria_chart(
    t: Translator,
    data: TrialData,
    arms: Sequence[str],
    options: ResponseOptions,
    weeks: Sequence[int],
) -> Chart:
    """24-hour urine protein over weeks for every patient, one panel per arm, log scale,
    with the CR (0.4 g/24h) and PR (3.5 g/24h) thresholds marked.

    Thresholds come from the protocol's response options (registry: "less
    than 0.4g/24h", "less than 3.5g/24h"). A result of 0 is drawn at 0.01
    g/24h (a log axis has no 0), said in the caption.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    labels = labels_for(t)
    lt = labels.t
    series = protein_series(data)
    shown_arms = [a for a in arms] + sorted({s.arm for s in series} - set(arms))
    cr = style.g24(options.cr_protein_below.value, options.cr_protein_below.unit)
    pr = style.g24(options.pr_protein_below.value, options.pr_protein_below.unit)
    end = options.endpoint_week
    zero_drawn = False
    with style.figure(labels, 6.0 * max(1, len(shown_arms)), 6.0) as figure:
        axes = figure.subplots(1, max(1, len(shown_arms)), sharey=True, squeeze=False)[0]
        for ax, arm in zip(axes, shown_arms, strict=False):
            members = [s for s in series if s.arm == arm]
            drawn = 0
            for s in members:
                if not s.points:
                    continue
                xs = [w for w, _ in s.points]
                ys = [style.position(max(v, LOG_FLOOR)) for _, v in s.points]
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
            ax.set_title(
                lt._("{arm} (n = {n})", arm=arm_name(lt, arm), n=lt.number(len(members))),
                fontsize=11,
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
        figure.tight_layout()
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


def swimmer_chart(
    t: Translator,
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    arms: Sequence[str],
    today: date,
    endpoint_week: int,
) -> Chart:
    """One lane per patient over the induction: infusions, renal assessments with their
    class, adverse events by CTCAE grade (serious ones ringed in red)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    labels = labels_for(t)
    lt = labels.t
    lanes = swimmer_lanes(data, endpoints, today, endpoint_week)
    order = {arm: i for i, arm in enumerate(arms)}
    lanes.sort(key=lambda lane: (order.get(lane.arm, len(order)), lane.arm, lane.study_id))
    arm_list = list(dict.fromkeys(lane.arm for lane in lanes))
    # Telegram refuses a photo whose width and height add up to more than 10000 px.
    height = min(max(4.5, 0.45 * len(lanes) + 2.5), 80.0)
    with style.figure(labels, 11.0, height) as figure:
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
                ax.plot(
                    style.position(infusion), y + 0.22, marker="v", color="#08519c", markersize=7
                )
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
        handles: list[Any] = [
            Patch(
                facecolor=ARM_COLOURS[i % len(ARM_COLOURS)],
                edgecolor="#888888",
                label=arm_name(lt, arm),
            )
            for i, arm in enumerate(arm_list)
        ]
        handles += [
            Line2D(
                [], [], marker="v", color="#08519c", linestyle="", label=lt._("Belimumab infusion")
            ),
            Line2D(
                [],
                [],
                marker="o",
                color=CLASS_COLOURS[None],
                linestyle="",
                label=lt._("Baseline assessment"),
            ),
        ]
        handles += [
            Line2D([], [], marker="o", color=CLASS_COLOURS[cls], linestyle="", label=cls.value)
            for cls in ResponseClass
        ]
        handles += [
            Line2D(
                [],
                [],
                marker="*",
                color=GRADE_COLOURS[g - 1],
                markeredgecolor="#555555",
                linestyle="",
                markersize=10,
                label=lt._("AE grade {grade}", grade=g),
            )
            for g in range(1, 6)
        ]
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                color="white",
                markeredgecolor="#e31a1c",
                markeredgewidth=1.4,
                linestyle="",
                markersize=12,
                label=lt._("Serious AE"),
            )
        )
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax.set_title(lt._("Time on study: infusions, renal assessments and adverse events"))
        figure.tight_layout()
        png, width, height_px = style.png(figure)
    text = t._(
        "Swimmer plot on {date}: one lane per patient up to week {week}; triangles are "
        "belimumab infusions, circles renal assessments with their class, stars adverse events "
        "by grade (serious ones ringed in red); hatched lanes are withdrawn patients.",
        date=t.date(today),
        week=endpoint_week,
    )
    return Chart(png, style.caption(t, text, labels), width, height_px)


def patient_chart(
    t: Translator,
    data: TrialData,
    patient: PatientRecord,
    options: ResponseOptions,
    weeks: Sequence[int],
) -> Chart:
    """One patient's 24-hour urine protein, serum albumin and serum creatinine by week,
    each against its baseline (dashed), with the CR/PR thresholds and the creatinine
    upper limit (dotted)."""
    labels = labels_for(t)
    lt = labels.t
    s = patient_series(data, patient, options)
    end = options.endpoint_week
    albumin_cr = to_unit(canonical(options.cr_albumin_above), Unit.G_PER_L).value
    cr_protein = style.g24(options.cr_protein_below.value, options.cr_protein_below.unit)
    pr_protein = style.g24(options.pr_protein_below.value, options.pr_protein_below.unit)
    panels: tuple[
        tuple[str, Sequence[tuple[int, Decimal]], Decimal | None, tuple[tuple[Decimal, str], ...]],
        ...,
    ] = (
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
    with style.figure(labels, 9.0, 9.0) as figure:
        axes = figure.subplots(3, 1, sharex=True)
        for ax, (title, points, baseline, limits) in zip(axes, panels, strict=True):
            if points:
                ax.plot(
                    [w for w, _ in points],
                    [style.position(v) for _, v in points],
                    marker="o",
                    color="#2166ac",
                    linewidth=1.6,
                )
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
        figure.suptitle(
            lt._("{study_id}: renal values against baseline", study_id=patient.study_id)
        )
        figure.tight_layout()
        png, width, height = style.png(figure)
    text = t._(
        "{study_id}: 24-hour urine protein, serum albumin and serum creatinine by week; dashed "
        "lines are the baseline (week 0), dotted lines the response thresholds and the "
        "creatinine upper limit ({uln} µmol/L).",
        study_id=patient.study_id,
        uln=t.number(s.creatinine_uln),
    )
    return Chart(png, style.caption(t, text, labels), width, height)
