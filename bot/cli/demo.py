"""``python -m bot demo``: the real bot on its rehearsal clock plays a scripted trial."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from bot.cli.common import CommandError, day_arg
from bot.cli.offline import cmd_plans
from bot.cli.run import start_logging
from bot.settings import Settings

__all__ = ["DEMO_REFUSAL", "cmd_demo", "register"]

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
    start_logging(settings)
    import asyncio

    from bot.demo.process import DemoError
    from bot.demo.scenario import run_demo

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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to ``python -m bot``'s sub-command parser."""
    d = sub.add_parser(
        "demo", help="play a scripted trial with the real bot on a local server (make demo)"
    )
    d.add_argument("--output", type=Path, default=Path("demo-output"), help="where outputs go")
    d.add_argument("--short", action="store_true", help="stop after week 4 (for the tests)")
    d.add_argument(
        "--plans", action="store_true", help="only print a sample plan of each arm, and exit"
    )
    d.add_argument("--day0", type=day_arg, default=date(2026, 12, 1), help="day 0 for --plans")
    d.set_defaults(func=cmd_demo)
