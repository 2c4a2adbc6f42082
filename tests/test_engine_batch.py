"""check_many as a batch: chunks, the paused collector and what the plan keeps do not change a
single decision."""

from __future__ import annotations

import dataclasses
import gc
import math
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import GeometryCollection, MultiPolygon, Point, Polygon, box

import permits.rows
from gis.errors import GeometryError
from permits.application import Application, ApplicationError, Building
from permits.batch import check_many
from permits.decision import PlanRef
from permits.engine import Engine
from permits.rows import RESULT_COLUMNS
from tests.plans import ORIGIN, grid_plan

X0, Y0 = ORIGIN
REF = PlanRef(1, "RDTR Kota Uji", "Perda No. 1", 7, "2024", "c" * 64, "r" * 64, 32650)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.build(grid_plan(size=4), REF)


@pytest.fixture(scope="module")
def parcels() -> gpd.GeoDataFrame:
    """Lots of every kind over the 4 x 4 grid (flags, the LP2B overlay, straddling, outside,
    self-intersecting, empty, not polygonal), with figures, road classes and ids in some rows."""
    rng = np.random.default_rng(11)
    x, y = rng.uniform(-30, 420, (2, 60))
    lots = [
        box(X0 + a, Y0 + b, X0 + a + w, Y0 + b + h)
        for a, b, w, h in zip(x, y, rng.uniform(5, 60, 60), rng.uniform(5, 60, 60), strict=True)
    ]
    lots += [
        Polygon(
            [(X0 + 20, Y0 + 120), (X0 + 40, Y0 + 140), (X0 + 40, Y0 + 120), (X0 + 20, Y0 + 140)]
        ),
        Polygon(),
        Point(X0 + 10, Y0 + 10),
        box(X0 + 900, Y0 + 900, X0 + 920, Y0 + 920),
    ]
    n = len(lots)
    return gpd.GeoDataFrame(
        {
            "activity": rng.choice(["68111", "47111", "52101", "00000"], n),
            "footprint_m2": np.where(rng.random(n) < 0.5, rng.uniform(10, 400, n), np.nan),
            "height_m": np.where(rng.random(n) < 0.3, rng.uniform(3, 20, n), np.nan),
            "road_class": rng.choice(np.array(["arteri", "lokal", None], dtype=object), n),
            "application_id": [f"A{i}" if i % 3 else None for i in range(n)],
        },
        geometry=lots,
        crs=32650,
    ).to_crs(4326)


def decisions(results: gpd.GeoDataFrame) -> list[bytes]:
    return [d.to_json_bytes() for d in results["decision"]]


def test_chunks_do_not_change_a_decision(engine, parcels, monkeypatch):
    whole = check_many(parcels, engine)
    monkeypatch.setattr(permits.batch, "CHUNK", 7)
    chunked = check_many(parcels, engine)
    assert decisions(chunked) == decisions(whole)
    one_by_one = [check_many(parcels.iloc[[i]], engine)["decision"].iloc[0] for i in range(5)]
    assert [d.to_json_bytes() for d in one_by_one] == decisions(whole)[:5]
    assert set(whole["outcome"]) >= {"rejected", "needs_review", "not_assessable"}


def test_a_batch_gives_each_parcel_the_single_checks_decision(engine, parcels):
    """Figures, road classes, ids, the LP2B overlay, straddling lots, a self-intersecting lot
    (repaired, and then measured by the kernel without asking GEOS again whether it is
    valid): for every parcel a single check can take, the batch's decision is the single
    check's, byte for byte (what an analyst computes in a notebook is what the permit desk is
    told)."""
    results = check_many(parcels, engine)
    compared = overlaid = repaired = 0
    for (_, row), batch in zip(parcels.iterrows(), results.decision, strict=True):
        geometry = row.geometry
        if not isinstance(geometry, Polygon) or geometry.is_empty:
            continue
        repaired += not geometry.is_valid
        figures = {
            name: float(row[name]) for name in ("footprint_m2", "height_m") if pd.notna(row[name])
        }
        single = engine.check(
            Application(
                geometry,
                row.activity,
                Building(**figures),
                crs=parcels.crs.to_string(),
                road_class=None if pd.isna(row.road_class) else row.road_class,
                application_id=None if pd.isna(row.application_id) else row.application_id,
            )
        )
        assert batch.to_json_bytes() == single.to_json_bytes()
        compared += 1
        overlaid += any(f.rule.startswith("provision.") for f in single.findings)
    assert compared >= 55 and overlaid >= 3 and repaired == 1
    assert len({d.outcome for d in results.decision}) >= 4
    assert results["conditions"].tolist() == [len(d.conditions) for d in results.decision]
    assert results["conditions"].max() >= 2


def test_a_result_row_carries_the_limits_that_bind_and_the_provisions_met(engine):
    """The limits from the test plan's intensity table by hand: a lot across R-3 (KDB 60 %,
    KLB 1.8, KDH 20 %, 12 m) and K-1 (KDB 70 %, KLB 4.2, 6 floors) is bound by the stricter of
    each and by every limit either sets; inside the LP2B overlay its cap (KDB 10 %, KLB 0.2)
    binds; a 100 m2 lot falls in R-3's lot-size class under 200 m2 with its 10 m GSB."""
    across = box(X0 + 60, Y0 + 60, X0 + 140, Y0 + 80)
    farmland = box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30)
    small = box(X0 + 10, Y0 + 60, X0 + 20, Y0 + 70)
    outside = box(X0 - 900, Y0, X0 - 880, Y0 + 20)
    lots = gpd.GeoDataFrame(
        {"activity": "68111"},
        index=range(4),
        geometry=[across, farmland, small, outside],
        crs=32650,
    )
    results = check_many(lots, engine)
    limits = list(permits.rows.LIMIT_COLUMNS)
    nan = float("nan")
    expected = pd.DataFrame(
        [
            [60.0, 1.8, 20.0, nan, 12.0, 6.0, nan, nan],
            [10.0, 0.2, 20.0, nan, 12.0, nan, nan, nan],
            [60.0, 1.8, 20.0, nan, 12.0, nan, nan, 10.0],
            [nan] * 8,
        ],
        columns=limits,
    )
    pd.testing.assert_frame_equal(results[limits].reset_index(drop=True), expected)
    assert results["provisions"].tolist() == ["KRB", "KRB,LP2B", "KRB", ""]
    assert results["outcome"].iloc[3] == "not_assessable"


def test_no_limit_is_given_where_a_deciding_sub_zone_has_no_intensity_rules():
    """Across K-1 (KDB 70 %) and an RTH-2 whose intensity rows are gone: RTH-2's limits are
    unknown and may be stricter, so no limit binds that the row could name; it needs review."""
    data = grid_plan(size=4)
    rules = dataclasses.replace(
        data.rules, intensity=tuple(r for r in data.rules.intensity if r.subzone_code != "RTH-2")
    )
    engine = Engine.build(dataclasses.replace(data, rules=rules), REF)
    lots = gpd.GeoDataFrame(
        {"activity": "47111"},
        index=range(2),
        geometry=[
            box(X0 + 180, Y0 + 10, X0 + 220, Y0 + 30),
            box(X0 + 110, Y0 + 10, X0 + 130, Y0 + 30),
        ],
        crs=32650,
    )
    results = check_many(lots, engine)
    assert "intensity.no_data" in results["review"].iloc[0]
    assert results[list(permits.rows.LIMIT_COLUMNS)].iloc[0].isna().all()
    assert results["kdb_max_pct"].iloc[1] == 70.0


def test_the_findings_frame_holds_every_finding_as_its_dict_says(engine, parcels):
    results = check_many(parcels, engine)
    expected = pd.DataFrame(
        [
            {"parcel": key, **finding.to_dict()}
            for key, decision in results["decision"].items()
            for finding in decision.findings
        ]
    )
    pd.testing.assert_frame_equal(permits.batch.findings_frame(results), expected)


def test_a_parcel_geos_cannot_overlay_with_the_plan_does_not_stop_the_batch():
    """A plan read straight into a notebook with a self-crossing zone or overlay (an import
    would have reported it): the lots GEOS cannot overlay with it are not assessable, saying
    why; the other lots of the chunk are decided as ever; a single check is refused."""
    data = grid_plan(size=4)
    zones = data.zones.copy()
    bowtie = Polygon([(X0 + 100, Y0), (X0 + 200, Y0 + 100), (X0 + 200, Y0), (X0 + 100, Y0 + 100)])
    zones.loc[1, "geometry"] = MultiPolygon([bowtie])
    crossed = Engine.build(dataclasses.replace(data, zones=zones), REF)
    lots = [
        box(X0 + 140, Y0 + 10, X0 + 160, Y0 + 90),
        box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30),
        box(X0 + 90, Y0 + 20, X0 + 110, Y0 + 40),
    ]
    frame = gpd.GeoDataFrame({"activity": ["68111"] * 3}, geometry=lots, crs=32650)
    results = check_many(frame, crossed)
    outcomes = ["not_assessable", "approved_with_conditions", "not_assessable"]
    assert list(results["outcome"]) == outcomes
    why = results["decision"].iloc[0].findings[0].message_en
    assert why.startswith(
        "The parcel cannot be assessed: parcel: GEOS cannot overlay it with the plan's zones"
    )
    assert "TopologyException" in why
    with pytest.raises(GeometryError, match="parcel: GEOS cannot overlay it with the plan's"):
        crossed.check(Application(lots[0], "68111", crs="EPSG:32650"))
    alone = check_many(frame.iloc[[1]], Engine.build(data, REF))["decision"].iloc[0]
    assert results["decision"].iloc[1].zones == alone.zones

    overlays = data.overlays.copy()
    overlays.loc[0, "geometry"] = MultiPolygon(
        [Polygon([(X0, Y0), (X0 + 50, Y0 + 50), (X0 + 50, Y0), (X0, Y0 + 50)])]
    )
    crossed = Engine.build(dataclasses.replace(data, overlays=overlays), REF)
    farmland = gpd.GeoDataFrame(
        {"activity": ["68111"] * 2},
        geometry=[box(X0 + 20, Y0 + 5, X0 + 30, Y0 + 45), box(X0 + 60, Y0 + 60, X0 + 80, Y0 + 80)],
        crs=32650,
    )
    decided = check_many(farmland, crossed)
    assert decided["outcome"].iloc[0] == "not_assessable"
    assert (
        "GEOS cannot overlay it with the plan's overlays"
        in decided["decision"].iloc[0].findings[0].message_en
    )
    assert decided["outcome"].iloc[1] != "not_assessable"
    with pytest.raises(GeometryError, match="parcel: GEOS cannot overlay it with the plan's ov"):
        crossed.check(Application(farmland.geometry.iloc[0], "68111", crs="EPSG:32650"))


def test_the_collector_runs_again_after_a_batch(engine, parcels, monkeypatch):
    assert gc.isenabled()
    check_many(parcels, engine)
    assert gc.isenabled()

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("locating failed")

    monkeypatch.setattr(permits.batch, "_locate", fail)
    with pytest.raises(RuntimeError, match="locating failed"):
        check_many(parcels, engine)
    assert gc.isenabled()


def test_batches_in_many_threads_decide_alike(engine, parcels):
    expected = decisions(check_many(parcels, engine))
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda _: decisions(check_many(parcels, engine)), range(4)))
    assert all(run == expected for run in runs)
    assert gc.isenabled()


def test_what_the_plan_keeps_does_not_grow_with_the_figures():
    """The plan keeps answers per class of parcel, never per parcel: a thousand lots with their
    own figures in one sub-zone add a handful of entries."""
    engine = Engine.build(grid_plan(size=4), REF)
    rng = np.random.default_rng(2)
    for footprint, height in rng.uniform([10, 3], [150, 12], (1000, 2)):
        lot = box(X0 + 110, Y0 + 10, X0 + 130, Y0 + 20 + 50 * rng.random())
        building = Building(footprint_m2=float(footprint), height_m=float(height))
        engine.check(Application(lot, "47111", building, crs="EPSG:32650"))
    assert len(engine.plan._kept) < 20


@pytest.mark.parametrize("decisions", [True, False])
def test_an_empty_frame_gives_no_rows_with_every_result_column(engine, decisions):
    """A district filtered down to no parcels: an empty result with the columns and dtypes a
    batch of rows gives, not an error."""
    empty = gpd.GeoDataFrame({"activity": []}, geometry=[], crs=4326)
    results = check_many(empty, engine, decisions=decisions, workers=2)
    assert len(results) == 0
    kinds = {"str": object, "float64": np.float64, "int64": np.int64}
    expected = {name: np.dtype(kinds[kind]) for name, kind in RESULT_COLUMNS.items()}
    if decisions:
        expected["decision"] = np.dtype(object)
    assert results.drop(columns="geometry").dtypes.to_dict() == expected


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_a_parcel_without_an_activity_is_not_assessable_saying_so(engine, missing):
    lots = gpd.GeoDataFrame(
        {"activity": pd.Series(["68111", missing], dtype=object)},
        geometry=[box(X0 + 20, Y0 + 20, X0 + 40, Y0 + 40)] * 2,
        crs=32650,
    )
    results = check_many(lots, engine)
    assert results["outcome"].iloc[0] != "not_assessable"
    assert results["outcome"].iloc[1] == "not_assessable"
    assert "activity: give a KBLI code" in results["decision"].iloc[1].findings[0].message_en


@pytest.mark.parametrize("decisions", [True, False])
def test_a_row_with_figures_that_make_no_sense_is_not_assessable_saying_which(engine, decisions):
    """Figures as a spreadsheet holds them: floors as text and as an infinite number, a
    negative area. Each such row is not assessable and names the figure; the batch goes on,
    with or without its decisions."""
    lots = gpd.GeoDataFrame(
        {
            "activity": ["68111"] * 4,
            "floors": pd.Series(["2", math.inf, 1.0, None], dtype=object),
            "footprint_m2": [50.0, 50.0, -1.0, 50.0],
        },
        geometry=[box(X0 + 20, Y0 + 20, X0 + 40, Y0 + 40)] * 4,
        crs=32650,
    )
    results = check_many(lots, engine, decisions=decisions)
    assert list(results["outcome"] == "not_assessable") == [False, True, True, False]
    if decisions:
        words = [results["decision"].iloc[k].findings[0].message_en for k in (1, 2)]
        assert "building.floors: must be a whole number >= 0, not inf" in words[0]
        assert "building.footprint_m2: must be a number >= 0, not -1.0" in words[1]


@pytest.mark.parametrize("decisions", [True, False])
def test_a_figure_given_as_text_is_read_where_it_is_a_number_and_named_where_not(engine, decisions):
    """A spreadsheet's column of figures as text: '2' and ' 3 ' are floors, an empty cell is
    no figure, but 'dua', '2 lantai', a fraction of a floor or '1,5' (a decimal comma, which
    could as well be a thousands separator) are not assessable, each row naming the figure
    and what it was; the batch goes on. Before, one such cell stopped the whole batch with
    numpy's ValueError, and 2.5 floors were silently taken as 2."""
    floors = ["2", " 3 ", "", "dua", "2 lantai", 2.5, None]
    lots = gpd.GeoDataFrame(
        {
            "activity": ["68111"] * 7,
            "floors": pd.Series(floors, dtype=object),
            "footprint_m2": pd.Series(["50", 50.0, 50, 50, 50, 50, "1,5"], dtype=object),
        },
        geometry=[box(X0 + 20, Y0 + 20, X0 + 40, Y0 + 40)] * 7,
        crs=32650,
    )
    results = check_many(lots, engine, decisions=decisions)
    refused = [False, False, False, True, True, True, True]
    assert list(results["outcome"] == "not_assessable") == refused
    numbers = gpd.GeoDataFrame(
        {"activity": ["68111"] * 3, "floors": [2, 3, None], "footprint_m2": [50.0] * 3},
        geometry=lots.geometry[:3].values,
        crs=32650,
    )
    expected = check_many(numbers, engine, decisions=decisions)
    pd.testing.assert_frame_equal(
        results.iloc[:3].drop(columns="decision", errors="ignore"),
        expected.drop(columns="decision", errors="ignore"),
        check_exact=True,
    )
    if decisions:
        words = [results["decision"].iloc[k].findings[0].message_en for k in range(3, 7)]
        assert words == [
            "The parcel cannot be assessed: building.floors: must be a whole number >= 0, " + shown
            for shown in ("not 'dua'", "not '2 lantai'", "not 2.5")
        ] + [
            "The parcel cannot be assessed: building.footprint_m2: must be a number >= 0, not '1,5'"
        ]
        hashes = [d.input_hash for d in results["decision"]]
        assert len(set(hashes)) == len(hashes)


def test_the_results_keep_the_frames_index_with_its_name(engine, parcels):
    """Rows keyed as the analyst's frame is (a land office's NIB, say), so that results join
    back onto it: the same labels in the same order, and the index's name."""
    keyed = parcels.set_axis(pd.Index([f"NIB-{i:04d}" for i in range(len(parcels))], name="nib"))
    for decided in (True, False):
        results = check_many(keyed, engine, decisions=decided)
        pd.testing.assert_index_equal(results.index, keyed.index)


def _odd_parcels() -> dict[str, object]:
    """Parcels in lon/lat as GIS files hold them, each of a kind the batch's vectorised path
    does not take, with a lot of 400 m2 in the grid's first zone."""
    lot = gpd.GeoSeries([box(X0 + 20, Y0 + 20, X0 + 40, Y0 + 40)], crs=32650).to_crs(4326)[0]
    x, y = lot.exterior.xy
    unknown = np.column_stack([x, y])
    unknown[1, 1] = math.nan
    turn = np.linspace(0, 2 * np.pi, 10_002)[:-1]
    return {
        "3D (a GPS survey's heights)": shapely.force_3d(lot, 12.5),
        "latitude, longitude": shapely.transform(lot, lambda xy: xy[:, ::-1]),
        "a collection of polygons": GeometryCollection([lot]),
        "an empty part": shapely.multipolygons([lot, Polygon()]),
        "self-intersecting": Polygon([(x[0], y[0]), (x[2], y[2]), (x[1], y[1]), (x[3], y[3])]),
        "a NaN coordinate": shapely.set_coordinates(Polygon(lot.exterior), unknown),
        "more vertices than the limit": Polygon(
            np.column_stack([x[0] + 1e-4 * np.cos(turn), y[0] + 1e-4 * np.sin(turn)])
        ),
        "a point": Point(x[0], y[0]),
        "empty": Polygon(),
    }


def test_every_odd_parcel_gets_what_a_single_check_gives_it(engine):
    """A parcel the vectorised path does not take is prepared as a single check prepares it:
    its decision is the single check's, byte for byte (heights dropped, an empty part
    dropped, a collection taken, a self-intersection repaired where it was given, swapped
    coordinates named), or, where a single check refuses it, not assessable in the single
    check's words. Before, the batch dropped heights and empty parts without a note, refused
    collections and took swapped coordinates for unprojectable ones; rows agree with the
    decisions."""
    odd = _odd_parcels()
    frame = gpd.GeoDataFrame(
        {"activity": ["68111"] * len(odd)}, geometry=list(odd.values()), crs=4326
    )
    results = check_many(frame, engine)
    refused = 0
    for (name, parcel), batch in zip(odd.items(), results["decision"], strict=True):
        try:
            single = engine.check(Application(parcel, "68111", crs="EPSG:4326"))
        except GeometryError as exc:
            refused += 1
            assert batch.outcome == "not_assessable", name
            assert batch.findings[0].message_en == f"The parcel cannot be assessed: {exc}", name
        else:
            assert batch.to_json_bytes() == single.to_json_bytes(), name
    assert refused == 4
    rows = check_many(frame, engine, decisions=False)
    pd.testing.assert_frame_equal(rows, results.drop(columns="decision"), check_exact=True)


def test_a_row_wrong_twice_is_refused_for_what_a_single_check_refuses_first(engine):
    """Figures that cannot be right on an unusable geometry: the single check refuses the
    figures first (a 422 naming them), and so does the batch's row."""
    parcel, footprint = Point(0.5, 117.3), -5.0
    with pytest.raises(ApplicationError) as refused:
        engine.check(Application(parcel, "68111", Building(footprint_m2=footprint)))
    frame = gpd.GeoDataFrame(
        {"activity": ["68111"], "footprint_m2": [footprint]}, geometry=[parcel], crs=4326
    )
    decision = check_many(frame, engine)["decision"].iloc[0]
    assert decision.findings[0].message_en == f"The parcel cannot be assessed: {refused.value}"
