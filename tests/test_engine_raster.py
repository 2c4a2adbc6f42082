"""Raster findings (permits/rules/raster.py) worked out by hand on the grid plan of tests/plans.py
with GeoTIFFs written in tmp_path (tests/rasters.py): flood depth by column, a DEM plane, hazard
classes in two halves, nodata over half a parcel; single checks and batches alike; a plan
without rasters untouched; the real DEM and flood rasters placed over the plan."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from gis.crs import reproject, to_lonlat
from gis.raster import coverage_stats, read_grid, slope
from permits.application import Application, Building
from permits.batch import check_many
from permits.decision import Decision, Effect, Outcome, Status
from permits.engine import Engine
from tests.plans import grid_plan
from tests.rasters import (
    LEFT,
    TOP,
    dem_plane,
    flood_columns,
    hazard_halves,
    placed,
    with_rasters,
)
from tests.test_engine import REF, UTM

BASIS = "Perda Kota Uji No. 1 Tahun 2024 Pasal 40"


def lot(x0: float, y0: float, x1: float, y1: float):
    """A lot by its corners in metres east of the plan's west edge and south of its north edge."""
    return box(LEFT + x0, TOP - y1, LEFT + x1, TOP - y0)


def engine_of(tmp_path, rasters: dict, rules: list[str]) -> Engine:
    """The grid plan's engine with these rasters (kind -> file) and raster rules."""
    return Engine.build(with_rasters(tmp_path, rasters, rules), REF)


def check(engine: Engine, parcel) -> Decision:
    building = Building(footprint_m2=50.0, floor_area_m2=100.0, floors=2, height_m=8.0)
    return engine.check(Application(parcel, "68111", building, crs=UTM))


def rasters(decision: Decision) -> list:
    return [f for f in decision.findings if f.rule.startswith("raster.")]


def test_flood_depth_is_weighted_by_the_area_of_each_cell_the_lot_covers(tmp_path):
    data = with_rasters(
        tmp_path,
        {"flood_depth": flood_columns(tmp_path / "flood.tif")},
        [
            f"flood_depth,0.15,,,,,,Lantai panggung wajib,{BASIS}",
            "flood_depth,0.15,mean,,,,,,",
            "flood_depth,0.15,max,,,,,,",
            "flood_depth,0.05,p50,,review,,,,",
        ],
    )
    # Half of column 0 (0 m), column 1 (0.1 m), half of column 2 (0.2 m): 50, 100, 50 m2.
    decision = check(Engine.build(data, REF), lot(5, 10, 25, 20))
    p90, mean, top, p50 = rasters(decision)
    assert [f.rule for f in (p90, mean, top, p50)] == ["raster.flood_depth"] * 4
    assert p90.measured == pytest.approx(0.2) and p90.status is Status.FAIL
    assert (p90.effect, p90.unit, p90.limit, p90.basis) == (Effect.REJECT, "m", 0.15, BASIS)
    assert p90.message_en == (
        "The parcel's flood depth (90th percentile by area) is 0.20 m; the plan's limit is "
        "0.15 m. Lantai panggung wajib"
    )
    assert mean.measured == pytest.approx((0 * 50 + 0.1 * 100 + 0.2 * 50) / 200)
    assert (mean.status, mean.effect) == (Status.PASS, Effect.NONE)
    assert mean.basis == "RDTR Kota Uji (Perda Kota Uji No. 1 Tahun 2024), " + (
        "ketentuan raster (lereng, banjir, bahaya)"
    )
    assert top.measured == pytest.approx(0.2) and top.status is Status.FAIL
    assert p50.measured == pytest.approx(0.1) and p50.effect is Effect.REVIEW
    assert p90.details | {"sha256": None} == {
        "statistic": "p90",
        "covered_pct": 100.0,
        "nodata_pct": 0.0,
        "nodata_max_pct": 10.0,
        "pixels": 3,
        "cell_m": 10.0,
        "source": "flood.tif",
        "sha256": None,
        "text": "Lantai panggung wajib",
    }
    assert p90.details["sha256"] == data.rasters[0].sha256
    assert decision.outcome is Outcome.REJECTED


def test_slope_from_the_dem_in_percent_and_degrees(tmp_path):
    data = with_rasters(
        tmp_path,
        {"dem": dem_plane(tmp_path / "dem.tif", rise=0.1)},
        [
            "slope_pct,8,,,condition,,,Wajib kajian geoteknik,",
            "slope_deg,6,mean,,,,,,",
            "slope_deg,5,mean,,review,,,,",
        ],
    )
    pct, deg6, deg5 = rasters(check(Engine.build(data, REF), lot(120, 130, 150, 160)))
    assert (pct.rule, pct.unit, pct.status, pct.effect) == (
        "raster.slope_pct",
        "%",
        Status.FAIL,
        Effect.CONDITION,
    )
    assert pct.measured == pytest.approx(10.0)
    assert "Wajib kajian geoteknik" in pct.message_id
    assert deg6.measured == pytest.approx(math.degrees(math.atan(0.1)))
    assert (deg6.unit, deg6.status, deg5.status, deg5.effect) == (
        "deg",
        Status.PASS,
        Status.FAIL,
        Effect.REVIEW,
    )


def test_a_forbidden_hazard_class_is_measured_as_a_share_of_the_lot(tmp_path):
    krb = {"hazard_class": hazard_halves(tmp_path / "krb.tif")}
    engine = engine_of(tmp_path, krb, ["hazard_class,0,,3,,,,Kawasan rawan bencana tinggi,"])
    [straddling] = rasters(check(engine, lot(140, 10, 160, 30)))  # class 3 from 150 m east
    assert (straddling.measured, straddling.unit, straddling.limit) == (50.0, "%", 0.0)
    assert (straddling.status, straddling.effect) == (Status.FAIL, Effect.REJECT)
    assert straddling.details["classes"] == [3.0] and straddling.details["statistic"] == "share"
    assert straddling.message_en.startswith("50.00 % of the parcel lies in hazard class 3")
    [west] = rasters(check(engine, lot(100, 10, 120, 30)))
    assert (west.measured, west.status) == (0.0, Status.PASS)


def test_a_lot_half_over_nodata_needs_review_and_is_never_a_pass(tmp_path):
    flood = {"flood_depth": flood_columns(tmp_path / "flood.tif", nodata_rows=4)}
    strict = with_rasters(tmp_path, flood, ["flood_depth,1.0,,,,,,,"])
    half = lot(30, 0, 50, 40)  # its northern half over the nodata rows
    decision = check(Engine.build(strict, REF), half)
    [finding] = rasters(decision)
    assert (finding.status, finding.effect, finding.measured) == (
        Status.NOT_ASSESSED,
        Effect.REVIEW,
        None,
    )
    assert finding.message_en == (
        "No flood depth (90th percentile by area) data for 50 % of the parcel (the plan "
        "tolerates 10 %): needs review; the limit is 1 m."
    )
    assert finding.details["covered_pct"] == 50.0 and finding.details["nodata_pct"] is None
    assert decision.outcome is Outcome.NEEDS_REVIEW
    tolerant = with_rasters(tmp_path, flood, ["flood_depth,1.0,mean,,,60,,,"])
    [measured] = rasters(check(Engine.build(tolerant, REF), half))
    assert measured.measured == pytest.approx(0.35), "the mean of the valid half only"
    assert measured.details["covered_pct"] == 50.0 and measured.details["nodata_pct"] == 50.0
    [outside] = rasters(check(Engine.build(tolerant, REF), lot(0, 0, 10, 10).buffer(0)))
    assert outside.status is Status.NOT_ASSESSED
    exact = with_rasters(tmp_path, flood, ["flood_depth,1.0,mean,,,0,,,"])
    [whole] = rasters(check(Engine.build(exact, REF), lot(32.5, 47.5, 71.3, 93.1)))
    assert whole.status is Status.PASS, "a lot wholly over data is assessed with 0 % tolerated"


def test_a_rule_of_one_subzone_applies_to_lots_in_it(tmp_path):
    data = with_rasters(
        tmp_path, {"flood_depth": flood_columns(tmp_path / "f.tif")}, ["flood_depth,0.5,,,,,K-1,,"]
    )
    engine = Engine.build(data, REF)
    assert rasters(check(engine, lot(20, 220, 40, 240))) == []  # zone 1, R-3
    [k1] = rasters(check(engine, lot(120, 220, 140, 240)))  # zone 2, K-1
    assert (k1.subzone_code, k1.status) == ("K-1", Status.FAIL)


def test_a_rule_of_one_subzone_measures_a_split_lot_over_its_piece_in_it(tmp_path):
    """A lot 10 m in R-3 (flood column 9: 0.9 m) and 30 m in K-1 (1.0 to 1.2 m): R-3's rule is
    held to R-3's piece alone, not to the water on the K-1 side; K-1's to its own piece."""
    data = with_rasters(
        tmp_path,
        {"flood_depth": flood_columns(tmp_path / "f.tif")},
        ["flood_depth,0.95,max,,,,R-3,,", "flood_depth,1.05,mean,,,,K-1,,"],
    )
    decision = check(Engine.build(data, REF), lot(90, 220, 130, 240))
    r3, k1 = rasters(decision)
    assert (r3.subzone_code, r3.measured, r3.status) == ("R-3", pytest.approx(0.9), Status.PASS)
    assert r3.details["piece_m2"] == pytest.approx(200.0)
    assert r3.message_en.endswith("Measured over the parcel's piece in sub-zone R-3 (200.0 m2).")
    assert (k1.subzone_code, k1.measured, k1.status) == ("K-1", pytest.approx(1.1), Status.FAIL)
    assert k1.details["piece_m2"] == pytest.approx(600.0) and k1.details["covered_pct"] == 100.0
    whole = check(Engine.build(data, REF), lot(120, 220, 140, 240))  # wholly in K-1
    assert "piece_m2" not in rasters(whole)[0].details


def test_a_rule_whose_raster_the_plan_lacks_needs_review_everywhere(tmp_path):
    data = with_rasters(tmp_path, {}, ["slope_pct,15,,,,,,,"])
    [finding] = rasters(check(Engine.build(data, REF), lot(20, 20, 40, 40)))
    assert (finding.status, finding.effect) == (Status.NOT_ASSESSED, Effect.REVIEW)
    assert finding.details["source"] is None


def test_a_plan_without_rasters_or_raster_rules_adds_nothing(tmp_path):
    plain = Engine.build(grid_plan(), REF)
    assert plain.plan.raster_checks == ()
    parcel = lot(20, 220, 40, 240)
    kept = with_rasters(tmp_path, {"dem": dem_plane(tmp_path / "dem.tif")}, [])
    unread = Engine.build(kept, REF)
    assert unread.plan.raster_checks == (), "no grid is held that no rule reads"
    assert check(unread, parcel).to_json() == check(plain, parcel).to_json()
    assert rasters(check(plain, parcel)) == []


def test_a_batch_gives_each_lot_the_findings_a_single_check_gives(tmp_path):
    data = with_rasters(
        tmp_path,
        {
            "flood_depth": flood_columns(tmp_path / "flood.tif", nodata_rows=4),
            "dem": dem_plane(tmp_path / "dem.tif"),
        },
        ["flood_depth,0.15,,,,,,,", "slope_pct,8,,,,,,,"],
    )
    engine = Engine.build(data, REF)
    lots = [
        lot(5, 10, 25, 20),
        lot(30, 0, 50, 40),
        lot(120, 130, 150, 160),
        lot(280, 280, 300, 300),
    ]
    figures = {"footprint_m2": 50.0, "floor_area_m2": 100.0, "floors": 2, "height_m": 8.0}
    frame = gpd.GeoDataFrame(
        {"activity": ["68111"] * len(lots), **{k: [v] * len(lots) for k, v in figures.items()}},
        geometry=lots,
        crs=UTM,
    )
    results = check_many(frame, engine)
    singles = [check(engine, parcel) for parcel in lots]
    assert [d.to_json() for d in results["decision"]] == [d.to_json() for d in singles]
    assert [len(rasters(d)) for d in singles] == [2, 2, 2, 2]


def test_the_real_dem_placed_over_the_plan_gives_its_slope(tmp_path, shared_data):
    dem = placed(shared_data / "rasters" / "dem.tif", tmp_path / "dem.tif", x0=LEFT - 150)
    data = with_rasters(
        tmp_path, {"dem": dem}, ["slope_pct,15,,,,30,,,", "slope_pct,15,mean,,,30,,,"]
    )
    parcel = lot(100, 100, 160, 150)
    p90, mean = rasters(check(Engine.build(data, REF), parcel))
    pct, _deg = slope(read_grid(dem, 32650))
    independent = coverage_stats(pct, parcel, 90)
    assert p90.measured == pytest.approx(independent.percentile, rel=1e-5)
    assert mean.measured == pytest.approx(independent.mean, rel=1e-5)
    assert 0 < mean.measured < p90.measured


def test_the_real_flood_raster_reprojected_over_the_plan(tmp_path, shared_data):
    """The Jakarta flood depths (EPSG:4326) moved to the plan's place in lon/lat: the import
    reprojects them into the plan's UTM zone and keeps what lies over the plan."""
    source = shared_data / "rasters" / "jakarta_continuous_flood.tif"
    lonlat = tmp_path / "flood_lonlat.tif"
    with_lonlat(source, lonlat)
    data = with_rasters(tmp_path, {"flood_depth": lonlat}, ["flood_depth,0.5,mean,,,,,,"])
    parcel = lot(100, 100, 200, 200)
    [finding] = rasters(check(Engine.build(data, REF), parcel))
    expected = coverage_stats(read_grid(lonlat, 32650), parcel).mean
    assert finding.measured == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert finding.details["covered_pct"] == 100.0
    assert data.report.by_code("raster-outside-plan"), "most of Jakarta lies beyond the plan"


def with_lonlat(source, path):
    """The raster with its upper-left corner moved (in lon/lat) to 0.02 degrees north-west of
    the grid plan, so that the plan lies well inside it."""
    lon, lat = to_lonlat(LEFT, TOP, 32650)
    with rasterio.open(source) as src:
        moved = from_origin(lon - 0.02, lat + 0.02, src.transform.a, -src.transform.e)
        with rasterio.open(path, "w", **(src.profile | {"transform": moved})) as dst:
            dst.write(src.read())
    return path


def test_a_lot_sent_in_lonlat_gets_the_figures_it_gets_in_the_plans_crs(tmp_path):
    flood = {"flood_depth": flood_columns(tmp_path / "f.tif")}
    engine = engine_of(tmp_path, flood, ["flood_depth,0.15,mean,,,,,,"])
    parcel = lot(5, 10, 25, 20)
    [metric] = rasters(check(engine, parcel))
    [sent] = reproject(np.array([parcel], dtype=object), 32650, 4326)
    building = Building(footprint_m2=50, floor_area_m2=100, floors=2, height_m=8)
    [lonlat] = rasters(engine.check(Application(sent, "68111", building)))
    assert lonlat.measured == pytest.approx(metric.measured, abs=1e-6)
