"""The charts' shipped font: Noto Sans SC Regular and Bold cover every catalog character,
carry their licence, and are what chart text is drawn in (never the Thin weight)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from bot.i18n import Translator
from bot.outputs import chart_fonts
from bot.outputs import chart_style as style
from tests.support.outputs_seed import SHANGHAI

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted((ROOT / "locales").glob("*/LC_MESSAGES/messages.po"))


def catalog_characters(po: Path) -> set[str]:
    """Every character a message id or translation in ``po`` can put on a chart."""
    with po.open("rb") as handle:
        catalog = read_po(handle)
    found: set[str] = set()
    for message in catalog:
        for text in (message.id, message.string):
            parts = [text] if isinstance(text, str) else list(text or ())
            for part in parts:
                found.update(c for c in part if c.isprintable() and not c.isspace())
    return found


def test_the_catalogs_are_there_to_check() -> None:
    assert {po.parents[1].name for po in CATALOGS} == {"en", "zh_Hans"}
    assert "尿" in catalog_characters(ROOT / "locales/zh_Hans/LC_MESSAGES/messages.po")


@pytest.mark.parametrize("weight", sorted(chart_fonts.FONT_FILES))
@pytest.mark.parametrize("po", CATALOGS, ids=lambda po: po.parents[1].name)
def test_every_catalog_character_has_a_glyph(po: Path, weight: str) -> None:
    """A sentence translated with a character the font lacks would chart as a box.

    When this fails, rebuild the fonts: tools/build_chart_fonts.py (its docstring says how).
    """
    charmap = FT2Font(str(chart_fonts.FONT_FILES[weight])).get_charmap()
    missing = sorted(c for c in catalog_characters(po) if charmap.get(ord(c), 0) == 0)
    assert not missing, f"{weight} lacks {''.join(missing)!r}: run tools/build_chart_fonts.py"


def test_the_fonts_are_noto_sans_sc_regular_and_bold_with_their_licence() -> None:
    faces = {
        weight: (FT2Font(str(path)).family_name, FT2Font(str(path)).style_name)
        for weight, path in chart_fonts.FONT_FILES.items()
    }
    assert faces == {"normal": ("Noto Sans SC", "Regular"), "bold": ("Noto Sans SC", "Bold")}
    licence = (chart_fonts.FONT_DIR / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence


def test_chinese_chart_text_is_drawn_in_the_shipped_regular_and_bold() -> None:
    """Labels in Regular, titles in Bold: the files the bot ships, not a Thin face."""
    labels = chart_fonts.labels_for(Translator("zh_Hans", SHANGHAI))
    assert labels.family == "Noto Sans SC"
    with style.figure(labels, 4.0, 3.0) as figure:
        ax = figure.subplots()
        title = ax.set_title("24 小时尿蛋白")
        label = ax.set_xlabel("自第 0 天起的周数")
        suptitle = figure.suptitle("各周 24 小时尿蛋白")
        drawn = {
            name: Path(font_manager.findfont(text.get_fontproperties(), fallback_to_default=False))
            for name, text in (("title", title), ("label", label), ("suptitle", suptitle))
        }
    assert drawn == {
        "title": chart_fonts.FONT_FILES["bold"],
        "label": chart_fonts.FONT_FILES["normal"],
        "suptitle": chart_fonts.FONT_FILES["bold"],
    }
