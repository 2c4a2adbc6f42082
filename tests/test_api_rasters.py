"""Rasters through the service and the command line: a plan uploaded with a DEM, a flood raster
and its raster rules over HTTP, activated, and its decisions (single and batch) carrying the
raster findings; bad raster uploads refused pointing at the form field with nothing stored; the
``--raster`` options of ``simtaru import``."""

from __future__ import annotations

import hashlib
import json
import uuid

import numpy as np
import pytest
import rasterio
from shapely.geometry import box, mapping

from api.keys import Role
from gis.crs import reproject
from tests.plans import REGION, grid_plan
from tests.rasters import LEFT, TOP, dem_plane, flood_columns, rules_csv, write_tif
from tests.service import running
from tests.test_api_checks import problem
from tests.test_api_plans import part, stored
from tests.test_cli import run

RULES = ["slope_pct,8,,,condition,,,Wajib kajian geoteknik,", "flood_depth,0.15,mean,,,,,,"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The grid plan's zones (lon/lat GeoPackage), a DEM, a flood raster and raster rules."""
    folder = tmp_path_factory.mktemp("upload")
    grid_plan().zones.to_crs(4326).to_file(folder / "zones.gpkg", layer="zones")
    dem_plane(folder / "dem.tif")
    flood_columns(folder / "banjir.tif")
    rules_csv(folder / "raster_rules.csv", RULES)
    write_tif(folder / "nocrs.tif", np.ones((5, 5)), crs=None)
    write_tif(folder / "far.tif", np.ones((5, 5)), x0=LEFT + 50_000)
    rules_csv(folder / "bad_rules.csv", ["slope,8,,,,,,,"])
    return folder


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with running(str(tmp_path_factory.mktemp("service") / "city.gpkg")) as svc:
        yield svc


def upload(files, *, rasters=("dem=dem.tif", "flood_depth=banjir.tif"), raster_files=None):
    names = raster_files or ["dem.tif", "banjir.tif"]
    return {
        "files": [
            ("zoning", part(files / "zones.gpkg")),
            *(("raster_files", part(files / name)) for name in names),
            ("raster_rules", part(files / "raster_rules.csv")),
        ],
        "data": {
            "raster": list(rasters),
            "map": ["zone_id=zone_id", "subzone_code=subzone_code"],
        },
    }


def new_plan(http) -> int:
    http.post("/v1/regions", json={"code": REGION.code, "name": REGION.name, "bbox": REGION.bbox})
    made = http.post(
        "/v1/plans",
        json={
            "region_code": REGION.code,
            "name": f"RDTR {uuid.uuid4().hex[:6]}",
            "legal_basis": "uji",
        },
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def lonlat(geom) -> dict:
    return mapping(reproject(np.array([geom], dtype=object), 32650, 4326)[0])


def test_a_plan_uploaded_with_rasters_decides_with_raster_findings_over_http(service, files):
    with service.client(Role.ADMIN) as http:
        plan_id = new_plan(http)
        made = http.post(f"/v1/plans/{plan_id}/versions", **upload(files))
        assert made.status_code == 201, made.text
        version = made.json()
        counts = version["report"]["counts"]
        assert counts["info:raster"] == 2 and version["errors"] == 0
        activated = http.post(f"/v1/versions/{version['id']}/activate")
        assert activated.status_code == 200, activated.text
        parcel = box(LEFT + 120, TOP - 160, LEFT + 150, TOP - 130)
        body = {
            "parcel": lonlat(parcel),
            "activity": "68111",
            "building": {"footprint_m2": 300, "floor_area_m2": 600, "floors": 2},
        }
        single = http.post("/v1/checks", json=body)
        assert single.status_code == 200, single.text
        features = {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": body["parcel"], "properties": {"activity": "68111"}}
            ],
        }
        batch = http.post(
            "/v1/checks/batch",
            content=json.dumps(features),
            headers={"Content-Type": "application/geo+json"},
        )
        listed = http.get(f"/v1/versions/{version['id']}/rasters")
        tif = http.get(listed.json()["rasters"][1]["href"])
        again = http.get(tif.request.url, headers={"If-None-Match": tif.headers["etag"]})
        missing = http.get(f"/v1/versions/{version['id']}/rasters/hazard_class.tif")
    assert listed.status_code == 200, listed.text
    rasters = {r["kind"]: r for r in listed.json()["rasters"]}
    assert list(rasters) == ["dem", "slope_pct", "slope_deg", "flood_depth"]
    slope_entry = rasters["slope_pct"]
    assert (slope_entry["source"], slope_entry["unit"], slope_entry["rules"]) == ("dem.tif", "%", 1)
    assert (slope_entry["cell_m"], slope_entry["crs_epsg"], rasters["slope_deg"]["rules"]) == (
        10.0,
        32650,
        0,
    )
    lon0, lat0, lon1, lat1 = slope_entry["bbox"]
    assert 117 < lon0 < lon1 < 118 and 0 < lat0 < lat1 < 1
    assert tif.status_code == 200 and tif.headers["content-type"] == "image/tiff"
    assert hashlib.sha256(tif.content).hexdigest() == slope_entry["sha256"]
    with rasterio.MemoryFile(tif.content) as memory, memory.open() as dataset:
        assert (dataset.crs.to_epsg(), dataset.width) == (32650, slope_entry["width"])
        assert np.nanmax(dataset.read(1)) == pytest.approx(10.0)  # the DEM rises 0.1 m a metre
    assert again.status_code == 304
    problem(missing, 404, "not-found")
    decision = single.json()
    assert decision["plan"]["version_id"] == version["id"]
    found = {f["rule"]: f for f in decision["findings"] if f["rule"].startswith("raster.")}
    assert set(found) == {"raster.slope_pct", "raster.flood_depth"}
    slope = found["raster.slope_pct"]
    assert (slope["status"], slope["effect"], slope["unit"], slope["limit"]) == (
        "fail",
        "condition",
        "%",
        8.0,
    )
    assert slope["measured"] == pytest.approx(10.0)
    assert slope["details"]["source"] == "dem.tif"
    flood = found["raster.flood_depth"]
    assert flood["measured"] == pytest.approx((1.2 + 1.3 + 1.4) / 3)  # columns 12 to 14
    assert (flood["status"], decision["outcome"]) == ("fail", "rejected")
    [line] = [json.loads(x) for x in batch.text.splitlines() if x]
    assert [f["rule"] for f in line["decision"]["findings"] if f["rule"].startswith("raster")] == [
        "raster.slope_pct",
        "raster.flood_depth",
    ]


def no_crs(files):
    return upload(files, rasters=["flood_depth=nocrs.tif"], raster_files=["nocrs.tif"]), (
        "#/raster_files",
        "nocrs.tif: the raster has no CRS",
    )


def of_another_place(files):
    return upload(files, rasters=["flood_depth=far.tif"], raster_files=["far.tif"]), (
        "#/raster_files",
        "far.tif: the flood depth raster has no valid pixel over the plan",
    )


def a_spec_naming_no_upload(files):
    return upload(files, rasters=["dem=dem.tif", "flood_depth=flood.tif"]), (
        "#/raster",
        "raster 'flood_depth=flood.tif' names no uploaded raster file",
    )


def a_raster_no_spec_names(files):
    return upload(files, rasters=["dem=dem.tif"]), (
        "#/raster_files",
        "raster_files: banjir.tif named by no raster spec",
    )


def a_derived_kind(files):
    return upload(files, rasters=["slope_pct=dem.tif"], raster_files=["dem.tif"]), (
        "#/raster",
        "raster slope_pct: a raster is KIND=FILE",
    )


def a_rule_the_engine_cannot_apply(files):
    request = upload(files)
    request["files"][-1] = ("raster_rules", part(files / "bad_rules.csv", "raster_rules.csv"))
    return request, ("#/raster_rules", "raster 'slope' is not one of dem")


BAD = [
    no_crs,
    of_another_place,
    a_spec_naming_no_upload,
    a_raster_no_spec_names,
    a_derived_kind,
    a_rule_the_engine_cannot_apply,
]


@pytest.mark.parametrize("bad", BAD, ids=[b.__name__ for b in BAD])
def test_a_bad_raster_upload_points_at_its_field_and_stores_nothing(service, files, bad):
    raster_dir = service.store.raster_dir
    with service.client(Role.ADMIN) as http:
        plan_id = new_plan(http)
        before = stored(service), sorted(raster_dir.rglob("*")) if raster_dir.exists() else []
        request, (pointer, message) = bad(files)
        answer = http.post(f"/v1/plans/{plan_id}/versions", **request)
    body = problem(answer, 422, "invalid-plan-input")
    assert message in body["detail"], body
    assert [e["pointer"] for e in body["errors"]] == [pointer]
    after = stored(service), sorted(raster_dir.rglob("*")) if raster_dir.exists() else []
    assert after == before


def test_the_import_command_takes_rasters_and_their_rules(capsys, tmp_path, files):
    store = str(tmp_path / "cli.gpkg")
    assert run(capsys, "--store", store, "region-add", REGION.code, REGION.name)[0] == 0
    code, out, _ = run(
        capsys,
        "--store",
        store,
        "plan-add",
        "--region",
        REGION.code,
        "--name",
        "x",
        "--legal-basis",
        "y",
    )
    assert code == 0
    args = ["--store", store, "import", "1", str(files / "zones.gpkg")]
    args += ["--map", "zone_id=zone_id", "--map", "subzone_code=subzone_code"]
    code, out, err = run(
        capsys,
        *args,
        "--raster",
        f"dem={files / 'dem.tif'}",
        "--raster",
        f"flood_depth={files / 'banjir.tif'}",
        "--raster-rules",
        str(files / "raster_rules.csv"),
    )
    assert code == 0, err
    assert "[info] raster: dem.tif: DEM (elevation): 34 x 34 cells of 10.0 m" in out
    assert "[info] raster: banjir.tif: flood depth" in out
    code, _out, err = run(capsys, *args, "--raster", "slope_pct=x.tif")
    assert code == 2
    assert err.startswith("error: --raster slope_pct: a raster is KIND=FILE, KIND one of dem")
    code, _out, err = run(capsys, *args, "--raster", f"flood_depth={files / 'nocrs.tif'}")
    assert (code, err.strip()) == (2, "error: nocrs.tif: the raster has no CRS; give it one (GDAL)")
