"""The exact area kernel: hand-made cases, GEOS on random shapes, GEOS and PostGIS on real data."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import psycopg
import pyogrio
import pytest
import shapely
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from sqlalchemy import make_url

from gis.areas import PackedZones, _pack_parcels, intersecting_pairs, intersection_areas
from gis.errors import GeometryError
from layers.zoning import read_zoning
from tests.geoms import (
    BOWTIE,
    EPSG,
    PARCEL_ON_EDGE,
    PARCEL_TOUCHING_EDGE,
    ZONE_EAST,
    ZONE_WEST,
    ZONE_WITH_HOLE,
    at,
    rect,
)


def areas(parcels: list[shapely.Geometry], zones: list[shapely.Geometry]) -> NDArray[np.float64]:
    """The kernel's area for every parcel against every zone, parcel-major."""
    p, z = np.divmod(np.arange(len(parcels) * len(zones)), len(zones))
    return intersection_areas(np.array(parcels, dtype=object), np.array(zones, dtype=object), p, z)


def geos(parcels: NDArray[np.object_], zones: NDArray[np.object_]) -> NDArray[np.float64]:
    return np.asarray(shapely.area(shapely.intersection(parcels, zones)), dtype=np.float64)


def polygon(*xy: tuple[float, float]) -> shapely.Polygon:
    """A polygon from vertices relative to tests.geoms.ORIGIN (m)."""
    return shapely.Polygon([at(x, y) for x, y in xy])


L_PARCEL = polygon((0, 0), (60, 0), (60, 20), (20, 20), (20, 60), (0, 60))  # 2,000 m2


@pytest.mark.parametrize(
    ("parcel", "zone", "expected"),
    [
        pytest.param(rect(0, 0, 100, 100), rect(60, 30, 160, 130), 40 * 70, id="overlapping"),
        pytest.param(PARCEL_ON_EDGE, ZONE_WEST, 360, id="straddling-west"),
        pytest.param(PARCEL_ON_EDGE, ZONE_EAST, 240, id="straddling-east"),
        pytest.param(rect(40, 140, 60, 160), ZONE_WITH_HOLE, 400 - 100, id="zone-hole-inside"),
        pytest.param(rect(50, 150, 70, 170), ZONE_WITH_HOLE, 400 - 25, id="zone-hole-across"),
        pytest.param(rect(47, 147, 53, 153), ZONE_WITH_HOLE, 0, id="parcel-in-zone-hole"),
        pytest.param(rect(10, 110, 20, 120), ZONE_WITH_HOLE, 100, id="parcel-inside-zone"),
        pytest.param(
            rect(0, 0, 100, 100).difference(rect(40, 40, 60, 60)),
            rect(50, 0, 200, 100),
            50 * 100 - 10 * 20,
            id="parcel-hole",
        ),
        pytest.param(
            shapely.MultiPolygon([rect(5, 0, 25, 5), rect(8, 8, 22, 12)]),
            shapely.MultiPolygon([rect(0, 0, 10, 10), rect(20, 0, 30, 10)]),
            25 + 25 + 4 + 4,
            id="multipart-both",
        ),
        pytest.param(L_PARCEL, rect(10, 10, 100, 100), 500 + 400, id="concave-parcel"),
        pytest.param(L_PARCEL, rect(30, 30, 100, 100), 0, id="zone-in-concave-notch"),
        pytest.param(L_PARCEL, rect(-10, -10, 100, 100), 2000, id="concave-parcel-covered"),
        pytest.param(
            rect(80, -10, 120, 10),
            polygon((0, 0), (50, 0), (50, 0), (100, 0), (100, 50), (100, 100), (0, 100), (0, 50)),
            20 * 10,
            id="zone-collinear-duplicate-vertices",
        ),
        pytest.param(
            polygon((0, 0), (10, 0), (20, 0), (20, 0), (20, 10), (20, 20), (0, 20)),
            rect(10, 10, 30, 30),
            100,
            id="parcel-collinear-duplicate-vertices",
        ),
        pytest.param(PARCEL_TOUCHING_EDGE, ZONE_EAST, 0, id="touching-only"),
        pytest.param(ZONE_WITH_HOLE, ZONE_WITH_HOLE, 9900, id="identical"),
    ],
)
def test_hand_made_areas(parcel: shapely.Geometry, zone: shapely.Geometry, expected: float) -> None:
    assert areas([parcel], [zone])[0] == pytest.approx(expected, rel=1e-12, abs=1e-9)
    one = PackedZones(np.array([zone])).parcel_areas(parcel, np.array([0]))
    assert one[0] == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_one_parcel_gets_the_bits_the_batch_gives() -> None:
    """A single check measures its parcel alone (``parcel_areas``); a batch measures many at
    once. Same pieces, same pairs, same bits, holes and GEOS's inputs included."""
    rng = np.random.default_rng(11)
    multipart = shapely.union(rect(0, 200, 40, 240), rect(100, 200, 140, 240))
    line = shapely.LineString([at(0, 0), at(200, 200)])
    zones = np.array([ZONE_WEST, ZONE_EAST, ZONE_WITH_HOLE, multipart, line], dtype=object)
    packed = PackedZones(zones)
    every = np.arange(len(zones))
    for x, y in rng.uniform(-20, 200, (300, 2)):
        parcel = shapely.affinity.rotate(rect(x, y, x + 25, y + 17), float(x))
        batch = packed.areas(np.array([parcel]), np.zeros_like(every), every)
        assert np.array_equal(packed.parcel_areas(parcel, every), batch)
    holed = rect(0, 0, 100, 100).difference(rect(40, 40, 60, 60))
    batch = packed.areas(np.array([holed]), np.zeros_like(every), every)
    assert np.array_equal(packed.parcel_areas(holed, every), batch)
    assert packed.parcel_areas(shapely.Polygon(), every).tolist() == [0.0] * len(zones)
    with pytest.raises(GeometryError, match="TopologyException"):
        packed.parcel_areas(BOWTIE, every)


def test_covered_parcel_gets_its_own_area_to_the_bit() -> None:
    """A parcel wholly inside a zone gets exactly GEOS's area of the parcel: a share of 1.0."""
    parcel = polygon((10, 10), (30, 12), (28, 25), (12, 22))
    assert areas([parcel], [ZONE_WEST])[0] == shapely.area(parcel)


def test_touching_pairs_are_reported_with_area_zero() -> None:
    parcels = np.array([PARCEL_TOUCHING_EDGE, PARCEL_ON_EDGE])
    zones = np.array([ZONE_WEST, ZONE_EAST])
    p, z = intersecting_pairs(parcels, zones)
    assert list(zip(p.tolist(), z.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert intersection_areas(parcels, zones, p, z).tolist() == pytest.approx([600, 0, 360, 240])


def test_box_pairs_are_a_superset_whose_extra_pairs_have_no_area() -> None:
    parcels = np.array([L_PARCEL, PARCEL_ON_EDGE])
    zones = np.array([rect(30, 30, 100, 100), ZONE_WEST, ZONE_EAST])
    exact = set(zip(*intersecting_pairs(parcels, zones), strict=True))
    p, z = intersecting_pairs(parcels, zones, predicate=None)
    got = intersection_areas(parcels, zones, p, z)
    assert set(zip(p, z, strict=True)) - exact == {(0, 0)}
    assert got[(p == 0) & (z == 0)].tolist() == [0.0]


def test_pairs_of_a_far_flung_multipart_zone() -> None:
    """Zones are indexed by part, and a pair is listed once however many parts it meets."""
    zone = shapely.MultiPolygon([rect(0, 0, 10, 10), rect(5000, 0, 5010, 10)])
    parcels = np.array([rect(-5, 0, 5010, 5), rect(2000, 0, 2010, 10)])
    p, z = intersecting_pairs(parcels, np.array([zone]))
    assert (p.tolist(), z.tolist()) == ([0], [0])


def test_inputs_the_kernel_cannot_vouch_for_go_to_geos() -> None:
    empty, point, missing = shapely.Polygon(), shapely.Point(at(5, 5)), None
    got = areas([empty, point, missing], [ZONE_WEST])
    assert got[:2].tolist() == [0.0, 0.0]
    assert math.isnan(got[2])


def test_a_pair_geos_cannot_overlay_is_named() -> None:
    with pytest.raises(GeometryError, match="parcel 1 with zone 0: TopologyException"):
        areas([rect(0, 0, 10, 10), BOWTIE], [rect(0, 0, 50, 100)])


def test_index_arrays_must_match() -> None:
    with pytest.raises(ValueError, match="one length"):
        intersection_areas(np.array([ZONE_WEST]), np.array([ZONE_EAST]), np.array([0, 0]), [0])


def test_same_bits_whatever_the_batch_order_and_threads() -> None:
    rng = np.random.default_rng(3)
    zones = np.array([ZONE_WEST, ZONE_EAST, ZONE_WITH_HOLE], dtype=object)
    corners = rng.uniform(-20, 200, (3000, 2))
    parcels = np.array([rect(x, y, x + 25, y + 17) for x, y in corners], dtype=object)
    p, z = intersecting_pairs(parcels, zones)
    expected = intersection_areas(parcels, zones, p, z)
    shuffled = rng.permutation(len(p))
    assert np.array_equal(
        intersection_areas(parcels, zones, p[shuffled], z[shuffled]), expected[shuffled]
    )

    results: list[NDArray[np.float64]] = []

    def run() -> None:
        results.append(intersection_areas(parcels, zones, p, z))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(np.array_equal(result, expected) for result in results)


def test_zones_packed_once_give_the_same_bits_as_packed_per_call() -> None:
    """An index packs all its zones once; a call packs the zones it is asked about. Same bits,
    whether a zone is usable (holes, several parts) or left to GEOS (a line, a missing one)."""
    rng = np.random.default_rng(5)
    multipart = shapely.union(rect(0, 200, 40, 240), rect(100, 200, 140, 240))
    line = shapely.LineString([at(0, 0), at(200, 200)])
    zones = np.array([ZONE_WEST, ZONE_EAST, ZONE_WITH_HOLE, multipart, line, None], dtype=object)
    corners = rng.uniform(-20, 200, (2000, 2))
    parcels = np.array([rect(x, y, x + 25, y + 17) for x, y in corners], dtype=object)
    p, z = np.divmod(np.arange(len(parcels) * len(zones)), len(zones))
    packed = PackedZones(zones)
    once, per_call = packed.areas(parcels, p, z), intersection_areas(parcels, zones, p, z)
    assert np.array_equal(once, per_call, equal_nan=True)
    assert np.isnan(once[z == 5]).all() and (once[z == 4] == 0).all() and once[z < 4].max() > 0
    assert packed.areas(parcels, p[:0], z[:0]).shape == (0,)
    assert PackedZones(np.array([], dtype=object)).areas(parcels, p[:0], z[:0]).shape == (0,)


# Random shapes in a 300 m frame near Jagoi Babang, rotated: unions of boxes (holes, several
# parts, collinear vertices), star-shaped polygons (concave) and buffers (many vertices).
_size = st.floats(1.0, 150.0)
_box = st.tuples(st.floats(0, 250), st.floats(0, 250), _size, _size)


@st.composite
def shapes(draw: st.DrawFn) -> shapely.Geometry:
    kind = draw(st.sampled_from(["boxes", "star", "buffer"]))
    if kind == "boxes":
        boxes = draw(st.lists(_box, min_size=1, max_size=6))
        shape = shapely.union_all([shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes])
    elif kind == "star":
        n = draw(st.integers(3, 14))
        radii = draw(st.lists(st.floats(5.0, 120.0), min_size=n, max_size=n))
        cx, cy = draw(st.floats(100, 200)), draw(st.floats(100, 200))
        angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
        shape = shapely.Polygon(
            np.column_stack([cx + np.cos(angles) * radii, cy + np.sin(angles) * radii])
        )
    else:
        cx, cy, radius = draw(st.floats(0, 300)), draw(st.floats(0, 300)), draw(_size)
        shape = shapely.Point(cx, cy).buffer(radius, quad_segs=draw(st.integers(1, 12)))
    if draw(st.booleans()):
        x, y, w, h = draw(_box)
        shape = shape.difference(shapely.box(x, y, x + w / 3, y + h / 3))
    angle = draw(st.floats(0, 360))
    rotated = shapely.affinity.rotate(shape, angle, origin=(150, 150))
    return shapely.affinity.translate(rotated, *at(0, 0))


@settings(max_examples=300, deadline=None)
@given(shapes(), shapes())
def test_kernel_agrees_with_geos_on_random_shapes(
    parcel: shapely.Geometry, zone: shapely.Geometry
) -> None:
    note(f"parcel {parcel.wkt}")  # shapely's repr is cut short: the WKT reproduces a failure
    note(f"zone {zone.wkt}")
    if shapely.is_valid(parcel) and not shapely.is_empty(parcel):
        assert _pack_parcels(np.array([parcel])).ok[0], "a valid parcel was left to GEOS"
    try:
        expected = shapely.area(shapely.intersection(parcel, zone))
    except shapely.errors.GEOSException:
        # GEOS cannot overlay this pair (seen once in CI, not in 25,000 examples since): there
        # is nothing to compare with. A valid parcel was vouched for above; a pair the kernel
        # leaves to GEOS and GEOS cannot overlay is named (test_a_pair_geos_cannot_overlay...).
        assume(False)
    got = areas([parcel], [zone])[0]
    assert abs(got - expected) <= 1e-9 * expected + 1e-6


# The real plan: every parcel of Jagoi Babang against its zones.
@pytest.fixture(scope="module")
def jagoi(shared_data: Path) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    folder = shared_data / "jagoibabang"
    zones = read_zoning(folder / "KONSEPPOLARUANG_5.geojson", crs_epsg=EPSG).zones
    parcels = pyogrio.read_dataframe(folder / "HAT_3.geojson").to_crs(EPSG)
    return parcels.geometry.to_numpy(), zones.geometry.to_numpy()


def within(got: NDArray[np.float64], expected: NDArray[np.float64]) -> NDArray[np.bool_]:
    """1e-6 relative, with a floor of 1e-6 m2 for tiny pieces."""
    return np.abs(got - expected) <= np.maximum(1e-6 * np.abs(expected), 1e-6)


def test_jagoi_babang_agrees_with_geos(
    jagoi: tuple[NDArray[np.object_], NDArray[np.object_]],
) -> None:
    parcels, zones = jagoi
    p, z = intersecting_pairs(parcels, zones)
    got = intersection_areas(parcels, zones, p, z)
    assert len(np.unique(p)) == len(parcels) == 2784
    assert within(got, geos(parcels[p], zones[z])).all()
    assert _pack_parcels(parcels).ok.all(), "every real parcel is computed by the kernel"
    packed, bounds = PackedZones(zones), np.searchsorted(p, np.arange(len(parcels) + 1))
    for i, parcel in enumerate(parcels):
        mine = slice(bounds[i], bounds[i + 1])
        assert np.array_equal(packed.parcel_areas(parcel, z[mine]), got[mine])


def test_jagoi_babang_agrees_with_postgis(
    jagoi: tuple[NDArray[np.object_], NDArray[np.object_]], postgis_url: str
) -> None:
    """PostGIS finds the intersecting pairs and measures them on its own."""
    parcels, zones = jagoi
    url = make_url(postgis_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        for name, geoms in (("parcel", parcels), ("zone", zones)):
            conn.execute(f"CREATE TEMP TABLE {name} (id int PRIMARY KEY, geom geometry)")
            ewkb = shapely.to_wkb(shapely.set_srid(geoms, EPSG), hex=True, include_srid=True)
            with conn.cursor().copy(f"COPY {name} (id, geom) FROM STDIN") as copy:
                for row in enumerate(ewkb):
                    copy.write_row(row)
            conn.execute(f"CREATE INDEX ON {name} USING gist (geom)")
            conn.execute(f"ANALYZE {name}")
        rows = conn.execute(
            "SELECT p.id, z.id, ST_Area(ST_Intersection(p.geom, z.geom)) FROM parcel p "
            "JOIN zone z ON ST_Intersects(p.geom, z.geom) ORDER BY p.id, z.id"
        ).fetchall()
    pg_p, pg_z, pg_area = (np.array(column) for column in zip(*rows, strict=True))
    p, z = intersecting_pairs(parcels, zones)
    assert np.array_equal(p, pg_p) and np.array_equal(z, pg_z)
    got = intersection_areas(parcels, zones, p, z)
    assert within(got, pg_area.astype(np.float64)).all()
