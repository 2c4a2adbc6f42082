"""What can I build here? The zones, ITBX rows, intensity limits and special provisions at a point
or over a parcel, as the plan's own tables give them; and the service's health and metrics."""

from __future__ import annotations

import re

import geopandas as gpd
import httpx
import shapely
from shapely.geometry import mapping

from api.keys import KeyStore, Role
from api.schemas import EXAMPLE_PARCEL
from api.settings import ApiSettings, Settings
from layers.settings import StoreSettings
from layers.stores import open_store
from tests.service import running, serve

CENTRE = shapely.geometry.shape(EXAMPLE_PARCEL).centroid


def test_a_point_gets_its_subzone_with_the_plans_rules(service):
    rules = service.store.rules(service.demo.id)
    with service.client() as http:  # reads are open without a key by default
        one = http.get("/v1/here", params={"lon": CENTRE.x, "lat": CENTRE.y, "activity": "47112"})
        column = http.get("/v1/here", params={"lon": CENTRE.x, "lat": CENTRE.y})
    assert one.status_code == 200, one.text
    [place] = one.json()["places"]
    assert place["plan"]["version_id"] == service.demo.id
    [subzone] = place["subzones"]
    assert subzone["subzone_code"] == "R-3"
    assert [(r["activity_id"], r["klass"], r["raw"]) for r in subzone["itbx"]] == [
        (c.activity_id, "I", c.raw)
        for c in rules.cells
        if c.subzone_code == "R-3" and c.activity_id == "47112"
    ]
    expected = [r for r in rules.intensity if r.subzone_code == "R-3"]
    assert [r["kdb_max_pct"] for r in subzone["intensity"]] == [r.kdb_max_pct for r in expected]
    everything = column.json()["places"][0]["subzones"][0]["itbx"]
    assert len(everything) == sum(1 for c in rules.cells if c.subzone_code == "R-3")
    assert {row["klass"] for row in everything} >= {"I", "T", "X"}
    with_conditions = [row for row in everything if "T3" in row["codes"]]
    assert with_conditions and all(
        any(c["code"] == "T3" and "100 meter" in c["text"] for c in row["conditions"])
        for row in with_conditions
    )


def test_a_parcel_gets_its_pieces_with_areas(service):
    with service.client(Role.PLANNER) as http:
        here = http.post("/v1/here", json={"geometry": EXAMPLE_PARCEL}).json()
        check = http.post("/v1/checks", json={"parcel": EXAMPLE_PARCEL, "activity": "47112"})
    [place] = here["places"]
    assert place["parcel_area_m2"] == check.json()["parcel_area_m2"]
    assert sum(z["share"] for z in place["subzones"]) == 1.0
    assert place["subzones"][0]["area_m2"] == check.json()["zones"][0]["area_m2"]


def test_a_point_under_an_airport_surface_gets_the_kkop_ceiling(service):
    overlays = service.store.overlays(service.demo.id)
    kkop = overlays[overlays["kind"] == "KKOP"].iloc[0]
    point = (
        gpd.GeoSeries([shapely.point_on_surface(kkop.geometry)], crs=overlays.crs)
        .to_crs(4326)
        .iloc[0]
    )
    with service.client() as http:
        places = http.get("/v1/here", params={"lon": point.x, "lat": point.y}).json()["places"]
    found = [p for p in places[0]["provisions"] if p["source"] == "overlay KKOP"]
    assert found and found[0]["ceiling_m"] == kkop.ceiling_m
    assert found[0]["klass"] == kkop.klass


def test_a_place_outside_the_plan_has_no_places_and_bad_input_is_a_problem(service):
    with service.client() as http:
        outside = http.get("/v1/here", params={"lon": 110.0, "lat": -7.0})
        bad = http.get("/v1/here", params={"lon": 500, "lat": 0})
        line = http.post(
            "/v1/here", json={"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}
        )
    assert outside.json() == {"places": []}
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "query:lon"
    assert line.status_code == 422
    assert line.json()["errors"][0]["pointer"] == "#/geometry"


def test_liveness_readiness_and_metrics(service):
    with service.client(Role.PERMIT_SYSTEM) as http:
        assert http.get("/health/live").json() == {"status": "ok", "checks": {}}
        ready = http.get("/health/ready").json()
        http.post(
            "/v1/checks", json={"parcel": mapping(CENTRE.buffer(0.0001)), "activity": "47112"}
        )
        http.get("/v1/decisions/no-such-id")
        metrics = http.get("/metrics").text
    assert ready["status"] == "ok"
    assert ready["checks"]["versions_in_force"] == [service.demo.id]
    assert re.search(
        r'simtaru_http_requests_total\{method="POST",route="/v1/checks",status="200"\}', metrics
    )
    assert 'route="/v1/decisions/{decision_id}"' in metrics
    assert "no-such-id" not in metrics  # labels are route templates, never paths or ids
    assert re.search(r'simtaru_decisions_total\{kind="dry-run",outcome="\w+"\}', metrics)


def test_a_worker_without_a_plan_in_force_is_not_ready_and_says_so(tmp_path):
    empty = str(tmp_path / "empty.gpkg")
    store = open_store(empty)
    _, token = KeyStore(store.engine).create("desk", Role.PERMIT_SYSTEM)
    store.close()
    settings = Settings(store=StoreSettings(database_url=empty))
    with serve(settings) as (url, *_):
        ready = httpx.get(url + "/health/ready")
        check = httpx.post(
            url + "/v1/checks",
            json={"parcel": EXAMPLE_PARCEL, "activity": "47112"},
            headers={"X-API-Key": token},
        )
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"]["plans_in_force"] == 0
    assert check.status_code == 200
    assert check.json()["outcome"] == "not_assessable"
    assert "No spatial plan is in force" in check.json()["findings"][0]["message_en"]


def test_cors_lets_the_configured_origins_in_and_no_other(tmp_path):
    origin = "http://peta.pupr.example"
    with running(
        str(tmp_path / "city.gpkg"), api=ApiSettings(cors_origins=[origin], refresh_seconds=1)
    ) as service:
        allowed = httpx.options(
            service.url + "/v1/checks",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key, content-type",
            },
        )
        other = httpx.get(
            service.url + "/v1/here",
            params={"lon": CENTRE.x, "lat": CENTRE.y},
            headers={"Origin": "http://elsewhere.example"},
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == origin
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
