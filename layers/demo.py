"""A generated demo plan: the RDTR of a Bontang-like coastal town in East Kalimantan.

Nothing here is a real regulation. The town, its zoning map, overlays and zoning rules are
generated (deterministically from a seed) to look like what a planning office receives: a zone
coverage in the ATR/BPN schema, special-provision overlays, an ITBX matrix with real KBLI codes,
an intensity table, a KBLI crosswalk and special provisions. ``write_demo_files`` writes them in
the formats the importers read, so a demo runs through the same code as a real plan.

Geometry is built in EPSG:32650 (UTM 50N, metres) on a 1 cm grid and made an exact coverage
(neighbours share their edges vertex for vertex, no gaps, no overlaps).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import date
from functools import cache
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pyproj import Transformer
from shapely.geometry import LineString, Polygon, box

from layers.model import (
    OVERLAY_COLUMNS,
    ZONE_COLUMNS,
    Activity,
    CrosswalkEntry,
    IntensityRule,
    ItbxCell,
    ItbxClass,
    LegendEntry,
    PlanData,
    PlanKind,
    Region,
    RuleSet,
    SpecialProvision,
)
from layers.report import QualityReport
from layers.rules.itbx import activity_slug
from layers.zoning import FLAG_COLUMNS

FloatArray = npt.NDArray[np.float64]
GeomArray = npt.NDArray[np.object_]

DEMO_REGION = Region(code="6474", name="Kota Bontang", bbox=(117.45, 0.10, 117.52, 0.16))
DEMO_CRS_EPSG = 32650
DEMO_PLAN_KIND = PlanKind.RDTR
DEMO_PLAN_NAME = "RDTR Kota Demo (Bontang-like, generated)"
DEMO_LEGAL_BASIS = (
    "Perda Kota Bontang Nomor 7 Tahun 2024 tentang RDTR WP Bontang "
    "(data demo yang dibangkitkan, bukan peraturan yang berlaku)"
)
DEMO_ENACTED_ON = date(2024, 7, 1)

#: Layer of ``zones.gpkg``, and the layer of ``overlays.gpkg`` for each overlay kind.
ZONES_LAYER = "pola_ruang"
OVERLAY_LAYERS: dict[str, str] = {
    "LP2B": "lp2b",
    "KRB": "krb",
    "SEMPADAN": "sempadan",
    "KKOP": "kkop",
    "CAGBUD": "cagbud",
}
#: What a flag column of the ATR/BPN schema holds where the provision does not apply.
NO_FLAG = "Tidak Ada"
#: The flag column that each overlay kind sets on the zones it covers.
_FLAG_OF_KIND = {
    "KKOP": "KKOP_1",
    "LP2B": "LP2B_2",
    "KRB": "KRB_03",
    "CAGBUD": "CAGBUD",
    "SEMPADAN": "KSMPDN",
}

_GRID = 0.01  # m: coordinates are snapped to this grid
_SLIVER_AREA = 150.0  # m2: smaller pieces join the neighbour they share the longest edge with
_SLIVER_WIDTH = 3.0  # m: so do pieces thinner than this (mean width 2 * area / perimeter)
_LEGAL = "Perda Kota Bontang No. 7/2024 (demo)"
_STOREY_M = 4.0  # m per storey, for the height limits of the intensity table


@dataclass(frozen=True)
class DemoFiles:
    """Where ``write_demo_files`` put each file of the demo plan."""

    directory: Path
    zones: Path
    overlays: Path
    itbx: Path
    intensity: Path
    crosswalk: Path
    provisions: Path


def build_demo_plan(seed: int = 7, n_target_zones: int = 300) -> PlanData:
    """Generate the demo town: about ``n_target_zones`` zones tiling it, overlays and rules.

    Zones and overlays are in EPSG:32650. The same seed always gives the same plan.

    >>> plan = build_demo_plan(seed=1)
    >>> plan.zones.crs.to_epsg(), sorted(set(plan.overlays["kind"]))
    (32650, ['CAGBUD', 'KKOP', 'KRB', 'LP2B', 'SEMPADAN'])
    """
    rng = np.random.default_rng(seed)
    town = _skeleton(rng)
    geoms, labels = _pieces(town, n_target_zones, rng)
    codes = _assign_subzones(town, geoms, labels, rng)
    order, admin = _order_and_admin(town, geoms)
    geoms = [geoms[i] for i in order]
    codes = [codes[i] for i in order]
    overlays = _overlays(town, geoms, codes, rng)
    zones = _zones_frame(geoms, codes, admin, overlays)
    return PlanData(
        zones=zones,
        overlays=overlays,
        rules=_rules(),
        crs_epsg=DEMO_CRS_EPSG,
        report=QualityReport(),
    )


def write_demo_files(directory: Path, plan: PlanData | None = None) -> DemoFiles:
    """Write the demo as a planning office receives it: zones and overlays as GeoPackages in
    lon/lat (EPSG:4326), the ITBX annex as XLSX, and the other rule tables as CSV."""
    plan = plan if plan is not None else build_demo_plan()
    directory.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(
        directory=directory,
        zones=directory / "zones.gpkg",
        overlays=directory / "overlays.gpkg",
        itbx=directory / "itbx.xlsx",
        intensity=directory / "intensity.csv",
        crosswalk=directory / "crosswalk.csv",
        provisions=directory / "provisions.csv",
    )
    _write_zones(files.zones, plan.zones)
    _write_overlays(files.overlays, plan.overlays)
    _write_itbx(files.itbx, plan.rules)
    _write_csv(
        files.intensity,
        [f.name for f in fields(IntensityRule)],
        (astuple(r) for r in plan.rules.intensity),
    )
    _write_csv(
        files.crosswalk, ["kbli", "kode"], ((e.kbli, e.activity_id) for e in plan.rules.crosswalk)
    )
    _write_csv(
        files.provisions,
        [f.name for f in fields(SpecialProvision)],
        (astuple(p) for p in plan.rules.provisions),
    )
    return files


# --- zone families and sub-zones ------------------------------------------------------------


@dataclass(frozen=True)
class _Family:
    code: str
    name: str
    kodzon: str
    protected: bool
    subzones: tuple[tuple[str, str, str], ...]  # (code, name, KODSZN)


def _single(code: str, family: str, name: str, kod: str, protected: bool) -> _Family:
    return _Family(code, family, kod, protected, ((code, name, kod),))


#: Families in the column order of the ITBX annex, protected (lindung) families first.
_FAMILIES: tuple[_Family, ...] = (
    _single("BA", "Zona Badan Air", "Badan Air", "31010000", True),
    _single("PS", "Zona Perlindungan Setempat", "Perlindungan Setempat", "31030000", True),
    _Family(
        "RTH",
        "Zona Ruang Terbuka Hijau",
        "31031000",
        True,
        (
            ("RTH-2", "Taman Kota", "31031200"),
            ("RTH-3", "Taman Kecamatan", "31031300"),
            ("RTH-4", "Taman Kelurahan", "31031400"),
            ("RTH-5", "Taman RW", "31031500"),
            ("RTH-7", "Pemakaman", "31031700"),
        ),
    ),
    _single("CB", "Zona Cagar Budaya", "Cagar Budaya", "31060000", True),
    _single("EM", "Zona Ekosistem Mangrove", "Ekosistem Mangrove", "31070000", True),
    _single("BJ", "Zona Badan Jalan", "Badan Jalan", "32010000", False),
    _Family(
        "P",
        "Zona Pertanian",
        "32040000",
        False,
        (("P-1", "Tanaman Pangan", "32041000"), ("P-3", "Perkebunan", "32043000")),
    ),
    _single(
        "PTL", "Zona Pembangkitan Tenaga Listrik", "Pembangkitan Tenaga Listrik", "32075000", False
    ),
    _single(
        "KPI", "Zona Kawasan Peruntukan Industri", "Kawasan Peruntukan Industri", "32080000", False
    ),
    _single("W", "Zona Pariwisata", "Pariwisata", "32090000", False),
    _Family(
        "R",
        "Zona Perumahan",
        "32103000",
        False,
        (
            ("R-2", "Perumahan Kepadatan Tinggi", "32103200"),
            ("R-3", "Perumahan Kepadatan Sedang", "32103300"),
            ("R-4", "Perumahan Kepadatan Rendah", "32103400"),
        ),
    ),
    _Family(
        "SPU",
        "Zona Sarana Pelayanan Umum",
        "32104000",
        False,
        (
            ("SPU-1", "SPU Skala Kota", "32104100"),
            ("SPU-2", "SPU Skala Kecamatan", "32104200"),
            ("SPU-3", "SPU Skala Kelurahan", "32104300"),
            ("SPU-4", "SPU Skala RW", "32104400"),
        ),
    ),
    _single("RTNH", "Zona Ruang Terbuka Non Hijau", "Ruang Terbuka Non Hijau", "32105000", False),
    _Family(
        "PL",
        "Zona Peruntukan Lainnya",
        "32106000",
        False,
        (("PL-4", "Instalasi Pengolahan Air Limbah (IPAL)", "32106202"),),
    ),
    _Family(
        "K",
        "Zona Perdagangan dan Jasa",
        "32112000",
        False,
        (
            ("K-1", "Perdagangan dan Jasa Skala Kota", "32112100"),
            ("K-2", "Perdagangan dan Jasa Skala WP", "32112200"),
            ("K-3", "Perdagangan dan Jasa Skala SWP", "32112300"),
        ),
    ),
    _single("KT", "Zona Perkantoran", "Perkantoran", "32113000", False),
    _single("TR", "Zona Transportasi", "Transportasi", "32120000", False),
    _single("HK", "Zona Pertahanan dan Keamanan", "Pertahanan dan Keamanan", "32130000", False),
)
_FAMILY_OF: dict[str, _Family] = {sz[0]: f for f in _FAMILIES for sz in f.subzones}
_SUBZONE: dict[str, tuple[str, str, str]] = {sz[0]: sz for f in _FAMILIES for sz in f.subzones}


def _family(code: str, name: str) -> _Family:
    """The family of a sub-zone code; codes the demo does not know form a family of their own."""
    known = _FAMILY_OF.get(code)
    if known is not None:
        return known
    family = code.split("-")[0]
    return _Family(family, f"Zona {family}", "", False, ((code, name, ""),))


# --- geometry helpers ------------------------------------------------------------------------


@cache
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _ix(a: Any, b: Any) -> Any:
    return shapely.intersection(a, b, grid_size=_GRID)


def _minus(a: Any, b: Any) -> Any:
    return shapely.difference(a, b, grid_size=_GRID)


def _union(*geoms: Any) -> Any:
    return shapely.union_all(geoms, grid_size=_GRID)


def _polygons(geoms: Any) -> GeomArray:
    """The non-empty polygon parts of geometries (overlays may also return lines and points)."""
    parts = shapely.get_parts(np.atleast_1d(geoms))
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    return parts[keep]


def _areal(geom: Any) -> Any:
    """Only the polygons of an overlay result, as a Polygon or MultiPolygon."""
    parts = _polygons(geom)
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


def _buffer(lines: Sequence[LineString] | LineString, distance: float) -> Any:
    """Flat-capped buffers of lines in m, unioned (road bodies, rivers, their setbacks)."""
    buffers = shapely.buffer(np.atleast_1d(lines), distance, cap_style="flat", quad_segs=4)
    return shapely.union_all(buffers, grid_size=_GRID)


def _wave(t: FloatArray, rng: np.random.Generator, amplitude: float) -> FloatArray:
    """A smooth random wiggle of about ``amplitude`` along ``t`` in [0, 1] (two sines)."""
    f1, f2 = rng.uniform(0.8, 1.6), rng.uniform(2.4, 3.6)
    p1, p2 = rng.uniform(0.0, 2 * np.pi, 2)
    return amplitude * (
        0.7 * np.sin(2 * np.pi * f1 * t + p1) + 0.3 * np.sin(2 * np.pi * f2 * t + p2)
    )


@dataclass(frozen=True)
class _Frame:
    """The town's rectangle in UTM metres; (u, v) are fractions of its width and height."""

    x0: float
    y0: float
    width: float
    height: float

    def x(self, u: Any) -> Any:
        return self.x0 + np.asarray(u) * self.width

    def y(self, v: Any) -> Any:
        return self.y0 + np.asarray(v) * self.height

    def line(self, u: Any, v: Any) -> LineString:
        return LineString(np.column_stack([self.x(u), self.y(v)]))

    def box(self, u0: float, v0: float, u1: float, v1: float) -> Polygon:
        return box(self.x(u0), self.y(v0), self.x(u1), self.y(v1))

    def cells(self, size: float) -> GeomArray:
        """Square cells of ``size`` m covering the frame, to cut long features into pieces."""
        gx, gy = np.meshgrid(
            np.arange(self.x0 - size, self.x0 + self.width + size, size),
            np.arange(self.y0 - size, self.y0 + self.height + size, size),
        )
        return shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)


def _frame(inset: float = 100.0) -> _Frame:
    """The largest UTM rectangle inside DEMO_REGION's lon/lat box, less ``inset`` m each side."""
    assert DEMO_REGION.bbox is not None
    lon0, lat0, lon1, lat1 = DEMO_REGION.bbox
    xs, ys = _transformer(4326, DEMO_CRS_EPSG).transform(
        [lon0, lon0, lon1, lon1], [lat0, lat1, lat0, lat1]
    )
    x0, x1 = max(xs[0], xs[1]) + inset, min(xs[2], xs[3]) - inset
    y0, y1 = max(ys[0], ys[2]) + inset, min(ys[1], ys[3]) - inset
    return _Frame(round(x0), round(y0), round(x1 - x0), round(y1 - y0))


# --- the town's skeleton: coast, rivers, roads, airport ----------------------------------------

_ARTERI_U = 0.60
_KOLEKTOR_U = 0.31
_KOLEKTOR_V = (0.17, 0.35, 0.67, 0.90)
_KPI_V = 0.72  # the industrial estate lies north of this, east of the arterial road
_FARM_U = 0.21  # farmland lies west of this
_CENTRE = (0.56, 0.52)
_RUNWAY_BEARING = 80.0  # degrees from north: runway 08/26
_RUNWAY_HALF = 700.0  # m
_AERODROME_ELEVATION = 12.0  # m above sea level
_APPROACH_SECTIONS = (0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0)  # m from strip end
_APPROACH_SLOPE = 0.02
_APPROACH_INNER_HALF = 150.0  # m: half the inner edge
_APPROACH_DIVERGENCE = 0.15


@dataclass(frozen=True)
class _Town:
    frame: _Frame
    land: Polygon
    shore: LineString
    mangrove: Polygon
    main_river: LineString
    tributary: LineString
    arteri: LineString
    kolektor: tuple[LineString, ...]
    lokal: tuple[LineString, ...]
    airport: Polygon
    runway: tuple[float, float, float, float]  # centre x, y (m) and unit direction dx, dy


def _ns_line(f: _Frame, rng: np.random.Generator, u: float, amplitude: float) -> LineString:
    """A road running south to north near ``u``, overshooting the frame a little."""
    t = np.linspace(-0.02, 1.02, 60)
    return f.line(u + _wave(t, rng, amplitude), t)


def _ew_line(
    f: _Frame, rng: np.random.Generator, v: float, amplitude: float, u_from: float = -0.02
) -> LineString:
    """A road running west to east near ``v``, from ``u_from`` to past the coast."""
    t = np.linspace(u_from, 1.02, 60)
    return f.line(t, v + _wave(t, rng, amplitude))


def _skeleton(rng: np.random.Generator) -> _Town:
    """The coast on the east, a river to the sea with a tributary from the north, an arterial
    road parallel to the coast, collector and local roads, and an airport in the north-west."""
    f = _frame()
    t = np.linspace(0.0, 1.0, 81)
    coast_u = 0.86 + _wave(t, rng, 0.03)
    shore = np.column_stack([f.x(coast_u), f.y(t)])
    land = Polygon(np.vstack([[f.x0, f.y0], shore, [f.x0, f.y0 + f.height]]))
    south = t <= 0.46
    depth = (260.0 + _wave(t, rng, 90.0)) / f.width
    mangrove = np.vstack(
        [
            np.column_stack([f.x(coast_u + 0.01), f.y(t)])[south],
            np.column_stack([f.x(coast_u - depth), f.y(t)])[south][::-1],
        ]
    )

    tm = np.linspace(0.0, 1.0, 90)
    river_u = -0.02 + tm
    river_v = 0.56 - 0.12 * tm + _wave(tm, rng, 0.02)
    join_v = float(np.interp(0.49, river_u, river_v))
    tt = np.linspace(0.0, 1.0, 40)
    trib_u = 0.47 + 0.02 * tt + _wave(tt, rng, 0.01) * np.sin(np.pi * tt)

    arteri = _ns_line(f, rng, _ARTERI_U, 0.012)
    kolektor = (
        _ns_line(f, rng, _KOLEKTOR_U, 0.015),
        *(_ew_line(f, rng, v, 0.012) for v in _KOLEKTOR_V),
    )
    lokal_u = (0.125, 0.45, 0.75)
    lokal_v = (0.08, 0.26, 0.46, 0.57, 0.78)
    lokal = (
        *(_ns_line(f, rng, u + rng.uniform(-0.008, 0.008), 0.004) for u in lokal_u),
        *(_ew_line(f, rng, v + rng.uniform(-0.008, 0.008), 0.004, u_from=0.2) for v in lokal_v),
    )

    cx, cy = float(f.x(0.165)), float(f.y(0.80))
    bearing = np.radians(_RUNWAY_BEARING)
    dx, dy = float(np.sin(bearing)), float(np.cos(bearing))
    half_len, half_width = _RUNWAY_HALF + 100.0, 160.0
    airport = Polygon(
        [
            (
                cx + a * half_len * dx - b * half_width * dy,
                cy + a * half_len * dy + b * half_width * dx,
            )
            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))
        ]
    )
    return _Town(
        frame=f,
        land=shapely.set_precision(land, _GRID),
        shore=LineString(shore),
        mangrove=Polygon(mangrove),
        main_river=f.line(river_u, river_v),
        tributary=f.line(trib_u, 1.02 + (join_v - 1.02) * tt),
        arteri=arteri,
        kolektor=kolektor,
        lokal=lokal,
        airport=airport,
        runway=(cx, cy, dx, dy),
    )


# --- the coverage ----------------------------------------------------------------------------


def _layers(town: _Town) -> list[tuple[str, Any, float]]:
    """The fixed features in priority order as (label, area, piece size in m; 0 = one piece).

    Each takes what the earlier ones left of the land; what none takes are the blocks.
    """
    f = town.frame
    rivers = _union(_buffer(town.main_river, 15.0), _buffer(town.tributary, 6.0))
    river_setback = _union(_buffer(town.main_river, 45.0), _buffer(town.tributary, 21.0))
    roads = _union(
        _buffer(town.arteri, 15.0), _buffer(town.kolektor, 10.0), _buffer(town.lokal, 5.0)
    )
    core = shapely.buffer(shapely.Point(f.x(_CENTRE[0]), f.y(_CENTRE[1])), 1600.0)
    frontage = _union(
        _buffer(town.arteri, 15.0 + 70.0), _ix(_buffer(town.kolektor, 10.0 + 50.0), core)
    )
    return [
        ("TR", shapely.set_precision(town.airport, _GRID), 0.0),
        ("BA", rivers, 1500.0),
        ("EM", shapely.set_precision(town.mangrove, _GRID), 1500.0),
        ("PS", _buffer(town.shore, 100.0), 3000.0),
        ("BJ", roads, 3000.0),
        ("PS", river_setback, 0.0),
        ("K", _ix(frontage, f.box(_FARM_U + 0.01, -0.1, 1.1, 1.1)), 900.0),
    ]


def _subdivide(block: Polygon, parcels: int, rng: np.random.Generator) -> GeomArray:
    """Split a block into about ``parcels`` parcels: Voronoi cells of jittered grid seeds."""
    if parcels <= 1:
        return np.array([block], dtype=object)
    minx, miny, maxx, maxy = block.bounds
    step = float(np.sqrt(block.area / parcels))
    gx, gy = np.meshgrid(
        np.arange(minx + step / 2, maxx, step), np.arange(miny + step / 2, maxy, step)
    )
    xs = gx.ravel() + rng.uniform(-0.3, 0.3, gx.size) * step
    ys = gy.ravel() + rng.uniform(-0.3, 0.3, gy.size) * step
    inside = shapely.contains_xy(block, xs, ys)
    if inside.sum() < 2:
        return np.array([block], dtype=object)
    seeds = shapely.multipoints(np.column_stack([xs[inside], ys[inside]]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=block))
    return _polygons(_ix(cells, block))


def _absorb(geoms: GeomArray, small: npt.NDArray[np.bool_]) -> tuple[GeomArray, list[int]]:
    """Merge each ``small`` piece into the neighbour it shares the longest edge with; returns the
    merged pieces and, for every piece, the one it ended up in (itself if it was kept)."""
    tree = shapely.STRtree(geoms)
    merged = geoms.copy()
    owner = list(range(len(geoms)))

    def root(i: int) -> int:
        while owner[i] != i:
            i = owner[i]
        return i

    area = shapely.area(geoms)
    for i in np.flatnonzero(small)[np.argsort(area[small])]:
        near = sorted({root(int(j)) for j in tree.query(geoms[i], predicate="intersects")} - {i})
        if not near:
            continue
        shared = shapely.length(_ix(shapely.boundary(merged[i]), shapely.boundary(merged[near])))
        if shared.max() <= 0:
            continue
        target = near[int(np.argmax(shared))]
        merged[target] = _areal(shapely.union(merged[target], merged[i], grid_size=_GRID))
        owner[i] = target
    return merged, [root(i) for i in range(len(geoms))]


def _pieces(town: _Town, n_target: int, rng: np.random.Generator) -> tuple[list[Any], list[str]]:
    """The land cut into labelled pieces that tile it: fixed features first, then parcels.
    Tiny or very thin pieces (slivers) join a neighbour."""
    remaining = town.land
    geoms: list[Any] = []
    labels: list[str] = []
    for label, area, size in _layers(town):
        part = _ix(remaining, area)
        remaining = _minus(remaining, area)
        pieces = _polygons(_ix(part, town.frame.cells(size)) if size else part)
        geoms.extend(pieces)
        labels.extend([label] * len(pieces))
    blocks = _polygons(remaining)
    unit = float(shapely.area(blocks).sum()) / max(n_target - len(geoms), len(blocks))
    for block in blocks:
        parcels = _subdivide(block, round(block.area / unit), rng)
        geoms.extend(parcels)
        labels.extend(["parcel"] * len(parcels))
    arr = np.array(geoms, dtype=object)
    area, perimeter = shapely.area(arr), shapely.length(arr)
    merged, owner = _absorb(arr, (area < _SLIVER_AREA) | (2 * area / perimeter < _SLIVER_WIDTH))
    keep = [i for i, o in enumerate(owner) if o == i]
    exact = _exact_coverage(merged[keep])
    return list(exact), [labels[i] for i in keep]


def _best_per_group(group: npt.NDArray[np.intp], score: FloatArray) -> npt.NDArray[np.intp]:
    """The index of the highest ``score`` within each ``group``."""
    order = np.lexsort((-score, group))
    return order[np.unique(group[order], return_index=True)[1]]


def _exact_coverage(pieces: GeomArray) -> GeomArray:
    """The pieces made edge-matched MultiPolygons: their boundaries are noded together on the
    grid and cut the land into faces; each face goes to the piece that overlaps it most (the
    nearest piece for a face in a gap between them), each piece becomes the union of its faces,
    and small detached parts that this leaves join their longest-bordering neighbour."""
    edges = shapely.union_all(shapely.boundary(pieces), grid_size=_GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    tree = shapely.STRtree(pieces)
    face, piece = tree.query(faces, predicate="intersects")
    best = _best_per_group(face, shapely.area(shapely.intersection(faces[face], pieces[piece])))
    owner = np.full(len(faces), -1)
    owner[face[best]] = piece[best]
    stray = np.flatnonzero(owner < 0)
    near_face, near_piece = tree.query_nearest(faces[stray])
    owner[stray[near_face]] = near_piece
    united = [shapely.coverage_union_all(faces[owner == i]) for i in range(len(pieces))]
    parts, index = shapely.get_parts(np.array(united, dtype=object), return_index=True)
    area = shapely.area(parts)
    largest = np.zeros(len(parts), dtype=bool)
    largest[_best_per_group(index, area)] = True
    merged, root = _absorb(parts, ~largest & (area < _SLIVER_AREA))
    kept = np.array(root) == np.arange(len(parts))
    return shapely.multipolygons(merged[kept], indices=index[kept])


@dataclass(frozen=True)
class _Places:
    """Where pieces lie: a point on each (m), its (u, v) in the frame, east of the arterial road."""

    points: GeomArray
    x: FloatArray
    y: FloatArray
    u: FloatArray
    v: FloatArray
    east: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, town: _Town, geoms: list[Any]) -> _Places:
        f = town.frame
        points = shapely.point_on_surface(np.array(geoms, dtype=object))
        x, y = shapely.get_x(points), shapely.get_y(points)
        arteri = shapely.get_coordinates(town.arteri)
        east = x > np.interp(y, arteri[:, 1], arteri[:, 0])
        return cls(points, x, y, (x - f.x0) / f.width, (y - f.y0) / f.height, east)


#: Single public uses placed on the parcel nearest (u, v): the civic centre, hospitals, parks,
#: the heritage site by the old river mouth, beach tourism; PTL and PL-4 inside the estate.
_LANDMARKS: tuple[tuple[str, float, float], ...] = (
    ("PTL", 0.86, 0.86),
    ("PL-4", 0.64, 0.73),
    ("KT", 0.46, 0.60),
    ("KT", 0.47, 0.63),
    ("KT", 0.44, 0.57),
    ("SPU-1", 0.50, 0.44),
    ("SPU-1", 0.66, 0.58),
    ("RTH-2", 0.53, 0.57),
    ("RTNH", 0.42, 0.52),
    ("HK", 0.38, 0.28),
    ("CB", 0.78, 0.42),
    ("W", 0.82, 0.62),
    ("W", 0.82, 0.68),
    ("RTH-7", 0.35, 0.74),
    ("RTH-7", 0.42, 0.12),
)
#: Public uses scattered over housing parcels, as a share of them.
_SCATTERED: tuple[tuple[str, float], ...] = (
    ("SPU-2", 0.02),
    ("SPU-3", 0.04),
    ("SPU-4", 0.05),
    ("RTH-3", 0.01),
    ("RTH-4", 0.02),
    ("RTH-5", 0.04),
)


def _assign_subzones(
    town: _Town, geoms: list[Any], labels: list[str], rng: np.random.Generator
) -> list[str]:
    """Sub-zone codes: fixed features keep theirs, trade frontages become K-1..K-3 by place,
    parcels get farmland, industry, housing by distance to the centre, and public uses."""
    f = town.frame
    at = _Places.of(town, geoms)
    x, y, u, v, east = at.x, at.y, at.u, at.v, at.east
    to_centre = np.hypot(x - f.x(_CENTRE[0]), y - f.y(_CENTRE[1]))
    on_arteri = shapely.distance(at.points, town.arteri) < 120.0

    codes = np.array(labels, dtype=object)
    trade = codes == "K"
    codes[trade] = np.select(
        [
            on_arteri[trade] & (v[trade] > 0.32) & (v[trade] < 0.72),
            on_arteri[trade] | (to_centre[trade] < 1000.0),
        ],
        ["K-1", "K-2"],
        "K-3",
    )
    parcel = codes == "parcel"
    farm = parcel & (u < _FARM_U + _wave(v, rng, 0.03))
    kpi = parcel & ~farm & (v > _KPI_V) & east
    urban = parcel & ~farm & ~kpi
    codes[farm] = np.where(v[farm] < 0.6, "P-1", "P-3")
    codes[kpi] = "KPI"
    codes[urban] = np.select(
        [u[urban] < _KOLEKTOR_U, to_centre[urban] < 1300.0, to_centre[urban] < 2600.0],
        ["R-4", "R-2", "R-3"],
        "R-4",
    )
    free = parcel.copy()
    for code, pu, pv in _LANDMARKS:
        among = kpi if code in ("PTL", "PL-4") else urban
        pool = np.flatnonzero(among & free) if (among & free).any() else np.flatnonzero(free)
        best = pool[np.argmin(np.hypot(x[pool] - f.x(pu), y[pool] - f.y(pv)))]
        codes[best] = code
        free[best] = False
    area = shapely.area(np.array(geoms, dtype=object))
    modest = (area > 5000.0) & (area < np.median(area[urban]))
    housing = rng.permutation(np.flatnonzero(urban & free & modest))
    start = 0
    for code, share in _SCATTERED:
        count = max(1, round(share * housing.size))
        codes[housing[start : start + count]] = code
        start += count
    return [str(c) for c in codes]


_KELURAHAN = {
    "Bontang Utara": (
        "Bontang Kuala",
        "Bontang Baru",
        "Api-Api",
        "Gunung Elai",
        "Lok Tuan",
        "Guntung",
    ),
    "Bontang Selatan": (
        "Berbas Tengah",
        "Berbas Pantai",
        "Satimpo",
        "Tanjung Laut",
        "Tanjung Laut Indah",
        "Bontang Lestari",
    ),
    "Bontang Barat": ("Belimbing", "Gunung Telihan", "Kanaan"),
}


def _order_and_admin(
    town: _Town, geoms: list[Any]
) -> tuple[list[int], list[tuple[str, str, str, str]]]:
    """Zone order (by block, then north to south) and each zone's (SWP, block, kecamatan,
    kelurahan) in that order. SWP A/B lie north of the centre line, C/D south; B/D east of the
    arterial road; blocks number the cells of a 5 x 6 grid within each SWP."""
    at = _Places.of(town, geoms)
    x, y, u, v, east = at.x, at.y, at.u, at.v, at.east
    north = v > 0.5
    swp = np.where(north, np.where(east, "B", "A"), np.where(east, "D", "C"))
    cell = np.clip(np.floor(u * 5), 0, 4) + 5 * np.clip(np.floor(v * 6), 0, 5)
    number = np.zeros(len(geoms), dtype=int)
    for name in "ABCD":
        mine = swp == name
        number[mine] = np.searchsorted(np.unique(cell[mine]), cell[mine]) + 1
    order = [int(i) for i in np.lexsort((np.round(x), -np.round(y), number, swp))]
    admin = []
    for i in order:
        kec = (
            "Bontang Barat"
            if u[i] < _KOLEKTOR_U
            else ("Bontang Utara" if north[i] else "Bontang Selatan")
        )
        names = _KELURAHAN[kec]
        admin.append(
            (f"SWP {swp[i]}", f"I.{swp[i]}.{number[i]}", kec, names[(number[i] - 1) % len(names)])
        )
    return order, admin


# --- overlays ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Overlay:
    kind: str
    name: str
    klass: str
    ceiling_m: float | None
    geometry: Any


def _approach_sections(town: _Town) -> Iterator[_Overlay]:
    """KKOP approach surfaces cut into sections; a section's ceiling (m above sea level) is the
    surface's height at its inner edge, so ceilings rise away from the runway."""
    cx, cy, dx, dy = town.runway
    for runway, sign in (("08", -1.0), ("26", 1.0)):
        ox = cx + sign * (_RUNWAY_HALF + 60.0) * dx
        oy = cy + sign * (_RUNWAY_HALF + 60.0) * dy
        bounds = pairwise(_APPROACH_SECTIONS)
        for n, (d0, d1) in enumerate(bounds, start=1):
            h0 = _APPROACH_INNER_HALF + _APPROACH_DIVERGENCE * d0
            h1 = _APPROACH_INNER_HALF + _APPROACH_DIVERGENCE * d1
            ring = [
                (ox + sign * d * dx + w * dy, oy + sign * d * dy - w * dx)
                for d, w in ((d0, -h0), (d1, -h1), (d1, h1), (d0, h0))
            ]
            yield _Overlay(
                "KKOP",
                f"Permukaan Pendekatan Landasan {runway}, seksi {n}",
                "Kawasan Pendekatan dan Lepas Landas",
                _AERODROME_ELEVATION + _APPROACH_SLOPE * d0,
                Polygon(ring),
            )


def _overlay_list(
    town: _Town, geoms: list[Any], codes: list[str], rng: np.random.Generator
) -> list[_Overlay]:
    f = town.frame
    farmland = [g for g, c in zip(geoms, codes, strict=True) if c == "P-1"]
    protected = [
        g for g, keep in zip(farmland, rng.random(len(farmland)) < 0.65, strict=True) if keep
    ]
    out = [
        _Overlay("LP2B", f"LP2B Hamparan {n}", "Lahan Pertanian Pangan Berkelanjutan", None, part)
        for n, part in enumerate(_polygons(shapely.union_all(protected, grid_size=_GRID)), start=1)
    ]
    south_coast = _ix(_buffer(town.shore, 250.0), f.box(-0.1, -0.1, 1.1, 0.45))
    high = _union(_buffer(town.main_river, 150.0), south_coast)
    medium = _union(_buffer(town.main_river, 400.0), _buffer(town.tributary, 120.0), high)
    low = _union(_buffer(town.main_river, 700.0), _buffer(town.tributary, 250.0))
    main, trib = _buffer(town.main_river, 15.0), _buffer(town.tributary, 6.0)
    out += [
        _Overlay("KRB", "Kawasan Rawan Banjir", "Rawan Banjir Tinggi", None, high),
        _Overlay("KRB", "Kawasan Rawan Banjir", "Rawan Banjir Sedang", None, _minus(medium, high)),
        _Overlay("KRB", "Kawasan Rawan Banjir", "Rawan Banjir Rendah", None, _minus(low, medium)),
        _Overlay(
            "SEMPADAN",
            "Sempadan Sungai Bontang",
            "Sempadan Sungai 30 m",
            None,
            _minus(_buffer(town.main_river, 45.0), main),
        ),
        _Overlay(
            "SEMPADAN",
            "Sempadan Anak Sungai",
            "Sempadan Sungai 15 m",
            None,
            _minus(_buffer(town.tributary, 21.0), _union(main, trib)),
        ),
        _Overlay(
            "SEMPADAN", "Sempadan Pantai", "Sempadan Pantai 100 m", None, _buffer(town.shore, 100.0)
        ),
        *_approach_sections(town),
    ]
    site = _union(*(g for g, c in zip(geoms, codes, strict=True) if c == "CB"))
    out.append(
        _Overlay(
            "CAGBUD",
            "Situs Kampung Kuala Lama (demo)",
            "Kawasan Cagar Budaya",
            None,
            shapely.buffer(site, 60.0),
        )
    )
    return out


def _overlays(
    town: _Town, geoms: list[Any], codes: list[str], rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """LP2B farmland, flood classes, river and coast setbacks, KKOP sections and the heritage
    site, each clipped to the land as one MultiPolygon row."""
    rows: list[dict[str, Any]] = []
    count: Counter[str] = Counter()
    for o in _overlay_list(town, geoms, codes, rng):
        parts = _polygons(_ix(town.land, o.geometry))
        if not len(parts):
            continue
        count[o.kind] += 1
        source = {"NAMA": o.name, "KELAS": o.klass, "ELEV_MAX": o.ceiling_m}
        values = (f"{o.kind}-{count[o.kind]}", o.kind, o.name, o.klass, o.ceiling_m)
        rows.append(
            {
                **dict(zip(OVERLAY_COLUMNS, (*values, json.dumps(source)), strict=True)),
                "geometry": shapely.multipolygons(parts),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=DEMO_CRS_EPSG)


def _zones_frame(
    geoms: list[Any],
    codes: list[str],
    admin: list[tuple[str, str, str, str]],
    overlays: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """The zones with ZONE_COLUMNS filled as an ATR/BPN import fills them; ``attrs`` holds the
    source row. A zone carries an overlay's flag when its representative point lies inside."""
    multi = np.array(geoms, dtype=object)
    pts = shapely.point_on_surface(multi)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    flags: list[dict[str, str]] = [{} for _ in geoms]
    for kind, klass, geom in zip(
        overlays["kind"], overlays["klass"], overlays.geometry, strict=True
    ):
        column = _FLAG_OF_KIND[kind]
        value = "Ada" if kind == "CAGBUD" else klass
        for hit in np.flatnonzero(shapely.contains_xy(geom, x, y)):
            flags[hit].setdefault(column, value)
    areas = shapely.area(multi)
    records = []
    for i, (code, (swp, block, kec, kel)) in enumerate(zip(codes, admin, strict=True)):
        family, (_, name, kodszn) = _FAMILY_OF[code], _SUBZONE[code]
        source = {
            "OBJECTID": i + 1,
            "NAMOBJ": name,
            "NAMZON": family.name,
            "KODZON": family.kodzon,
            "NAMSZN": name,
            "KODSZN": kodszn,
            "JNSRPR": "31000000" if family.protected else "32000000",
            "KODEWP": "I",
            "KODSWP": swp,
            "KODBLK": block,
            "KODSBL": code,
            "WADMPR": "Kalimantan Timur",
            "WADMKK": "Kota Bontang",
            "WADMKC": kec,
            "WADMKD": kel,
            **{c: flags[i].get(c, NO_FLAG) for c in FLAG_COLUMNS},
            "REMARK": "Data demo (dibangkitkan)",
            "LUASHA": round(float(areas[i]) / 10_000.0, 4),
        }
        records.append(
            (
                str(i + 1),
                code,
                name,
                kodszn,
                family.code,
                family.kodzon,
                block,
                json.dumps(dict(sorted(flags[i].items())), ensure_ascii=False),
                json.dumps(source, ensure_ascii=False),
            )
        )
    columns = {c: [r[k] for r in records] for k, c in enumerate(ZONE_COLUMNS)}
    return gpd.GeoDataFrame(columns, geometry=multi, crs=DEMO_CRS_EPSG)


# --- the zoning regulation -------------------------------------------------------------------

#: The ITBX matrix as a text table. A line without indent names a group of kegiatan; an indented
#: line is "kegiatan | KBLI codes (or -) | cells", and a deeper-indented line continues the cells.
#: Cells are "key=codes" items separated by "; ": a key is a sub-zone (R-2), a family (R) or "*"
#: for every other sub-zone; the most specific key wins and sub-zones no key names are X.
_ITBX_TABLE = """
Pertanian, Perikanan dan Peternakan
  Pertanian Padi | 01121 01122 | P-1=I; P-3=T1; R-4=T1; PS=B1,B3
  Pertanian Jagung | 01111 | P=I; R-3=T1; R-4=T1; PS=B1,B3
  Pertanian Hortikultura Sayuran Daun | 01131 | P=I; R=T1; RTH-5=T1,B1; PS=B1,B3
  Perkebunan Buah Kelapa | 01261 | P-3=I; P-1=T1; R-4=T1; W=T1; PS=B1
  Perkebunan Buah Kelapa Sawit | 01262 | P-3=I
  Perkebunan Karet dan Tanaman Penghasil Getah Lainnya | 01291 | P-3=I; P-1=T1
  Pembibitan dan Budidaya Sapi Potong | 01411 | P-3=I; P-1=T1,B3; R-4=T3,B1,B3
  Budidaya Ayam Ras Pedaging | 01461 | P-3=B1,B3; P-1=T3,B1,B3
  Pembesaran Ikan Air Tawar di Kolam | 03221 | P=I; R-4=T1,B3; PS=B1,B3
  Pembesaran Udang Air Payau (Tambak) | 03254 | P-1=B1,B3; EM=B1,B3
Industri
  Industri Penggaraman/Pengeringan Ikan | 10211 | KPI=I; P-1=T1,B1,B3; R-4=T1,T3,B1,B3;
      K-3=T1,B1,B3
  Industri Pembekuan Ikan | 10213 | KPI=I
  Industri Produk Roti dan Kue | 10710 | KPI=I; K=T1,B3; R=T1,T3,B3
  Industri Makanan dan Masakan Olahan | 10750 | KPI=I; K=T1,B3; R=T1,T3,B3; W=T1,B3
  Industri Air Minum Isi Ulang | 11052 | KPI=I; K=I; R=T3,B3; KT=T1
  Industri Pakaian Jadi (Konveksi) dari Tekstil | 14111 | KPI=I; K=T1,B2; R=T1,T3,B1
  Industri Pencetakan Umum | 18111 | KPI=I; K=T1,B2; KT=T1
  Industri Kimia Dasar Anorganik Gas Industri | 20112 | KPI=I
  Industri Pupuk Buatan Tunggal Hara Makro Primer | 20122 | KPI=I
  Industri Barang dari Semen | 23951 | KPI=I; P-3=T1,B1,B3; K-3=T1,B1,B3
  Industri Kapal dan Perahu | 30111 | KPI=I; PS=B1,B3
  Industri Furnitur dari Kayu | 31001 | KPI=I; K-2=T1,B1,B3; K-3=T1,B1,B3; R-4=T1,T3,B1,B3
Perdagangan dan Jasa
  Minimarket | 47111 | K=I; R-2=T3,B2; R-3=T3,B2; R-4=T1,T3,B2; KT=T1; TR=T1,B2; W=T1; KPI=T1;
      SPU-1=T1
  Supermarket dan Hipermarket | 47111 | K-1=I; K-2=T1,B1,B2
  Toko Kelontong | 47112 | R=I; K=I; P=T1; KT=T1; W=I; TR=T1; SPU=T1; KPI=T1; HK=T1
  Pasar Tradisional | - | K=I; R-2=B1,B2,B3; R-3=B1,B2,B3
  Pusat Perbelanjaan | - | K-1=B1,B2; K-2=B1,B2
  Perdagangan Eceran Berbagai Macam Material Bangunan | 47528 | K=I; R-2=T3,B2; R-3=T1,T3,B2;
      R-4=T1,T3,B2; KPI=I
  Perdagangan Besar Berbagai Macam Material Bangunan | 46638 | K-1=T1,B2; K-2=B1,B2; K-3=B1,B2;
      KPI=I
  Apotek | 47721 | K=I; SPU-1=I; SPU-2=I; SPU-3=T1; R=T3; KT=T1
  Stasiun Pengisian Bahan Bakar Umum (SPBU) | 47301 | K-1=B1,B2,B3; K-2=B1,B2,B3; K-3=B1,B3; KPI=I;
      TR=B1,B3
  Restoran | 56101 | K=I; W=I; KT=T1,B2; R-2=T1,T3,B2; R-3=T1,T3,B2; R-4=T3,B2; TR=T1; KPI=T1
  Rumah/Warung Makan | 56102 | K=I; W=I; R=T3; KT=T1; SPU-1=T1; TR=T1; KPI=T1; P=T1; RTNH=T1,B3
  Rumah Minum/Kafe | 56303 | K=I; W=I; R=T2,T3; KT=T1,T2; RTH-2=T1,T2,B3
  Reparasi Mobil | 45201 | K-2=I; K-3=I; K-1=T1,B2; KPI=I; R=T1,T3,B2,B3; TR=T1
  Reparasi dan Perawatan Sepeda Motor | 45407 | K=I; R=T3,B3; KPI=I; TR=T1
  Aktivitas Penatu | 96200 | K=I; R=T3; KT=T1; SPU-1=T1; KPI=I
  Aktivitas Pangkas Rambut | 96111 | K=I; R=T3; KT=T1; W=T1
  Aktivitas Salon Kecantikan | 96112 | K=I; R=T2,T3; KT=T1; W=T1
  Bank Umum | 64121 64122 | K=I; KT=I; SPU-1=T1; R-2=T1,B2; R-3=T1,B2; TR=T1
  Bank Perkreditan Rakyat | 64131 | K=I; KT=I; R=T1,B2
  Fasilitas Pusat Kebugaran | 93116 | K=I; W=I; SPU-1=T1; KT=T1; R-2=T1,T3,B2; R-3=T1,T3,B2
  Karaoke | 93292 | K-1=T2,B1,B2,B3; K-2=T2,B1,B2,B3; W=T2,B1
Perumahan
  Rumah Tinggal | - | R=I; K-1=T1; K-2=I; K-3=I; KT=T1; P=T1,B1; W=T1; HK=T1,B1
  Perumahan oleh Pengembang | 68111 | R=I; K-2=T1,B1,B2; K-3=T1,B1,B2
  Rumah Susun | 68111 | R-2=I; R-3=B1,B2; K-1=B1,B2; K-2=B1,B2; KT=T1,B1
  Rumah Kos | 55900 | R-2=I; R-3=T3; R-4=T3; K=I; KT=T1
  Asrama dan Mess Karyawan | 55900 | R=I; K=T1; KPI=T1,B1; HK=I; SPU-1=T1,B1; TR=T1
  Rumah Dinas | - | R=I; HK=I; KT=T1; SPU=T1; KPI=T1,B1; TR=T1,B1
Pariwisata dan Akomodasi
  Hotel Bintang | 55110 | K-1=I; K-2=B1,B2; W=I; KT=T1,B2; TR=T1,B1,B2
  Hotel Melati | 55120 | K=I; W=I; R-2=T3,B1,B2; R-3=T3,B1,B2
  Pondok Wisata | 55130 | W=I; R=T3,B1; P=T1,B1; K=I
  Wisata Pantai | 93224 | W=I; PS=T1,B1,B3
  Taman Wisata Alam Mangrove | 91034 | EM=T1,B1,B3; PS=T1,B1; W=I; RTH-2=T1
  Taman Rekreasi | 93211 | W=I; RTH-2=I; RTH-3=T1; K-1=T1,B2; RTNH=T1
  Peninggalan Sejarah/Cagar Budaya yang Dikelola Pemerintah | 91023 | CB=I; W=I; R=B1; K=B1;
      RTH=B1; SPU=B1
  Museum | 91021 91022 | SPU-1=I; CB=T1,B1; W=I; K-1=I; KT=T1
Sarana Pelayanan Umum
  Pendidikan Anak Usia Dini dan Taman Kanak-Kanak | 85131 85132 | SPU=I; R=I; K=T1; KT=T1
  Pendidikan Dasar (SD/MI) | 85111 85121 | SPU-1=I; SPU-2=I; SPU-3=I; SPU-4=T1; R=B1,B2; K=T1,B2
  Pendidikan Menengah Pertama (SMP/MTs) | 85112 85122 | SPU-1=I; SPU-2=I; SPU-3=I; R=B1,B2
  Pendidikan Menengah Atas (SMA/MA/SMK) | 85210 85220 85230 85240 | SPU-1=I; SPU-2=I; SPU-3=T1,B1;
      R=B1,B2
  Pendidikan Tinggi | 85311 85321 | SPU-1=I; SPU-2=B1,B2; K-1=B1,B2; KT=T1,B1,B2
  Rumah Sakit | 86101 86103 | SPU-1=I; SPU-2=B1,B2,B3; K-1=B1,B2,B3; K-2=B1,B2,B3
  Puskesmas | 86102 | SPU-1=I; SPU-2=I; SPU-3=I; SPU-4=T1,B2; R=B1,B2; K=I
  Klinik | 86104 86105 | SPU-1=I; SPU-2=I; SPU-3=I; K=I; R=T3,B2; KT=T1; KPI=T1
  Praktik Dokter | 86201 86202 86203 | SPU=I; K=I; R=T1; KT=T1
  Tempat Peribadatan | - | SPU=I; R=B1; K=T3,B1; KT=T3,B1; KPI=T1,B1; P=T1,B1; TR=I; W=T1; HK=T1;
      CB=T1
  Panti Sosial Lanjut Usia | 87301 87302 | SPU=I; R=B1,B2
  Panti Asuhan | 87901 87902 | SPU=I; R=B1,B2
  Perpustakaan | 91011 91012 | SPU=I; KT=I; K-1=T1; R=T1,B1
  Fasilitas Lapangan Olahraga | 93114 | RTNH=I; SPU=I; RTH=T1; RTH-7=X; R=T1; KPI=T1; HK=I
  Fasilitas Gelanggang/Arena | 93113 | SPU-1=I; SPU-2=T1,B2; K-1=B1,B2; RTNH=T1,B2
Perkantoran
  Kantor Pemerintahan | 84119 | KT=I; SPU=T1; K-1=T1,B2; K-2=T1,B2; HK=I; TR=T1; KPI=T1; R=B1,B2
  Aktivitas Kantor Pusat | 70100 | KT=I; K-1=I; K-2=I; K-3=T1,B2; KPI=I
  Jasa Konsultansi dan Kantor Jasa Profesional | 70209 71102 | KT=I; K=I; R=T1,B2
  Aktivitas Pos | 53100 | KT=I; K=I; SPU-1=I; SPU-2=I; R=T1; TR=I
Transportasi dan Pergudangan
  Pergudangan | 52101 52109 | KPI=I; K-3=T1,B1,B2; K-2=B1,B2; TR=I; P=T1,B1
  Aktivitas Cold Storage | 52102 | KPI=I; TR=T1,B1; K-3=B1,B3
  Terminal Penumpang Angkutan Darat | 52211 | TR=I; K-1=B1,B2,B3; K-2=B1,B2,B3
  Parkir di Luar Badan Jalan | 52215 | RTNH=I; TR=I; K=I; KT=I; SPU=T1; KPI=I; W=T1; R=T1,B1
  Aktivitas Kebandarudaraan | 52231 | TR=I
  Pelabuhan Khusus dan Dermaga | 52221 | KPI=B1,B3; PS=B1,B3
  Pool Angkutan Barang | 49431 | KPI=I; TR=I; K-3=T1,B1,B2
Prasarana, Utilitas dan Ruang Terbuka
  Pembangkitan Tenaga Listrik | 35111 | PTL=I; KPI=I; P-3=B1,B3; TR=T1
  Gardu dan Jaringan Distribusi Tenaga Listrik | 35113 | PTL=I; KPI=I; BJ=B1; R=T1,B1; K=T1,B1;
      KT=T1; SPU=T1; RTNH=T1; TR=I; PL=I
  Instalasi Pengolahan Air Minum | 36001 | BA=B1,B3; PS=B1,B3; KPI=I; PTL=T1; PL=I
  Instalasi Pengolahan Air Limbah | 37021 | PL=I; KPI=I; PTL=T1; R=B1,B3
  Tempat Penampungan Sementara Sampah | 38110 | PL=I; KPI=I; RTNH=B1,B3; R=T3,B1,B3; K=B1,B3;
      SPU=B1,B3; TR=B1,B3
  Menara Telekomunikasi | 61200 | K=B1; KT=B1; SPU-1=B1; R=B1,B3; KPI=I; PTL=I; TR=B1; P=B1; HK=I;
      RTNH=B1
  Taman dan Jalur Hijau | - | *=I; BA=X; EM=T1
  Pemakaman | 96910 | RTH-7=I; R-4=B1,B3; P-3=B1,B3
  Hutan Kota | - | RTH=I; PS=I; EM=I; KPI=I; W=I; P=I; SPU-1=I
  Jalur Pejalan Kaki dan Jalur Sepeda | - | *=I; BA=X; EM=T1,B1
  Ruang Evakuasi Bencana | - | RTH=I; RTH-7=X; RTNH=I; SPU=I; R=I; K=I; KT=I; W=I; TR=I; HK=I
  Jaringan Jalan dan Jembatan | - | *=I; BA=B1; PS=B1; EM=B1,B3; RTH=T1; CB=B1
  Rehabilitasi dan Konservasi Mangrove | - | EM=I; PS=I; BA=I; W=I
"""


def _activity_table() -> Iterator[tuple[str, str, tuple[str, ...], str]]:
    """(group, kegiatan, KBLI codes, cells) for each row of ``_ITBX_TABLE``."""
    rows: list[list[Any]] = []
    group = ""
    for line in _ITBX_TABLE.strip().splitlines():
        if not line.startswith(" "):
            group = line
        elif "|" in line:
            name, kbli, cells = (part.strip() for part in line.split("|"))
            rows.append([group, name, () if kbli == "-" else tuple(kbli.split()), cells])
        else:
            rows[-1][3] += " " + line.strip()
    return (tuple(row) for row in rows)


#: Links beyond each row's own KBLI codes: one KBLI to several kegiatan and back.
_EXTRA_CROSSWALK: tuple[tuple[str, str], ...] = (
    ("47191", "Pusat Perbelanjaan"),
    ("68111", "Pusat Perbelanjaan"),
    ("47813", "Pasar Tradisional"),
    ("47815", "Pasar Tradisional"),
    ("47829", "Pasar Tradisional"),
    ("56109", "Restoran"),
    ("56109", "Rumah/Warung Makan"),
    ("86109", "Rumah Sakit"),
    ("84112", "Kantor Pemerintahan"),
    ("45202", "Reparasi Mobil"),
    ("55194", "Hotel Bintang"),
    ("93232", "Taman Rekreasi"),
)

#: The legend: code, class, text, and what T1 and T3 state in numbers (intensity share in %,
#: minimum distance to the same activity in m).
_LEGEND: tuple[tuple[str, ItbxClass, str, float | None, float | None], ...] = (
    (
        "I",
        ItbxClass.I,
        "Diizinkan: kegiatan sesuai peruntukan sub-zona dan dapat dilaksanakan dengan memenuhi "
        "ketentuan intensitas.",
        None,
        None,
    ),
    ("T", ItbxClass.T, "Diizinkan secara terbatas.", None, None),
    (
        "T1",
        ItbxClass.T,
        "Terbatas intensitas: paling banyak 20% dari luas lantai bangunan dalam satu "
        "kaveling/persil untuk kegiatan di luar peruntukan utama sub-zona.",
        20.0,
        None,
    ),
    (
        "T2",
        ItbxClass.T,
        "Terbatas waktu: kegiatan hanya beroperasi pukul 07.00-22.00 WITA, kecuali peraturan yang "
        "berlaku menetapkan lain.",
        None,
        None,
    ),
    (
        "T3",
        ItbxClass.T,
        "Terbatas jarak: paling dekat 100 meter dari kegiatan sejenis di dalam sub-zona yang sama.",
        None,
        100.0,
    ),
    ("B", ItbxClass.B, "Diizinkan dengan syarat tertentu.", None, None),
    (
        "B1",
        ItbxClass.B,
        "Bersyarat persetujuan: wajib mendapat persetujuan warga sekitar melalui Ketua RT/RW, "
        "rekomendasi perangkat daerah yang membidangi, dan pertimbangan Forum Penataan Ruang "
        "bila diperlukan.",
        None,
        None,
    ),
    (
        "B2",
        ItbxClass.B,
        "Bersyarat parkir dan ruang hijau: wajib menyediakan tempat parkir dan ruang terbuka hijau "
        "di dalam kaveling/persil sendiri, tanpa memakai badan jalan.",
        None,
        None,
    ),
    (
        "B3",
        ItbxClass.B,
        "Bersyarat kebersihan dan keselamatan: wajib menyediakan sarana kebersihan, sanitasi, "
        "keamanan, ketertiban dan proteksi kebakaran paling sedikit sesuai standar.",
        None,
        None,
    ),
    ("X", ItbxClass.X, "Tidak diizinkan.", None, None),
)

_ROADS = ("arteri", "kolektor", "lokal")
_GSB = {"arteri": 10.0, "kolektor": 7.0, "lokal": 4.0}  # m from the edge of the road reserve
_NO_BUILDING = {
    "BA": (0.0, 0.0, None, 0.0, 0, "Tidak diperkenankan mendirikan bangunan gedung"),
    "BJ": (0.0, 0.0, None, 0.0, 0, "Hanya bangunan pelengkap jalan"),
    "EM": (5.0, 0.05, 95.0, 0.0, 1, "Hanya bangunan penunjang pengamatan dan wisata mangrove"),
}
#: code: (KDB %, KLB, KDH %, KTB %, floors by arteri/kolektor/lokal road, lot min m2, side m,
#: rear m, note)
_BY_ROAD: dict[
    str,
    tuple[float, float, float, float, tuple[int, int, int], float | None, float, float, str | None],
] = {
    "PS": (10, 0.1, 90, 0, (1, 1, 1), None, 3, 3, "Hanya bangunan pengaman dan prasarana publik"),
    "RTH-2": (20, 0.2, 80, 0, (1, 1, 1), None, 3, 3, None),
    "RTH-3": (10, 0.1, 90, 0, (1, 1, 1), None, 3, 3, None),
    "RTH-4": (10, 0.1, 90, 0, (1, 1, 1), None, 3, 3, None),
    "RTH-5": (10, 0.1, 90, 0, (1, 1, 1), None, 2, 2, None),
    "RTH-7": (10, 0.1, 80, 0, (1, 1, 1), None, 3, 3, None),
    "CB": (50, 1.0, 30, 0, (2, 2, 2), None, 2, 2, "Bangunan baru mengikuti langgam cagar budaya"),
    "P-1": (10, 0.1, 90, 0, (1, 1, 1), None, 5, 5, "Hanya bangunan penunjang pertanian"),
    "P-3": (30, 0.6, 60, 0, (2, 2, 2), None, 5, 5, None),
    "PTL": (60, 1.2, 20, 20, (3, 3, 2), 5000, 6, 6, "Cerobong dan menara mengikuti kajian teknis"),
    "KPI": (60, 1.8, 20, 30, (4, 4, 3), 3000, 5, 5, None),
    "W": (40, 1.2, 40, 20, (4, 3, 2), 500, 3, 3, None),
    "SPU-1": (60, 3.0, 20, 50, (6, 5, 4), 2000, 3, 3, None),
    "SPU-2": (60, 2.4, 20, 40, (4, 4, 3), 1000, 3, 3, None),
    "SPU-3": (60, 1.8, 25, 30, (3, 3, 3), 500, 2, 2, None),
    "SPU-4": (60, 1.2, 25, 0, (2, 2, 2), 200, 2, 2, None),
    "RTNH": (20, 0.2, 30, 0, (1, 1, 1), None, 2, 2, None),
    "PL-4": (40, 0.8, 30, 20, (2, 2, 2), 1000, 4, 4, None),
    "K-1": (80, 6.4, 10, 70, (10, 8, 5), 200, 2, 3, None),
    "K-2": (75, 4.5, 10, 60, (8, 6, 4), 150, 2, 3, None),
    "K-3": (70, 2.8, 15, 50, (5, 4, 3), 120, 1.5, 2, None),
    "KT": (60, 3.6, 20, 50, (8, 6, 4), 500, 3, 3, None),
    "TR": (40, 0.8, 30, 20, (3, 3, 2), None, 5, 5, "Ketinggian bangunan dibatasi KKOP"),
    "HK": (50, 1.5, 30, 20, (4, 3, 3), None, 3, 3, None),
}
#: Housing limits by lot-size class (as Yogyakarta's table): KDB %, KDH % and floors per class,
#: then KTB %, lot min m2, side m, rear m. KLB follows as KDB x floors.
_LOT_CLASSES: tuple[tuple[float | None, float | None], ...] = (
    (None, 100.0),
    (100.0, 200.0),
    (200.0, 400.0),
    (400.0, 1000.0),
    (1000.0, None),
)
_HOUSING: dict[
    str,
    tuple[tuple[float, ...], tuple[float, ...], tuple[int, ...], float, float, float, float],
] = {
    "R-2": ((80, 80, 75, 70, 60), (10, 10, 15, 20, 25), (3, 3, 4, 4, 5), 50, 60, 1.0, 1.5),
    "R-3": ((70, 70, 70, 65, 60), (15, 15, 20, 20, 25), (2, 3, 3, 4, 4), 40, 90, 1.5, 2.0),
    "R-4": ((60, 60, 60, 55, 50), (25, 25, 30, 30, 35), (2, 2, 3, 3, 3), 30, 150, 2.0, 3.0),
}
_HOUSING_FLOOR_CAP = {"arteri": 5, "kolektor": 4, "lokal": 3}

_PROVISIONS: tuple[SpecialProvision, ...] = (
    SpecialProvision(
        "LP2B",
        "cap",
        "Lahan Pertanian Pangan Berkelanjutan: alih fungsi lahan dilarang; bangunan hanya untuk "
        "penunjang pertanian dengan KDB paling tinggi 10% dan KLB paling tinggi 0,2.",
        kdb_max_pct=10.0,
        klb_max=0.2,
        legal_basis=f"{_LEGAL}, Pasal 88 ayat (2)",
    ),
    SpecialProvision(
        "KRB",
        "condition",
        "Kawasan rawan banjir tinggi: tidak diperkenankan pembangunan perumahan baru; bangunan "
        "lain berbentuk panggung dengan lantai terendah paling sedikit 1 m di atas muka banjir "
        "rencana dan wajib menyediakan kolam retensi.",
        klass="Rawan Banjir Tinggi",
        legal_basis=f"{_LEGAL}, Pasal 89 ayat (1)",
    ),
    SpecialProvision(
        "KRB",
        "condition",
        "Kawasan rawan banjir sedang: lantai dasar bangunan paling sedikit 0,5 m di atas muka "
        "banjir rencana dan wajib menyediakan sumur resapan atau lubang biopori.",
        klass="Rawan Banjir Sedang",
        legal_basis=f"{_LEGAL}, Pasal 89 ayat (2)",
    ),
    SpecialProvision(
        "KRB",
        "condition",
        "Kawasan rawan banjir rendah: wajib menyediakan sumur resapan dan saluran drainase yang "
        "terhubung dengan jaringan drainase kota.",
        klass="Rawan Banjir Rendah",
        legal_basis=f"{_LEGAL}, Pasal 89 ayat (3)",
    ),
    SpecialProvision(
        "SEMPADAN",
        "forbid",
        "Sempadan sungai dan sempadan pantai: tidak diperkenankan mendirikan bangunan gedung "
        "kecuali bangunan pengaman, prasarana publik dan ruang terbuka hijau.",
        legal_basis=f"{_LEGAL}, Pasal 90",
    ),
    SpecialProvision(
        "KKOP",
        "cap",
        "Kawasan Keselamatan Operasi Penerbangan: elevasi puncak bangunan, menara dan pohon tidak "
        "boleh melampaui batas ketinggian permukaan KKOP di lokasi itu (ELEV_MAX, m di atas "
        "permukaan laut).",
        legal_basis=f"{_LEGAL}, Pasal 91",
    ),
    SpecialProvision(
        "CAGBUD",
        "condition",
        "Kawasan cagar budaya: kegiatan dan bangunan baru wajib mendapat rekomendasi Tim Ahli "
        "Cagar Budaya, paling tinggi 2 lantai dan menyesuaikan langgam bangunan cagar budaya.",
        legal_basis=f"{_LEGAL}, Pasal 92",
    ),
)


def _cells(spec: str, subzones: Iterable[str]) -> dict[str, str]:
    """Expand an activity's cells to every sub-zone (see ``_ITBX_TABLE``)."""
    given = dict(item.split("=") for item in spec.split("; "))
    return {
        sz: given.get(sz) or given.get(_FAMILY_OF[sz].code) or given.get("*") or "X"
        for sz in subzones
    }


def _intensity() -> Iterator[IntensityRule]:
    """Every sub-zone's limits: one row where (almost) nothing may be built, rows by road class,
    and for housing rows by lot-size class and road class."""
    for code in _SUBZONE:
        if code in _NO_BUILDING:
            kdb, klb, kdh, ktb, floors, note = _NO_BUILDING[code]
            yield IntensityRule(
                code,
                kdb_max_pct=kdb,
                klb_max=klb,
                kdh_min_pct=kdh,
                ktb_max_pct=ktb,
                height_max_m=floors * _STOREY_M,
                floors_max=floors,
                note=note,
            )
        elif code in _HOUSING:
            yield from _housing_rules(code)
        else:
            yield from _road_rules(code)


def _road_rules(code: str) -> Iterator[IntensityRule]:
    kdb, klb, kdh, ktb, by_road, lot_min, side, rear, note = _BY_ROAD[code]
    for road, floors in zip(_ROADS, by_road, strict=True):
        yield IntensityRule(
            code,
            road_class=road,
            kdb_max_pct=float(kdb),
            klb_max=float(klb),
            kdh_min_pct=float(kdh),
            ktb_max_pct=float(ktb),
            height_max_m=floors * _STOREY_M,
            floors_max=floors,
            lot_min_m2=None if lot_min is None else float(lot_min),
            gsb_min_m=_GSB[road],
            side_min_m=float(side),
            rear_min_m=float(rear),
            note=note,
        )


def _housing_rules(code: str) -> Iterator[IntensityRule]:
    kdbs, kdhs, floors_by_class, ktb, lot_min, side, rear = _HOUSING[code]
    for n, ((lot_from, lot_to), kdb, kdh, floors) in enumerate(
        zip(_LOT_CLASSES, kdbs, kdhs, floors_by_class, strict=True), start=1
    ):
        size = f"{lot_from or 0:g}-{lot_to:g} m2" if lot_to else f">= {lot_from:g} m2"
        for road in _ROADS:
            storeys = min(floors, _HOUSING_FLOOR_CAP[road])
            yield IntensityRule(
                code,
                road_class=road,
                lot_from_m2=lot_from,
                lot_to_m2=lot_to,
                kdb_max_pct=float(kdb),
                klb_max=round(kdb * storeys / 100.0, 2),
                kdh_min_pct=float(kdh),
                ktb_max_pct=float(ktb),
                height_max_m=storeys * _STOREY_M,
                floors_max=storeys,
                lot_min_m2=float(lot_min),
                gsb_min_m=_GSB[road],
                side_min_m=side,
                rear_min_m=rear,
                variant=f"Kelas {n}",
                note=f"Luas tanah/persil {size}",
            )


def _rules() -> RuleSet:
    """The demo's zoning regulation: ITBX, legend, crosswalk, intensity and provisions.

    Activity ids follow the matrix format (docs/rule-tables.md): the row's Kode (its KBLI codes)
    where no other row shares it, else the slug of group and name, so that importing the written
    annex gives the same ids."""
    subzones = {code: sz[1] for code, sz in _SUBZONE.items()}
    table = list(_activity_table())
    shared = Counter(_kode(kbli) for _, _, kbli, _ in table)
    activities: list[Activity] = []
    cells: list[ItbxCell] = []
    for group, name, kbli, spec in table:
        kode = _kode(kbli)
        ident = kode if kode != "-" and shared[kode] == 1 else activity_slug(group, name)
        activities.append(Activity(ident, name, group, kbli))
        cells.extend(
            ItbxCell(ident, sz, tuple(raw.split(",")), raw)
            for sz, raw in _cells(spec, subzones).items()
        )
    order = {a.id: n for n, a in enumerate(activities)}
    by_name = {a.name: a.id for a in activities}
    links = {(k, a.id) for a in activities for k in a.kbli}
    links |= {(k, by_name[name]) for k, name in _EXTRA_CROSSWALK}
    return RuleSet(
        subzones=subzones,
        activities=tuple(activities),
        cells=tuple(cells),
        legend=tuple(LegendEntry(*entry) for entry in _LEGEND),
        crosswalk=tuple(
            CrosswalkEntry(k, a) for k, a in sorted(links, key=lambda e: (e[0], order[e[1]]))
        ),
        intensity=tuple(_intensity()),
        provisions=_PROVISIONS,
        sources=("layers.demo (generated demo rules)",),
    )


def _kode(kbli: tuple[str, ...]) -> str:
    """The Kode cell of a matrix row: its KBLI codes, or "-" for none."""
    return ", ".join(kbli) or "-"


# --- writing the files -----------------------------------------------------------------------


def _write_zones(path: Path, zones: gpd.GeoDataFrame) -> None:
    """The zones in the ATR/BPN attribute schema (their ``attrs``), in lon/lat."""
    path.unlink(missing_ok=True)
    rows = [json.loads(a) for a in zones["attrs"]]
    frame = gpd.GeoDataFrame(rows, geometry=zones.geometry.to_crs(4326).values, crs=4326)
    frame.to_file(path, layer=ZONES_LAYER, driver="GPKG")


def _write_overlays(path: Path, overlays: gpd.GeoDataFrame) -> None:
    """One layer per overlay kind with NAMA, KELAS and ELEV_MAX (m above sea level), lon/lat."""
    path.unlink(missing_ok=True)
    for kind, layer in OVERLAY_LAYERS.items():
        rows = overlays[overlays["kind"] == kind]
        if rows.empty:
            continue
        frame = gpd.GeoDataFrame(
            {
                "NAMA": rows["name"].to_numpy(),
                "KELAS": rows["klass"].to_numpy(),
                "ELEV_MAX": rows["ceiling_m"].astype(float).to_numpy(),
            },
            geometry=rows.geometry.to_crs(4326).values,
            crs=4326,
        )
        frame.to_file(path, layer=layer, driver="GPKG")


def _write_csv(path: Path, header: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """A UTF-8 CSV; empty values (None) are written as empty cells."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)


_ANNEX_TITLE = (
    "LAMPIRAN IV",
    "PERATURAN DAERAH KOTA BONTANG",
    "NOMOR 7 TAHUN 2024",
    "TENTANG",
    "RENCANA DETAIL TATA RUANG WILAYAH PERENCANAAN BONTANG",
    "TAHUN 2024-2044 (DATA DEMO, DIBANGKITKAN)",
)
_HEADER_ROW = 11  # No / Kode / Kegiatan; zone kind; families on 12, sub-zones 13, codes 14
_FIRST_DATA_ROW = 15
_FIRST_ZONE_COL = 4
_FAMILY_FILLS = ("FF97DBF2", "FFC6E0B4", "FFFFE699", "FFF8CBAD", "FFD9D2E9", "FFBDD7EE")
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTRED = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _runs(keys: Sequence[Any]) -> Iterator[tuple[int, int, Any]]:
    """(first, last, key) column spans of equal consecutive keys, from the first zone column."""
    col = _FIRST_ZONE_COL
    for key, group in groupby(keys):
        width = len(list(group))
        yield col, col + width - 1, key
        col += width


def _write_itbx(path: Path, rules: RuleSet) -> None:
    """The ITBX matrix laid out as a published annex: title, merged zone headers, sub-zone
    names and codes, activity rows under group rows, and the legend lines below."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "ITBX"
    codes = list(rules.subzones)
    families = [_family(c, rules.subzones[c]) for c in codes]
    last = _FIRST_ZONE_COL + len(codes) - 1
    for row, text in enumerate(_ANNEX_TITLE, start=1):
        ws.cell(row, max(_FIRST_ZONE_COL, last - 6), text)
    _put(ws, 8, 1, "TABEL KETENTUAN KEGIATAN DAN PENGGUNAAN LAHAN", to_col=last, bold=True)
    for col, text in enumerate(("No", "Kode", "Kegiatan"), start=1):
        _put(ws, _HEADER_ROW, col, text, to_row=_HEADER_ROW + 3, bold=True)
    kinds = ["Zona Lindung" if f.protected else "Zona Budidaya" for f in families]
    for first, end, kind in _runs(kinds):
        _put(ws, _HEADER_ROW, first, kind, to_col=end, bold=True)
    for n, (first, end, family) in enumerate(_runs(families)):
        fill = PatternFill("solid", fgColor=_FAMILY_FILLS[n % len(_FAMILY_FILLS)])
        _put(ws, 12, first, family.name, to_col=end, bold=True)
        for col in range(first, end + 1):
            _put(ws, 13, col, rules.subzones[codes[col - _FIRST_ZONE_COL]])
            _put(ws, 14, col, codes[col - _FIRST_ZONE_COL], bold=True)
            for row in (12, 13, 14):
                ws.cell(row, col).fill = fill
    row = _write_itbx_rows(ws, rules, codes)
    for entry in rules.legend:
        ws.cell(row, 1, f"{entry.code} : {entry.text}").font = Font(bold=len(entry.code) == 1)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=7)
        row += 1
    for col, width in ((1, 6), (2, 14), (3, 48)):
        ws.column_dimensions[get_column_letter(col)].width = width
    for col in range(_FIRST_ZONE_COL, last + 1):
        ws.column_dimensions[get_column_letter(col)].width = 10
    ws.freeze_panes = ws.cell(_FIRST_DATA_ROW, _FIRST_ZONE_COL)
    wb.save(path)


def _write_itbx_rows(ws: Worksheet, rules: RuleSet, codes: list[str]) -> int:
    """Group rows (the group's name in the kegiatan column) and activity rows; returns the
    first row of the legend."""
    raw = {(c.activity_id, c.subzone_code): c.raw for c in rules.cells}
    row = _FIRST_DATA_ROW
    number = 0
    for group, activities in groupby(rules.activities, key=lambda a: a.group):
        _put(ws, row, 3, group or "", bold=True)
        row += 1
        for a in activities:
            number += 1
            values = [number, _kode(a.kbli), a.name]
            values += [raw[(a.id, c)] for c in codes]
            for col, value in enumerate(values, start=1):
                _put(ws, row, col, value)
            ws.cell(row, 3).alignment = Alignment(
                horizontal="left", vertical="center", wrap_text=True
            )
            row += 1
    return row + 1


def _put(
    ws: Worksheet,
    row: int,
    col: int,
    value: Any,
    *,
    to_row: int | None = None,
    to_col: int | None = None,
    bold: bool = False,
) -> None:
    """Write a boxed, centred cell, merged down to ``to_row`` and across to ``to_col``."""
    cell = ws.cell(row, col, value)
    cell.alignment = _CENTRED
    cell.border = _BOX
    if bold:
        cell.font = Font(bold=True)
    end_row, end_col = to_row or row, to_col or col
    if (end_row, end_col) != (row, col):
        ws.merge_cells(start_row=row, start_column=col, end_row=end_row, end_column=end_col)
