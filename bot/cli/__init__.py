"""``python -m bot``: the command line of the trial bot.

Offline commands work without a Telegram token: ``plan`` prints a patient's
calendar, ``endpoints`` re-derives the response endpoints from a lab file,
``demo --plans`` shows the bundled protocol's plan for a sample patient of each
arm. ``demo`` plays a scripted trial with the real bot (``make demo``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli import demo, enroll, export, offline, report, run, store
from bot.cli.common import Command, CommandError, database_refusal
from bot.i18n import Lang, Translator
from bot.settings import Settings
from core.messages import RuleError
from core.protocol import ProtocolError
from core.schedule import trial_zone

__all__ = ["CommandError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (offline, run, demo, store, enroll, export, report):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # A command that hands its options on to another program (``local-wechat``) takes
    # whatever it is given; every other command refuses what it does not know.
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "passes_options_on", False):
        args.options = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
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
        lang: Lang = getattr(args, "lang", Lang.EN)
        print(Translator(lang, trial_zone("UTC")).error(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        refusal = database_refusal(exc, settings.database_url)
        if refusal is None:
            raise
        print(refusal, file=sys.stderr)
        return 2
