"""The ITBX importer over the real Bintan and Yogyakarta matrices and over generated workbooks."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from layers.errors import PlanInputError
from layers.model import ItbxClass, RuleSet
from layers.report import QualityReport
from layers.rules import read_itbx, read_legend
from tests.rule_tables import write_csv

# -- the real matrices -----------------------------------------------------------------------

BINTAN = {"trikora": "itbx_lampiran_xiv_trikora.xlsx", "bsb": "itbx_lampiran_xv_bsb.xlsx"}


@pytest.fixture(scope="module")
def bintan(shared_data: Path) -> dict[str, tuple[RuleSet, QualityReport]]:
    """Both annexes read once for the module (about a second each)."""
    out = {}
    for key, name in BINTAN.items():
        report = QualityReport()
        out[key] = (read_itbx(shared_data / "rules" / "bintan" / name, report=report), report)
    return out


def cell(rules: RuleSet, activity: str, subzone: str) -> tuple[str, ...]:
    return next(
        c.codes for c in rules.cells if c.activity_id == activity and c.subzone_code == subzone
    )


@pytest.mark.parametrize(
    ("key", "columns", "first", "last", "empty"),
    # sub-zone codes counted in row 14 of each annex: D..AH (31) and D..AK (34)
    [("trikora", 31, "RTH-4", "HK", 0), ("bsb", 34, "RTH-2", "HK", 3)],
)
def test_bintan_annexes_import_whole(bintan, key, columns, first, last, empty):
    rules, report = bintan[key]
    assert len(rules.activities) == 1801
    assert len(rules.subzones) == columns
    assert list(rules.subzones)[:4] == ["BA", "HL", "PS", first]
    assert list(rules.subzones)[-1] == last
    assert len(rules.cells) == 1801 * columns - empty
    assert len(report.by_code("itbx-empty-cell")) == empty == len(report.issues)
    assert rules.sources == (BINTAN[key],)


def test_bsb_empty_cells_are_reported_where_excel_shows_them(bintan):
    _, report = bintan["bsb"]
    assert [i.feature for i in report.issues] == [
        f"row {r}, column Y (R-2)" for r in (539, 540, 541)
    ]
    assert "sheet 'ITBX BSB'" in report.issues[0].source


def test_sub_zone_names_come_from_merged_header_cells(bintan):
    rules, _ = bintan["bsb"]
    assert rules.subzones["BA"] == "Zona Badan Air"  # merged over two header rows
    assert rules.subzones["RTH-2"] == "Taman Kota"  # under "Ruang Terbuka Hijau" merged across
    assert rules.subzones["K-3"] == "Perdagangan Skala SWP"
    assert rules.subzones["HK"] == "Zona Pertahanan dan Keamanan"


def test_cells_of_kbli_35111_and_combined_codes(bintan):
    rules, _ = bintan["trikora"]
    # the published matrix (sheet ITBX TRIKORA) permits power generation in KPI and in R-3;
    # only the excerpt on Sheet1 gives R-3 "T1,B1,B3"
    assert cell(rules, "35111", "KPI") == ("I",)
    assert cell(rules, "35111", "R-3") == ("I",)
    assert cell(rules, "01497", "R-3") == ("T1", "B1", "B3")
    spaced = next(c for c in rules.cells if c.activity_id == "41016" and c.subzone_code == "KPI")
    assert (spaced.codes, spaced.raw) == (("T1", "B1", "B2"), "T1, B1,B2")
    padded = next(c for c in rules.cells if c.raw == " B1")
    assert padded.codes == ("B1",)


def test_every_cell_code_is_defined_by_the_annex_legend(bintan):
    for rules, _ in bintan.values():
        legend = {e.code: e for e in rules.legend}
        assert set(legend) == {"I", "T", "T1", "T2", "T3", "B", "B1", "B2", "B3", "X"}
        assert {code for c in rules.cells for code in c.codes} <= set(legend)
        assert legend["T1"].klass is ItbxClass.T
        assert legend["T1"].text.startswith("Terbatas dengan pembatasan intensitas 20%")
        assert legend["B2"].text.startswith("Diperbolehkan dengan syarat harus menyediakan")


def test_legend_numbers_the_engine_applies_are_read_from_the_text(bintan):
    for rules, _ in bintan.values():
        legend = {e.code: e for e in rules.legend}
        assert (legend["T1"].intensity_pct, legend["T1"].min_distance_m) == (20.0, None)
        assert (legend["T3"].intensity_pct, legend["T3"].min_distance_m) == (None, 100.0)
        assert (legend["T2"].intensity_pct, legend["T2"].min_distance_m) == (None, None)


def test_kbli_codes_kept_as_text_and_rows_without_code_get_slugs(bintan):
    rules, _ = bintan["trikora"]
    activities = {a.id: a for a in rules.activities}
    assert activities["01111"].kbli == ("01111",)
    assert activities["01111"].name == "Pertanian Jagung"
    assert activities["rumah-tinggal"].kbli == ()
    assert len(rules.crosswalk) == 1793  # the 8 rows coded "-" name no KBLI
    assert {(e.kbli, e.activity_id) for e in rules.crosswalk} >= {("01111", "01111")}
    assert all(len(e.kbli) == 5 and e.kbli.isdigit() for e in rules.crosswalk)


def test_excerpt_sheet_with_a_typo_is_refused_with_its_place(shared_data):
    path = shared_data / "rules" / "bintan" / BINTAN["trikora"]
    report = QualityReport()
    with pytest.raises(PlanInputError) as err:
        read_itbx(path, sheet="Sheet1", report=report)
    # a caption in a sub-zone column above the legend is stepped over; an unknown code is not
    assert [i.feature for i in report.by_code("itbx-unnamed-row")] == ["row 76"]
    message = str(err.value)
    assert "sheet 'Sheet1', row 46, column W (SPU-1)" in message
    assert "'BI'" in message and "T1,T3,BI,B3" in message


def test_legend_file_section_is_picked_by_the_matrix_name(shared_data):
    path = shared_data / "rules" / "bintan" / "itbx_codes_legend.txt"
    bsb = {e.code: e.text for e in read_legend(path, hint="ITBX BSB itbx_lampiran_xv_bsb")}
    trikora = {e.code: e.text for e in read_legend(path, hint="ITBX TRIKORA")}
    assert "kegiatan diluar zona" in bsb["T2"]
    assert "kegiatan di luar zona" in trikora["T2"]
    with pytest.raises(PlanInputError, match="INI UNTUK TRIKORA"):
        read_legend(path)


@pytest.fixture(scope="module")
def yogyakarta(shared_data: Path) -> tuple[RuleSet, QualityReport]:
    report = QualityReport()
    path = shared_data / "rules" / "yogyakarta" / "itbx_matrix.csv"
    return read_itbx(path, report=report), report


def test_yogyakarta_matrix_147_by_15(yogyakarta):
    rules, report = yogyakarta
    assert (len(rules.activities), len(rules.subzones)) == (147, 15)
    assert len(rules.cells) == 147 * 15 - 5
    assert [i.feature for i in report.issues] == [
        f"row 67, column {col} ({code})"
        for col, code in zip("MNOPQ", ["SPU-2", "SPU-3", "SPU-4", "I", "PL"], strict=True)
    ]
    first = rules.activities[0]
    assert (first.id, first.group, first.kbli) == (
        "penghijauan.taman-lingkungan",
        "Penghijauan",
        (),
    )
    assert rules.crosswalk == ()


def test_yogyakarta_has_no_legend_so_entries_say_so(yogyakarta):
    rules, _ = yogyakarta
    assert [e.code for e in rules.legend] == ["I", "T", "B", "X"]
    assert all("no legend" in e.text for e in rules.legend)


def test_empty_cells_without_a_report_stop_the_import(shared_data):
    with pytest.raises(PlanInputError, match=r"itbx_matrix.csv, row 67, column M \(SPU-2\)"):
        read_itbx(shared_data / "rules" / "yogyakarta" / "itbx_matrix.csv")


# -- generated workbooks ---------------------------------------------------------------------

LEGEND = [
    "I : Diizinkan",
    "T1 : Terbatas waktu pengoperasian",
    "B1 : Wajib dokumen lingkungan",
    "B3 : Izin alih fungsi",
    "X : Tidak diizinkan",
]


def write_annex(
    path: Path,
    rows: list[list[object]],
    *,
    codes: tuple[str, ...] = ("R-3", "R-4", "K-2"),
    legend: list[str] = LEGEND,
) -> Path:
    """An annex like Bintan's: title rows, a three-row header with merged names, codes, data,
    the legend under the matrix, and a second sheet that is not a matrix."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "ITBX"
    ws.append(["LAMPIRAN XIV"])
    ws.append(["TABEL KETENTUAN KEGIATAN"])
    ws.append(["No", "Kode", "Kegiatan", "Zona Budidaya"])  # row 3
    ws.append([None, None, None, "Zona Perumahan", None, "Zona Perdagangan dan Jasa"])
    ws.append([None, None, None, "Perumahan Kepadatan Sedang", "Perumahan Kepadatan Rendah"])
    ws.append([None, None, None, *codes])  # row 6
    for merged in ("A3:A6", "B3:B6", "C3:C6", "D3:F3", "D4:E4", "F4:F5"):
        ws.merge_cells(merged)
    for row in rows:
        ws.append(row)
    ws.append([])
    for line in legend:
        ws.append([line])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=6)
    book.create_sheet("Catatan").append(["Masukan", "Kegiatan", "Perubahan"])
    book.save(path)
    return path


ROWS: list[list[object]] = [
    [None, None, "A. Perdagangan", None, None, None],
    [1, 47111, "Minimarket", "T1, B1", "X", "I"],
    [2, "01111", "Pertanian Jagung", "B1,B3", " B1", "X"],
    [3, "-", "Rumah Tinggal", "I", "I", "I"],
]


def test_generated_annex(tmp_path):
    rules = read_itbx(write_annex(tmp_path / "annex.xlsx", ROWS))
    assert rules.subzones == {
        "R-3": "Perumahan Kepadatan Sedang",
        "R-4": "Perumahan Kepadatan Rendah",
        "K-2": "Zona Perdagangan dan Jasa",
    }
    ids = [a.id for a in rules.activities]
    assert ids == ["47111", "01111", "a-perdagangan.rumah-tinggal"]
    assert rules.activities[0].group == "A. Perdagangan"
    assert [(c.subzone_code, c.codes, c.raw) for c in rules.cells[:2]] == [
        ("R-3", ("T1", "B1"), "T1, B1"),
        ("R-4", ("X",), "X"),
    ]
    assert [e.code for e in rules.legend] == ["I", "T1", "B1", "B3", "X"]


@pytest.mark.parametrize("bad", ["T7", "Q"])
def test_undefined_code_names_row_column_subzone_and_code(tmp_path, bad):
    rows = [*ROWS[:2], [2, "01111", "Pertanian Jagung", "B1", f"B1,{bad}", "X"]]
    with pytest.raises(PlanInputError) as err:
        read_itbx(write_annex(tmp_path / "annex.xlsx", rows))
    message = str(err.value)
    assert "annex.xlsx, sheet 'ITBX', row 9, column E (R-4)" in message
    assert f"code '{bad}'" in message


def test_missing_codes_row_says_what_was_expected(tmp_path):
    path = write_annex(tmp_path / "annex.xlsx", ROWS, codes=("Sedang", "Rendah", "Jasa"))
    with pytest.raises(PlanInputError) as err:
        read_itbx(path)
    assert "sheet 'ITBX': no row of sub-zone codes" in str(err.value)
    assert "BA, PS, RTH-4, R-3, SPU-1" in str(err.value)
    assert "sheet 'Catatan'" in str(err.value)


def test_duplicated_sub_zone_column_is_refused(tmp_path):
    path = write_annex(tmp_path / "annex.xlsx", ROWS, codes=("R-3", "R-4", "R-3"))
    with pytest.raises(PlanInputError, match=r"row 6: sub-zone code 'R-3' .* \(D, F\)"):
        read_itbx(path)


def test_unknown_sheet_lists_the_sheets(tmp_path):
    with pytest.raises(PlanInputError, match="'ITBX', 'Catatan'"):
        read_itbx(write_annex(tmp_path / "annex.xlsx", ROWS), sheet="Lampiran")


def test_repeated_activity_is_reported_and_the_first_kept(tmp_path):
    rows = [*ROWS, [4, "-", "Rumah Tinggal", "X", "X", "X"]]
    path = write_annex(tmp_path / "annex.xlsx", rows)
    with pytest.raises(PlanInputError, match="row 11: activity 'Rumah Tinggal' repeats row 10"):
        read_itbx(path)
    report = QualityReport()
    rules = read_itbx(path, report=report)
    assert report.by_code("itbx-duplicate-activity")
    assert [c.codes for c in rules.cells if c.activity_id.endswith("rumah-tinggal")] == [("I",)] * 3


def test_wide_and_long_csv_give_the_same_matrix(tmp_path):
    legend = write_csv(
        tmp_path / "legend.csv",
        [
            ["kode", "kelas", "teks"],
            ["I", "I", "Diizinkan"],
            ["T1", "T", "Jam operasi"],
            ["B1", "B", "AMDAL"],
            ["X", "X", "Tidak diizinkan"],
        ],
    )
    wide = write_csv(
        tmp_path / "wide.csv",
        [
            ["kode", "kegiatan", "kelompok", "kbli", "R-3", "K-2"],
            ["", "Minimarket", "Perdagangan", "47111", "T1,B1", "I"],
            ["A1", "Bengkel", "Jasa", "45201;45202", "X", "I"],
        ],
    )
    long = write_csv(
        tmp_path / "long.csv",
        [
            ["kode", "kegiatan", "kelompok", "kbli", "subzona", "ketentuan"],
            ["", "Minimarket", "Perdagangan", "47111", "R-3", "T1,B1"],
            ["", "Minimarket", "Perdagangan", "47111", "K-2", "I"],
            ["A1", "Bengkel", "Jasa", "45201;45202", "R-3", "X"],
            ["A1", "Bengkel", "Jasa", "45201;45202", "K-2", "I"],
        ],
    )
    a, b = read_itbx(wide, legend=legend), read_itbx(long, legend=legend)
    assert (a.activities, a.cells, a.legend, a.crosswalk) == (
        b.activities,
        b.cells,
        b.legend,
        b.crosswalk,
    )
    assert [x.id for x in a.activities] == ["perdagangan.minimarket", "A1"]
    assert [(e.kbli, e.activity_id) for e in a.crosswalk] == [
        ("47111", "perdagangan.minimarket"),
        ("45201", "A1"),
        ("45202", "A1"),
    ]
    assert a.sources == ("wide.csv", "legend.csv")


def test_numbered_codes_need_a_legend(tmp_path):
    path = write_csv(tmp_path / "m.csv", [["kegiatan", "R-3"], ["Minimarket", "T1"]])
    with pytest.raises(PlanInputError, match=r"m.csv, row 2, column B \(R-3\): code 'T1'"):
        read_itbx(path)
