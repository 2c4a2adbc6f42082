"""Rule tables read into rows that remember where they came from; the KBLI crosswalk and the
special provisions.

Every reader of :mod:`layers.rules` reads CSV and XLSX through :func:`read_sheets` or
:func:`read_table`, so a message about a bad value names the file, the sheet, the row as a
spreadsheet shows it and the column letter.

Problems a reader can step over (an empty matrix cell, a sub-zone name the plan does not know)
follow one rule everywhere: without a ``report`` the reader raises :class:`PlanInputError`; with a
:class:`QualityReport` it records a warning there and leaves the cell or row out. Nothing is
guessed.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from layers.errors import PlanInputError
from layers.model import CrosswalkEntry, RuleSet, SpecialProvision
from layers.report import Issue, QualityReport, Severity
from layers.rules.names import NameIndex

# -- reading sheets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """One worksheet, or one CSV file, as a grid: ``rows[i][j]`` is the spreadsheet's row ``i + 1``,
    column ``j + 1``. ``merged`` holds merged ranges, 0-based and inclusive:
    (first row, first column, last row, last column)."""

    file: str
    name: str | None
    rows: tuple[tuple[Any, ...], ...]
    merged: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def source(self) -> str:
        """The file, and the sheet where a workbook has sheets: for messages and issues."""
        return self.file if self.name is None else f"{self.file}, sheet '{self.name}'"

    def value(self, row: int, col: int) -> Any:
        cells = self.rows[row] if 0 <= row < len(self.rows) else ()
        return cells[col] if 0 <= col < len(cells) else None

    def at(self, row: int, col: int | None = None, label: str | None = None) -> str:
        """Where a cell is, as a spreadsheet shows it: ``row 17, column G (R-3)``."""
        where = f"row {row + 1}"
        if col is not None:
            where += f", column {get_column_letter(col + 1)}"
        return where + (f" ({label})" if label else "")

    def filled(self, first: int, last: int) -> list[list[Any]]:
        """Rows ``first..last`` with every merged range's value copied into all its cells, as a
        reader sees a header whose names span several columns or rows."""
        width = max((len(self.rows[r]) for r in range(first, last + 1)), default=0)
        grid = [[self.value(r, c) for c in range(width)] for r in range(first, last + 1)]
        for r0, c0, r1, c1 in self.merged:
            if r1 < first or r0 > last:
                continue
            top = self.value(r0, c0)
            for r in range(max(r0, first), min(r1, last) + 1):
                for c in range(c0, min(c1 + 1, width)):
                    grid[r - first][c] = top
        return grid

    def error(self, where: str, message: str) -> PlanInputError:
        return PlanInputError(f"{self.source}, {where}: {message}")


def read_sheets(path: Path | str) -> list[Sheet]:
    """Every worksheet of an XLSX workbook (cached formula values), or a CSV file as one sheet.

    CSV: UTF-8 (with or without BOM) or Windows-1252, comma or semicolon separated; empty fields
    are ``None`` as in a workbook.
    """
    path = Path(path)
    if not path.is_file():
        raise PlanInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _xlsx_sheets(path)
    if suffix == ".csv":
        return [_csv_sheet(path)]
    raise PlanInputError(f"{path.name}: a rule table must be CSV or XLSX, not '{path.suffix}'")


def _xlsx_sheets(path: Path) -> list[Sheet]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about parts it drops (data validation, conditional formats): no values
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise PlanInputError(f"{path.name}: cannot be read as an XLSX workbook ({exc})") from exc
    return [
        Sheet(
            file=path.name,
            name=ws.title,
            rows=tuple(ws.iter_rows(values_only=True)),
            merged=tuple(
                (m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1)
                for m in ws.merged_cells.ranges
            ),
        )
        for ws in book.worksheets
    ]


def _csv_sheet(path: Path) -> Sheet:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise PlanInputError(f"{path.name}: not UTF-8 or Windows-1252 text")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = tuple(tuple(v if v.strip() else None for v in row) for row in reader)
    return Sheet(file=path.name, name=None, rows=rows)


def pick_sheet(sheets: list[Sheet], name: str | None) -> Sheet:
    """The sheet called ``name``, or the first one."""
    if name is None:
        if not sheets:
            raise PlanInputError("the workbook has no worksheet")
        return sheets[0]
    for sheet in sheets:
        if sheet.name == name:
            return sheet
    names = ", ".join(repr(s.name) for s in sheets)
    file = sheets[0].file if sheets else "the workbook"
    raise PlanInputError(f"{file}: no sheet {name!r} (sheets: {names})")


@dataclass(frozen=True)
class Record:
    """One data row of a table: its 0-based row in the sheet and its values by column header."""

    row: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Table:
    """A sheet read as a header row and records; ``columns`` maps each header to its column."""

    sheet: Sheet
    columns: dict[str, int]
    records: tuple[Record, ...]

    def at(self, record: Record, column: str | None = None) -> str:
        col = self.columns.get(column) if column is not None else None
        return self.sheet.at(record.row, col, column)


def read_table(path: Path | str, *, sheet: str | None = None) -> Table:
    """A CSV file or a worksheet (the first unless named) read by :func:`table_of`."""
    return table_of(pick_sheet(read_sheets(path), sheet))


def table_of(grid: Sheet) -> Table:
    """A sheet whose first non-empty row is the header; blank rows skipped, columns without a
    header ignored."""
    header_row = next((i for i, row in enumerate(grid.rows) if any(map(text, row))), None)
    if header_row is None:
        raise PlanInputError(f"{grid.source}: the table is empty")
    columns: dict[str, int] = {}
    for col, value in enumerate(grid.rows[header_row]):
        name = text(value)
        if name is None:
            continue
        if name in columns:
            first = get_column_letter(columns[name] + 1)
            raise grid.error(
                grid.at(header_row, col), f"column {name!r} appears twice (also column {first})"
            )
        columns[name] = col
    records = tuple(
        Record(r, {name: grid.value(r, col) for name, col in columns.items()})
        for r in range(header_row + 1, len(grid.rows))
        if any(text(grid.value(r, col)) is not None for col in columns.values())
    )
    return Table(grid, columns, records)


# -- values ----------------------------------------------------------------------------------

_NUMBER = re.compile(r"\s*([-+]?\d[\d.,]*)\s*(.*?)\s*", re.DOTALL)
_UNIT = re.compile(r"%|[^\W\d_]+(?:[\s.]+[^\W\d_]+)*\.?[23²³]?")
_KBLI = re.compile(r"(?<!\d)\d{5}(?!\d)")
_DIGITS_ONLY = re.compile(r"[\d\s,;/.\-]*")


def text(value: Any) -> str | None:
    """A cell as stripped text, ``None`` when empty; a whole number prints without ``.0``.

    >>> text("  R-3 "), text(12.0), text("   ")
    ('R-3', '12', None)
    """
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def number(value: Any) -> float | None:
    """A cell as a number, ``None`` when empty. Takes a decimal comma and a unit after the number
    (``"51,29"``, ``"3 lantai"``, ``"20 %"``, ``"90 m2"``); a single ``.`` is a decimal point.
    Raises ValueError for anything else (a range such as ``"1-3"`` is not a number).

    >>> number("51,29"), number("3 lantai"), number(1.5), number(None)
    (51.29, 3.0, 1.5, None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return float(value)
    raw = str(value)
    if not raw.strip():
        return None
    match = _NUMBER.fullmatch(raw)
    if not match or (match.group(2) and not _UNIT.fullmatch(match.group(2))):
        raise ValueError(f"{raw!r} is not a number")
    digits = match.group(1)
    if "," in digits and "." in digits:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        digits = digits.replace(thousands, "").replace(decimal, ".")
    elif digits.count(",") == 1:
        digits = digits.replace(",", ".")
    elif digits.count(",") > 1:  # 1,234,567
        digits = digits.replace(",", "")
    elif digits.count(".") > 1:  # 1.234.567
        digits = digits.replace(".", "")
    try:
        return float(digits)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None


def kbli_codes(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The 5-digit KBLI codes a cell names, as text with their leading zeros, and the digit runs
    of a digits-only cell that are not 5 digits long (to report). A number cell is a KBLI code
    whose leading zeros the spreadsheet dropped.

    >>> kbli_codes(1111)
    (('01111',), ())
    >>> kbli_codes("01111, 01112")
    (('01111', '01112'), ())
    >>> kbli_codes("0111"), kbli_codes("-")
    (((), ('0111',)), ((), ()))
    """
    if value is None:
        return (), ()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 0 < value <= 99999:
            return (f"{int(value):05d}",), ()
        return (), (str(value),)
    raw = str(value)
    codes = tuple(dict.fromkeys(_KBLI.findall(raw)))
    rejected: tuple[str, ...] = ()
    if _DIGITS_ONLY.fullmatch(raw):
        rejected = tuple(run for run in re.findall(r"\d+", raw) if len(run) != 5)
    return codes, rejected


def label_key(value: Any) -> str:
    """A header label reduced to letters and digits, for matching ("Kode (KBLI)" -> "kodekbli")."""
    return re.sub(r"[^0-9a-z]", "", (text(value) or "").casefold())


# -- problems --------------------------------------------------------------------------------


def step_over(
    report: QualityReport | None, code: str, sheet: Sheet, where: str, message: str
) -> None:
    """A problem the reader can step over: raise without a report, record a warning with one."""
    if report is None:
        raise sheet.error(
            where, f"{message} (give the reader a report to leave it out with a warning)"
        )
    report.add(Issue(Severity.WARNING, code, message, source=sheet.source, feature=where))


def resolve_subzone(
    key: str,
    names: NameIndex | None,
    *,
    report: QualityReport | None,
    sheet: Sheet,
    where: str,
) -> str | None:
    """The sub-zone code for a table's key (a name or a code): through ``names`` when given,
    else the key itself. ``None`` when it cannot be resolved and the report takes the row."""
    if names is None:
        return key
    try:
        return names.resolve(key)
    except LookupError as exc:
        step_over(report, "subzone-unresolved", sheet, where, str(exc))
        return None


def typed_record(
    table: Table,
    record: Record,
    kinds: dict[str, type],
) -> dict[str, Any]:
    """A record of a canonical table (headers are field names) with each value parsed by its
    field's type (``float``, ``int`` or ``str``); a bad number names its cell."""
    out: dict[str, Any] = {}
    for column, value in record.values.items():
        kind = kinds[column]
        if kind is str:
            out[column] = text(value)
            continue
        try:
            parsed = number(value)
        except ValueError as exc:
            raise table.sheet.error(table.at(record, column), str(exc)) from None
        if kind is int and parsed is not None:
            if not parsed.is_integer():
                raise table.sheet.error(
                    table.at(record, column), f"{value!r} is not a whole number"
                )
            out[column] = int(parsed)
        else:
            out[column] = parsed
    return out


def field_kinds(cls: type) -> dict[str, type]:
    """Each field of a model dataclass with the type its cells parse to."""
    kinds = {"float | None": float, "int | None": int, "float": float, "int": int}
    return {f.name: kinds.get(str(f.type), str) for f in fields(cls)}


def check_columns(table: Table, cls: type, required: set[str]) -> dict[str, type]:
    """A canonical table's columns must be fields of ``cls`` and include ``required``."""
    kinds = field_kinds(cls)
    unknown = [c for c in table.columns if c not in kinds]
    missing = sorted(required - set(table.columns))
    if unknown or missing:
        problems = [f"unknown column(s) {', '.join(map(repr, unknown))}"] if unknown else []
        problems += [f"missing column(s) {', '.join(missing)}"] if missing else []
        raise PlanInputError(
            f"{table.sheet.source}: {'; '.join(problems)} (the columns are: {', '.join(kinds)})"
        )
    return kinds


# -- KBLI crosswalk --------------------------------------------------------------------------


def read_crosswalk(path: Path | str, *, report: QualityReport | None = None) -> RuleSet:
    """The KBLI crosswalk: a CSV or XLSX table ``kbli,kode`` (or ``kbli,activity_id``), one link
    per row, many to many. ``kode`` is the activity id of the matrix; a ``kbli`` cell may name
    several codes. KBLI codes are kept as 5-digit text."""
    table = read_table(path)
    keys = {label_key(c): c for c in table.columns}
    kbli_col = keys.get("kbli")
    activity_col = keys.get("kode") or keys.get("activityid")
    if kbli_col is None or activity_col is None:
        raise PlanInputError(
            f"{table.sheet.source}: a crosswalk needs the columns kbli and kode "
            f"(found: {', '.join(table.columns)})"
        )
    entries: dict[tuple[str, str], CrosswalkEntry] = {}
    for record in table.records:
        activity = text(record.values[activity_col])
        codes, rejected = kbli_codes(record.values[kbli_col])
        problem = None
        if rejected or not codes:
            problem = f"{text(record.values[kbli_col])!r} is not a 5-digit KBLI code"
        elif activity is None:
            problem = "the row names no activity"
        if problem:
            step_over(report, "crosswalk-row", table.sheet, table.at(record, kbli_col), problem)
            continue
        for code in codes:
            entries.setdefault((code, str(activity)), CrosswalkEntry(code, str(activity)))
    return RuleSet(crosswalk=tuple(entries.values()), sources=(Path(path).name,))


# -- special provisions ----------------------------------------------------------------------

#: Provision kinds by words of a Bintan-style table title ("TABEL KETENTUAN KHUSUS KAWASAN
#: RAWAN BENCANA"); the kinds follow the ATR/BPN flag names (KSMPDN as SEMPADAN).
PROVISION_KINDS: tuple[tuple[str, str], ...] = (
    ("keselamatan operasi penerbangan", "KKOP"),
    ("pertanian pangan berkelanjutan", "LP2B"),
    ("rawan bencana", "KRB"),
    ("evakuasi", "TEB"),
    ("sempadan", "SEMPADAN"),
    ("cagar budaya", "CAGBUD"),
    ("pertahanan dan keamanan", "HANKAM"),
    ("pertambangan", "PTBGMB"),
    ("karst", "KKARST"),
    ("resapan air", "RESAIR"),
    ("berorientasi transit", "TOD"),
    ("teknik pengaturan zonasi", "TPZ"),
)
_EFFECTS = {"forbid", "cap", "condition"}
_SOURCE_NOTE = re.compile(r"\(\s*sumber\s*:\s*(.+?)\s*\)\s*$", re.IGNORECASE | re.DOTALL)
_BINTAN_PROVISION_COLUMNS = {"tabel", "namasubzona", "kodeswp", "kodeblok", "luasha"}


def read_provisions(
    path: Path | str,
    *,
    names: NameIndex | None = None,
    report: QualityReport | None = None,
) -> RuleSet:
    """Special provisions (ketentuan khusus) from a CSV or XLSX table.

    Two layouts: the canonical one, whose columns are the :class:`SpecialProvision` field names
    (``provision``, ``effect``, ``text`` required), and Bintan's annex (``Tabel``, the provision's
    class, ``Nama Sub-Zona``, ``Kode SWP``, ``Kode Blok``, ``Luas (Ha)``, ``Ketentuan``): one
    provision per kind, class, block and text, its conditions verbatim, its legal basis the
    "(Sumber: ...)" the text cites or else the table's title; subtotal rows are skipped. With
    ``names``, each row's sub-zone name must resolve in the plan.
    """
    table = read_table(path)
    if set(table.columns) <= set(field_kinds(SpecialProvision)):
        provisions = _canonical_provisions(table)
    elif {label_key(c) for c in table.columns} >= _BINTAN_PROVISION_COLUMNS:
        provisions = _bintan_provisions(table, names, report)
    else:
        raise PlanInputError(
            f"{table.sheet.source}: not a special-provision table: expected the columns "
            f"{', '.join(field_kinds(SpecialProvision))} or Bintan's annex layout (Tabel, "
            f"Nama Sub-Zona, Kode SWP, Kode Blok, Luas (Ha), Ketentuan); found "
            f"{', '.join(table.columns)}"
        )
    return RuleSet(provisions=provisions, sources=(Path(path).name,))


def _canonical_provisions(table: Table) -> tuple[SpecialProvision, ...]:
    kinds = check_columns(table, SpecialProvision, {"provision", "effect", "text"})
    out = []
    for record in table.records:
        values = typed_record(table, record, kinds)
        for column in ("provision", "effect", "text"):
            if values[column] is None:
                raise table.sheet.error(table.at(record, column), f"{column} is empty")
        if values["effect"] not in _EFFECTS:
            raise table.sheet.error(
                table.at(record, "effect"),
                f"effect {values['effect']!r} is not one of {', '.join(sorted(_EFFECTS))}",
            )
        out.append(SpecialProvision(**values))
    return tuple(out)


def _bintan_provisions(
    table: Table, names: NameIndex | None, report: QualityReport | None
) -> tuple[SpecialProvision, ...]:
    by_key = {label_key(c): c for c in table.columns}
    text_col = by_key.get("ketentuan") or by_key.get("keterangan")
    others = [
        c
        for c in table.columns
        if label_key(c) not in _BINTAN_PROVISION_COLUMNS | {"ketentuan", "keterangan"}
    ]
    if text_col is None or len(others) != 1:
        raise PlanInputError(
            f"{table.sheet.source}: Bintan's provision layout needs a Ketentuan column and one "
            f"column for the provision's class (found: {', '.join(table.columns)})"
        )
    class_col, subzone_col = others[0], by_key["namasubzona"]
    title_col, block_col = by_key["tabel"], by_key["kodeblok"]
    seen: dict[tuple[str, str | None, str, str | None, str], SpecialProvision] = {}
    for record in table.records:
        row = record.values
        subzone, block = text(row[subzone_col]), text(row[block_col])
        if label_key(subzone) == "namasubzona" or subzone is None or block is None:
            continue  # a repeated header, or a subtotal by SWP, sub-zone or class
        title = text(row[title_col]) or ""
        kind = next((k for words, k in PROVISION_KINDS if words in title.casefold()), None)
        body = text(row[text_col])
        if kind is None or body is None:
            problem = f"unknown provision table {title!r}" if kind is None else "no provision text"
            step_over(report, "provision-row", table.sheet, table.at(record), problem)
            continue
        where = table.at(record, subzone_col)
        code = resolve_subzone(subzone, names, report=report, sheet=table.sheet, where=where)
        if code is None:
            continue
        subzone_code = code if names is not None else None
        klass = text(row[class_col])
        source = _SOURCE_NOTE.search(body)
        seen.setdefault(
            (kind, klass, block, subzone_code, body),
            SpecialProvision(
                provision=kind,
                effect="condition",
                text=body,
                klass=klass,
                block=block,
                subzone_code=subzone_code,
                legal_basis=source.group(1) if source else title,
            ),
        )
    return tuple(seen.values())
