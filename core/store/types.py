"""Column types that keep instants and clinical numbers exact on both databases.

- :class:`UtcDateTime`: every instant is stored in UTC and comes back aware in
  UTC, on SQLite (which has no time-zone type) and on PostgreSQL
  (``timestamptz``, returned in the session's zone). A naive datetime is
  refused when bound: the requirement says "All instants are stored in UTC and come
  back time-zone aware on both databases", and a naive value cannot be placed
  on the time line without guessing.
- :class:`DecimalText`: a clinical value is stored as the text that was
  entered ("0.90" stays "0.90", not 0.9 and not a binary float), after
  checking that it is a finite decimal number. Requirement: "clinical values keep
  their exact decimal text".
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached the database layer."""


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant, stored in UTC, returned aware in UTC.

    PostgreSQL stores ``timestamp with time zone``; SQLite stores the UTC wall
    clock as text in one fixed format, so comparisons in SQL stay correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                "naive datetime refused: the store keeps aware instants only (pass tzinfo)"
            )
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite's DATETIME text has no offset; everything in it is UTC.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def check_decimal_text(value: str) -> str:
    """Return ``value`` unchanged if it is the text of a finite decimal number.

    Refuses empty text, NaN and infinities; surrounding whitespace is refused
    too, so what is stored is exactly what the rules parsed.
    """
    if value != value.strip() or not value:
        raise ValueError(f"not a decimal number: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite decimal number: {value!r}")
    return value


class DecimalText(TypeDecorator[str]):
    """A decimal number kept as the exact text entered (``"0.90"``, ``"69"``).

    A :class:`~decimal.Decimal` may be bound too; it is stored as ``str(value)``,
    which keeps its exponent ("0.90" stays "0.90").
    """

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            value = str(value)
        if not isinstance(value, str):
            # A float has already lost the entered text; refuse it.
            raise TypeError(f"expected decimal text or Decimal, got {type(value).__name__}")
        return check_decimal_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return value
