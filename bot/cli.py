"""``python -m bot``: the command line of the trial bot.

Offline commands work without a Telegram token: ``plan`` prints a patient's
calendar, ``endpoints`` re-derives the response endpoints from a lab file,
``demo --plans`` shows the bundled protocol's plan for a sample patient of each
arm. ``demo`` plays a scripted trial with the real bot (``make demo``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bot import cli_enroll, cli_store
from bot.i18n import LANGUAGES, Lang, Translator, parse_language
from bot.outputs import cli_export
from bot.plan_view import plan_as_json, render_plan
from bot.response_view import assessment_lines, class_name, endpoints_as_json
from bot.settings import Settings
from core.endpoints import COLUMNS, LabFileError, derive_endpoints
from core.messages import RuleError
from core.protocol import ProtocolError
from core.schedule import Enrollment, plan, trial_zone

Command = Callable[[argparse.Namespace, Settings], int]


class CommandError(Exception):
    """A command cannot do what was asked; the message says why (exit code 2)."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _kg(text: str) -> Decimal:
    try:
        value = Decimal(text.removesuffix("kg").strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"expected a weight in kg such as 62.5, got {text!r}"
        ) from None
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
    """Re-derive each patient's week-24 and cumulative response from a lab file."""
    protocol = settings.protocol()
    try:
        results = derive_endpoints(_lab_rows(args.labs), protocol.response_options())
    except LabFileError as exc:
        lines = (f"{args.labs}: {line}" for line in str(exc).splitlines())
        raise CommandError("\n".join(lines)) from None
    if args.json:
        print(json.dumps([endpoints_as_json(r) for r in results], ensure_ascii=False, indent=2))
        return 0
    t = Translator(args.lang, trial_zone(settings.trial_timezone))
    for r in results:
        print(
            t._(
                "{patient}: week 24 {week24}; cumulative {cumulative}.",
                patient=r.patient_id,
                week24=class_name(t, r.result.week24),
                cumulative=class_name(t, r.result.cumulative),
            )
        )
        final = r.assessments.get(r.result.endpoint_week)
        if final is not None:
            print("\n".join("  " + line for line in assessment_lines(t, final)[1:]))
    return 0


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


DEMO_REFUSAL = (
    "make demo plays a rehearsal with its own local Telegram stand-in, and refuses to run "
    "while TELEGRAM_BOT_TOKEN is set, so a real bot's token is never mixed into it. To run "
    "the bot for real, use `make run`; for the demo, unset TELEGRAM_BOT_TOKEN first."
)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The demo: the real bot on its rehearsal clock plays a scripted trial (``make demo``)."""
    if args.plans:
        return cmd_plans(args, settings)
    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        raise CommandError(DEMO_REFUSAL)
    import asyncio

    from bot.demo.scenario import DemoError, run_demo

    try:
        asyncio.run(run_demo(args.output, short=args.short))
    except DemoError as exc:
        print(f"\nThe demo failed: {exc}", file=sys.stderr)
        print(f"The transcript so far is in {args.output / 'transcript.txt'}.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nThe demo was interrupted.", file=sys.stderr)
        return 130
    return 0


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"expected a date and time with its offset, such as 2026-12-01T06:00:00+08:00, "
            f"got {text!r}"
        )
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number such as 3600, got {text!r}")
    return value


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bot (long polling) and its reminder engine until stopped."""
    from bot.runner import NotConfigured, rehearsal_clock, run_bot

    try:
        clock = rehearsal_clock(settings, args.clock_start, args.clock_speed, args.resume)
        run_bot(settings, clock)
    except NotConfigured as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a one-time staff invitation link."""
    from bot.runner import NotConfigured, invite_link
    from core.store.models import InviteRole

    try:
        print(invite_link(settings, InviteRole(args.role), args.bot_username))
    except NotConfigured as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_local_api(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the local Bot API server (rehearsals without Telegram)."""
    import asyncio

    from bot.local_api.server import serve_forever

    asyncio.run(serve_forever(args.host, args.port, flood_limits=not args.no_flood_limits))
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

    e = sub.add_parser("endpoints", help="re-derive the response endpoints from a lab file")
    e.add_argument("--labs", required=True, type=Path, help="long-format lab CSV")
    e.add_argument("--lang", type=_lang, default="zh_Hans", help="zh or en")
    e.add_argument("--json", action="store_true", help="a JSON list, one entry per patient")
    e.set_defaults(func=cmd_endpoints)

    r = sub.add_parser("run", help="run the bot (TELEGRAM_BOT_TOKEN, TELEGRAM_BASE_URL)")
    rehearsal = r.add_argument_group(
        "rehearsal clock", "trial time for training and the demo; local Bot API server only"
    )
    rehearsal.add_argument(
        "--clock-start",
        type=_instant,
        help="trial time to start at, e.g. 2026-12-01T06:00:00+08:00",
    )
    rehearsal.add_argument(
        "--clock-speed", type=_speed, help="trial seconds per real second, e.g. 3600"
    )
    rehearsal.add_argument(
        "--resume", action="store_true", help="carry on from where the rehearsal clock stood"
    )
    r.set_defaults(func=cmd_run)

    i = sub.add_parser("invite", help="print a one-time invitation link for a member of staff")
    i.add_argument("--role", required=True, choices=["coordinator", "investigator", "nurse"])
    i.add_argument("--bot-username", help="the bot's @username, if the bot cannot be asked")
    i.set_defaults(func=cmd_invite)

    la = sub.add_parser("local-api", help="serve a local Telegram Bot API stand-in")
    la.add_argument("--host", default="127.0.0.1")
    la.add_argument("--port", type=int, default=8081)
    la.add_argument("--no-flood-limits", action="store_true")
    la.set_defaults(func=cmd_local_api)

    d = sub.add_parser(
        "demo", help="play a scripted trial with the real bot on a local server (make demo)"
    )
    d.add_argument("--output", type=Path, default=Path("demo-output"), help="where outputs go")
    d.add_argument("--short", action="store_true", help="stop after week 4 (for the tests)")
    d.add_argument(
        "--plans", action="store_true", help="only print a sample plan of each arm, and exit"
    )
    d.add_argument("--day0", type=_day, default=date(2026, 12, 1), help="day 0 for --plans")
    d.set_defaults(func=cmd_demo)
    cli_store.register(sub)
    cli_enroll.register(sub)
    cli_export.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    func: Command = args.func
    try:
        return func(args, settings)
    except CommandError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ProtocolError as exc:
        print(exc, file=sys.stderr)
        return 2
    except RuleError as exc:
        # The refusal in the language the command was asked to speak.
        lang: Lang = getattr(args, "lang", "en")
        print(Translator(lang, trial_zone("UTC")).error(exc), file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
