"""Rasters over parcels: coverage-weighted statistics and class shares worked out by hand, nodata
never read as zero, slope of a plane, reprojection (nearest for classes), the stored GeoTIFF form,
cropping, and the real DEM and flood rasters against an independent supersampled count."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import rasterio
import shapely
import shapely.affinity
from rasterio.features import rasterize
from rasterio.transform import from_origin

from gis.errors import CRSError
from gis.raster import (
    Grid,
    RasterError,
    class_share,
    coverage_stats,
    decode_grid,
    encode_grid,
    read_grid,
    slope,
    uncovered,
)
from tests.rasters import write_tif

UTM = 32650
X0, Y0 = 530_000.0, 15_100.0  # upper-left corner, metres


#: A GeoTIFF whose upper-left corner is X0, Y0 unless told otherwise (tests/rasters.py).
write = partial(write_tif, x0=X0, y0=Y0)


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


def test_a_class_share_is_of_the_area_with_data(tmp_path, columns):
    lot = shapely.box(X0 + 5, Y0 - 10, X0 + 25, Y0)  # half of class 0, class 1, half of class 2
    share = class_share(columns, lot, frozenset({1.0, 2.0}))
    assert share.share == pytest.approx((100 + 50) / 200)
    assert (share.covered, share.nodata, share.pixels) == (pytest.approx(1.0), 0.0, 3)
    values = np.array([[3.0, 1.0], [-1.0, -1.0]])
    gappy = read_grid(write(tmp_path / "gap.tif", values, nodata=-1), UTM)
    half = class_share(gappy, shapely.box(X0, Y0 - 20, X0 + 10, Y0), frozenset({3.0}))
    assert half.share == 1.0, "the nodata half is not counted as another class"
    assert half.nodata == pytest.approx(0.5)
    none = class_share(gappy, shapely.box(X0, Y0 - 20, X0 + 20, Y0 - 10), frozenset({3.0}))
    assert (none.share, none.covered) == (None, 0.0)


def test_classes_are_reprojected_by_nearest_neighbour(tmp_path):
    classes = np.tile(np.repeat([1.0, 2.0, 3.0], 20), (60, 1))
    source = write(tmp_path / "krb.tif", classes, crs=4326, cell=0.0005, x0=117.45, y0=0.16)

    def values(grid):
        return set(np.unique(grid.values[np.isfinite(grid.values)]).tolist())

    assert values(read_grid(source, UTM, categorical=True)) == {1.0, 2.0, 3.0}
    assert len(values(read_grid(source, UTM))) > 3, "bilinear makes classes in between"


def test_the_uncovered_part_is_beyond_the_grid_or_over_nodata(tmp_path):
    values = np.full((3, 3), 5.0)
    values[1, 1] = -1
    grid = read_grid(write(tmp_path / "hole.tif", values, nodata=-1), UTM)
    inside = shapely.box(X0, Y0 - 30, X0 + 30, Y0)
    assert uncovered(grid, inside).area == pytest.approx(100.0)  # the middle cell
    wider = shapely.box(X0 - 10, Y0 - 30, X0 + 30, Y0)
    assert uncovered(grid, wider).area == pytest.approx(100.0 + 300.0)
    full = read_grid(write(tmp_path / "full.tif", np.ones((3, 3))), UTM)
    assert uncovered(full, inside).is_empty


def test_the_stored_geotiff_gives_the_grid_back_and_the_same_bytes(tmp_path):
    values = np.linspace(0, 1, 600).reshape(20, 30)
    values[3, 4] = np.nan
    grid = Grid(values, from_origin(X0, Y0, 10, 10), UTM)
    data = encode_grid(grid)
    assert encode_grid(grid) == data
    back = decode_grid(data, "test")
    assert back.transform == grid.transform and back.crs_epsg == UTM
    assert np.isnan(back.values[3, 4])
    assert np.allclose(back.values, values.astype(np.float32), equal_nan=True)
    assert encode_grid(back) == data, "a decoded grid encodes to the bytes it came from"
    with pytest.raises(RasterError, match="stored raster cannot be read"):
        decode_grid(b"not a tiff", "dem raster (dem.tif)")


def test_a_stored_grid_held_as_float32_gives_float64s_statistics_to_the_bit(shared_data):
    """The engine holds a plan's grids as stored (float32, half the memory): every statistic
    and class share over real lots is what the same grid widened to float64 gives."""
    dem = read_grid(shared_data / "rasters" / "dem.tif", 32748)
    stored = decode_grid(encode_grid(dem), "dem")
    assert stored.values.dtype == np.float32
    wide = Grid(stored.values.astype(np.float64), stored.transform, stored.crs_epsg)
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = stored.bounds
    for x, y, w, h, angle in zip(
        *rng.uniform([x0, y0, 10, 10, 0], [x1 - 200, y1 - 200, 120, 90, 90], (60, 5)).T,
        strict=True,
    ):
        lot = shapely.affinity.rotate(shapely.box(x, y, x + w, y + h), angle)
        for q in (50.0, 90.0):
            assert coverage_stats(stored, lot, q) == coverage_stats(wide, lot, q)
        classes = frozenset({float(np.nanmedian(stored.values))})
        assert class_share(stored, lot, classes) == class_share(wide, lot, classes)


def test_a_crop_keeps_the_cells_over_the_bounds_and_a_margin(columns):
    part = columns.crop((X0 + 35, Y0 - 45, X0 + 55, Y0 - 25), margin_cells=1)
    assert part.values.shape == (5, 5)  # rows 2..4 and columns 3..5, and one cell around
    assert part.bounds == (X0 + 20, Y0 - 60, X0 + 70, Y0 - 10)
    assert part.values[0].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert columns.crop((X0 - 100, Y0 - 200, X0 + 200, Y0 + 100)) is columns
    assert columns.crop((X0 + 500, Y0, X0 + 600, Y0 + 100)).values.size == 0


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
