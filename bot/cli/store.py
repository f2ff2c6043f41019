"""``python -m bot migrate | audit verify | backup | restore``: looking after the database.

Exit codes: 0 done; 1 the check or the operation failed (the audit trail
does not verify, the database cannot be opened, a backup to restore fails its
check, a bot is running); 2 a usage error (unknown revision, a backup or
restore of PostgreSQL, an existing backup file, a missing one).

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
    try:
        before, after = migrate(url, args.to)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except OperationalError as exc:
        return _cannot_open(url, exc)
    print(f"{safe_url(url)}: revision {before or 'base (empty)'} -> {after or 'base (empty)'}")
    return OK


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Walk the audit chain; name the first record that does not hold.

    Requirement: "``python -m bot audit verify`` walks the chain and exits
    non-zero naming the first record that does not match."
    """
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError

    from core.store.audit import verify_chain
    from core.store.db import make_engine, read_session
    from core.store.models import AuditRecord

    url = settings.database_url
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            problem = verify_chain(session)
            count = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    except OperationalError as exc:
        return _cannot_open(url, exc)
    finally:
        engine.dispose()
    if problem is not None:
        print(
            f"audit trail broken at record {problem.seq} ({problem.kind}): {problem.message}",
            file=sys.stderr,
        )
        return FAILED
    print(f"audit trail verified: {count} records, chain intact")
    return OK


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
    """Put a checked backup in place of the SQLite database (core.store.restore).

    Requirement: "a restored backup does not resend unmarked": reminders that
    may have gone out after the backup become uncertain (one marked repeat).
    """
    from datetime import UTC, datetime

    from core.store.restore import RestoreRefused, restore_sqlite

    try:
        done = restore_sqlite(settings.database_url, args.path, now=datetime.now(UTC))
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
    m.set_defaults(func=cmd_migrate)

    a = sub.add_parser("audit", help="the audit trail")
    audit_sub = a.add_subparsers(dest="audit_command", required=True)
    v = audit_sub.add_parser("verify", help="check the audit trail's hash chain")
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
