"""CRS choice and transformers: UTM zones, axis order, metric checks, swapped lon/lat."""

import numpy as np
import pytest
import shapely

from gis.crs import is_metric, looks_swapped, metric_crs_for, reproject, to_lonlat, transformer
from gis.errors import CRSError


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (109.9, 1.3, 32649),  # Jagoi Babang
        (117.5, 0.13, 32650),  # Bontang
        (109.9, -0.5, 32749),  # south of the equator: 327xx
        (106.8, -6.2, 32748),  # Jakarta
        (180.0, 10.0, 32660),  # the antimeridian belongs to zone 60
        (-180.0, 10.0, 32601),
    ],
)
def test_metric_crs_for_gives_the_utm_zone(lon, lat, epsg):
    assert metric_crs_for(lon, lat) == epsg


@pytest.mark.parametrize(("lon", "lat"), [(1.3, 109.9), (200.0, 1.0), (float("nan"), 1.0)])
def test_metric_crs_for_refuses_what_is_not_lonlat(lon, lat):
    with pytest.raises(CRSError, match="not a lon/lat position"):
        metric_crs_for(lon, lat)


def test_transformer_is_cached_and_keeps_lon_lat_order():
    assert transformer(4326, 32649) is transformer(4326, 32649)
    x, y = transformer(4326, 32649).transform(109.9, 1.3)
    assert x == pytest.approx(377_580, abs=50)
    assert y == pytest.approx(143_760, abs=50)


def test_reproject_round_trip_keeps_coordinates():
    square = np.array([shapely.box(109.90, 1.30, 109.91, 1.31)])
    there = reproject(square, 4326, 32649)
    back = reproject(there, 32649, 4326)
    assert shapely.area(there)[0] == pytest.approx(1_236_000, rel=0.01)
    assert shapely.equals_exact(back[0], square[0], tolerance=1e-9)


def test_to_lonlat_of_a_utm_point():
    lon, lat = to_lonlat(377_580.0, 143_760.0, 32649)
    assert (lon, lat) == pytest.approx((109.9, 1.3), abs=1e-3)


@pytest.mark.parametrize(
    ("crs", "metric"),
    [(32649, True), (23830, True), ("EPSG:3857", True), (4326, False), (2263, False)],
)
def test_is_metric(crs, metric):
    assert is_metric(crs) is metric


@pytest.mark.parametrize(
    ("bounds", "swapped"),
    [
        ((1.2, 109.8, 1.4, 110.0), True),  # Jagoi Babang as lat, lon
        ((-8.5, 95.0, 5.9, 141.0), True),  # all of Indonesia as lat, lon
        ((109.8, 1.2, 110.0, 1.4), False),
        ((10.0, 50.0, 11.0, 51.0), False),  # undetectable where longitudes stay under 90
        ((377_000.0, 143_000.0, 378_000.0, 144_000.0), False),  # metres: not swapped degrees
    ],
)
def test_looks_swapped(bounds, swapped):
    assert looks_swapped(bounds) is swapped
