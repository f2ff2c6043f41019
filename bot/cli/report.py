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
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.common import day_arg, lang_arg
from bot.settings import Settings

OK, FAILED = 0, 1


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the safety-review PDF to ``args.pdf``; print its path and page count."""
    from sqlalchemy.exc import DBAPIError

    from bot.i18n import Translator
    from bot.outputs.report import build_report
    from core.schedule import trial_today, trial_zone
    from core.store.db import make_engine, read_session, safe_url
    from core.store.trial_data import load_trial_data
    from core.tables.lab_file import derive_trial_endpoints

    protocol = settings.protocol()
    zone = trial_zone(settings.trial_timezone)
    engine = make_engine(settings.database_url)
    try:
        with read_session(engine) as session:
            data = load_trial_data(session, zone, events=True)
    except DBAPIError as exc:
        print(
            f"error: cannot read the database {safe_url(settings.database_url)}: {exc.orig}",
            file=sys.stderr,
        )
        return FAILED
    finally:
        engine.dispose()
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    now = datetime.now(UTC)
    today = args.today or trial_today(now, zone)
    report = build_report(Translator(args.lang, zone), data, endpoints, protocol, today, now)
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
