"""Comparing two plan versions on small plans built in code, where every changed area is known by
hand: a 3 x 3 grid of 100 m zones (10,000 m2 each) and a revision of it."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, box

from layers.compare import PIECE_COLUMNS, compare
from layers.model import IntensityRule, ItbxCell, PlanData, SpecialProvision
from tests.plans import ORIGIN, grid_plan
from tests.rasters import dem_plane, flood_columns, with_rasters

X0, Y0 = ORIGIN


def revised(plan: PlanData) -> PlanData:
    """The grid with four changes of zoning and a few of rules:

    - zone 5 (K-1) becomes R-3: 10,000 m2 K-1 -> R-3;
    - zone 1 (R-3) grows 30 m east into zone 2 (K-1): 3,000 m2 K-1 -> R-3;
    - zone 9 (RTH-2) is dropped: 10,000 m2 RTH-2 -> none;
    - a new K-1 zone of 50 x 100 m east of the grid: 5,000 m2 none -> K-1.
    """
    zones = plan.zones.copy()
    zones.loc[zones.zone_id == "5", "subzone_code"] = "R-3"
    zones.loc[zones.zone_id == "5", "subzone_name"] = "Perumahan Kepadatan Sedang"
    zones.loc[zones.zone_id == "1", "geometry"] = MultiPolygon([box(X0, Y0, X0 + 130, Y0 + 100)])
    zones.loc[zones.zone_id == "2", "geometry"] = MultiPolygon(
        [box(X0 + 130, Y0, X0 + 200, Y0 + 100)]
    )
    zones = zones[zones.zone_id != "9"]
    extra = zones.iloc[[1]].copy()
    extra["zone_id"] = "10"
    extra["geometry"] = MultiPolygon([box(X0 + 300, Y0, X0 + 350, Y0 + 100)])
    zones = gpd.GeoDataFrame(
        gpd.pd.concat([zones, extra], ignore_index=True), geometry="geometry", crs=plan.crs_epsg
    )
    rules = plan.rules
    cells = [
        ItbxCell(c.activity_id, c.subzone_code, ("I",), "I")
        if (c.activity_id, c.subzone_code) == ("47111", "R-3")
        else c
        for c in rules.cells
        if (c.activity_id, c.subzone_code) != ("52101", "RTH-2")
    ]
    cells.append(ItbxCell("52101", "R-4", ("X",), "X"))
    intensity = [
        dataclasses.replace(r, kdb_max_pct=50.0)
        if r.subzone_code == "R-3" and r.road_class is None
        else r
        for r in rules.intensity
    ]
    intensity.append(IntensityRule("R-4", kdb_max_pct=40.0))
    provisions = (
        SpecialProvision(
            "LP2B", "cap", "Lahan pertanian pangan berkelanjutan", kdb_max_pct=5.0, klb_max=0.2
        ),
        SpecialProvision("KKOP", "condition", "Tinggi bangunan di bawah permukaan KKOP"),
    )
    rules = dataclasses.replace(
        rules, cells=tuple(cells), intensity=tuple(intensity), provisions=provisions
    )
    return dataclasses.replace(plan, zones=zones, rules=rules)


def summary_of(result) -> dict[tuple, tuple[int, float]]:
    return {(s["from_code"], s["to_code"]): (s["pieces"], s["area_m2"]) for s in result.summary}


def test_every_changed_piece_with_its_codes_and_area():
    a = grid_plan()
    result = compare(a, revised(a))

    assert result.crs_epsg == a.crs_epsg
    assert list(result.pieces.columns) == [*PIECE_COLUMNS, "geometry"]
    summary = summary_of(result)
    assert summary.keys() == {("K-1", "R-3"), ("RTH-2", None), (None, "K-1")}
    assert summary[("K-1", "R-3")][0] == 2
    assert summary[("K-1", "R-3")][1] == pytest.approx(13_000)
    assert summary[("RTH-2", None)] == (1, pytest.approx(10_000))
    assert summary[(None, "K-1")] == (1, pytest.approx(5_000))
    assert result.changed_area_m2 == pytest.approx(28_000)
    assert result.slivers == {"pieces": 0, "area_m2": 0.0}
    names = a.rules.subzones
    assert list(result.summary[0].values())[:4] == ["K-1", names["K-1"], "R-3", names["R-3"]]

    pieces = result.pieces.set_index(["from_zone_id", "to_zone_id"], drop=False)
    assert pieces.loc[("5", "5"), "area_m2"] == pytest.approx(10_000)
    assert pieces.loc[("2", "1"), "area_m2"] == pytest.approx(3_000)
    assert pieces.loc[("2", "1"), "geometry"].equals(box(X0 + 100, Y0, X0 + 130, Y0 + 100))
    assert pieces.loc[("9", None), ["from_code", "to_code"]].tolist() == ["RTH-2", None]
    assert pieces.loc[(None, "10"), ["from_code", "to_code"]].tolist() == [None, "K-1"]
    assert result.pieces["area_m2"].is_monotonic_decreasing


def test_a_version_compared_with_itself_has_no_changes():
    a = grid_plan()
    result = compare(a, a)
    assert result.pieces.empty and result.summary == ()
    assert result.to_dict()["rules"] == {
        name: {"added": [], "removed": [], "changed": []}
        for name in ("itbx", "intensity", "provisions", "legend", "raster_rules")
    }


def test_b_in_another_crs_is_reprojected_to_as_and_measured_there():
    a = grid_plan()
    b = revised(a)
    lonlat = dataclasses.replace(b, zones=b.zones.to_crs(4326), crs_epsg=4326)
    result = compare(a, lonlat)
    assert result.crs_epsg == a.crs_epsg
    assert result.pieces.crs.to_epsg() == a.crs_epsg
    summary = summary_of(result)
    assert summary.keys() == {("K-1", "R-3"), ("RTH-2", None), (None, "K-1")}
    assert summary[("K-1", "R-3")][1] == pytest.approx(13_000, abs=0.1)
    assert result.slivers["area_m2"] < 1.0


def test_pieces_under_the_sliver_tolerance_are_counted_not_listed():
    a = grid_plan()
    b = a.zones.copy()
    b.loc[b.zone_id == "1", "geometry"] = MultiPolygon([box(X0, Y0, X0 + 100.004, Y0 + 100)])
    b.loc[b.zone_id == "2", "geometry"] = MultiPolygon([box(X0 + 100.004, Y0, X0 + 200, Y0 + 100)])
    result = compare(a, dataclasses.replace(a, zones=b))
    assert result.pieces.empty
    assert result.slivers["pieces"] == 1
    assert result.slivers["area_m2"] == pytest.approx(0.4)
    listed = compare(a, dataclasses.replace(a, zones=b), min_area_m2=0.1)
    assert listed.pieces[["from_code", "to_code"]].values.tolist() == [["K-1", "R-3"]]


def test_rule_changes_cell_by_cell_row_by_row():
    a = grid_plan()
    rules = compare(a, revised(a)).to_dict()["rules"]

    itbx = rules["itbx"]
    assert itbx["changed"] == [
        {
            "activity_id": "47111",
            "activity": "Minimarket",
            "subzone_code": "R-3",
            "from": ["T1", "B2"],
            "to": ["I"],
        }
    ]
    assert [(r["activity_id"], r["subzone_code"], r["from"]) for r in itbx["removed"]] == [
        ("52101", "RTH-2", ["X"])
    ]
    assert [(r["activity_id"], r["subzone_code"], r["to"]) for r in itbx["added"]] == [
        ("52101", "R-4", ["X"])
    ]

    intensity = rules["intensity"]
    [r3] = intensity["changed"]
    assert r3["subzone_code"] == "R-3"
    assert [row["kdb_max_pct"] for row in r3["from"]] == [60.0, None]
    assert [row["kdb_max_pct"] for row in r3["to"]] == [50.0, None]
    assert [(r["subzone_code"], r["to"][0]["kdb_max_pct"]) for r in intensity["added"]] == [
        ("R-4", 40.0)
    ]
    assert intensity["removed"] == []

    provisions = rules["provisions"]
    [lp2b] = provisions["changed"]
    assert (lp2b["provision"], lp2b["from"][0]["kdb_max_pct"], lp2b["to"][0]["kdb_max_pct"]) == (
        "LP2B",
        10.0,
        5.0,
    )
    assert [(r["provision"], r["klass"]) for r in provisions["removed"]] == [
        ("KRB", "Rawan Banjir Sedang")
    ]
    assert [r["provision"] for r in provisions["added"]] == ["KKOP"]
    assert rules["legend"] == {"added": [], "removed": [], "changed": []}


def test_raster_rules_and_rasters_are_compared(tmp_path):
    """A new flood map (deeper water) and a slope rule tightened in R-3 beside one dropped."""
    first = with_rasters(
        tmp_path,
        {"flood_depth": flood_columns(tmp_path / "f1.tif"), "dem": dem_plane(tmp_path / "dem.tif")},
        ["flood_depth,0.5,,,,,,,", "slope_pct,15,,,,,R-3,,", "slope_pct,20,,,,,K-1,,"],
    )
    second = with_rasters(
        tmp_path,
        {
            "flood_depth": flood_columns(tmp_path / "f2.tif", nodata_rows=3),
            "dem": dem_plane(tmp_path / "dem.tif"),
        },
        ["flood_depth,0.5,,,,,,,", "slope_pct,10,,,,,R-3,,"],
    )
    result = compare(first, second).to_dict()
    raster_rules = result["rules"]["raster_rules"]
    [tightened] = raster_rules["changed"]
    assert (tightened["raster"], tightened["subzone_code"]) == ("slope_pct", "R-3")
    assert (tightened["from"][0]["maximum"], tightened["to"][0]["maximum"]) == (15.0, 10.0)
    assert [(r["raster"], r["subzone_code"]) for r in raster_rules["removed"]] == [
        ("slope_pct", "K-1")
    ]
    rasters = result["rasters"]
    assert [r["kind"] for r in rasters["changed"]] == ["flood_depth"]
    [flood] = rasters["changed"]
    assert (flood["from"]["source"], flood["to"]["source"]) == ("f1.tif", "f2.tif")
    assert flood["from"]["sha256"] != flood["to"]["sha256"]
    assert rasters["added"] == rasters["removed"] == []
    assert compare(first, first).to_dict()["rasters"]["changed"] == []


def test_an_empty_version_on_either_side_is_all_added_or_all_removed():
    a = grid_plan()
    empty = dataclasses.replace(a, zones=a.zones.iloc[:0])
    gone = compare(a, empty)
    assert gone.changed_area_m2 == pytest.approx(90_000)
    assert {s["to_code"] for s in gone.summary} == {None}
    new = compare(empty, a)
    assert new.changed_area_m2 == pytest.approx(90_000)
    assert {s["from_code"] for s in new.summary} == {None}
