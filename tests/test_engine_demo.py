"""The engine on the demo city as a planner's office runs it: stored, loaded, checked."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from layers.demo_loader import load_demo
from permits import Application, Building, Engine, Outcome, check, check_many, findings_frame


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
