"""The store contract for a version's rasters, on PostGIS and the GeoPackage store: they read back
byte for byte under their hashes and give the engine the decisions the import gives; a failed
import leaves no row, no bytes and no file; a raster file changed behind the store's back is
refused; both stores hold the same content."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from shapely.geometry import box
from sqlalchemy import func, select

from layers import schema
from layers.errors import NotFoundError, StoreError
from layers.export import export_version
from layers.model import ItbxCell, PlanData, RasterInfo, RasterKind, content_hash
from layers.store import PlanStore
from layers.store_gpkg import GeoPackageStore
from layers.store_postgis import PostgisStore
from permits.application import Application, Building
from permits.engine import Engine, plan_ref
from tests.rasters import LEFT, TOP, dem_plane, flood_columns, with_rasters
from tests.test_store_contract import layer_names, new_plan

RULES = ["slope_pct,8,,,,,,,", "flood_depth,0.15,mean,,,,,,"]


@pytest.fixture(scope="module")
def rastered(tmp_path_factory) -> PlanData:
    folder = tmp_path_factory.mktemp("rasters")
    rasters = {"dem": dem_plane(folder / "dem.tif"), "flood_depth": flood_columns(folder / "f.tif")}
    return with_rasters(folder, rasters, RULES)


def files(store: PlanStore) -> list[Path]:
    """Every file in the GeoPackage store's raster folder (none for PostGIS, which keeps the
    GeoTIFFs in the database)."""
    if not isinstance(store, GeoPackageStore) or not store.raster_dir.exists():
        return []
    return sorted(p for p in store.raster_dir.rglob("*") if p.is_file())


def raster_rows(store: PlanStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.plan_raster)).scalar())


def test_rasters_read_back_byte_for_byte_under_their_hashes(store, rastered):
    version = store.add_version(new_plan(store).id, rastered, "with rasters")
    loaded = store.load(version.id)
    assert loaded.rasters == rastered.rasters
    assert [r.kind.value for r in store.rasters(version.id)] == [
        "dem",
        "slope_pct",
        "slope_deg",
        "flood_depth",
    ]
    assert loaded.rules.raster_rules == rastered.rules.raster_rules
    assert content_hash(loaded) == version.content_hash == content_hash(rastered)
    assert content_hash(rastered) != content_hash(dataclasses.replace(rastered, rasters=()))
    if isinstance(store, GeoPackageStore):
        assert [p.relative_to(store.raster_dir).as_posix() for p in files(store)] == [
            f"v{version.id}/{kind}.tif" for kind in ("dem", "flood_depth", "slope_deg", "slope_pct")
        ]


def test_a_versions_rasters_are_listed_from_the_catalogue_and_read_one_by_one(store, rastered):
    version = store.add_version(new_plan(store).id, rastered, "with rasters")
    listed = store.raster_list(version.id)
    assert [r.kind for r in listed] == [r.kind for r in rastered.rasters]
    for info, raster in zip(listed, rastered.rasters, strict=True):
        assert info == RasterInfo(
            **{f.name: getattr(raster, f.name) for f in dataclasses.fields(RasterInfo)}
        )
        assert store.raster(version.id, raster.kind) == raster
    bare = store.add_version(new_plan(store).id, dataclasses.replace(rastered, rasters=()), "-")
    assert store.raster_list(bare.id) == ()
    with pytest.raises(NotFoundError, match="has no dem raster"):
        store.raster(bare.id, RasterKind.DEM)


def test_an_exported_version_holds_its_rasters_as_raster_tables(store, rastered, tmp_path):
    """``simtaru export``: each raster a float32 raster table beside the vector layers, the
    stored values to the bit (NaN for nodata), and the raster rules as a table."""
    version = store.add_version(new_plan(store).id, rastered, "with rasters")
    layers = export_version(store, version.id, tmp_path / "v.gpkg")
    assert {f"raster_{r.kind.value}" for r in rastered.rasters} <= set(layers)
    assert {"zones", "rule_raster_rules", "plan_version"} <= set(layers)
    rules = pyogrio.read_dataframe(tmp_path / "v.gpkg", layer="rule_raster_rules")
    assert list(rules["raster"]) == [r.raster for r in rastered.rules.raster_rules]
    for raster in rastered.rasters:
        grid = raster.grid()
        with rasterio.open(f"GPKG:{tmp_path / 'v.gpkg'}:raster_{raster.kind.value}") as table:
            values = table.read(1)
            assert table.crs.to_epsg() == rastered.crs_epsg
            assert table.transform.almost_equals(grid.transform)
        assert values.dtype == np.float32
        assert np.array_equal(values, grid.values.astype(np.float32), equal_nan=True)


def test_the_engine_of_a_stored_version_decides_as_the_import_does(store, rastered):
    version = store.add_version(new_plan(store).id, rastered, "with rasters")
    stored = Engine.from_store(store, version.id)
    imported = Engine.build(rastered, plan_ref(store, version))
    app = Application(
        box(LEFT + 120, TOP - 160, LEFT + 150, TOP - 130),
        "68111",
        Building(footprint_m2=50.0, floor_area_m2=100.0, floors=2, height_m=8.0),
        crs="EPSG:32650",
    )
    decision = stored.check(app)
    assert decision.to_json() == imported.check(app).to_json()
    assert [f.rule for f in decision.findings if f.rule.startswith("raster")] == [
        "raster.slope_pct",
        "raster.flood_depth",
    ]


def test_a_failed_import_leaves_no_raster_row_bytes_or_file(store, rastered):
    plan = new_plan(store)
    kept = store.add_version(plan.id, rastered, "kept")
    before = (layer_names(store), raster_rows(store), files(store))
    # Two cells for one (activity, sub-zone): refused while the rules are written, after the
    # layers (and, in the GeoPackage store, the raster files) were written.
    broken = dataclasses.replace(
        rastered.rules, cells=(*rastered.rules.cells, ItbxCell("47111", "R-3", ("I",), "I"))
    )
    with pytest.raises(StoreError, match="nothing was stored"):
        store.add_version(plan.id, dataclasses.replace(rastered, rules=broken), "broken")
    assert (layer_names(store), raster_rows(store), files(store)) == before
    assert [v.id for v in store.versions(plan.id)] == [kept.id]
    assert store.rasters(kept.id) == rastered.rasters


def test_a_failed_first_import_leaves_no_raster_folder(tmp_path, rastered):
    store = GeoPackageStore(tmp_path / "city.gpkg")
    broken = dataclasses.replace(
        rastered.rules, cells=(*rastered.rules.cells, *rastered.rules.cells[:1])
    )
    with pytest.raises(StoreError):
        store.add_version(new_plan(store).id, dataclasses.replace(rastered, rules=broken), "x")
    assert not store.raster_dir.exists()
    store.close()


def test_a_raster_file_changed_behind_the_stores_back_is_refused(tmp_path, rastered):
    store = GeoPackageStore(tmp_path / "city.gpkg", raster_dir=tmp_path / "shared" / "rasters")
    version = store.add_version(new_plan(store).id, rastered, "v1")
    path = tmp_path / "shared" / "rasters" / f"v{version.id}" / "flood_depth.tif"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(StoreError, match=r"flood_depth raster \(f\.tif\) .* no longer matches"):
        store.load(version.id)
    path.unlink()
    with pytest.raises(StoreError, match="is missing from the store"):
        store.rasters(version.id)
    store.close()


def test_both_stores_keep_the_same_rasters(tmp_path, postgis_url, rastered):
    hashes = []
    for store in (GeoPackageStore(tmp_path / "a.gpkg"), PostgisStore(postgis_url, migrate=False)):
        version = store.add_version(new_plan(store).id, rastered, "v1")
        loaded = store.load(version.id)
        hashes.append((content_hash(loaded), [r.sha256 for r in loaded.rasters]))
        store.close()
    assert hashes[0] == hashes[1]
    assert hashes[0][0] == content_hash(rastered)
