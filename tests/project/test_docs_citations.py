"""Citations resolve inside the checkout: the sources travel with the code.

Docstrings, comments, the protocol file and the README cite their sources as
``docs/<file>`` (and a section, ``docs/clinical-facts.md §3``). Every cited file
must exist in ``docs/`` and every cited section must be a heading of it; nothing
may point outside the checkout to the shared folder, and nothing may cite a
ticket by number, which a reader of the code cannot open.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# The verbatim copies keep their authors' words; only our own files are checked.
VERBATIM = frozenset(
    {
        "docs/DESIGN.md",
        "docs/clinical-facts.md",
        "docs/registry-record.txt",
        "docs/wechat-oa/SOURCE.md",
        "docs/wechat-oa/callbacks.md",
        "docs/wecom/SOURCE.md",
        "docs/wecom/callbacks.md",
    }
)
TEXT_SUFFIXES = (".py", ".toml", ".md", ".cfg", ".mako", ".po", ".pot", ".txt")
TEXT_NAMES = frozenset({"Makefile", "Procfile", "run"})
SKIPPED_DIRS = frozenset({".venv", ".git", "data", "build", "demo-output", "__pycache__"})

# A docs/ path (a file, possibly in a folder: docs/wechat-oa/api.json), then
# optionally its sections: "§3", "§2 and §7", "§1-§2".
CITATION = re.compile(
    r"(?<![\w/.])docs/((?:[\w.-]+/)*[\w.-]*\w)((?:[ \t]*(?:,|and|-)?[ \t]*§\d+)*)"
)
SECTION = re.compile(r"§(\d+)")
# Built from parts so that this file does not match itself.
SHARED = "../" + "shared"
TICKET = re.compile(r"\b" + "issue" + r"\s+#?\d", re.IGNORECASE)


def _tracked_files() -> list[str]:
    """The checkout's tracked files (every file under the root outside a git checkout)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        listed = [
            path.relative_to(ROOT).as_posix()
            for path in ROOT.rglob("*")
            if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
        ]
    return sorted(listed)


def _source_texts() -> Iterator[tuple[str, str]]:
    """(path, text) of every tracked text file that is ours (not a verbatim copy)."""
    for name in _tracked_files():
        path = ROOT / name
        if name in VERBATIM or not path.is_file():
            continue
        if not (name.endswith(TEXT_SUFFIXES) or path.name in TEXT_NAMES):
            continue
        yield name, path.read_text(encoding="utf-8")


def _sections(document: Path) -> set[int]:
    """The numbered headings of a Markdown document: "## 3. Response criteria" -> 3."""
    text = document.read_text(encoding="utf-8")
    return {int(n) for n in re.findall(r"^#+\s+(\d+)\.", text, flags=re.MULTILINE)}


SOURCES = list(_source_texts())


def test_the_sources_are_in_docs() -> None:
    for name in VERBATIM | {"docs/README.md"}:
        assert (ROOT / name).is_file(), name


def test_the_scan_sees_the_code_the_protocol_file_and_the_readme() -> None:
    names = {name for name, _ in SOURCES}
    assert {"README.md", "core/data/protocol.toml", "core/response.py"} <= names


def test_a_citation_of_a_file_in_a_docs_folder_names_the_file() -> None:
    match = CITATION.search("the scheme (docs/wechat-oa/callbacks.md §4.3) and")
    assert match is not None
    assert (match.group(1), SECTION.findall(match.group(2))) == ("wechat-oa/callbacks.md", ["4"])


def test_every_cited_docs_file_and_section_exists() -> None:
    missing: list[str] = []
    cited = 0
    for name, text in SOURCES:
        for match in CITATION.finditer(text):
            cited += 1
            line = text.count("\n", 0, match.start()) + 1
            target = DOCS / match.group(1)
            if not target.is_file():
                missing.append(f"{name}:{line}: docs/{match.group(1)} does not exist")
                continue
            numbers = {int(n) for n in SECTION.findall(match.group(2))}
            if numbers and target.suffix == ".md":
                for number in sorted(numbers - _sections(target)):
                    missing.append(f"{name}:{line}: docs/{match.group(1)} has no §{number}")
    assert not missing, "\n".join(missing)
    assert cited > 50, "the citation pattern no longer finds the code's citations"


@pytest.mark.parametrize(
    ("what", "pattern"),
    [
        ("cites the shared folder outside the checkout", re.compile(re.escape(SHARED))),
        ("cites a ticket by number", TICKET),
    ],
)
def test_no_source_file_cites_what_a_reader_cannot_open(
    what: str, pattern: re.Pattern[str]
) -> None:
    found = [
        f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)!r}"
        for name, text in SOURCES
        for match in pattern.finditer(text)
    ]
    assert not found, f"{what}:\n" + "\n".join(found)
