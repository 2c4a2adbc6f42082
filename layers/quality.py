"""Quality checks of a zoning plan: overlaps, gaps, slivers, inconsistent codes, rule coverage,
raster rules and the rasters they read.

All checks take a zones GeoDataFrame (``ZONE_COLUMNS``) in its metric CRS, so areas are m2; they
report locations in lon/lat and name features as the source does (``OBJECTID 424``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gis.crs import LONLAT_EPSG, is_metric, reproject
from gis.errors import CRSError
from gis.geometry import overlapping_pairs
from gis.index import NOISE_M2
from layers.model import (
    FLAG_PROVISIONS,
    PlanRaster,
    RuleSet,
    SpecialProvision,
    norm,
    present,
    zone_flags,
)
from layers.report import Issue, Severity


def check_zones(
    zones: gpd.GeoDataFrame,
    *,
    source: str,
    id_column: str = "OBJECTID",
    sliver_area_m2: float = 1.0,
    sliver_width_m: float = 1.0,
    overlap_tolerance_m2: float = 0.01,
    gap_min_area_m2: float = 1.0,
) -> list[Issue]:
    """Overlaps, gaps, slivers and code conflicts of ``zones``.

    Overlaps over ``overlap_tolerance_m2`` are errors where the sub-zone codes differ (a place with
    two rules) and warnings where they agree (duplicate polygons). Holes in the union of all zones
    of at least ``gap_min_area_m2`` are gaps. Zone parts under ``sliver_area_m2`` or with a mean
    width (2 * area / perimeter) under ``sliver_width_m`` are slivers. ``id_column`` names the
    features in messages (``ZoningLayer.id_column``).
    """
    if zones.crs is None or not is_metric(zones.crs):
        raise CRSError(f"{source}: zones must be in a metric CRS to measure m2, not {zones.crs}")
    labels = np.array([f"{id_column} {zone_id}" for zone_id in zones["zone_id"]], dtype=object)
    geoms = np.asarray(zones.geometry.array, dtype=object)
    ctx = _Context(source, labels, zones.crs.to_epsg() or zones.crs.to_wkt())
    codes = zones["subzone_code"].to_numpy(dtype=object)
    # GEOS's coverage validator marks the zones whose edges do not match their neighbours';
    # only those can overlap, so the costly pairwise intersections are limited to them.
    suspect = ~shapely.is_empty(shapely.coverage_invalid_edges(geoms))
    return [
        *_uncoded(geoms, codes, ctx),
        *_overlaps(geoms, codes, suspect, overlap_tolerance_m2, ctx),
        *_gaps(geoms, bool(suspect.any()), gap_min_area_m2, ctx),
        *_slivers(geoms, sliver_area_m2, sliver_width_m, ctx),
        *(issue for code in _CONFLICTS for issue in _conflicts(zones, geoms, code, ctx)),
    ]


def check_rules_coverage(zones: gpd.GeoDataFrame, rules: RuleSet, *, source: str) -> list[Issue]:
    """Sub-zone codes on the map without an ITBX column or intensity row (warnings: the engine
    will answer needs_review there), and rule codes not on the map (info)."""
    on_map = zones.assign(area_m2=zones.geometry.area).groupby("subzone_code")["area_m2"]
    counts, areas = on_map.size(), on_map.sum()
    itbx = {cell.subzone_code for cell in rules.cells}
    intensity = {rule.subzone_code for rule in rules.intensity}
    issues = _crosswalk_issues(rules, source)
    for code in sorted(counts.index):
        missing = [
            name for name, known in (("ITBX", itbx), ("intensity", intensity)) if code not in known
        ]
        if missing:
            issues.append(
                Issue(
                    Severity.WARNING,
                    "rules-missing",
                    f"sub-zone {code} ({_zones(counts[code])}) has no {' and no '.join(missing)} "
                    "rules; checks there will need review",
                    source=source,
                    area_m2=float(areas[code]),
                    details={"subzone_code": code, "missing": missing},
                )
            )
    unused = sorted((itbx | intensity | set(rules.subzones)) - set(counts.index))
    if unused:
        issues.append(
            Issue(
                Severity.INFO,
                "rules-unused",
                f"rules name sub-zones not on the map: {', '.join(unused)}",
                source=source,
                details={"subzone_codes": unused},
            )
        )
    return issues


def check_provisions_coverage(
    zones: gpd.GeoDataFrame, overlays: gpd.GeoDataFrame, rules: RuleSet, *, source: str
) -> list[Issue]:
    """Special provisions on the map that no rule of the plan covers there: a zone's flag
    (``KRB_03: Rawan Banjir Tinggi``) or an overlay polygon, by kind and class. A parcel there
    needs review, since the map says the provision applies but the plan not what it asks
    (warnings). A rule limited to a block or a sub-zone covers the zones of that block or
    sub-zone, and the part of an overlay over them, as a check reads it; a KKOP polygon with its
    ceiling is covered by the ceiling itself."""
    places = _flagged_places(zones)
    under = _ZonesUnder(zones)
    drawn = zip(
        overlays["kind"], present(overlays["klass"]), present(overlays["ceiling_m"]), strict=True
    )
    polygons: dict[tuple[str, str | None], list[int]] = {}
    for row, (kind, klass, ceiling) in enumerate(drawn):
        if ceiling is None:
            polygons.setdefault((kind, klass), []).append(row)
    issues = []
    for key in sorted(places.keys() | polygons.keys(), key=str):
        kind, klass = key
        matching = [
            rule
            for rule in rules.provisions
            if rule.provision == kind and (rule.klass is None or norm(rule.klass) == norm(klass))
        ]
        if any(rule.block is None and rule.subzone_code is None for rule in matching):
            continue
        found = places.get(key, [])
        if key in polygons:
            found = found + under.places(overlays, polygons[key], whole=not matching)
        bare = [place for place in found if not any(_covers(rule, place) for rule in matching)]
        if bare:
            issues.append(_uncovered(kind, klass, bare, restricted=bool(matching), source=source))
    return issues


@dataclass(frozen=True)
class _Place:
    """Where a provision lies on the map: land, the block and sub-zone a check reads there,
    and the zone flag or the overlay polygon (its row) that puts it there."""

    land: Any
    block: str | None
    subzone_code: str | None
    zone: int | None = None
    overlay: int | None = None


def _flagged_places(zones: gpd.GeoDataFrame) -> dict[tuple[str, str | None], list[_Place]]:
    places: dict[tuple[str, str | None], list[_Place]] = {}
    rows = zip(
        zones["flags"],
        present(zones["block"]),
        present(zones["subzone_code"]),
        zones.geometry.array,
        strict=True,
    )
    for row, (flags, block, code, geom) in enumerate(rows):
        for column, value in zone_flags(flags).items():
            kind = FLAG_PROVISIONS.get(column)
            if kind is not None:
                places.setdefault((kind, value), []).append(_Place(geom, block, code, zone=row))
    return places


class _ZonesUnder:
    """The zones that cut an overlay's polygons into the places a check reads (block and
    sub-zone), indexed once, on first use."""

    def __init__(self, zones: gpd.GeoDataFrame) -> None:
        self.geoms = np.asarray(zones.geometry.array, dtype=object)
        self.blocks, self.codes = present(zones["block"]), present(zones["subzone_code"])

    @cached_property
    def tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.geoms)

    def places(self, overlays: gpd.GeoDataFrame, rows: list[int], *, whole: bool) -> list[_Place]:
        """The overlay polygons ``rows``: whole where no rule could cover them (``whole``),
        else cut by the zones under them, each piece with its zone's block and sub-zone."""
        geoms = np.asarray(overlays.geometry.array, dtype=object)[rows]
        if whole:
            return [_Place(g, None, None, overlay=r) for g, r in zip(geoms, rows, strict=True)]
        left, right = self.tree.query(geoms, predicate="intersects")
        pieces = shapely.intersection(geoms[left], self.geoms[right])
        keep = shapely.area(pieces) > NOISE_M2
        return [
            _Place(piece, self.blocks[z], self.codes[z], overlay=rows[o])
            for piece, o, z in zip(pieces[keep], left[keep], right[keep], strict=True)
        ]


def _covers(rule: SpecialProvision, place: _Place) -> bool:
    return (rule.block is None or rule.block == place.block) and (
        rule.subzone_code is None or rule.subzone_code == place.subzone_code
    )


def _uncovered(
    kind: str, klass: str | None, bare: list[_Place], *, restricted: bool, source: str
) -> Issue:
    provision = f"{kind} {klass}" if klass else kind
    n_zones = len({place.zone for place in bare if place.zone is not None})
    n_polygons = len({place.overlay for place in bare if place.overlay is not None})
    where = " and ".join(
        f"{n} {what}"
        for n, what in ((n_zones, "zone(s) flagged"), (n_polygons, "overlay polygon(s)"))
        if n
    )
    blocks = sorted({place.block for place in bare if place.block})
    if restricted:
        message = (
            f"special provision {provision} has rules only for some blocks or sub-zones, and "
            f"none for {where} in block(s) {', '.join(blocks) or '(none named)'}; checks there "
            "will need review"
        )
    else:
        message = (
            f"special provision {provision} ({where}) has no rule in the plan; checks there "
            "will need review"
        )
    return Issue(
        Severity.WARNING,
        "provision-rules-missing",
        message,
        source=source,
        area_m2=float(shapely.union_all([place.land for place in bare]).area),
        details={"kind": kind, "klass": klass, "blocks": blocks},
    )


def check_raster_rules(
    rules: RuleSet, rasters: Sequence[PlanRaster], *, source: str
) -> list[Issue]:
    """Raster rules whose raster the version lacks (errors: every check would need review for
    want of data), and rasters no rule reads (info: kept for maps and analysts)."""
    have = {r.kind.value for r in rasters}
    wanted = {r.raster for r in rules.raster_rules}
    issues = [
        Issue(
            Severity.ERROR,
            "raster-rule-without-raster",
            f"the raster rules limit {kind}, but the version has no such raster (import it, "
            f"{'a dem' if kind.startswith('slope') else kind}, with the plan)",
            source=source,
            details={"raster": kind},
        )
        for kind in sorted(wanted - have)
    ]
    unused = sorted(have - wanted)
    if unused:
        issues.append(
            Issue(
                Severity.INFO,
                "raster-unused",
                f"no raster rule reads {', '.join(unused)}",
                source=source,
                details={"rasters": unused},
            )
        )
    return issues


def check_overlay(overlay: gpd.GeoDataFrame, labels: Sequence[str], *, source: str) -> list[Issue]:
    """Polygons of one provision (kind, class and ceiling alike) that overlap: a check counts
    the land they share once and cites them as one area under both names, so a planner should
    know (two agencies' maps of one hazard, setbacks of two rivers meeting). Warnings, one per
    pair, at the area above which the engine merges them; polygons that only touch stay apart."""
    geoms = np.asarray(overlay.geometry.array, dtype=object)
    if len(geoms) < 2:
        return []
    crs = overlay.crs.to_epsg() or overlay.crs.to_wkt()
    ctx = _Context(source, np.asarray(labels, dtype=object), crs)
    columns = (present(overlay[name]) for name in ("kind", "klass", "ceiling_m"))
    provisions = zip(*columns, strict=True)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for row, key in enumerate(provisions):
        groups.setdefault(key, []).append(row)
    issues = []
    for (kind, klass, ceiling), rows in groups.items():
        if len(rows) < 2:
            continue
        members = np.asarray(rows)
        left, right, shared = overlapping_pairs(geoms[members], NOISE_M2)
        provision = " ".join(
            str(part)
            for part in (kind, klass, None if ceiling is None else f"ceiling {ceiling:g} m")
            if part is not None
        )
        for a, b, area, where in zip(
            members[left], members[right], shapely.area(shared), ctx.locations(shared), strict=True
        ):
            la, lb = ctx.labels[a], ctx.labels[b]
            issues.append(
                Issue(
                    Severity.WARNING,
                    "overlay-overlap",
                    f"{provision} polygons {la} and {lb} overlap: a check counts the land they "
                    "share once and cites them as one area under both names",
                    source=source,
                    feature=f"{la}, {lb}",
                    location=where,
                    area_m2=float(area),
                    details={"features": [la, lb], "kind": kind},
                )
            )
    return issues


def check_overlay_extent(
    overlay: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *, source: str
) -> list[Issue]:
    """An overlay none of whose polygons meets a zone of the plan: no parcel can ever fall in
    it, so it is most likely another area's layer or one read in the wrong CRS (a warning)."""
    if overlay.empty or zones.empty:
        return []
    hits = shapely.STRtree(np.asarray(zones.geometry.array)).query(
        np.asarray(overlay.geometry.array), predicate="intersects"
    )
    if hits.size:
        return []
    kinds = ", ".join(dict.fromkeys(str(kind) for kind in overlay["kind"]))
    return [
        Issue(
            Severity.WARNING,
            "overlay-outside",
            f"no polygon of the {kinds} overlay meets a zone of the plan (another area's layer, "
            "or the wrong CRS?); no check will ever cite it",
            source=source,
            location=_Context(source, np.empty(0, dtype=object), overlay.crs.to_epsg()).locations(
                np.asarray(overlay.geometry.array[:1])
            )[0],
        )
    ]


def _zones(n: int) -> str:
    return f"{n} zone" if n == 1 else f"{n} zones"


def _crosswalk_issues(rules: RuleSet, source: str) -> list[Issue]:
    """KBLI links to kegiatan the matrix lacks: a permit with that KBLI would find no row."""
    known = {a.id for a in rules.activities}
    dangling = sorted({e.activity_id for e in rules.crosswalk} - known) if known else []
    if not dangling:
        return []
    kbli = sorted({e.kbli for e in rules.crosswalk if e.activity_id in dangling})
    return [
        Issue(
            Severity.WARNING,
            "crosswalk-unknown-activity",
            f"the KBLI crosswalk links {', '.join(kbli[:10])} to kegiatan the ITBX matrix does "
            f"not have: {', '.join(dangling[:10])}",
            source=source,
            details={"activity_ids": dangling, "kbli": kbli},
        )
    ]


#: The code-conflict checks: issue code -> (key column, value column, wording).
_CONFLICTS: dict[str, tuple[str, str, str]] = {
    "subzone-name-conflict": ("subzone_code", "subzone_name", "sub-zone {key} has {n} names"),
    "subzone-num-conflict": ("subzone_code", "subzone_num", "sub-zone {key} has {n} numeric codes"),
    "num-code-conflict": (
        "subzone_num",
        "subzone_code",
        "numeric code {key} is under {n} sub-zone codes",
    ),
}
_NAMED_MAX = 10


@dataclass(frozen=True)
class _Context:
    """What every check needs to word an issue: source, feature labels, the metric CRS."""

    source: str
    labels: NDArray[np.object_]
    crs: int | str

    def locations(self, geoms: NDArray[np.object_]) -> list[tuple[float, float]]:
        """A lon/lat point on each geometry."""
        points = reproject(shapely.point_on_surface(geoms), self.crs, LONLAT_EPSG)
        return [(float(x), float(y)) for x, y in shapely.get_coordinates(points)]

    def named(self, indices: Sequence[int] | NDArray[np.intp]) -> str:
        """Labels of the features at ``indices``, at most ten, then how many more."""
        chosen = [str(self.labels[i]) for i in indices]
        more = len(chosen) - _NAMED_MAX
        return ", ".join(chosen[:_NAMED_MAX]) + (f" and {more} more" if more > 0 else "")


def _uncoded(geoms: NDArray[np.object_], codes: NDArray[np.object_], ctx: _Context) -> list[Issue]:
    """Zones without a sub-zone code: no rule can apply there."""
    missing = np.flatnonzero(pd.isna(codes))
    if not missing.size:
        return []
    return [
        Issue(
            Severity.WARNING,
            "missing-code",
            f"{missing.size} zone(s) without a sub-zone code; checks there will need review",
            source=ctx.source,
            feature=ctx.named(missing),
            location=ctx.locations(geoms[missing[:1]])[0],
            area_m2=float(shapely.area(geoms[missing]).sum()),
        )
    ]


def _overlaps(
    geoms: NDArray[np.object_],
    codes: NDArray[np.object_],
    suspect: NDArray[np.bool_],
    tolerance_m2: float,
    ctx: _Context,
) -> list[Issue]:
    """Zone pairs whose overlap exceeds ``tolerance_m2``, among pairs with a ``suspect`` zone;
    parts are indexed, not multipolygons."""
    if not suspect.any():
        return []
    parts, owner = shapely.get_parts(geoms, return_index=True)
    tree = shapely.STRtree(parts)
    query = np.flatnonzero(suspect[owner])
    left, right = tree.query(parts[query], predicate="intersects")
    za, zb = owner[query[left]], owner[right]
    keep = za != zb
    pairs = np.unique(np.sort(np.column_stack([za[keep], zb[keep]]), axis=1), axis=0)
    if not len(pairs):
        return []
    shared = shapely.intersection(geoms[pairs[:, 0]], geoms[pairs[:, 1]])
    areas = shapely.area(shared)
    over = areas > tolerance_m2
    issues = []
    for (a, b), area, where in zip(
        pairs[over], areas[over], ctx.locations(shared[over]), strict=True
    ):
        la, lb, ca, cb = ctx.labels[a], ctx.labels[b], codes[a], codes[b]
        same = ca == cb
        issues.append(
            Issue(
                Severity.WARNING if same else Severity.ERROR,
                "duplicate-zone" if same else "overlap",
                f"zones {la} and {lb} of the same sub-zone {ca} overlap (duplicate polygons?)"
                if same
                else f"zones {la} ({ca}) and {lb} ({cb}) overlap: two rules for one place",
                source=ctx.source,
                feature=f"{la}, {lb}",
                location=where,
                area_m2=float(area),
                details={"features": [la, lb], "subzone_codes": [ca, cb]},
            )
        )
    return issues


def _gaps(
    geoms: NDArray[np.object_], overlapping: bool, min_area_m2: float, ctx: _Context
) -> list[Issue]:
    """Holes in the union of all zones: land inside the plan that no zone covers. A clean
    coverage unions by its shared edges (fast); one with overlaps needs the full union."""
    union = shapely.union_all(geoms) if overlapping else shapely.coverage_union_all(geoms)
    rings, owner = shapely.get_rings(shapely.get_parts(union), return_index=True)
    interior = np.ones(len(rings), dtype=bool)
    interior[np.unique(owner, return_index=True)[1]] = False
    holes = shapely.polygons(rings[interior])
    areas = shapely.area(holes)
    big = areas >= min_area_m2
    issues = [
        Issue(
            Severity.WARNING,
            "gap",
            "land inside the plan that no zone covers",
            source=ctx.source,
            location=where,
            area_m2=float(area),
        )
        for area, where in zip(areas[big], ctx.locations(holes[big]), strict=True)
    ]
    if (~big).any():
        issues.append(
            Issue(
                Severity.INFO,
                "gap-small",
                f"{int((~big).sum())} gaps under {min_area_m2:g} m2 between zones ignored",
                source=ctx.source,
                area_m2=float(areas[~big].sum()),
            )
        )
    return issues


def _slivers(
    geoms: NDArray[np.object_], min_area_m2: float, min_width_m: float, ctx: _Context
) -> list[Issue]:
    """Zone parts too small or too thin to be meant: under ``min_area_m2`` or a mean width
    (2 * area / perimeter, m) under ``min_width_m``."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    areas = shapely.area(parts)
    widths = 2 * areas / np.maximum(shapely.length(parts), np.finfo(float).tiny)
    thin = (areas < min_area_m2) | (widths < min_width_m)
    return [
        Issue(
            Severity.WARNING,
            "sliver",
            f"sliver zone part, mean width {width:.2f} m",
            source=ctx.source,
            feature=str(ctx.labels[zone]),
            location=where,
            area_m2=float(area),
        )
        for zone, area, width, where in zip(
            owner[thin], areas[thin], widths[thin], ctx.locations(parts[thin]), strict=True
        )
    ]


def _conflicts(
    zones: gpd.GeoDataFrame, geoms: NDArray[np.object_], code: str, ctx: _Context
) -> list[Issue]:
    """Keys (e.g. a sub-zone code) that carry several values (e.g. two names); the features with
    a value other than the most common one are named."""
    key_column, value_column, wording = _CONFLICTS[code]
    frame = pd.DataFrame(
        {
            "key": zones[key_column].to_numpy(dtype=object),
            "value": zones[value_column].to_numpy(dtype=object),
        }
    ).dropna()
    frame["norm"] = frame["value"].map(lambda v: " ".join(str(v).split()).casefold())
    varied = frame.groupby("key")["norm"].nunique()
    issues = []
    for key in sorted(varied[varied > 1].index):
        group = frame[frame["key"] == key]
        common = group["norm"].value_counts().index[0]
        odd = group.index[group["norm"] != common].to_numpy()
        counts = group.groupby("value", sort=False).size()
        issues.append(
            Issue(
                Severity.WARNING,
                code,
                wording.format(key=key, n=group["norm"].nunique())
                + ": "
                + ", ".join(
                    f"{value} ({n} zone{'s' if n > 1 else ''})" for value, n in counts.items()
                ),
                source=ctx.source,
                feature=ctx.named(odd),
                location=ctx.locations(geoms[odd[:1]])[0],
                details={
                    "values": {
                        str(value): [str(ctx.labels[i]) for i in rows]
                        for value, rows in group.groupby("value", sort=False).groups.items()
                    }
                },
            )
        )
    return issues
