"""The table type shared by the lab file, the workbook and SDTM, and how a value becomes a cell.

Pure. The helpers here are the formatting rules more than one table follows:
a decimal is written exactly as stored (no exponent), casts as ``none``,
``rbc``, ``wbc`` or ``rbc+wbc``, times as the site's local wall clock to the
minute, and a coded adverse event's CTCAE term looked up by key first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal

from core.adverse_events import match_term, term_by_key
from core.ctcae_terms import CtcaeTerm
from core.trial_records import AdverseEventRecord
from core.units import CastKind

__all__ = [
    "Cell",
    "Table",
    "casts_text",
    "coded_term",
    "decimal_or_none",
    "local_minute",
    "plain",
    "table_as_dicts",
]

Cell = str | int | Decimal | date | datetime | bool | None


@dataclass(frozen=True, slots=True)
class Table:
    """A named table: column names and rows (one value per column)."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def plain(value: Decimal) -> str:
    """The decimal as stored, without an exponent (``0.40`` stays ``0.40``)."""
    return format(value, "f")


def casts_text(kinds: frozenset[CastKind]) -> str:
    """Casts as ``none``, ``rbc``, ``wbc`` or ``rbc+wbc``."""
    names = sorted(kind.value for kind in kinds)
    return "+".join(names) if names else "none"


def local_minute(instant: datetime, zone: tzinfo) -> datetime:
    """Local wall-clock time, naive, minute precision: what the site's records show."""
    return instant.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def decimal_or_none(text: str | None) -> Decimal | None:
    """A stored decimal text as a number (``None`` stays empty)."""
    return None if text is None else Decimal(text)


def coded_term(event: AdverseEventRecord) -> CtcaeTerm | None:
    """A coded event's CTCAE term: by key, else the best match of the stored text; else none."""
    if not event.coded or not event.term:
        return None
    try:
        return term_by_key(event.term)
    except KeyError:
        match = match_term(event.term)
        return match.term if match is not None else None


def table_as_dicts(table: Table) -> list[dict[str, Cell]]:
    """A table's rows as dictionaries keyed by column (for tests and CSV writers)."""
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]
