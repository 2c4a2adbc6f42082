"""Plan quality checks on constructed zones with known areas, and on Jagoi Babang's plan."""

import dataclasses
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, box

from gis.crs import reproject
from gis.errors import CRSError
from layers.model import IntensityRule, ItbxCell, RuleSet
from layers.quality import check_provisions_coverage, check_rules_coverage, check_zones
from layers.report import Severity
from layers.zoning import read_zoning
from permits.application import Application
from permits.engine import Engine
from tests.geoms import (
    EPSG,
    HOLE,
    SLIVER,
    THIN_STRIP,
    ZONE_EAST,
    ZONE_WEST,
    ZONE_WITH_HOLE,
    rect,
    zones_frame,
)
from tests.plans import ORIGIN, grid_plan
from tests.test_engine_batch import REF

X0, Y0 = ORIGIN


def lonlat(geom):
    return reproject(np.array([geom]), EPSG, 4326)[0]


def codes_of(issues):
    return sorted(issue.code for issue in issues)


def test_clean_neighbours_give_no_issues():
    zones = zones_frame([ZONE_WEST, ZONE_EAST], ["R-3", "K-1"])
    assert check_zones(zones, source="plan.shp") == []


def test_overlap_of_different_subzones_is_an_error_with_area_and_location():
    overlapping = rect(90, 20, 200, 100)  # 10 m x 80 m over ZONE_WEST: 800 m2
    zones = zones_frame([ZONE_WEST, overlapping], ["R-3", "K-1"], ids=["5", "9"])
    [issue] = check_zones(zones, source="plan.shp")
    assert issue.severity is Severity.ERROR
    assert issue.code == "overlap"
    assert issue.feature == "OBJECTID 5, OBJECTID 9"
    assert issue.area_m2 == pytest.approx(800)
    assert lonlat(rect(90, 20, 100, 100)).contains(shapely.Point(issue.location))
    assert "R-3" in issue.message and "K-1" in issue.message


def test_overlap_of_the_same_subzone_is_a_duplicate_warning():
    zones = zones_frame([ZONE_WEST, ZONE_WEST, ZONE_EAST], ["R-3", "R-3", "R-3"])
    [issue] = check_zones(zones, source="plan.shp")
    assert (issue.severity, issue.code) == (Severity.WARNING, "duplicate-zone")
    assert issue.feature == "OBJECTID 1, OBJECTID 2"
    assert issue.area_m2 == pytest.approx(10_000)


def test_overlap_under_the_tolerance_is_not_reported():
    nudged = rect(99.999, 0, 200, 100)  # 0.001 m x 100 m: 0.1 m2
    zones = zones_frame([ZONE_WEST, nudged], ["R-3", "K-1"])
    assert check_zones(zones, source="plan.shp", overlap_tolerance_m2=0.2) == []
    [issue] = check_zones(zones, source="plan.shp")
    assert issue.area_m2 == pytest.approx(0.1, rel=1e-3)


def test_hole_inside_the_plan_is_a_gap():
    zones = zones_frame([ZONE_WEST, ZONE_WITH_HOLE], ["R-3", "K-1"])
    [gap] = check_zones(zones, source="plan.shp")
    assert (gap.severity, gap.code) == (Severity.WARNING, "gap")
    assert gap.area_m2 == pytest.approx(100)
    assert lonlat(HOLE).contains(shapely.Point(gap.location))


def test_gap_between_zones_is_found_and_small_gaps_summarised():
    ring = [rect(0, 0, 30, 10), rect(0, 20, 30, 30), rect(0, 10, 10, 20), rect(20, 10, 30, 20)]
    pinhole = [rect(100, 0, 110, 10.5), rect(100, 10.5, 109.5, 11), rect(110, 0, 120, 11)]
    pinhole.append(rect(100, 11, 120, 20))  # leaves a 0.5 m x 0.5 m pinhole: 0.25 m2
    zones = zones_frame(ring + pinhole, ["R-3"] * 8)
    issues = check_zones(zones, source="plan.shp")
    [gap] = [i for i in issues if i.code == "gap"]
    assert gap.area_m2 == pytest.approx(100)
    [small] = [i for i in issues if i.code == "gap-small"]
    assert small.severity is Severity.INFO
    assert small.area_m2 == pytest.approx(0.25)
    assert small.message.startswith("1 gaps under 1 m2")


def test_small_and_thin_parts_are_slivers():
    zones = zones_frame([ZONE_WEST, SLIVER, rect(300, 0, 300.5, 100)], ["R-3", "R-3", "K-1"])
    slivers = [i for i in check_zones(zones, source="plan.shp") if i.code == "sliver"]
    assert [(s.feature, round(s.area_m2, 3)) for s in slivers] == [
        ("OBJECTID 2", 0.5),
        ("OBJECTID 3", 50.0),
    ]
    assert "mean width 0.50 m" in slivers[1].message
    none = check_zones(zones, source="plan.shp", sliver_area_m2=0.1, sliver_width_m=0.05)
    assert [i for i in none if i.code == "sliver"] == []


def test_sliver_part_of_a_multipolygon_names_its_zone():
    zone = shapely.MultiPolygon([rect(0, 0, 100, 100), rect(100, 0, 100.5, 100)])
    zones = zones_frame([zone, ZONE_EAST], ["R-3", "K-1"], ids=["424", "425"])
    zones.loc[1, "geometry"] = rect(100.5, 0, 200, 100)
    [sliver] = check_zones(zones, source="plan.shp")
    assert (sliver.code, sliver.feature) == ("sliver", "OBJECTID 424")
    assert sliver.area_m2 == pytest.approx(50)


def test_code_conflicts_name_the_odd_features():
    squares = [rect(20 * i, 0, 20 * i + 10, 10) for i in range(5)]
    zones = zones_frame(
        squares,
        ["SPU-3", "SPU-3", "SPU-4", "SPU-4", "SPU-4"],
        names=[
            "SPU Skala Kelurahan",
            "SPU Skala Kelurahan",
            "SPU Skala RW",
            "SPU RW",
            "SPU Skala RW",
        ],
        nums=["32104300", "32104300", "32104400", "32104400", "32104300"],
    )
    issues = {i.code: i for i in check_zones(zones, source="plan.shp")}
    assert sorted(issues) == ["num-code-conflict", "subzone-name-conflict", "subzone-num-conflict"]
    assert issues["subzone-name-conflict"].feature == "OBJECTID 4"
    assert issues["subzone-num-conflict"].feature == "OBJECTID 5"
    assert issues["num-code-conflict"].feature == "OBJECTID 5"
    assert issues["subzone-num-conflict"].message == (
        "sub-zone SPU-4 has 2 numeric codes: 32104400 (2 zones), 32104300 (1 zone)"
    )
    assert issues["num-code-conflict"].details["values"] == {
        "SPU-3": ["OBJECTID 1", "OBJECTID 2"],
        "SPU-4": ["OBJECTID 5"],
    }
    assert lonlat(squares[4]).contains(shapely.Point(issues["num-code-conflict"].location))


def test_names_differing_only_in_case_and_spaces_agree():
    zones = zones_frame(
        [ZONE_WEST, ZONE_EAST], ["R-3", "R-3"], names=["Perumahan  Sedang", "perumahan sedang "]
    )
    assert check_zones(zones, source="plan.shp") == []


def test_zone_without_code_is_warned_about():
    zones = zones_frame([ZONE_WEST, ZONE_EAST], ["R-3", None])
    [issue] = check_zones(zones, source="plan.shp")
    assert (issue.code, issue.feature, issue.area_m2) == ("missing-code", "OBJECTID 2", 10_000)


def test_check_zones_refuses_degrees():
    zones = zones_frame([ZONE_WEST], ["R-3"]).to_crs(4326)
    with pytest.raises(CRSError, match="metric CRS"):
        check_zones(zones, source="plan.shp")


def test_rules_coverage():
    zones = zones_frame([ZONE_WEST, ZONE_EAST, THIN_STRIP], ["R-3", "K-1", "SPU-2"])
    rules = RuleSet(
        subzones={"C-1": "Campuran Intensitas Tinggi"},
        cells=(ItbxCell("a1", "R-3", ("I",), "I"),),
        intensity=(IntensityRule("R-3", kdb_max_pct=60), IntensityRule("K-1", kdb_max_pct=70)),
    )
    issues = check_rules_coverage(zones, rules, source="rules.xlsx")
    missing = {i.details["subzone_code"]: i for i in issues if i.code == "rules-missing"}
    assert sorted(missing) == ["K-1", "SPU-2"]
    assert missing["K-1"].details["missing"] == ["ITBX"]
    assert missing["SPU-2"].details["missing"] == ["ITBX", "intensity"]
    assert missing["SPU-2"].area_m2 == pytest.approx(50)
    assert all(i.severity is Severity.WARNING for i in missing.values())
    [unused] = [i for i in issues if i.code == "rules-unused"]
    assert (unused.severity, unused.details["subzone_codes"]) == (Severity.INFO, ["C-1"])


def test_provisions_on_the_map_without_a_rule_are_warned_of_and_need_review_in_a_check():
    """The test plan has rules for LP2B and for KRB "Rawan Banjir Sedang". On its map: that
    KRB flag on zone 1, its LP2B polygon, a TOD flag on zone 2, a KRB "Rawan Banjir Tinggi"
    polygon and a KKOP polygon with its ceiling. Only TOD and the other KRB class lack a rule:
    a warning each, with its area, and a check of a parcel in either has a finding that needs
    review for it."""
    data = grid_plan(size=4)
    zones = data.zones.copy()
    zones.loc[1, "flags"] = json.dumps({"TOD_04": "Kawasan TOD"})
    high = box(X0 + 200, Y0, X0 + 260, Y0 + 40)
    kkop = box(X0, Y0 + 300, X0 + 400, Y0 + 400)
    overlays = pd.concat(
        [
            data.overlays,
            gpd.GeoDataFrame(
                {
                    "overlay_id": ["2", "3"],
                    "kind": ["KRB", "KKOP"],
                    "name": [None, "Permukaan horizontal dalam"],
                    "klass": ["Rawan Banjir Tinggi", None],
                    "ceiling_m": [float("nan"), 45.0],
                    "attrs": ["{}", "{}"],
                },
                geometry=[MultiPolygon([high]), MultiPolygon([kkop])],
                crs=data.overlays.crs,
            ),
        ],
        ignore_index=True,
    )
    issues = check_provisions_coverage(zones, overlays, data.rules, source="provisions.csv")
    assert [(i.details["kind"], i.details["klass"]) for i in issues] == [
        ("KRB", "Rawan Banjir Tinggi"),
        ("TOD", "Kawasan TOD"),
    ]
    krb, tod = issues
    assert krb.severity is Severity.WARNING and krb.source == "provisions.csv"
    assert krb.area_m2 == pytest.approx(2_400.0) and "1 overlay polygon(s)" in krb.message
    assert tod.area_m2 == pytest.approx(10_000.0) and "1 zone(s) flagged" in tod.message

    engine = Engine.build(dataclasses.replace(data, zones=zones, overlays=overlays), REF)
    for parcel, kind in (
        (box(X0 + 210, Y0 + 10, X0 + 230, Y0 + 30), "KRB"),
        (box(X0 + 110, Y0 + 10, X0 + 130, Y0 + 30), "TOD"),
    ):
        decision = engine.check(Application(parcel, "68111", crs="EPSG:32650"))
        [finding] = [f for f in decision.findings if f.rule == f"provision.{kind}"]
        assert (finding.status.value, finding.effect.value) == ("not_assessed", "review")
    inside_rules = engine.check(
        Application(box(X0 + 10, Y0 + 60, X0 + 30, Y0 + 80), "68111", crs="EPSG:32650")
    )
    assert all(
        f.effect.value != "review" for f in inside_rules.findings if f.rule.startswith("provision")
    )


def test_a_provision_whose_rules_are_limited_to_a_block_is_warned_of_where_they_stop():
    """KRB "Rawan Banjir Sedang" with its one rule limited to block I.A.1: flagged on zone 1
    (I.A.1) and zone 5 (I.A.2), and drawn as a polygon over both blocks. Zone 5 (10,000 m2)
    and the polygon's 100 m x 50 m over I.A.2 are uncovered: one warning, 15,000 m2, and a
    check there needs review, while one in I.A.1 meets the rule."""
    data = grid_plan(size=4)
    krb = next(r for r in data.rules.provisions if r.provision == "KRB")
    rules = dataclasses.replace(
        data.rules,
        provisions=tuple(
            dataclasses.replace(r, block="I.A.1") if r is krb else r for r in data.rules.provisions
        ),
    )
    zones = data.zones.copy()
    zones.loc[4, "flags"] = json.dumps({"KRB_03": "Rawan Banjir Sedang"})
    drawn = box(X0 + 150, Y0 + 50, X0 + 250, Y0 + 150)
    overlays = pd.concat(
        [
            data.overlays,
            gpd.GeoDataFrame(
                {
                    "overlay_id": ["2"],
                    "kind": ["KRB"],
                    "name": [None],
                    "klass": ["Rawan Banjir Sedang"],
                    "ceiling_m": [float("nan")],
                    "attrs": ["{}"],
                },
                geometry=[MultiPolygon([drawn])],
                crs=data.overlays.crs,
            ),
        ],
        ignore_index=True,
    )
    [issue] = check_provisions_coverage(zones, overlays, rules, source="provisions.csv")
    assert issue.details == {"kind": "KRB", "klass": "Rawan Banjir Sedang", "blocks": ["I.A.2"]}
    assert "1 zone(s) flagged and 1 overlay polygon(s) in block(s) I.A.2" in issue.message
    assert issue.area_m2 == pytest.approx(15_000.0)

    engine = Engine.build(
        dataclasses.replace(data, zones=zones, overlays=overlays, rules=rules), REF
    )

    def krb_effect(x: float, y: float) -> str:
        parcel = box(X0 + x, Y0 + y, X0 + x + 20, Y0 + y + 20)
        decision = engine.check(Application(parcel, "68111", crs="EPSG:32650"))
        [finding] = [f for f in decision.findings if f.rule == "provision.KRB"]
        return finding.effect.value

    assert krb_effect(10, 110) == "review"  # zone 5, flagged, block I.A.2
    assert krb_effect(160, 110) == "review"  # the polygon over block I.A.2
    assert krb_effect(10, 60) == "condition"  # zone 1, block I.A.1: the rule applies
    assert krb_effect(160, 60) == "condition"  # the polygon over block I.A.1


def test_jagoi_babang_quality(shared_data):
    layer = read_zoning(shared_data / "jagoibabang" / "KONSEPPOLARUANG_5.geojson")
    issues = check_zones(layer.zones, source=layer.source, id_column=layer.id_column)
    by_code = {}
    for issue in issues:
        by_code.setdefault(issue.code, []).append(issue)
    [num] = by_code["subzone-num-conflict"]
    assert num.details["values"]["32104300"] == [num.feature]
    spu4 = layer.zones.loc[layer.zones["zone_id"] == num.feature.split()[1]]
    assert spu4["subzone_code"].item() == "SPU-4"
    assert spu4["subzone_num"].item() == "32104300"
    [code] = by_code["num-code-conflict"]
    assert code.feature == num.feature
    assert "overlap" not in by_code and "gap" not in by_code
    assert not any(i.severity is Severity.ERROR for i in issues)
