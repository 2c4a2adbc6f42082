"""Shared table reading, sub-zone names, the KBLI crosswalk and special provisions."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from layers.errors import PlanInputError
from layers.model import CrosswalkEntry, SpecialProvision
from layers.report import QualityReport
from layers.rules import NameIndex, normalize_name, read_crosswalk, read_itbx, read_provisions
from layers.rules.tables import number, read_table
from tests.rule_tables import write_canonical, write_csv

# -- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zona Badan Air", "Badan Air"),
        ("Sub-Zona Perikanan Budi Daya", "Perikanan Budidaya"),
        ("Sub Zona  Perumahan   Kepadatan Sedang ", "perumahan kepadatan sedang"),
        ("Hutan Produksi yang Dapat di Konversi", "Hutan Produksi yang dapat Dikonversi"),
        ("Ruang Terbuka Hijau (RTH)", "Ruang Terbuka Hijau"),
    ],
)
def test_spellings_of_one_name_meet(a, b):
    assert normalize_name(a) == normalize_name(b)


def test_different_names_stay_apart():
    assert normalize_name("Perdagangan dan Jasa Skala WP") != normalize_name(
        "Perdagangan dan Jasa Skala SWP"
    )


def test_name_index_reports_unknown_and_ambiguous_names():
    index = NameIndex(
        [
            ("Perumahan Kepadatan Sedang", "R-3"),
            ("Zona Perumahan Kepadatan Sedang", "R-3"),
            ("Taman RT", "RTH-6"),
            ("Taman RT", "RTH-7"),
        ]
    )
    assert index.resolve("Sub-Zona Perumahan Kepadatan Sedang") == "R-3"
    assert index.ambiguous == {"Taman RT": ("RTH-6", "RTH-7")}
    with pytest.raises(LookupError, match=r"ambiguous: .* RTH-6, RTH-7"):
        index.resolve("taman rt")
    with pytest.raises(LookupError, match="close: 'Perumahan Kepadatan Sedang'"):
        index.resolve("Perumahan Kepadatan Sedan")
    assert "Taman RT" not in index and "R-3" in index


# -- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("51,29", 51.29),
        ("1.200,5", 1200.5),
        ("1,200.5", 1200.5),
        ("20 %", 20.0),
        ("3 lantai", 3.0),
        ("90 m2", 90.0),
        (" 12 ", 12.0),
        (7, 7.0),
        ("", None),
    ],
)
def test_numbers_as_planners_write_them(raw, value):
    assert number(raw) == value


@pytest.mark.parametrize("raw", ["1-3", "dua", "3 lantai 2", "12 m 3"])
def test_what_is_not_a_number(raw):
    with pytest.raises(ValueError, match="is not a number"):
        number(raw)


def test_windows_csv_with_semicolons(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("kode;kegiatan\r\nA1;Pembibitan kopi é\r\n".encode("cp1252"))
    table = read_table(path)
    assert [r.values for r in table.records] == [{"kode": "A1", "kegiatan": "Pembibitan kopi é"}]
    assert table.records[0].row == 1  # shown as row 2


def test_a_header_named_twice_is_refused(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["kbli", "kode", "kbli"], ["01111", "A", "01112"]])
    with pytest.raises(PlanInputError, match=r"row 1, column C: column 'kbli' appears twice"):
        read_table(path)


def test_not_a_table(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(PlanInputError, match=r"t\.xlsx: cannot be read as an XLSX workbook"):
        read_table(path)
    other = tmp_path / "t.json"
    other.write_text("{}")
    with pytest.raises(PlanInputError, match=r"t\.json: a rule table must be CSV or XLSX"):
        read_table(other)


# -- crosswalk -------------------------------------------------------------------------------


def test_crosswalk_many_to_many_with_kbli_as_text(tmp_path):
    book = openpyxl.Workbook()
    for row in (["KBLI", "Kode"], [1111, "01111"], [47111, "minimarket"], [47111, "toko"]):
        book.active.append(row)
    book.active.append(["47111\n47112", "toko"])
    book.save(tmp_path / "cw.xlsx")
    rules = read_crosswalk(tmp_path / "cw.xlsx")
    assert rules.crosswalk == (
        CrosswalkEntry("01111", "01111"),  # the spreadsheet dropped the leading zero
        CrosswalkEntry("47111", "minimarket"),
        CrosswalkEntry("47111", "toko"),
        CrosswalkEntry("47112", "toko"),
    )
    assert rules.sources == ("cw.xlsx",)


def test_crosswalk_bad_kbli_names_its_cell(tmp_path):
    path = write_csv(tmp_path / "cw.csv", [["kbli", "kode"], ["47111", "a"], ["4711", "b"]])
    with pytest.raises(PlanInputError, match=r"cw.csv, row 3, column A \(kbli\): '4711' is not"):
        read_crosswalk(path)
    report = QualityReport()
    assert read_crosswalk(path, report=report).crosswalk == (CrosswalkEntry("47111", "a"),)
    assert [i.feature for i in report.issues] == ["row 3, column A (kbli)"]


# -- special provisions ----------------------------------------------------------------------

KKOP_APPROACH = "Kawasan Ancangan Pendaratan dan Lepas Landas"


@pytest.fixture(scope="module")
def ketentuan(shared_data: Path) -> Path:
    return shared_data / "rules" / "bintan" / "ketentuan_khusus_trikora.xlsx"


def test_bintan_special_provisions(ketentuan):
    provisions = read_provisions(ketentuan).provisions
    kkop = [p for p in provisions if p.provision == "KKOP" and p.klass == KKOP_APPROACH]
    assert [p.block for p in kkop] == ["III.C.2", "III.C.3", "III.C.4"]
    assert kkop[0].effect == "condition"
    assert kkop[0].text.startswith("1.\tTidak menimbulkan gangguan terhadap isyarat-isyarat")
    assert "PM 55 Tahun 2023" in (kkop[0].legal_basis or "")
    assert {p.provision for p in provisions} == {"KKOP", "KRB", "TEB", "SEMPADAN"} | {
        "HANKAM",
        "PTBGMB",
    }
    assert all(p.block for p in provisions)  # subtotal rows (by SWP, sub-zone, class) skipped
    assert len({(p.provision, p.klass, p.block, p.text) for p in provisions}) == len(provisions)


def test_provision_sub_zones_checked_against_the_plan(ketentuan, shared_data):
    matrix = shared_data / "rules" / "bintan" / "itbx_lampiran_xiv_trikora.xlsx"
    names = NameIndex.from_subzones(read_itbx(matrix).subzones)
    with pytest.raises(PlanInputError, match=r"row 6, column C \(Nama Sub-Zona\): sub-zone name"):
        read_provisions(ketentuan, names=names)
    report = QualityReport()
    read_provisions(ketentuan, names=names, report=report)
    unknown = {i.message.split("'")[1] for i in report.by_code("subzone-unresolved")}
    assert unknown == {"Pertambangan Mineral Bukan Logam", "Perdagangan dan Jasa Skala SWP"}


PROVISIONS = (
    SpecialProvision("LP2B", "cap", "Alih fungsi dilarang", kdb_max_pct=10.0, klb_max=0.2),
    SpecialProvision(
        "KKOP",
        "condition",
        "1. Tidak mengganggu navigasi;\n2. Tidak menyilaukan",
        klass="Kawasan di Bawah Permukaan Horizontal-Dalam",
        block="III.C.4",
        height_max_m=45.0,
        legal_basis="PM 55 Tahun 2023",
    ),
    SpecialProvision("KRB", "forbid", "Tidak boleh membangun", klass="Rawan Banjir Tinggi"),
)


def test_canonical_provisions_round_trip(tmp_path):
    path = write_canonical(tmp_path / "p.csv", PROVISIONS)
    assert read_provisions(path).provisions == PROVISIONS


def test_canonical_provision_with_an_unknown_effect(tmp_path):
    path = write_csv(tmp_path / "p.csv", [["provision", "effect", "text"], ["KRB", "ban", "x"]])
    with pytest.raises(PlanInputError, match=r"row 2, column B \(effect\): effect 'ban'"):
        read_provisions(path)
