"""A batch's rows without decisions (``check_many(..., decisions=False)``) are the rows of the
full decisions, value for value, whatever the frame: the classes of parcels may only save work.
Hypothesis draws frames over the test grid, with every figure column, road classes, activities
the plan does and does not know, lots that straddle, lie in the LP2B overlay or outside, and
lots repeated with other figures; on plans that decide split lots differently, limit a
provision to one block, and lack a sub-zone's intensity rules."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from layers.model import PlanData, SpecialProvision
from permits.batch import BUILDING_COLUMNS, check_many
from permits.engine import Engine, EngineSettings
from permits.rules.location import Tolerance
from tests.plans import CODES, ORIGIN, grid_plan
from tests.test_engine_batch import REF

X0, Y0 = ORIGIN


def _variant(name: str) -> PlanData:
    data = grid_plan(size=4)
    rules = data.rules
    if name == "dominant":
        rules = dataclasses.replace(rules, settings={"split_policy": "dominant"})
    elif name == "per_piece":
        rules = dataclasses.replace(rules, settings={"split_policy": "per_piece"})
    elif name == "block":
        # A rule for KRB in block I.A.2 only, where a second R-3 zone is KRB too: the first,
        # in block I.A.1, it does not reach.
        zones = data.zones.copy()
        zones.loc[6, "flags"] = '{"KRB_03": "Rawan Banjir Sedang"}'
        forbid = SpecialProvision("KRB", "forbid", "Tidak boleh membangun", block="I.A.2")
        rules = dataclasses.replace(rules, provisions=(*rules.provisions, forbid))
        data = dataclasses.replace(data, zones=zones)
    elif name == "no_rth_intensity":
        kept = tuple(r for r in rules.intensity if r.subzone_code != "RTH-2")
        rules = dataclasses.replace(rules, intensity=kept)
    return dataclasses.replace(data, rules=rules)


VARIANTS = ("strictest", "dominant", "per_piece", "block", "no_rth_intensity")
ENGINES = {name: Engine.build(_variant(name), REF) for name in VARIANTS}

#: Corners on a coarse grid and a few sizes and figure patterns, so that many lots share a
#: class (the sub-zones they lie in, their lot-size class, ...) while differing in one thing a
#: class must tell apart; each lot's copies differ in road class and figures.
corner = st.integers(-2, 16).map(lambda k: k * 25.0 + 3.0)
size = st.sampled_from([0.7, 8.0, 12.0, 30.0, 45.0, 70.0])
ROADS = (None, "arteri", "lokal", "kolektor")
#: Which building figures a lot's application gives: none, all, footprint and floors.
MASKS = (
    (),
    BUILDING_COLUMNS,
    ("footprint_m2", "floors"),
)
ACTIVITIES = ("68111", "47111", "52101", "00000", "Rumah tinggal")
figure = st.one_of(st.floats(0, 2_000), st.sampled_from([0.0, 60.0, 120.0, 1e9]))
lots = st.tuples(
    corner,
    corner,
    size,
    size,
    st.sampled_from(ACTIVITIES),
    st.integers(0, len(ROADS) - 1),
    st.integers(0, len(MASKS) - 1),
    st.lists(figure, min_size=len(BUILDING_COLUMNS), max_size=len(BUILDING_COLUMNS)),
    st.integers(0, 3),
)


def _frame(drawn: list[tuple]) -> gpd.GeoDataFrame:
    """The drawn lots and their copies (the next road class, figures scaled), floors as whole
    numbers, and a self-crossing lot."""
    rows = []
    for x, y, w, h, activity, road, mask, values, copies in drawn:
        shape = box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)
        for copy in range(copies + 1):
            figures = {
                name: (round(v / 10) if name == "floors" else v) * (1 + 0.7 * copy)
                for name, v in zip(BUILDING_COLUMNS, values, strict=True)
                if name in MASKS[mask]
            }
            road_class = ROADS[(road + copy) % len(ROADS)]
            rows.append(
                {"activity": activity, "road_class": road_class, **figures, "geometry": shape}
            )
    bow = Polygon(
        [(X0 + 20, Y0 + 120), (X0 + 40, Y0 + 140), (X0 + 40, Y0 + 120), (X0 + 20, Y0 + 140)]
    )
    rows.append({"activity": "68111", "road_class": None, "geometry": bow})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=32650)


def _same_rows(parcels: gpd.GeoDataFrame, engine: Engine) -> pd.DataFrame:
    full = check_many(parcels, engine).drop(columns="decision")
    rows = check_many(parcels, engine, decisions=False)
    pd.testing.assert_frame_equal(rows, full, check_exact=True)
    return rows


@pytest.mark.parametrize("variant", VARIANTS)
@settings(max_examples=25, deadline=None)
@given(drawn=st.lists(lots, min_size=1, max_size=40))
def test_rows_without_decisions_are_the_decisions_rows(variant, drawn):
    _same_rows(_frame(drawn), ENGINES[variant])


def test_rows_of_a_dense_frame_are_the_decisions_rows_on_every_plan():
    """A fixed frame, lots every 20 m in two sizes either side of R-3's 200 m2 lot-size class,
    each in three road classes and with and without figures: lots that share a class but for
    one thing are many. It reaches every outcome, the KRB flag and the block-limited rule, the
    LP2B overlay, lots outside the plan and across its edge."""
    rng = np.random.default_rng(5)
    drawn = [
        (x, y, w, w, str(rng.choice(ACTIVITIES)), 0, mask, list(rng.uniform(0, 900, 7)), 2)
        for x in np.arange(-30, 420, 20.0)
        for y in np.arange(-30, 420, 40.0)
        for w in (9.0, 26.0)
        for mask in (0, 1)
    ]
    # A shop inside K-1 (I) within each of its limits: approved.
    drawn.append((110, 10, 80, 80, "47111", 0, 2, [1000, 0, 0, 20, 0, 0, 0], 0))
    # A lot halved between zones "9" and "10" (rows 8 and 9): pieces of equal area go by zone
    # id, and "10" comes first, in another sub-zone than "9".
    drawn.append((90, 210, 20, 20, "47111", 0, 0, [0] * 7, 0))
    parcels = _frame(drawn)
    rows = {name: _same_rows(parcels, ENGINES[name]) for name in VARIANTS}["block"]
    halved = rows.iloc[-2]
    assert (halved["zones"], halved["share"]) == (2, 0.5)
    assert halved["subzone_code"] == CODES[9 % len(CODES)] != CODES[8 % len(CODES)]
    assert set(rows["outcome"]) == {
        "approved",
        "approved_with_conditions",
        "needs_review",
        "rejected",
        "not_assessable",
    }
    assert {"KRB", "KRB,LP2B", ""} <= set(rows["provisions"])
    assert rows["failed"].str.contains("provision.KRB").any()
    assert rows["review"].str.contains("location.coverage").any()


def test_what_the_plan_keeps_for_rows_does_not_grow_with_the_figures_or_the_text():
    """Classes are kept per kind of parcel, never per parcel or per activity text: a thousand
    lots in one sub-zone with their own figures, under activity texts the plan does not know,
    add a handful of classes, each with a few patterns of limits met."""
    engine = Engine.build(grid_plan(size=4), REF)
    rng = np.random.default_rng(2)
    n = 1000
    lots = gpd.GeoDataFrame(
        {
            "activity": [f"kegiatan {i}" if i % 2 else "47111" for i in range(n)],
            "footprint_m2": rng.uniform(10, 300, n),
            "height_m": rng.uniform(3, 12, n),
        },
        geometry=[box(X0 + 110, Y0 + 10, X0 + 130, Y0 + 20 + 50 * rng.random()) for _ in range(n)],
        crs=32650,
    )
    rows = _same_rows(lots, engine)
    assert set(rows["outcome"]) == {"needs_review", "rejected", "approved_with_conditions"}
    kept = engine.plan._kept
    classes = [v for k, v in kept.items() if k[0] == "rows" and k[1] != "zone columns"]
    assert 2 <= len(classes) <= 4
    assert all(len(c.summaries) <= 4 for c in classes)
    assert len(kept) < 30


def test_engines_sharing_a_plan_under_other_tolerances_keep_their_own_classes():
    """Two engines over one compiled plan, one counting pieces under 40 % as slivers: a lot
    split 70/30 decides in both sub-zones for one and in one for the other, and each gets the
    rows of its own decisions although they keep their classes in one place (a tolerance acts
    only through the pieces that decide and the part outside the plan, both in a class)."""
    plan = ENGINES["strictest"].plan
    wide = Engine(plan, EngineSettings(tolerance=Tolerance(sliver_share=0.4)))
    lots = gpd.GeoDataFrame(
        {"activity": ["52101"] * 2},
        geometry=[
            box(X0 + 30, Y0 + 10, X0 + 130, Y0 + 30),
            box(X0 + 70, Y0 + 40, X0 + 170, Y0 + 60),
        ],
        crs=32650,
    )
    narrow_rows = _same_rows(lots, ENGINES["strictest"])
    wide_rows = _same_rows(lots, wide)
    assert narrow_rows["outcome"].tolist() == ["rejected", "rejected"]
    assert wide_rows["outcome"].tolist() == ["rejected", "approved_with_conditions"]
