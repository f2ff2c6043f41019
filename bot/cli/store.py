"""``python -m bot migrate | audit verify | backup | restore``: looking after the database.

Exit codes: 0 done; 1 the check or the operation failed (the audit trail
does not verify, a clinical value differs from it, an anchor does not hold,
``migrate --check`` finds no trial or an older schema, the database cannot be
opened, a backup to restore fails its check, a bot is running); 2 a usage
error (unknown revision, a backup of PostgreSQL, an existing backup file, a
missing one, PostgreSQL's tools not on the PATH, ``--anchor`` without AUDIT_KEY).

The store (SQLAlchemy, Alembic) is imported inside the commands, so the
offline commands of ``python -m bot`` start without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.exc import OperationalError

OK, FAILED, USAGE = 0, 1, 2


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade the database to head, or move it to ``--to REVISION`` (``base``: empty)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import OperationalError

    from core.store.db import safe_url
    from core.store.migrate import migrate

    url = settings.database_url
    if args.check:
        try:
            return _check_schema(url)
        except OperationalError as exc:
            return _cannot_open(url, exc)
    try:
        before, after = migrate(url, args.to)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except OperationalError as exc:
        return _cannot_open(url, exc)
    print(f"{safe_url(url)}: revision {before or 'base (empty)'} -> {after or 'base (empty)'}")
    return OK


def _check_schema(url: str) -> int:
    """0 when the database holds the trial at the schema this code runs on; changes nothing.

    A container's health check: the bot reaches its database, and the database is
    the one it migrated at start.
    """
    from core.store.schema import HEAD_REVISION, holds_a_trial, stored_revision, where

    if not holds_a_trial(url):
        print(f"{where(url)}: no trial database", file=sys.stderr)
        return FAILED
    revision = stored_revision(url)
    if revision != HEAD_REVISION:
        print(
            f"{where(url)}: revision {revision}, this bot runs on {HEAD_REVISION}", file=sys.stderr
        )
        return FAILED
    print(f"{where(url)}: revision {revision}, up to date")
    return OK


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Walk the audit chain, reconcile the clinical tables with it and, with ``--anchor``,
    check the chain against an anchor the daily digest showed.

    Requirements: "``python -m bot audit verify`` walks the chain and exits
    non-zero naming the first record that does not match"; "every clinical
    row ... must equal the state its audit records produce; a value changed
    directly in its table is reported with the table, key, stored and
    expected value (exit 1)"; "a deleted tail or a re-hashed chain is caught
    (``audit verify --anchor HASH``)".
    """
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError

    from bot.audit_key import key_for_checking
    from bot.settings import SettingError
    from core.store.anchor import AnchorCheck, check_anchor
    from core.store.audit import verify_chain
    from core.store.db import make_engine, read_session
    from core.store.models import AuditRecord
    from core.store.reconcile import reconcile

    key: bytes | None = None
    if args.anchor is not None:
        try:
            key = key_for_checking(settings)
        except SettingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return USAGE
    url = settings.database_url
    engine = make_engine(url)
    anchored: AnchorCheck | None = None
    try:
        with read_session(engine) as session:
            problem = verify_chain(session)
            count = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
            mismatches = reconcile(session)
            if key is not None:
                anchored = check_anchor(session, key, args.anchor, args.count)
    except OperationalError as exc:
        return _cannot_open(url, exc)
    finally:
        engine.dispose()
    failed = False
    if problem is not None:
        failed = True
        print(
            f"audit trail broken at record {problem.seq} ({problem.kind}): {problem.message}",
            file=sys.stderr,
        )
    else:
        print(f"audit trail verified: {count} records, chain intact")
    if mismatches:
        failed = True
        print(
            f"{len(mismatches)} clinical value(s) differ from what the audit trail recorded:",
            file=sys.stderr,
        )
        for mismatch in mismatches[:_SHOWN]:
            print(f"  {mismatch.describe()}", file=sys.stderr)
        if len(mismatches) > _SHOWN:
            print(f"  ... and {len(mismatches) - _SHOWN} more", file=sys.stderr)
    else:
        print("clinical data reconciled: every row is what its audit records produce")
    if anchored is not None:
        if anchored.problem is not None:
            failed = True
            print(
                f"anchor {args.anchor} does not hold: {anchored.problem.message}", file=sys.stderr
            )
        else:
            print(f"anchor {args.anchor} holds at record {anchored.count}")
    return FAILED if failed else OK


# A tampered table can differ in thousands of values; the first ones say what happened.
_SHOWN = 50


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """A consistent copy of the SQLite database, safe while the bot runs.

    Requirement: "makes a consistent copy of a SQLite database while the bot runs
    (SQLite's online backup API); with PostgreSQL it says to use ``pg_dump``."
    """
    from core.store.db import BackupError, backup_sqlite

    destination: Path = args.path
    try:
        backup_sqlite(settings.database_url, destination)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    print(f"backup written to {destination}")
    return OK


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Put a checked backup in place of the trial's database (core.store.restore).

    Requirement: "a restored backup does not resend unmarked": reminders that
    may have gone out after the backup become uncertain (one marked repeat).
    """
    from datetime import UTC, datetime

    from core.store.restore import RestoreRefused, restore

    try:
        done = restore(settings.database_url, args.path, now=datetime.now(UTC))
    except RestoreRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE if exc.usage else FAILED
    print(f"restored {done.database} from {args.path}")
    if done.replaced_copy is not None:
        print(f"the database it replaced is kept at {done.replaced_copy}")
    print(
        f"{len(done.uncertain)} reminders due by {done.horizon.isoformat()} may have gone out "
        "after the backup: each is sent once more, marked as a repeat, when the bot runs"
    )
    return OK


def _cannot_open(url: str, exc: OperationalError) -> int:
    from bot.cli.common import database_refusal

    print(database_refusal(exc, url), file=sys.stderr)
    return FAILED


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the database commands to ``python -m bot``'s sub-command parser."""
    m = sub.add_parser("migrate", help="bring the database schema up to date (Alembic)")
    m.add_argument(
        "--to",
        default="head",
        metavar="REVISION",
        help="target revision: head (default), base (empty database) or a revision id",
    )
    m.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 0 when the database holds the trial at this bot's schema, "
        "else 1 (a health check)",
    )
    m.set_defaults(func=cmd_migrate)

    a = sub.add_parser("audit", help="the audit trail")
    audit_sub = a.add_subparsers(dest="audit_command", required=True)
    v = audit_sub.add_parser(
        "verify", help="check the audit trail's hash chain and the clinical data against it"
    )
    v.add_argument(
        "--anchor",
        metavar="HASH",
        help="an anchor a daily digest showed: the chain must still have it (needs AUDIT_KEY)",
    )
    v.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="the record count shown with the anchor (without it, every record is tried)",
    )
    v.set_defaults(func=cmd_audit_verify)

    b = sub.add_parser("backup", help="copy the SQLite database consistently while the bot runs")
    b.add_argument("path", type=Path, metavar="PATH", help="the new backup file")
    b.set_defaults(func=cmd_backup)

    r = sub.add_parser(
        "restore",
        help="put a checked SQLite backup in place of the database (the bot must be stopped)",
    )
    r.add_argument("path", type=Path, metavar="PATH", help="the backup file to restore")
    r.set_defaults(func=cmd_restore)
