"""The store contract: PostGIS and the embedded GeoPackage behave the same (run against both)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from sqlalchemy import inspect, text

from layers.errors import ActivationError, NotFoundError, PlanInputError, StoreError
from layers.model import ItbxCell, Plan, PlanData, Region, VersionStatus, content_hash
from layers.report import Issue, QualityReport, Severity
from layers.store import PlanStore
from layers.store_gpkg import GeoPackageStore
from tests.plans import REGION, grid_plan


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
