"""``python -m bot plan | endpoints``: the commands that need no token and no database."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from bot.cli.common import CommandError, day_arg, kg_arg, lang_arg
from bot.i18n import LANGUAGES, Translator
from bot.settings import Settings
from bot.views.plan import plan_as_json, render_plan
from bot.views.response import endpoint_lines, endpoints_as_json
from core.endpoints import COLUMNS, read_lab_file
from core.schedule import Enrollment, plan, trial_zone

__all__ = ["cmd_endpoints", "cmd_plan", "cmd_plans", "register"]


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    protocol = settings.protocol()
    enrollment = Enrollment(args.arm, args.day0, settings.trial_timezone, args.daily_doses)
    the_plan = plan(protocol, enrollment)
    has_infusions = protocol.gets_belimumab(args.arm)
    dose = protocol.belimumab.dose_plan(args.weight) if args.weight and has_infusions else None
    if args.json:
        print(json.dumps(plan_as_json(the_plan, dose), ensure_ascii=False, indent=2))
        return 0
    t = Translator(args.lang, trial_zone(settings.trial_timezone))
    print(render_plan(t, protocol, enrollment, the_plan, args.weight))
    return 0


def _lab_rows(path: Path) -> list[tuple[int, dict[str, str | None]]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the lab file: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(f"{path}: line 1: missing columns: {', '.join(missing)}")
        return [(reader.line_num, row) for row in reader]


def cmd_endpoints(args: argparse.Namespace, settings: Settings) -> int:
    """Re-derive each patient's week-24 and cumulative response from a lab file.

    Every row that cannot be read is named on stderr with its line; its patient
    is left out and named on stdout too, and every other patient is reported.
    Exit 0 when every row was read, 1 when some were not, 2 when the file
    cannot be used at all (missing, no header).
    """
    protocol = settings.protocol()
    read = read_lab_file(_lab_rows(args.labs), protocol.response_options())
    t = Translator(args.lang, trial_zone(settings.trial_timezone))
    for error in read.errors:
        print(
            t._(
                "{path}: line {line}: {reason}",
                path=args.labs,
                line=error.line,
                reason=t.error(error.error),
            ),
            file=sys.stderr,
        )
    if args.json:
        print(
            json.dumps([endpoints_as_json(r) for r in read.patients], ensure_ascii=False, indent=2)
        )
        return 1 if read.errors else 0
    derived = {r.patient_id: r for r in read.patients}
    for patient in sorted(derived.keys() | read.not_derived.keys()):
        if patient in read.not_derived:
            lines = read.not_derived[patient]
            print(
                t.n_(
                    "{patient}: not derived, line {lines} cannot be read.",
                    "{patient}: not derived, lines {lines} cannot be read.",
                    len(lines),
                    patient=patient,
                    lines=", ".join(str(line) for line in lines),
                )
            )
            continue
        print("\n".join(endpoint_lines(t, derived[patient])))
    return 1 if read.errors else 0


def cmd_plans(args: argparse.Namespace, settings: Settings) -> int:
    """The bundled protocol's plan for a sample patient of each arm, in both languages."""
    protocol = settings.protocol()
    day0 = args.day0
    for arm in protocol.arms:
        enrollment = Enrollment(arm, day0, settings.trial_timezone)
        the_plan = plan(protocol, enrollment)
        for lang in LANGUAGES:
            t = Translator(lang, trial_zone(settings.trial_timezone))
            print(render_plan(t, protocol, enrollment, the_plan))
            print()
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``plan`` and ``endpoints`` to ``python -m bot``'s sub-command parser."""
    p = sub.add_parser("plan", help="print a patient's study calendar")
    p.add_argument("--arm", required=True)
    p.add_argument("--day0", required=True, type=day_arg, help="first day of the MP pulse")
    p.add_argument("--weight", type=kg_arg, help="body weight in kg, for the belimumab dose plan")
    p.add_argument("--lang", type=lang_arg, default="zh_Hans", help="zh or en")
    p.add_argument("--daily-doses", action="store_true", help="include daily dose reminders")
    p.add_argument("--json", action="store_true", help="a JSON list of events")
    p.set_defaults(func=cmd_plan)

    e = sub.add_parser("endpoints", help="re-derive the response endpoints from a lab file")
    e.add_argument("--labs", required=True, type=Path, help="long-format lab CSV")
    e.add_argument("--lang", type=lang_arg, default="zh_Hans", help="zh or en")
    e.add_argument("--json", action="store_true", help="a JSON list, one entry per patient")
    e.set_defaults(func=cmd_endpoints)
