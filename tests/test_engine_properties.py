"""Properties a decision must have whatever the parcel (hypothesis), on the grid plan of
tests/plans.py (300 x 300 m of 100 m zones from 530000 E, 15000 N in EPSG:32650)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from gis.crs import transformer
from permits.application import Application, Building
from permits.decision import Decision, PlanRef
from permits.engine import Engine
from tests.plans import grid_plan

X0, Y0 = 530_000.0, 15_000.0
UTM = "EPSG:32650"
REF = PlanRef(1, "RDTR Kota Uji", "Perda uji", 1, "v1", "c" * 64, "r" * 64, 32650)
ENGINE = Engine.build(grid_plan(), REF)

#: Parcels anywhere over the plan and a little beyond it (m from the origin).
corners = st.tuples(st.floats(-20, 290), st.floats(-20, 290), st.floats(3, 60), st.floats(3, 60))


def parcel(c: tuple[float, float, float, float]) -> Polygon:
    x, y, w, h = c
    return box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def decide(geom, crs: str = UTM) -> Decision:
    return ENGINE.check(Application(geom, "47111", Building(footprint_m2=10.0), crs=crs))


def summary(decision: Decision) -> tuple:
    """What must not change: outcome, each finding's rule and status, each piece's area."""
    return (
        decision.outcome,
        [(f.rule, f.status, f.subzone_code) for f in decision.findings],
        [(z.zone_id, round(z.area_m2, 6)) for z in decision.zones],
    )


@settings(max_examples=60, deadline=None)
@given(corners)
def test_shares_sum_to_the_covered_fraction(c):
    geom = parcel(c)
    decision = decide(geom)
    covered = shapely.area(shapely.intersection(geom, box(X0, Y0, X0 + 300, Y0 + 300)))
    if covered == 0:
        assert decision.zones == ()
        return
    assert sum(z.share for z in decision.zones) == pytest.approx(covered / geom.area, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(corners, st.integers(0, 3), st.booleans())
def test_start_vertex_and_orientation_do_not_matter(c, start, reverse):
    geom = parcel(c)
    ring = list(geom.exterior.coords)[:-1]
    ring = ring[start:] + ring[:start]
    if reverse:
        ring = ring[::-1]
    assert summary(decide(Polygon(ring))) == summary(decide(geom))


@settings(max_examples=30, deadline=None)
@given(corners)
def test_a_polygon_and_its_one_part_multipolygon_decide_alike(c):
    geom = parcel(c)
    assert summary(decide(MultiPolygon([geom]))) == summary(decide(geom))


@settings(max_examples=30, deadline=None)
@given(corners)
def test_lon_lat_input_decides_as_the_plan_crs_input(c):
    geom = parcel(c)
    lonlat = shapely.transform(geom, lambda xy: _to_lonlat(xy))
    a, b = decide(geom), decide(lonlat, "OGC:CRS84")
    assert a.outcome is b.outcome
    assert sorted(f.rule for f in a.findings) == sorted(f.rule for f in b.findings)
    for za, zb in zip(by_zone_id(a), by_zone_id(b), strict=True):
        assert za.zone_id == zb.zone_id
        assert za.area_m2 == pytest.approx(zb.area_m2, rel=1e-6, abs=1e-6)


def by_zone_id(decision: Decision) -> list:
    """Pieces by zone id: two pieces of equal area may swap places after a reprojection."""
    return sorted(decision.zones, key=lambda z: z.zone_id)


def _to_lonlat(xy):
    lon, lat = transformer(32650, 4326).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 8), st.floats(1, 40), st.floats(1, 40), st.floats(5, 50), st.floats(5, 50))
def test_a_parcel_wholly_inside_one_zone_gets_that_zone_alone(zone, dx, dy, w, h):
    col, row = zone % 3, zone // 3
    x, y = col * 100 + dx, row * 100 + dy
    decision = decide(
        box(X0 + x, Y0 + y, X0 + min(x + w, col * 100 + 99), Y0 + min(y + h, row * 100 + 99))
    )
    [piece] = decision.zones
    assert piece.zone_id == str(zone + 1)
    assert piece.share == pytest.approx(1.0, abs=1e-12)
