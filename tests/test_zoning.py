"""Reading zoning and overlay layers from real files: formats, mapping, CRS, and every bad input."""

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from gis.crs import reproject
from gis.errors import CRSError
from layers.errors import PlanInputError
from layers.model import OVERLAY_COLUMNS, ZONE_COLUMNS
from layers.report import Severity
from layers.zoning import read_overlay, read_zoning
from tests.geoms import (
    BOWTIE,
    BOWTIE_CROSSING,
    COLLAPSED,
    EPSG,
    LONLAT_SQUARE,
    SQUARE_Z,
    SWAPPED_SQUARE,
    ZONE_EAST,
    ZONE_WEST,
    at,
    rect,
)


def atr_frame(geoms=(ZONE_WEST, ZONE_EAST), codes=("R-3", "K-1"), *, crs=4326):
    """Zones in the ATR/BPN schema, as planners export them (lon/lat by default)."""
    size = len(geoms)
    metric = np.array(geoms, dtype=object)
    frame = gpd.GeoDataFrame(
        {
            "OBJECTID": np.arange(11, 11 + size, dtype="int32"),
            "KODSBL": list(codes),
            "NAMOBJ": ["Perumahan Kepadatan Sedang", "Perdagangan dan Jasa Skala Kota"][:size],
            "KODSZN": ["32103300", "32112100"][:size],
            "KODZON": [32100000.0, np.nan][:size],
            "KODBLK": ["II.A.2", "II.A.3"][:size],
            "KRB_03": ["Rawan Banjir Sedang", "Tidak Ada"][:size],
            "LP2B_2": ["TIDAK ADA", "K02B"][:size],
            "PUSLIT": [" ", "Tidak Ada"][:size],
        },
        geometry=reproject(metric, EPSG, crs) if crs != EPSG else metric,
        crs=crs,
    )
    return frame


def write(frame, path, **kwargs):
    pyogrio.write_dataframe(frame, path, **kwargs)
    return path


def zipped(folder: Path, archive: Path, prefix: str = "plan/") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for member in sorted(folder.iterdir()):
            zf.write(member, prefix + member.name)
    return archive


def write_format(frame, tmp_path: Path, kind: str) -> Path:
    if kind == "zip":
        src = tmp_path / "src"
        src.mkdir()
        write(frame, src / "zoning.shp")
        return zipped(src, tmp_path / "zoning.zip")
    if kind == "gdb":
        return write(frame, tmp_path / "zoning.gdb", driver="OpenFileGDB", layer="zoning")
    return write(frame, tmp_path / f"zoning.{kind}")


@pytest.mark.parametrize("kind", ["shp", "zip", "gpkg", "geojson", "gdb"])
def test_each_format_reads_into_the_metric_crs(tmp_path, kind):
    path = write_format(atr_frame(), tmp_path, kind)
    layer = read_zoning(path)
    zones = layer.zones
    assert layer.source == path.name
    assert list(zones.columns) == [*ZONE_COLUMNS, "geometry"]
    assert layer.crs_epsg == EPSG and zones.crs.to_epsg() == EPSG
    assert zones["zone_id"].tolist() == ["11", "12"]
    assert layer.id_column == "OBJECTID"
    assert zones["subzone_code"].tolist() == ["R-3", "K-1"]
    assert zones["zone_code"].tolist() == ["R", "K"]
    assert zones["subzone_num"].tolist() == ["32103300", "32112100"]
    assert zones["zone_num"].tolist() == ["32100000", None]
    assert zones["block"].tolist() == ["II.A.2", "II.A.3"]
    assert (zones.geom_type == "MultiPolygon").all()
    assert zones.area.tolist() == pytest.approx([10_000, 10_000], abs=0.01)
    assert not layer.report.has_errors


def test_flags_keep_only_provisions_that_apply_and_attrs_keep_everything(tmp_path):
    zones = read_zoning(write(atr_frame(), tmp_path / "zoning.gpkg")).zones
    assert [json.loads(f) for f in zones["flags"]] == [
        {"KRB_03": "Rawan Banjir Sedang"},
        {"LP2B_2": "K02B"},
    ]
    attrs = json.loads(zones["attrs"].iloc[1])
    assert attrs["KODZON"] is None
    assert attrs["PUSLIT"] == "Tidak Ada"
    assert attrs["OBJECTID"] == 12
    assert {"KODSBL", "NAMOBJ", "KODSZN", "KODBLK", "KRB_03", "LP2B_2"} <= attrs.keys()


def test_features_without_objectid_are_named_by_row(tmp_path):
    path = write(atr_frame().drop(columns="OBJECTID"), tmp_path / "zoning.geojson")
    layer = read_zoning(path)
    assert layer.zones["zone_id"].tolist() == ["1", "2"]
    assert layer.id_column == "row"


def test_mapping_overrides_and_matches_case_insensitively(tmp_path):
    frame = atr_frame(codes=("SPU-2.3", "R-3")).rename(columns={"KODSBL": "Kode_Z3"})
    path = write(frame, tmp_path / "old_plan.gpkg")
    zones = read_zoning(path, mapping={"subzone_code": "kode_z3"}).zones
    assert zones["subzone_code"].tolist() == ["SPU-2.3", "R-3"]
    assert zones["zone_code"].tolist() == ["SPU", "R"]


def test_layer_without_subzone_column_asks_for_a_mapping(tmp_path):
    frame = atr_frame().rename(columns={"KODSBL": "Kode_Z3"})
    path = write(frame, tmp_path / "old_plan.gpkg")
    with pytest.raises(PlanInputError, match=r"old_plan\.gpkg: no sub-zone code column KODSBL.*"):
        read_zoning(path)


def test_mapping_to_a_missing_column_names_it_and_the_columns(tmp_path):
    path = write(atr_frame(), tmp_path / "zoning.gpkg")
    with pytest.raises(PlanInputError) as info:
        read_zoning(path, mapping={"subzone_code": "Kode_Z3"})
    message = str(info.value)
    assert "zoning.gpkg" in message and "'Kode_Z3'" in message
    assert "OBJECTID, KODSBL, NAMOBJ, KODSZN" in message


def test_missing_optional_columns_are_warned_about(tmp_path):
    path = write(atr_frame().drop(columns=["KODBLK"]), tmp_path / "zoning.gpkg")
    layer = read_zoning(path)
    assert layer.zones["block"].tolist() == [None, None]
    [issue] = layer.report.by_code("missing-column")
    assert "KODBLK" in issue.message


def test_zip_member_leaving_the_archive_is_refused_before_reading(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write(atr_frame(), src / "zoning.shp")
    archive = zipped(src, tmp_path / "evil.zip", prefix="../")
    with pytest.raises(PlanInputError, match=r"evil\.zip: member '\.\./zoning\.\w+' leaves"):
        read_zoning(archive)
    absolute = tmp_path / "absolute.zip"
    with zipfile.ZipFile(absolute, "w") as zf:
        zf.writestr("/etc/zoning.shp", b"")
    with pytest.raises(PlanInputError, match=r"member '/etc/zoning\.shp' leaves the archive"):
        read_zoning(absolute)


def test_zip_with_shapefiles_at_its_root(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write(atr_frame(), src / "zoning.shp")
    assert len(read_zoning(zipped(src, tmp_path / "flat.zip", prefix="")).zones) == 2


def test_layer_choice_in_a_multi_layer_file(tmp_path):
    path = write(atr_frame(), tmp_path / "plan.gpkg", layer="pola_ruang")
    write(atr_frame()[:1], path, layer="other", append=False)
    with pytest.raises(PlanInputError, match=r"plan\.gpkg: 2 layers.*pola_ruang, other"):
        read_zoning(path)
    assert len(read_zoning(path, layer="pola_ruang").zones) == 2
    with pytest.raises(PlanInputError, match="no layer 'nope'; layers: pola_ruang, other"):
        read_zoning(path, layer="nope")


def test_not_a_vector_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a map")
    with pytest.raises(PlanInputError, match=r"notes\.txt: not a readable vector layer"):
        read_zoning(text)
    table = tmp_path / "table.csv"
    table.write_text("a,b\n1,2\n")
    with pytest.raises(PlanInputError, match=r"table\.csv: no layer with geometry"):
        read_zoning(table)
    with pytest.raises(PlanInputError, match=r"missing\.shp: no such file"):
        read_zoning(tmp_path / "missing.shp")


def test_empty_layer(tmp_path):
    path = write(atr_frame()[:0], tmp_path / "empty.gpkg", geometry_type="Polygon")
    with pytest.raises(PlanInputError, match=r"empty\.gpkg: layer 'empty' has no features"):
        read_zoning(path)


def test_shapefile_without_prj(tmp_path):
    path = write(atr_frame(), tmp_path / "zoning.shp")
    (tmp_path / "zoning.prj").unlink()
    with pytest.raises(PlanInputError, match=r"zoning\.shp has no CRS \(\.prj missing\?\)"):
        read_zoning(path)


def test_swapped_lon_lat_is_refused(tmp_path):
    frame = atr_frame()[:1].set_geometry([SWAPPED_SQUARE], crs=4326)
    path = write(frame, tmp_path / "swapped.gpkg")
    with pytest.raises(PlanInputError, match=r"swapped\.gpkg: .*latitude, longitude \(swapped\)"):
        read_zoning(path)


def test_degrees_under_a_projected_crs_are_refused(tmp_path):
    frame = atr_frame()[:1].set_geometry([LONLAT_SQUARE], crs=EPSG)
    path = write(frame, tmp_path / "wrong_prj.shp")
    with pytest.raises(PlanInputError, match=r"wrong_prj\.shp: .*look like lon/lat degrees"):
        read_zoning(path)


def test_3d_geometries_refused_unless_allowed(tmp_path):
    frame = atr_frame(crs=EPSG)
    frame = frame.set_geometry([frame.geometry.iloc[0], SQUARE_Z], crs=EPSG)
    path = write(frame, tmp_path / "z.gpkg")
    with pytest.raises(PlanInputError, match=r"z\.gpkg: 3D coordinates .* in OBJECTID 12$"):
        read_zoning(path)
    layer = read_zoning(path, allow_z=True)
    assert not shapely.has_z(layer.zones.geometry.array).any()
    [issue] = layer.report.by_code("z-dropped")
    assert "1 feature(s)" in issue.message and issue.feature == "OBJECTID 12"


def test_non_polygon_geometry_names_the_feature(tmp_path):
    frame = atr_frame(crs=EPSG)
    frame = frame.set_geometry([ZONE_WEST, shapely.Point(377_000, 143_000)], crs=EPSG)
    path = write(frame, tmp_path / "mixed.gpkg")
    with pytest.raises(
        PlanInputError, match=r"mixed\.gpkg: non-polygon geometry \(Point\) in OBJECTID 12"
    ):
        read_zoning(path)


def test_empty_geometry_names_the_feature(tmp_path):
    frame = atr_frame(crs=EPSG)
    frame = frame.set_geometry([ZONE_WEST, None], crs=EPSG)
    path = write(frame, tmp_path / "holes.gpkg")
    with pytest.raises(PlanInputError, match=r"holes\.gpkg: empty geometry in OBJECTID 12"):
        read_zoning(path)


def test_unrepairable_geometry_names_the_feature_and_reason(tmp_path):
    frame = atr_frame(crs=EPSG).set_geometry([ZONE_WEST, COLLAPSED], crs=EPSG)
    path = write(frame, tmp_path / "broken.gpkg")
    with pytest.raises(
        PlanInputError,
        match=r"broken\.gpkg: invalid geometry that cannot be repaired \(OBJECTID 12: Self",
    ):
        read_zoning(path)


def test_bowtie_is_repaired_and_reported_with_its_lonlat_location(tmp_path):
    frame = atr_frame(crs=EPSG).set_geometry([ZONE_EAST, BOWTIE], crs=EPSG)
    layer = read_zoning(write(frame, tmp_path / "bowtie.gpkg"))
    [issue] = layer.report.by_code("invalid-geometry")
    assert issue.feature == "OBJECTID 12"
    assert issue.severity == "warning"
    assert "Self-intersection" in issue.message
    expected = reproject(np.array([shapely.Point(BOWTIE_CROSSING)]), EPSG, 4326)[0]
    assert issue.location == pytest.approx((expected.x, expected.y), abs=1e-7)
    assert layer.zones.area.iloc[1] == pytest.approx(5_000)
    assert issue.details["area_change_m2"] == pytest.approx(5_000)


def test_duplicate_ids_are_warned_about(tmp_path):
    frame = atr_frame().assign(OBJECTID=np.array([7, 7], dtype="int32"))
    layer = read_zoning(write(frame, tmp_path / "dup.gpkg"))
    [issue] = layer.report.by_code("duplicate-id")
    assert issue.message == "2 features share OBJECTID 7"


def test_crs_choice(tmp_path):
    lonlat = write(atr_frame(), tmp_path / "lonlat.gpkg")
    assert read_zoning(lonlat).crs_epsg == 32649
    assert read_zoning(lonlat, crs_epsg=23830).zones.crs.to_epsg() == 23830
    metric = read_zoning(write(atr_frame(crs=EPSG), tmp_path / "utm.gpkg"))
    assert metric.crs_epsg == EPSG
    assert metric.report.by_code("reprojected") == []
    south = atr_frame(crs=4326).set_geometry([shapely.box(117.5, -0.6, 117.51, -0.59)] * 2)
    assert read_zoning(write(south, tmp_path / "south.gpkg")).crs_epsg == 32750
    with pytest.raises(CRSError, match="EPSG:4326 is not a metric CRS"):
        read_zoning(lonlat, crs_epsg=4326)


def test_read_overlay_with_class_and_ceiling(tmp_path):
    frame = atr_frame().assign(KELAS=["Rawan Banjir Tinggi", None], TINGGI=["45.5", ""])
    path = write(frame, tmp_path / "krb.gpkg")
    overlays, report = read_overlay(
        path, "KRB", crs_epsg=EPSG, klass_column="kelas", ceiling_column="TINGGI"
    )
    assert list(overlays.columns) == [*OVERLAY_COLUMNS, "geometry"]
    assert overlays["kind"].tolist() == ["KRB", "KRB"]
    assert overlays["klass"].tolist() == ["Rawan Banjir Tinggi", None]
    assert overlays["ceiling_m"].iloc[0] == 45.5
    assert np.isnan(overlays["ceiling_m"].iloc[1])
    assert overlays["overlay_id"].tolist() == ["11", "12"]
    assert overlays.crs.to_epsg() == EPSG
    assert not report.has_errors


def test_read_overlay_errors_name_column_and_feature(tmp_path):
    path = write(atr_frame().assign(TINGGI=["45", "tinggi"]), tmp_path / "kkop.gpkg")
    with pytest.raises(PlanInputError, match=r"kkop\.gpkg: column 'KELAS' \(for klass\) not found"):
        read_overlay(path, "KKOP", crs_epsg=EPSG, klass_column="KELAS")
    with pytest.raises(
        PlanInputError, match=r"kkop\.gpkg: column TINGGI is not a number in OBJECTID 12"
    ):
        read_overlay(path, "KKOP", crs_epsg=EPSG, ceiling_column="TINGGI")


def test_overlapping_polygons_of_one_provision_are_reported_with_their_shared_area(tmp_path):
    """Two KRB polygons of one class overlapping by 10 m x 100 m: a warning naming both, with
    the area they share and where; a polygon of another class over them, and one that only
    touches, are no such pair."""
    high, low = "Rawan Banjir Tinggi", "Rawan Banjir Rendah"
    polygons = (
        rect(0, 0, 100, 100),
        rect(90, 0, 190, 100),
        rect(50, 0, 150, 50),
        rect(190, 0, 250, 100),
    )
    frame = gpd.GeoDataFrame(
        {"OBJECTID": [1, 2, 3, 4], "KELAS": [high, high, low, high]},
        geometry=list(polygons),
        crs=EPSG,
    )
    overlays, report = read_overlay(
        write(frame, tmp_path / "krb.gpkg"), "KRB", crs_epsg=EPSG, klass_column="KELAS"
    )
    [pair] = report.by_code("overlay-overlap")
    assert pair.severity is Severity.WARNING
    assert pair.feature == "OBJECTID 1, OBJECTID 2"
    assert f"KRB {high} polygons OBJECTID 1 and OBJECTID 2 overlap" in pair.message
    assert pair.area_m2 == pytest.approx(1_000.0, rel=1e-9)
    x, y = reproject(np.array([shapely.Point(at(95, 50))]), EPSG, 4326)[0].coords[0]
    assert pair.location == pytest.approx((x, y), abs=1e-3)
    assert pair.source == "krb.gpkg"
    assert len(overlays) == 4


def test_jagoi_babang_plan(shared_data):
    layer = read_zoning(shared_data / "jagoibabang" / "KONSEPPOLARUANG_5.geojson")
    zones = layer.zones
    assert len(zones) == 595
    assert layer.crs_epsg == 32649
    assert zones.area.sum() / 10_000 == pytest.approx(4_277, abs=1)
    [repair] = layer.report.by_code("invalid-geometry")
    assert repair.feature == "OBJECTID 424"
    assert "Self-intersection" in repair.message
    assert repair.location == pytest.approx((110.00866, 1.23179), abs=1e-4)
    assert not layer.report.has_errors
    assert zones.loc[zones["zone_id"] == "1", "zone_num"].item() == "32040000"


def test_jagoi_babang_lp2b_overlay(shared_data):
    overlays, report = read_overlay(
        shared_data / "jagoibabang" / "LP2B_4.geojson",
        "LP2B",
        crs_epsg=32649,
        klass_column="LP2B_1",
    )
    assert len(overlays) > 0
    assert set(overlays["kind"]) == {"LP2B"}
    assert overlays["overlay_id"].iloc[0] == "1"
    assert (overlays.geom_type == "MultiPolygon").all()
    assert not report.has_errors
