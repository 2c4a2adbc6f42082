"""Whole imports into both stores: the demo city, the real Jagoi Babang plan with Bintan's rules,
and every kind of bad input the issue names, each refused with its place and the store unchanged."""

from __future__ import annotations

import dataclasses
import uuid
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely

from layers.demo import DEMO_REGION, OVERLAY_LAYERS, ZONES_LAYER, build_demo_plan, write_demo_files
from layers.demo_loader import demo_sources, load_demo, read_demo
from layers.errors import PlanInputError
from layers.importer import OverlaySource, PlanSources, import_plan, read_plan
from layers.model import ZONE_COLUMNS, Plan, Region, VersionStatus, content_hash
from layers.report import Severity
from layers.store import PlanStore
from tests.test_store_contract import layer_names

#: Kabupaten Bengkayang (BPS 6107), which holds Kecamatan Jagoi Babang; an approximate extent.
BENGKAYANG = Region("6107", "Kabupaten Bengkayang", (108.7, 0.3, 110.3, 1.7))


def plan_in(store: PlanStore, region: Region) -> Plan:
    store.ensure_region(region)
    return store.create_plan(region.code, f"RDTR {uuid.uuid4().hex[:6]}", "Perda uji")


def test_demo_city_imports_through_the_real_importers_unchanged(tmp_path):
    built = build_demo_plan()
    read = read_demo()
    assert read.report.errors == [] and read.report.warnings == []
    assert set(read.rules.crosswalk) == set(built.rules.crosswalk)
    assert dataclasses.replace(read.rules, crosswalk=(), sources=()) == dataclasses.replace(
        built.rules, crosswalk=(), sources=()
    )
    assert read.rules.sources == ("itbx.xlsx", "intensity.csv", "crosswalk.csv", "provisions.csv")
    assert len(read.zones) == len(built.zones)
    same = [c for c in ZONE_COLUMNS if c != "attrs"]  # attrs: the file's columns, as read
    assert read.zones[same].astype(object).equals(built.zones[same].astype(object))
    areas = shapely.area(read.zones.geometry.values) / shapely.area(built.zones.geometry.values)
    assert abs(areas - 1).max() < 1e-6


def test_load_demo_activates_once_and_is_idempotent(store: PlanStore):
    first = load_demo(store)
    assert first.status is VersionStatus.ACTIVE
    assert store.version_in_force(first.plan_id, date.today()) == first
    again = load_demo(store)
    assert again == first
    assert len(store.versions(first.plan_id)) == 1
    assert content_hash(store.load(first.id)) == first.content_hash


def jagoi_sources(shared_data: Path) -> PlanSources:
    jagoi, bintan = shared_data / "jagoibabang", shared_data / "rules" / "bintan"
    return PlanSources(
        zoning=jagoi / "KONSEPPOLARUANG_5.geojson",
        itbx=bintan / "itbx_lampiran_xv_bsb.xlsx",
        intensity=bintan / "intensitas_bsb.csv",
        overlays=(OverlaySource("LP2B", jagoi / "LP2B_4.geojson", klass_column="LP2B_1"),),
    )


def test_jagoi_babang_with_bintan_rules_imports_and_reports_its_defects(store, shared_data):
    plan = plan_in(store, BENGKAYANG)
    version = import_plan(store, plan.id, jagoi_sources(shared_data), "konsep pola ruang")

    assert (version.zone_count, version.crs_epsg) == (595, 32649)
    report = version.report
    [repaired] = report.by_code("invalid-geometry")
    assert repaired.feature == "OBJECTID 424" and "Self-intersection" in repaired.message
    assert repaired.severity is Severity.WARNING and repaired.location is not None
    [spu] = report.by_code("num-code-conflict")
    assert spu.feature == "OBJECTID 33" and "32104300" in spu.message
    assert {i.details["subzone_code"] for i in report.by_code("rules-missing")} >= {"R-5"}
    uncovered = report.by_code("provision-rules-missing")  # the Bintan tables have no provisions
    assert {(i.details["kind"], i.details["klass"]) for i in uncovered} >= {
        ("LP2B", "LP2B"),
        ("LP2B", "LCP2B"),
        ("KRB", "Rawan Banjir Sedang"),
    }
    assert not report.errors

    zones = store.zones(version.id)
    assert zones.geometry.area.sum() / 10_000 == pytest.approx(4_277, rel=1e-3)
    assert len(store.overlays(version.id)) == 109
    rules = store.rules(version.id)
    assert len(rules.activities) == 1_801
    active = store.activate(version.id, date(2025, 1, 1))
    assert store.version_in_force(plan.id, date(2025, 6, 1)) == active


def test_an_overlay_that_meets_no_zone_is_reported(tmp_path):
    """A setback layer of another area (the demo's, 110 km east): read and kept, since nothing
    in it is wrong as data, but with a warning that no check will ever cite it."""
    files = demo_files(tmp_path)
    far = pyogrio.read_dataframe(files.overlays, layer=OVERLAY_LAYERS["SEMPADAN"])
    far.geometry = far.geometry.translate(xoff=1.0)  # lon/lat: a degree, about 110 km
    pyogrio.write_dataframe(far, tmp_path / "far.gpkg")
    sources = demo_sources(files)
    far_source = OverlaySource("SEMPADAN", tmp_path / "far.gpkg", name_column="NAMA")
    data = read_plan(dataclasses.replace(sources, overlays=(*sources.overlays, far_source)))
    assert read_plan(sources).report.by_code("overlay-outside") == []
    [outside] = data.report.by_code("overlay-outside")
    assert outside.severity is Severity.WARNING and outside.source == "far.gpkg"
    assert "no polygon of the SEMPADAN overlay meets a zone of the plan" in outside.message
    assert len(data.overlays) == len(read_plan(sources).overlays) + len(far)


# -- bad input: each refused with file and place, nothing stored -----------------------------


def demo_files(folder: Path):
    return write_demo_files(folder, build_demo_plan(n_target_zones=60))


def zones_frame(files) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(files.zones, layer=ZONES_LAYER)


def not_a_vector_layer(files, folder):
    files.zones.write_bytes(b"this is a spreadsheet, honestly")
    return demo_sources(files), r"zones\.gpkg.*not .*vector|zones\.gpkg"


def no_crs(files, folder):
    path = folder / "pola_ruang.shp"
    pyogrio.write_dataframe(zones_frame(files), path)
    path.with_suffix(".prj").unlink()
    return dataclasses.replace(
        demo_sources(files), zoning=path, layer=None
    ), r"pola_ruang\.shp.*no CRS"


def swapped(files, folder):
    frame = zones_frame(files)
    frame.geometry = shapely.transform(frame.geometry.values, lambda xy: xy[:, ::-1])
    path = folder / "swapped.gpkg"
    pyogrio.write_dataframe(frame, path)
    return dataclasses.replace(
        demo_sources(files), zoning=path, layer=None
    ), r"swapped\.gpkg.*swapped"


def empty_layer(files, folder):
    path = folder / "empty.gpkg"
    pyogrio.write_dataframe(zones_frame(files).iloc[:0], path)
    return dataclasses.replace(demo_sources(files), zoning=path, layer=None), r"empty\.gpkg.*empty"


def missing_mapped_column(files, folder):
    sources = dataclasses.replace(demo_sources(files), mapping={"subzone_code": "Kode_Z3"})
    return sources, r"zones\.gpkg.*Kode_Z3"


def undefined_itbx_code(files, folder):
    book = openpyxl.load_workbook(files.itbx)
    sheet = book.active
    cell = next(c for row in sheet.iter_rows(min_row=15) for c in row if c.value == "I")
    cell.value = "T7"
    book.save(files.itbx)
    where = rf"itbx\.xlsx.*row {cell.row}, column {cell.column_letter}.*T7"
    return demo_sources(files), where


def zip_leaving_its_folder(files, folder):
    archive = folder / "plan.zip"
    shp = folder / "zones.shp"
    pyogrio.write_dataframe(zones_frame(files), shp)
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.glob("zones.*"):
            if part.suffix != ".gpkg":
                zf.write(part, f"../../{part.name}")
    return dataclasses.replace(demo_sources(files), zoning=archive, layer=None), r"plan\.zip.*\.\./"


def three_d(files, folder):
    frame = zones_frame(files)
    frame.geometry = shapely.force_3d(frame.geometry.values, 12.0)
    path = folder / "with_z.gpkg"
    pyogrio.write_dataframe(frame, path)
    return dataclasses.replace(
        demo_sources(files), zoning=path, layer=None
    ), r"with_z\.gpkg.*(3D|Z)"


BAD_INPUTS = [
    not_a_vector_layer,
    no_crs,
    swapped,
    empty_layer,
    missing_mapped_column,
    undefined_itbx_code,
    zip_leaving_its_folder,
    three_d,
]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[f.__name__ for f in BAD_INPUTS])
def test_bad_input_is_refused_with_its_place_and_nothing_is_stored(store, tmp_path, bad):
    plan = plan_in(store, DEMO_REGION)
    files = demo_files(tmp_path)
    kept = import_plan(store, plan.id, demo_sources(files), "good")
    before = (store.versions(plan.id), layer_names(store))

    sources, message = bad(files, tmp_path)
    with pytest.raises(PlanInputError, match=message):
        import_plan(store, plan.id, sources, "bad")

    assert (store.versions(plan.id), layer_names(store)) == before
    assert store.version(kept.id) == kept


def test_plan_outside_its_region_is_refused(store, tmp_path):
    jayapura = Region("9471", "Kota Jayapura", (140.5, -2.8, 140.9, -2.4))
    plan = plan_in(store, jayapura)
    files = demo_files(tmp_path)
    with pytest.raises(
        PlanInputError, match=r"zones\.gpkg: \d+ of \d+ zones lie outside region 9471"
    ):
        import_plan(store, plan.id, demo_sources(files), "wrong city")
    assert store.versions(plan.id) == []
