"""Keep the gettext catalogs in step with the code (Babel's extract -> update flow).

``python tools/catalogs.py update`` extracts every marked sentence from the
code into ``locales/messages.pot``, merges it into each language's ``.po``
(English is filled from the source text; new Chinese entries stay empty for a
translator), and drops sentences the code no longer has.

``python tools/catalogs.py check`` (and the test suite, through
:func:`problems`) fails when a catalog is out of date with the code, a message
is untranslated or fuzzy, or placeholders differ between languages.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
LANGS = ("zh_Hans", "en")
KEYWORDS = {"N_": None, "Nn_": (1, 2), "_": None, "n_": (1, 2)}
METHOD_MAP = [("core/**.py", "python"), ("bot/**.py", "python"), ("scheduler/**.py", "python")]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def extract() -> Catalog:
    """Every sentence the code marks for translation."""
    template = Catalog(project="lupus-trial-bot", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def _read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, fuzzy=False)
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def update() -> None:
    template = extract()
    LOCALES.mkdir(exist_ok=True)
    with (LOCALES / "messages.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True, no_location=True)
    for lang in LANGS:
        catalog = _read(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if lang == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id
                    message.flags.discard("fuzzy")
        po_path(lang).parent.mkdir(parents=True, exist_ok=True)
        with po_path(lang).open("wb") as handle:
            write_po(handle, catalog, sort_output=True, no_location=True, width=100)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _message_problems(lang: str, message: Message) -> Iterator[str]:
    ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
    strings = (
        tuple(str(s or "") for s in message.string)
        if isinstance(message.string, tuple | list)
        else (str(message.string or ""),)
    )
    if message.fuzzy:
        yield f"{lang}: fuzzy: {ids[0]!r}"
    if not all(strings):
        yield f"{lang}: untranslated: {ids[0]!r}"
        return
    expected = set().union(*(_placeholders(i) for i in ids)) - {"n"}
    for string in strings:
        found = _placeholders(string) - {"n"}
        if found != expected:
            yield (
                f"{lang}: placeholders differ in {ids[0]!r}: "
                f"source {sorted(expected)}, translation {sorted(found)}"
            )


def problems() -> list[str]:
    """Everything that makes the catalogs unfit to ship, as readable lines."""
    code_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    found: list[str] = []
    for lang in LANGS:
        if not po_path(lang).exists():
            found.append(f"{lang}: {po_path(lang)} is missing")
            continue
        catalog = _read(lang)
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        for missing in sorted(code_ids - ids):
            found.append(f"{lang}: out of date, not in the catalog: {missing!r}")
        for stale in sorted(ids - code_ids):
            found.append(f"{lang}: out of date, no longer in the code: {stale!r}")
        for message in catalog:
            if message.id:
                found.extend(_message_problems(lang, message))
    return found


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        update()
        return 0
    if argv[1:] == ["check"]:
        issues = problems()
        print("\n".join(issues) or "catalogs are complete")
        return 1 if issues else 0
    print("usage: python tools/catalogs.py update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
