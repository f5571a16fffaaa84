"""Annotation sheets as tables: read an .xlsx (as shipped) or its CSV export, write one back.

Releases disagree on layout: SAMM puts a 13-row preamble above its header, CASME-II has
blank spacer columns, CAS(ME)^3 stores frame numbers as text. So the header row is found
by content and columns by their (normalised) names, never by position. This module knows
nothing about any dataset; recipes pass the column names they need.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mepipe.errors import SheetError

#: how far down a header row may sit (SAMM's is on row 14)
_HEADER_SEARCH_ROWS = 50
_ZIP_MAGIC = b"PK\x03\x04"
#: an OLE2 compound file: a legacy .xls workbook (CAS(ME)^3 ships its sheets so)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
#: the one time stamped into written workbooks (properties and zip entries), so that the
#: same rows give the same bytes; 1980-01-01 is the earliest time a zip entry can hold
_WRITE_TIME = datetime(1980, 1, 1)


@dataclass(frozen=True)
class Table:
    """The data rows of one worksheet under a located header.

    Attributes
    ----------
    path : Path
        The file read.
    sheet : str
        Worksheet title (``""`` for a CSV file).
    header_row : int
        1-based row of the header, as Excel shows it.
    names : tuple
        Header cells as written (``None`` for blank spacer columns).
    columns : dict
        Requested column key -> index into each row's cells.
    rows : tuple
        ``(row_number, cells)`` for every non-blank row below the header; ``row_number``
        is 1-based as Excel shows it and ``cells`` is padded to ``len(names)``.
    """

    path: Path
    sheet: str
    header_row: int
    names: tuple
    columns: dict
    rows: tuple

    def raw(self, cells: Sequence[Any]) -> dict:
        """Header name -> original cell value of one row (spacer columns left out)."""
        return {name: cells[i] for i, name in enumerate(self.names) if name is not None}


def normalise_name(name: Any) -> str:
    """Column name reduced to lower-case letters and digits (``'Onset Frame'`` -> ``'onsetframe'``)."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower()) if name is not None else ""


def cell_text(value: Any) -> str:
    """A cell as stripped text; integral floats lose their ``.0`` (Excel stores 6 as 6.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def cell_int(value: Any) -> int | None:
    """A frame number from a cell (``355``, ``355.0``, ``'355'``, ``'355.0'``); ``None`` for junk."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = cell_text(value)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+\.0*", text):
        return int(text.split(".")[0])
    return None


def read_table(path: Path, columns: Mapping[str, Sequence[str]], sheets: Sequence[str] = ()) -> Table:
    """Read the worksheet of ``path`` that holds all ``columns``.

    Parameters
    ----------
    path : Path
        An ``.xlsx`` workbook or a ``.csv`` export of one worksheet.
    columns : mapping
        Key -> accepted header names (first one is named in errors); all are required.
    sheets : sequence of str
        Worksheet titles to try first; the others follow in workbook order.

    Raises
    ------
    SheetError
        The file is not a readable spreadsheet, or no row holds every required column.
    """
    path = Path(path)
    grids = _read_grids(path, sheets)
    best = None
    for title, grid in grids:
        found = _find_header(grid, columns)
        if found is not None and not found[2]:
            number, index, _ = found
            return _table(path, title, grid, number, index)
        if found is not None and (best is None or len(found[2]) < len(best[2])):
            best = (grid, found[0], found[2])
    if best is None:
        raise SheetError(f"{path}: empty sheet, no header row")
    grid, number, missing = best
    names = ", ".join(cell_text(c) for c in grid[number - 1] if cell_text(c))
    quoted = ", ".join(f"'{columns[key][0]}'" for key in missing)
    noun = "column" if len(missing) == 1 else "columns"
    raise SheetError(f"{path}: no {noun} {quoted} (found: {names or 'nothing'})")


def write_table(
    path: Path,
    header: Sequence[str | None],
    rows: Iterable[Sequence[Any]],
    *,
    sheet: str = "Sheet1",
    preamble: Sequence[Sequence[Any]] = (),
) -> Path:
    """Write ``preamble`` rows, ``header`` and ``rows`` as ``.xlsx`` (or ``.csv`` by suffix).

    Strings stay strings (``'01'`` is not turned into 1), ``None`` is a blank cell. The
    same arguments give the same bytes: no time of writing is recorded.
    """
    import openpyxl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [*preamble, header, *rows]
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerows([["" if c is None else c for c in line] for line in lines])
        return path
    book = openpyxl.Workbook(write_only=True)
    worksheet = book.create_sheet(sheet)
    for line in lines:
        worksheet.append(list(line))
    _save_workbook(book, path)
    return path


def write_workbook(path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> Path:
    """Write several worksheets, ``(title, rows)`` each, as one ``.xlsx``; no header is
    added (CAS(ME)^2's sheets have none). The same arguments give the same bytes."""
    import openpyxl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook(write_only=True)
    for title, rows in sheets:
        worksheet = book.create_sheet(title)
        for line in rows:
            worksheet.append(list(line))
    _save_workbook(book, path)
    return path


def read_grids(path: Path, sheets: Sequence[str] = ()) -> list[tuple[str, list[tuple]]]:
    """Every worksheet of ``path`` as ``(title, rows)``, those titled ``sheets`` first; a
    CSV file is one worksheet titled ``""``. For sheets without a header row, which
    :func:`read_table` cannot locate.

    Raises
    ------
    SheetError
        The file is missing or not a readable spreadsheet.
    """
    return _read_grids(Path(path), sheets)


def _save_workbook(book: Any, path: Path) -> None:
    """Save an openpyxl workbook with :data:`_WRITE_TIME` as every time stamp.

    ``Workbook.save`` stamps the *modified* property with the clock, and ``zipfile``
    stamps each entry with it too; so the workbook is written into memory with fixed
    properties, then its entries are copied into ``path`` under fixed dates.
    """
    from openpyxl.writer.excel import ExcelWriter

    book.properties.created = book.properties.modified = _WRITE_TIME
    buffer = io.BytesIO()
    # ExcelWriter.save closes the archive; stored uncompressed, it is deflated once below
    ExcelWriter(book, zipfile.ZipFile(buffer, "w")).save()
    with zipfile.ZipFile(buffer) as built, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in built.infolist():
            stamped = zipfile.ZipInfo(entry.filename, date_time=_WRITE_TIME.timetuple()[:6])
            out.writestr(stamped, built.read(entry), compress_type=zipfile.ZIP_DEFLATED)


def _read_grids(path: Path, sheets: Sequence[str]) -> list[tuple[str, list[tuple]]]:
    try:
        head = path.open("rb").read(4)
    except FileNotFoundError:
        raise SheetError(f"{path}: no such file") from None
    except OSError as exc:
        raise SheetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head == _ZIP_MAGIC:
        return _xlsx_grids(path, sheets)
    if head == _OLE_MAGIC:
        return _xls_grids(path, sheets)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise SheetError(f"{path}: not an .xlsx workbook (no zip signature)")
    if path.suffix.lower() != ".csv":
        raise SheetError(f"{path}: unsupported sheet format {path.suffix!r}; save it as .xlsx or .csv")
    return [("", _csv_grid(path))]


def _xlsx_grids(path: Path, sheets: Sequence[str]) -> list[tuple[str, list[tuple]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise SheetError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        titles = [t for t in sheets if t in book.sheetnames]
        titles += [t for t in book.sheetnames if t not in titles]
        grids = []
        for title in titles:
            worksheet = book[title]
            # the stored dimension can be stale; without this read-only mode may cut rows
            worksheet.reset_dimensions()
            grids.append((title, list(worksheet.iter_rows(values_only=True))))
        return grids
    except Exception as exc:
        raise SheetError(f"{path}: damaged .xlsx workbook ({type(exc).__name__})") from None
    finally:
        book.close()


def _xls_grids(path: Path, sheets: Sequence[str]) -> list[tuple[str, list[tuple]]]:
    try:
        import xlrd  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ModuleNotFoundError:
        raise SheetError(
            f"{path}: a legacy .xls workbook; reading it needs xlrd (pip install xlrd), or save it as .xlsx or .csv"
        ) from None
    try:
        book = xlrd.open_workbook(str(path))
    except Exception as exc:  # xlrd raises several types for a damaged file
        raise SheetError(f"{path}: not a readable .xls workbook ({type(exc).__name__})") from None
    titles = [t for t in sheets if t in book.sheet_names()]
    titles += [t for t in book.sheet_names() if t not in titles]
    grids = []
    for title in titles:
        worksheet = book.sheet_by_name(title)
        grids.append(
            (title, [tuple(c if c != "" else None for c in worksheet.row_values(r)) for r in range(worksheet.nrows)])
        )
    return grids


def _csv_grid(path: Path) -> list[tuple]:
    data = path.read_bytes()
    if b"\x00" in data:
        raise SheetError(f"{path}: binary file, not a CSV text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Excel on Windows exports CSV in the ANSI code page
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise SheetError(f"{path}: not a UTF-8 or cp1252 text CSV") from None
    try:
        return [tuple(c if c != "" else None for c in row) for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise SheetError(f"{path}: malformed CSV ({exc})") from None


def _find_header(
    grid: list[tuple], columns: Mapping[str, Sequence[str]]
) -> tuple[int, dict[str, int], list[str]] | None:
    """``(row_number, key -> index, missing keys)`` of the best header candidate, or None."""
    wanted = {key: {normalise_name(n) for n in names} for key, names in columns.items()}
    best = None
    for number, cells in enumerate(grid[:_HEADER_SEARCH_ROWS], start=1):
        normalised = [normalise_name(c) for c in cells]
        if not any(normalised):
            continue
        index = {}
        for key, names in wanted.items():
            hits = [i for i, n in enumerate(normalised) if n in names]
            if hits:
                index[key] = hits[0]
        missing = [key for key in columns if key not in index]
        if best is None or len(missing) < len(best[2]):
            best = (number, index, missing)
        if not missing:
            break
    return best


def _table(path: Path, title: str, grid: list[tuple], number: int, index: dict) -> Table:
    header = grid[number - 1]
    width = max((i + 1 for i, c in enumerate(header) if cell_text(c)), default=0)
    names = tuple(cell_text(c) or None for c in header[:width])
    rows = []
    for row_number, cells in enumerate(grid[number:], start=number + 1):
        padded = tuple(cells[:width]) + (None,) * (width - len(cells))
        if any(cell_text(c) for c in padded):
            rows.append((row_number, padded))
    return Table(path, title, number, names, dict(index), tuple(rows))


def read_text_file(path: Path, what: str) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark dropped), or a one-line SheetError
    naming it: no such file, a folder rather than ``what``, not UTF-8, unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SheetError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SheetError(f"{path}: a folder, not {what}") from None
    except UnicodeDecodeError:
        raise SheetError(f"{path}: not {what} (not UTF-8 text)") from None
    except OSError as exc:
        raise SheetError(f"{path}: cannot read ({exc.strerror or exc})") from None
