"""``python -m bot``: the command line of the trial bot.

Offline commands work without a Telegram token: ``plan`` prints a patient's
calendar, ``endpoints`` re-derives the response endpoints from a lab file,
``demo`` shows the bundled protocol's plan for a sample patient of each arm.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.i18n import LANGUAGES, Lang, Translator, parse_language
from bot.plan_view import plan_as_json, render_plan
from bot.settings import Settings
from core.messages import RuleError
from core.protocol import ProtocolError
from core.schedule import Enrollment, plan, trial_zone

Command = Callable[[argparse.Namespace, Settings], int]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _kg(text: str) -> Decimal:
    try:
        value = Decimal(text.removesuffix("kg").strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a weight in kg such as 62.5, got {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"expected a weight in kg such as 62.5, got {text!r}")
    return value


def _lang(text: str) -> Lang:
    lang = parse_language(text)
    if lang is None:
        raise argparse.ArgumentTypeError(f"expected zh or en, got {text!r}")
    return lang


def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    protocol = settings.protocol()
    enrollment = Enrollment(args.arm, args.day0, settings.trial_timezone, args.daily_doses)
    the_plan = plan(protocol, enrollment)
    if args.json:
        print(json.dumps(plan_as_json(the_plan), ensure_ascii=False, indent=2))
        return 0
    t = Translator(args.lang, trial_zone(settings.trial_timezone))
    print(render_plan(t, protocol, enrollment, the_plan))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plan", help="print a patient's study calendar")
    p.add_argument("--arm", required=True)
    p.add_argument("--day0", required=True, type=_day, help="first day of the MP pulse")
    p.add_argument("--weight", type=_kg, help="body weight in kg, for the belimumab dose plan")
    p.add_argument("--lang", type=_lang, default="zh_Hans", help="zh or en")
    p.add_argument("--daily-doses", action="store_true", help="include daily dose reminders")
    p.add_argument("--json", action="store_true", help="a JSON list of events")
    p.set_defaults(func=cmd_plan)

    d = sub.add_parser("demo", help="show the plan of a sample patient of each arm")
    d.add_argument("--day0", type=_day, default=date(2026, 12, 1))
    d.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    func: Command = args.func
    try:
        return func(args, settings)
    except ProtocolError as exc:
        print(exc, file=sys.stderr)
        return 2
    except RuleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
