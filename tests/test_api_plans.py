"""Plan management over HTTP, on a real server and store: regions and plans, uploads into drafts
with their reports (the real Jagoi Babang plan with Bintan's rules among them), bad uploads
refused with the store unchanged, activation swapping the engine that checks, sub-zone rules,
the comparison of two versions, and conditional reads."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

import api.routes.plans
from api.keys import Role
from layers.compare import compare
from layers.demo import DEMO_REGION, ZONES_LAYER, build_demo_plan, write_demo_files
from tests.test_api_checks import BODY, problem
from tests.test_store_contract import layer_names

BENGKAYANG = {"code": "6107", "name": "Kabupaten Bengkayang", "bbox": [108.7, 0.3, 110.3, 1.7]}


def new_plan(http, region: str = DEMO_REGION.code) -> int:
    made = http.post(
        "/v1/plans",
        json={"region_code": region, "name": f"RDTR {uuid.uuid4().hex[:6]}", "legal_basis": "uji"},
    )
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"/v1/plans/{made.json()['id']}"
    return made.json()["id"]


def part(path: Path, name: str | None = None) -> tuple[str, bytes]:
    return (name or path.name, path.read_bytes())


def stored(service) -> tuple:
    """What the store holds: every plan's versions and every layer."""
    store = service.store
    return [store.versions(p.id) for p in store.plans()], layer_names(store)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """A small demo city in the files a planning office receives, and as a Shapefile."""
    folder = tmp_path_factory.mktemp("small")
    files = write_demo_files(folder, build_demo_plan(n_target_zones=60))
    frame = pyogrio.read_dataframe(files.zones, layer=ZONES_LAYER)
    pyogrio.write_dataframe(frame, folder / "zones.shp")
    return files


def test_regions_and_plans_are_added_by_an_admin_only(service):
    with service.client(Role.ADMIN) as admin, service.client(Role.PLANNER) as planner:
        assert planner.post("/v1/regions", json=BENGKAYANG).status_code == 403
        first = admin.post("/v1/regions", json=BENGKAYANG)
        again = admin.post("/v1/regions", json=BENGKAYANG)
        other = admin.post("/v1/regions", json={**BENGKAYANG, "name": "Kota Lain"})
        bad = admin.post("/v1/regions", json={**BENGKAYANG, "bbox": [110.3, 0.3, 108.7, 1.7]})
        unknown = admin.post(
            "/v1/plans", json={"region_code": "1234", "name": "x", "legal_basis": "y"}
        )
        with service.client() as nobody:
            anonymous = nobody.post(
                "/v1/plans", json={"region_code": "6107", "name": "x", "legal_basis": "y"}
            )
        read = planner.get("/v1/regions/6107")
    assert first.status_code == 201 and first.headers["location"] == "/v1/regions/6107"
    assert again.status_code == 200 and again.json() == first.json() == BENGKAYANG
    assert problem(other, 409, "conflict")["errors"][0]["pointer"] == "#/code"
    assert problem(bad, 422, "validation-failed")["errors"][0]["pointer"] == "#/bbox"
    assert problem(unknown, 422, "validation-failed")["errors"][0]["pointer"] == "#/region_code"
    assert problem(anonymous, 401, "unauthorized")
    assert read.json() == BENGKAYANG


def test_the_jagoi_babang_plan_uploads_with_bintan_rules_and_its_known_defects(
    service, shared_data
):
    jagoi, bintan = shared_data / "jagoibabang", shared_data / "rules" / "bintan"
    with service.client(Role.ADMIN) as http:
        http.post("/v1/regions", json=BENGKAYANG)
        plan_id = new_plan(http, "6107")
        answer = http.post(
            f"/v1/plans/{plan_id}/versions",
            files=[
                ("zoning", part(jagoi / "KONSEPPOLARUANG_5.geojson")),
                ("itbx", part(bintan / "itbx_lampiran_xv_bsb.xlsx")),
                ("intensity", part(bintan / "intensitas_bsb.csv")),
                ("overlay_files", part(jagoi / "LP2B_4.geojson")),
            ],
            data={"overlay": "LP2B=LP2B_4.geojson,class=LP2B_1", "label": "konsep pola ruang"},
        )
        assert answer.status_code == 201, answer.text
        version = answer.json()
        assert answer.headers["location"] == f"/v1/versions/{version['id']}"
        read = http.get(answer.headers["location"])
        text = http.get(f"/v1/versions/{version['id']}/report", headers={"Accept": "text/plain"})
        plan = http.get(f"/v1/plans/{plan_id}").json()
        subzones = http.get(f"/v1/versions/{version['id']}/subzones").json()["subzones"]

    assert (version["status"], version["zone_count"], version["crs_epsg"]) == ("draft", 595, 32649)
    assert version["label"] == "konsep pola ruang"
    report = version["report"]
    assert report["errors"] == version["errors"] == 0
    by_code = {}
    for issue in report["issues"]:
        by_code.setdefault(issue["code"], []).append(issue)
    [repaired] = by_code["invalid-geometry"]
    assert repaired["feature"] == "OBJECTID 424" and "Self-intersection" in repaired["message"]
    assert repaired["source"] == "KONSEPPOLARUANG_5.geojson" and repaired["location"]
    [spu] = by_code["num-code-conflict"]
    assert spu["feature"] == "OBJECTID 33" and "32104300" in spu["message"]
    assert "R-5" in {i["details"]["subzone_code"] for i in by_code["rules-missing"]}
    assert read.json() == version
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.startswith("0 error(s)") and "OBJECTID 424" in text.text
    assert [v["id"] for v in plan["versions"]] == [version["id"]]
    assert sum(s["zones"] for s in subzones) == 595
    assert sum(s["area_m2"] for s in subzones) / 10_000 == pytest.approx(4_277, rel=1e-3)


# -- bad uploads: a specific problem each, nothing stored ------------------------------------


def not_a_vector_file(files):
    return {"files": [("zoning", ("zones.geojson", b"this is a spreadsheet, honestly"))]}, (
        "#/zoning",
        "zones.geojson: not a readable vector layer",
    )


def zip_leaving_its_folder(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(files.directory / f"zones{suffix}", f"../../zones{suffix}")
    return {"files": [("zoning", ("plan.zip", buffer.getvalue()))]}, (
        "#/zoning",
        "plan.zip: member '../../zones.shp' leaves the archive",
    )


def shapefile_without_its_shx(files):
    parts = [("zoning", part(files.directory / f"zones{s}")) for s in (".shp", ".dbf", ".prj")]
    return {"files": parts}, ("#/zoning", "zones.shp: the Shapefile lacks its .shx")


def zipped_shapefile_without_its_shx(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for suffix in (".shp", ".dbf", ".prj"):
            zf.write(files.directory / f"zones{suffix}", f"pola_ruang/zones{suffix}")
    return {"files": [("zoning", ("plan.zip", buffer.getvalue()))]}, (
        "#/zoning",
        "plan.zip: zones.shp: the Shapefile lacks its .shx",
    )


def mapping_a_missing_column(files):
    return {
        "files": [("zoning", part(files.zones))],
        "data": {"map": "subzone_code=Kode_Z3", "layer": ZONES_LAYER},
    }, ("#/zoning", "zones.gpkg: column 'Kode_Z3' (for subzone_code) not found")


def a_file_name_with_a_path(files):
    return {"files": [("zoning", part(files.zones, "../../etc/zones.gpkg"))]}, (
        "#/zoning",
        "has a path",
    )


def an_overlay_spec_naming_no_upload(files):
    return {
        "files": [("zoning", part(files.zones)), ("overlay_files", part(files.overlays))],
        "data": {"layer": ZONES_LAYER, "overlay": "LP2B=../overlays.gpkg,layer=lp2b"},
    }, ("#/overlay", "names no uploaded overlay file")


def an_undefined_itbx_table(files):
    return {
        "files": [("zoning", part(files.zones)), ("itbx", ("itbx.xlsx", b"PK\x03\x04 broken"))],
        "data": {"layer": ZONES_LAYER},
    }, ("#/itbx", "itbx.xlsx")


BAD_UPLOADS = [
    not_a_vector_file,
    zip_leaving_its_folder,
    shapefile_without_its_shx,
    zipped_shapefile_without_its_shx,
    mapping_a_missing_column,
    a_file_name_with_a_path,
    an_overlay_spec_naming_no_upload,
    an_undefined_itbx_table,
]


@pytest.mark.parametrize("bad", BAD_UPLOADS, ids=[f.__name__ for f in BAD_UPLOADS])
def test_a_bad_upload_is_a_specific_problem_and_nothing_is_stored(service, small_demo, bad):
    with service.client(Role.ADMIN) as http:
        plan_id = new_plan(http)
        before = stored(service)
        request, (pointer, message) = bad(small_demo)
        answer = http.post(f"/v1/plans/{plan_id}/versions", **request)
    body = problem(answer, 422, "invalid-plan-input")
    assert message in body["detail"], body
    assert [e["pointer"] for e in body["errors"]] == [pointer]
    assert stored(service) == before


def test_uploads_need_an_admin_and_a_known_plan(service, small_demo):
    files = [("zoning", part(small_demo.zones))]
    before = stored(service)
    plan_id = service.demo.plan_id
    with (
        service.client(Role.PLANNER) as planner,
        service.client(Role.ADMIN) as admin,
        service.client() as nobody,
    ):
        refused = planner.post(f"/v1/plans/{plan_id}/versions", files=files)
        anonymous = nobody.post(f"/v1/plans/{plan_id}/versions", files=files)
        unknown = admin.post("/v1/plans/999999/versions", files=files)
    assert "manage-plans" in problem(refused, 403, "forbidden")["detail"]
    problem(anonymous, 401, "unauthorized")
    assert "plan 999999" in problem(unknown, 404, "not-found")["detail"]
    assert stored(service) == before


def test_a_form_field_mistyped_or_missing_is_refused_pointing_at_it(service, small_demo):
    with service.client(Role.ADMIN) as http:
        plan_id = new_plan(http)
        before = stored(service)
        typo = http.post(
            f"/v1/plans/{plan_id}/versions",
            files=[("zoning", part(small_demo.zones)), ("intensitas", part(small_demo.intensity))],
        )
        nothing = http.post(f"/v1/plans/{plan_id}/versions", data={"label": "x"})
    assert [e["pointer"] for e in problem(typo, 422, "validation-failed")["errors"]] == [
        "#/intensitas"
    ]
    assert [e["pointer"] for e in problem(nothing, 422, "validation-failed")["errors"]] == [
        "#/zoning"
    ]
    assert stored(service) == before


def test_a_shapefile_uploads_as_its_parts(service, small_demo):
    parts = [
        ("zoning", part(small_demo.directory / f"zones{s}"))
        for s in (".shp", ".shx", ".dbf", ".prj", ".cpg")
    ]
    with service.client(Role.ADMIN) as http:
        answer = http.post(f"/v1/plans/{new_plan(http)}/versions", files=parts)
    assert answer.status_code == 201, answer.text
    zones = pyogrio.read_info(small_demo.zones, layer=ZONES_LAYER)["features"]
    assert (answer.json()["label"], answer.json()["zone_count"]) == ("zones", zones)


# -- a revised demo city: compared, refused and activated -------------------------------------


@pytest.fixture(scope="module")
def revision(service, tmp_path_factory):
    """The demo city revised: zone 1 (P-3, Perkebunan) becomes P-1 (Tanaman Pangan), and R-3's
    KDB drops to 50 % on every road; uploaded as a draft of the demo plan."""
    files = write_demo_files(tmp_path_factory.mktemp("revised"), build_demo_plan())
    zones = pyogrio.read_dataframe(files.zones, layer=ZONES_LAYER)
    p1 = zones[zones.KODSBL == "P-1"].iloc[0]
    for column in ("KODSBL", "NAMOBJ", "NAMSZN", "KODSZN"):
        zones.loc[zones.OBJECTID == 1, column] = p1[column]
    pyogrio.write_dataframe(zones, files.zones, layer=ZONES_LAYER)
    with files.intensity.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["subzone_code"] == "R-3":
            row["kdb_max_pct"] = "50.0"
    with files.intensity.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with service.client(Role.ADMIN) as http:
        answer = http.post(
            f"/v1/plans/{service.demo.plan_id}/versions",
            files=[
                ("zoning", part(files.zones)),
                ("itbx", part(files.itbx)),
                ("intensity", part(files.intensity)),
                ("crosswalk", part(files.crosswalk)),
                ("provisions", part(files.provisions)),
                ("overlay_files", part(files.overlays)),
            ],
            data={
                "layer": ZONES_LAYER,
                "label": "revisi 2026",
                "overlay": [
                    f"{kind}=overlays.gpkg,layer={kind.lower()},name=NAMA,class=KELAS,ceiling=ELEV_MAX"
                    for kind in ("LP2B", "KRB", "SEMPADAN", "KKOP", "CAGBUD")
                ],
            },
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["errors"] == 0
    return answer.json()


def test_a_comparison_is_worked_out_once_while_both_versions_are_unchanged(
    service, revision, monkeypatch
):
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return compare(*args, **kwargs)

    monkeypatch.setattr(api.routes.plans, "compare", counted)
    url = f"/v1/versions/{service.demo.id}/compare/{revision['id']}?min_area_m2=0.5"
    with service.client(Role.PLANNER) as http:
        first, second = http.get(url), http.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    assert len(calls) == 1


def test_compare_the_demo_with_its_revision(service, revision):
    demo_zones = service.store.zones(service.demo.id)
    changed = demo_zones[demo_zones.zone_id == "1"].geometry.area.sum()
    with service.client(Role.PLANNER) as http:
        answer = http.get(f"/v1/versions/{service.demo.id}/compare/{revision['id']}")
        again = http.get(answer.request.url, headers={"If-None-Match": answer.headers["etag"]})
        unknown = http.get(f"/v1/versions/{service.demo.id}/compare/999999")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["a"]["id"], body["b"]["id"], body["crs_epsg"]) == (
        service.demo.id,
        revision["id"],
        32650,
    )
    assert [(s["from_code"], s["to_code"], s["pieces"]) for s in body["summary"]] == [
        ("P-3", "P-1", 1)
    ]
    assert body["summary"][0]["area_m2"] == pytest.approx(changed)
    assert body["changed_area_m2"] == pytest.approx(changed)
    [feature] = body["pieces"]["features"]
    assert feature["properties"]["from_zone_id"] == feature["properties"]["to_zone_id"] == "1"
    piece = shapely.geometry.shape(feature["geometry"])
    lon, lat = piece.representative_point().coords[0]
    assert DEMO_REGION.bbox[0] < lon < DEMO_REGION.bbox[2]
    assert DEMO_REGION.bbox[1] < lat < DEMO_REGION.bbox[3]
    rules = body["rules"]
    assert rules["itbx"] == {"added": [], "removed": [], "changed": []}
    [r3] = rules["intensity"]["changed"]
    assert r3["subzone_code"] == "R-3"
    assert {row["kdb_max_pct"] for row in r3["to"]} == {50.0}
    assert again.status_code == 304 and again.content == b""
    problem(unknown, 404, "not-found")


def test_refused_activations_are_conflicts(service, revision, small_demo):
    overlap = gpd.GeoDataFrame(
        {"OBJECTID": [1, 2], "KODSBL": ["R-3", "K-1"], "NAMOBJ": ["Perumahan", "Perdagangan"]},
        geometry=[box(117.470, 0.130, 117.475, 0.135), box(117.473, 0.130, 117.478, 0.135)],
        crs=4326,
    )
    with service.client(Role.ADMIN) as http, service.client(Role.PLANNER) as planner:
        blocked = http.post(
            f"/v1/plans/{new_plan(http)}/versions",
            files=[("zoning", ("tumpang_tindih.geojson", overlap.to_json().encode()))],
        )
        assert blocked.status_code == 201 and blocked.json()["errors"] > 0, blocked.text
        before = stored(service)
        errors = http.post(f"/v1/versions/{blocked.json()['id']}/activate")
        active = http.post(f"/v1/versions/{service.demo.id}/activate")
        early = http.post(
            f"/v1/versions/{revision['id']}/activate",
            json={"valid_from": service.demo.valid_from.isoformat()},
        )
        malformed = http.post(
            f"/v1/versions/{revision['id']}/activate", json={"valid_from": "soon"}
        )
        unknown = http.post("/v1/versions/999999/activate")
        by_planner = planner.post(f"/v1/versions/{revision['id']}/activate")
    assert "blocking quality error" in problem(errors, 409, "activation-refused")["detail"]
    assert "only a draft" in problem(active, 409, "activation-refused")["detail"]
    assert "must start after it" in problem(early, 409, "activation-refused")["detail"]
    assert problem(malformed, 422, "validation-failed")["errors"][0]["pointer"] == "#/valid_from"
    problem(unknown, 404, "not-found")
    problem(by_planner, 403, "forbidden")
    assert stored(service) == before


def test_activation_over_http_swaps_the_engine_that_checks(service, revision):
    with service.client(Role.ADMIN) as http:
        before = http.post("/v1/checks", json=BODY).json()["plan"]["version_id"]
        tag = http.get(f"/v1/versions/{service.demo.id}").headers["etag"]
        answer = http.post(
            f"/v1/versions/{revision['id']}/activate",
            json={"valid_from": date.today().isoformat()},
        )
        after = http.post("/v1/checks", json=BODY).json()["plan"]["version_id"]
        demo = http.get(f"/v1/versions/{service.demo.id}", headers={"If-None-Match": tag})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["valid_from"]) == (
        "active",
        date.today().isoformat(),
    )
    assert (before, after) == (service.demo.id, revision["id"])
    assert demo.status_code == 200, "the ETag holds the status: activation changed it"
    assert (demo.json()["status"], demo.json()["valid_to"]) == ("retired", date.today().isoformat())


# -- reads -----------------------------------------------------------------------------------


def test_subzones_and_a_subzones_rules(service):
    zones = service.store.zones(service.demo.id)
    r3 = zones[zones.subzone_code == "R-3"]
    with service.client(Role.PLANNER) as http:
        listed = http.get(f"/v1/versions/{service.demo.id}/subzones")
        rules = http.get(f"/v1/versions/{service.demo.id}/subzones/R-3")
        unknown = http.get(f"/v1/versions/{service.demo.id}/subzones/Z-9")
    assert listed.status_code == 200, listed.text
    entry = next(s for s in listed.json()["subzones"] if s["code"] == "R-3")
    assert (entry["zones"], entry["zone_code"]) == (len(r3), "R")
    assert entry["area_m2"] == pytest.approx(r3.geometry.area.sum())
    assert entry["itbx_cells"] > 0 and entry["intensity_rows"] > 0

    body = rules.json()
    assert (body["code"], body["name"], body["zones"]) == (
        "R-3",
        "Perumahan Kepadatan Sedang",
        len(r3),
    )
    stored_rules = service.store.rules(service.demo.id)
    assert len(body["itbx"]) == sum(c.subzone_code == "R-3" for c in stored_rules.cells)
    shop = next(row for row in body["itbx"] if "47112" in row["kbli"])
    assert shop["klass"] in {"I", "T", "B", "X"} and shop["raw"]
    assert all(item["text"] for row in body["itbx"] for item in row["legend"])
    assert {r["subzone_code"] for r in body["intensity"]} == {"R-3"}
    assert body["provisions"] and all(
        p["subzone_code"] in (None, "R-3") for p in body["provisions"]
    )
    detail = problem(unknown, 404, "not-found")["detail"]
    assert "'Z-9'" in detail and "R-3" in detail


def test_plan_and_version_reads_answer_304_while_unchanged(service):
    paths = [
        "/v1/plans",
        f"/v1/plans/{service.demo.plan_id}",
        f"/v1/plans/{service.demo.plan_id}/versions",
        f"/v1/versions/{service.demo.id}",
        f"/v1/versions/{service.demo.id}/report",
        f"/v1/versions/{service.demo.id}/subzones",
        f"/v1/versions/{service.demo.id}/subzones/R-3",
    ]
    with service.client(Role.PLANNER) as http:
        for path in paths:
            first = http.get(path)
            assert first.status_code == 200, (path, first.text)
            tag = first.headers["etag"]
            again = http.get(path, headers={"If-None-Match": tag})
            assert (again.status_code, again.headers["etag"]) == (304, tag), path
            assert http.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_unknown_plans_and_versions_are_404_problems(service):
    with service.client(Role.PLANNER) as http:
        for path in (
            "/v1/plans/999999",
            "/v1/plans/999999/versions",
            "/v1/versions/999999",
            "/v1/versions/999999/report",
            "/v1/versions/999999/subzones",
            "/v1/regions/0000",
        ):
            assert "not in the store" in problem(http.get(path), 404, "not-found")["detail"]
        listed = http.get("/v1/plans", params={"region": DEMO_REGION.code}).json()
    assert service.demo.plan_id in {p["id"] for p in listed["plans"]}
    assert {p["region"]["code"] for p in listed["plans"]} == {DEMO_REGION.code}


def test_a_large_upload_needs_an_admin_key_before_it_is_read(service):
    """Without a key that may manage plans, an upload is cut at the JSON limit (8 MiB)."""
    bulk = {"zoning": ("zones.geojson", b" " * (9 * 2**20), "application/geo+json")}
    url = f"/v1/plans/{service.demo.plan_id}/versions"
    with service.client() as anonymous, service.client(Role.PLANNER) as planner:
        cut = [anonymous.post(url, files=bulk), planner.post(url, files=bulk)]
    with service.client(Role.ADMIN) as admin:
        read = admin.post(url, files=bulk)
    assert [answer.status_code for answer in cut] == [413, 413]
    assert read.status_code == 422  # read whole, then refused for what it is
