"""OGC API - Features over HTTP, read by a client no one here wrote: GDAL's OAPIF driver (the one
QGIS uses) through pyogrio; and by plain HTTP for bbox, paging links, ETags and problems. Every
answer is compared with the store's own layers, reprojected and queried by geopandas."""

from __future__ import annotations

import json
import math
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pyogrio
import pytest
import shapely
from prometheus_client import REGISTRY
from shapely.geometry import box, shape

from api.keys import Role
from layers.model import OVERLAY_COLUMNS, ZONE_COLUMNS

PROBLEM = "application/problem+json"
ITEMS_ROUTE = "/v1/ogc/collections/{collectionId}/items"
#: A lon/lat box in the middle of the demo town.
BBOX = (117.47, 0.12, 117.48, 0.13)


@pytest.fixture(scope="module")
def gdal() -> Iterator[ProcessPoolExecutor]:
    """pyogrio in a child process: GDAL holds the GIL while it pages through the server, which
    runs in a thread of this process, so in process it would wait on itself for ever."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def oapif(service) -> str:
    return f"OAPIF:{service.url}/v1/ogc"


def in_lonlat(service, layer: str = "zones"):
    frame = getattr(service.store, layer)(service.demo.id)
    return frame, frame.to_crs(4326)


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["type"], body["status"]) == (f"urn:simtaru:problem:{code}", status)
    return body


def items_requests() -> float:
    """Item pages the servers of this process have answered (from their own metrics)."""
    labels = {"method": "GET", "route": ITEMS_ROUTE, "status": "200"}
    return REGISTRY.get_sample_value("simtaru_http_requests_total", labels) or 0.0


def test_gdal_lists_a_collection_per_version_and_layer(service, gdal):
    listed = gdal.submit(pyogrio.list_layers, oapif(service)).result()
    store = service.store
    expected = {
        f"{layer}_v{version.id}"
        for plan in store.plans()
        for version in store.versions(plan.id)
        for layer in ("zones", "overlays")
    }
    assert {str(name) for name, _ in listed} == expected
    assert {str(kind) for _, kind in listed} == {"MultiPolygon"}


def test_gdal_reads_the_zones_as_the_store_holds_them_a_page_at_a_time(service, gdal):
    stored, _ = in_lonlat(service)
    page_size = 50
    assert len(stored) > 4 * page_size
    before = items_requests()
    frame = gdal.submit(
        pyogrio.read_dataframe,
        oapif(service),
        layer=f"zones_v{service.demo.id}",
        fid_as_index=True,
        PAGE_SIZE=str(page_size),
    ).result()
    assert items_requests() - before >= math.ceil(len(stored) / page_size)

    assert frame.crs.to_epsg() == 4326
    assert list(frame.index) == list(range(1, len(stored) + 1))
    for column in ZONE_COLUMNS:
        if column in ("flags", "attrs"):
            assert list(frame[column]) == [json.loads(v) for v in stored[column]], column
        else:
            assert list(frame[column]) == list(stored[column]), column
    back = frame.to_crs(stored.crs)
    gap_m = shapely.hausdorff_distance(back.geometry.values, stored.geometry.values)
    assert gap_m.max() < 0.01


def test_gdal_reads_the_overlays_and_a_bbox(service, gdal):
    stored, _ = in_lonlat(service, "overlays")
    frame = gdal.submit(
        pyogrio.read_dataframe, oapif(service), layer=f"overlays_v{service.demo.id}"
    ).result()
    assert list(frame["overlay_id"]) == list(stored["overlay_id"])
    assert list(frame.columns[:-1]) == list(OVERLAY_COLUMNS)
    assert frame["ceiling_m"].equals(stored["ceiling_m"])

    _, zones = in_lonlat(service)
    within = gdal.submit(
        pyogrio.read_dataframe,
        oapif(service),
        layer=f"zones_v{service.demo.id}",
        bbox=BBOX,
        fid_as_index=True,
    ).result()
    expected = [i + 1 for i, hit in enumerate(zones.intersects(box(*BBOX))) if hit]
    assert sorted(within.index) == expected


def test_bbox_keeps_the_zones_that_meet_it(service):
    _, zones = in_lonlat(service)
    expected = [i + 1 for i, hit in enumerate(zones.intersects(box(*BBOX))) if hit]
    assert 0 < len(expected) < len(zones)
    with service.client() as http:
        answer = http.get(
            f"/v1/ogc/collections/zones_v{service.demo.id}/items",
            params={"bbox": ",".join(map(str, BBOX))},
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    body = answer.json()
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == body["numberReturned"] == len(expected)
    assert not [link for link in body["links"] if link["rel"] in ("next", "prev")]
    for feature in body["features"]:
        want = zones.geometry[feature["id"] - 1]
        assert shapely.hausdorff_distance(shape(feature["geometry"]), want) < 1e-7


def test_next_links_page_through_every_zone_once(service):
    stored, _ = in_lonlat(service)
    url = f"/v1/ogc/collections/zones_v{service.demo.id}/items?limit=100"
    seen, pages = [], []
    with service.client(Role.PLANNER) as http:
        while url:
            body = http.get(url).json()
            pages.append(body)
            seen += [f["id"] for f in body["features"]]
            url = next((lk["href"] for lk in body["links"] if lk["rel"] == "next"), None)
        clamped = http.get(url or pages[0]["links"][0]["href"], params={"limit": 10**9}).json()
    assert seen == list(range(1, len(stored) + 1))
    assert [p["numberReturned"] for p in pages] == [100, 100, len(stored) - 200]
    assert {p["numberMatched"] for p in pages} == {len(stored)}
    assert "prev" not in {lk["rel"] for lk in pages[0]["links"]}
    assert "prev" in {lk["rel"] for lk in pages[1]["links"]}
    assert all(p["timeStamp"].endswith("Z") for p in pages)
    assert clamped["numberReturned"] == len(stored)


def test_one_feature_by_id_is_the_page_s_feature(service):
    collection = f"/v1/ogc/collections/zones_v{service.demo.id}"
    with service.client() as http:
        page = http.get(f"{collection}/items", params={"limit": 5}).json()
        one = http.get(f"{collection}/items/5")
    assert one.status_code == 200
    assert one.headers["content-type"] == "application/geo+json"
    feature = one.json()
    assert {k: feature[k] for k in ("type", "id", "geometry", "properties")} == page["features"][4]
    assert {lk["rel"] for lk in feature["links"]} == {"self", "collection"}


def test_collections_describe_each_version_s_layers(service):
    _, zones = in_lonlat(service)
    demo = service.demo
    with service.client() as http:
        landing = http.get("/v1/ogc").json()
        conformance = http.get("/v1/ogc/conformance").json()
        listed = http.get("/v1/ogc/collections").json()
        one = http.get(f"/v1/ogc/collections/zones_v{demo.id}").json()
        api = http.get(next(lk["href"] for lk in landing["links"] if lk["rel"] == "service-desc"))
    assert {"self", "conformance", "data", "service-desc"} <= {lk["rel"] for lk in landing["links"]}
    assert {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    } <= set(conformance["conformsTo"])
    assert "/v1/ogc/collections/{collectionId}/items" in api.json()["paths"]

    assert one in listed["collections"]
    plan = service.store.plan(demo.plan_id)
    assert one["id"] == f"zones_v{demo.id}"
    assert plan.name in one["title"] and demo.label in one["title"] and "active" in one["title"]
    assert one["itemType"] == "feature"
    assert one["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    # The box holding the layer's metric extent: around the features' own lon/lat bounds,
    # within a few decimetres.
    (west, south, east, north) = one["extent"]["spatial"]["bbox"][0]
    tight = zones.total_bounds
    assert west <= tight[0] and south <= tight[1] and east >= tight[2] and north >= tight[3]
    assert [west, south, east, north] == pytest.approx(list(tight), abs=1e-5)
    assert one["extent"]["temporal"]["interval"] == [[f"{demo.valid_from}T00:00:00Z", None]]
    items = next(lk["href"] for lk in one["links"] if lk["rel"] == "items")
    assert items.endswith(f"/v1/ogc/collections/zones_v{demo.id}/items")


def test_reads_answer_304_while_the_etag_holds(service):
    base = f"/v1/ogc/collections/zones_v{service.demo.id}"
    with service.client() as http:
        for url in (f"{base}/items?limit=3", f"{base}/items/2", base, "/v1/ogc/collections"):
            first = http.get(url)
            etag = first.headers["etag"]
            again = http.get(url, headers={"If-None-Match": etag})
            assert again.status_code == 304, url
            assert (again.headers["etag"], again.content) == (etag, b"")
            assert http.get(url).content == first.content
        other = http.get(f"{base}/items?limit=4")
        assert other.headers["etag"] != http.get(f"{base}/items?limit=3").headers["etag"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/ogc/collections/parcels",
        "/v1/ogc/collections/zones_v999999",
        "/v1/ogc/collections/zones_v999999/items",
        "/v1/ogc/collections/zones_v{id}/items/999999",
        "/v1/ogc/collections/overlays_v{id}/items/abc",
    ],
)
def test_unknown_collections_and_features_are_404_problems(service, path):
    with service.client() as http:
        answer = http.get(path.format(id=service.demo.id))
    assert problem(answer, 404, "not-found")["detail"]


@pytest.mark.parametrize(
    ("bbox", "says"),
    [
        ("117.47,0.12,117.48", "has 3 numbers"),
        ("117.47,0.12,0,117.48,0.11,10", "south edge"),
        ("a,b,c,d", "is not numbers separated by commas"),
        ("117.48,0.12,117.47,0.13", "antimeridian"),
        ("117.47,0.13,117.48,0.12", "south edge"),
        ("0.12,117.47,0.13,117.48", "not lon/lat"),
        ("117.47,0.12,nan,0.13", "not finite"),
    ],
)
def test_a_bad_bbox_is_a_400_problem_that_says_why(service, bbox, says):
    with service.client() as http:
        answer = http.get(
            f"/v1/ogc/collections/zones_v{service.demo.id}/items", params={"bbox": bbox}
        )
    body = problem(answer, 400, "invalid-parameter")
    assert says in body["detail"]
    assert body["errors"][0]["pointer"] == "query:bbox"


def test_a_bad_limit_or_key_is_a_problem(service):
    items = f"/v1/ogc/collections/zones_v{service.demo.id}/items"
    with service.client() as http:
        body = problem(http.get(items, params={"limit": 0}), 422, "validation-failed")
        forged = http.get(items, headers={"X-API-Key": "stk_000000000000_" + "x" * 32})
    assert body["errors"][0]["pointer"] == "query:limit"
    problem(forged, 401, "unauthorized")
