"""The HTTP contract of plan management: request and response bodies with examples, as the
OpenAPI shows them. Responses are written by the routes from the store's own data (a version's
report is ``QualityReport.to_dict()``); the models below describe them. The examples are built
from each other, so that a list's example is made of its items' examples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.schemas import EXAMPLE_ITBX_ROW, TEXT, IsoDate, Strict
from layers.importer import OVERLAY_SPEC, RASTER_SPEC
from layers.zoning import DEFAULT_MAPPING

#: A BPS region code: 2 (province), 4 (kabupaten/kota), 7 or 10 digits.
REGION_CODE = r"^[0-9]{2,10}$"

_HASH = "3f0c5e0f9a4b6b1d2c8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c"
EXAMPLE_REGION: dict[str, Any] = {
    "code": "6107",
    "name": "Kabupaten Bengkayang",
    "bbox": [108.7, 0.3, 110.3, 1.7],
}
EXAMPLE_PLAN_IN: dict[str, Any] = {
    "region_code": "6107",
    "name": "RDTR Kawasan Perbatasan Jagoi Babang",
    "legal_basis": "Peraturan Bupati Bengkayang Nomor 40 Tahun 2021",
    "kind": "RDTR",
    "enacted_on": "2021-11-01",
}
EXAMPLE_SUMMARY: dict[str, Any] = {
    "id": 2,
    "plan_id": 2,
    "label": "konsep pola ruang",
    "status": "draft",
    "crs_epsg": 32649,
    "content_hash": _HASH,
    "ruleset_hash": _HASH[::-1],
    "created_at": "2026-03-02T08:15:00Z",
    "valid_from": None,
    "valid_to": None,
    "zone_count": 595,
    "errors": 0,
    "warnings": 1,
}
EXAMPLE_ISSUE: dict[str, Any] = {
    "severity": "warning",
    "code": "invalid-geometry",
    "message": "invalid geometry (Self-intersection) repaired; area change +0.00 m2",
    "source": "KONSEPPOLARUANG_5.geojson",
    "feature": "OBJECTID 424",
    "location": [109.6, 1.2],
    "area_m2": None,
    "details": {"reason": "Self-intersection[109.6 1.2]", "area_change_m2": 0.0},
}
EXAMPLE_REPORT: dict[str, Any] = {
    "errors": 0,
    "warnings": 1,
    "counts": {"warning:invalid-geometry": 1},
    "issues": [EXAMPLE_ISSUE],
}
EXAMPLE_PLAN: dict[str, Any] = {
    "id": 2,
    "region": EXAMPLE_REGION,
    **{k: v for k, v in EXAMPLE_PLAN_IN.items() if k != "region_code"},
    "versions": [EXAMPLE_SUMMARY],
}
EXAMPLE_SUBZONE: dict[str, Any] = {
    "code": "R-3",
    "name": "Perumahan Kepadatan Sedang",
    "zone_code": "R",
    "zones": 37,
    "area_m2": 412_345.6,
    "itbx_cells": 96,
    "intensity_rows": 3,
}
EXAMPLE_LEGEND: dict[str, Any] = {
    "code": "T3",
    "klass": "T",
    "text": "Terbatas jarak: paling dekat 100 meter dari kegiatan sejenis.",
}
EXAMPLE_ITBX_RULE: dict[str, Any] = {
    **{k: v for k, v in EXAMPLE_ITBX_ROW.items() if k != "conditions"},
    "legend": [EXAMPLE_LEGEND],
}
EXAMPLE_SUBZONE_RULES: dict[str, Any] = {
    "version_id": 1,
    **{k: v for k, v in EXAMPLE_SUBZONE.items() if k not in ("itbx_cells", "intensity_rows")},
    "blocks": ["I.A.2"],
    "itbx": [EXAMPLE_ITBX_RULE],
    "intensity": [{"subzone_code": "R-3", "kdb_max_pct": 65.0, "klb_max": 1.95}],
    "provisions": [{"provision": "LP2B", "effect": "cap", "text": "...", "kdb_max_pct": 10.0}],
}
EXAMPLE_CHANGE: dict[str, Any] = {
    "from_code": "K-1",
    "from_name": "Perdagangan dan Jasa Skala Kota",
    "to_code": "R-3",
    "to_name": "Perumahan Kepadatan Sedang",
    "pieces": 1,
    "area_m2": 10_000.0,
}
EXAMPLE_TABLE_CHANGES: dict[str, Any] = {
    "added": [],
    "removed": [],
    "changed": [
        {
            "activity_id": "47111",
            "activity": "Minimarket",
            "subzone_code": "R-3",
            "from": ["T1", "B2"],
            "to": ["I"],
        }
    ],
}
_UNCHANGED: dict[str, Any] = {"added": [], "removed": [], "changed": []}
EXAMPLE_RULE_CHANGES: dict[str, Any] = {
    "itbx": EXAMPLE_TABLE_CHANGES,
    "intensity": _UNCHANGED,
    "provisions": _UNCHANGED,
    "legend": _UNCHANGED,
    "raster_rules": _UNCHANGED,
}
EXAMPLE_PIECE: dict[str, Any] = {
    "type": "Feature",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [117.4710, 0.1310],
                [117.4719, 0.1310],
                [117.4719, 0.1319],
                [117.4710, 0.1319],
                [117.4710, 0.1310],
            ]
        ],
    },
    "properties": {
        **{k: EXAMPLE_CHANGE[k] for k in ("from_code", "from_name", "to_code", "to_name")},
        "from_zone_id": "5",
        "to_zone_id": "5",
        "area_m2": 10_000.0,
    },
}
EXAMPLE_PIECES: dict[str, Any] = {"type": "FeatureCollection", "features": [EXAMPLE_PIECE]}
EXAMPLE_COMPARISON: dict[str, Any] = {
    "a": {**EXAMPLE_SUMMARY, "id": 1, "status": "active", "valid_from": "2024-07-01"},
    "b": EXAMPLE_SUMMARY,
    "crs_epsg": 32650,
    "changed_area_m2": 10_000.0,
    "min_area_m2": 1.0,
    "slivers": {"pieces": 0, "area_m2": 0.0},
    "summary": [EXAMPLE_CHANGE],
    "rules": EXAMPLE_RULE_CHANGES,
    "rasters": _UNCHANGED,
    "pieces": EXAMPLE_PIECES,
}
EXAMPLE_UPLOAD: dict[str, Any] = {
    "zoning": ["KONSEPPOLARUANG_5.geojson"],
    "itbx": "itbx_lampiran_xv_bsb.xlsx",
    "intensity": "intensitas_bsb.csv",
    "overlay_files": ["LP2B_4.geojson"],
    "overlay": ["LP2B=LP2B_4.geojson,class=LP2B_1"],
    "label": "konsep pola ruang",
}


def example(value: dict[str, Any]) -> ConfigDict:
    """A model's config with its OpenAPI example."""
    return ConfigDict(json_schema_extra={"examples": [value]})


#: A text form field: one line at most 200 characters, no control characters.
FormText = Annotated[str, StringConstraints(max_length=200, pattern=TEXT)]


class RegionIn(Strict):
    """A kabupaten or kota by its BPS code, with its lon/lat extent (imports outside it are
    refused as the wrong file or CRS)."""

    model_config = example(EXAMPLE_REGION)

    code: str = Field(pattern=REGION_CODE, description="BPS code", examples=["6107"])
    name: str = Field(min_length=1, max_length=200, pattern=TEXT)
    bbox: list[float] | None = Field(
        None, min_length=4, max_length=4, description="min_lon, min_lat, max_lon, max_lat"
    )

    @field_validator("bbox")
    @classmethod
    def _extent(cls, bbox: list[float] | None) -> list[float] | None:
        if bbox is not None:
            min_lon, min_lat, max_lon, max_lat = bbox
            if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
                raise ValueError(
                    "takes min_lon < max_lon within -180..180, min_lat < max_lat within -90..90"
                )
        return bbox


class RegionOut(BaseModel):
    model_config = example(EXAMPLE_REGION)

    code: str
    name: str
    bbox: list[float] | None


class PlanIn(Strict):
    """A plan of a stored region (an RDTR or RTRW enacted by its regulation); its versions come
    from uploads."""

    model_config = example(EXAMPLE_PLAN_IN)

    region_code: str = Field(pattern=REGION_CODE, description="The region's BPS code")
    name: str = Field(min_length=1, max_length=200, pattern=TEXT)
    legal_basis: str = Field(
        min_length=1, max_length=500, pattern=TEXT, description="Regulation number and date"
    )
    kind: Literal["RDTR", "RTRW"] = "RDTR"
    enacted_on: IsoDate | None = None


class UploadForm(BaseModel):
    """The files of one plan version and how to read them (``multipart/form-data``). Only
    ``zoning`` is required; a field the form does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_UPLOAD]})

    zoning: list[UploadFile] = Field(
        min_length=1,
        description="One GeoJSON, GeoPackage or zipped Shapefile, or the parts of one Shapefile "
        "(.shp, .shx, .dbf, .prj, .cpg)",
    )
    layer: FormText | None = Field(None, description="The zoning layer, if the file has several")
    mapping: list[FormText] = Field(
        default_factory=list,
        alias="map",
        description="FIELD=COLUMN, e.g. subzone_code=Kode_Z3; fields: "
        + ", ".join(DEFAULT_MAPPING),
    )
    crs: int | None = Field(
        None, ge=1024, le=999_999, description="A metric EPSG code (default: the UTM zone)"
    )
    allow_z: bool = Field(False, description="Drop Z coordinates with a warning")
    itbx: UploadFile | None = Field(None, description="ITBX matrix (XLSX as published, or CSV)")
    itbx_sheet: FormText | None = None
    legend: UploadFile | None = Field(None, description="The ITBX legend, if not in its sheet")
    intensity: UploadFile | None = Field(None, description="Intensity table (CSV or XLSX)")
    crosswalk: UploadFile | None = Field(None, description="KBLI to kegiatan table")
    provisions: UploadFile | None = Field(None, description="Special provisions table")
    overlay_files: list[UploadFile] = Field(
        default_factory=list, description="The overlay layers the overlay specs name"
    )
    overlay: list[FormText] = Field(
        default_factory=list,
        description=f"{OVERLAY_SPEC}, FILE naming one of overlay_files (ceiling: a KKOP height "
        "in m above sea level)",
    )
    raster_files: list[UploadFile] = Field(
        default_factory=list,
        description="The GeoTIFFs (or Cloud-Optimised GeoTIFFs) the raster specs name",
    )
    raster: list[FormText] = Field(
        default_factory=list,
        description=f"{RASTER_SPEC}, FILE naming one of raster_files (e.g. dem=dem.tif; a DEM "
        "gives the slope in % and degrees)",
    )
    raster_rules: UploadFile | None = Field(
        None, description="Raster rules: limits on slope, flood depth, hazard class (CSV/XLSX)"
    )
    label: FormText | None = Field(None, description="Default: the zoning file's name")


class VersionSummary(BaseModel):
    """A plan version without its report: ``errors`` block activation, ``warnings`` do not."""

    model_config = example(EXAMPLE_SUMMARY)

    id: int
    plan_id: int
    label: str
    status: Literal["draft", "active", "retired"]
    crs_epsg: int = Field(description="The plan's metric CRS: every area is measured in it")
    content_hash: str = Field(description="SHA-256 of zones, overlays and rules")
    ruleset_hash: str
    created_at: datetime
    valid_from: date | None = Field(description="In force from this day (active and retired)")
    valid_to: date | None = Field(description="Until this day, exclusive; open-ended if empty")
    zone_count: int
    errors: int
    warnings: int


class IssueOut(BaseModel):
    model_config = example(EXAMPLE_ISSUE)

    severity: Literal["error", "warning", "info"]
    code: str
    message: str
    source: str | None = Field(description="The file")
    feature: str | None = Field(description="The feature or row, as the file names it")
    location: list[float] | None = Field(description="lon, lat near the problem")
    area_m2: float | None = Field(description="m2, in the plan's metric CRS")
    details: dict[str, Any]


class ReportOut(BaseModel):
    """The quality report as ``QualityReport.to_dict()`` gives it."""

    model_config = example(EXAMPLE_REPORT)

    errors: int
    warnings: int
    counts: dict[str, int] = Field(description="Issues by `severity:code`")
    issues: list[IssueOut]


class VersionOut(VersionSummary):
    model_config = example({**EXAMPLE_SUMMARY, "report": EXAMPLE_REPORT})

    report: ReportOut


class VersionList(BaseModel):
    model_config = example({"versions": [EXAMPLE_SUMMARY]})

    versions: list[VersionSummary]


class PlanOut(BaseModel):
    model_config = example(EXAMPLE_PLAN)

    id: int
    region: RegionOut
    kind: Literal["RDTR", "RTRW"]
    name: str
    legal_basis: str
    enacted_on: date | None
    versions: list[VersionSummary]


class PlanList(BaseModel):
    model_config = example({"plans": [EXAMPLE_PLAN]})

    plans: list[PlanOut]


class ActivateIn(Strict):
    model_config = example({"valid_from": "2026-04-01"})

    valid_from: IsoDate | None = Field(
        None, description="First day in force (default: today); after the version in force's"
    )


class SubzoneOut(BaseModel):
    model_config = example(EXAMPLE_SUBZONE)

    code: str | None = Field(description="None for zones without a sub-zone code")
    name: str | None
    zone_code: str | None
    zones: int = Field(description="Zones of the layer with this code (0: only the rules know it)")
    area_m2: float = Field(description="Their area, m2 (plan CRS)")
    itbx_cells: int
    intensity_rows: int


class SubzoneList(BaseModel):
    model_config = example({"version_id": 1, "subzones": [EXAMPLE_SUBZONE]})

    version_id: int
    subzones: list[SubzoneOut]


#: What a version's raster measures (``layers.model.RasterKind``).
RasterName = Literal["dem", "flood_depth", "hazard_class", "slope_pct", "slope_deg"]

EXAMPLE_RASTER: dict[str, Any] = {
    "kind": "slope_pct",
    "unit": "%",
    "source": "dem.tif",
    "source_sha256": "5b1e" + "0" * 60,
    "sha256": "9c3f" + "0" * 60,
    "width": 340,
    "height": 340,
    "cell_m": 10.0,
    "crs_epsg": 32650,
    "bounds": [529980.0, 14980.0, 533380.0, 18380.0],
    "bbox": [117.2637, 0.1355, 117.2943, 0.1662],
    "rules": 1,
    "href": "/v1/versions/1/rasters/slope_pct.tif",
}


class RasterOut(BaseModel):
    """One raster of a version: what it measures, its grid in the plan's CRS, the file it came
    from, how many raster rules read it, and where its GeoTIFF is."""

    model_config = example(EXAMPLE_RASTER)

    kind: RasterName
    unit: str
    source: str = Field(description="The file imported (for a slope, the DEM)")
    source_sha256: str
    sha256: str = Field(description="SHA-256 of the stored GeoTIFF, which decisions cite")
    width: int
    height: int
    cell_m: float
    crs_epsg: int
    bounds: list[float] = Field(description="min x, min y, max x, max y in the plan's CRS (m)")
    bbox: list[float] = Field(description="The same in lon/lat (CRS84)")
    rules: int = Field(description="Raster rules of the version that read it")
    href: str = Field(description="The GeoTIFF as stored (float32, NaN for nodata)")


class RasterList(BaseModel):
    model_config = example({"version_id": 1, "rasters": [EXAMPLE_RASTER]})

    version_id: int
    rasters: list[RasterOut]


class LegendOut(BaseModel):
    model_config = example(EXAMPLE_LEGEND)

    code: str
    klass: Literal["I", "T", "B", "X"]
    text: str | None = Field(description="What the plan's legend says the code means")


class ItbxRuleOut(BaseModel):
    model_config = example(EXAMPLE_ITBX_RULE)

    activity_id: str
    name: str
    group: str | None
    kbli: list[str]
    codes: list[str]
    raw: str = Field(description="The annex's cell, verbatim")
    klass: Literal["I", "T", "B", "X"] = Field(description="The strictest of its codes")
    legend: list[LegendOut]


class SubzoneRules(BaseModel):
    """Everything the plan version says about one sub-zone."""

    model_config = example(EXAMPLE_SUBZONE_RULES)

    version_id: int
    code: str
    name: str | None
    zone_code: str | None
    zones: int
    area_m2: float = Field(description="m2, plan CRS")
    blocks: list[str]
    itbx: list[ItbxRuleOut]
    intensity: list[dict[str, Any]] = Field(description="The intensity table's rows for it")
    provisions: list[dict[str, Any]] = Field(
        description="Special provisions for this sub-zone or for any (by overlay, flag, block)"
    )


class ChangeSummary(BaseModel):
    model_config = example(EXAMPLE_CHANGE)

    from_code: str | None
    from_name: str | None
    to_code: str | None
    to_name: str | None
    pieces: int
    area_m2: float


class TableChangesOut(BaseModel):
    """Rows only b has, only a has, and those whose value differs; each names its key's
    fields and holds ``from`` (a's value) and ``to`` (b's)."""

    model_config = example(EXAMPLE_TABLE_CHANGES)

    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[dict[str, Any]]


class RuleChangesOut(BaseModel):
    model_config = example(EXAMPLE_RULE_CHANGES)

    itbx: TableChangesOut = Field(description="Keyed by activity_id and subzone_code; codes")
    intensity: TableChangesOut = Field(description="Keyed by subzone_code; its rows")
    provisions: TableChangesOut = Field(description="Keyed by provision, klass, block, subzone")
    legend: TableChangesOut = Field(description="Keyed by code")
    raster_rules: TableChangesOut = Field(description="Keyed by raster and subzone_code; rows")


class PieceFeature(BaseModel):
    model_config = example(EXAMPLE_PIECE)

    type: Literal["Feature"]
    geometry: dict[str, Any] = Field(description="A (Multi)Polygon in lon/lat (OGC:CRS84)")
    properties: dict[str, Any] = Field(
        description="from_code, from_name, from_zone_id, to_code, to_name, to_zone_id, area_m2"
    )


class PieceCollection(BaseModel):
    model_config = example(EXAMPLE_PIECES)

    type: Literal["FeatureCollection"]
    features: list[PieceFeature]


class ComparisonOut(BaseModel):
    """What changed from version a to version b."""

    model_config = example(EXAMPLE_COMPARISON)

    a: VersionSummary
    b: VersionSummary
    crs_epsg: int = Field(description="a's metric CRS, where the areas were measured")
    changed_area_m2: float
    min_area_m2: float
    slivers: dict[str, float] = Field(description="Pieces under min_area_m2: count and area m2")
    summary: list[ChangeSummary] = Field(description="Area by (from, to) sub-zone, largest first")
    rules: RuleChangesOut
    rasters: TableChangesOut = Field(description="Keyed by kind: source, sha256 and grid")
    pieces: PieceCollection = Field(description="The changed land, largest first, lon/lat")
