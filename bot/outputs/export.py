"""The statistician's files: an ``.xlsx`` workbook and a ``.zip`` of CSV files.

``trial.xlsx`` has one sheet per table (:data:`core.tables.workbook.WORKBOOK_SHEETS`);
``csv.zip`` holds ``labs.csv`` (the long-format lab file ``python -m bot
endpoints --labs`` reads) and the SDTM-style datasets (:data:`SDTM_CSV_NAMES`:
DM, DS, SV, EX, AE, SUPPAE, LB, QS, RS). Study IDs only: no names, no Telegram ids.
The export's day is the data cut-off: a planned visit whose window closed by
then with nothing recorded is "not done" in SV, as everywhere else.

The workbook's ``summary`` sheet, the ``endpoints`` sheet's reasons and the
visits' outcomes are as of the export's day, the data cut-off (a patient not
yet at week 24 is listed so, the figures marked interim). Numbers are numeric
cells shown with the digits they have (:func:`core.tables.cells.number_format`);
every sheet has a bold frozen header, a filter over its rows and columns sized
to their content (capped). The ``about`` sheet gives the export time the
caller passes (its clock), so the same database exported on the same day at
the same time gives byte-identical files: rows are sorted, the workbook's
document dates and every archive member's timestamp are fixed
(:data:`FIXED_TIME`), so two exports can be compared with a checksum; the CSV
files do not depend on the export time at all.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bot.outputs.summary import trial_summary
from bot.texts import ARM_NAMES
from core.endpoints import COLUMNS, PatientEndpoints
from core.protocol import Protocol
from core.tables.cells import Cell, Table, number_format, plain
from core.tables.lab_file import long_lab_rows
from core.tables.sdtm import SDTM_DOMAINS, SdtmOptions, sdtm_tables
from core.tables.workbook import ExportInfo, workbook_tables
from core.trial_records import TrialData

__all__ = [
    "CSV_NAMES",
    "FIXED_TIME",
    "LABS_CSV",
    "SDTM_CSV_NAMES",
    "WORKBOOK_NAME",
    "ZIP_NAME",
    "ExportFiles",
    "build_export",
    "write_export",
]

WORKBOOK_NAME = "trial.xlsx"
ZIP_NAME = "csv.zip"
LABS_CSV = "labs.csv"
SDTM_CSV_NAMES = tuple(f"{domain.lower()}.csv" for domain in SDTM_DOMAINS)
CSV_NAMES = (LABS_CSV, *SDTM_CSV_NAMES)
# Archive member times and the workbook's created/modified dates: fixed, so the
# same data gives the same bytes (ZIP's earliest representable time).
FIXED_TIME = datetime(1980, 1, 1)  # noqa: DTZ001 (openpyxl writes naive UTC)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class ExportFiles:
    """The export's files as bytes: the workbook, the archive, and each CSV by name."""

    workbook: bytes
    archive: bytes
    csvs: Mapping[str, bytes]


def _csv_bytes(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    # A byte-order mark: Excel on Chinese Windows reads a CSV without one as GBK and
    # garbles every Chinese word; csv readers that know UTF-8 (utf-8-sig) skip it.
    return buffer.getvalue().encode("utf-8-sig")


def _deterministic_zip(members: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
    return buffer.getvalue()


# The package's name in pyproject.toml: the about sheet's bot version.
PACKAGE = "lupus-trial-bot"
# Column widths in characters: wide enough for the longest value, but a long
# description or verbatim text does not push the next columns off the screen.
MAX_WIDTH = 60
_PADDING = 2


def bot_version() -> str:
    """The installed package's version (``unknown`` when run from a bare checkout)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"


def _shown(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


def _display_width(text: str) -> int:
    # Chinese characters take two columns of a spreadsheet's default font.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _column_widths(table: Table) -> list[int]:
    widths = [_display_width(name) for name in table.columns]
    for row in table.rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], _display_width(_shown(value)))
    return [min(width + _PADDING, MAX_WIDTH) for width in widths]


def _workbook_bytes(tables: Sequence[Table]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(table.name)
        sheet.append(list(table.columns))
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append(list(row))
        for row_cells in sheet.iter_rows(min_row=2):
            for cell in row_cells:
                # Numbers stay numbers; the format shows the digits they were entered with.
                shown_as = number_format(cell.value)
                if shown_as is not None:
                    cell.number_format = shown_as
        for i, width in enumerate(_column_widths(table), start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width
        last = get_column_letter(len(table.columns))
        sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"
        sheet.freeze_panes = "A2"
    book.properties.creator = "lupus-trial-bot"
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        # ExcelWriter.save (not openpyxl.save_workbook, which stamps "modified" with now).
        ExcelWriter(book, archive).save()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as written:
        members = [(info.filename, written.read(info)) for info in written.infolist()]
    return _deterministic_zip(members)


def build_export(
    data: TrialData,
    endpoints: Mapping[str, PatientEndpoints],
    protocol: Protocol,
    zone: tzinfo,
    today: date,
    exported_at: datetime,
) -> ExportFiles:
    """Every export file for ``data`` (endpoints from ``derive_trial_endpoints``), the
    response figures and visit outcomes as of ``today`` (the data cut-off);
    ``exported_at`` (aware, from the caller's clock) is the export time the workbook's
    ``about`` sheet gives. The CSV files do not depend on it."""
    labs = long_lab_rows(data)
    csvs: dict[str, bytes] = {
        LABS_CSV: _csv_bytes(COLUMNS, [[row[c] for c in COLUMNS] for row in labs])
    }
    options = SdtmOptions(
        study_id=protocol.trial.registry_id,
        arm_names={arm: ARM_NAMES.get(arm, arm) for arm in protocol.arms},
    )
    for table in sdtm_tables(data, options, zone, cutoff=today, endpoints=endpoints):
        rows = [[str(value) for value in row] for row in table.rows]
        csvs[f"{table.name.lower()}.csv"] = _csv_bytes(table.columns, rows)
    archive = _deterministic_zip([(name, csvs[name]) for name in CSV_NAMES])
    summary = trial_summary(data, endpoints, protocol, today)
    info = ExportInfo(
        exported_at=exported_at,
        cut_off=today,
        protocol_version=protocol.version,
        bot_version=bot_version(),
        arm_names={arm: ARM_NAMES.get(arm, arm) for arm in protocol.arms},
    )
    workbook = _workbook_bytes(workbook_tables(data, endpoints, zone, summary, info))
    return ExportFiles(workbook, archive, csvs)


def write_export(directory: Path, files: ExportFiles) -> list[Path]:
    """Write ``trial.xlsx``, ``csv.zip`` and each CSV into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / WORKBOOK_NAME, directory / ZIP_NAME]
    written[0].write_bytes(files.workbook)
    written[1].write_bytes(files.archive)
    for name in CSV_NAMES:
        path = directory / name
        path.write_bytes(files.csvs[name])
        written.append(path)
    return written
