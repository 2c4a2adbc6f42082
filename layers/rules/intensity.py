"""Intensity limits per sub-zone: KDB, KLB, KDH, KTB (%, ratio), height (m), floors, minimum lot
(m2), GSB and side/rear clearances (m), by road class or lot-size class where the plan varies them.

Layouts (see docs/rule-tables.md): the canonical table, recognised by its ``subzone_code``
column, whose columns are all :class:`~layers.model.IntensityRule` field names; a published table
with one column per limit, road-class columns suffixed " - Arteri/Kolektor/Lokal" (Bintan) and
optional lot-size classes in ``lot_min_m2``/``lot_max_m2`` columns (Yogyakarta), keyed by
sub-zone code or by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layers.errors import PlanInputError
from layers.model import IntensityRule, RuleSet
from layers.report import QualityReport
from layers.rules.names import NameIndex
from layers.rules.tables import (
    Record,
    Table,
    check_columns,
    label_key,
    number,
    read_table,
    resolve_subzone,
    step_over,
    text,
    typed_record,
)

_ROAD = re.compile(r"(.*?)\s*[-–]\s*(arteri|kolektor|lokal|lingkungan)\s*", re.IGNORECASE)
#: Limit columns by words of their header (lower case, punctuation as spaces), first match wins.
_LIMITS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), name)
    for pattern, name in (
        (r"\bkdb\b", "kdb_max_pct"),
        (r"\bkdh\b", "kdh_min_pct"),
        (r"\bklb\b|koefisien lantai", "klb_max"),
        (r"\bktb\b|tapak basement", "ktb_max_pct"),
        (r"luas (kavling|kaveling|persil|lahan|tanah) min", "lot_min_m2"),
        (r"\btinggi\b", "height_max_m"),
        (r"\blantai\b", "floors_max"),
        (r"sempadan bangunan|\bgsb\b", "gsb_min_m"),
        (r"\bsamping\b", "side_min_m"),
        (r"\bbelakang\b", "rear_min_m"),
    )
)
_NAME_KEYS = {"subzona", "namasubzona", "namobj", "namaszn"}
_CODE_KEYS = {"zone", "kode", "kodesubzona", "kodsbl", "subzonecode"}
_VARIANT_KEYS = {"jenis", "varian", "variant"}
_NOTE_KEYS = ("tampilan", "keterangan", "catatan", "note")
_IGNORED_KEYS = {"zona", "no", "kelas"}
_LOT_KEYS = ("lotminm2", "lotmaxm2")


def read_intensity(
    path: Path | str,
    *,
    names: NameIndex | None = None,
    report: QualityReport | None = None,
) -> RuleSet:
    """The intensity rules of a CSV or XLSX table.

    A table keyed by sub-zone name needs ``names`` (the plan's :class:`NameIndex`); a name it
    cannot resolve raises, or with a ``report`` is left out as a warning. A row whose limits
    differ by road class gives one rule per road class, else one rule for any road. Numbers may
    carry a decimal comma or a unit ("51,29", "3 lantai").
    """
    table = read_table(path)
    if "subzone_code" in table.columns:
        rules = _canonical(table, names, report)
    else:
        rules = _published(table, names, report)
    return RuleSet(intensity=_unique(table, rules, report), sources=(Path(path).name,))


def _canonical(
    table: Table, names: NameIndex | None, report: QualityReport | None
) -> list[tuple[Record, IntensityRule]]:
    kinds = check_columns(table, IntensityRule, {"subzone_code"})
    out = []
    for record in table.records:
        values = typed_record(table, record, kinds)
        if values["subzone_code"] is None:
            step_over(report, "intensity-row", table.sheet, table.at(record), "no sub-zone code")
            continue
        where = table.at(record, "subzone_code")
        code = resolve_subzone(
            values["subzone_code"], names, report=report, sheet=table.sheet, where=where
        )
        if code is not None:
            road = values.get("road_class")
            values.update(subzone_code=code, road_class=road.casefold() if road else None)
            out.append((record, IntensityRule(**values)))
    return out


def _published(
    table: Table, names: NameIndex | None, report: QualityReport | None
) -> list[tuple[Record, IntensityRule]]:
    layout = _columns(table, names, report)
    classes = _lot_classes(table, layout)
    out = []
    for record in table.records:
        key = text(record.values[layout.key])
        if key is None:
            step_over(report, "intensity-row", table.sheet, table.at(record), "no sub-zone")
            continue
        where = table.at(record, layout.key)
        code = resolve_subzone(key, names, report=report, sheet=table.sheet, where=where)
        if code is None:
            continue
        common: dict[str, Any] = {
            "subzone_code": code,
            "variant": text(record.values[layout.variant]) if layout.variant else None,
            "note": _note(record, layout.notes),
        }
        bounds = _lot_bounds(table, record, layout)
        common["lot_from_m2"], common["lot_to_m2"] = classes.get(bounds, (None, None))
        by_road: dict[str, dict[str, Any]] = {}
        for column, (field, road) in layout.limits.items():
            value = _limit(table, record, column, field)
            if road is None:
                common[field] = value
            else:
                by_road.setdefault(road, {})[field] = value
        if len({tuple(sorted(v.items())) for v in by_road.values()}) > 1:
            for road, values in by_road.items():
                out.append((record, IntensityRule(**common, road_class=road, **values)))
        else:
            out.append((record, IntensityRule(**common, **next(iter(by_road.values()), {}))))
    return out


@dataclass(frozen=True)
class _Layout:
    """What the columns of a published table hold: limits as (field, road class), the sub-zone
    key, the variant, the note columns and the lot-size class bounds (low, high)."""

    limits: dict[str, tuple[str, str | None]]
    key: str
    variant: str | None
    notes: tuple[str, ...]
    lots: tuple[str, str] | None


def _columns(table: Table, names: NameIndex | None, report: QualityReport | None) -> _Layout:
    limits: dict[str, tuple[str, str | None]] = {}
    key_col = variant_col = None
    notes: list[str] = []
    keys = {label_key(c): c for c in table.columns}
    for column in table.columns:
        key = label_key(column)
        road = _ROAD.fullmatch(column)
        base = road.group(1) if road else column
        words = " ".join(re.sub(r"[^0-9a-z]+", " ", base.casefold()).split())
        field = next((name for pattern, name in _LIMITS if pattern.search(words)), None)
        if key in _NAME_KEYS | _CODE_KEYS and key_col is None:
            key_col = column
        elif key in _VARIANT_KEYS:
            variant_col = column
        elif key.startswith(_NOTE_KEYS):
            notes.append(column)
        elif key in _IGNORED_KEYS or key in _LOT_KEYS:
            continue
        elif field is not None:
            limits[column] = (field, road.group(2).casefold() if road else None)
        else:
            message = f"column {column!r} is not an intensity limit this reader knows; ignored"
            step_over(report, "intensity-column", table.sheet, "header", message)
    if key_col is None:
        raise PlanInputError(
            f"{table.sheet.source}: no sub-zone column: expected subzone_code (the canonical "
            f"layout), a code column (zone, kode) or a name column (SubZona, NAMOBJ); found "
            f"{', '.join(table.columns)}"
        )
    if label_key(key_col) in _NAME_KEYS and names is None:
        raise PlanInputError(
            f"{table.sheet.source}: the table is keyed by sub-zone name (column {key_col!r}); "
            "give names= (the plan's NameIndex) to resolve the names to codes"
        )
    lots = (keys[_LOT_KEYS[0]], keys[_LOT_KEYS[1]]) if all(k in keys for k in _LOT_KEYS) else None
    return _Layout(limits, key_col, variant_col, tuple(notes), lots)


def _limit(table: Table, record: Record, column: str, field: str) -> float | int | None:
    try:
        value = number(record.values[column])
    except ValueError as exc:
        raise table.sheet.error(table.at(record, column), str(exc)) from None
    if field != "floors_max" or value is None:
        return value
    if not value.is_integer():
        message = f"{record.values[column]!r} is not a whole number of floors"
        raise table.sheet.error(table.at(record, column), message)
    return int(value)


def _note(record: Record, columns: tuple[str, ...]) -> str | None:
    """The text columns of a row, each under its header."""
    parts = [(c, text(record.values[c])) for c in columns]
    return "\n".join(f"{c}: {t}" for c, t in parts if t) or None


Bounds = tuple[float | None, float | None]


def _lot_bounds(table: Table, record: Record, layout: _Layout) -> Bounds | None:
    if layout.lots is None:
        return None
    try:
        low, high = (number(record.values[c]) for c in layout.lots)
    except ValueError as exc:
        raise table.sheet.error(table.at(record, layout.lots[0]), str(exc)) from None
    return low, high


def _lot_classes(table: Table, layout: _Layout) -> dict[Bounds | None, Bounds]:
    """Lot-size classes as the model bounds them (from inclusive, to exclusive).

    Classes of whole square metres ("40-100", "101-200") run up to the next class's lower bound,
    so a lot of 100.5 m2 has a class; the last class is open when its label says so (">= 1001").
    """
    labels: dict[Bounds, str] = {}
    for record in table.records:
        bounds = _lot_bounds(table, record, layout)
        if bounds is not None:
            labels[bounds] = labels.get(bounds, "") + (_note(record, layout.notes) or "")
    ordered = sorted(labels, key=lambda b: -1.0 if b[0] is None else b[0])
    out: dict[Bounds | None, Bounds] = {}
    for (low, high), after in zip(ordered, [*ordered[1:], None], strict=False):
        open_ended = re.search(r">|≥|lebih dari", labels[(low, high)]) is not None
        out[(low, high)] = (low, after[0] if after else None if open_ended else high)
    return out


def _unique(
    table: Table, rules: list[tuple[Record, IntensityRule]], report: QualityReport | None
) -> tuple[IntensityRule, ...]:
    """The rules, each sub-zone, road class, lot class and variant once."""
    seen: dict[tuple[Any, ...], Record] = {}
    out = []
    for record, rule in rules:
        key = (rule.subzone_code, rule.road_class, rule.lot_from_m2, rule.lot_to_m2, rule.variant)
        if key in seen:
            message = (
                f"a second rule for {rule.subzone_code} (road {rule.road_class or 'any'}, "
                f"variant {rule.variant or 'none'}); row {seen[key].row + 1} is kept"
            )
            step_over(report, "intensity-duplicate", table.sheet, table.at(record), message)
            continue
        seen[key] = record
        out.append(rule)
    return tuple(out)
