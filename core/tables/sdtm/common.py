"""What every SDTM-style dataset shares: study options, study day, ISO 8601 text, --SEQ.

Pure. Dates are ISO 8601 (``YYYY-MM-DD``; date-times ``YYYY-MM-DDThh:mm`` in the
trial's local time). Source: CDISC SDTMIG v3.4 (ISO 8601 dates, study day, --SEQ).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from core.tables.cells import Cell, Table, plain
from core.units import Unit

__all__ = [
    "CT_UNITS",
    "Row",
    "SdtmOptions",
    "ct_unit",
    "iso",
    "numbered",
    "sdtm_study_day",
    "sdtm_table",
    "visit",
    "yn",
]

Row = dict[str, Cell]


@dataclass(frozen=True, slots=True)
class SdtmOptions:
    """Study-level values SDTM needs that the records don't hold.

    ``arm_names`` maps an arm code to its description (ARM); a missing one is
    the code itself. ``site_id`` and ``country`` (ISO 3166-1 alpha-3) are for
    the single centre in Nanjing, China (docs/registry-record.txt: "single-center",
    "Nanjing, Jiangsu, China").
    """

    study_id: str
    arm_names: Mapping[str, str] = field(default_factory=dict)
    site_id: str = "01"
    country: str = "CHN"


# CDISC controlled terminology, UNIT codelist (C71620): the stored unit code -> the
# CT submission value. Units the codelist spells as the store does are left out.
CT_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        Unit.PER_HPF.value: "/HPF",
        Unit.G_PER_24H.value: "g/day",
        Unit.MG_PER_24H.value: "mg/day",
        "µmol/L": "umol/L",
        "/µL": "/uL",
    }
)


def ct_unit(unit: str | None) -> str | None:
    """The unit in CDISC CT spelling (``/hpf`` -> ``/HPF``, ``g/24h`` -> ``g/day``)."""
    if unit is None:
        return None
    return CT_UNITS.get(unit, CT_UNITS.get(unit.lower(), unit))


def sdtm_study_day(reference: date, day: date) -> int:
    """SDTM study day: the reference start date is day 1, the day before it day -1.

    Rule: --DY = (date - RFSTDTC) + 1 on or after RFSTDTC, else date - RFSTDTC
    (SDTMIG v3.4 section 4.4.4: there is no study day 0).
    """
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


def iso(value: date | datetime | None) -> str:
    """ISO 8601 text: a date, or a local date-time to the minute."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.isoformat()


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, date | datetime):
        return iso(value)
    return str(value)


def sdtm_table(name: str, columns: tuple[str, ...], rows: Iterable[Mapping[str, Cell]]) -> Table:
    """The rows as text in ``columns`` order (empty for a null)."""
    return Table(name, columns, tuple(tuple(_text(row.get(c)) for c in columns) for row in rows))


def numbered(name: str, columns: tuple[str, ...], seq: str, rows: list[Row], study: str) -> Table:
    """STUDYID, DOMAIN and --SEQ (1, 2, ... within a subject, in the rows' sorted order)."""
    counters: dict[Cell, int] = {}
    for row in rows:
        counters[row["USUBJID"]] = counters.get(row["USUBJID"], 0) + 1
        row.update(STUDYID=study, DOMAIN=name, **{seq: counters[row["USUBJID"]]})
    return sdtm_table(name, columns, rows)


def visit(week: int | None) -> tuple[Cell, Cell]:
    """VISITNUM and VISIT of a protocol week (the visit is the week)."""
    return (None, None) if week is None else (week, f"WEEK {week}")


def yn(value: bool) -> str:
    return "Y" if value else "N"
