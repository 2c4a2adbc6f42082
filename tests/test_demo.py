"""The generated demo town: a valid zone coverage with complete rules, written to files the way a
planning office receives them."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from dataclasses import astuple, fields
from itertools import pairwise
from pathlib import Path

import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely

from layers.demo import (
    DEMO_CRS_EPSG,
    DEMO_REGION,
    NO_FLAG,
    OVERLAY_LAYERS,
    ZONES_LAYER,
    DemoFiles,
    build_demo_plan,
    write_demo_files,
)
from layers.model import (
    OVERLAY_COLUMNS,
    ZONE_COLUMNS,
    IntensityRule,
    PlanData,
    SpecialProvision,
)
from layers.zoning import FLAG_COLUMNS


@pytest.fixture(scope="module")
def plan() -> PlanData:
    return build_demo_plan()


@pytest.fixture(scope="module")
def files(plan: PlanData, tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return write_demo_files(tmp_path_factory.mktemp("demo"), plan)


def _wkb_hash(geoms: np.ndarray) -> str:
    return hashlib.sha256(b"".join(shapely.to_wkb(geoms))).hexdigest()


def _activity(plan: PlanData, name: str) -> str:
    return next(a.id for a in plan.rules.activities if a.name == name)


def _cell(plan: PlanData, activity: str, subzone: str) -> str:
    aid = _activity(plan, activity)
    return next(
        c.raw for c in plan.rules.cells if (c.activity_id, c.subzone_code) == (aid, subzone)
    )


# --- zones ----------------------------------------------------------------------------------


def test_zones_tile_the_town_without_gaps_or_overlaps(plan):
    geoms = plan.zones.geometry.values
    assert plan.zones.crs.to_epsg() == DEMO_CRS_EPSG
    assert shapely.is_valid(geoms).all()
    assert set(shapely.get_type_id(geoms)) == {6}  # MultiPolygon
    assert shapely.coverage_is_valid(geoms)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max() <= 0.01  # m2
    town = shapely.union_all(geoms)
    assert town.geom_type == "Polygon"
    assert len(town.interiors) == 0
    assert town.area == pytest.approx(shapely.area(geoms).sum(), rel=1e-9)


def test_a_few_hundred_zones_in_many_families(plan):
    zones = plan.zones
    assert list(zones.columns) == [*ZONE_COLUMNS, "geometry"]
    assert 200 <= len(zones) <= 450
    assert zones["zone_code"].nunique() >= 12
    assert zones["zone_id"].tolist() == [str(i) for i in range(1, len(zones) + 1)]
    assert 30e6 < zones.area.sum() < 50e6  # m2: a town of about 40 km2


def test_zone_count_follows_the_target():
    small, large = build_demo_plan(n_target_zones=150), build_demo_plan(n_target_zones=600)
    assert len(small.zones) < len(large.zones)
    assert len(large.zones) == pytest.approx(600, rel=0.25)


def test_zone_columns_are_filled_from_the_atr_attributes(plan):
    for row in plan.zones.itertuples():
        attrs = json.loads(row.attrs)
        assert attrs["OBJECTID"] == int(row.zone_id)
        assert (attrs["KODSBL"], attrs["NAMOBJ"], attrs["KODSZN"]) == (
            row.subzone_code,
            row.subzone_name,
            row.subzone_num,
        )
        assert (attrs["KODZON"], attrs["KODBLK"]) == (row.zone_num, row.block)
        assert row.subzone_code.split("-")[0] == row.zone_code
        assert re.fullmatch(r"3[12]\d{6}", row.subzone_num)
        assert re.fullmatch(r"I\.[A-D]\.\d+", row.block)
        flags = {c: attrs[c] for c in FLAG_COLUMNS if attrs[c] != NO_FLAG}
        assert json.loads(row.flags) == flags
    flagged = Counter(k for f in plan.zones["flags"] for k in json.loads(f))
    assert {"KKOP_1", "LP2B_2", "KRB_03", "KSMPDN", "CAGBUD"} <= set(flagged)


def test_the_town_has_a_coastal_east_and_a_farming_west(plan):
    zones = plan.zones
    x = zones.geometry.representative_point().x
    minx, _, maxx, _ = zones.total_bounds
    east = (x - minx) / (maxx - minx)
    assert east[zones["subzone_code"] == "EM"].min() > 0.7
    assert east[zones["zone_code"] == "KPI"].min() > 0.5
    assert east[zones["zone_code"] == "P"].median() < 0.25
    flood = zones["flags"].map(lambda f: json.loads(f).get("KRB_03"))
    assert (flood[zones["subzone_code"] == "BA"] == "Rawan Banjir Tinggi").any()


# --- rules ------------------------------------------------------------------------------------


def test_every_subzone_on_the_map_has_a_full_itbx_column_and_intensity(plan):
    rules = plan.rules
    on_map = set(plan.zones["subzone_code"])
    assert on_map <= set(rules.subzones)
    for code, name in plan.zones[["subzone_code", "subzone_name"]].drop_duplicates().values:
        assert rules.subzones[code] == name
    assert 60 <= len(rules.activities) <= 100
    cells = Counter((c.activity_id, c.subzone_code) for c in rules.cells)
    assert set(cells.values()) == {1}
    assert set(cells) == {(a.id, sz) for a in rules.activities for sz in rules.subzones}
    assert on_map <= {r.subzone_code for r in rules.intensity}


def test_every_cell_code_is_in_the_legend(plan):
    legend = {e.code: e for e in plan.rules.legend}
    for cell in plan.rules.cells:
        assert cell.codes == tuple(cell.raw.split(","))
        for code in cell.codes:
            assert legend[code].klass.value == code[0]
    assert (legend["T1"].intensity_pct, legend["T3"].min_distance_m) == (20.0, 100.0)
    assert "20%" in legend["T1"].text and "100 meter" in legend["T3"].text


def test_activity_ids_follow_the_matrix_format(plan):
    ids = [a.id for a in plan.rules.activities]
    assert len(set(ids)) == len(ids)
    by_name = {a.name: a.id for a in plan.rules.activities}
    assert by_name["Pertanian Jagung"] == "01111"
    assert by_name["Pertanian Padi"] == "01121, 01122"
    assert by_name["Rumah Tinggal"] == "perumahan.rumah-tinggal"  # no KBLI
    assert by_name["Minimarket"] == "perdagangan-dan-jasa.minimarket"  # KBLI shared by two rows


def test_the_matrix_permits_what_each_zone_is_for(plan):
    assert _cell(plan, "Pergudangan", "KPI") == "I"
    assert _cell(plan, "Pergudangan", "R-3") == "X"
    assert _cell(plan, "Rumah Tinggal", "R-3") == "I"
    assert _cell(plan, "Rumah Tinggal", "RTH-2") == "X"
    assert _cell(plan, "Minimarket", "K-1") == "I"
    assert _cell(plan, "Rumah Sakit", "SPU-1") == "I"
    assert _cell(plan, "Aktivitas Kebandarudaraan", "TR") == "I"
    assert _cell(plan, "Pemakaman", "RTH-7") == "I"
    assert _cell(plan, "Industri Pupuk Buatan Tunggal Hara Makro Primer", "EM") == "X"


def test_the_crosswalk_links_kbli_and_kegiatan_many_to_many(plan):
    ids = {a.id for a in plan.rules.activities}
    links = plan.rules.crosswalk
    assert {e.activity_id for e in links} <= ids
    assert all(re.fullmatch(r"\d{5}", e.kbli) for e in links)
    per_kbli = Counter(e.kbli for e in links)
    per_activity = Counter(e.activity_id for e in links)
    assert per_kbli["47111"] >= 2
    assert per_kbli["68111"] >= 2
    assert max(per_activity.values()) >= 2
    for a in plan.rules.activities:
        assert {(k, a.id) for k in a.kbli} <= {(e.kbli, e.activity_id) for e in links}


def test_housing_limits_depend_on_lot_size_and_road(plan):
    for code in ("R-2", "R-3", "R-4"):
        rows = [r for r in plan.rules.intensity if r.subzone_code == code]
        for road in ("arteri", "kolektor", "lokal"):
            classes = sorted(
                ((r.lot_from_m2 or 0.0, r.lot_to_m2) for r in rows if r.road_class == road),
                key=lambda c: c[0],
            )
            assert classes[0][0] == 0.0 and classes[-1][1] is None
            assert all(a[1] == b[0] for a, b in pairwise(classes))
        for r in rows:
            assert r.klb_max <= r.kdb_max_pct * r.floors_max / 100.0 + 1e-9
            assert r.gsb_min_m is not None and r.lot_min_m2 is not None
    for r in plan.rules.intensity:
        assert r.kdb_max_pct is not None and r.klb_max is not None


def test_special_provisions_match_the_overlays(plan):
    by_kind: dict[str, list[SpecialProvision]] = {}
    for p in plan.rules.provisions:
        by_kind.setdefault(p.provision, []).append(p)
    assert set(by_kind) == set(plan.overlays["kind"])
    (lp2b,) = by_kind["LP2B"]
    assert (lp2b.effect, lp2b.kdb_max_pct, lp2b.klb_max) == ("cap", 10.0, 0.2)
    assert {p.effect for p in by_kind["SEMPADAN"]} == {"forbid"}
    assert {p.effect for p in by_kind["KKOP"]} == {"cap"}
    flood = {p.klass: p for p in by_kind["KRB"]}
    assert set(flood) == set(plan.overlays.loc[plan.overlays["kind"] == "KRB", "klass"])
    assert "perumahan" in flood["Rawan Banjir Tinggi"].text


# --- overlays ---------------------------------------------------------------------------------


def test_overlays_are_multipolygons_within_the_town(plan):
    overlays = plan.overlays
    assert list(overlays.columns) == [*OVERLAY_COLUMNS, "geometry"]
    assert set(overlays["kind"]) == set(OVERLAY_LAYERS)
    assert overlays.crs.to_epsg() == DEMO_CRS_EPSG
    geoms = overlays.geometry.values
    assert set(shapely.get_type_id(geoms)) == {6}
    assert shapely.is_valid(geoms).all()
    town = shapely.buffer(shapely.union_all(plan.zones.geometry.values), 0.01)
    assert shapely.covered_by(geoms, town).all()
    assert overlays["overlay_id"].is_unique
    flood = overlays[overlays["kind"] == "KRB"].geometry.values
    assert shapely.area(shapely.intersection_all(flood)) == 0.0


def test_kkop_ceilings_rise_away_from_the_runway(plan):
    airport = plan.zones.geometry[plan.zones["subzone_code"] == "TR"].union_all()
    kkop = plan.overlays[plan.overlays["kind"] == "KKOP"]
    for _, sections in kkop.groupby(kkop["name"].str.extract(r"Landasan (\d+)")[0]):
        distance = shapely.distance(sections.geometry.values, airport)
        ceilings = sections["ceiling_m"].to_numpy()[np.argsort(distance)]
        assert (np.diff(ceilings) > 0).all()


# --- determinism ------------------------------------------------------------------------------


def test_the_same_seed_builds_the_same_plan(plan):
    again = build_demo_plan()
    assert _wkb_hash(again.zones.geometry.values) == _wkb_hash(plan.zones.geometry.values)
    assert _wkb_hash(again.overlays.geometry.values) == _wkb_hash(plan.overlays.geometry.values)
    assert again.zones.drop(columns="geometry").equals(plan.zones.drop(columns="geometry"))
    assert again.rules.hash() == plan.rules.hash()
    other = build_demo_plan(seed=8)
    assert _wkb_hash(other.zones.geometry.values) != _wkb_hash(plan.zones.geometry.values)


# --- written files ------------------------------------------------------------------------------


def test_zones_file_reads_back_in_lon_lat_with_the_same_areas(plan, files):
    assert pyogrio.list_layers(files.zones).tolist() == [[ZONES_LAYER, "MultiPolygon"]]
    read = pyogrio.read_dataframe(files.zones, layer=ZONES_LAYER)
    assert read.crs.to_epsg() == 4326
    assert len(read) == len(plan.zones)
    assert list(read.columns[:6]) == ["OBJECTID", "NAMOBJ", "NAMZON", "KODZON", "NAMSZN", "KODSZN"]
    assert set(FLAG_COLUMNS) <= set(read.columns)
    assert (read[list(FLAG_COLUMNS)] != "").all().all()
    lon0, lat0, lon1, lat1 = read.total_bounds
    bbox = DEMO_REGION.bbox
    assert bbox is not None
    assert bbox[0] <= lon0 < lon1 <= bbox[2] and bbox[1] <= lat0 < lat1 <= bbox[3]
    read = read.sort_values("OBJECTID")
    back = read.to_crs(DEMO_CRS_EPSG).area.to_numpy()
    np.testing.assert_allclose(back, plan.zones.area.to_numpy(), rtol=1e-6)
    assert read["KODSBL"].tolist() == plan.zones["subzone_code"].tolist()


def test_overlay_file_has_one_layer_per_kind(plan, files):
    layers = dict(pyogrio.list_layers(files.overlays).tolist())
    assert layers == {layer: "MultiPolygon" for layer in OVERLAY_LAYERS.values()}
    for kind, layer in OVERLAY_LAYERS.items():
        read = pyogrio.read_dataframe(files.overlays, layer=layer)
        mine = plan.overlays[plan.overlays["kind"] == kind]
        assert read.crs.to_epsg() == 4326
        assert list(read.columns) == ["NAMA", "KELAS", "ELEV_MAX", "geometry"]
        assert read["NAMA"].tolist() == mine["name"].tolist()
        np.testing.assert_allclose(
            read["ELEV_MAX"].to_numpy(dtype=float), mine["ceiling_m"].to_numpy(dtype=float)
        )


def test_itbx_workbook_has_the_annex_layout(plan, files):
    rules = plan.rules
    sheet = openpyxl.load_workbook(files.itbx).active
    assert [sheet.cell(11, c).value for c in (1, 2, 3)] == ["No", "Kode", "Kegiatan"]
    codes = list(rules.subzones)
    last = 3 + len(codes)
    assert [sheet.cell(14, c).value for c in range(4, last + 1)] == codes
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A11:A14", "B11:B14", "C11:C14"} <= merged
    housing = [c for c in range(4, last + 1) if sheet.cell(14, c).value in ("R-2", "R-3", "R-4")]
    span = f"{_letter(housing[0])}12:{_letter(housing[-1])}12"
    assert span in merged
    assert sheet[span.split(":")[0]].value == "Zona Perumahan"
    assert [sheet.cell(13, c).value for c in housing] == [
        rules.subzones[c] for c in ("R-2", "R-3", "R-4")
    ]

    raw = {(c.activity_id, c.subzone_code): c.raw for c in rules.cells}
    rows = [r for r in sheet.iter_rows(min_row=15, values_only=True) if isinstance(r[0], int)]
    assert [r[0] for r in rows] == list(range(1, len(rules.activities) + 1))
    groups = [r[2] for r in sheet.iter_rows(min_row=15, values_only=True) if r[2] and not r[3]]
    assert groups == list(dict.fromkeys(a.group for a in rules.activities))
    for row, activity in zip(rows, rules.activities, strict=True):
        assert row[2] == activity.name
        assert row[1] == (", ".join(activity.kbli) or "-")
        assert list(row[3:last]) == [raw[(activity.id, c)] for c in codes]
    lines = [r[0] for r in sheet.iter_rows(min_row=15, values_only=True) if isinstance(r[0], str)]
    legend = [line for line in lines if " : " in line]
    assert legend == [f"{e.code} : {e.text}" for e in rules.legend]


def _letter(col: int) -> str:
    return openpyxl.utils.get_column_letter(col)


def test_rule_tables_are_written_in_canonical_form(plan, files):
    def read(path: Path) -> list[list[str]]:
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.reader(f))

    def text(row: tuple) -> list[str]:
        return ["" if v is None else str(v) for v in row]

    intensity = read(files.intensity)
    assert intensity[0] == [f.name for f in fields(IntensityRule)]
    assert intensity[1:] == [text(astuple(r)) for r in plan.rules.intensity]
    provisions = read(files.provisions)
    assert provisions[0] == [f.name for f in fields(SpecialProvision)]
    assert provisions[1:] == [text(astuple(p)) for p in plan.rules.provisions]
    crosswalk = read(files.crosswalk)
    assert crosswalk[0] == ["kbli", "kode"]
    assert crosswalk[1:] == [[e.kbli, e.activity_id] for e in plan.rules.crosswalk]
