"""Applicant geometry at the edge: every format read alike, every bad input named with its place,
axis order by the rule, and the parcel measured in metres as pyproj alone would measure it."""

import json
import math

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gis.errors import CRSError, GeometryError, GeometryTooLargeError
from gis.parse import (
    CrsInput,
    ParcelLimits,
    check_finite,
    parse_geometry,
    prepare_parcel,
    resolve_crs,
    transform_geometry,
)
from tests.geoms import (
    BOWTIE,
    BOWTIE_CROSSING,
    COLLAPSED,
    EPSG,
    FIGURE_EIGHT,
    FIGURE_EIGHT_TOUCH,
    LONLAT_SQUARE,
    NEAR_TOUCH_LONLAT,
    SQUARE_Z,
    SWAPPED_SQUARE,
    ZONE_WITH_HOLE,
    at,
    rect,
)

#: UTM zone 50N, the metric CRS of Bontang.
BONTANG_EPSG = 32650
#: A lon/lat parcel in Bontang with a hole, and a two-part one.
BONTANG_PARCEL = shapely.Polygon(
    [(117.480, 0.130), (117.482, 0.130), (117.482, 0.1315), (117.480, 0.1312)],
    [[(117.4805, 0.1303), (117.4808, 0.1303), (117.4808, 0.1306), (117.4805, 0.1306)]],
)
BONTANG_TWO_PARTS = shapely.MultiPolygon(
    [shapely.box(117.47, 0.12, 117.471, 0.121), shapely.box(117.49, 0.14, 117.4905, 0.1404)]
)


def swap_axes(geom):
    """``geom`` with x and y exchanged: lon/lat written latitude first."""
    return shapely.transform(geom, lambda xy: xy[:, ::-1])


def reference_utm(geom, epsg=BONTANG_EPSG):
    """``geom`` (lon/lat) reprojected by a fresh pyproj transformer, independent of gis.crs."""
    trans = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(trans.transform(xy[:, 0], xy[:, 1])))


# --- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize("geom", [BONTANG_PARCEL, BONTANG_TWO_PARTS], ids=["hole", "two-parts"])
def test_every_format_gives_the_same_geometry(geom):
    mapping = shapely.geometry.mapping(geom)
    text = json.dumps(mapping)
    wkb = shapely.to_wkb(geom)
    encodings = [
        (mapping, None),
        (text, None),
        (text.encode(), None),
        (f"  {text}\n", "geojson"),
        (shapely.to_wkt(geom, rounding_precision=-1), None),
        (shapely.to_wkt(geom, rounding_precision=-1).encode(), "wkt"),
        (wkb, None),
        (bytearray(wkb), "wkb"),
        (shapely.to_wkb(geom, hex=True), None),
        (shapely.to_wkb(geom, hex=True).lower(), "wkb"),
        (shapely.to_wkb(geom, byte_order=0), None),
    ]
    for value, fmt in encodings:
        parsed = parse_geometry(value, fmt=fmt)
        assert parsed.equals_exact(geom, tolerance=0), (value, fmt)


def test_a_ring_left_open_is_closed():
    closed = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)])
    geojson = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}
    assert parse_geometry(geojson).equals_exact(closed, tolerance=0)
    assert parse_geometry("POLYGON ((0 0, 1 0, 1 1))").equals_exact(closed, tolerance=0)


def test_a_geometry_collection_is_read_from_geojson():
    value = {
        "type": "GeometryCollection",
        "geometries": [shapely.geometry.mapping(LONLAT_SQUARE)],
    }
    assert parse_geometry(value).geoms[0].equals(LONLAT_SQUARE)


@pytest.mark.parametrize("kind", ["Feature", "FeatureCollection"])
def test_a_feature_where_a_geometry_is_expected_says_so(kind):
    feature = {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(BOWTIE)}
    value = feature if kind == "Feature" else {"type": kind, "features": [feature]}
    for given_as in (value, json.dumps(value)):
        with pytest.raises(GeometryError, match=f"a {kind} was given where a geometry is expected"):
            parse_geometry(given_as)
    with pytest.raises(GeometryError, match="send its 'geometry' member"):
        parse_geometry(feature)


def test_a_feature_inside_a_collection_is_named_by_its_place():
    value = {"type": "GeometryCollection", "geometries": [{"type": "Feature"}]}
    with pytest.raises(GeometryError, match=r"geometries\[0\]: a Feature was given"):
        parse_geometry(value)


def test_malformed_json_names_line_and_column():
    with pytest.raises(
        GeometryError,
        match=r"GeoJSON: malformed JSON at line 2, column 16: Expecting ':' delimiter",
    ):
        parse_geometry('{"type": "Polygon",\n "coordinates" [[[0, 0]]]}')


@pytest.mark.parametrize(
    ("coordinates", "place"),
    [
        ([[[0, 0], [1, "0"], [1, 1], [0, 0]]], r"coordinates\[0\]\[1\] must be a position"),
        ([[[0, 0], [1, 0], [1, True], [0, 0]]], r"coordinates\[0\]\[2\] must be a position"),
        ([[[0, 0], [1, 0, 2, 3], [1, 1], [0, 0]]], r"coordinates\[0\]\[1\] must be a position"),
        (
            [[0, 0], [1, 0], [1, 1], [0, 0]],
            r"coordinates\[0\]\[0\] must be a position .* not 0$",
        ),
        ([[[0, 0], [1, 0], [1, 1, 9], [0, 0]]], r"coordinates\[0\]\[2\] has 3 numbers where"),
        ([[[0, 0], [1, 0], [0, 0]]], r"coordinates\[0\]: a ring needs at least 4 positions"),
        ("0 0, 1 1", r"coordinates must be an array"),
    ],
)
def test_malformed_coordinates_are_named_by_member(coordinates, place):
    with pytest.raises(GeometryError, match=f"^GeoJSON: {place}"):
        parse_geometry({"type": "Polygon", "coordinates": coordinates})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "Polygon"}, "a Polygon needs a 'coordinates' member"),
        ({"type": "polygon", "coordinates": []}, "'type' is 'polygon', not one of Point"),
        ({"coordinates": []}, "'type' is None"),
        ("[117.5, 0.13]", r"a geometry must be an object, not \[117.5, 0.13\]"),
        (
            {"type": "LineString", "coordinates": [[1, 2]]},
            "coordinates: a line needs at least 2 positions; it has 1",
        ),
        ({"type": "GeometryCollection"}, "a GeometryCollection needs a 'geometries' array"),
    ],
)
def test_malformed_geojson_objects_say_what_is_missing(value, message):
    with pytest.raises(GeometryError, match=f"GeoJSON: {message}"):
        parse_geometry(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("POLYGON ((0 0, 1 0, 1 x, 0 0))", r"encountered word: 'x' \(at character 23\)"),
        ("POLYGN ((0 0, 1 0, 1 1, 0 0))", r"Unknown type: 'POLYGN' \(at character 1\)"),
        ("POLYGON ((0 0, 1 0, 1 1, 0 0)", r"end of stream \(at character 30, the end\)"),
        ("POLYGON ((0 0, 1 0, 1 1, 0 0)) and more", "Unexpected text after end of geometry"),
    ],
)
def test_malformed_wkt_says_where_it_broke(text, message):
    with pytest.raises(GeometryError, match=f"^WKT: .*{message}"):
        parse_geometry(text)


def test_malformed_wkb_says_so():
    wkb = shapely.to_wkb(BONTANG_PARCEL)
    with pytest.raises(GeometryError, match=r"^WKB \(40 bytes\): "):
        parse_geometry(wkb[:40])
    with pytest.raises(GeometryError, match=r"WKB: not hexadecimal text: .* at position 4"):
        parse_geometry("0103zz00", fmt="wkb")


def test_a_forced_format_is_read_as_that_format():
    hex_wkb = shapely.to_wkb(LONLAT_SQUARE, hex=True)
    with pytest.raises(GeometryError, match=r"^WKT: "):
        parse_geometry(hex_wkb, fmt="wkt")
    with pytest.raises(GeometryError, match=r"^GeoJSON: malformed JSON"):
        parse_geometry(shapely.to_wkt(LONLAT_SQUARE), fmt="geojson")
    with pytest.raises(GeometryError, match="unknown geometry format 'kml'"):
        parse_geometry("<Polygon/>", fmt="kml")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [42, None, [shapely.Point(0, 0)]])
def test_what_is_no_geometry_format_is_refused(value):
    with pytest.raises(GeometryError, match="cannot read a geometry from a value of type"):
        parse_geometry(value)


# --- CRS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "epsg", "northing_first"),
    [
        ("OGC:CRS84", None, False),
        ("CRS84", None, False),
        ("crs84", None, False),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", None, False),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", None, False),
        ("EPSG:4326", 4326, True),
        ("urn:ogc:def:crs:EPSG::4326", 4326, True),
        (" epsg:4326 ", 4326, True),
        (4326, 4326, True),
        ("http://www.opengis.net/def/crs/EPSG/0/32650", 32650, False),
        (32650, 32650, False),
        ("EPSG:23835", 23835, False),  # DGN95 / Indonesia TM-3 zone 50.1
    ],
)
def test_crs_names_resolve(name, epsg, northing_first):
    crs_in = resolve_crs(name)
    assert (crs_in.epsg, crs_in.northing_first) == (epsg, northing_first)
    assert not crs_in.yx(authority_order=False)
    assert crs_in.yx(authority_order=True) is northing_first


def test_crs84_aliases_are_one_crs():
    names = ["OGC:CRS84", "CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"]
    assert len({resolve_crs(name).crs for name in names}) == 1
    assert resolve_crs("CRS84").name == "OGC:CRS84"


@pytest.mark.parametrize("name", ["EPSG:999999", "WGS84 please", 999999])
def test_an_unknown_crs_is_named(name):
    with pytest.raises(CRSError, match=f"unknown CRS '?{name}'?"):
        resolve_crs(name)


@pytest.mark.parametrize(("name", "kind"), [("EPSG:4978", "Geocentric"), (4979, "Geographic 3D")])
def test_a_crs_that_cannot_hold_a_parcel_is_refused(name, kind):
    with pytest.raises(CRSError, match=f"{kind} .* is not a 2D geographic or projected CRS"):
        resolve_crs(name)


@pytest.mark.parametrize("value", [True, 4326.0, None])
def test_a_crs_must_be_text_or_a_code(value):
    with pytest.raises(CRSError, match="a CRS is named by text or an EPSG code"):
        resolve_crs(value)
    with pytest.raises(CRSError, match="no CRS given"):
        resolve_crs("  ")


# --- the parcel: refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "geom",
    [None, shapely.Polygon(), shapely.MultiPolygon(), shapely.from_wkt("LINESTRING EMPTY")],
)
def test_an_empty_parcel_is_refused(geom):
    with pytest.raises(GeometryError, match=r"^parcel: empty geometry$"):
        prepare_parcel(geom, "OGC:CRS84", BONTANG_EPSG)


@pytest.mark.parametrize(
    "geom",
    [
        shapely.Point(117.5, 0.13),
        shapely.LineString([(117.5, 0.13), (117.51, 0.13)]),
        shapely.MultiLineString([[(117.5, 0.13), (117.51, 0.13)]]),
    ],
)
def test_a_parcel_must_be_polygonal(geom):
    with pytest.raises(
        GeometryError, match=f"must be a Polygon or MultiPolygon, not a {geom.geom_type}$"
    ):
        prepare_parcel(geom, "OGC:CRS84", BONTANG_EPSG)


def test_a_collection_of_polygons_is_a_multipolygon():
    collection = shapely.GeometryCollection(list(BONTANG_TWO_PARTS.geoms))
    from_collection = prepare_parcel(collection, "OGC:CRS84", BONTANG_EPSG)
    from_multi = prepare_parcel(BONTANG_TWO_PARTS, "OGC:CRS84", BONTANG_EPSG)
    assert from_collection == from_multi


def test_a_collection_holding_a_line_names_the_member():
    collection = shapely.GeometryCollection([LONLAT_SQUARE, shapely.LineString([(0, 0), (1, 1)])])
    with pytest.raises(GeometryError, match=r"holding a LineString \(geometries\[1\]\)"):
        prepare_parcel(collection, "OGC:CRS84", EPSG)


def test_nan_is_named_by_part_ring_and_vertex():
    hole = [(117.4703, 0.1203), (117.4706, 0.1203), (float("nan"), 0.1206), (117.4703, 0.1206)]
    with np.errstate(invalid="ignore"):  # shapely warns of NaN as it builds the ring
        second = shapely.Polygon(shapely.box(117.47, 0.12, 117.471, 0.121).exterior, [hole])
    parcel = shapely.MultiPolygon([LONLAT_SQUARE, second])
    with pytest.raises(
        GeometryError,
        match=r"^parcel: non-finite coordinate \(nan, 0.1206\) at part 1, ring 1, vertex 2 "
        r"\(coordinates\[1\]\[1\]\[2\]\)$",
    ):
        prepare_parcel(parcel, "OGC:CRS84", BONTANG_EPSG)


def test_infinity_in_geojson_is_named_by_its_member():
    text = '{"type": "Polygon", "coordinates": [[[117.5, 0.1], [117.6, 0.1], [Infinity, 0.2]]]}'
    with pytest.raises(
        GeometryError, match=r"\(inf, 0.2\) at ring 0, vertex 2 \(coordinates\[0\]\[2\]\)"
    ):
        prepare_parcel(parse_geometry(text), "OGC:CRS84", BONTANG_EPSG)


def test_too_many_vertices_or_parts_are_refused_with_count_and_limit():
    circle = shapely.Point(117.5, 0.13).buffer(0.001, quad_segs=2_500)  # 10,001 vertices
    assert shapely.get_num_coordinates(circle) == 10_001
    with pytest.raises(
        GeometryTooLargeError, match="10,001 vertices, more than the limit of 10,000"
    ):
        prepare_parcel(circle, "OGC:CRS84", BONTANG_EPSG)
    smaller = shapely.Point(117.5, 0.13).buffer(0.001, quad_segs=2_499)
    assert prepare_parcel(smaller, "OGC:CRS84", BONTANG_EPSG).geometry is not None
    limits = ParcelLimits(max_parts=1)
    with pytest.raises(GeometryTooLargeError, match="2 parts, more than the limit of 1"):
        prepare_parcel(BONTANG_TWO_PARTS, "OGC:CRS84", BONTANG_EPSG, limits=limits)
    assert issubclass(GeometryTooLargeError, GeometryError)


def test_lonlat_out_of_range_is_named_by_vertex():
    parcel = shapely.Polygon([(117.5, 0.1), (200.0, 0.1), (117.5, 0.2)])
    with pytest.raises(GeometryError, match=r"\(200, 0.1\) at ring 0, vertex 1 .* out of range"):
        prepare_parcel(parcel, "OGC:CRS84", BONTANG_EPSG)


def test_a_collapsed_parcel_has_no_area():
    with pytest.raises(GeometryError, match=r"the parcel has no area: .* part 0, ring 0"):
        prepare_parcel(COLLAPSED, EPSG, EPSG)


def test_coordinates_proj_cannot_take_are_named():
    ortho = "+proj=ortho +lat_0=0 +lon_0=117 +datum=WGS84 +units=m +type=crs"
    beyond_the_globe = shapely.box(7e6, 0, 7.1e6, 1e5)
    with pytest.raises(GeometryError, match=r"\(7100000, 0\) cannot be transformed .* EPSG:32650"):
        prepare_parcel(beyond_the_globe, ortho, BONTANG_EPSG)


# --- the parcel: repairs and flags ---------------------------------------------------------------


def test_swapped_lonlat_is_flagged_not_refused():
    prepared = prepare_parcel(SWAPPED_SQUARE, "OGC:CRS84", EPSG)
    assert prepared.swapped_suspect
    assert prepared.geometry is None
    [note] = prepared.notes
    assert note.code == "axes-swapped"
    assert "look like latitude, longitude" in note.message
    assert "latitudes would run from 109.9 to 109.91" in note.message


def test_lonlat_sent_under_authority_order_is_flagged_the_other_way():
    prepared = prepare_parcel(LONLAT_SQUARE, "EPSG:4326", EPSG, authority_order=True)
    assert prepared.swapped_suspect
    assert "look like longitude, latitude" in prepared.notes[0].message
    assert "name OGC:CRS84 for longitude first" in prepared.notes[0].message


def test_a_bowtie_is_repaired_with_a_note_saying_where():
    prepared = prepare_parcel(BOWTIE, EPSG, EPSG)
    assert prepared.geometry.area == pytest.approx(5_000)
    assert prepared.geometry.is_valid
    [note] = prepared.notes
    assert note.code == "repaired"
    assert note.location == BOWTIE_CROSSING
    assert note.message == (
        "self-intersection at (377050, 143050), part 0, ring 0: repaired into 2 polygon(s)"
    )


def test_a_bowtie_in_lonlat_is_located_in_lonlat():
    bowtie = shapely.Polygon([(117.5, 0.1), (117.51, 0.11), (117.51, 0.1), (117.5, 0.11)])
    prepared = prepare_parcel(bowtie, "OGC:CRS84", BONTANG_EPSG)
    assert prepared.notes[0].location == pytest.approx((117.505, 0.105))
    assert len(prepared.geometry.geoms) == 2


def test_a_ring_through_one_vertex_twice_is_repaired():
    prepared = prepare_parcel(FIGURE_EIGHT, EPSG, EPSG)
    assert prepared.geometry.area == pytest.approx(5_000)
    assert [(n.code, n.location) for n in prepared.notes] == [("repaired", FIGURE_EIGHT_TOUCH)]
    assert prepared.notes[0].message.startswith("ring self-intersection at (377050, 143050)")


def test_repeated_consecutive_vertices_are_harmless():
    repeated = shapely.Polygon([at(0, 0), at(100, 0), at(100, 0), at(100, 100), at(0, 100)])
    prepared = prepare_parcel(repeated, EPSG, EPSG)
    assert prepared.notes == ()
    assert prepared.geometry.area == pytest.approx(10_000)


def test_overlapping_parts_are_unioned_with_a_note():
    overlapping = shapely.MultiPolygon([rect(0, 0, 20, 20), rect(10, 10, 30, 30)])
    prepared = prepare_parcel(overlapping, EPSG, EPSG)
    assert prepared.geometry.area == pytest.approx(700)
    assert prepared.notes[0].code == "repaired"


def test_a_parcel_crossing_itself_only_in_metres_is_repaired_after_reprojection():
    assert NEAR_TOUCH_LONLAT.is_valid
    prepared = prepare_parcel(NEAR_TOUCH_LONLAT, "OGC:CRS84", BONTANG_EPSG)
    assert prepared.geometry.is_valid
    [note] = prepared.notes
    assert note.code == "repaired"
    assert note.message.endswith("(after reprojection): repaired into 3 polygon(s)")
    assert note.location == pytest.approx((117.51, 0.13), abs=1e-8)
    expected = shapely.make_valid(reference_utm(NEAR_TOUCH_LONLAT), method="structure").area
    assert prepared.geometry.area == pytest.approx(expected, rel=1e-12)


def test_z_is_dropped_with_a_note():
    prepared = prepare_parcel(SQUARE_Z, EPSG, EPSG)
    assert not shapely.has_z(prepared.geometry)
    assert prepared.geometry.area == pytest.approx(10_000)
    assert [n.code for n in prepared.notes] == ["z-dropped"]


def test_empty_parts_are_dropped_with_a_note():
    parcel = shapely.from_wkt("MULTIPOLYGON (EMPTY, ((0 0, 10 0, 10 10, 0 10, 0 0)))")
    prepared = prepare_parcel(parcel, EPSG, EPSG)
    assert prepared.geometry.equals(shapely.box(0, 0, 10, 10))
    assert [n.code for n in prepared.notes] == ["empty-part-dropped"]


# --- the parcel: axis order and invariance -------------------------------------------------------


def test_crs84_and_authority_ordered_epsg4326_give_the_same_parcel():
    from_crs84 = prepare_parcel(BONTANG_PARCEL, "OGC:CRS84", BONTANG_EPSG).geometry
    from_latlon = prepare_parcel(
        swap_axes(BONTANG_PARCEL), "EPSG:4326", BONTANG_EPSG, authority_order=True
    ).geometry
    from_lonlat = prepare_parcel(BONTANG_PARCEL, "EPSG:4326", BONTANG_EPSG).geometry
    for other in (from_latlon, from_lonlat):
        assert shapely.normalize(other).equals_exact(shapely.normalize(from_crs84), tolerance=1e-6)
    assert from_crs84.area == pytest.approx(reference_utm(BONTANG_PARCEL).area, rel=1e-12)


def test_a_parcel_in_the_target_crs_passes_through_unchanged():
    utm = reference_utm(BONTANG_PARCEL)
    for authority_order in (False, True):  # UTM's authority order is easting first
        prepared = prepare_parcel(utm, "EPSG:32650", BONTANG_EPSG, authority_order=authority_order)
        assert prepared.geometry.equals_exact(shapely.MultiPolygon([utm]), tolerance=0)
        assert prepared.notes == ()


def test_a_polygon_and_its_one_part_multipolygon_give_the_same_parcel():
    single = prepare_parcel(BONTANG_PARCEL, "OGC:CRS84", BONTANG_EPSG)
    multi = prepare_parcel(shapely.MultiPolygon([BONTANG_PARCEL]), "OGC:CRS84", BONTANG_EPSG)
    assert single == multi
    assert single.geometry.geom_type == "MultiPolygon"


@pytest.mark.parametrize("start", [0, 1, 2, 3])
@pytest.mark.parametrize("reverse", [False, True])
def test_ring_start_and_orientation_do_not_change_the_parcel(start, reverse):
    shell = list(BONTANG_PARCEL.exterior.coords)[:-1]
    shell = shell[start:] + shell[:start]
    shell = shell[::-1] if reverse else shell
    moved = shapely.Polygon(shell, [BONTANG_PARCEL.interiors[0]])
    base = prepare_parcel(BONTANG_PARCEL, "OGC:CRS84", BONTANG_EPSG).geometry
    other = prepare_parcel(moved, "OGC:CRS84", BONTANG_EPSG).geometry
    assert other.area == pytest.approx(base.area, rel=1e-12)
    assert shapely.normalize(other).equals_exact(shapely.normalize(base), tolerance=0)


@st.composite
def bontang_polygons(draw):
    """Star-shaped (hence simple) lon/lat polygons of 3 to 40 vertices near Bontang."""
    lon = draw(st.floats(117.455, 117.515))
    lat = draw(st.floats(0.105, 0.155))
    angles = sorted(
        set(draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=3, max_size=40)))
    )
    assume(len(angles) >= 3)
    gaps = np.diff([*angles, angles[0] + 2 * math.pi])
    assume(gaps.max() < math.pi * 0.95 and gaps.min() > 1e-6)
    radii = draw(st.lists(st.floats(1e-4, 5e-3), min_size=len(angles), max_size=len(angles)))
    ring = [
        (lon + r * math.cos(a), lat + r * math.sin(a)) for a, r in zip(angles, radii, strict=True)
    ]
    polygon = shapely.Polygon(ring)
    assume(polygon.is_valid)
    return polygon


@settings(max_examples=200, deadline=None)
@given(bontang_polygons())
def test_geojson_round_trip_measures_as_pyproj_does(polygon):
    text = json.dumps(shapely.geometry.mapping(polygon))
    prepared = prepare_parcel(parse_geometry(text), "OGC:CRS84", BONTANG_EPSG)
    assert prepared.notes == ()
    expected = reference_utm(polygon).area
    assert prepared.geometry.area == pytest.approx(expected, rel=1e-9)


# --- footprints and frontages --------------------------------------------------------------------


def test_a_frontage_follows_the_same_axis_rule():
    frontage = shapely.LineString([(117.480, 0.130), (117.482, 0.130)])
    lonlat = transform_geometry(frontage, "OGC:CRS84", BONTANG_EPSG)
    latlon = transform_geometry(
        swap_axes(frontage), "EPSG:4326", BONTANG_EPSG, authority_order=True
    )
    assert latlon.equals_exact(lonlat, tolerance=1e-6)
    assert lonlat.length == pytest.approx(reference_utm(frontage).length, rel=1e-12)


def test_a_footprint_in_the_target_crs_passes_through_and_loses_z():
    assert transform_geometry(ZONE_WITH_HOLE, EPSG, EPSG) is ZONE_WITH_HOLE
    flat = transform_geometry(SQUARE_Z, EPSG, EPSG)
    assert not shapely.has_z(flat)
    assert flat.equals(shapely.force_2d(SQUARE_Z))


def test_footprint_and_frontage_refusals_name_the_geometry():
    with pytest.raises(GeometryError, match=r"^footprint: empty geometry$"):
        transform_geometry(None, "OGC:CRS84", EPSG, what="footprint")
    with pytest.raises(GeometryError, match=r"^footprint: the coordinates look like latitude"):
        transform_geometry(SWAPPED_SQUARE, "OGC:CRS84", EPSG, what="footprint")
    line = shapely.LineString([(0, 0), (1, 1), (2, 2)])
    with pytest.raises(GeometryTooLargeError, match=r"^frontage: 3 vertices"):
        transform_geometry(line, EPSG, EPSG, what="frontage", limits=ParcelLimits(max_vertices=2))


def test_check_finite_names_the_vertex_of_a_line():
    line = parse_geometry("MULTILINESTRING ((0 0, 1 1), (2 2, 3 inf))")
    with pytest.raises(
        GeometryError, match=r"^frontage: .* at part 1, vertex 1 \(coordinates\[1\]\[1\]\)$"
    ):
        check_finite(line, "frontage")
    check_finite(LONLAT_SQUARE, "parcel")


def test_a_crs_input_can_be_passed_on_resolved():
    crs_in = resolve_crs("EPSG:4326")
    assert isinstance(crs_in, CrsInput)
    assert resolve_crs(crs_in) is crs_in
    assert resolve_crs(pyproj.CRS("EPSG:32650")).epsg == BONTANG_EPSG


@pytest.mark.parametrize("kind", [{}, [], 3])
def test_a_geojson_type_that_is_not_a_string_is_named(kind):
    with pytest.raises(GeometryError, match="'type' must be a string"):
        parse_geometry({"type": kind, "coordinates": [0, 0]}, fmt="geojson")
