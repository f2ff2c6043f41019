"""The table type shared by the lab file, the workbook and SDTM, and how a value becomes a cell.

Pure. The helpers here are the formatting rules more than one table follows:
a decimal is written exactly as stored (no exponent), casts as ``none``,
``rbc``, ``wbc`` or ``rbc+wbc``, times as the site's local wall clock to the
minute, and a coded adverse event's CTCAE term looked up by key first.

A table's cells are typed: a number is an ``int`` or a ``Decimal`` (whose
exponent is the precision it was entered or computed with), a day a ``date``,
a time a ``datetime``, anything else text. The CSV and SDTM writers turn every
cell into text (``str``, so ``Decimal("0.30")`` stays ``0.30``); the workbook
writes numbers as numeric cells and shows the same digits through
:func:`number_format`.
"""

from __future__ import annotations

import re
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
    "number_format",
    "number_or_text",
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


# More places than any entered value has: a computed figure already rounded to its
# own places (proportions, six) keeps them; nothing shows a 28-digit quotient.
MAX_PLACES = 6
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def number_format(value: Cell) -> str | None:
    """The spreadsheet number format that shows ``value`` as stored: ``0.00`` for
    ``Decimal("1.25")``, ``0`` for an integer, the date or minute for a day or a
    time; None for text (and booleans), which keep the default."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "0"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        places = min(-exponent, MAX_PLACES) if isinstance(exponent, int) and exponent < 0 else 0
        return "0." + "0" * places if places else "0"
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm:ss" if value.second else "yyyy-mm-dd hh:mm"
    if isinstance(value, date):
        return "yyyy-mm-dd"
    return None


def number_or_text(text: str | None) -> Decimal | str | None:
    """A value entered as text, as a number when it is a plain decimal (``0.30``, ``75``),
    else the text as entered (``<0.5``, ``rbc+wbc``): a spreadsheet can then compute
    with the numbers and nothing entered is lost."""
    if text is None:
        return None
    stripped = text.strip()
    return Decimal(stripped) if _PLAIN_NUMBER.match(stripped) else text


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
