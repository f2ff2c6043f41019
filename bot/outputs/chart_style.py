"""What every chart shares: colours, the figure and its PNG, the caption, the week axis.

Rendering uses matplotlib's object API (no ``pyplot`` state) under a lock,
because matplotlib's font settings are process-wide.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from bot.i18n import Translator
from bot.outputs.chart_fonts import Labels
from core.response import ResponseClass
from core.units import Unit, canonical, to_unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100

CLASS_COLOURS: Mapping[ResponseClass | None, str] = {
    ResponseClass.CR: "#1a9850",
    ResponseClass.PR: "#fdae61",
    ResponseClass.NR: "#d73027",
    ResponseClass.NE: "#bdbdbd",
    None: "#4575b4",
}
GRADE_COLOURS = ("#fee08b", "#fdae61", "#f46d43", "#a50026", "#000000")
ARM_COLOURS = ("#c6dbef", "#d9d9d9", "#c7e9c0", "#fdd0a2")

_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Chart:
    """A rendered chart: PNG bytes, its size in pixels, and the caption to send with it."""

    png: bytes
    caption: str
    width: int
    height: int


@contextmanager
def rendering(labels: Labels) -> Iterator[None]:
    """Matplotlib's settings for the reader's labels, held (under the lock) while
    figures are drawn and saved: fonts, and TrueType fonts embedded whole in a PDF so
    its text can be searched and copied, Chinese included."""
    from matplotlib import rc_context

    families = [labels.family, "DejaVu Sans"] if labels.family else ["DejaVu Sans"]
    settings: dict[str, Any] = {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "axes.unicode_minus": False,
        "font.size": 11,
        # Labels in the Regular weight; titles in Bold, the two weights the bot ships.
        "font.weight": "normal",
        "axes.titleweight": "bold",
        "figure.titleweight": "bold",
        "pdf.fonttype": 42,
    }
    with _lock, rc_context(cast(Any, settings)):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches on the Agg canvas (inside :func:`rendering`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


@contextmanager
def figure(labels: Labels, width: float, height: float) -> Iterator[Figure]:
    """One figure drawn with the reader's labels (:func:`rendering`)."""
    with rendering(labels):
        yield new_figure(width, height)


def png(figure: Figure) -> tuple[bytes, int, int]:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    width, height = (round(float(v)) for v in figure.get_size_inches() * DPI)
    return buffer.getvalue(), width, height


def caption(t: Translator, text: str, labels: Labels) -> str:
    caption = text if labels.note is None else f"{text}\n{labels.note}"
    return caption[:1024]


def position(value: Decimal) -> float:
    """Where a value is drawn."""
    # Drawing only: positions on a chart, never a clinical decision.
    return float(value)


def g24(threshold_text: Decimal, unit: Unit) -> Decimal:
    from core.units import Quantity

    return to_unit(canonical(Quantity(threshold_text, unit)), Unit.G_PER_24H).value


#: Room kept at the bottom of every figure for the data cut-off line, in inches.
CUTOFF_ROOM = 0.3


def cutoff_note(figure: Figure, t: Translator, cutoff: date) -> None:
    """Write the data cut-off date in the figure's bottom right corner; lay the figure out
    with room for it (call after drawing, instead of ``tight_layout``)."""
    figure.text(
        0.99,
        0.005,
        t._("Data cut-off: {date}", date=t.date(cutoff)),
        ha="right",
        va="bottom",
        fontsize=8,
        color="#525252",
    )
    height = float(figure.get_size_inches()[1])
    figure.tight_layout(rect=(0, min(0.08, CUTOFF_ROOM / height), 1, 1))


def nan_gaps(points: Sequence[tuple[int, Decimal | None]]) -> tuple[list[int], list[float]]:
    """Positions of a line's points; a missing week (None) is NaN, where matplotlib breaks
    the line."""
    return [w for w, _ in points], [float("nan") if v is None else position(v) for _, v in points]


def week_axis(ax: Axes, t: Translator, weeks: Sequence[int], end: int) -> None:
    ax.set_xlim(-0.5, end + 0.5)
    ax.set_xticks(list(weeks))
    ax.set_xlabel(t._("Weeks since day 0"))
    ax.grid(True, axis="x", color="#eeeeee")
