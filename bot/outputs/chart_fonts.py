"""Fonts for the charts: Chinese labels need a font with CJK glyphs.

An installed one (Noto Sans CJK SC, Source Han Sans, WenQuanYi ...) or the
Noto Sans CJK font the ``manimgx-fonts-cjk`` package ships (SIL Open Font
License), registered with matplotlib on first use. When none can be found
the chart is labelled in English and the caption (in Chinese) says so.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.i18n import Translator
from core.messages import N_

log = logging.getLogger(__name__)

# Installed families that render simplified Chinese, best first.
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
PACKAGED_FAMILY = "Noto Sans CJK SC"

NO_FONT_NOTE = N_(
    "No font that can show Chinese is installed on the server, so the chart is labelled in English."
)

_packaged: list[str] = []  # the family registered from the packaged file, once


def _packaged_font_file() -> Path | None:
    try:
        folder = Path(str(resources.files("manimgx_fonts_cjk")))
    except ModuleNotFoundError:
        return None
    return next(iter(sorted(folder.glob("*.tt[cf]"))), None)


def find_cjk_font() -> str | None:
    """The family name of a font that renders Chinese, or None when there is none.

    An installed family from :data:`CJK_FAMILIES` first; else the packaged
    Noto Sans CJK, registered with matplotlib's font manager (once).
    """
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    if _packaged:
        return _packaged[0]
    path = _packaged_font_file()
    if path is None:
        return None
    try:
        font_manager.fontManager.addfont(str(path))
    except (OSError, RuntimeError, ValueError) as error:
        log.warning("packaged CJK font not usable: %s", type(error).__name__)
        return None
    entries = font_manager.fontManager.ttflist
    for i, entry in enumerate(entries):
        # The variable font's default instance reports weight 100: offer it as the
        # regular weight, so matplotlib picks it without a warning.
        if entry.fname == str(path) and entry.weight == 100:
            entries[i] = dataclasses.replace(entry, weight=400)
    font_manager.fontManager._findfont_cached.cache_clear()  # type: ignore[attr-defined]
    names = {entry.name for entry in entries if entry.fname == str(path)}
    chosen = PACKAGED_FAMILY if PACKAGED_FAMILY in names else next(iter(sorted(names)), None)
    if chosen is None:
        return None
    _packaged.append(chosen)
    return chosen


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
