"""The plan as data: regions, plans, versions, zones, overlays and the zoning regulation.

Zones and overlays travel as GeoDataFrames in the plan's metric CRS with the columns named below;
everything else is a frozen dataclass, so a loaded plan cannot change under the engine.
Codes, classes and limits are data of a plan version, never constants of the code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gis.raster import Grid, decode_grid, encode_grid
from layers.report import QualityReport

#: Columns of a zones GeoDataFrame (besides ``geometry``, a MultiPolygon in the plan's metric CRS).
#: ``zone_id`` is the feature's id as the source gives it (OBJECTID); ``subzone_code`` the
#: letter code (``R-3``, KODSBL); ``subzone_num`` the numeric code (``32103300``, KODSZN);
#: ``zone_code`` the family (``R``); ``flags`` a JSON object of the special-provision flags the
#: polygon carries (only those other than "none"); ``attrs`` a JSON object of every source
#: attribute as it came.
ZONE_COLUMNS: tuple[str, ...] = (
    "zone_id",
    "subzone_code",
    "subzone_name",
    "subzone_num",
    "zone_code",
    "zone_num",
    "block",
    "flags",
    "attrs",
)

#: Columns of an overlays GeoDataFrame (besides ``geometry``, MultiPolygon, metric CRS).
#: ``kind`` is the provision (``LP2B``, ``KRB``, ``SEMPADAN``, ``KKOP``, ``CAGBUD``, ...),
#: ``klass`` its class where the plan has one (``Rawan Banjir Sedang``), ``ceiling_m`` a KKOP
#: height ceiling (metres above sea level) or empty.
OVERLAY_COLUMNS: tuple[str, ...] = (
    "overlay_id",
    "kind",
    "name",
    "klass",
    "ceiling_m",
    "attrs",
)


class PlanKind(StrEnum):
    RDTR = "RDTR"
    RTRW = "RTRW"


class VersionStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class ItbxClass(StrEnum):
    """The four classes of the activity matrix, from most to least permissive."""

    I = "I"  # noqa: E741 - the regulation's own letter
    T = "T"
    B = "B"
    X = "X"


@dataclass(frozen=True)
class Region:
    """A kabupaten or kota, by its BPS code; ``bbox`` is its lon/lat extent when known."""

    code: str
    name: str
    bbox: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Plan:
    """An enacted plan of a region: its kind and legal basis (regulation number and date)."""

    id: int
    region_code: str
    kind: PlanKind
    name: str
    legal_basis: str
    enacted_on: date | None = None


@dataclass(frozen=True)
class PlanVersion:
    """One version of a plan. Only an active version is in force, from ``valid_from`` until
    ``valid_to`` (exclusive; open-ended when empty)."""

    id: int
    plan_id: int
    label: str
    status: VersionStatus
    crs_epsg: int
    content_hash: str
    ruleset_hash: str
    created_at: datetime
    valid_from: date | None = None
    valid_to: date | None = None
    zone_count: int = 0
    report: QualityReport = field(default_factory=QualityReport)


@dataclass(frozen=True)
class LegendEntry:
    """What a matrix code means, in the plan's own words (``T1`` -> "Terbatas ... 20% ..."), and
    what the engine can apply of it: ``intensity_pct``, the share (%) of the sub-zone's intensity
    limits the activity may use; ``min_distance_m``, the minimum distance (m) to the same
    activity. Both are read from the text and empty where it gives none."""

    code: str
    klass: ItbxClass
    text: str
    intensity_pct: float | None = None
    min_distance_m: float | None = None


@dataclass(frozen=True)
class Activity:
    """A kegiatan row of the ITBX matrix; ``kbli`` lists the KBLI codes the row names, if any."""

    id: str
    name: str
    group: str | None = None
    kbli: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItbxCell:
    """One cell: the activity in the sub-zone, as structured codes (``("T1", "B1", "B3")``) and as
    the verbatim text of the annex (``"T1, B1,B3"``)."""

    activity_id: str
    subzone_code: str
    codes: tuple[str, ...]
    raw: str


@dataclass(frozen=True)
class CrosswalkEntry:
    """A KBLI code linked to a kegiatan of the matrix (many to many)."""

    kbli: str
    activity_id: str


@dataclass(frozen=True)
class IntensityRule:
    """Intensity limits for a sub-zone, optionally for one lot-size class and one road class.

    Percentages in %, heights in m, areas in m2. ``lot_from_m2``/``lot_to_m2`` bound the lot-size
    class (from inclusive, to exclusive; empty = unbounded); ``road_class`` is ``arteri``,
    ``kolektor``, ``lokal`` or empty for any road. Empty limits mean the plan sets none.
    """

    subzone_code: str
    road_class: str | None = None
    lot_from_m2: float | None = None
    lot_to_m2: float | None = None
    kdb_max_pct: float | None = None
    klb_max: float | None = None
    kdh_min_pct: float | None = None
    ktb_max_pct: float | None = None
    height_max_m: float | None = None
    floors_max: int | None = None
    lot_min_m2: float | None = None
    gsb_min_m: float | None = None
    side_min_m: float | None = None
    rear_min_m: float | None = None
    variant: str | None = None
    note: str | None = None


#: Special-provision (ketentuan khusus) flag columns of the ATR/BPN schema, and the provision
#: each flags.
FLAG_PROVISIONS: Mapping[str, str] = MappingProxyType(
    {
        "KKOP_1": "KKOP",
        "LP2B_2": "LP2B",
        "KRB_03": "KRB",
        "TOD_04": "TOD",
        "TEB_05": "TEB",
        "PUSLIT": "PUSLIT",
        "CAGBUD": "CAGBUD",
        "RESAIR": "RESAIR",
        "KSMPDN": "SEMPADAN",
        "HANKAM": "HANKAM",
        "KKARST": "KKARST",
        "PTBGMB": "PTBGMB",
        "MGRSAT": "MGRSAT",
        "RDBUMI": "RDBUMI",
        "TPZ_00": "TPZ",
    }
)


def zone_flags(value: Any) -> dict[str, str]:
    """A zone's ``flags`` column (a JSON object of flag column -> value) as a dict; empty
    where there are none."""
    if not value or not isinstance(value, str):
        return {}
    parsed = json.loads(value)
    return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}


def present(values: pd.Series) -> NDArray[np.object_]:
    """A column as an object array with None (not NaN or pandas' NA) where empty."""
    return np.asarray(values.astype(object).where(values.notna(), None), dtype=object)


def norm(text: str | None) -> str:
    """A comparison key for names and classes: case and spacing do not matter."""
    return " ".join((text or "").casefold().split())


@dataclass(frozen=True)
class SpecialProvision:
    """A rule attached to an overlay or a zone flag (``provision``: ``LP2B``, ``KRB``, ``KKOP``).

    ``effect`` is ``forbid`` (no building), ``cap`` (the caps below replace looser limits) or
    ``condition`` (a condition to meet, in ``text``). ``klass`` narrows it to one class of the
    provision (``Rawan Banjir Tinggi``); ``block`` to one planning block; ``subzone_code`` to one
    sub-zone.
    """

    provision: str
    effect: str
    text: str
    klass: str | None = None
    block: str | None = None
    subzone_code: str | None = None
    kdb_max_pct: float | None = None
    klb_max: float | None = None
    height_max_m: float | None = None
    legal_basis: str | None = None


@dataclass(frozen=True)
class RasterRule:
    """A limit on what one of the plan's rasters measures over a parcel (the table's format is
    in docs/rule-tables.md, "Raster rules").

    ``raster`` is ``slope_pct``, ``slope_deg``, ``flood_depth`` or ``hazard_class``.
    ``maximum`` is the largest value allowed in that raster's unit (% of slope, degrees, m of
    water); for ``hazard_class`` it is the largest share (%) of the parcel that may lie in
    ``classes`` (class numbers, comma-separated: ``3`` or ``2,3``). ``statistic`` is the figure
    of the parcel held to it: ``mean``, ``max``, or ``p<q>``, the value under which ``q`` % of
    the parcel's area lies (``p90``); ``share`` for a hazard class. ``effect`` is what going
    over it does: ``reject``, ``review`` or ``condition``. ``nodata_max_pct`` is the largest
    share (%) of the parcel without data for which the rule is still assessed; above it, the
    check needs review. ``subzone_code`` narrows the rule to parcels in that sub-zone.
    """

    raster: str
    maximum: float
    statistic: str = "p90"
    classes: str | None = None
    effect: str = "reject"
    nodata_max_pct: float = 10.0
    subzone_code: str | None = None
    text: str | None = None
    legal_basis: str | None = None


#: The rule set's tables in the order its canonical form (and hash) lists them; raster rules,
#: added later, follow them where there are some.
RULE_TABLES = ("activities", "cells", "legend", "crosswalk", "intensity", "provisions")


@dataclass(frozen=True)
class RuleSet:
    """The zoning regulation of a plan version. ``subzones`` maps each sub-zone code the rules know
    to its name; ``sources`` names the files the rules came from; ``settings`` holds the plan's
    choices for the engine (``split_policy``: ``strictest``, ``dominant`` or ``per_piece``;
    ``invalid_parcels``: ``repair``, the default, or ``refuse``); ``raster_rules`` the limits
    on slope, flood depth and hazard class."""

    subzones: dict[str, str] = field(default_factory=dict)
    activities: tuple[Activity, ...] = ()
    cells: tuple[ItbxCell, ...] = ()
    legend: tuple[LegendEntry, ...] = ()
    crosswalk: tuple[CrosswalkEntry, ...] = ()
    intensity: tuple[IntensityRule, ...] = ()
    provisions: tuple[SpecialProvision, ...] = ()
    sources: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    raster_rules: tuple[RasterRule, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data (dicts, lists, text, numbers), as JSON and the hash see it. Raster rules,
        added after the first plans were stored, are part of it only where there are some, so
        the hash of a rule set without them stays what it was."""
        raster = (
            {"raster_rules": [plain(r) for r in self.raster_rules]} if self.raster_rules else {}
        )
        return {
            "subzones": dict(self.subzones),
            **{name: [plain(item) for item in getattr(self, name)] for name in RULE_TABLES},
            "sources": list(self.sources),
            "settings": dict(sorted(self.settings.items())),
            **raster,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleSet:
        return cls(
            subzones=dict(data.get("subzones", {})),
            activities=tuple(
                Activity(**{**a, "kbli": tuple(a.get("kbli", ()))})
                for a in data.get("activities", ())
            ),
            cells=tuple(
                ItbxCell(**{**c, "codes": tuple(c["codes"])}) for c in data.get("cells", ())
            ),
            legend=tuple(
                LegendEntry(**{**e, "klass": ItbxClass(e["klass"])}) for e in data.get("legend", ())
            ),
            crosswalk=tuple(CrosswalkEntry(**e) for e in data.get("crosswalk", ())),
            intensity=tuple(IntensityRule(**r) for r in data.get("intensity", ())),
            provisions=tuple(SpecialProvision(**p) for p in data.get("provisions", ())),
            sources=tuple(data.get("sources", ())),
            settings=dict(data.get("settings", {})),
            raster_rules=tuple(RasterRule(**r) for r in data.get("raster_rules", ())),
        )

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: the same rules always give the same hash."""
        return sha256_json(self.to_dict())

    def hash(self) -> str:
        return self.digest

    def merge(self, other: RuleSet) -> RuleSet:
        """This rule set with ``other``'s tables added (importers fill one table each). A KBLI
        link that both name (the matrix's own KBLI column and a crosswalk table) is kept once."""
        return RuleSet(
            subzones={**self.subzones, **other.subzones},
            activities=self.activities + other.activities,
            cells=self.cells + other.cells,
            legend=self.legend + other.legend,
            crosswalk=tuple(dict.fromkeys(self.crosswalk + other.crosswalk)),
            intensity=self.intensity + other.intensity,
            provisions=self.provisions + other.provisions,
            sources=self.sources + other.sources,
            settings={**self.settings, **other.settings},
            raster_rules=self.raster_rules + other.raster_rules,
        )


class RasterKind(StrEnum):
    """What a plan's raster holds: an import brings ``dem``, ``flood_depth`` and
    ``hazard_class``; a DEM derives ``slope_pct`` and ``slope_deg``."""

    DEM = "dem"
    FLOOD_DEPTH = "flood_depth"
    HAZARD_CLASS = "hazard_class"
    SLOPE_PCT = "slope_pct"
    SLOPE_DEG = "slope_deg"

    @property
    def unit(self) -> str:
        """Metres above sea level, metres of water, a class number, percent, degrees."""
        return _RASTER_UNITS[self]


_RASTER_UNITS = {
    RasterKind.DEM: "m",
    RasterKind.FLOOD_DEPTH: "m",
    RasterKind.HAZARD_CLASS: "class",
    RasterKind.SLOPE_PCT: "%",
    RasterKind.SLOPE_DEG: "deg",
}
#: The rasters an import reads from files; the others are derived from them.
IMPORTED_RASTERS = (RasterKind.DEM, RasterKind.FLOOD_DEPTH, RasterKind.HAZARD_CLASS)


@dataclass(frozen=True)
class RasterInfo:
    """What the catalogue says of one of a version's rasters, without its GeoTIFF."""

    kind: RasterKind
    source: str
    source_sha256: str
    sha256: str
    width: int
    height: int
    cell_m: float
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class PlanRaster(RasterInfo):
    """One raster of a plan version, as it is stored: ``data`` is a GeoTIFF in the plan's
    metric CRS (float32, NaN for nodata, north up) whose SHA-256 is ``sha256``, so that the
    engine reads exactly what the version's hash names. ``source`` and ``source_sha256`` are
    the file it was imported from (for a slope, the DEM's). ``width`` and ``height`` count
    cells of ``cell_m`` metres; ``bounds`` are in the plan's CRS."""

    data: bytes = field(repr=False)

    @classmethod
    def of(cls, kind: RasterKind, grid: Grid, source: str, source_sha256: str) -> PlanRaster:
        """A grid (in the plan's CRS) encoded as the GeoTIFF the store keeps."""
        data = encode_grid(grid)
        rows, cols = grid.values.shape
        return cls(
            kind=kind,
            source=source,
            source_sha256=source_sha256,
            sha256=hashlib.sha256(data).hexdigest(),
            width=cols,
            height=rows,
            cell_m=grid.cell_m,
            bounds=grid.bounds,
            data=data,
        )

    @property
    def unit(self) -> str:
        return self.kind.unit

    def grid(self) -> Grid:
        """The stored GeoTIFF in memory (float64, NaN for nodata)."""
        return decode_grid(self.data, f"{self.kind.value} raster ({self.source})")


@dataclass(frozen=True)
class PlanData:
    """Everything one import brings: zones and overlays (metric CRS), the rule set, and the
    rasters (in the same CRS)."""

    zones: gpd.GeoDataFrame
    overlays: gpd.GeoDataFrame
    rules: RuleSet
    crs_epsg: int
    report: QualityReport = field(default_factory=QualityReport)
    rasters: tuple[PlanRaster, ...] = ()


def plain(item: Any) -> dict[str, Any]:
    """A rule dataclass as a flat dict (tuples as lists, enums as their values); much faster than
    ``dataclasses.asdict``, which deep-copies, on the tens of thousands of cells of an ITBX."""
    out: dict[str, Any] = {}
    for name in item.__dataclass_fields__:
        value = getattr(item, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, StrEnum):
            value = value.value
        out[name] = value
    return out


def sha256_json(data: Any) -> str:
    """Hash of canonical JSON (sorted keys, no spaces, dates as ISO text)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def empty_zones(crs_epsg: int) -> gpd.GeoDataFrame:
    """A zones frame with no rows, for plans and tests that start empty."""
    return gpd.GeoDataFrame({c: [] for c in ZONE_COLUMNS}, geometry=[], crs=crs_epsg)


def empty_overlays(crs_epsg: int) -> gpd.GeoDataFrame:
    """An overlays frame with no rows: a plan without overlay layers."""
    return gpd.GeoDataFrame({c: [] for c in OVERLAY_COLUMNS}, geometry=[], crs=crs_epsg)


def frame_hash(frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> str:
    """SHA-256 over a layer's attributes and geometry WKB, row by row in order."""

    digest = hashlib.sha256()
    wkb = shapely.to_wkb(frame.geometry.values, output_dimension=2, byte_order=1)
    for values, blob in zip(frame[list(columns)].itertuples(index=False), wkb, strict=True):
        digest.update(json.dumps([None if v != v else v for v in values], default=str).encode())
        digest.update(blob or b"")
    return digest.hexdigest()


def content_hash(data: PlanData) -> str:
    """The identity of an import: zones, overlays, rules and rasters together (rasters by the
    hash of their stored GeoTIFF, and only where there are some, so that the hash of a plan
    without rasters stays what it was)."""
    rasters = {"rasters": {r.kind.value: r.sha256 for r in data.rasters}} if data.rasters else {}
    return sha256_json(
        {
            "crs": data.crs_epsg,
            "zones": frame_hash(data.zones, ZONE_COLUMNS),
            "overlays": frame_hash(data.overlays, OVERLAY_COLUMNS),
            "rules": data.rules.hash(),
            **rasters,
        }
    )
