"""Decisions worked out by hand from the rule tables of tests/plans.py.

The grid plan (EPSG:32650, origin 530000 E, 15000 N): 100 m blocks, zone i at column i % 3, row
i // 3, cycling R-3, K-1, RTH-2. Zone 1 (R-3) carries the flag KRB_03 "Rawan Banjir Sedang" and an
LP2B overlay over its south-west 50 x 50 m. Limits: R-3 KDB 60 %, KLB 1.8, KDH 20 %, height 12 m,
GSB 10 m on an arterial road for lots under 200 m2; K-1 KDB 70 %, KLB 4.2, 6 floors; RTH-2 KDB
10 %. ITBX: house (68111) I in R-3, T3 in K-1, X in RTH-2; minimarket (47111) T1,B2 in R-3
(T1 = 20 % of the intensity), I in K-1, X in RTH-2; warehouse (52101) X in R-3.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from gis.crs import transformer
from gis.errors import GeometryError
from layers.model import CrosswalkEntry
from permits.application import Application, ApplicationError, Building
from permits.batch import check_many
from permits.decision import Decision, Effect, Outcome, PlanRef, Status
from permits.engine import Engine
from permits.records import DecisionStore
from tests.plans import grid_plan

X0, Y0 = 530_000.0, 15_000.0
UTM = "EPSG:32650"
REF = PlanRef(
    1, "RDTR Kota Uji", "Perda Kota Uji No. 1 Tahun 2024", 7, "2024", "c" * 64, "r" * 64, 32650
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.build(grid_plan(), REF)


def lot(x0: float, y0: float, x1: float, y1: float):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def check(engine: Engine, parcel, activity: str, **building) -> Decision:
    return engine.check(Application(parcel, activity, Building(**building), crs=UTM))


def finding(decision: Decision, rule: str, subzone: str | None = None):
    [found] = [
        f
        for f in decision.findings
        if f.rule == rule and (subzone is None or f.subzone_code == subzone)
    ]
    return found


def test_r3_lot_breaking_kdb_is_rejected_with_the_figure_and_limit(engine):
    decision = check(engine, lot(20, 120, 40, 140), "68111", footprint_m2=300.0)
    assert decision.outcome is Outcome.REJECTED
    kdb = finding(decision, "intensity.kdb")
    assert (kdb.status, kdb.measured, kdb.unit, kdb.limit) == (Status.FAIL, 75.0, "%", 60.0)
    assert kdb.subzone_code == "R-3" and "RDTR Kota Uji" in kdb.basis
    assert decision.parcel_area_m2 == pytest.approx(400.0)
    [piece] = decision.zones
    assert (piece.zone_id, piece.subzone_code, piece.share) == ("4", "R-3", pytest.approx(1.0))


def test_figures_not_given_are_conditions_not_passes(engine):
    decision = check(engine, lot(20, 120, 40, 140), "68111", footprint_m2=200.0)
    assert decision.outcome is Outcome.APPROVED_WITH_CONDITIONS
    klb = finding(decision, "intensity.klb")
    assert (klb.status, klb.effect, klb.limit) == (Status.NOT_ASSESSED, Effect.CONDITION, 1.8)
    assert finding(decision, "intensity.kdb").status is Status.PASS


def test_all_figures_within_limits_approve(engine):
    decision = check(
        engine,
        lot(20, 120, 40, 140),
        "68111",
        footprint_m2=200.0,
        floor_area_m2=400.0,
        green_area_m2=100.0,
        height_m=8.0,
        floors=2,
    )
    assert decision.outcome is Outcome.APPROVED, [f.message_en for f in decision.findings]
    assert finding(decision, "intensity.klb").measured == pytest.approx(1.0)
    assert finding(decision, "intensity.kdh").measured == pytest.approx(25.0)


def test_a_warehouse_in_a_housing_zone_is_rejected(engine):
    decision = check(engine, lot(20, 120, 40, 140), "52101")
    assert decision.outcome is Outcome.REJECTED
    itbx = finding(decision, "activity")
    assert (itbx.status, itbx.limit, itbx.measured) == (Status.FAIL, "X", "X")
    assert "Pergudangan" in itbx.message_en
    assert itbx.details["conditions"] == []


def test_t1_activity_gets_its_reduced_limits_and_conditions(engine):
    tight = check(engine, lot(20, 120, 40, 140), "47111", footprint_m2=60.0)
    kdb = finding(tight, "intensity.kdb")
    assert (kdb.measured, kdb.limit, kdb.status) == (15.0, pytest.approx(12.0), Status.FAIL)
    assert kdb.details["reduced_to_pct"] == 20.0
    assert tight.outcome is Outcome.REJECTED

    fits = check(engine, lot(20, 120, 40, 140), "47111", footprint_m2=40.0)
    assert fits.outcome is Outcome.APPROVED_WITH_CONDITIONS
    itbx = finding(fits, "activity")
    assert itbx.limit == "B" and [c["code"] for c in itbx.details["conditions"]] == ["B2", "T1"]
    assert itbx.details["conditions"][0]["text"] == "Bersyarat: parkir dan RTH"


def test_a_parcel_half_in_green_space_takes_the_strictest_piece(engine):
    decision = check(engine, lot(180, 20, 220, 40), "47111")
    assert decision.outcome is Outcome.REJECTED
    assert [(p.subzone_code, p.area_m2, p.share) for p in decision.zones] == [
        ("K-1", pytest.approx(400.0), pytest.approx(0.5)),
        ("RTH-2", pytest.approx(400.0), pytest.approx(0.5)),
    ]
    assert finding(decision, "activity", "K-1").status is Status.PASS
    assert finding(decision, "activity", "RTH-2").effect is Effect.REJECT


def test_the_plan_may_choose_the_dominant_piece():
    data = grid_plan()
    rules = dataclasses.replace(data.rules, settings={"split_policy": "dominant"})
    engine = Engine.build(dataclasses.replace(data, rules=rules), REF)
    # 600 m2 in K-1, 200 m2 in RTH-2: K-1 decides, and the figures meet K-1's limits
    decision = check(
        engine, lot(170, 20, 210, 40), "47111", footprint_m2=100.0, floor_area_m2=200.0, floors=2
    )
    assert decision.outcome is Outcome.APPROVED, [f.message_en for f in decision.findings]
    assert finding(decision, "activity", "RTH-2").effect is Effect.NONE


def test_overlay_cap_and_zone_flag_condition(engine):
    parcel = lot(30, 30, 70, 70)  # 1,600 m2 in zone 1; 400 m2 of it in the LP2B overlay
    decision = check(engine, parcel, "68111", footprint_m2=200.0)
    lp2b = finding(decision, "provision.LP2B")
    assert (lp2b.measured, lp2b.details["caps"]) == (
        pytest.approx(400.0),
        {"kdb_max_pct": 10.0, "klb_max": 0.2},
    )
    kdb = finding(decision, "intensity.kdb")
    assert (kdb.measured, kdb.limit, kdb.details["capped_by_provision"]) == (12.5, 10.0, True)
    krb = finding(decision, "provision.KRB")
    assert krb.effect is Effect.CONDITION and "panggung" in krb.message_id
    assert decision.outcome is Outcome.REJECTED


def test_an_overlay_met_only_along_an_edge_is_not_touched(engine):
    """The LP2B overlay ends at x = 50 m: a lot from there on shares its edge and is not in it;
    a lot reaching 2 cm over the edge is, by a sliver that is reported and does not decide."""
    beside = check(engine, lot(50, 10, 80, 40), "68111")
    assert not [f for f in beside.findings if f.rule.startswith("provision.LP2B")]
    over = check(engine, lot(49.98, 10, 80, 40), "68111")
    [sliver] = [f for f in over.findings if f.rule.startswith("provision.LP2B")]
    assert sliver.rule == "provision.LP2B.sliver" and sliver.effect is Effect.NONE
    assert sliver.measured == pytest.approx(0.6, rel=1e-9)
    frame = gpd.GeoDataFrame(
        {"activity": ["68111"] * 2}, geometry=[lot(50, 10, 80, 40), lot(49.98, 10, 80, 40)], crs=UTM
    )
    batch = check_many(frame, engine)["decision"]
    assert [d.to_json_bytes() for d in batch] == [beside.to_json_bytes(), over.to_json_bytes()]


def test_a_parcel_inside_one_overlay_is_still_measured_against_the_others():
    """Overlays of different provisions overlap: the lot over [30, 70] m lies wholly inside a
    river setback drawn over the whole block, and 400 m2 of it in the LP2B polygon as well."""
    data = grid_plan()
    setback = data.overlays.iloc[[0]].assign(kind="SEMPADAN", name="Sempadan sungai")
    setback = setback.set_geometry([MultiPolygon([lot(0, 0, 100, 100)])], crs=32650)
    overlays = gpd.GeoDataFrame(
        pd.concat([setback, data.overlays], ignore_index=True), crs=data.overlays.crs
    )
    engine = Engine.build(dataclasses.replace(data, overlays=overlays), REF)
    parcel = lot(30, 30, 70, 70)
    single = check(engine, parcel, "68111")
    assert finding(single, "provision.SEMPADAN").measured == parcel.area
    assert finding(single, "provision.LP2B").measured == pytest.approx(400.0, rel=1e-12)
    frame = gpd.GeoDataFrame({"activity": ["68111"]}, geometry=[parcel], crs=UTM)
    [batch] = check_many(frame, engine)["decision"]
    assert batch.to_json_bytes() == single.to_json_bytes()


def test_land_under_two_overlapping_polygons_of_one_provision_counts_once():
    """Two LP2B polygons overlap (the plan's own over [0, 50] m, another over [25, 75] m); a
    third only touches the second. The 1,600 m2 lot over [30, 70] m lies wholly in LP2B: 1,600
    m2 of it, not the 2,000 m2 the two polygons' pieces sum to."""
    data = grid_plan()
    first = data.overlays.iloc[0]
    more = gpd.GeoDataFrame(
        [
            {**first.to_dict(), "overlay_id": "2", "name": "Sawah timur", "geometry": g}
            for g in (lot(25, 25, 75, 75), lot(75, 25, 95, 75))
        ],
        geometry="geometry",
        crs=data.overlays.crs,
    )
    overlays = gpd.GeoDataFrame(
        pd.concat([data.overlays, more], ignore_index=True), crs=data.overlays.crs
    )
    engine = Engine.build(dataclasses.replace(data, overlays=overlays), REF)
    lp2b = finding(check(engine, lot(30, 30, 70, 70), "68111"), "provision.LP2B")
    assert lp2b.measured == pytest.approx(1_600.0, rel=1e-12)
    assert list(engine.plan.overlays.name) == ["Sawah lestari; Sawah timur", "Sawah timur"]
    frame = gpd.GeoDataFrame({"activity": ["68111"]}, geometry=[lot(30, 30, 70, 70)], crs=UTM)
    [batch] = check_many(frame, engine)["decision"]
    assert finding(batch, "provision.LP2B").measured == lp2b.measured


def test_a_provision_flagged_and_overlaid_is_counted_once():
    data = grid_plan()
    krb = data.overlays.iloc[[0]].assign(kind="KRB", klass="Rawan Banjir Sedang")
    krb = krb.set_geometry([MultiPolygon([box(X0, Y0, X0 + 100, Y0 + 100)])], crs=32650)
    engine = Engine.build(dataclasses.replace(data, overlays=krb), REF)
    decision = check(engine, lot(20, 20, 40, 40), "68111")  # zone 1: flagged and overlaid
    krb_found = finding(decision, "provision.KRB")
    assert krb_found.measured == pytest.approx(400.0)
    assert "zone flag KRB_03" in krb_found.details["source"]
    assert "overlay KRB" in krb_found.details["source"]


def test_setback_measured_from_the_frontage(engine):
    parcel = lot(0, 150, 10, 165)  # 150 m2 R-3 lot: the arterial-road row sets GSB 10 m
    road = LineString([(X0, Y0 + 150), (X0 + 10, Y0 + 150)])
    house = lot(2, 155, 8, 163)  # 5 m behind the road edge
    app = Application(
        parcel, "68111", Building(footprint=house), crs=UTM, road_class="arteri", frontage=road
    )
    decision = engine.check(app)
    gsb = finding(decision, "footprint.gsb")
    assert (gsb.status, gsb.measured, gsb.limit) == (Status.FAIL, pytest.approx(5.0), 10.0)
    assert finding(decision, "footprint.inside").status is Status.PASS
    assert finding(decision, "intensity.kdb").measured == pytest.approx(100 * 48 / 150)


def test_t3_without_a_record_of_decisions_is_a_condition(engine):
    decision = check(engine, lot(120, 20, 140, 40), "68111")
    t3 = finding(decision, "distance.same_activity")
    assert (t3.status, t3.effect, t3.limit) == (Status.NOT_ASSESSED, Effect.CONDITION, 100.0)


def test_a_kbli_of_several_kegiatan_forbidden_for_some_needs_review(engine):
    """KBLI 68120 covers the house (68111) and the warehouse (52101). R-3 permits the house and
    forbids the warehouse: which is meant needs review, both answers listed, not a rejection.
    K-1 permits both (T3, B1): the strictest with its conditions. RTH-2 forbids both: rejected."""
    data = grid_plan()
    crosswalk = (
        *data.rules.crosswalk,
        CrosswalkEntry("68120", "68111"),
        CrosswalkEntry("68120", "52101"),
    )
    data = dataclasses.replace(data, rules=dataclasses.replace(data.rules, crosswalk=crosswalk))
    engine = Engine.build(data, REF)

    r3 = check(engine, lot(20, 120, 40, 140), "68120")
    itbx = finding(r3, "activity")
    assert (r3.outcome, itbx.status, itbx.effect) == (
        Outcome.NEEDS_REVIEW,
        Status.NOT_ASSESSED,
        Effect.REVIEW,
    )
    assert itbx.message_en == (
        "The activity covers kegiatan the ITBX matrix treats differently in sub-zone R-3: "
        "Rumah tinggal permitted (I); Pergudangan not permitted (X). Which is meant needs review "
        "(name the kegiatan for a decision)."
    )
    assert itbx.details["classes"] == ["I", "X"] and itbx.limit is None

    k1 = finding(check(engine, lot(120, 120, 140, 140), "68120"), "activity")
    assert (k1.status, k1.effect, k1.limit) == (Status.PASS, Effect.CONDITION, "B")
    assert [c["code"] for c in k1.details["conditions"]] == ["B1", "T3"]
    assert k1.details["kegiatan"] == [
        {"activity_id": "68111", "name": "Rumah tinggal", "cell": "T3"},
        {"activity_id": "52101", "name": "Pergudangan", "cell": "B1"},
    ]
    assert check(engine, lot(220, 120, 240, 140), "68120").outcome is Outcome.REJECTED
    named = check(engine, lot(20, 120, 40, 140), "Rumah tinggal")  # the kegiatan named decides
    assert finding(named, "activity").status is Status.PASS


def test_unknown_activity_needs_review_never_approval(engine):
    decision = check(engine, lot(20, 120, 40, 140), "99999")
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert finding(decision, "activity.unknown").status is Status.NOT_ASSESSED


def test_outside_the_plan_is_not_assessable(engine):
    decision = check(engine, box(600_000, 50_000, 600_020, 50_020), "68111")
    assert decision.outcome is Outcome.NOT_ASSESSABLE
    assert decision.zones == ()


def test_partly_outside_the_plan_needs_review(engine):
    decision = check(engine, lot(-10, 20, 10, 40), "68111")
    assert decision.outcome is Outcome.NEEDS_REVIEW
    coverage = finding(decision, "location.coverage")
    assert coverage.measured == pytest.approx(200.0)


def test_a_parcel_barely_reaching_into_the_plan_needs_review(engine):
    decision = check(engine, lot(-200, 20, 0.5, 40), "68111")  # 10 m2 of 4,010 m2 inside
    assert decision.outcome is Outcome.NEEDS_REVIEW
    coverage = finding(decision, "location.coverage")
    assert coverage.measured == pytest.approx(10.0)
    assert [p.deciding for p in decision.zones] == [False]


def test_swapped_lon_lat_is_not_assessable_saying_why(engine):
    to_lonlat = transformer(32650, 4326)
    parcel = shapely.transform(lot(20, 120, 40, 140), lambda xy: xy)
    lon, lat = to_lonlat.transform(*parcel.exterior.xy)
    swapped = shapely.Polygon(list(zip(lat, lon, strict=True)))
    decision = engine.check(Application(swapped, "68111"))
    assert decision.outcome is Outcome.NOT_ASSESSABLE
    assert "latitude, longitude" in decision.findings[0].message_en


def test_the_same_input_gives_the_same_bytes(engine):
    one = check(engine, lot(180, 20, 220, 40), "47111", footprint_m2=100.0).to_json()
    two = check(engine, lot(180, 20, 220, 40), "47111", footprint_m2=100.0).to_json()
    assert one == two
    assert '"plan":{"content_hash":"' + "c" * 64 in one


def test_a_self_intersecting_parcel_is_repaired_or_refused_as_the_plan_says(engine):
    bowtie = Polygon(
        [(X0 + 20, Y0 + 120), (X0 + 40, Y0 + 140), (X0 + 40, Y0 + 120), (X0 + 20, Y0 + 140)]
    )
    decision = engine.check(Application(bowtie, "68111", crs=UTM))
    repair = finding(decision, "geometry")
    assert "self-intersection at (530030, 15130)" in repair.message_en
    assert repair.status is Status.INFO
    assert decision.parcel_area_m2 == pytest.approx(200.0)

    data = grid_plan()
    strict = dataclasses.replace(
        data, rules=dataclasses.replace(data.rules, settings={"invalid_parcels": "refuse"})
    )
    refusing = Engine.build(strict, REF)
    with pytest.raises(GeometryError, match=r"self-intersection at .*refuses parcels that need"):
        refusing.check(Application(bowtie, "68111", crs=UTM))
    parcels = gpd.GeoDataFrame(
        {"activity": ["68111", "68111"]}, geometry=[bowtie, lot(20, 120, 40, 140)], crs=UTM
    )
    batch = check_many(parcels, refusing)
    assert list(batch["outcome"]) == [
        "not_assessable",
        check(engine, lot(20, 120, 40, 140), "68111").outcome.value,
    ]
    refused = batch["decision"].iloc[0].findings[0]
    assert "self-intersection at (530030, 15130)" in refused.message_en
    assert "refuses parcels" in refused.message_en
    repaired = check_many(parcels, engine)["decision"].iloc[0]
    assert finding(repaired, "geometry").message_en == repair.message_en  # worded as one check
    flat = Polygon([(X0 + 20, Y0 + 120), (X0 + 40, Y0 + 120), (X0 + 30, Y0 + 120)])
    with pytest.raises(GeometryError, match="has no area") as single:
        engine.check(Application(flat, "68111", crs=UTM))
    nothing = check_many(
        gpd.GeoDataFrame({"activity": ["68111"]}, geometry=[flat], crs=UTM), engine
    )
    assert nothing["outcome"].iloc[0] == "not_assessable"
    assert str(single.value) in nothing["decision"].iloc[0].findings[0].message_en


@pytest.mark.parametrize(
    ("building", "field"),
    [
        (Building(footprint_m2=-5.0), "building.footprint_m2"),
        (Building(footprint_m2=200.0, floor_area_m2=100.0), "building.floor_area_m2"),
        (Building(height_m=6.0, floors=4), "building.height_m"),
    ],
)
def test_figures_that_cannot_be_right_are_named(engine, building, field):
    with pytest.raises(ApplicationError) as caught:
        engine.check(Application(lot(20, 120, 40, 140), "68111", building, crs=UTM))
    assert caught.value.field == field


def test_t3_measures_against_approved_decisions_in_the_store(store):
    """The house (68111) is T3 in K-1: at least 100 m from another approved house."""
    engine = Engine.build(grid_plan(), REF)
    records = DecisionStore.of(store)
    figures = Building(footprint_m2=100.0, floor_area_m2=200.0, floors=2)

    def apply(parcel, application_id):
        app = Application(parcel, "68111", figures, crs=UTM, application_id=application_id)
        return engine.check(app, neighbours=records)

    first_lot = lot(120, 20, 140, 40)
    first = apply(first_lot, "A-1")
    assert finding(first, "distance.same_activity").status is Status.PASS
    records.record(
        first, parcel=first_lot, crs_epsg=32650, activity="68111", activity_ids=["68111"]
    )

    near = apply(lot(160, 20, 180, 40), "A-2")
    t3 = finding(near, "distance.same_activity")
    assert (t3.status, t3.measured, t3.limit) == (Status.FAIL, pytest.approx(20.0), 100.0)
    assert near.outcome is Outcome.REJECTED

    far = apply(lot(150, 250, 170, 270), "A-3")
    assert finding(far, "distance.same_activity").status is Status.PASS
    again = apply(first_lot, "A-1")  # the applicant's own record does not count against it
    assert finding(again, "distance.same_activity").status is Status.PASS
