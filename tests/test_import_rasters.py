"""Importing a plan's rasters (layers/rasters.py, layers/importer.py) and its raster rules
(layers/rules/raster.py): refusals that name the file and the cell, the quality report's notes
with their areas worked out by hand, and a plan without rasters hashing as it did."""

from __future__ import annotations

import numpy as np
import pytest

from layers.errors import PlanInputError
from layers.importer import PlanSources, RasterSource, read_plan, read_rasters
from layers.model import (
    OVERLAY_COLUMNS,
    ZONE_COLUMNS,
    RasterKind,
    RasterRule,
    RuleSet,
    content_hash,
    frame_hash,
    sha256_json,
)
from layers.report import QualityReport, Severity
from layers.rules import NameIndex, read_raster_rules
from tests.plans import grid_plan
from tests.rasters import LEFT, TOP, dem_plane, flood_columns, rules_csv, with_rasters, write_tif


def test_a_dem_brings_its_slopes_in_the_plans_crs_and_the_report_says_what_it_lacks(tmp_path):
    dem = write_tif(tmp_path / "dem.tif", np.tile(np.arange(30.0), (30, 1)))  # the plan, exactly
    data = with_rasters(tmp_path, {"dem": dem}, [])
    assert [r.kind for r in data.rasters] == [
        RasterKind.DEM,
        RasterKind.SLOPE_PCT,
        RasterKind.SLOPE_DEG,
    ]
    assert {(r.source, r.width, r.height, r.cell_m) for r in data.rasters} == {
        ("dem.tif", 30, 30, 10.0)
    }
    assert data.rasters[1].grid().values[1:-1, 1:-1] == pytest.approx(10.0)
    [summary] = data.report.by_code("raster")
    assert summary.message == (
        "DEM (elevation): 30 x 30 cells of 10.0 m in EPSG:32650 (slope derived in % and degrees)"
    )
    # The slope of the grid's border cells is unknown: a 10 m ring inside the 300 m plan.
    [ring] = data.report.by_code("raster-nodata")
    assert ring.severity is Severity.WARNING and ring.source == "dem.tif"
    assert ring.area_m2 == pytest.approx(300 * 300 - 280 * 280)
    assert ring.details == {"kind": "slope_pct", "share_pct": pytest.approx(11600 / 900)}
    assert data.report.by_code("raster-unused")[0].details == {
        "rasters": ["dem", "slope_deg", "slope_pct"]
    }


def test_a_raster_over_part_of_the_plan_is_cut_to_it_and_the_rest_reported(tmp_path):
    # 34 x 100 cells of 10 m from the plan's middle meridian (150 m) 1 km eastwards; the plan
    # is 300 m wide, so its western half has no data and 17 columns (two beyond it) are kept.
    values = np.ones((34, 100))
    flood = write_tif(tmp_path / "wide.tif", values, x0=LEFT + 150, y0=TOP + 20)
    data = with_rasters(tmp_path, {"flood_depth": flood}, [])
    [stored] = data.rasters
    assert stored.bounds == (LEFT + 150, TOP - 320, LEFT + 320, TOP + 20)  # two cells around
    [outside] = data.report.by_code("raster-outside-plan")
    assert outside.details["share_pct"] == pytest.approx(100 * (100 - 17) / 100)
    [missing] = data.report.by_code("raster-nodata")
    assert missing.area_m2 == pytest.approx(150 * 300), "the plan's western half"
    assert missing.details["share_pct"] == pytest.approx(50.0)
    assert missing.location is not None


def test_a_raster_of_another_place_is_refused_naming_it(tmp_path):
    far = write_tif(tmp_path / "far.tif", np.ones((10, 10)), x0=LEFT + 5_000)
    with pytest.raises(PlanInputError, match=r"far\.tif: the flood depth raster has no valid"):
        with_rasters(tmp_path, {"flood_depth": far}, [])
    holes = write_tif(tmp_path / "holes.tif", np.full((34, 34), -1.0), nodata=-1)
    with pytest.raises(PlanInputError, match=r"holes\.tif: band 1 has no valid pixel"):
        with_rasters(tmp_path, {"flood_depth": holes}, [])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: write_tif(p, np.ones((4, 4)), crs=None), r"bad\.tif: the raster has no CRS"),
        (lambda p: p.write_text("not a GeoTIFF") and p, r"bad\.tif: not a raster rasterio can"),
        (
            lambda p: write_tif(p, np.full((34, 34), 1.5), x0=LEFT - 20, y0=TOP + 20),
            r"bad\.tif: a hazard class raster holds whole class numbers; 1156 cells do not",
        ),
    ],
    ids=["no-crs", "not-a-raster", "hazard-index"],
)
def test_unusable_rasters_are_refused_naming_the_file(tmp_path, make, message):
    path = make(tmp_path / "bad.tif")
    with pytest.raises(PlanInputError, match=message):
        with_rasters(tmp_path, {"hazard_class": path}, [])


def test_negative_flood_depths_are_reported(tmp_path):
    values = np.full((34, 34), 0.5)
    values[0, :3] = -0.25
    flood = write_tif(tmp_path / "f.tif", values, x0=LEFT - 20, y0=TOP + 20)
    [issue] = with_rasters(tmp_path, {"flood_depth": flood}, []).report.by_code("raster-values")
    assert issue.details == {"cells": 3, "min_m": -0.25}


def test_raster_specs_name_an_imported_kind_once(tmp_path):
    with pytest.raises(PlanInputError, match=r"--raster slope_pct: a raster is KIND=FILE, KIND"):
        RasterSource.parse("slope_pct=dem.tif", tmp_path, "--raster")
    with pytest.raises(PlanInputError, match="takes NAME=VALUE"):
        RasterSource.parse("dem.tif", tmp_path, "--raster")
    source = RasterSource(RasterKind.FLOOD_DEPTH, flood_columns(tmp_path / "f.tif"))
    with pytest.raises(PlanInputError, match="raster flood_depth: given twice"):
        read_rasters([source, source], grid_plan().zones, QualityReport())


def test_raster_rules_read_with_their_defaults_held_in_the_rule(tmp_path):
    table = rules_csv(
        tmp_path / "rules.csv",
        [
            "slope_pct,15,,,,,,Kemiringan > 15 %,Perda 1/2024 Pasal 40",
            'flood_depth,"0,5",MEAN,,review,25,R-3,,',
            'hazard_class,0,,"3, 2",condition,,,,',
            "slope_deg,20,p97.5,,,,,,",
        ],
    )
    rules = read_raster_rules(table).raster_rules
    assert rules == (
        RasterRule(
            "slope_pct", 15.0, text="Kemiringan > 15 %", legal_basis="Perda 1/2024 Pasal 40"
        ),
        RasterRule(
            "flood_depth", 0.5, "mean", effect="review", nodata_max_pct=25.0, subzone_code="R-3"
        ),
        RasterRule("hazard_class", 0.0, "share", classes="2,3", effect="condition"),
        RasterRule("slope_deg", 20.0, "p97.5"),
    )
    assert (rules[0].statistic, rules[0].effect, rules[0].nodata_max_pct) == ("p90", "reject", 10.0)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("slope,15,,,,,,,", r"row 2, column A \(raster\): raster 'slope' is not one of dem"),
        ("slope_pct,,,,,,,,", r"column B \(maximum\): maximum is empty"),
        ("slope_pct,-1,,,,,,,", "maximum -1 is below zero"),
        ("slope_pct,15,median,,,,,,", r"column C \(statistic\): statistic 'median' is not"),
        ("slope_pct,15,p0,,,,,,", "statistic 'p0' is not mean, max or p<q>"),
        ("slope_pct,15,p150,,,,,,", "statistic 'p150' is not"),
        ("slope_pct,15,,3,,,,,", r"column D \(classes\): classes belong to a hazard_class rule"),
        ("hazard_class,0,,,,,,,", "a hazard_class rule needs the classes it limits"),
        ("hazard_class,0,,tinggi,,,,,", "classes 'tinggi' are not class numbers"),
        ("hazard_class,0,max,3,,,,,", "a hazard_class rule measures the share"),
        ("flood_depth,1,,,forbid,,,,", "effect 'forbid' is not one of reject, review, condition"),
        ("flood_depth,1,,,,120,,,", "nodata_max_pct is a share of the parcel, 0 to 100 %"),
        ("flood_depth,1 m,,,,,,,", None),
    ],
)
def test_a_raster_rule_the_engine_could_not_apply_is_refused_naming_its_cell(
    tmp_path, row, message
):
    table = rules_csv(tmp_path / "rules.csv", [row])
    if message is None:  # a unit after the number reads, as in the other tables
        assert read_raster_rules(table).raster_rules[0].maximum == 1.0
        return
    with pytest.raises(PlanInputError, match=rf"rules\.csv, .*{message}"):
        read_raster_rules(table)


def test_a_raster_rules_table_with_columns_of_its_own_is_refused(tmp_path):
    path = tmp_path / "rules.csv"
    path.write_text("raster,batas\nslope_pct,15\n")
    with pytest.raises(PlanInputError, match=r"unknown column\(s\) 'batas'; missing column"):
        read_raster_rules(path)


def test_a_raster_rule_of_an_unknown_subzone_is_left_out_with_a_warning(tmp_path):
    table = rules_csv(tmp_path / "rules.csv", ["flood_depth,1,,,,,Perumahan Sedang,,"])
    names = NameIndex([("Perumahan Kepadatan Sedang", "R-3")])
    with pytest.raises(PlanInputError, match="is not one the plan names"):
        read_raster_rules(table, names=names)
    report = QualityReport()
    assert read_raster_rules(table, names=names, report=report).raster_rules == ()
    assert report.by_code("subzone-unresolved")
    named = rules_csv(tmp_path / "named.csv", ["flood_depth,1,,,,,Perumahan Kepadatan Sedang,,"])
    assert read_raster_rules(named, names=names).raster_rules[0].subzone_code == "R-3"


def test_a_rule_whose_raster_the_import_lacks_blocks_activation(tmp_path):
    data = with_rasters(
        tmp_path, {"flood_depth": flood_columns(tmp_path / "f.tif")}, ["slope_pct,15,,,,,,,"]
    )
    [error] = data.report.by_code("raster-rule-without-raster")
    assert error.severity is Severity.ERROR and "no such raster" in error.message
    assert data.report.by_code("raster-unused")[0].details == {"rasters": ["flood_depth"]}


def test_an_import_reads_rasters_and_raster_rules_beside_the_zoning(tmp_path):
    zones = tmp_path / "zones.gpkg"
    grid_plan().zones.to_crs(4326).to_file(zones, layer="zones")
    rules = rules_csv(tmp_path / "rules.csv", ["slope_pct,15,,,,,R-3,,", "flood_depth,0.5,,,,,,,"])
    sources = PlanSources(
        zoning=zones,
        mapping={"zone_id": "zone_id", "subzone_code": "subzone_code"},
        rasters=(
            RasterSource(RasterKind.DEM, dem_plane(tmp_path / "dem.tif")),
            RasterSource(RasterKind.FLOOD_DEPTH, flood_columns(tmp_path / "flood.tif")),
        ),
        raster_rules=rules,
    )
    data = read_plan(sources)
    assert data.crs_epsg == 32650
    assert [r.kind.value for r in data.rasters] == ["dem", "slope_pct", "slope_deg", "flood_depth"]
    assert [r.raster for r in data.rules.raster_rules] == ["slope_pct", "flood_depth"]
    assert "rules.csv" in data.rules.sources
    assert not data.report.has_errors
    assert data.report.by_code("raster-unused")[0].details == {"rasters": ["dem", "slope_deg"]}


def test_a_plan_without_rasters_hashes_as_it_did_before_rasters():
    data = grid_plan()
    assert "raster_rules" not in data.rules.to_dict()
    assert content_hash(data) == sha256_json(
        {
            "crs": data.crs_epsg,
            "zones": frame_hash(data.zones, ZONE_COLUMNS),
            "overlays": frame_hash(data.overlays, OVERLAY_COLUMNS),
            "rules": data.rules.hash(),
        }
    )
    limited = RuleSet(raster_rules=(RasterRule("slope_pct", 15.0),))
    assert limited.to_dict()["raster_rules"][0]["statistic"] == "p90"
    assert RuleSet.from_dict(limited.to_dict()) == limited
