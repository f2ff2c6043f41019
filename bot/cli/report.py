"""``python -m bot report --pdf FILE``: the safety-review report from the command line.

Writes to FILE the same PDF ``/export pdf`` sends (:mod:`bot.outputs.report`),
from the database at ``DATABASE_URL``, in Chinese unless ``--lang en``, as of
today in the trial's time zone or ``--today`` (the data cut-off, to reproduce
an earlier report).

Exit codes: 0 written; 1 the database cannot be read or FILE cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.common import day_arg, lang_arg, read_trial
from bot.settings import Settings

OK, FAILED = 0, 1


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the safety-review PDF to ``args.pdf``; print its path and page count."""
    from bot.i18n import Translator
    from bot.outputs.report import build_report

    trial = read_trial(settings, args.today)
    if trial is None:
        return FAILED
    report = build_report(
        Translator(args.lang, trial.zone),
        trial.data,
        trial.endpoints,
        trial.protocol,
        trial.today,
        trial.now,
    )
    path: Path = args.pdf
    try:
        path.write_bytes(report.pdf)
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return FAILED
    print(f"{path} ({report.pages} pages)")
    return OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report`` to ``python -m bot``'s sub-command parser."""
    r = sub.add_parser(
        "report", help="write the safety-review report (PDF, A4) for the statistician and DSMB"
    )
    r.add_argument("--pdf", required=True, type=Path, metavar="FILE", help="where to write the PDF")
    r.add_argument("--lang", type=lang_arg, default="zh_Hans", help="zh or en")
    r.add_argument(
        "--today",
        type=day_arg,
        metavar="YYYY-MM-DD",
        help="the data cut-off (default: today in the trial's time zone)",
    )
    r.set_defaults(func=cmd_report)
