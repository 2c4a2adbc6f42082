"""The engine on the demo city as a planner's office runs it: stored, loaded, checked."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from layers.demo_loader import load_demo
from layers.store_postgis import PostgisStore
from permits import Application, Building, Engine, Outcome, check, check_many, findings_frame
from tests.geoms import lots_over


def test_demo_city_from_the_store_decides_every_kind_of_case(store):
    version = load_demo(store)
    engine = Engine.from_store(store, version.id)
    zones = store.zones(version.id)
    rng = np.random.default_rng(3)
    centres = shapely.point_on_surface(zones.geometry.values)
    lots = shapely.buffer(centres, rng.uniform(8, 30, len(centres)), cap_style="square")
    activities = rng.choice(["68111", "47111", "52101", "55110", "10101", "00000"], len(lots))
    parcels = gpd.GeoDataFrame(
        {"activity": activities, "footprint_m2": shapely.area(lots) * 0.5},
        geometry=lots,
        crs=zones.crs,
    ).to_crs(4326)

    results = check_many(parcels, engine)
    rows = check_many(parcels, engine, decisions=False)
    pd.testing.assert_frame_equal(rows, results.drop(columns="decision"), check_exact=True)
    outcomes = set(results["outcome"])
    assert {"approved_with_conditions", "rejected", "needs_review"} <= outcomes
    unknown = results[parcels["activity"] == "00000"]
    assert not unknown["outcome"].str.startswith("approved").any()  # never approved
    assert (unknown["review"].str.contains("activity.unknown")).all()
    long = findings_frame(results)
    assert {"location", "activity", "intensity.kdb"} <= set(long["rule"])
    assert (results["decision"].map(lambda d: d.plan.version_id) == version.id).all()

    one = parcels.iloc[0]
    single = check(
        Application(one.geometry, one.activity, Building(footprint_m2=one.footprint_m2)), engine
    )
    assert single.outcome is Outcome(results["outcome"].iloc[0])


def test_overlay_areas_agree_with_postgis_where_overlays_overlap(postgis_url):
    """The demo city's farmland, flood zones, setbacks and airport surfaces overlap one another:
    for lots all over the city, the area the engine gives each in each overlay polygon is what
    PostGIS's ST_Area(ST_Intersection(...)) says, alone and in a batch, lots inside one overlay
    included."""
    store = PostgisStore(postgis_url, migrate=False)
    try:
        version = load_demo(store)
        engine = Engine.from_store(store, version.id)
        zones = store.zones(version.id)
        lots, _ = lots_over(zones.total_bounds, 1_500, (10, 80))
        drawn = store.load(version.id).overlays  # an overlay id is unique within its kind
        ids = list(zip(drawn["kind"], drawn["overlay_id"], strict=True))
        with store.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT l.k, o.kind, o.overlay_id, ST_Area(ST_Intersection(l.g, o.geom)) FROM "
                    "unnest(:wkb) WITH ORDINALITY AS l0(w, k), "
                    "LATERAL (SELECT l0.k - 1 AS k, ST_GeomFromWKB(l0.w, 32650) AS g) l "
                    f'JOIN "overlays_v{version.id}" o ON ST_Intersects(l.g, o.geom)'
                ),
                {"wkb": [shapely.to_wkb(g) for g in lots]},
            ).all()
        expected: dict[int, dict[tuple[str, str], float]] = {}
        for k, kind, overlay, area in rows:
            if area > 0:
                expected.setdefault(int(k), {})[kind, overlay] = area
        assert sum(len(v) > 1 for v in expected.values()) >= 20  # lots in several overlays
        parcel_many, rows_many, areas_many = engine.plan.overlays.overlap_many(
            np.asarray(lots, dtype=object)
        )
        inside = 0
        for k, parcel in enumerate(lots):
            rows_one, areas_one = engine.plan.overlays.overlap(parcel)
            got = {ids[r]: float(a) for r, a in zip(rows_one, areas_one, strict=True)}
            for overlay in expected.get(k, {}).keys() | got.keys():
                a, b = expected.get(k, {}).get(overlay, 0.0), got.get(overlay, 0.0)
                assert abs(a - b) <= 1e-6 * parcel.area, (k, overlay, a, b)
            inside += parcel.area in got.values() and len(got) > 1
            mine = parcel_many == k
            assert rows_many[mine].tolist() == rows_one.tolist()
            assert areas_many[mine].tolist() == areas_one.tolist()  # to the bit
        assert inside > 0  # inside one overlay and measured against another
    finally:
        store.close()
