"""The demo's transcript: who said what, at which trial time, in their own language.

Every line is ``[YYYY-MM-DD HH:MM] who (language): text`` in the trial time
zone. The file gets each message whole; the terminal gets its first line,
shortened, and (in the fast stretches) only the first two of each kind of
routine staff message (the daily digest, the weekly summary...), with a count
of the rest.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

LANGUAGE_NAMES = {"zh_Hans": "中文", "en": "English"}
TERMINAL_WIDTH = 110
ROUTINE_SHOWN = 2  # routine staff messages of one kind shown in the terminal per fast stretch
_DIGITS = re.compile(r"[\d\s:.,/\-+]+")


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in the demo: a label for the transcript, their chat, their language."""

    label: str
    chat_id: int
    lang: str  # "zh_Hans" or "en"
    staff: bool
    openid: str | None = None  # on WeChat instead of Telegram
    userid: str | None = None  # staff on WeCom instead of Telegram

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES[self.lang]


def _first_line(text: str, width: int = TERMINAL_WIDTH) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    more = len(lines) > 1
    if len(first) > width:
        first, more = first[: width - 1].rstrip(), True
    return first + (" …" if more else "")


class Transcript:
    """Writes the transcript to a file (whole messages) and the terminal (first lines)."""

    def __init__(self, path: Path, zone: ZoneInfo, out: TextIO | None = None) -> None:
        self.path = path
        self.zone = zone
        self.out = out if out is not None else sys.stdout
        self.lines: list[str] = []
        self._file = path.open("w", encoding="utf-8")
        self.fast = False
        self._routine: Counter[tuple[int, str]] = Counter()
        self._hidden = 0
        # Each reminder the bot sent: to whom, when it was due, when it arrived (trial time).
        self.reminders: list[tuple[str, datetime, datetime]] = []

    def close(self) -> None:
        self._file.close()

    def _stamp(self, at: datetime) -> str:
        return at.astimezone(self.zone).strftime("[%Y-%m-%d %H:%M]")

    def _write(self, head: str, text: str, *, terminal: bool = True) -> None:
        body = text.strip("\n")
        indented = body.replace("\n", "\n" + " " * 4)
        full = f"{head}: {indented}"
        self.lines.append(full)
        self._file.write(full + "\n")
        self._file.flush()
        if terminal:
            print(f"{head}: {_first_line(body)}", file=self.out, flush=True)

    def note(self, text: str, at: datetime | None = None) -> None:
        """A narrator's line (what happens next), in English."""
        stamp = self._stamp(at) + " " if at is not None else ""
        line = f"{stamp}== {text}"
        self.lines.append(line)
        self._file.write(line + "\n")
        self._file.flush()
        print(line, file=self.out, flush=True)

    def user(self, person: Person, text: str, at: datetime) -> None:
        """What a person typed."""
        self._write(f"{self._stamp(at)} {person.label} ({person.language_name})", text)

    def press(self, person: Person, label: str, at: datetime) -> None:
        """A button a person pressed (its label as they read it)."""
        self._write(f"{self._stamp(at)} {person.label} ({person.language_name})", f"[{label}]")

    def page(self, person: Person, label: str, at: datetime) -> None:
        """A choice a WeChat patient made on the page a template message linked to."""
        self._write(
            f"{self._stamp(at)} {person.label} ({person.language_name})", f"[on the page: {label}]"
        )

    def bot(self, person: Person, text: str, at: datetime, due: datetime | None = None) -> None:
        """What the bot sent a person (``due``: the reminder it is was due then)."""
        if due is not None:
            self.reminders.append((person.label, due, at))
        head = f"{self._stamp(at)} bot -> {person.label} ({person.language_name})"
        terminal = True
        if self.fast and person.staff:
            kind = (person.chat_id, _DIGITS.sub(" ", _first_line(text, 40)).strip())
            self._routine[kind] += 1
            if self._routine[kind] > ROUTINE_SHOWN:
                terminal = False
                self._hidden += 1
        self._write(head, text, terminal=terminal)

    def start_fast(self) -> None:
        self.fast = True
        self._routine.clear()
        self._hidden = 0

    def end_fast(self) -> None:
        if self._hidden:
            print(
                f"   ({self._hidden} more routine staff messages, such as daily digests, "
                f"are in {self.path})",
                file=self.out,
                flush=True,
            )
        self.fast = False

    def text(self) -> str:
        return "\n".join(self.lines)
