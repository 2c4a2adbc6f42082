"""The input hash: SHA-256 of the application's canonical JSON, the same for the same input in
every release, since a recorded decision's idempotency key is checked against it. And the checks
for sense a batch makes over arrays: they refuse exactly the applications ``validate`` refuses,
which names a figure that is no number."""

from __future__ import annotations

import json
import math
import re
from datetime import date

import numpy as np
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st

from permits.application import Application, ApplicationError, Building
from permits.batch import BUILDING_COLUMNS

SQUARE = shapely.box(117.4746, 0.1370, 117.4748, 0.1372)


def encoded(app: Application, parcel_wkb: str | None = None) -> str:
    """The canonical form through the standard library's encoder, as it has always been made."""
    return json.dumps(app._canonical(parcel_wkb), sort_keys=True, separators=(",", ":"))


def test_the_hash_of_a_known_application_stays_what_it_was() -> None:
    """Pinned as release 1 made it: a retry after an upgrade must find its record."""
    app = Application(
        SQUARE,
        "47112",
        Building(footprint_m2=120, floor_area_m2=240.5, floors=2, height_m=8.0),
        road_class="lokal",
        applied_on=date(2026, 3, 1),
        application_id="PBG-0001",
    )
    assert app.input_hash() == ("0c60b25db507048dd3e89d7497da72bbca98fca8024c6fef5ec9719d1f62c55c")


_figure = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
)
_text = st.one_of(st.none(), st.text(max_size=12))


@settings(max_examples=400, deadline=None)
@given(
    figures=st.lists(_figure, min_size=7, max_size=7),
    activity=st.text(max_size=12),
    texts=st.lists(_text, min_size=3, max_size=3),
    crs=st.sampled_from(["OGC:CRS84", "EPSG:4326", "EPSG:32650", "urn:ogc:def:crs:EPSG::4326"]),
    on=st.one_of(st.none(), st.dates()),
    authority=st.booleans(),
    footprint=st.booleans(),
    frontage=st.booleans(),
    odd=st.sampled_from([None, "numpy", "bool"]),
)
def test_the_canonical_form_is_the_encoders_text(
    figures, activity, texts, crs, on, authority, footprint, frontage, odd
) -> None:
    """Written out directly or through the encoder, for any figures (NaN, infinities, integers,
    numpy numbers, booleans), any text (quotes, control and non-ASCII characters) and dates."""
    if odd == "numpy":
        figures[0] = np.float64(3.5)
    elif odd == "bool":
        figures[2] = True
    names = ("basement_m2", "floor_area_m2", "floors", "footprint_m2", "green_area_m2")
    building = Building(
        **dict(zip(names, figures, strict=False)),
        ground_elevation_m=figures[5],
        height_m=figures[6],
        footprint=SQUARE if footprint else None,
    )
    app = Application(
        SQUARE,
        activity,
        building,
        crs=crs,
        road_class=texts[0],
        frontage=shapely.LineString([(117.4746, 0.137), (117.4748, 0.137)]) if frontage else None,
        applied_on=on,
        application_id=texts[1],
        authority_order=authority,
    )
    assert app._canonical_json() == encoded(app)
    given_wkb = shapely.to_wkb(SQUARE, hex=True, byte_order=1)
    assert app._canonical_json(given_wkb) == encoded(app, given_wkb)


#: Figures either side of every check's edge: negative, zero, tiny, infinite, a height just
#: under or at floors x 2.5 m, a floor area just under or at the footprint.
_edge = st.one_of(
    st.none(),
    st.floats(-5, 1_000),
    st.sampled_from([0.0, -0.0, 1e-10, -1e-10, math.inf, -math.inf, 7.5, 7.5 - 1e-9, 7.4999]),
)
_apps = st.tuples(
    st.sampled_from(["47111", "", "   ", "Rumah tinggal"]),
    st.sampled_from([None, "lokal", "arteri", "jalan tol"]),
    st.fixed_dictionaries(
        {
            "footprint_m2": _edge,
            "floor_area_m2": _edge,
            "height_m": _edge,
            "floors": st.one_of(
                st.none(), st.integers(-2, 4), st.sampled_from([math.inf, 2.5, 0.5, 3.0])
            ),
            "green_area_m2": _edge,
            "basement_m2": _edge,
            "ground_elevation_m": _edge,
        }
    ),
)


#: A building without figures.
_NONE = dict.fromkeys(BUILDING_COLUMNS)


@settings(max_examples=400, deadline=None)
@given(drawn=st.lists(_apps, min_size=1, max_size=20))
@example(drawn=[("47111", None, {**_NONE, "floors": 3, "height_m": 7.5 - 1e-9})])
@example(drawn=[("47111", "lokal", {**_NONE, "floors": 3, "height_m": 7.5})])
def test_a_batch_refuses_over_arrays_exactly_what_validate_refuses(drawn) -> None:
    """A batch of rows alone validates one by one only what the arrays refuse: a building
    they let through that ``validate`` refuses would be classed as if it were sound."""
    apps = [Application(SQUARE, a, Building(**figures), road_class=r) for a, r, figures in drawn]
    columns = {
        name: np.array([figures[name] for *_, figures in drawn], dtype=np.float64) for name in _NONE
    }
    found = Application.refusals([a for a, *_ in drawn], [r for _, r, _ in drawn], columns)
    assert found.tolist() == [_refused(app) for app in apps]


def _refused(app: Application) -> bool:
    try:
        app.validate()
    except ApplicationError:
        return True
    return False


@pytest.mark.parametrize(
    ("building", "words"),
    [
        (Building(floors="2"), "building.floors: must be a whole number >= 0, not '2'"),
        (Building(floors=2.5), "building.floors: must be a whole number >= 0, not 2.5"),
        (Building(floors=True), "building.floors: must be a whole number >= 0, not True"),
        (Building(height_m="tinggi"), "building.height_m: must be a number >= 0, not 'tinggi'"),
        (
            Building(ground_elevation_m=math.nan),
            "building.ground_elevation_m: must be a finite number, not nan",
        ),
    ],
)
def test_a_figure_that_is_no_number_is_refused_naming_it(building, words) -> None:
    """A figure from a notebook or a spreadsheet given as text, a bool or a fraction of a
    floor: refused with the figure and what it was, never a TypeError from comparing it."""
    with pytest.raises(ApplicationError, match=re.escape(words)):
        Application(SQUARE, "47111", building).validate()


def test_whole_figures_of_any_numeric_type_are_accepted() -> None:
    """numpy's numbers (a frame's values) and floors as a whole float are figures like any
    other."""
    building = Building(
        floors=np.float64(3.0), height_m=np.float32(12.0), footprint_m2=np.int64(80)
    )
    Application(SQUARE, "47111", building).validate()
