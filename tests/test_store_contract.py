"""The store contract: PostGIS and the embedded GeoPackage behave the same (run against both)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import box, shape
from sqlalchemy import inspect, text

from gis.tiles import TileError
from layers.errors import ActivationError, NotFoundError, PlanInputError, StoreError
from layers.model import (
    ZONE_COLUMNS,
    ItbxCell,
    Plan,
    PlanData,
    Region,
    VersionStatus,
    content_hash,
    empty_overlays,
)
from layers.report import Issue, QualityReport, Severity
from layers.store import PlanStore
from layers.store_gpkg import GeoPackageStore
from tests.plans import REGION, grid_plan
from tests.tile_grid import assert_same_shape_in_tile, decoded, lonlat_bounds, tile_for


def new_plan(store: PlanStore) -> Plan:
    """A plan in a region of its own, so tests sharing one PostGIS database do not meet."""
    code = uuid.uuid4().hex[:8]
    store.ensure_region(Region(code=code, name=f"Kota {code}", bbox=REGION.bbox))
    return store.create_plan(code, "RDTR Kota Uji", "Perda Kota Uji No. 1 Tahun 2024")


def layer_names(store: PlanStore) -> set[str]:
    if isinstance(store, GeoPackageStore):
        return {name for name, _ in pyogrio.list_layers(store.path)}
    return set(inspect(store.engine).get_table_names())


def test_region_and_plan_round_trip(store: PlanStore) -> None:
    plan = new_plan(store)
    assert store.plan(plan.id) == plan
    assert store.plans(plan.region_code) == [plan]
    assert store.region(plan.region_code).bbox == REGION.bbox
    with pytest.raises(NotFoundError, match="plan 999999"):
        store.plan(999_999)
    with pytest.raises(NotFoundError, match="region 'nowhere'"):
        store.create_plan("nowhere", "x", "y")


def test_import_is_a_draft_that_reads_back_exactly(store: PlanStore) -> None:
    plan = new_plan(store)
    data = grid_plan()
    version = store.add_version(plan.id, data, "2024 draft")

    assert version.status is VersionStatus.DRAFT
    assert version.zone_count == 9
    assert version.crs_epsg == 32650
    loaded = store.load(version.id)
    assert_geodataframe_equal(loaded.zones, data.zones, check_dtype=False)
    assert_geodataframe_equal(loaded.overlays, data.overlays, check_dtype=False)
    assert loaded.rules == data.rules
    assert content_hash(loaded) == version.content_hash == content_hash(data)
    assert version.ruleset_hash == data.rules.hash()
    assert store.version_in_force(plan.id, date(2030, 1, 1)) is None


def test_both_stores_keep_the_same_content(tmp_path, postgis_url) -> None:
    from layers.store_postgis import PostgisStore

    data = grid_plan()
    hashes = []
    for store in (GeoPackageStore(tmp_path / "a.gpkg"), PostgisStore(postgis_url, migrate=False)):
        version = store.add_version(new_plan(store).id, data, "v1")
        hashes.append(content_hash(store.load(version.id)))
        store.close()
    assert hashes[0] == hashes[1] == content_hash(data)


def test_activation_puts_a_version_in_force_and_retires_the_previous(store: PlanStore) -> None:
    plan = new_plan(store)
    first = store.add_version(plan.id, grid_plan(), "2024")
    second = store.add_version(plan.id, grid_plan(size=4), "2026 revision")

    active = store.activate(first.id, date(2024, 3, 1))
    assert active.status is VersionStatus.ACTIVE
    assert (active.valid_from, active.valid_to) == (date(2024, 3, 1), None)

    store.activate(second.id, date(2026, 7, 1))
    retired = store.version(first.id)
    assert retired.status is VersionStatus.RETIRED
    assert retired.valid_to == date(2026, 7, 1)

    assert store.version_in_force(plan.id, date(2024, 2, 29)) is None
    assert store.version_in_force(plan.id, date(2024, 3, 1)).id == first.id
    assert store.version_in_force(plan.id, date(2026, 6, 30)).id == first.id
    assert store.version_in_force(plan.id, date(2026, 7, 1)).id == second.id
    in_force = store.versions_in_force(date(2027, 1, 1), region_code=plan.region_code)
    assert [v.id for v in in_force] == [second.id]
    assert [v.label for v in store.versions(plan.id)] == ["2024", "2026 revision"]


def test_activation_is_refused_with_reasons(store: PlanStore) -> None:
    plan = new_plan(store)
    data = grid_plan()
    broken = dataclasses.replace(
        data,
        report=QualityReport(
            [Issue(Severity.ERROR, "overlap", "zones 1 and 2 overlap", feature="OBJECTID 1")]
        ),
    )
    bad = store.add_version(plan.id, broken, "with errors")
    with pytest.raises(ActivationError, match=r"1 blocking quality error.*OBJECTID 1"):
        store.activate(bad.id)

    good = store.add_version(plan.id, data, "clean")
    store.activate(good.id, date(2025, 1, 1))
    with pytest.raises(ActivationError, match="only a draft"):
        store.activate(good.id, date(2025, 6, 1))
    later = store.add_version(plan.id, data, "same day")
    with pytest.raises(ActivationError, match="must start after"):
        store.activate(later.id, date(2025, 1, 1))
    assert store.version(good.id).status is VersionStatus.ACTIVE


def fail_when_activated(store: PlanStore, version_id: int) -> None:
    """A real database trigger that aborts the UPDATE that activates this version: the failure
    happens after the previous version was already retired in the same transaction."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION simtaru_test_fail() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'disk on fire'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    f"CREATE TRIGGER fail_{version_id} BEFORE UPDATE ON plan_version FOR EACH ROW "
                    f"WHEN (NEW.id = {version_id} AND NEW.status = 'active') "
                    "EXECUTE FUNCTION simtaru_test_fail()"
                )
            )
        else:
            conn.execute(
                text(
                    f"CREATE TRIGGER fail_{version_id} BEFORE UPDATE ON plan_version "
                    f"WHEN NEW.id = {version_id} AND NEW.status = 'active' "
                    "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
                )
            )


def test_activation_failing_midway_leaves_the_plan_in_force_untouched(store: PlanStore) -> None:
    plan = new_plan(store)
    current = store.activate(store.add_version(plan.id, grid_plan(), "2024").id, date(2024, 1, 1))
    draft = store.add_version(plan.id, grid_plan(size=4), "2026")
    fail_when_activated(store, draft.id)

    with pytest.raises(StoreError, match="plan in force is unchanged"):
        store.activate(draft.id, date(2026, 1, 1))

    assert store.version(current.id) == current
    assert store.version(draft.id).status is VersionStatus.DRAFT
    assert store.version_in_force(plan.id, date(2026, 6, 1)).id == current.id


def test_failed_import_leaves_nothing_behind(store: PlanStore) -> None:
    plan = new_plan(store)
    data = grid_plan()
    kept = store.add_version(plan.id, data, "kept")
    before = layer_names(store)
    # Two cells for one (activity, sub-zone): the store refuses it while writing the rules,
    # after the layers were already written.
    duplicate = dataclasses.replace(
        data.rules, cells=(*data.rules.cells, ItbxCell("47111", "R-3", ("I",), "I"))
    )
    with pytest.raises(StoreError, match="nothing was stored"):
        store.add_version(plan.id, dataclasses.replace(data, rules=duplicate), "broken")

    assert [v.id for v in store.versions(plan.id)] == [kept.id]
    assert layer_names(store) == before
    reopened = type(store)(getattr(store, "path", None) or store.url)  # type: ignore[attr-defined]
    assert [v.id for v in reopened.versions(plan.id)] == [kept.id]
    reopened.close()


def test_layers_in_another_crs_are_refused(store: PlanStore) -> None:
    plan = new_plan(store)
    data = grid_plan()
    wrong = PlanData(
        zones=data.zones.to_crs(4326), overlays=data.overlays, rules=data.rules, crs_epsg=32650
    )
    with pytest.raises(PlanInputError, match=r"zones are in .*EPSG:32650"):
        store.add_version(plan.id, wrong, "wrong crs")
    assert store.versions(plan.id) == []


def test_geopackage_opens_in_gdal_as_qgis_would(tmp_path) -> None:
    store = GeoPackageStore(tmp_path / "city.gpkg")
    version = store.add_version(new_plan(store).id, grid_plan(), "v1")
    info = pyogrio.read_info(store.path, layer=f"zones_v{version.id}")
    assert info["features"] == 9
    assert info["crs"] == "EPSG:32650"
    assert info["geometry_type"] == "MultiPolygon"
    frame = pyogrio.read_dataframe(store.path, layer=f"zones_v{version.id}")
    assert set(frame["subzone_code"]) == {"R-3", "K-1", "RTH-2"}
    assert frame.geometry.area.sum() == pytest.approx(90_000.0)


def test_postgis_layers_have_one_srid_and_a_spatial_index(postgis_url) -> None:
    from layers.store_postgis import PostgisStore

    store = PostgisStore(postgis_url, migrate=False)
    version = store.add_version(new_plan(store).id, grid_plan(), "v1")
    table = f"zones_v{version.id}"
    with store.engine.connect() as conn:
        srid, kind = conn.execute(
            text("SELECT srid, type FROM geometry_columns WHERE f_table_name = :t"), {"t": table}
        ).one()
        index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = :t AND indexdef LIKE '%gist%'"),
            {"t": table},
        ).scalar_one()
        area = conn.execute(text(f'SELECT sum(ST_Area(geom)) FROM "{table}"')).scalar_one()
    store.close()
    assert (srid, kind) == (32650, "MULTIPOLYGON")
    assert "USING gist (geom)" in index
    assert area == pytest.approx(90_000.0)


def test_unknown_version_is_not_found(store: PlanStore) -> None:
    with pytest.raises(NotFoundError, match="plan version 424242"):
        store.load(424_242)


def test_frames_keep_missing_values_missing(store: PlanStore) -> None:
    plan = new_plan(store)
    version = store.add_version(plan.id, grid_plan(), "v1")
    zones = store.zones(version.id)
    assert zones["subzone_num"].isna().all()
    assert pd.isna(store.overlays(version.id)["ceiling_m"]).all()


# -- layers as features and tiles ------------------------------------------------------------

TO_LONLAT = pyproj.Transformer.from_crs(32650, 4326, always_xy=True)


def stored_grid(store: PlanStore, data: PlanData | None = None):
    """A stored grid plan, and its zones as the store holds them, in lon/lat by geopandas."""
    version = store.add_version(new_plan(store).id, data or grid_plan(), "v1")
    return version, store.zones(version.id).to_crs(4326)


def lonlat_box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...]:
    """The lon/lat box of two UTM 50N corners."""
    (lon0, lon1), (lat0, lat1) = TO_LONLAT.transform([x0, x1], [y0, y1])
    return (lon0, lat0, lon1, lat1)


def test_feature_pages_are_the_layer_in_lonlat_in_fid_order(store: PlanStore) -> None:
    version, zones = stored_grid(store)
    page = store.feature_page(version.id, "zones")
    assert page.number_matched == 9
    assert [f["id"] for f in page.features] == list(range(1, 10))
    for feature, (_, row) in zip(page.features, zones.iterrows(), strict=True):
        props = feature["properties"]
        assert feature["type"] == "Feature"
        assert props["flags"] == json.loads(row["flags"])
        assert props["attrs"] == json.loads(row["attrs"])
        for column in ("zone_id", "subzone_code", "subzone_name", "block", "subzone_num"):
            assert props[column] == row[column]
        assert shapely.hausdorff_distance(shape(feature["geometry"]), row.geometry) < 1e-8

    second = store.feature_page(version.id, "zones", limit=4, offset=4)
    assert [f["id"] for f in second.features] == [5, 6, 7, 8]
    assert second.number_matched == 9
    beyond = store.feature_page(version.id, "zones", limit=4, offset=20)
    assert (beyond.features, beyond.number_matched) == ([], 9)
    overlay = store.feature_page(version.id, "overlays").features[0]["properties"]
    assert (overlay["kind"], overlay["klass"], overlay["ceiling_m"]) == ("LP2B", None, None)


def test_a_bbox_keeps_the_features_that_meet_it(store: PlanStore) -> None:
    version, zones = stored_grid(store)
    # From the middle of block 5 to the middle of block 9 of the 3 x 3 grid of 100 m blocks.
    bbox = lonlat_box(530_150.0, 15_150.0, 530_250.0, 15_250.0)
    expected = [i + 1 for i in np.flatnonzero(zones.intersects(box(*bbox)))]
    assert expected == [5, 6, 8, 9]

    page = store.feature_page(version.id, "zones", bbox, limit=3)
    assert page.number_matched == 4
    assert [f["id"] for f in page.features] == expected[:3]
    rest = store.feature_page(version.id, "zones", bbox, limit=3, offset=3)
    assert [f["id"] for f in rest.features] == expected[3:]

    world = store.feature_page(version.id, "zones", (-180.0, -90.0, 180.0, 90.0), limit=100)
    assert world.number_matched == 9
    elsewhere = store.feature_page(version.id, "zones", (10.0, 50.0, 11.0, 51.0))
    assert (elsewhere.features, elsewhere.number_matched) == ([], 0)


def test_one_feature_by_its_fid(store: PlanStore) -> None:
    version, zones = stored_grid(store)
    feature = store.feature(version.id, "zones", 4)
    assert feature["id"] == 4
    assert feature["properties"]["zone_id"] == zones.loc[3, "zone_id"]
    assert shapely.hausdorff_distance(shape(feature["geometry"]), zones.geometry[3]) < 1e-8
    with pytest.raises(NotFoundError, match="feature 10 is not in zones"):
        store.feature(version.id, "zones", 10)
    with pytest.raises(NotFoundError, match="not 'parcels'"):
        store.feature(version.id, "parcels", 1)
    with pytest.raises(NotFoundError, match="plan version 424242"):
        store.feature_page(424_242, "zones")


def test_layer_extent_is_the_lonlat_box_of_the_layer(store: PlanStore) -> None:
    version, zones = stored_grid(store)
    assert store.layer_extent(version.id, "zones") == pytest.approx(
        tuple(zones.total_bounds), abs=1e-8
    )
    empty = dataclasses.replace(grid_plan(), overlays=empty_overlays(32650))
    bare, _ = stored_grid(store, empty)
    assert store.layer_extent(bare.id, "overlays") is None
    assert store.feature_page(bare.id, "overlays", (117.0, 0.0, 118.0, 1.0)).number_matched == 0
    assert store.tile(bare.id, "overlays", 0, 0, 0) == b""


def test_a_tile_holds_exactly_the_features_that_meet_it(store: PlanStore) -> None:
    version, zones = stored_grid(store)
    raw = store.zones(version.id)
    z = 18  # tiles of about 150 m: the 300 m grid spreads over several
    x, y = tile_for(*TO_LONLAT.transform(530_050.0, 15_050.0), z)
    expected = {i + 1 for i in np.flatnonzero(zones.intersects(box(*lonlat_bounds(z, x, y))))}
    assert 0 < len(expected) < 9

    layers = decoded(store.tile(version.id, "zones", z, x, y))
    assert set(layers) == {"zones"}
    assert set(layers["zones"]) == expected
    for fid, (properties, geom) in layers["zones"].items():
        row = raw.iloc[fid - 1]
        scalars = {c: row[c] for c in ZONE_COLUMNS if c != "attrs" and row[c] is not None}
        assert properties == scalars
        assert_same_shape_in_tile(geom, zones.geometry[fid - 1], z, x, y)

    overlays = decoded(store.tile(version.id, "overlays", z, x, y))["overlays"]
    assert {p["kind"] for p, _ in overlays.values()} == {"LP2B"}
    assert store.tile(version.id, "zones", z, 0, 0) == b""
    with pytest.raises(TileError, match="x 262144 is outside zoom 18"):
        store.tile(version.id, "zones", z, 2**z, y)
