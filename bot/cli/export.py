"""``python -m bot export DIR``: the statistician's files from the command line.

Writes into DIR the same files ``/export`` sends: ``trial.xlsx``, ``csv.zip``
and the CSV files it holds (``labs.csv`` and the SDTM-style ``dm.csv``, ``ds.csv``,
``sv.csv``, ``ex.csv``, ``ae.csv``, ``suppae.csv``, ``lb.csv``, ``qs.csv``,
``rs.csv``), from the database at ``DATABASE_URL``. ``labs.csv`` is what
``python -m bot endpoints --labs DIR/labs.csv`` reads back. The workbook's
response figures are as of today in the trial's time zone, or ``--today``
(to reproduce an earlier export). The workbook's ``about`` sheet gives the
export time (now), the cut-off (that day), the protocol file's and the bot's
versions.

Exit codes: 0 written; 1 the database cannot be read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import day_arg, read_trial
from bot.settings import Settings

OK, FAILED = 0, 1


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the workbook, the archive and the CSV files into ``args.directory``."""
    from bot.outputs.export import build_export, write_export

    trial = read_trial(settings, args.today)
    if trial is None:
        return FAILED
    files = build_export(
        trial.data, trial.endpoints, trial.protocol, trial.zone, trial.today, trial.now
    )
    directory: Path = args.directory
    for path in write_export(directory, files):
        print(path)
    return OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export`` to ``python -m bot``'s sub-command parser."""
    e = sub.add_parser(
        "export", help="write the trial workbook, csv.zip and the CSV files (SDTM-style)"
    )
    e.add_argument("directory", type=Path, metavar="DIR", help="where to write the files")
    e.add_argument(
        "--today",
        type=day_arg,
        metavar="YYYY-MM-DD",
        help="the day the response figures are as of (default: today in the trial's time zone)",
    )
    e.set_defaults(func=cmd_export)
