"""The ITBX activity matrix: for each kegiatan and sub-zone, I (permitted), T (permitted with
limits), B (permitted with conditions) or X (not permitted), and the plan's legend for each code.

Three shapes are read (see docs/rule-tables.md): the annex as published (title rows, header rows
whose names span merged cells, a row of sub-zone codes, the legend under the matrix), a wide table
whose header row is the codes row, and a long table with one row per activity and sub-zone.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from layers.errors import PlanInputError
from layers.model import Activity, CrosswalkEntry, ItbxCell, ItbxClass, LegendEntry, RuleSet
from layers.report import QualityReport
from layers.rules.tables import (
    Sheet,
    Table,
    kbli_codes,
    label_key,
    pick_sheet,
    read_sheets,
    read_table,
    step_over,
    table_of,
    text,
)

#: A sub-zone code as matrices print them: BA, HPK, RTH-4, SPU-2.3.
_SUBZONE_CODE = re.compile(r"[A-Z][A-Z0-9]{0,7}(?:-\d+(?:\.\d+)*[a-z]?)?")
#: A value that could be a matrix cell rather than a sub-zone code.
_CELL_LIKE = re.compile(r"[ITBX]\d{0,2}")
#: A legend line: "T1 : Terbatas ...".
_LEGEND_LINE = re.compile(r"\s*([ITBX]\d{0,2})\s*[:=]\s*(\S.*?)\s*", re.DOTALL)
_CELL_SEPARATORS = re.compile(r"[\s,;.+/]+")
_ROLES = {
    "no": "no",
    "nomor": "no",
    "kode": "kode",
    "kodekegiatan": "kode",
    "kbli": "kbli",
    "kodekbli": "kbli",
    "kegiatan": "kegiatan",
    "jeniskegiatan": "kegiatan",
    "namakegiatan": "kegiatan",
    "kelompok": "kelompok",
    "kelompokkegiatan": "kelompok",
    "zonasi": "kelompok",
}
_HEADER_SEARCH_ROWS = 60
_CODES_ROW_SEARCH = 8
_NO_LEGEND = {
    ItbxClass.I: "diizinkan (permitted)",
    ItbxClass.T: "terbatas (permitted with limits)",
    ItbxClass.B: "bersyarat (permitted with conditions)",
    ItbxClass.X: "tidak diizinkan (not permitted)",
}


def read_itbx(
    path: Path | str,
    *,
    sheet: str | None = None,
    legend: Path | str | None = None,
    report: QualityReport | None = None,
) -> RuleSet:
    """The matrix of a CSV or XLSX file: sub-zones, activities, cells, legend and the crosswalk
    from the rows' KBLI codes.

    ``sheet`` names the matrix's sheet; by default it is the largest sheet with a codes row under
    a "Kegiatan" header. ``legend`` is a legend file (text lines ``T1 : ...``, or a CSV/XLSX
    ``kode,kelas,teks``) that replaces the one under the matrix; a matrix with neither gets
    generic entries for I, T, B and X that say the plan gives no text. A cell code the legend does
    not define is an error; an empty cell is reported (see :mod:`layers.rules.tables`).
    """
    path = Path(path)
    sheets = read_sheets(path)
    first = pick_sheet(sheets, sheet)
    header = next((row for row in first.rows if any(map(text, row))), ())
    if {"subzona", "ketentuan", "kegiatan"} <= {label_key(c) for c in header}:
        return _read_long(table_of(first), path, legend, report)
    layout = _find_matrix(sheets, sheet)
    return _read_grid(layout, path, legend, report)


def read_legend(path: Path | str, *, hint: str | None = None) -> tuple[LegendEntry, ...]:
    """A legend file: text lines ``CODE : text`` (other lines are section headings; where there are
    several sections, the one whose heading shares a word with ``hint``, e.g. the matrix's sheet
    and file name, is read), or a CSV/XLSX table ``kode,kelas,teks``."""
    path = Path(path)
    if path.suffix.lower() != ".txt":
        return _legend_table(read_table(path))
    if not path.is_file():
        raise PlanInputError(f"{path}: no such file")
    sections: list[tuple[str, dict[str, tuple[int, str]]]] = [("", {})]
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        match = _LEGEND_LINE.fullmatch(line)
        if match is None:
            if line.strip():
                sections.append((line.strip(), {}))
            continue
        entries = sections[-1][1]
        if match.group(1) in entries:
            raise PlanInputError(
                f"{path.name}, line {number}: {match.group(1)} is defined twice in one section "
                f"(also line {entries[match.group(1)][0]})"
            )
        entries[match.group(1)] = (number, match.group(2))
    found = [s for s in sections if s[1]]
    if len(found) > 1:
        words = set(re.findall(r"[0-9a-z]+", (hint or "").casefold()))
        found = [s for s in found if words & set(re.findall(r"[0-9a-z]+", s[0].casefold()))]
        if len(found) != 1:
            headings = ", ".join(repr(s[0]) for s in sections if s[1])
            raise PlanInputError(
                f"{path.name}: the legend has sections {headings} and {len(found)} of them name "
                f"the matrix ({hint!r}); give a legend file with one section"
            )
    if not found:
        raise PlanInputError(f"{path.name}: no legend lines such as 'T1 : ...'")
    return tuple(_entry(code, body) for code, (_, body) in found[0][1].items())


def activity_slug(group: str | None, name: str) -> str:
    """A stable id for an activity without a unique code: its group and name as a slug, cut to
    fit 96 characters with a hash of the whole.

    >>> activity_slug("Penghijauan", "Taman Kota")
    'penghijauan.taman-kota'
    """

    def slug(value: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
        return re.sub(r"[^0-9a-z]+", "-", ascii_text.casefold()).strip("-")

    full = ".".join(s for s in (slug(group or ""), slug(name)) if s)
    if len(full) <= 96 and full:
        return full
    digest = hashlib.sha1(f"{group}\x1f{name}".encode()).hexdigest()[:8]
    return f"{full[:87].rstrip('-.')}-{digest}".lstrip("-")


# -- the matrix, whatever its shape ----------------------------------------------------------


_INTENSITY = re.compile(r"intensitas\D{0,40}?(\d+(?:[.,]\d+)?)\s*%", re.IGNORECASE)
_DISTANCE = re.compile(r"jarak\D{0,40}?(\d+(?:[.,]\d+)?)\s*(?:m\b|meter)", re.IGNORECASE)


def legend_entry(code: str, klass: ItbxClass, body: str) -> LegendEntry:
    """A legend entry with what its text states in numbers: an intensity share ("pembatasan
    intensitas 20%") and a minimum distance ("jarak minimal 100 meter").

    >>> legend_entry("T3", ItbxClass.T, "Terbatas dengan jarak minimal 100 meter").min_distance_m
    100.0
    """
    share, distance = _INTENSITY.search(body), _DISTANCE.search(body)
    return LegendEntry(
        code=code,
        klass=klass,
        text=body,
        intensity_pct=float(share.group(1).replace(",", ".")) if share else None,
        min_distance_m=float(distance.group(1).replace(",", ".")) if distance else None,
    )


def _entry(code: str, body: str) -> LegendEntry:
    return legend_entry(code, ItbxClass(code[0]), body)


def _generic_legend() -> tuple[LegendEntry, ...]:
    return tuple(
        LegendEntry(
            code=klass.value,
            klass=klass,
            text=f"{label}; the plan's matrix has no legend, so the plan gives no further text",
        )
        for klass, label in _NO_LEGEND.items()
    )


class _Matrix:
    """Collects one matrix's activities, cells and crosswalk, checking each code against the
    legend."""

    def __init__(
        self, sheet: Sheet, legend: tuple[LegendEntry, ...], report: QualityReport | None
    ) -> None:
        self.sheet, self.legend, self.report = sheet, legend, report
        self.defined = {e.code for e in legend}
        self.activities: dict[str, Activity] = {}
        self.rows: dict[str, int] = {}
        self.cells: list[ItbxCell] = []
        self.crosswalk: dict[tuple[str, str], CrosswalkEntry] = {}

    def activity(
        self, row: int, ident: str, name: str, group: str | None, kbli: tuple[Any, int | None]
    ) -> bool:
        """Add an activity; False (reported) when its id repeats an earlier row's."""
        if ident in self.activities:
            step_over(
                self.report,
                "itbx-duplicate-activity",
                self.sheet,
                self.sheet.at(row),
                f"activity {name!r} repeats row {self.rows[ident] + 1} (id {ident!r}); "
                "the first is kept",
            )
            return False
        value, col = kbli
        codes, rejected = kbli_codes(value)
        if rejected:
            step_over(
                self.report,
                "kbli-invalid",
                self.sheet,
                self.sheet.at(row, col),
                f"{', '.join(rejected)} is not a 5-digit KBLI code",
            )
        self.activities[ident] = Activity(id=ident, name=name, group=group, kbli=codes)
        self.rows[ident] = row
        for code in codes:
            self.crosswalk.setdefault((code, ident), CrosswalkEntry(kbli=code, activity_id=ident))
        return True

    def cell(self, row: int, col: int, ident: str, subzone: str, value: Any) -> None:
        raw = value if isinstance(value, str) else text(value)
        where = self.sheet.at(row, col, subzone)
        if raw is None or not raw.strip():
            name = self.activities[ident].name
            message = f"no ITBX code for {name!r} in sub-zone {subzone}"
            step_over(self.report, "itbx-empty-cell", self.sheet, where, message)
            return
        codes = tuple(dict.fromkeys(c for c in _CELL_SEPARATORS.split(raw.upper()) if c))
        for code in codes:
            if code not in self.defined:
                raise self.sheet.error(
                    where,
                    f"code {code!r} (cell {raw!r}) is not defined by the legend "
                    f"(it defines {', '.join(sorted(self.defined))})",
                )
        self.cells.append(ItbxCell(activity_id=ident, subzone_code=subzone, codes=codes, raw=raw))

    def rules(self, subzones: dict[str, str], sources: tuple[str, ...]) -> RuleSet:
        return RuleSet(
            subzones=subzones,
            activities=tuple(self.activities.values()),
            cells=tuple(self.cells),
            legend=self.legend,
            crosswalk=tuple(self.crosswalk.values()),
            sources=sources,
        )


# -- the grid: the annex as published, or a wide table ----------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where a sheet's matrix is: header row, codes row (0-based), label columns by role, and
    each sub-zone column with its code and name."""

    sheet: Sheet
    header: int
    codes_row: int
    roles: dict[str, int]
    subzones: tuple[tuple[int, str, str], ...]


def _find_matrix(sheets: list[Sheet], name: str | None) -> _Layout:
    if name is not None:
        chosen = pick_sheet(sheets, name)
        found = _locate(chosen)
        if isinstance(found, str):
            raise PlanInputError(f"{chosen.source}: {found}")
        return found
    layouts = [_locate(s) for s in sheets]
    matrices = [x for x in layouts if isinstance(x, _Layout)]
    if not matrices:
        why = "; ".join(f"{s.source}: {x}" for s, x in zip(sheets, layouts, strict=True))
        raise PlanInputError(f"no ITBX matrix found: {why}")
    return max(matrices, key=lambda x: len(x.sheet.rows) - x.codes_row)


def _locate(sheet: Sheet) -> _Layout | str:
    """The sheet's matrix layout, or why it has none."""
    header: int | None = None
    roles: dict[str, int] = {}
    for r in range(min(len(sheet.rows), _HEADER_SEARCH_ROWS)):
        roles = {}
        for c, value in enumerate(sheet.rows[r]):
            role = _ROLES.get(label_key(value))
            if role is not None:
                roles.setdefault(role, c)
        if "kegiatan" in roles:
            header = r
            break
    if header is None:
        return f"no 'Kegiatan' column header in the first {_HEADER_SEARCH_ROWS} rows"
    last = min(len(sheet.rows), header + _CODES_ROW_SEARCH) - 1
    for r in range(header, last + 1):
        found = [
            (c, str(text(v)))
            for c, v in enumerate(sheet.rows[r])
            if c not in roles.values() and text(v) is not None
        ]
        if (
            found
            and all(_SUBZONE_CODE.fullmatch(v) for _, v in found)
            and not all(_CELL_LIKE.fullmatch(v) for _, v in found)
        ):
            return _Layout(sheet, header, r, roles, _subzones(sheet, header, r, found))
    return (
        f"no row of sub-zone codes under the 'Kegiatan' header of row {header + 1}: expected, "
        f"in rows {header + 1}-{last + 1}, a row whose cells beside the labels hold only codes "
        "such as BA, PS, RTH-4, R-3, SPU-1"
    )


def _subzones(
    sheet: Sheet, header: int, codes_row: int, found: list[tuple[int, str]]
) -> tuple[tuple[int, str, str], ...]:
    """Each code column with its name: the lowest header row above the codes that names it
    (merged cells spread), else the top header row, else the code itself."""
    columns: dict[str, list[int]] = {}
    for col, code in found:
        columns.setdefault(code, []).append(col)
    for code, cols in columns.items():
        if len(cols) > 1:
            letters = ", ".join(get_column_letter(c + 1) for c in cols)
            message = f"sub-zone code {code!r} heads more than one column ({letters})"
            raise sheet.error(sheet.at(codes_row), message)
    grid = sheet.filled(header, codes_row - 1) if codes_row > header else []
    out = []
    for col, code in found:
        names = [text(row[col]) for row in grid if col < len(row)]
        below_top = [n for n in names[1:] if n]
        name = below_top[-1] if below_top else (names[0] if names and names[0] else code)
        out.append((col, code, " ".join(name.split())))
    return tuple(out)


def _legend_row(row: tuple[Any, ...]) -> tuple[str, str] | None:
    """A legend line in a row: ``"T1 : text"`` in one cell, or the code and the text in two."""
    texts = [t for t in map(text, row) if t]
    if not texts:
        return None
    match = _LEGEND_LINE.fullmatch(texts[0])
    if match:
        return match.group(1), match.group(2)
    if _CELL_LIKE.fullmatch(texts[0]) and len(texts) > 1:
        return texts[0], texts[1].lstrip(":= ").strip()
    return None


def _sheet_legend(layout: _Layout) -> tuple[int, tuple[LegendEntry, ...]]:
    """Where the data ends (the first legend line under the matrix) and the legend there."""
    sheet, cols = layout.sheet, [c for c, _, _ in layout.subzones]
    start = next(
        (
            r
            for r in range(layout.codes_row + 1, len(sheet.rows))
            if not any(text(sheet.value(r, c)) for c in cols) and _legend_row(sheet.rows[r])
        ),
        len(sheet.rows),
    )
    entries: dict[str, LegendEntry] = {}
    for r in range(start, len(sheet.rows)):
        line = _legend_row(sheet.rows[r])
        if line is None:
            continue
        if line[0] in entries:
            raise sheet.error(sheet.at(r), f"the legend defines {line[0]} twice")
        entries[line[0]] = _entry(*line)
    return start, tuple(entries.values())


def _ident(value: Any, is_kbli: bool) -> str | None:
    """A row's code as an id: text with a letter or digit; a number from a KBLI column gets its
    leading zeros back."""
    if is_kbli and isinstance(value, int | float) and kbli_codes(value)[0]:
        return kbli_codes(value)[0][0]
    out = text(value)
    return out if out and any(ch.isalnum() for ch in out) else None


def _read_grid(
    layout: _Layout, path: Path, legend: Path | str | None, report: QualityReport | None
) -> RuleSet:
    sheet, roles = layout.sheet, layout.roles
    end, in_sheet = _sheet_legend(layout)
    entries = _choose_legend(legend, in_sheet, f"{sheet.name or ''} {path.stem}")
    matrix = _Matrix(sheet, entries, report)
    id_col = roles.get("kode", roles.get("kbli"))
    kbli_col = roles.get("kbli", roles.get("kode"))
    group_col = roles.get("kelompok")
    heading: str | None = None
    rows = []
    for r in range(layout.codes_row + 1, end):
        name = text(sheet.value(r, roles["kegiatan"]))
        ident = None if id_col is None else _ident(sheet.value(r, id_col), id_col == kbli_col)
        texts = [t for t in map(text, sheet.rows[r]) if t]
        has_cells = any(text(sheet.value(r, c)) for c, _, _ in layout.subzones)
        if not texts:
            continue
        if not has_cells and (name is None or (ident is None and group_col is None)):
            if group_col is None:  # a heading such as "A. Pertanian" groups the rows under it
                heading = name or texts[0]
            continue
        if name is None:
            message = "the row has ITBX cells but no kegiatan"
            step_over(report, "itbx-unnamed-row", sheet, sheet.at(r), message)
            continue
        group = text(sheet.value(r, group_col)) if group_col is not None else heading
        rows.append((r, name, group, ident))
    counts = Counter(ident for *_, ident in rows if ident)
    for r, name, group, ident in rows:
        if not ident or counts[ident] > 1:
            ident = activity_slug(group, name)
        kbli = (sheet.value(r, kbli_col) if kbli_col is not None else None, kbli_col)
        if not matrix.activity(r, ident, name, group, kbli):
            continue
        for col, code, _ in layout.subzones:
            matrix.cell(r, col, ident, code, sheet.value(r, col))
    subzones = {code: name for _, code, name in layout.subzones}
    return matrix.rules(subzones, _sources(path, legend))


def _choose_legend(
    legend: Path | str | None, in_sheet: tuple[LegendEntry, ...], hint: str
) -> tuple[LegendEntry, ...]:
    if legend is not None:
        return read_legend(legend, hint=hint)
    return in_sheet or _generic_legend()


def _sources(path: Path, legend: Path | str | None) -> tuple[str, ...]:
    return (path.name,) if legend is None else (path.name, Path(legend).name)


# -- the long table --------------------------------------------------------------------------


def _read_long(
    table: Table, path: Path, legend: Path | str | None, report: QualityReport | None
) -> RuleSet:
    cols = {label_key(c): c for c in table.columns}
    kode, kbli_col, group_col = cols.get("kode"), cols.get("kbli"), cols.get("kelompok")
    matrix = _Matrix(table.sheet, _choose_legend(legend, (), path.stem), report)
    subzones: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for record in table.records:
        values = record.values
        name, subzone = text(values[cols["kegiatan"]]), text(values[cols["subzona"]])
        if name is None or subzone is None:
            missing = "kegiatan" if name is None else "subzona"
            step_over(report, "itbx-row", table.sheet, table.at(record), f"{missing} is empty")
            continue
        group = text(values[group_col]) if group_col else None
        ident = (_ident(values[kode], kbli_col is None) if kode else None) or activity_slug(
            group, name
        )
        source = kbli_col or kode
        kbli = (values[source] if source else None, table.columns.get(source or ""))
        if ident not in matrix.activities:
            matrix.activity(record.row, ident, name, group, kbli)
        if (ident, subzone) in seen:
            message = f"a second cell for {name!r} in sub-zone {subzone}; the first is kept"
            step_over(report, "itbx-duplicate-cell", table.sheet, table.at(record), message)
            continue
        seen.add((ident, subzone))
        subzones.setdefault(subzone, subzone)
        column = cols["ketentuan"]
        matrix.cell(record.row, table.columns[column], ident, subzone, values[column])
    return matrix.rules(subzones, _sources(path, legend))


def _legend_table(table: Table) -> tuple[LegendEntry, ...]:
    cols = {label_key(c): c for c in table.columns}
    code_col = cols.get("kode") or cols.get("code")
    class_col = cols.get("kelas") or cols.get("klass")
    text_col = cols.get("teks") or cols.get("text")
    if code_col is None or text_col is None:
        raise PlanInputError(
            f"{table.sheet.source}: a legend table needs the columns kode, kelas, teks "
            f"(found: {', '.join(table.columns)})"
        )
    entries: dict[str, LegendEntry] = {}
    for record in table.records:
        code = (text(record.values[code_col]) or "").upper()
        klass = (text(record.values[class_col]) if class_col else None) or code[:1]
        body = text(record.values[text_col])
        if klass not in ItbxClass.__members__ or not code or body is None:
            raise table.sheet.error(
                table.at(record),
                "a legend row needs a code, a class I, T, B or X and a text "
                f"(got {code!r}, {klass!r}, {body!r})",
            )
        if code in entries:
            raise table.sheet.error(table.at(record, code_col), f"{code} is defined twice")
        entries[code] = legend_entry(code, ItbxClass(klass), body)
    return tuple(entries.values())
