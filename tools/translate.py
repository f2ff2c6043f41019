"""Fill Chinese translations into the catalog from a Python file holding a dict ``ZH``.

``python tools/translate.py FILE.py`` sets msgstr for every msgid the dict names
(new entries only unless --force); a translator's routine, not part of the build.
"""

from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import read_po, write_po

from tools.catalogs import po_path


def main(argv: list[str]) -> int:
    force = "--force" in argv
    files = [a for a in argv[1:] if a != "--force"]
    table: dict[str, str] = {}
    for name in files:
        table.update(runpy.run_path(name)["ZH"])
    path = po_path("zh_Hans")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="zh_Hans")
    filled = 0
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in table and (force or not message.string):
            message.string = table[key]
            message.flags.discard("fuzzy")
            filled += 1
    with path.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, no_location=True, width=100)
    print(f"filled {filled} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
