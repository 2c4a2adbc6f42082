"""Importing a plan: its zoning layer, overlays and rule tables become a draft version with a
quality report.

Reading refuses input it cannot use (``PlanInputError`` naming the file, row or feature) before
anything is written; what it can use but finds wrong goes into the report, whose errors block
activation and whose warnings do not.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import reproject
from layers.errors import PlanInputError
from layers.model import (
    IMPORTED_RASTERS,
    OVERLAY_COLUMNS,
    PlanData,
    PlanRaster,
    PlanVersion,
    RasterKind,
    Region,
    RuleSet,
    empty_overlays,
)
from layers.quality import (
    check_overlay_extent,
    check_provisions_coverage,
    check_raster_rules,
    check_rules_coverage,
    check_zones,
)
from layers.rasters import read_raster
from layers.report import QualityReport
from layers.rules import (
    NameIndex,
    read_crosswalk,
    read_intensity,
    read_itbx,
    read_provisions,
    read_raster_rules,
)
from layers.store import PlanStore
from layers.zoning import read_overlay, read_zoning

#: The options of an overlay spec, and the ``OverlaySource`` field each sets.
OVERLAY_OPTIONS = {
    "layer": "layer",
    "name": "name_column",
    "class": "klass_column",
    "ceiling": "ceiling_column",
}
OVERLAY_SPEC = "KIND=FILE[,layer=L][,name=COL][,class=COL][,ceiling=COL]"
RASTER_SPEC = f"KIND=FILE, KIND one of {', '.join(IMPORTED_RASTERS)}"

#: The parts a Shapefile cannot be read without, beside its ``.shp``.
SHAPEFILE_PARTS = (".shx", ".dbf")


@dataclass(frozen=True)
class OverlaySource:
    """An overlay layer file: its provision kind and which columns name, class and cap it."""

    kind: str
    path: Path
    layer: str | None = None
    name_column: str | None = None
    klass_column: str | None = None
    ceiling_column: str | None = None

    @classmethod
    def parse(cls, spec: str, folder: Path, option: str = "overlay") -> OverlaySource:
        """An overlay as the command line and the HTTP upload spell it, ``OVERLAY_SPEC``
        (``LP2B=lp2b.shp,class=KELAS``), its FILE relative to ``folder``. ``option`` names the
        spec in messages (``--overlay``)."""
        [(kind, rest)] = parse_pairs([spec], option)
        name, *options = rest.split(",")
        if not name:
            raise PlanInputError(f"{option} {kind}: no FILE; an overlay is {OVERLAY_SPEC}")
        chosen = dict(parse_pairs(options, f"{option} {kind}="))
        unknown = sorted(set(chosen) - set(OVERLAY_OPTIONS))
        if unknown:
            raise PlanInputError(
                f"{option} {kind}: unknown option(s) {', '.join(unknown)}; "
                f"options: {', '.join(OVERLAY_OPTIONS)} ({OVERLAY_SPEC})"
            )
        return cls(kind, folder / name, **{OVERLAY_OPTIONS[k]: v for k, v in chosen.items()})


@dataclass(frozen=True)
class RasterSource:
    """A raster file (GeoTIFF or Cloud-Optimised GeoTIFF) and what it holds."""

    kind: RasterKind
    path: Path

    @classmethod
    def parse(cls, spec: str, folder: Path, option: str = "raster") -> RasterSource:
        """A raster as the command line and the HTTP upload spell it, ``RASTER_SPEC``
        (``dem=dem.tif``), its FILE relative to ``folder``."""
        [(kind, name)] = parse_pairs([spec], option)
        if kind not in IMPORTED_RASTERS:
            raise PlanInputError(
                f"{option} {kind}: a raster is {RASTER_SPEC} (slopes are derived from the dem)"
            )
        return cls(RasterKind(kind), folder / name)


def parse_pairs(items: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` items as pairs (a column mapping, an overlay spec and its options)."""
    pairs = []
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise PlanInputError(f"{option} takes NAME=VALUE, not {item!r}")
        pairs.append((key, value))
    return pairs


@dataclass(frozen=True)
class PlanSources:
    """The files of one plan import. Only the zoning layer is required; a plan without rule
    tables imports, and its report says which sub-zones have no rules. ``rasters`` holds one
    raster of each kind at most; ``raster_rules`` the table of limits that use them."""

    zoning: Path
    layer: str | None = None
    mapping: Mapping[str, str] | None = None
    crs_epsg: int | None = None
    allow_z: bool = False
    itbx: Path | None = None
    itbx_sheet: str | None = None
    legend: Path | None = None
    intensity: Path | None = None
    crosswalk: Path | None = None
    provisions: Path | None = None
    overlays: tuple[OverlaySource, ...] = field(default_factory=tuple)
    rasters: tuple[RasterSource, ...] = field(default_factory=tuple)
    raster_rules: Path | None = None


def read_plan(sources: PlanSources, region: Region | None = None) -> PlanData:
    """Read and check every file of a plan; nothing is stored."""
    for path in (sources.zoning, *(src.path for src in sources.overlays)):
        check_shapefile_parts(path)
    zoning = read_zoning(
        sources.zoning,
        layer=sources.layer,
        mapping=sources.mapping,
        crs_epsg=sources.crs_epsg,
        allow_z=sources.allow_z,
    )
    report = QualityReport(list(zoning.report.issues))
    if region is not None:
        _check_region(zoning.zones, region, zoning.source, zoning.id_column)
    overlays = [empty_overlays(zoning.crs_epsg)]
    for src in sources.overlays:
        frame, found = read_overlay(
            src.path,
            src.kind,
            layer=src.layer,
            crs_epsg=zoning.crs_epsg,
            name_column=src.name_column,
            klass_column=src.klass_column,
            ceiling_column=src.ceiling_column,
        )
        overlays.append(frame)
        report.extend(found.issues)
        report.extend(check_overlay_extent(frame, zoning.zones, source=src.path.name))
    rules = read_rules(sources, zoning.zones, report)
    rasters = read_rasters(sources.rasters, zoning.zones, report)
    report.extend(check_zones(zoning.zones, source=zoning.source, id_column=zoning.id_column))
    combined = _concat_overlays(overlays, zoning.crs_epsg)
    if rules != RuleSet():
        report.extend(check_rules_coverage(zoning.zones, rules, source=zoning.source))
        source = sources.provisions.name if sources.provisions else zoning.source
        report.extend(check_provisions_coverage(zoning.zones, combined, rules, source=source))
    if sources.raster_rules is not None or rasters:
        source = sources.raster_rules.name if sources.raster_rules else zoning.source
        report.extend(check_raster_rules(rules, rasters, source=source))
    return PlanData(
        zones=zoning.zones,
        overlays=combined,
        rules=rules,
        crs_epsg=zoning.crs_epsg,
        report=report,
        rasters=rasters,
    )


def read_rasters(
    sources: Sequence[RasterSource], zones: gpd.GeoDataFrame, report: QualityReport
) -> tuple[PlanRaster, ...]:
    """The rasters over the plan's zones, in its CRS; one of each kind."""
    if not sources:
        return ()
    kinds = [src.kind for src in sources]
    twice = sorted({kind.value for kind in kinds if kinds.count(kind) > 1})
    if twice:
        raise PlanInputError(f"raster {', '.join(twice)}: given twice; a plan has one of each")
    plan = shapely.union_all(zones.geometry.array)
    rasters: list[PlanRaster] = []
    for src in sources:
        found, issues = read_raster(src.kind, src.path, plan, int(zones.crs.to_epsg()))
        rasters += found
        report.extend(issues)
    return tuple(rasters)


def read_rules(sources: PlanSources, zones: gpd.GeoDataFrame, report: QualityReport) -> RuleSet:
    """The rule tables named in ``sources``. Names in them resolve to the codes that the ITBX
    header and the zoning layer use; rows a reader can skip become warnings in ``report``."""
    rules = RuleSet()
    if sources.itbx is not None:
        rules = read_itbx(
            sources.itbx, sheet=sources.itbx_sheet, legend=sources.legend, report=report
        )
    names = NameIndex.from_subzones(rules.subzones).extended(
        zip(zones["subzone_name"], zones["subzone_code"], strict=True)
    )
    if sources.intensity is not None:
        rules = rules.merge(read_intensity(sources.intensity, names=names, report=report))
    if sources.crosswalk is not None:
        rules = rules.merge(read_crosswalk(sources.crosswalk, report=report))
    if sources.provisions is not None:
        rules = rules.merge(read_provisions(sources.provisions, names=names, report=report))
    if sources.raster_rules is not None:
        rules = rules.merge(read_raster_rules(sources.raster_rules, names=names, report=report))
    return rules


def import_plan(store: PlanStore, plan_id: int, sources: PlanSources, label: str) -> PlanVersion:
    """Read a plan's files and store them as a draft version of ``plan_id``."""
    plan = store.plan(plan_id)
    data = read_plan(sources, store.region(plan.region_code))
    return store.add_version(plan_id, data, label)


def check_shapefile_parts(path: Path) -> None:
    """Refuse a Shapefile, on its own or in a zip, that lacks its index (``.shx``) or attribute
    table (``.dbf``). GDAL cannot read it without them, and says so in terms of its own
    configuration; a planner needs to hear which part to send."""
    suffix = path.suffix.lower()
    if suffix == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [m.replace("\\", "/") for m in archive.namelist()]
        where = f"{path.name}: "
    elif suffix == ".shp" and path.parent.is_dir():
        stem = path.stem.casefold()
        names = [p.name for p in path.parent.iterdir() if p.stem.casefold() == stem]
        where = ""
    else:
        return
    for shp, missing in _missing_parts(names):
        raise PlanInputError(
            f"{where}{PurePosixPath(shp).name}: the Shapefile lacks its "
            f"{' and '.join(missing)}; send every part of it (.shp, .shx, .dbf and .prj)"
        )


def _missing_parts(names: Iterable[str]) -> Iterable[tuple[str, list[str]]]:
    """Each ``.shp`` among ``names`` (paths in one folder or zip) with the parts it lacks."""
    present = {name.casefold() for name in names}
    for name in names:
        shp = PurePosixPath(name)
        if shp.suffix.lower() != ".shp":
            continue
        missing = [
            part for part in SHAPEFILE_PARTS if str(shp.with_suffix(part)).casefold() not in present
        ]
        if missing:
            yield name, missing


def _check_region(zones: gpd.GeoDataFrame, region: Region, source: str, id_column: str) -> None:
    """Refuse a plan whose zones lie outside its region's extent (wrong file or wrong CRS)."""
    if region.bbox is None or zones.empty:
        return
    points = reproject(
        np.asarray(shapely.point_on_surface(zones.geometry.array), dtype=object),
        int(zones.crs.to_epsg()),
        4326,
    )
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    min_lon, min_lat, max_lon, max_lat = region.bbox
    outside = ~((lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat))
    if outside.any():
        named = ", ".join(f"{id_column} {z}" for z in zones["zone_id"][outside].head(5))
        raise PlanInputError(
            f"{source}: {int(outside.sum())} of {len(zones)} zones lie outside region "
            f"{region.code} {region.name} (lon {min_lon}..{max_lon}, lat {min_lat}..{max_lat}), "
            f"e.g. {named} at {lon[outside][0]:.5f}, {lat[outside][0]:.5f}"
        )


def _concat_overlays(frames: list[gpd.GeoDataFrame], crs_epsg: int) -> gpd.GeoDataFrame:
    combined = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(
        combined[list(OVERLAY_COLUMNS)], geometry=combined.geometry.values, crs=crs_epsg
    )
