"""Two versions of a plan compared: the land whose sub-zone changed, and the rules that changed.

Pure: two ``PlanData`` in, a ``Comparison`` out. The zoning layers are overlaid (geopandas, a
union) in version a's metric CRS, so every area is in m2; b is reprojected to a's CRS when they
differ. A piece of land is changed when its sub-zone code differs between a and b, including
land only one of them covers (its other code is None). Rule tables are compared row by row under
a key (ITBX: kegiatan and sub-zone; intensity: sub-zone; provisions: provision, class, block and
sub-zone; legend: code; raster rules: raster and sub-zone), and the rasters by kind (their
source, hash and grid: a new flood map is a changed raster).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from layers.model import PlanData, RuleSet, plain

#: Pieces smaller than this (m2) are counted as slivers, not listed: a redrawn boundary leaves
#: thousands of them, each a digitising difference rather than a change of plan.
MIN_AREA_M2 = 1.0

#: Columns of ``Comparison.pieces`` (besides ``geometry``, in ``crs_epsg``).
PIECE_COLUMNS: tuple[str, ...] = (
    "from_code",
    "from_name",
    "from_zone_id",
    "to_code",
    "to_name",
    "to_zone_id",
    "area_m2",
)

#: What names a special provision when two versions are compared.
PROVISION_KEY = ("provision", "klass", "block", "subzone_code")


@dataclass(frozen=True)
class TableChanges:
    """One rule table compared under its key. Each row names its key's fields and holds the
    value ``from`` a and ``to`` b (None where that version lacks the key)."""

    added: tuple[dict[str, Any], ...] = ()
    removed: tuple[dict[str, Any], ...] = ()
    changed: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
        }


@dataclass(frozen=True)
class Comparison:
    """What changed from version a to version b.

    ``pieces``: the changed land, one row per (zone of a, zone of b) overlap or land one side
    lacks, with ``PIECE_COLUMNS``; ``summary``: area by (from, to) code; ``slivers``: how many
    pieces under ``min_area_m2`` were left out and their area (m2).
    """

    crs_epsg: int
    pieces: gpd.GeoDataFrame
    summary: tuple[dict[str, Any], ...]
    slivers: dict[str, float]
    min_area_m2: float
    itbx: TableChanges
    intensity: TableChanges
    provisions: TableChanges
    legend: TableChanges
    raster_rules: TableChanges
    rasters: TableChanges

    @property
    def changed_area_m2(self) -> float:
        return float(self.pieces["area_m2"].sum())

    def to_dict(self) -> dict[str, Any]:
        """Everything but the pieces' geometry, as plain data (JSON)."""
        return {
            "crs_epsg": self.crs_epsg,
            "changed_area_m2": self.changed_area_m2,
            "min_area_m2": self.min_area_m2,
            "slivers": dict(self.slivers),
            "summary": list(self.summary),
            "rules": {
                name: getattr(self, name).to_dict()
                for name in ("itbx", "intensity", "provisions", "legend", "raster_rules")
            },
            "rasters": self.rasters.to_dict(),
        }


def compare(a: PlanData, b: PlanData, *, min_area_m2: float = MIN_AREA_M2) -> Comparison:
    """Compare version ``a`` (from) with version ``b`` (to)."""
    pieces, slivers = changed_land(a.zones, b.zones, a.crs_epsg, min_area_m2)
    return Comparison(
        crs_epsg=a.crs_epsg,
        pieces=pieces,
        summary=_summary(pieces),
        slivers=slivers,
        min_area_m2=min_area_m2,
        **rule_changes(a.rules, b.rules),
        rasters=_diff(_rasters(a), _rasters(b), lambda key: {"kind": key}),
    )


def changed_land(
    a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, crs_epsg: int, min_area_m2: float = MIN_AREA_M2
) -> tuple[gpd.GeoDataFrame, dict[str, float]]:
    """The land whose sub-zone differs between zones ``a`` and ``b``, overlaid in ``crs_epsg``
    (metric), largest pieces first; and the slivers left out (count, area m2)."""
    left = _side(a, "from", crs_epsg)
    right = _side(b, "to", crs_epsg)
    if left.empty or right.empty:
        union = gpd.GeoDataFrame(
            pd.concat([left, right], ignore_index=True), geometry="geometry", crs=crs_epsg
        )
    else:
        union = gpd.overlay(left, right, how="union", keep_geom_type=True)
    for column in PIECE_COLUMNS[:-1]:
        values = union[column] if column in union else [None] * len(union)
        union[column] = pd.Series(
            [None if pd.isna(v) else v for v in values], index=union.index, dtype=object
        )
    same_code = [fa == fb for fa, fb in zip(union["from_code"], union["to_code"], strict=True)]
    same = (
        union["from_zone_id"].notna()
        & union["to_zone_id"].notna()
        & pd.Series(same_code, index=union.index, dtype=bool)
    )
    changed = union[~same].copy()
    changed["area_m2"] = changed.geometry.area
    small = changed["area_m2"] < min_area_m2
    slivers = {"pieces": int(small.sum()), "area_m2": float(changed["area_m2"][small].sum())}
    kept = changed[~small].sort_values("area_m2", ascending=False, kind="stable")
    out = gpd.GeoDataFrame(
        kept[list(PIECE_COLUMNS)].reset_index(drop=True),
        geometry=kept.geometry.values,
        crs=crs_epsg,
    )
    return out, slivers


def rule_changes(a: RuleSet, b: RuleSet) -> dict[str, TableChanges]:
    """The rule tables of ``a`` and ``b`` compared, by table name."""
    names = {act.id: act.name for act in (*a.activities, *b.activities)}
    return {
        "itbx": _diff(
            {(c.activity_id, c.subzone_code): list(c.codes) for c in a.cells},
            {(c.activity_id, c.subzone_code): list(c.codes) for c in b.cells},
            lambda key: {
                "activity_id": key[0],
                "activity": names.get(key[0]),
                "subzone_code": key[1],
            },
        ),
        "intensity": _diff(
            _grouped(a.intensity, lambda r: r.subzone_code),
            _grouped(b.intensity, lambda r: r.subzone_code),
            lambda key: {"subzone_code": key},
        ),
        "provisions": _diff(
            _grouped(a.provisions, _provision_key),
            _grouped(b.provisions, _provision_key),
            lambda key: dict(zip(PROVISION_KEY, key, strict=True)),
        ),
        "legend": _diff(
            {e.code: plain(e) for e in a.legend},
            {e.code: plain(e) for e in b.legend},
            lambda key: {"code": key},
        ),
        "raster_rules": _diff(
            _grouped(a.raster_rules, lambda r: (r.raster, r.subzone_code)),
            _grouped(b.raster_rules, lambda r: (r.raster, r.subzone_code)),
            lambda key: {"raster": key[0], "subzone_code": key[1]},
        ),
    }


def _rasters(data: PlanData) -> dict[str, dict[str, Any]]:
    """A version's rasters by kind: what makes one differ (its file, its stored bytes, its grid)."""
    return {
        r.kind.value: {
            "source": r.source,
            "sha256": r.sha256,
            "cell_m": r.cell_m,
            "width": r.width,
            "height": r.height,
            "bounds": list(r.bounds),
        }
        for r in data.rasters
    }


def _side(zones: gpd.GeoDataFrame, side: str, crs_epsg: int) -> gpd.GeoDataFrame:
    """A zoning layer's id, code and name as ``<side>_...`` columns, in ``crs_epsg``."""
    frame = zones[["zone_id", "subzone_code", "subzone_name", zones.geometry.name]]
    frame = frame.rename_geometry("geometry") if zones.geometry.name != "geometry" else frame
    if frame.crs is None or frame.crs.to_epsg() != crs_epsg:
        frame = frame.to_crs(crs_epsg)
    return frame.rename(
        columns={
            "zone_id": f"{side}_zone_id",
            "subzone_code": f"{side}_code",
            "subzone_name": f"{side}_name",
        }
    )


def _summary(pieces: gpd.GeoDataFrame) -> tuple[dict[str, Any], ...]:
    """Area (m2) and pieces by (from, to) code, largest first."""
    totals: dict[tuple[Any, Any], dict[str, Any]] = {}
    for row in pieces[["from_code", "from_name", "to_code", "to_name", "area_m2"]].itertuples():
        key = (row.from_code, row.to_code)
        entry = totals.setdefault(
            key,
            {
                "from_code": row.from_code,
                "from_name": row.from_name,
                "to_code": row.to_code,
                "to_name": row.to_name,
                "pieces": 0,
                "area_m2": 0.0,
            },
        )
        entry["pieces"] += 1
        entry["area_m2"] += float(row.area_m2)
    return tuple(sorted(totals.values(), key=lambda e: -e["area_m2"]))


def _grouped(rows: Iterable[Any], key: Callable[[Any], Hashable]) -> dict[Hashable, list[Any]]:
    """Rule rows as plain dicts, listed under their key in table order."""
    out: dict[Hashable, list[Any]] = defaultdict(list)
    for row in rows:
        out[key(row)].append(plain(row))
    return dict(out)


def _provision_key(row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in PROVISION_KEY)


def _diff(
    a: dict[Any, Any], b: dict[Any, Any], describe: Callable[[Any], dict[str, Any]]
) -> TableChanges:
    """Keys only in ``b`` (added), only in ``a`` (removed), and in both with another value."""
    return TableChanges(
        added=tuple({**describe(k), "from": None, "to": v} for k, v in b.items() if k not in a),
        removed=tuple({**describe(k), "from": v, "to": None} for k, v in a.items() if k not in b),
        changed=tuple(
            {**describe(k), "from": v, "to": b[k]} for k, v in a.items() if k in b and b[k] != v
        ),
    )
