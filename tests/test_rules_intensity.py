"""The intensity importer over the real Bintan and Yogyakarta tables and over generated ones."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from layers.errors import PlanInputError
from layers.model import IntensityRule
from layers.report import QualityReport
from layers.rules import NameIndex, read_intensity, read_itbx
from tests.rule_tables import write_canonical, write_csv


@pytest.fixture(scope="module")
def bintan_names(shared_data: Path) -> dict[str, NameIndex]:
    """Each Bintan plan's sub-zone names and codes, from its ITBX annex's header."""
    folder = shared_data / "rules" / "bintan"
    return {
        key: NameIndex.from_subzones(read_itbx(folder / name, report=QualityReport()).subzones)
        for key, name in (
            ("bsb", "itbx_lampiran_xv_bsb.xlsx"),
            ("trikora", "itbx_lampiran_xiv_trikora.xlsx"),
        )
    }


def rules_of(rules: tuple[IntensityRule, ...], code: str) -> list[IntensityRule]:
    return [r for r in rules if r.subzone_code == code]


def test_bsb_intensity_resolves_names_through_the_itbx_header(shared_data, bintan_names):
    report = QualityReport()
    path = shared_data / "rules" / "bintan" / "intensitas_bsb.csv"
    rules = read_intensity(path, names=bintan_names["bsb"], report=report).intensity
    # the only name the annex spells otherwise: "Perdagangan Skala SWP" (K-3) in the matrix
    assert [(i.code, i.feature) for i in report.issues] == [
        ("subzone-unresolved", "row 34, column B (SubZona)")
    ]
    assert "'Perdagangan dan Jasa Skala SWP'" in report.issues[0].message
    assert rules_of(rules, "IK")  # "Perikanan Budi Daya" found as "Perikanan Budidaya"
    assert rules_of(rules, "BA") == [IntensityRule("BA")]  # listed, the plan sets no limit
    kpi = {r.road_class: r for r in rules_of(rules, "KPI")}
    assert {k: (r.height_max_m, r.gsb_min_m) for k, r in kpi.items()} == {
        "arteri": (13.0, 22.5),
        "kolektor": (9.0, 17.5),
        "lokal": (9.0, 12.5),
    }
    assert (kpi["lokal"].kdb_max_pct, kpi["lokal"].klb_max, kpi["lokal"].kdh_min_pct) == (
        60.0,
        1.8,
        30.0,
    )
    assert [r.floors_max for r in rules_of(rules, "SPU-1")] == [3, 2, 2]  # "3 lantai"
    assert "khas Melayu" in (rules_of(rules, "SPU-1")[0].note or "")
    offices = {r.variant for r in rules_of(rules, "KT")}
    assert offices == {"Vertikal 1-3 lantai", "Vertikal 4-5 lantai"}


def test_an_alias_resolves_the_name_the_header_spells_otherwise(shared_data, bintan_names):
    names = bintan_names["bsb"].extended([("Perdagangan dan Jasa Skala SWP", "K-3")])
    report = QualityReport()
    path = shared_data / "rules" / "bintan" / "intensitas_bsb.csv"
    rules = read_intensity(path, names=names, report=report).intensity
    assert report.issues == []
    assert [r.road_class for r in rules_of(rules, "K-3")] == ["arteri", "kolektor", "lokal"]


def test_unresolved_name_without_a_report_names_file_row_and_name(shared_data, bintan_names):
    path = shared_data / "rules" / "bintan" / "intensitas_bsb.csv"
    with pytest.raises(PlanInputError) as err:
        read_intensity(path, names=bintan_names["bsb"])
    assert "intensitas_bsb.csv, row 34, column B (SubZona)" in str(err.value)
    assert "'Perdagangan dan Jasa Skala SWP'" in str(err.value)


def test_trikora_intensity_has_collector_and_local_roads_only(shared_data, bintan_names):
    report = QualityReport()
    path = shared_data / "rules" / "bintan" / "intensitas_trikora.csv"
    rules = read_intensity(path, names=bintan_names["trikora"], report=report).intensity
    assert {r.road_class for r in rules} == {None, "kolektor", "lokal"}
    assert {r.subzone_code for r in rules} <= {
        "BA", "HL", "PS", "RTH-4", "RTH-5", "RTH-6", "RTH-7", "RTH-8", "CB", "EM", "BJ", "HPK",
        "HP", "P-3", "P-4", "KPI", "W", "R-2", "R-3", "R-4", "SPU-1", "SPU-2", "SPU-3", "SPU-4",
        "K-2", "K-3", "KT", "MNL", "RTNH", "TR", "HK",
    }  # fmt: skip
    unresolved = {i.message.split("'")[1] for i in report.by_code("subzone-unresolved")}
    assert {"Taman Kota", "Tanaman Pangan", "Perdagangan dan Jasa Skala Kota"} <= unresolved
    assert [r.gsb_min_m for r in rules_of(rules, "PS")] == [17.5, 12.5]


def test_name_keyed_table_needs_names(shared_data):
    with pytest.raises(PlanInputError, match=r"keyed by sub-zone name .* names="):
        read_intensity(shared_data / "rules" / "bintan" / "intensitas_bsb.csv")


def test_yogyakarta_limits_by_five_lot_size_classes(shared_data):
    report = QualityReport()
    path = shared_data / "rules" / "yogyakarta" / "intensitas.csv"
    rules = read_intensity(path, report=report).intensity
    assert report.issues == []
    assert len(rules) == 75
    classes = sorted({(r.lot_from_m2, r.lot_to_m2) for r in rules}, key=lambda b: b[0] or 0)
    # "40-100", "101-200", ... of whole m2 meet; ">= 1001m2" is open-ended
    assert classes == [(40, 101), (101, 201), (201, 401), (401, 1001), (1001, None)]
    trade = {r.lot_from_m2: r for r in rules_of(rules, "K")}
    assert (trade[1001].klb_max, trade[1001].height_max_m, trade[40].kdb_max_pct) == (
        6.4,
        32,
        90,
    )


# -- generated tables ------------------------------------------------------------------------


def test_decimal_commas_in_a_semicolon_csv(tmp_path):
    path = write_csv(
        tmp_path / "i.csv",
        [
            ["SubZona", "KDB Maks (%)", "KLB Maks", "Luas Kavling Min (m2)"],
            ["Perumahan Kepadatan Sedang", "51,29", "1,8", "1.200,5"],
        ],
        delimiter=";",
    )
    names = NameIndex([("Zona Perumahan Kepadatan Sedang", "R-3")])
    (rule,) = read_intensity(path, names=names).intensity
    assert (rule.subzone_code, rule.kdb_max_pct, rule.klb_max, rule.lot_min_m2) == (
        "R-3",
        51.29,
        1.8,
        1200.5,
    )
    assert rule.road_class is None


def test_a_bad_number_names_its_cell(tmp_path):
    path = write_csv(tmp_path / "i.csv", [["zone", "KDB_pct", "KLB"], ["R-3", "60", "1-3"]])
    with pytest.raises(PlanInputError, match=r"i.csv, row 2, column C \(KLB\): '1-3' is not"):
        read_intensity(path)


def test_an_unknown_column_is_not_silently_dropped(tmp_path):
    path = write_csv(tmp_path / "i.csv", [["zone", "KDB_pct", "Sudut Atap"], ["R-3", "60", "30"]])
    with pytest.raises(PlanInputError, match="'Sudut Atap' is not an intensity limit"):
        read_intensity(path)
    report = QualityReport()
    assert read_intensity(path, report=report).intensity == (IntensityRule("R-3", kdb_max_pct=60),)
    assert report.by_code("intensity-column")


CANONICAL = (
    IntensityRule("R-3", road_class="arteri", kdb_max_pct=70.0, klb_max=2.1, floors_max=3),
    IntensityRule(
        "K",
        lot_from_m2=1001.0,
        kdh_min_pct=10.0,
        ktb_max_pct=50.0,
        height_max_m=32.0,
        lot_min_m2=90.0,
        gsb_min_m=12.5,
        side_min_m=1.0,
        rear_min_m=1.5,
        variant="Vertikal 4-5 lantai",
        note="a) Bentuk atap khas Melayu.\nb) Motif khas Melayu.",
    ),
    IntensityRule("BA"),
)


def test_canonical_csv_round_trip(tmp_path):
    path = write_canonical(tmp_path / "canonical.csv", CANONICAL)
    assert read_intensity(path).intensity == CANONICAL


def test_canonical_xlsx_round_trip_with_a_subset_of_columns(tmp_path):
    columns = ["subzone_code", "road_class", "kdb_max_pct", "klb_max", "floors_max"]
    book = openpyxl.Workbook()
    book.active.append(columns)
    book.active.append(["R-3", "Arteri", 70, 2.1, 3])
    book.save(tmp_path / "canonical.xlsx")
    assert read_intensity(tmp_path / "canonical.xlsx").intensity == CANONICAL[:1]


def test_canonical_table_with_a_misspelt_column(tmp_path):
    path = write_csv(tmp_path / "c.csv", [["subzone_code", "kdb_max"], ["R-3", "60"]])
    with pytest.raises(PlanInputError, match=r"c.csv: unknown column\(s\) 'kdb_max' \(the"):
        read_intensity(path)
