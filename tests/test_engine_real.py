"""The engine on the real Jagoi Babang plan (its zones and its LP2B overlay): every parcel's
areas and shares agree with PostGIS, in the zones and in the overlay, and one engine serves many
threads at once."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from gis.parse import prepare_parcel
from layers.model import PlanData, Region, RuleSet
from layers.store_postgis import PostgisStore
from layers.zoning import read_overlay, read_zoning
from permits.application import Application
from permits.batch import check_many
from permits.engine import Engine, plan_ref


@pytest.fixture(scope="module")
def jagoi(shared_data, postgis_url):
    """The plan stored in PostGIS (zones and the LP2B overlay in EPSG:32649) and its engine,
    built from the store."""
    folder = shared_data / "jagoibabang"
    zoning = read_zoning(folder / "KONSEPPOLARUANG_5.geojson")
    lp2b, _ = read_overlay(folder / "LP2B_4.geojson", "LP2B", crs_epsg=32649, klass_column="LP2B_1")
    store = PostgisStore(postgis_url, migrate=False)
    store.ensure_region(Region("6107", "Kabupaten Bengkayang", (108.7, 0.3, 110.3, 1.7)))
    plan = store.create_plan("6107", "RDTR Jagoi Babang", "uji")
    data = PlanData(zoning.zones, lp2b, RuleSet(), 32649)
    version = store.add_version(plan.id, data, "konsep")
    engine = Engine.from_store(store, version.id)
    parcels = gpd.read_file(shared_data / "jagoibabang" / "HAT_3.geojson")
    yield store, version, engine, parcels
    store.close()


def postgis_areas(
    store, version, parcels, layer: str = "zones", key: str = "zone_id"
) -> dict[int, dict[str, float]]:
    """ST_Area(ST_Intersection(...)) per parcel and zone (or overlay), computed by PostGIS
    alone."""
    with store.engine.begin() as conn:
        conn.execute(
            text("CREATE TEMP TABLE hat (id int, geom geometry(MultiPolygon, 4326)) ON COMMIT DROP")
        )
        rows = [
            {"id": i, "wkb": shapely.to_wkb(g, hex=True)} for i, g in enumerate(parcels.geometry)
        ]
        conn.execute(
            text(
                "INSERT INTO hat VALUES (:id, ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)))"
            ),
            rows,
        )
        result = conn.execute(
            text(
                f"SELECT h.id, z.{key}, ST_Area(ST_Intersection(t.geom, z.geom)) "
                f"FROM (SELECT id, ST_Transform(geom, 32649) AS geom FROM hat) t "
                f"JOIN hat h ON h.id = t.id "
                f'JOIN "{layer}_v{version.id}" z ON ST_Intersects(t.geom, z.geom)'
            )
        ).all()
    areas: dict[int, dict[str, float]] = defaultdict(dict)
    for parcel, zone, area in result:
        if area > 0:
            areas[parcel][zone] = areas[parcel].get(zone, 0.0) + area
    return areas


def assert_agrees(expected: dict[str, float], zones, lot: float) -> None:
    got = {z.zone_id: z.area_m2 for z in zones}
    for zone in expected.keys() | got.keys():
        a, b = expected.get(zone, 0.0), got.get(zone, 0.0)
        assert abs(a - b) <= 1e-6 * lot, (zone, a, b)
        assert abs(a / lot - (b / lot)) <= 1e-6
    assert sum(z.share for z in zones) == pytest.approx(sum(got.values()) / lot, rel=1e-12)


def test_every_parcel_agrees_with_postgis_single_and_bulk(jagoi):
    store, version, engine, parcels = jagoi
    expected = postgis_areas(store, version, parcels)
    assert len(expected) == 2_784  # every parcel touches the plan
    straddling = sum(len(v) > 1 for v in expected.values())
    assert straddling >= 1_000

    bulk = check_many(parcels, engine, activity="47111")
    for i, geom in enumerate(parcels.geometry):
        single = engine.check(Application(geom, "47111", crs=parcels.crs.to_string()))
        lot = single.parcel_area_m2
        assert_agrees(expected[i], single.zones, lot)
        # The notebook's batch and the service's single check: one decision, byte for byte.
        assert bulk["decision"].iloc[i].to_json_bytes() == single.to_json_bytes()
    # An analyst's rows without decisions: the same values, class by class.
    rows = check_many(parcels, engine, activity="47111", decisions=False)
    pd.testing.assert_frame_equal(rows, bulk.drop(columns="decision"), check_exact=True)


def test_every_parcel_overlaps_the_overlay_as_postgis_says(jagoi):
    """The LP2B areas a decision's provisions cite come from the zones' exact area kernel too:
    each parcel's area in each overlay polygon agrees with PostGIS, a parcel inside one polygon
    takes its own area, and a decision cites every square metre of it (as applied, or as a
    sliver under the tolerance) where no zone flag of LP2B merges with it."""
    store, version, engine, parcels = jagoi
    expected = postgis_areas(store, version, parcels, "overlays", "overlay_id")
    assert sum(len(v) > 0 for v in expected.values()) >= 100
    ids = store.load(version.id).overlays["overlay_id"].tolist()
    crs = parcels.crs.to_string()
    inside = cited_alone = 0
    for i, geom in enumerate(parcels.geometry):
        metric = prepare_parcel(geom, crs, 32649).geometry
        rows, areas = engine.plan.overlays.overlap(metric)
        got = {ids[r]: float(a) for r, a in zip(rows, areas, strict=True)}
        lot = metric.area
        for overlay in expected.get(i, {}).keys() | got.keys():
            a, b = expected.get(i, {}).get(overlay, 0.0), got.get(overlay, 0.0)
            assert abs(a - b) <= 1e-6 * lot, (i, overlay, a, b)
        inside += list(got.values()) == [lot]
        if got:
            decision = engine.check(Application(geom, "47111", crs=crs))
            cited = [
                f
                for f in decision.findings
                if f.rule.startswith("provision.LP2B")
                and "overlay LP2B" in f.details.get("source", "overlay LP2B")  # or a sliver
            ]
            assert cited, i
            if not any("zone flag" in f.details.get("source", "") for f in cited):
                measured = sum(f.measured for f in cited)
                assert measured == pytest.approx(sum(got.values()), rel=1e-12), i
                cited_alone += 1
    assert inside > 0 and cited_alone > 0


def test_one_engine_many_threads_same_decisions(jagoi):
    _store, _version, engine, parcels = jagoi
    apps = [Application(g, "47111") for g in parcels.geometry.iloc[:400]]
    expected = [engine.check(a).to_json() for a in apps]

    def run(offset: int) -> list[str]:
        """Each thread walks the parcels from its own offset, so threads meet the same zones'
        prepared geometries at the same time."""
        order = apps[offset:] + apps[:offset]
        got = [engine.check(a).to_json() for a in order]
        return got[-offset:] + got[:-offset] if offset else got

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, [0, 50, 100, 150, 200, 250, 300, 350]))
    assert all(r == expected for r in results)


def test_plan_ref_traces_the_stored_version(jagoi):
    store, version, engine, _ = jagoi
    assert engine.ref == plan_ref(store, version)
    assert engine.ref.content_hash == version.content_hash
