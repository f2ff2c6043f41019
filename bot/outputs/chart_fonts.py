"""Fonts for the charts: Noto Sans SC, shipped with the bot in ``bot/outputs/fonts``.

Chinese labels need a font with CJK glyphs. The bot brings its own, so a chart
looks the same on every server whatever fonts it has installed: Noto Sans SC
Regular and Bold (SIL Open Font License, ``OFL.txt`` beside them), cut down by
``tools/build_chart_fonts.py`` to every character in the catalogs and the
hanzi of everyday Chinese. They are registered with matplotlib on first use;
labels are drawn in the Regular weight and titles in Bold
(:func:`bot.outputs.chart_style.figure`). Should the files be unreadable (a
damaged install) the chart is labelled in English and the caption, in
Chinese, says so.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import Translator
from core.messages import N_

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "Noto Sans SC"
# The weights the charts draw in, by matplotlib's name for them.
FONT_FILES: dict[str, Path] = {
    "normal": FONT_DIR / "NotoSansSC-Regular.ttf",
    "bold": FONT_DIR / "NotoSansSC-Bold.ttf",
}

NO_FONT_NOTE = N_(
    "No font that can show Chinese is installed on the server, so the chart is labelled in English."
)

_registered: list[str] = []  # FAMILY once both files are registered
_registering = threading.Lock()


def find_cjk_font() -> str | None:
    """The family name of the shipped Chinese font, registered with matplotlib (once);
    None when its files cannot be read."""
    from matplotlib import font_manager

    with _registering:
        if _registered:
            return _registered[0]
        try:
            for path in FONT_FILES.values():
                font_manager.fontManager.addfont(str(path))
        except (OSError, RuntimeError, ValueError) as error:
            log.warning("shipped chart font not usable: %s", type(error).__name__)
            return None
        _registered.append(FAMILY)
        return FAMILY


@dataclass(frozen=True, slots=True)
class Labels:
    """The translator the chart's labels use, and a note for the caption if it differs."""

    t: Translator
    family: str | None
    note: str | None


def labels_for(t: Translator) -> Labels:
    """The labels a chart for this reader uses: theirs, or English when Chinese has no font."""
    if t.lang != "zh_Hans":
        return Labels(t, None, None)
    family = find_cjk_font()
    if family is None:
        return Labels(Translator("en", t.zone), None, t._(NO_FONT_NOTE))
    return Labels(t, family, None)
