"""AUDIT_KEY: the key that signs the audit chain's head (:mod:`core.store.anchor`).

Requirement: "an HMAC key that is not stored in the database (``AUDIT_KEY``,
required in production, generated for rehearsals)". Whoever can rewrite the
database must not also hold the key, so it lives in the environment (a
secret store) in production. A rehearsal (every channel a local server, see
:func:`bot.runner.is_rehearsal`) generates one on first start and keeps it in
the data folder beside its SQLite file (``audit.key``; ``data/audit.key`` for
a rehearsal on PostgreSQL), outside the database all the same.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import SettingError, Settings
from core.store.db import normalise_url, sqlite_path

# As for PAGE_SECRET: long enough that guessing it is out of the question.
MIN_LENGTH = 32
KEY_FILE = "audit.key"
_GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def rehearsal_key_file(settings: Settings) -> Path:
    """Where a rehearsal keeps its generated key: beside its SQLite file, else ``data/``."""
    url = settings.database_url
    path = sqlite_path(url) if normalise_url(url).get_backend_name() == "sqlite" else None
    folder = path.parent if path is not None else Path("data")
    return folder / KEY_FILE


def _from_setting(settings: Settings) -> bytes | None:
    if settings.audit_key is None:
        return None
    value = settings.audit_key.get_secret_value()
    if len(value) < MIN_LENGTH:
        raise SettingError(
            f"AUDIT_KEY must be at least {MIN_LENGTH} characters, e.g. the output of {_GENERATE}"
        )
    return value.encode("utf-8")


def audit_key(settings: Settings, *, rehearsal: bool) -> bytes:
    """The key for ``run``: AUDIT_KEY; for a rehearsal without it, its generated key.

    In production a missing AUDIT_KEY is a :class:`SettingError` naming it.
    """
    key = _from_setting(settings)
    if key is not None:
        return key
    if not rehearsal:
        raise SettingError(
            "AUDIT_KEY is not set: the bot signs the audit trail's head with it, kept outside "
            f"the database (set it to at least {MIN_LENGTH} random characters, e.g. {_GENERATE})"
        )
    file = rehearsal_key_file(settings)
    if file.exists():
        return file.read_text(encoding="utf-8").strip().encode("utf-8")
    file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Readable by its owner only, like the database beside it should be.
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value.encode("utf-8")


def key_for_checking(settings: Settings) -> bytes:
    """The key ``audit verify --anchor`` checks with: AUDIT_KEY, else a rehearsal's key
    file; neither is a :class:`SettingError` naming AUDIT_KEY."""
    key = _from_setting(settings)
    if key is not None:
        return key
    file = rehearsal_key_file(settings)
    if file.exists():
        return file.read_text(encoding="utf-8").strip().encode("utf-8")
    raise SettingError(
        "AUDIT_KEY is not set: checking an anchor needs the key the bot signed it with "
        f"(or a rehearsal's {file})"
    )
