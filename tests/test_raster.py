"""Rasters over parcels: coverage-weighted statistics worked out by hand, nodata never read as
zero, slope of a plane, reprojection, and the real DEM and flood rasters against an independent
supersampled count."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import from_origin

from gis.errors import CRSError
from gis.raster import RasterError, coverage_stats, read_grid, slope

UTM = 32650
X0, Y0 = 530_000.0, 15_100.0  # upper-left corner, metres


def write(path, values, *, crs=UTM, nodata=None, cell=10.0, x0=X0, y0=Y0):
    values = np.asarray(values, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype="float32",
        crs=rasterio.crs.CRS.from_epsg(crs) if crs else None,
        transform=from_origin(x0, y0, cell, cell),
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture
def columns(tmp_path):
    """10 x 10 cells of 10 m; each cell's value is its column number."""
    return read_grid(write(tmp_path / "cols.tif", np.tile(np.arange(10.0), (10, 1))), UTM)


def test_pixels_count_by_the_area_the_parcel_covers(columns):
    lot = shapely.box(X0 + 5, Y0 - 10, X0 + 25, Y0)  # half of column 0, column 1, half of 2
    stats = coverage_stats(columns, lot)
    assert stats.mean == pytest.approx((0 * 50 + 1 * 100 + 2 * 50) / 200)
    assert stats.max == 2.0
    assert stats.covered == pytest.approx(1.0)
    assert stats.nodata == 0.0
    assert stats.pixels == 3


def test_a_weighted_percentile_is_the_value_under_that_share_of_the_area(columns):
    lot = shapely.box(X0, Y0 - 10, X0 + 100, Y0)  # one row: 0..9, equal weights
    assert coverage_stats(columns, lot, q=50).percentile == 4.0
    assert coverage_stats(columns, lot, q=95).percentile == 9.0
    assert coverage_stats(columns, lot, q=0).percentile == 0.0


def test_nodata_is_reported_and_never_read_as_zero(tmp_path):
    values = np.full((2, 2), 7.0)
    values[0, 0] = -9999
    grid = read_grid(write(tmp_path / "gap.tif", values, nodata=-9999), UTM)
    half = coverage_stats(grid, shapely.box(X0, Y0 - 10, X0 + 20, Y0))
    assert half.mean == 7.0 and half.max == 7.0
    assert half.nodata == pytest.approx(0.5) and half.covered == pytest.approx(0.5)
    gap = coverage_stats(grid, shapely.box(X0 + 1, Y0 - 9, X0 + 9, Y0 - 1))
    assert (gap.mean, gap.max, gap.percentile, gap.covered, gap.nodata) == (None, None, None, 0, 1)


def test_a_parcel_off_the_raster_has_no_figures(columns):
    away = coverage_stats(columns, shapely.box(X0 - 500, Y0 - 500, X0 - 400, Y0 - 400))
    assert (away.mean, away.covered, away.nodata, away.pixels) == (None, 0.0, 0.0, 0)
    edge = coverage_stats(columns, shapely.box(X0 - 10, Y0 - 10, X0 + 10, Y0))
    assert edge.covered == pytest.approx(0.5) and edge.mean == 0.0


def test_the_slope_of_a_plane_is_its_gradient(tmp_path):
    xs = np.arange(20) * 25.0
    plane = np.tile(0.1 * xs, (20, 1))  # rising 0.1 m a metre eastwards
    dem = read_grid(write(tmp_path / "plane.tif", plane, cell=25.0), UTM)
    pct, deg = slope(dem)
    inner = pct.values[1:-1, 1:-1]
    assert np.allclose(inner, 10.0)
    assert np.allclose(deg.values[1:-1, 1:-1], math.degrees(math.atan(0.1)))
    assert np.isnan(pct.values[0]).all() and np.isnan(pct.values[:, -1]).all()


def test_a_raster_in_another_crs_is_reprojected_to_the_plans(tmp_path):
    source = tmp_path / "lonlat.tif"
    write(source, np.full((50, 50), 3.5), crs=4326, cell=0.0005, x0=117.45, y0=0.16)
    grid = read_grid(source, UTM)
    assert grid.crs_epsg == UTM
    assert abs(grid.transform.a) == pytest.approx(55.3, rel=0.05)  # ~0.0005 degrees in metres
    lot = shapely.box(*grid.bounds).centroid.buffer(30)
    assert coverage_stats(grid, lot).mean == pytest.approx(3.5)


def test_refused_rasters_say_why(tmp_path):
    with pytest.raises(CRSError, match="no CRS"):
        read_grid(write(tmp_path / "nocrs.tif", np.ones((2, 2)), crs=None), UTM)
    (tmp_path / "text.tif").write_text("not a raster")
    with pytest.raises(RasterError, match=r"text\.tif: not a raster"):
        read_grid(tmp_path / "text.tif", UTM)
    with pytest.raises(RasterError, match="no valid pixel"):
        read_grid(write(tmp_path / "void.tif", np.full((2, 2), -1.0), nodata=-1), UTM)
    with pytest.raises(RasterError, match="no band 2"):
        read_grid(tmp_path / "void.tif", UTM, band=2)


def supersampled_mean(path, polygon, factor=20):
    """An independent estimate: the polygon burnt into a grid ``factor`` times finer, each
    source pixel weighted by how many fine cells of it the polygon covers."""
    with rasterio.open(path) as src:
        data = src.read(1, masked=True).astype(float).filled(np.nan)
        fine = rasterio.Affine(
            src.transform.a / factor,
            0,
            src.transform.c,
            0,
            src.transform.e / factor,
            src.transform.f,
        )
        burnt = rasterize(
            [polygon],
            out_shape=(src.height * factor, src.width * factor),
            transform=fine,
            fill=0,
            default_value=1,
            dtype="uint8",
        )
    counts = burnt.reshape(src.height, factor, src.width, factor).sum(axis=(1, 3))
    valid = np.isfinite(data) & (counts > 0)
    return float(np.average(data[valid], weights=counts[valid]))


def test_the_real_dem_agrees_with_a_supersampled_count(shared_data):
    path = shared_data / "rasters" / "dem.tif"
    grid = read_grid(path, 32748)
    lot = shapely.Polygon(
        [(765400, 9216100), (765460, 9216130), (765440, 9216200), (765390, 9216180)]
    )
    stats = coverage_stats(grid, lot)
    assert stats.mean == pytest.approx(supersampled_mean(path, lot), rel=2e-3)
    assert stats.covered == pytest.approx(1.0)
    pct, _deg = slope(grid)
    assert 0 < coverage_stats(pct, lot).mean < 100


def test_the_real_flood_raster_keeps_its_nodata(shared_data):
    path = shared_data / "rasters" / "jakarta_continuous_flood.tif"
    grid = read_grid(path, 32748)
    with rasterio.open(path) as src:
        raw = src.read(1, masked=True)
    assert np.nanmax(grid.values) <= float(raw.max()) + 1e-6
    assert np.nanmin(grid.values) >= float(raw.min()) - 1e-6
    lot = shapely.box(*grid.bounds).centroid.buffer(120)
    stats = coverage_stats(grid, lot)
    assert stats.covered + stats.nodata == pytest.approx(1.0)
