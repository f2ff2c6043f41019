"""What the charts draw, read from matplotlib's Figure objects (not pixels): n counts the
patients drawn, lines break at a missing week, the legend lists only what is drawn, the data
cut-off is written on every chart, and the swimmer plot marks unmet assessments and every
infusion (tests.support.outputs_seed trial)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest

from bot.i18n import Translator
from bot.outputs import chart_style as style
from bot.outputs.chart_fonts import labels_for
from bot.outputs.plots import draw_patient, draw_proteinuria, draw_swimmer
from core.protocol import Protocol
from core.schedule import EventKind
from core.store.db import read_session
from core.store.trial_data import load_trial_data
from core.tables.lab_file import derive_trial_endpoints
from core.trial_records import TrialData
from tests.support.outputs_seed import SHANGHAI, TODAY, seeded_engine

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

EN = Translator("en", SHANGHAI)
ZH = Translator("zh_Hans", SHANGHAI)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, protocol: Protocol) -> TrialData:
    engine = seeded_engine(tmp_path_factory.mktemp("figures") / "trial.db", protocol)
    with read_session(engine) as session:
        loaded = load_trial_data(session, SHANGHAI, events=True)
    engine.dispose()
    return loaded


@contextmanager
def drawn(t: Translator, draw: Callable[[Figure, Translator], object]) -> Iterator[Figure]:
    labels = labels_for(t)
    with style.figure(labels, 12.0, 8.0) as figure:
        draw(figure, labels.t)
        yield figure


def proteinuria(
    data: TrialData, protocol: Protocol, cutoff: date = TODAY
) -> Callable[[Figure, Translator], object]:
    options = protocol.response_options()
    weeks = protocol.renal_assessment.weeks
    return lambda f, t: draw_proteinuria(f, t, data, list(protocol.arms), options, weeks, cutoff)


def swimmer(
    data: TrialData, protocol: Protocol, cutoff: date = TODAY
) -> Callable[[Figure, Translator], object]:
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    return lambda f, t: draw_swimmer(f, t, data, endpoints, list(protocol.arms), cutoff, 24)


def patient(data: TrialData, protocol: Protocol) -> Callable[[Figure, Translator], object]:
    p01 = data.by_study_id("P01")
    assert p01 is not None
    options = protocol.response_options()
    weeks = protocol.renal_assessment.weeks
    return lambda f, t: draw_patient(f, t, data, p01, options, weeks, TODAY)


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [text.get_text() for text in legend.get_texts()]


def lines_with(ax: Axes, marker: str, colour: str | None = None) -> list[Line2D]:
    return [
        line
        for line in ax.get_lines()
        if line.get_marker() == marker and (colour is None or line.get_color() == colour)
    ]


def xs_of(line: Line2D) -> list[float]:
    return [float(x) for x in cast(Any, line.get_xdata())]


def ys_of(line: Line2D) -> list[float]:
    return [float(y) for y in cast(Any, line.get_ydata())]


def without_labs_of(data: TrialData, study_id: str) -> TrialData:
    p = data.by_study_id(study_id)
    assert p is not None
    return dataclasses.replace(data, labs=tuple(r for r in data.labs if r.patient_id != p.id))


# --- n = the patients drawn -------------------------------------------------------------


def test_proteinuria_n_counts_the_patients_drawn_not_enrolled(
    data: TrialData, protocol: Protocol
) -> None:
    # P06 has no result at all: it is not drawn, so the mt_only panel says n = 2, not 3.
    with drawn(EN, proteinuria(without_labs_of(data, "P06"), protocol)) as figure:
        belimumab, mt_only = figure.axes
        assert belimumab.get_title() == "Belimumab plus multi-target therapy (n = 4)"
        assert mt_only.get_title() == "Multi-target therapy only (n = 2)"
        assert sorted(legend_texts(mt_only)) == ["P04", "P05"]
    with drawn(ZH, proteinuria(without_labs_of(data, "P06"), protocol)) as figure:
        assert "n = 2" in figure.axes[1].get_title().replace("\u2009", " ")


def test_swimmer_legend_gives_each_arm_with_its_lanes(data: TrialData, protocol: Protocol) -> None:
    with drawn(EN, swimmer(data, protocol)) as figure:
        texts = legend_texts(figure.axes[0])
    assert "Belimumab plus multi-target therapy (n = 4)" in texts
    assert "Multi-target therapy only (n = 3)" in texts


# --- lines break at a missing week ------------------------------------------------------


def test_proteinuria_line_breaks_at_the_missing_weeks(data: TrialData, protocol: Protocol) -> None:
    with drawn(EN, proteinuria(data, protocol)) as figure:
        p01 = next(line for line in figure.axes[0].get_lines() if line.get_label() == "P01")
        xs, ys = xs_of(p01), ys_of(p01)
    # P01 has results at weeks 0, 12 and 24: the planned weeks between are gaps (NaN), so
    # no segment joins week 0 to week 12 across weeks 4 and 8.
    assert xs == [0, 4, 8, 12, 16, 20, 24]
    assert [math.isnan(y) for y in ys] == [False, True, True, False, True, True, False]
    assert ys[0] == pytest.approx(4.2) and ys[3] == pytest.approx(0.3)


def test_patient_chart_lines_break_at_the_missing_weeks(
    data: TrialData, protocol: Protocol
) -> None:
    with drawn(EN, patient(data, protocol)) as figure:
        for ax in figure.axes:
            values = [line for line in ax.get_lines() if line.get_marker() == "o"]
            assert len(values) == 1
            ys = ys_of(values[0])
            assert sum(math.isnan(y) for y in ys) == 4, ax.get_ylabel()


# --- the legend lists only what is drawn ------------------------------------------------


def test_swimmer_legend_lists_only_what_is_drawn(data: TrialData, protocol: Protocol) -> None:
    with drawn(EN, swimmer(data, protocol)) as figure:
        texts = legend_texts(figure.axes[0])
    # Present in the seeded trial: grades 1-4, one serious event, CR/PR/NR/NE, a withdrawal,
    # missed assessments (windows closed, nothing recorded), both kinds of infusion.
    for shown in (
        "AE grade 1",
        "AE grade 4",
        "Serious AE",
        "CR",
        "NE",
        "Withdrawn",
        "Assessment missed or not done",
        "Belimumab infusion",
        "Methylprednisolone infusion",
        "Baseline assessment",
    ):
        assert shown in texts, shown
    # Not drawn, so not listed: no grade 5 event, no assessment still overdue.
    assert "AE grade 5" not in texts
    assert "Assessment overdue" not in texts


def test_an_empty_trial_draws_no_empty_legend(protocol: Protocol) -> None:
    empty = TrialData(patients=())
    with drawn(EN, swimmer(empty, protocol)) as figure:
        assert figure.axes[0].get_legend() is None
    with drawn(EN, proteinuria(empty, protocol)) as figure:
        assert all(ax.get_legend() is None for ax in figure.axes)


def test_a_panel_without_results_has_no_legend(data: TrialData, protocol: Protocol) -> None:
    no_mt = dataclasses.replace(
        data,
        labs=tuple(r for r in data.labs if data.patient(r.patient_id).arm != "mt_only"),
    )
    with drawn(EN, proteinuria(no_mt, protocol)) as figure:
        assert figure.axes[0].get_legend() is not None
        assert figure.axes[1].get_legend() is None
        assert figure.axes[1].get_title() == "Multi-target therapy only (n = 0)"


# --- the data cut-off on every plot -----------------------------------------------------


@pytest.mark.parametrize("kind", ["proteinuria", "swimmer", "patient"])
def test_every_chart_writes_the_data_cut_off(
    data: TrialData, protocol: Protocol, kind: str
) -> None:
    draws = {"proteinuria": proteinuria, "swimmer": swimmer, "patient": patient}
    for t, expected in (
        (EN, "Data cut-off: Mon, Nov 30, 2026"),
        (ZH, "数据截止日期：2026年11月30日"),
    ):
        with drawn(t, draws[kind](data, protocol)) as figure:
            texts = [text.get_text() for text in figure.texts]
        assert any(text.startswith(expected) for text in texts), (kind, texts)


# --- the swimmer plot: unmet assessments and every infusion -----------------------------


def lane_of(figure: Figure, study_id: str) -> int:
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    return labels.index(study_id)


def marks(lines: list[Line2D]) -> set[tuple[float, float]]:
    return {(xs_of(line)[0], ys_of(line)[0]) for line in lines}


def test_swimmer_marks_missed_assessments_but_not_those_with_results(
    data: TrialData, protocol: Protocol
) -> None:
    with drawn(EN, swimmer(data, protocol)) as figure:
        ax = figure.axes[0]
        missed = marks(lines_with(ax, "X"))
        p06, p01 = lane_of(figure, "P06"), lane_of(figure, "P01")
    # P06 (day 0 on 1 Oct) had week-4 and week-8 assessments with nothing recorded.
    assert {(4.0, p06), (8.0, p06)} <= missed
    assert (12.0, p06) not in missed  # not due yet at the cut-off
    # P01 had panels at weeks 0, 12 and 24; weeks 4, 8, 16 and 20 are missing.
    assert {(w, float(p01)) for w in (4.0, 8.0, 16.0, 20.0)} <= missed
    assert not {(w, float(p01)) for w in (0.0, 12.0, 24.0)} & missed


def test_swimmer_marks_an_overdue_assessment_apart(data: TrialData, protocol: Protocol) -> None:
    p06 = data.by_study_id("P06")
    assert p06 is not None
    week8 = next(
        e
        for e in data.events
        if e.patient_id == p06.id and e.kind == EventKind.RENAL_ASSESSMENT and e.week == 8
    )
    # The day after the booked day, inside the window: late, not yet missed.
    cutoff = week8.scheduled_date + timedelta(days=1)
    with drawn(EN, swimmer(data, protocol, cutoff)) as figure:
        ax = figure.axes[0]
        lane = lane_of(figure, "P06")
        overdue = [line for line in lines_with(ax, "o") if line.get_markerfacecolor() == "none"]
        assert marks(overdue) == {(8.0, float(lane))}
        assert (8.0, float(lane)) not in marks(lines_with(ax, "X"))
        assert "Assessment overdue" in legend_texts(ax)


def test_swimmer_draws_every_infusion_given(data: TrialData, protocol: Protocol) -> None:
    with drawn(EN, swimmer(data, protocol)) as figure:
        ax = figure.axes[0]
        belimumab = marks(lines_with(ax, "v", "#08519c"))
        pulses = marks(lines_with(ax, "v", "#6a3d9a"))
        p01, p02 = lane_of(figure, "P01"), lane_of(figure, "P02")
    # The seed records belimumab at weeks 2, 4 and 6 and one methylprednisolone pulse on
    # day 0 for P01 and P02.
    assert belimumab == {(w, lane + 0.22) for lane in (p01, p02) for w in (2.0, 4.0, 6.0)}
    assert pulses == {(0.0, lane + 0.22) for lane in (p01, p02)}
