"""The planners' web map, end to end: Debian's Chromium (driven by Playwright) against the real
server on a socket, with the demo city in force, a second (draft) version to compare and land
parcels to find by NIB. A screenshot of each step is kept under test-artifacts/web/.

Also the routes the page needs, over HTTP: parcel files read into GeoJSON (and the files that
are no parcel refused), a version's activities, a parcel's zone pieces, parcels by NIB.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import geopandas as gpd
import httpx
import numpy as np
import pytest
import shapely
from matplotlib import image
from playwright.sync_api import Browser, Page, sync_playwright

from api.keys import Role
from api.routes.web import NODE_MODULES, VENDOR
from layers.model import Region
from layers.parcels import ParcelFileError, read_parcels
from permits.records import DecisionStore
from tests.service import Service, fresh_database, running

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, as root, with nothing that reaches for the network on its own (the machine's env
#: page: without the background-networking flags Chromium calls out at every start).
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
#: The demo city's R-3 lot of the API examples (lon/lat), and its centre.
LOT = shapely.box(117.474664, 0.137071, 117.474844, 0.137288)
CENTRE = (117.474754, 0.1371795)
#: The lot's area (m2, UTM 50N), as the API examples give it.
LOT_AREA_M2 = 480.44


# -- the service with a second version and parcels, and the browser ----------------------------


@pytest.fixture(scope="module")
def web(postgis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service on PostGIS: the demo city in force, a draft where some housing became trade
    and R-3's KDB dropped to 50 %, and two land parcels (NIB 00001 on the lot, 00002 beside it)
    in the demo's region."""
    with fresh_database(postgis_url) as url, running(url) as svc:
        data = svc.store.load(svc.demo.id)
        zones = data.zones.copy()
        rows = zones.index[zones["subzone_code"] == "R-3"][:6]
        zones.loc[rows, "subzone_code"] = "K-2"
        zones.loc[rows, "zone_code"] = "K"
        zones.loc[rows, "subzone_name"] = "Perdagangan dan Jasa Skala WP"
        intensity = tuple(
            replace(row, kdb_max_pct=50.0) if row.subzone_code == "R-3" else row
            for row in data.rules.intensity
        )
        rules = replace(data.rules, intensity=intensity)
        draft = svc.store.add_version(
            svc.demo.plan_id, replace(data, zones=zones, rules=rules), "revisi"
        )
        svc.extra["draft"] = draft
        parcels = gpd.GeoDataFrame(
            {"NIB": ["00001", "00002"]},
            geometry=[LOT, shapely.affinity.translate(LOT, xoff=0.0003)],
            crs=4326,
        )
        path = tmp_path_factory.mktemp("land-office") / "persil_6474.geojson"
        parcels.to_file(path, driver="GeoJSON")
        svc.store.replace_parcels("6474", read_parcels(path))
        yield svc


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's Chromium is not at {CHROMIUM}: run `bash .ci/dev test`, which installs it",
            pytrace=False,
        )
    missing = [p for p in VENDOR if not (NODE_MODULES / p / "dist").is_dir()]
    if missing:
        pytest.fail(
            f"the map's npm packages ({', '.join(missing)}) are not installed: run "
            "`bash .ci/dev test`, which runs `npm ci` in api/web",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield chromium
        chromium.close()


class Watched:
    """A page and what it did: every request, failed ones, console errors, page errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.bodies: dict[str, str | None] = {}
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("request", lambda r: self.bodies.__setitem__(urlparse(r.url).path, r.post_data))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        page.on(
            "response",
            lambda r: self.failed.append(f"{r.url}: {r.status}") if r.status >= 400 else None,
        )
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path)
        return path

    def map_pixels(self) -> np.ndarray:
        """The map's canvas as the screen shows it, RGB in 0..1."""
        png = self.page.locator("#map canvas").screenshot()
        return image.imread(io.BytesIO(png), format="png")[..., :3]


def open_page(
    browser: Browser,
    web: Service,
    *,
    lang: str = "id",
    view: str = "",
    role: Role | None = Role.PLANNER,
) -> Watched:
    """The map in a fresh browser context (its own sessionStorage), ready and drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=False)
    page = context.new_page()
    watched = Watched(page)
    page.goto(f"{web.url}/?lang={lang}{view}")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    wait_drawn(page)
    if role is not None:
        page.fill("#api-key", web.keys[role])
        page.press("#api-key", "Tab")
    return watched


def wait_drawn(page: Page) -> None:
    """Until the map has drawn what it was asked to (MapLibre's idle after the last change)."""
    page.wait_for_function(
        "document.body.dataset.idle && Date.now() - Number(document.body.dataset.idle) > 300",
        timeout=30_000,
    )


def decisions(web: Service) -> int:
    return len(DecisionStore.of(web.store, migrate=False).export())


def on_origin(web: Service, urls: list[str]) -> list[str]:
    """The requests that went anywhere but the service (data: and blob: URLs stay local)."""
    ours = urlparse(web.url).netloc
    return [
        u
        for u in urls
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != ours
    ]


def write_parcel_files(folder: Path) -> dict[str, Path]:
    """The lot as GeoJSON, a zipped Shapefile, KML; and files that are no parcel."""
    folder.mkdir(parents=True, exist_ok=True)
    lot = gpd.GeoDataFrame({"NAMA": ["lot"]}, geometry=[LOT], crs=4326)
    files = {"geojson": folder / "persil.geojson", "kml": folder / "persil.kml"}
    lot.to_file(files["geojson"], driver="GeoJSON")
    lot.to_file(files["kml"], driver="KML")
    lot.to_crs(32650).to_file(folder / "persil.shp")
    files["zip"] = folder / "persil.zip"
    files["noprj"] = folder / "tanpa_prj.zip"
    with zipfile.ZipFile(files["zip"], "w") as whole, zipfile.ZipFile(files["noprj"], "w") as part:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            whole.write(folder / f"persil.{ext}", f"persil.{ext}")
            if ext != "prj":
                part.write(folder / f"persil.{ext}", f"persil.{ext}")
    point = gpd.GeoDataFrame({"NAMA": ["titik"]}, geometry=[shapely.Point(*CENTRE)], crs=4326)
    files["point"] = folder / "titik.geojson"
    point.to_file(files["point"], driver="GeoJSON")
    files["junk"] = folder / "rusak.geojson"
    files["junk"].write_text("this is not GeoJSON {")
    far = gpd.GeoDataFrame(
        {"NAMA": ["jauh"]}, geometry=[shapely.box(110.0, 1.3, 110.001, 1.301)], crs=4326
    )
    files["outside"] = folder / "jauh.geojson"
    far.to_file(files["outside"], driver="GeoJSON")
    return files


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_parcel_files(tmp_path_factory.mktemp("parcel-files"))


# -- the page in Chromium ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_page_loads_from_the_service_alone_and_draws_the_zones(browser, web, lang):
    watched = open_page(browser, web, lang=lang, role=None)
    page = watched.page
    title = {"id": "Peta Rencana Detail Tata Ruang", "en": "Detailed Spatial Plan map"}[lang]
    assert title in page.inner_text("header h1")
    assert page.evaluate("document.documentElement.lang") == lang
    watched.shot(f"1-loaded-{lang}")
    assert watched.failed == []
    assert watched.errors == []
    assert on_origin(web, watched.requests) == []
    assert any("/v1/tiles/zones_v" in u and u.endswith(".mvt") for u in watched.requests)
    pixels = watched.map_pixels()
    background = np.array([0xF5, 0xF5, 0xF0]) / 255
    drawn = np.abs(pixels - background).sum(axis=2) > 0.1
    assert drawn.mean() > 0.3, "the canvas is mostly blank"
    housing = (pixels[..., 0] > 0.9) & (pixels[..., 1] > 0.9) & (pixels[..., 2] < 0.35)
    assert housing.mean() > 0.05, "no housing-yellow zone drawn"
    legend = page.inner_text("#legend")
    assert ("Perumahan" if lang == "id" else "Housing") in legend
    page.context.close()


def test_a_click_shows_the_zone_its_limits_and_a_searchable_itbx(browser, web):
    watched = open_page(browser, web, view=f"#17/{CENTRE[1]}/{CENTRE[0]}")
    page = watched.page
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#info article.place")
    info = page.inner_text("#info")
    assert "R-3" in info and "Perumahan Kepadatan Sedang" in info
    assert "KDB maks. (%)" in info and "Kegiatan (ITBX)" in info
    watched.shot("2-click-rules")
    page.fill("#info .itbx-search", "47112")
    items = page.locator("#info .itbx li")
    assert items.count() >= 1
    assert "Toko Kelontong" in items.first.inner_text()
    assert "Diizinkan" in items.first.inner_text()  # the code with the plan's own words
    watched.shot("2-click-itbx-search")
    page.click("#lang-en")
    assert "KDB max. (%)" in page.inner_text("#info")
    assert watched.failed == [] and watched.errors == []
    page.context.close()


def check_uploaded(watched: Watched, path: Path, *, activity: str = "47112") -> str:
    page = watched.page
    page.click("[data-tab=check]")
    page.set_input_files("#upload", str(path))
    page.wait_for_selector("#parcels li")
    page.fill("#activity", activity)
    page.fill("#footprint_m2", "120")
    page.fill("#floor_area_m2", "240")
    page.fill("#floors", "2")
    page.fill("#height_m", "8")
    page.click("#run-check")
    page.wait_for_selector("#outcome")
    page.wait_for_function("!document.querySelector('#message').textContent.includes('…')")
    wait_drawn(page)
    return page.inner_text("#outcome")


@pytest.mark.parametrize(
    ("kind", "lang", "outcome"),
    [("geojson", "id", "Disetujui dengan syarat"), ("zip", "en", "Approved with conditions")],
)
def test_an_uploaded_parcel_is_checked_and_its_outcome_and_pieces_shown(
    browser, web, files, kind, lang, outcome
):
    before = decisions(web)
    watched = open_page(browser, web, lang=lang)
    shown = check_uploaded(watched, files[kind])
    assert outcome in shown
    page = watched.page
    assert "R-3" in page.inner_text("#decision")
    assert page.locator("#decision .finding").count() >= 5
    watched.shot(f"3-checked-{kind}-{lang}")
    pixels = watched.map_pixels()
    outline = (pixels.max(axis=2) < 0.1).mean()  # the pieces' and zone's black outlines
    assert outline > 0.001
    assert any("/pieces" in u for u in watched.requests)
    assert watched.failed == [] and watched.errors == []
    assert decisions(web) == before  # a check is a dry run
    page.context.close()


def test_a_recorded_decision_opens_its_document(browser, web, files):
    before = decisions(web)
    watched = open_page(browser, web, role=Role.PERMIT_SYSTEM)
    check_uploaded(watched, files["geojson"])
    page = watched.page
    page.click("#record")
    page.wait_for_selector("#doc-pdf")
    assert "dicatat" in page.inner_text("#message")
    page.click("#record")  # a second click replays the same record
    page.wait_for_selector("#doc-pdf")
    assert decisions(web) == before + 1
    with page.context.expect_page() as opened:
        page.click("#doc-html")
    document = opened.value
    document.wait_for_load_state()
    assert "Kesesuaian Kegiatan Pemanfaatan Ruang" in document.inner_text("body")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document.screenshot(path=ARTIFACTS / "4-document.png", full_page=True)
    watched.shot("4-recorded")
    page.context.close()


def test_the_compare_view_draws_the_zones_that_changed(browser, web):
    watched = open_page(browser, web, lang="en")
    page = watched.page
    page.click("[data-tab=compare]")
    page.select_option("#compare-a", str(web.demo.id))
    page.select_option("#compare-b", str(web.extra["draft"].id))
    page.click("#run-compare")
    page.wait_for_selector("#changed")
    assert "Changed area" in page.inner_text("#comparison")
    assert "R-3 → K-2" in page.inner_text("#comparison")
    assert page.inner_text("#rule-changes") == "Intensity: 1 changed, 0 added, 0 removed"
    wait_drawn(page)
    watched.shot("5-compare")
    pixels = watched.map_pixels()
    red = (pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.15) & (pixels[..., 2] < 0.15)
    assert red.mean() > 0.0005, "no changed zone outlined"
    assert watched.failed == [] and watched.errors == []
    page.context.close()


BAD = {
    "point": ("bukan poligon persil", "not a parcel polygon"),
    "junk": ("tidak dapat dibaca", "cannot be read"),
    "noprj": (".prj", ".prj"),
}


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_file_that_is_no_parcel_is_refused_in_the_page_language(browser, web, files, kind, lang):
    before = decisions(web)
    watched = open_page(browser, web, lang=lang)
    page = watched.page
    page.click("[data-tab=check]")
    page.set_input_files("#upload", str(files[kind]))
    page.wait_for_selector("#message:not([hidden])")
    message = page.inner_text("#message")
    assert BAD[kind][lang == "en"] in message
    assert files[kind].name in message
    assert page.locator("#parcels li").count() == 0
    watched.shot(f"6-refused-{kind}-{lang}")
    assert watched.errors == [] or all("422" in e for e in watched.errors)
    assert decisions(web) == before
    page.context.close()


@pytest.mark.parametrize(
    ("lang", "words"), [("id", "tidak dikenal"), ("en", "not known to this plan")]
)
def test_an_unknown_activity_is_refused_and_nothing_recorded(browser, web, files, lang, words):
    before = decisions(web)
    watched = open_page(browser, web, lang=lang, role=Role.PERMIT_SYSTEM)
    page = watched.page
    page.click("[data-tab=check]")
    page.set_input_files("#upload", str(files["geojson"]))
    page.wait_for_selector("#parcels li")
    page.fill("#activity", "budidaya naga terbang")
    page.click("#run-check")
    page.wait_for_function(f"document.querySelector('#message').textContent.includes({words!r})")
    page.click("#record")
    page.wait_for_function(f"document.querySelector('#message').textContent.includes({words!r})")
    watched.shot(f"7-unknown-activity-{lang}")
    assert not any(u.endswith(("/v1/checks", "/v1/decisions")) for u in watched.requests)
    assert page.locator("#outcome").count() == 0
    assert decisions(web) == before
    page.context.close()


def test_a_parcel_outside_the_plan_is_said_so_and_not_recorded(browser, web, files):
    before = decisions(web)
    watched = open_page(browser, web, lang="en", role=Role.PERMIT_SYSTEM)
    page = watched.page
    page.click("[data-tab=check]")
    page.set_input_files("#upload", str(files["outside"]))
    page.wait_for_function("document.querySelector('#message').textContent.includes('outside')")
    assert "jauh.geojson" in page.inner_text("#message")
    page.fill("#activity", "47112")
    page.click("#run-check")
    page.wait_for_selector("#outcome")
    assert "Not assessable" in page.inner_text("#outcome")
    page.click("#record")
    page.wait_for_function(
        "document.querySelector('#message').textContent.includes('not recorded')"
    )
    watched.shot("8-outside")
    assert decisions(web) == before
    page.context.close()


def test_parcels_found_by_nib_are_checked_together(browser, web):
    watched = open_page(browser, web)
    page = watched.page
    page.click("[data-tab=check]")
    assert page.locator("#nib-row").is_visible()
    page.fill("#nib", "00001, 00002")
    page.click("#nib-find")
    page.wait_for_function("document.querySelectorAll('#parcels li').length === 2")
    page.fill("#activity", "47112")
    page.click("#run-check")
    page.wait_for_selector("#outcome")
    wait_drawn(page)
    watched.shot("9-nib")
    sent = json.loads(watched.bodies["/v1/checks"] or "{}")
    assert sent["parcel"]["type"] == "MultiPolygon" and len(sent["parcel"]["coordinates"]) == 2
    assert "R-3" in page.inner_text("#decision")
    page.fill("#nib", "99999")
    page.click("#nib-find")
    page.wait_for_function("document.querySelector('#message').textContent.includes('99999')")
    assert "tidak ditemukan" in page.inner_text("#message")
    page.context.close()


def test_a_drawn_parcel_is_added(browser, web):
    watched = open_page(browser, web, view=f"#18/{CENTRE[1]}/{CENTRE[0]}")
    page = watched.page
    page.click("[data-tab=check]")
    page.click("#draw")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(-40, -40), (40, -40), (40, 40), (-40, 40), (-40, -40)]
    for dx, dy in corners:
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(150)
    page.wait_for_selector("#parcels li")
    watched.shot("10-drawn")
    assert "m²" in page.inner_text("#parcels")
    page.context.close()


# -- the routes the page needs -----------------------------------------------------------------


def test_a_parcel_file_is_read_into_lonlat_geojson(web, files):
    with web.client() as http:
        for kind in ("geojson", "zip", "kml"):
            path = files[kind]
            answer = http.post("/v1/parcels/parse", files={"file": (path.name, path.read_bytes())})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["type"] == "FeatureCollection" and len(body["features"]) == 1
            feature = body["features"][0]
            assert feature["properties"]["area_m2"] == pytest.approx(LOT_AREA_M2, rel=1e-3)
            parsed = shapely.geometry.shape(feature["geometry"])
            assert parsed.symmetric_difference(LOT).area < 1e-12, kind


@pytest.mark.parametrize(
    ("kind", "reason"), [("point", "not-polygon"), ("junk", "unreadable"), ("noprj", "no-crs")]
)
def test_a_file_that_is_no_parcel_is_a_problem_pointing_at_the_file(web, files, kind, reason):
    path = files[kind]
    with web.client() as http:
        answer = http.post("/v1/parcels/parse", files={"file": (path.name, path.read_bytes())})
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:simtaru:problem:invalid-parcel-file"
    assert problem["reason"] == reason
    assert problem["errors"][0]["pointer"] == "#/file"
    assert path.name in problem["detail"] and "/tmp" not in problem["detail"]


def test_a_zip_whose_member_leaves_it_is_refused(web, tmp_path):
    bad = tmp_path / "jahat.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("../persil.geojson", json.dumps({"type": "FeatureCollection"}))
    with web.client() as http:
        answer = http.post("/v1/parcels/parse", files={"file": (bad.name, bad.read_bytes())})
    assert answer.status_code == 422
    assert answer.json()["reason"] == "unreadable"
    assert "leaves the archive" in answer.json()["detail"]


def test_activities_are_found_by_kbli_and_by_name(web):
    with web.client() as http:
        by_code = http.get(f"/v1/versions/{web.demo.id}/activities", params={"q": "4711"}).json()
        by_name = http.get(
            f"/v1/versions/{web.demo.id}/activities", params={"q": "toko kelontong"}
        ).json()
        draft = http.get(
            f"/v1/versions/{web.extra['draft'].id}/activities", params={"q": "47112"}
        ).json()
    assert by_code["activities"][0]["kbli"][0].startswith("4711")
    assert all(any(k.startswith("4711") for k in a["kbli"]) for a in by_code["activities"])
    assert by_name["activities"][0]["name"] == "Toko Kelontong"
    assert "47112" in draft["activities"][0]["kbli"]  # from the store: a draft has no engine


def test_the_pieces_of_a_parcel_across_two_zones(web):
    zones = web.store.zones(web.demo.id)
    home = zones.geometry.iloc[0]
    neighbour = zones.geometry.iloc[1:][zones.geometry.iloc[1:].touches(home)].iloc[0]
    shared = home.boundary.intersection(neighbour.boundary)
    middle = shared.interpolate(0.5, normalized=True)
    edge = middle.buffer(10, cap_style="square")  # across the two zones' edge, in UTM 50N
    wide = gpd.GeoSeries([edge], crs=zones.crs).to_crs(4326).iloc[0]
    with web.client() as http:
        answer = http.post(
            f"/v1/versions/{web.demo.id}/pieces",
            json={"parcel": shapely.geometry.mapping(wide)},
        )
        check = http.post(
            "/v1/checks",
            json={"parcel": shapely.geometry.mapping(wide), "activity": "47112"},
            headers={"X-API-Key": web.keys[Role.PLANNER]},
        ).json()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    zones = [f for f in body["features"] if f["properties"]["layer"] == "zone"]
    assert len(zones) >= 2
    assert sum(f["properties"]["share"] for f in zones) == pytest.approx(1.0, abs=1e-6)
    by_zone = {f["properties"]["zone_id"]: f["properties"]["area_m2"] for f in zones}
    for piece in check["zones"]:
        # the pieces are cut from the layer as the store serves it (lon/lat): within a few cm2
        assert by_zone[piece["zone_id"]] == pytest.approx(piece["area_m2"], abs=0.01)


def test_parcels_by_nib_and_what_is_loaded(web):
    with web.client() as http:
        loaded = http.get("/v1/regions/6474/parcels").json()
        found = http.get("/v1/regions/6474/parcels/items", params={"nib": ["00002", "00001"]})
        missing = http.get("/v1/regions/6474/parcels/items", params={"nib": ["00001", "77"]})
        bad = http.get("/v1/regions/6474/parcels/items", params={"nib": "x' OR '1'='1"})
    assert loaded["count"] == 2 and loaded["crs_epsg"] == 32650
    assert [f["properties"]["parcel_id"] for f in found.json()["features"]] == ["00001", "00002"]
    assert missing.status_code == 404 and missing.json()["missing"] == ["77"]
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "query:nib"


def test_the_page_is_refused_with_a_fix_when_the_libraries_are_missing(web, monkeypatch):
    import api.routes.web as page

    monkeypatch.setattr(page, "NODE_MODULES", Path("/nonexistent"))
    answer = httpx.get(web.url + "/")
    assert answer.status_code == 503
    assert "npm ci" in answer.json()["detail"]


def test_the_land_offices_parcels_load_and_are_found_by_nib(store, shared_data):
    store.ensure_region(Region("6107", "Kabupaten Bengkayang", (108.7, 0.3, 110.3, 1.7)))
    layer = read_parcels(shared_data / "jagoibabang" / "HAT_3.geojson")
    assert layer.id_column == "NIB" and layer.crs_epsg == 32649
    summary = store.replace_parcels("6107", layer)
    assert summary.count == 2784
    again = store.replace_parcels("6107", layer)  # a second import replaces, never adds
    assert again.count == 2784
    found = store.parcels("6107", ["00005"])  # the land office gave two parcels this NIB
    assert {f["properties"]["parcel_id"] for f in found} == {"00005"} and len(found) == 2
    certified = next(f for f in found if f["properties"]["attrs"]["LUASTERTUL"] == 6322.0)
    area = shapely.geometry.shape(certified["geometry"])
    metric = gpd.GeoSeries([area], crs=4326).to_crs(32649).area[0]
    assert metric == pytest.approx(6321.6, rel=1e-3)


def test_a_parcel_file_that_is_not_one_says_why(files):
    for kind, reason in (("point", "not-polygon"), ("junk", "unreadable"), ("noprj", "no-crs")):
        with pytest.raises(ParcelFileError) as refused:
            read_parcels(files[kind])
        assert refused.value.reason == reason
