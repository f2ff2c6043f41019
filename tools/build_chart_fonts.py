"""Build the charts' Chinese fonts: Noto Sans SC Regular and Bold, cut down to what the bot writes.

``python tools/build_chart_fonts.py REGULAR.ttf BOLD.ttf --licence OFL.txt``
writes ``bot/outputs/fonts/NotoSansSC-Regular.ttf``, ``NotoSansSC-Bold.ttf``
and ``OFL.txt`` (the SIL Open Font License the fonts come under, copied from
the source). The sources are the static Noto Sans SC instances Google Fonts
publishes (in the npm package ``@expo-google-fonts/noto-sans-sc``, with its
``LICENSE_FONT``); any Noto Sans SC Regular/Bold TTF or OTF will do.

Each font keeps the glyphs of:

- every character in the catalogs (``locales/*/LC_MESSAGES/messages.po``,
  read as text, so comments and ids count too: a superset of what is drawn);
- printable ASCII and Latin-1 (numbers, study IDs, units such as µmol/L),
  general punctuation, CJK and full-width punctuation;
- the 6,763 hanzi of GB 2312, the characters of everyday simplified Chinese,
  so a new translated sentence rarely needs the fonts rebuilt. When one does,
  tests/outputs/test_chart_fonts.py names the missing characters: rerun this.

It needs fontTools (matplotlib depends on it, so ``.venv`` has it; the
``dev`` extra names it, as this script is its one direct user). The same
sources give the same bytes. Full fonts are about 10 MB each; the cut ones,
about 2 MB, are what the wheel ships.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "bot" / "outputs" / "fonts"
CATALOGS = ROOT / "locales"
WEIGHTS = ("Regular", "Bold")

# Unicode blocks kept whole (first, last code point).
_BLOCKS = (
    (0x0020, 0x007E),  # printable ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement: µ, °, ×, ±
    (0x2000, 0x206F),  # general punctuation: dashes, quotes, ellipsis
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators: ≤, ≥
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、。「」
    (0xFF00, 0xFFEF),  # full-width forms: ，：（）
)


def gb2312_hanzi() -> set[str]:
    """The hanzi of GB 2312: rows 16-87, cells 1-94 (levels 1 and 2)."""
    found: set[str] = set()
    for row in range(0xB0, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # the unassigned cells at the end of row 55
    return found


def catalog_characters(catalogs: Path = CATALOGS) -> set[str]:
    """Every character in every ``.po`` catalog."""
    found: set[str] = set()
    for po in sorted(catalogs.glob("*/LC_MESSAGES/messages.po")):
        found.update(po.read_text(encoding="utf-8"))
    return {c for c in found if c.isprintable()}


def wanted_characters() -> set[str]:
    blocks = {chr(c) for first, last in _BLOCKS for c in range(first, last + 1)}
    return blocks | gb2312_hanzi() | catalog_characters()


def subset(source: Path, target: Path, characters: Iterable[str]) -> int:
    """Write ``source`` cut down to ``characters`` as ``target``; the number of glyphs kept."""
    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    options = ft_subset.Options()
    options.name_IDs = ["*"]  # keep the copyright, licence and designer records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False  # matplotlib hints outlines itself
    options.layout_features = ["*"]
    options.recalc_timestamp = False  # the same sources give the same bytes
    font = TTFont(str(source), recalcTimestamp=False)
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in characters])
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = None
    font.save(str(target))
    return len(font.getGlyphOrder())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("regular", type=Path, help="Noto Sans SC Regular (.ttf or .otf)")
    parser.add_argument("bold", type=Path, help="Noto Sans SC Bold (.ttf or .otf)")
    parser.add_argument(
        "--licence", type=Path, required=True, help="the fonts' OFL text, copied as OFL.txt"
    )
    parser.add_argument("--out", type=Path, default=FONTS, help=f"default {FONTS}")
    args = parser.parse_args(argv)
    licence = args.licence.read_text(encoding="utf-8")
    if "SIL Open Font License" not in licence:
        print(f"{args.licence} is not the SIL Open Font License", file=sys.stderr)
        return 2
    characters = wanted_characters()
    for weight, source in zip(WEIGHTS, (args.regular, args.bold), strict=True):
        suffix = source.suffix.lower() if source.suffix.lower() in {".ttf", ".otf"} else ".ttf"
        target = args.out / f"NotoSansSC-{weight}{suffix}"
        glyphs = subset(source, target, characters)
        print(f"{target}: {glyphs} glyphs, {target.stat().st_size // 1024} KiB")
    shutil.copyfile(args.licence, args.out / "OFL.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
