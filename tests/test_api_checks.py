"""Dry-run checks over HTTP: the same decision as the engine in process, errors as problems that
point at the member, limits on size, lat/lon order under EPSG:4326 versus CRS84."""

from __future__ import annotations

import copy
import json

import numpy as np
import orjson
import pytest
import shapely
from shapely.geometry import mapping

from api.keys import Role
from api.schemas import EXAMPLE_PARCEL
from gis.crs import transformer
from permits import Application, Building, Engine
from permits.records import DecisionStore

BODY = {
    "parcel": EXAMPLE_PARCEL,
    "activity": "47112",  # a grocery shop (toko kelontong): permitted (I) in R-3
    "building": {"footprint_m2": 120, "floor_area_m2": 240, "floors": 2, "height_m": 8},
    "road_class": "lokal",
}
PROBLEM = "application/problem+json"


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:simtaru:problem:{code}"
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def test_a_check_over_http_is_the_engines_decision_byte_for_byte(service):
    engine = Engine.from_store(service.store, service.demo.id)
    lot = shapely.geometry.shape(EXAMPLE_PARCEL)
    expected = engine.check(
        Application(
            lot,
            "47112",
            Building(footprint_m2=120, floor_area_m2=240, floors=2, height_m=8),
            road_class="lokal",
        ),
        neighbours=DecisionStore.of(service.store),
    )
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/checks", json=BODY)
        again = http.post("/v1/checks", json=BODY)
    assert answer.status_code == 200, answer.text
    assert answer.content == again.content
    assert answer.json() == json.loads(expected.to_json())
    assert answer.json()["plan"]["version_id"] == service.demo.id
    assert {z["subzone_code"] for z in answer.json()["zones"]} == {"R-3"}


def test_a_dry_run_records_nothing(service):
    with service.client(Role.PERMIT_SYSTEM) as http:
        http.post("/v1/checks", json={**BODY, "application_id": "DRY-1"})
        listed = http.get("/v1/decisions", params={"application_id": "DRY-1"})
    assert listed.status_code == 200
    assert listed.json() == {"decisions": [], "next": None}


def test_epsg_4326_is_read_latitude_first_and_crs84_longitude_first(service):
    latlon = copy.deepcopy(EXAMPLE_PARCEL)
    latlon["coordinates"] = [[[y, x] for x, y in latlon["coordinates"][0]]]
    with service.client(Role.PLANNER) as http:
        crs84 = http.post("/v1/checks", json=BODY).json()
        authority = http.post("/v1/checks", json={**BODY, "parcel": latlon, "crs": "EPSG:4326"})
        confused = http.post("/v1/checks", json={**BODY, "crs": "EPSG:4326"})
    assert authority.status_code == 200
    assert authority.json()["zones"] == crs84["zones"]
    assert authority.json()["outcome"] == crs84["outcome"]
    # lon/lat sent under EPSG:4326 reads latitude 117: outside every plan, and it says why.
    assert confused.status_code == 200
    assert confused.json()["outcome"] == "not_assessable"
    assert "latitude, longitude" in confused.json()["findings"][0]["message_en"]


def test_a_parcel_in_the_plans_own_crs_gets_the_same_decision(service):
    to_utm = transformer(4326, 32650)
    metric = shapely.transform(
        shapely.geometry.shape(EXAMPLE_PARCEL), lambda xy: np.column_stack(to_utm.transform(*xy.T))
    )
    with service.client(Role.PLANNER) as http:
        lonlat = http.post("/v1/checks", json=BODY).json()
        utm = http.post(
            "/v1/checks", json={**BODY, "parcel": mapping(metric), "crs": "EPSG:32650"}
        ).json()
    assert utm["outcome"] == lonlat["outcome"]
    assert utm["zones"][0]["area_m2"] == pytest.approx(lonlat["zones"][0]["area_m2"], rel=1e-6)


@pytest.mark.parametrize(
    ("body", "status", "code", "pointer"),
    [
        (
            {**BODY, "parcel": {"type": "Point", "coordinates": [117.47, 0.137]}},
            422,
            "invalid-geometry",
            "#/parcel",
        ),
        (
            {**BODY, "parcel": {"type": "Feature", "geometry": EXAMPLE_PARCEL}},
            422,
            "invalid-geometry",
            "#/parcel",
        ),
        (
            {**BODY, "parcel": {"type": "Polygon", "coordinates": [[[0, 0], [1, "x"], [1, 1]]]}},
            422,
            "invalid-geometry",
            "#/parcel",
        ),
        ({**BODY, "crs": "EPSG:999999"}, 422, "invalid-crs", "#/crs"),
        ({**BODY, "building": {"floors": -1}}, 422, "validation-failed", "#/building/floors"),
        (
            {**BODY, "building": {"footprint_area": 10}},
            422,
            "validation-failed",
            "#/building/footprint_area",
        ),
        (
            {**BODY, "building": {"footprint_m2": 200, "floor_area_m2": 100}},
            422,
            "invalid-application",
            "#/building/floor_area_m2",
        ),
        (
            {**BODY, "building": {"floors": 4, "height_m": 5}},
            422,
            "invalid-application",
            "#/building/height_m",
        ),
        ({**BODY, "road_class": "tol"}, 422, "validation-failed", "#/road_class"),
        (
            {k: v for k, v in BODY.items() if k != "activity"},
            422,
            "validation-failed",
            "#/activity",
        ),
    ],
    ids=[
        "point",
        "feature-instead-of-geometry",
        "bad-coordinate",
        "unknown-crs",
        "negative-floors",
        "unknown-member",
        "floor-area-below-footprint",
        "too-low-for-its-floors",
        "unknown-road-class",
        "no-activity",
    ],
)
def test_bad_input_is_a_problem_pointing_at_the_member(service, body, status, code, pointer):
    with service.client(Role.PERMIT_SYSTEM) as http:
        found = problem(http.post("/v1/checks", json=body), status, code)
    assert pointer in [e["pointer"] for e in found["errors"]], found


def test_malformed_json_is_a_400(service):
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post(
            "/v1/checks", content=b'{"parcel": ', headers={"Content-Type": "application/json"}
        )
    problem(answer, 400, "malformed-json")


def test_an_unknown_kbli_needs_review_and_is_never_approved(service):
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/checks", json={**BODY, "activity": "99999"}).json()
    assert answer["outcome"] == "needs_review"
    assert "activity.unknown" in [f["rule"] for f in answer["findings"]]


def test_a_parcel_outside_every_plan_is_not_assessable(service):
    far = shapely.box(110.0, -7.0, 110.001, -6.999)
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/checks", json={**BODY, "parcel": mapping(far)}).json()
    assert answer["outcome"] == "not_assessable"


def test_a_50_mb_body_is_refused_before_it_is_read(service):
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post(
            "/v1/checks",
            content=b" " * (50 * 2**20),
            headers={"Content-Type": "application/json"},
        )
    found = problem(answer, 413, "body-too-large")
    assert "bytes" in found["detail"]


def test_a_polygon_of_a_million_vertices_is_refused(service):
    ring = [[117.47 + i * 1e-9, 0.137] for i in range(1_000_000)]
    body = orjson.dumps({**BODY, "parcel": {"type": "Polygon", "coordinates": [ring]}})
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/checks", content=body, headers={"Content-Type": "application/json"})
    problem(answer, 413, "body-too-large")


def test_more_vertices_than_the_limit_is_refused_naming_the_limit(service):
    centre = shapely.geometry.shape(EXAMPLE_PARCEL).centroid
    many = centre.buffer(0.0001, quad_segs=5_000)  # 20,001 vertices: under 8 MB, over 10,000
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/checks", json={**BODY, "parcel": mapping(many)})
    found = problem(answer, 422, "geometry-too-large")
    assert "10,000" in found["detail"] or "10000" in found["detail"]


def test_a_batch_of_features_streams_one_line_each_in_order(service):
    good = {
        "type": "Feature",
        "geometry": EXAMPLE_PARCEL,
        "properties": {"application_id": "B-1", "footprint_m2": 120},
    }
    bad = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [117.4, 0.1]},
        "properties": {"application_id": "B-2"},
    }
    empty = {
        "type": "Feature",
        "geometry": EXAMPLE_PARCEL,
        "properties": {"application_id": "B-3", "building": {"floors": -2}},
    }
    collection = {"type": "FeatureCollection", "features": [good, bad, empty] * 70}
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post(
            "/v1/checks/batch",
            params={"activity": "47112"},
            content=json.dumps(collection),
            headers={"Content-Type": "application/geo+json"},
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [line["index"] for line in lines] == list(range(210))
    assert [line["application_id"] for line in lines[:3]] == ["B-1", "B-2", "B-3"]
    assert lines[0]["decision"]["outcome"] in ("approved", "approved_with_conditions")
    assert lines[1]["problem"]["type"].endswith("invalid-geometry")
    assert lines[2]["problem"]["errors"][0]["pointer"] == "#/building/floors"


def test_a_batch_in_ndjson_keeps_going_past_a_broken_line(service):
    body = b"\n".join(
        [orjson.dumps(BODY), b"{not json", orjson.dumps({**BODY, "activity": "99999"})]
    )
    with service.client(Role.PLANNER) as http:
        answer = http.post(
            "/v1/checks/batch", content=body, headers={"Content-Type": "application/x-ndjson"}
        )
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [("decision" in line, "problem" in line) for line in lines] == [
        (True, False),
        (False, True),
        (True, False),
    ]
    assert lines[1]["problem"]["type"].endswith("malformed-json")
    assert lines[2]["decision"]["outcome"] == "needs_review"


def test_a_batch_in_another_media_type_is_a_415(service):
    with service.client(Role.PLANNER) as http:
        answer = http.post("/v1/checks/batch", content=b"a,b", headers={"Content-Type": "text/csv"})
    problem(answer, 415, "unsupported-media-type")


def test_a_check_dated_before_the_plan_has_no_plan_in_force(service):
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/checks", json={**BODY, "applied_on": "1990-01-01"}).json()
    assert answer["outcome"] == "not_assessable"
    assert answer["plan"] is None
    assert "1990-01-01" in answer["findings"][0]["message_en"]
