"""check_many on Dask: a local cluster of two worker processes decides every parcel as one
process does, bit for bit, with the engine sent to each worker once."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client, LocalCluster, get_task_stream
from shapely.geometry import Point, Polygon

import permits
from layers.demo_loader import read_demo
from layers.model import PlanData
from permits import distributed as dask_checks
from permits.decision import PlanRef
from permits.engine import Engine
from tests.plans import grid_plan

REF = PlanRef(1, "RDTR Kota Uji", "Perda No. 1", 7, "2024", "c" * 64, "r" * 64, 32650)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module", params=["demo city", "generated plan"])
def plan(request: pytest.FixtureRequest) -> tuple[Engine, gpd.GeoDataFrame]:
    """An engine and lots over its plan: the demo city, and the small generated grid (an LP2B
    overlay, a flood-flagged zone, lot-size and road-class limits)."""
    data = read_demo() if request.param == "demo city" else grid_plan(size=6)
    return Engine.build(data, REF), lots(data, 700 if request.param == "demo city" else 300)


def lots(data: PlanData, n: int, seed: int = 5) -> gpd.GeoDataFrame:
    """``n`` lots at random over the plan (some straddling zones, some outside it), figures and
    road classes in some rows, a bow-tie, an empty polygon and a point; in lon/lat, under a
    shuffled index of text keys."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = data.zones.total_bounds
    x, y = rng.uniform([x0 - 50, y0 - 50], [x1 + 50, y1 + 50], (n, 2)).T
    w, h = rng.uniform(5, 60, (2, n))
    geoms = [
        *shapely.box(x, y, x + w, y + h),
        Polygon([(x0 + 20, y0 + 20), (x0 + 40, y0 + 40), (x0 + 40, y0 + 20), (x0 + 20, y0 + 40)]),
        Polygon(),
        Point(x0 + 10, y0 + 10),
    ]
    size = len(geoms)
    return gpd.GeoDataFrame(
        {
            "activity": rng.choice(["68111", "47111", "52101", "55110", "00000"], size),
            "footprint_m2": np.where(rng.random(size) < 0.5, rng.uniform(10, 400, size), np.nan),
            "height_m": np.where(rng.random(size) < 0.3, rng.uniform(3, 20, size), np.nan),
            "road_class": rng.choice(np.array(["arteri", "lokal", None], dtype=object), size),
        },
        geometry=geoms,
        crs=data.crs_epsg,
        index=[f"P{k}" for k in rng.permutation(size)],
    ).to_crs(4326)


def test_an_engine_pickled_decides_as_the_one_it_came_from(plan):
    """What a worker receives: the same decisions, without the answers the sender kept."""
    engine, parcels = plan
    before = permits.check_many(parcels, engine)
    assert engine.plan._kept
    copy = pickle.loads(pickle.dumps(engine))
    assert not copy.plan._kept
    after = permits.check_many(parcels, copy)
    assert [d.to_json() for d in after["decision"]] == [d.to_json() for d in before["decision"]]


def test_two_worker_processes_decide_as_one_process_does(client, plan):
    engine, parcels = plan
    single = permits.check_many(parcels, engine)
    results = dask_checks.check_many(
        dask_checks.partitioned(parcels, rows=64, client=client), engine
    )

    tasks = [t for k, t in dict(results.__dask_graph__()).items() if "_checked" in str(k)]
    assert len(tasks) == results.npartitions > 2
    named = {k for task in tasks for k in task.dependencies if str(k).startswith("Engine-")}
    assert len(named) == 1  # every task names the one engine scattered, none carries one
    assert all(named <= task.dependencies for task in tasks)

    with get_task_stream(client) as stream:
        out = results.compute()
    assert len({t["worker"] for t in stream.data if "_checked" in str(t["key"])}) == 2

    assert isinstance(out, gpd.GeoDataFrame) and out.crs == parcels.crs
    assert list(out.index) == list(parcels.index)
    expected = single[list(dask_checks.RESULT_COLUMNS)]
    pd.testing.assert_frame_equal(out[list(dask_checks.RESULT_COLUMNS)], expected, check_exact=True)
    assert shapely.equals_identical(out.geometry.values, single.geometry.values).all()
    assert out["decision_json"].tolist() == [d.to_json() for d in single["decision"]]
    assert set(out["outcome"]) >= {"rejected", "needs_review", "not_assessable"}
    pd.testing.assert_frame_equal(
        dask_checks.findings_frame(out).drop(columns="details"),
        permits.findings_frame(single).drop(columns="details"),
        check_like=True,  # JSON sorts the keys
    )


def test_without_decisions_only_the_outcome_columns_come_back(client, plan):
    engine, parcels = plan
    out = dask_checks.check_many(
        dask_checks.partitioned(parcels.drop(columns="activity")),
        engine,
        activity="47111",
        decisions=False,
    ).compute()
    single = permits.check_many(parcels, engine, activity="47111")
    assert list(out.columns) == [*dask_checks.RESULT_COLUMNS, "geometry"]
    pd.testing.assert_frame_equal(
        out.drop(columns="geometry"),
        single[list(dask_checks.RESULT_COLUMNS)],
        check_index_type=False,  # Dask gives the frame's text index its string dtype
    )
