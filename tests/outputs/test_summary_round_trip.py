"""Round trip: what the coordinator reads in ``/summary`` is what the statistician gets by
running ``python -m bot endpoints --labs labs.csv`` on the files ``/export`` sent.

A small trial (:mod:`tests.support.outputs_seed`: seven patients in two arms, one
withdrawn, one with an incomplete week-24 panel, one not yet at week 24) is exported
through the bot; the command re-derives each patient's classes from ``labs.csv``, the
arms come from ``dm.csv``; the responders and denominators per arm and overall, by
intention to treat and for completers only, must equal the figures in the
``/summary`` text, in both languages.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Literal

import pytest

from bot.i18n import Translator
from bot.views.plan import arm_name
from core.protocol import Protocol
from core.store.models import InviteRole
from tests.support.bot_harness import World
from tests.support.outputs_seed import SHANGHAI, seed_trial
from tests.support.pages import read_all_pages

# One `python -m bot endpoints` subprocess per language, about a second each.
pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
WEEK = 24
LANGUAGES: dict[str, Literal["en", "zh_Hans"]] = {"en": "en", "zh-hans": "zh_Hans"}
FRACTION = re.compile(r"(\d+)/(\d+)")
# The figures compared, by the msgid of their line (both analyses use the same words).
ITT_LINES = {
    "cumulative_cr": "Cumulative CR by week {week}: {value}",
    "cr": "CR at week {week}: {value}",
    "pr": "PR at week {week}: {value}",
    "orr": "ORR (CR + PR) at week {week}: {value}",
    "non_responders": "Non-responders at week {week} (NR or no week-{week} class): {value}",
}
COMPLETER_LINES = {
    "cumulative_cr": "Cumulative CR by week {week}: {value}",
    "cr": "CR at week {week}: {value}",
    "pr": "PR at week {week}: {value}",
    "nr": "NR at week {week}: {value}",
    "orr": "ORR (CR + PR) at week {week}: {value}",
}
Figures = dict[str, tuple[int, int]]


def _prefix(t: Translator, msgid: str, **params: object) -> str:
    """A line's translated words before its first value."""
    return t._(msgid, **{k: "\x00" for k in ("value", "enrolled")}, **params).split("\x00")[0]


def _figures(t: Translator, lines: list[str], msgids: dict[str, str]) -> Figures:
    found: Figures = {}
    for key, msgid in msgids.items():
        start = _prefix(t, msgid, week=WEEK)
        line = next(line.strip() for line in lines if line.strip().startswith(start))
        match = FRACTION.match(line[len(start) :])
        assert match is not None, line
        found[key] = (int(match.group(1)), int(match.group(2)))
    return found


def read_summary(
    t: Translator, text: str, arms: list[str]
) -> dict[str | None, tuple[int, Figures, Figures]]:
    """Each group of the /summary text: enrolled, the ITT figures, the completers' figures."""
    lines = text.splitlines()
    titles: dict[str | None, str] = {
        arm: _prefix(t, "{arm} ({code}): {enrolled} enrolled.", arm=arm_name(t, arm), code=arm)
        for arm in arms
    }
    titles[None] = _prefix(t, "All patients: {enrolled} enrolled.")
    starts = {
        group: next(i for i, line in enumerate(lines) if line.startswith(title))
        for group, title in titles.items()
    }
    out: dict[str | None, tuple[int, Figures, Figures]] = {}
    for group, start in starts.items():
        enrolled = int(re.findall(r"\d+", lines[start][len(titles[group]) :])[0])
        # The ITT heading, its indented lines, then the completers' heading and theirs.
        itt_end = next(i for i in range(start + 2, len(lines)) if not lines[i].startswith(" "))
        comp_end = next(i for i in range(itt_end + 1, len(lines)) if not lines[i].startswith(" "))
        out[group] = (
            enrolled,
            _figures(t, lines[start + 2 : itt_end], ITT_LINES),
            _figures(t, lines[itt_end + 1 : comp_end], COMPLETER_LINES),
        )
    return out


def from_the_files(
    patients: dict[str, dict[str, Any]], arm_of: dict[str, str], arm: str | None
) -> tuple[int, Figures, Figures]:
    """What a statistician counts from the command's classes and dm.csv's arms."""
    enrolled = [sid for sid, a in arm_of.items() if arm is None or a == arm]
    members = [patients[sid] for sid in enrolled if sid in patients]
    classed = [p for p in members if p["week24"] in ("CR", "PR", "NR")]
    decided = [p for p in classed if p["cumulative_cr"] is not None]
    n = len(enrolled)

    def count(rows: list[dict[str, Any]], *classes: str) -> int:
        return sum(p["week24"] in classes for p in rows)

    orr = count(members, "CR", "PR")
    itt = {
        "cumulative_cr": (sum(p["cumulative_cr"] is True for p in members), n),
        "cr": (count(members, "CR"), n),
        "pr": (count(members, "PR"), n),
        "orr": (orr, n),
        "non_responders": (n - orr, n),
    }
    c = len(classed)
    completers = {
        "cumulative_cr": (sum(p["cumulative_cr"] is True for p in decided), len(decided)),
        "cr": (count(classed, "CR"), c),
        "pr": (count(classed, "PR"), c),
        "nr": (count(classed, "NR"), c),
        "orr": (count(classed, "CR", "PR"), c),
    }
    return n, itt, completers


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_the_exported_lab_file_reproduces_the_summary_per_arm(
    world: World, protocol: Protocol, tmp_path: Path, language: str
) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code=language)
    first = await world.say(coordinator, "/summary")
    text = await read_all_pages(world, coordinator, first)

    await world.api.user_sends(coordinator, "/export")
    archive = await world.api.wait_for_message(
        coordinator,
        lambda m: m.document is not None and (m.document.file_name or "").endswith(".zip"),
    )
    assert archive.document is not None and archive.document.data is not None
    with zipfile.ZipFile(io.BytesIO(archive.document.data)) as files:
        files.extractall(tmp_path)
    labs = next(tmp_path.rglob("labs.csv"))
    with next(tmp_path.rglob("dm.csv")).open(encoding="utf-8-sig", newline="") as handle:
        arm_of = {row["SUBJID"]: row["ARMCD"].lower() for row in csv.DictReader(handle)}

    derived = subprocess.run(
        [sys.executable, "-m", "bot", "endpoints", "--labs", str(labs), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert derived.returncode == 0, derived.stderr
    patients = {row["patient_id"]: row for row in json.loads(derived.stdout)}

    t = Translator(LANGUAGES[language], SHANGHAI)
    arms = list(protocol.arms)
    shown = read_summary(t, text, arms)
    for group in (*arms, None):
        assert shown[group] == from_the_files(patients, arm_of, group), group
    # Not two equal wrong answers: the seeded trial's figures (outputs_seed's table).
    enrolled, itt, completers = shown[None]
    assert enrolled == 7
    assert (itt["cr"], itt["pr"], itt["cumulative_cr"]) == ((1, 7), (2, 7), (2, 7))
    assert (completers["orr"], completers["nr"]) == ((3, 4), (1, 4))
