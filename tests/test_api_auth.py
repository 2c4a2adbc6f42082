"""Who may call what: every route against every role, with no key, a wrong key and a revoked
key. The table below is the contract; a route added without a line here fails the suite."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi.routing import APIRoute

from api.app import ROUTERS
from api.auth import permission_of
from api.keys import GRANTS, KeyStore, Permission, Role
from api.settings import ApiSettings
from tests.service import running

P = Permission
#: The permission each route asks for; routes not listed must be open (ALWAYS_OPEN).
EXPECTED: dict[tuple[str, str], Permission] = {
    ("POST", "/v1/checks"): P.CHECK,
    ("POST", "/v1/checks/batch"): P.CHECK,
    ("POST", "/v1/decisions"): P.RECORD,
    ("GET", "/v1/decisions"): P.READ_DECISIONS,
    ("GET", "/v1/decisions/{decision_id}"): P.READ_DECISIONS,
    ("GET", "/v1/decisions/{decision_id}/document"): P.READ_DECISIONS,
    ("GET", "/v1/decisions/{decision_id}/document.pdf"): P.READ_DECISIONS,
    ("GET", "/v1/here"): P.READ,
    ("POST", "/v1/here"): P.READ,
    ("POST", "/v1/regions"): P.MANAGE_PLANS,
    ("GET", "/v1/regions/{code}"): P.READ,
    ("POST", "/v1/plans"): P.MANAGE_PLANS,
    ("GET", "/v1/plans"): P.READ,
    ("GET", "/v1/plans/{plan_id}"): P.READ,
    ("GET", "/v1/plans/{plan_id}/versions"): P.READ,
    ("POST", "/v1/plans/{plan_id}/versions"): P.MANAGE_PLANS,
    ("GET", "/v1/versions/{version_id}"): P.READ,
    ("GET", "/v1/versions/{version_id}/report"): P.READ,
    ("POST", "/v1/versions/{version_id}/activate"): P.MANAGE_PLANS,
    ("GET", "/v1/versions/{version_id}/subzones"): P.READ,
    ("GET", "/v1/versions/{version_id}/rasters"): P.READ,
    ("GET", "/v1/versions/{version_id}/rasters/{kind}.tif"): P.READ,
    ("GET", "/v1/versions/{version_id}/subzones/{code}"): P.READ,
    ("GET", "/v1/versions/{a}/compare/{b}"): P.READ,
    ("GET", "/v1/versions/{version_id}/activities"): P.READ,
    ("POST", "/v1/versions/{version_id}/pieces"): P.READ,
    ("POST", "/v1/parcels/parse"): P.READ,
    ("GET", "/v1/regions/{code}/parcels"): P.READ,
    ("GET", "/v1/regions/{code}/parcels/items"): P.READ,
    ("GET", "/v1/ogc"): P.READ,
    ("GET", "/v1/ogc/conformance"): P.READ,
    ("GET", "/v1/ogc/collections"): P.READ,
    ("GET", "/v1/ogc/collections/{collectionId}"): P.READ,
    ("GET", "/v1/ogc/collections/{collectionId}/items"): P.READ,
    ("GET", "/v1/ogc/collections/{collectionId}/items/{featureId}"): P.READ,
    ("GET", "/v1/tiles/{collectionId}/{z}/{x}/{y}.mvt"): P.READ,
    ("GET", "/v1/tiles/{collectionId}/tilejson.json"): P.READ,
}
ALWAYS_OPEN = {
    ("GET", "/"),  # the planners' map: a page without data, which asks for the key itself
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
}


def routes() -> list[tuple[str, str, Permission | None]]:
    return [
        (method, route.path, permission_of(route))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def test_every_route_asks_for_the_permission_the_contract_gives_it():
    declared = {(m, p): perm for m, p, perm in routes() if perm is not None}
    open_routes = {(m, p) for m, p, perm in routes() if perm is None}
    assert declared == EXPECTED
    assert open_routes == ALWAYS_OPEN


def fill(path: str, service) -> str:
    values = {
        "decision_id": "no-such-decision",
        "plan_id": service.demo.plan_id,
        "version_id": service.demo.id,
        "a": service.demo.id,
        "b": service.demo.id,
        "code": "R-3",
        "kind": "dem",
        "collectionId": f"zones_v{service.demo.id}",
        "featureId": "1",
        "z": 0,
        "x": 0,
        "y": 0,
    }
    return path.format(**values)


def call(service, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    url = service.url + fill(path, service)
    params = {"lon": 117.4747, "lat": 0.1372, "application_id": "x"}
    if method == "GET":
        return httpx.get(url, params=params, headers=headers, timeout=60)
    return httpx.request(method, url, json={}, params=params, headers=headers, timeout=60)


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_each_role_gets_exactly_its_permissions(service, method, path):
    permission = EXPECTED[(method, path)]
    anonymous = call(service, method, path, {})
    if permission is P.READ:
        assert anonymous.status_code not in (401, 403)  # reads are open by default
    else:
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
    for role in Role:
        answer = call(service, method, path, {"X-API-Key": service.keys[role]})
        if permission in GRANTS[role]:
            assert answer.status_code not in (401, 403), (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["type"] == "urn:simtaru:problem:forbidden"
    bearer = call(service, method, path, {"Authorization": f"Bearer {service.keys[Role.ADMIN]}"})
    assert bearer.status_code not in (401, 403)
    wrong = service.keys[Role.ADMIN][:-4] + "AAAA"
    for headers in ({"X-API-Key": wrong}, {"X-API-Key": "not-a-key"}):
        assert call(service, method, path, headers).status_code == 401


def test_a_revoked_key_is_refused_within_one_refresh(service):
    keys = KeyStore(service.store.engine)
    key, token = keys.create("leaving planner", Role.PLANNER)
    body = {"parcel": {"type": "Polygon", "coordinates": []}, "activity": "47112"}
    headers = {"X-API-Key": token}
    assert httpx.post(service.url + "/v1/checks", json=body, headers=headers).status_code == 422
    keys.revoke(key.id)
    time.sleep(1.5)  # the service refreshes its keys every 0.5 s in the tests
    refused = httpx.post(service.url + "/v1/checks", json=body, headers=headers)
    assert refused.status_code == 401


def test_reads_need_a_key_when_the_office_closes_them(tmp_path):
    with running(
        str(tmp_path / "city.gpkg"), api=ApiSettings(open_reads=False, refresh_seconds=0.5)
    ) as service:
        reads = [route for route, perm in EXPECTED.items() if perm is P.READ]
        for method, path in reads:
            assert call(service, method, path, {}).status_code == 401
            planner = {"X-API-Key": service.keys[Role.PLANNER]}
            assert call(service, method, path, planner).status_code not in (401, 403)
