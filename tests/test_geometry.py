"""Geometry repair and normalisation: what was invalid, where, and what the repair changed."""

import numpy as np
import pytest
import shapely

from gis.geometry import drop_z, polygonal_parts, repair_polygons, to_multipolygon
from tests.geoms import (
    BOWTIE,
    BOWTIE_CROSSING,
    COLLAPSED,
    MULTIPOLYGON,
    SQUARE_Z,
    ZONE_EAST,
    ZONE_WEST,
    ZONE_WITH_HOLE,
    rect,
)


def test_bowtie_is_repaired_into_both_triangles_and_located():
    fixed, notes = repair_polygons(np.array([ZONE_WEST, BOWTIE]))
    assert len(notes) == 1
    note = notes[0]
    assert note.index == 1
    assert note.reason.startswith("Self-intersection[")
    assert note.location == BOWTIE_CROSSING
    assert note.repaired
    assert fixed[1].geom_type == "MultiPolygon"
    assert shapely.is_valid(fixed[1])
    assert fixed[1].area == pytest.approx(5_000)
    # GEOS measures the bow-tie's two opposite triangles as cancelling out: 0 m2 before.
    assert note.area_change == pytest.approx(5_000)
    assert fixed[0] is ZONE_WEST


def test_valid_geometries_pass_untouched():
    geoms = np.array([ZONE_WEST, ZONE_WITH_HOLE, MULTIPOLYGON])
    fixed, notes = repair_polygons(geoms)
    assert notes == []
    assert all(a is b for a, b in zip(fixed, geoms, strict=True))


def test_overlapping_parts_are_unioned_not_dropped():
    """The "structure" method keeps area drawn twice; "linework" would cut it out."""
    overlapping = shapely.MultiPolygon([rect(0, 0, 20, 20), rect(10, 10, 30, 30)])
    fixed, notes = repair_polygons(np.array([overlapping]))
    assert notes[0].repaired
    assert fixed[0].area == pytest.approx(700)
    assert notes[0].area_change == pytest.approx(-100)


def test_collapsed_polygon_is_not_repaired_and_kept():
    fixed, notes = repair_polygons(np.array([COLLAPSED, ZONE_EAST]))
    assert [(n.index, n.repaired, n.area_change) for n in notes] == [(0, False, 0.0)]
    assert fixed[0] is COLLAPSED


def test_polygonal_parts_drop_lines_and_points():
    mixed = shapely.GeometryCollection(
        [rect(0, 0, 10, 10), shapely.LineString([(0, 0), (5, 5)]), MULTIPOLYGON]
    )
    parts = polygonal_parts(np.array([mixed, shapely.Point(1, 1)]))
    assert parts[0].geom_type == "MultiPolygon"
    assert len(parts[0].geoms) == 3
    assert parts[0].area == pytest.approx(300)
    assert parts[1].is_empty


def test_drop_z_reports_which_had_z():
    flat, had_z = drop_z(np.array([ZONE_WEST, SQUARE_Z]))
    assert had_z.tolist() == [False, True]
    assert not shapely.has_z(flat).any()
    assert flat[1].area == pytest.approx(10_000)


def test_to_multipolygon_normalises_and_reports_the_rest():
    geoms = np.array([ZONE_WEST, MULTIPOLYGON, shapely.Point(0, 0), None, shapely.LineString()])
    multi, bad = to_multipolygon(geoms)
    assert [g.geom_type for g in multi[:2]] == ["MultiPolygon", "MultiPolygon"]
    assert multi[0].area == ZONE_WEST.area
    assert bad.tolist() == [2, 3, 4]
