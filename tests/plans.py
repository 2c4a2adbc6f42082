"""Small plans built in code, for tests that need a plan but not a whole city."""

from __future__ import annotations

import json

import geopandas as gpd
from shapely.geometry import MultiPolygon, box

from layers.model import (
    Activity,
    CrosswalkEntry,
    IntensityRule,
    ItbxCell,
    ItbxClass,
    LegendEntry,
    PlanData,
    Region,
    RuleSet,
    SpecialProvision,
)

#: Around Bontang, UTM 50N: a 3 x 3 grid of 100 m blocks starting here (metres).
ORIGIN = (530_000.0, 15_000.0)
REGION = Region(code="9999", name="Kota Uji", bbox=(117.0, 0.0, 118.0, 0.3))

CODES = ("R-3", "K-1", "RTH-2")
NAMES = {
    "R-3": "Perumahan Kepadatan Sedang",
    "K-1": "Perdagangan dan Jasa Skala Kota",
    "RTH-2": "Taman Kota",
}


def grid_plan(size: int = 3, cell_m: float = 100.0, crs_epsg: int = 32650) -> PlanData:
    """A coverage of ``size`` x ``size`` square zones cycling through three sub-zones, one LP2B
    overlay over the first block, and a rule set covering every sub-zone."""
    x0, y0 = ORIGIN
    rows = []
    for i in range(size * size):
        col, row = i % size, i // size
        code = CODES[i % len(CODES)]
        cell = box(
            x0 + col * cell_m, y0 + row * cell_m, x0 + (col + 1) * cell_m, y0 + (row + 1) * cell_m
        )
        rows.append(
            {
                "zone_id": str(i + 1),
                "subzone_code": code,
                "subzone_name": NAMES[code],
                "subzone_num": None,
                "zone_code": code.split("-")[0],
                "zone_num": None,
                "block": f"I.A.{row + 1}",
                "flags": json.dumps({"KRB_03": "Rawan Banjir Sedang"} if i == 0 else {}),
                "attrs": json.dumps({"OBJECTID": i + 1, "NAMOBJ": NAMES[code]}, ensure_ascii=False),
                "geometry": MultiPolygon([cell]),
            }
        )
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs_epsg)
    overlays = gpd.GeoDataFrame(
        [
            {
                "overlay_id": "1",
                "kind": "LP2B",
                "name": "Sawah lestari",
                "klass": None,
                "ceiling_m": float("nan"),
                "attrs": "{}",
                "geometry": MultiPolygon([box(x0, y0, x0 + cell_m / 2, y0 + cell_m / 2)]),
            }
        ],
        geometry="geometry",
        crs=crs_epsg,
    )
    return PlanData(zones=zones, overlays=overlays, rules=small_rules(), crs_epsg=crs_epsg)


def small_rules() -> RuleSet:
    """Two activities over the three sub-zones, with legend, crosswalk, intensity, provisions."""
    activities = (
        Activity(id="68111", name="Rumah tinggal", group="Perumahan", kbli=("68111",)),
        Activity(id="47111", name="Minimarket", group="Perdagangan", kbli=("47111",)),
        Activity(id="52101", name="Pergudangan", group="Pergudangan", kbli=("52101",)),
    )
    cells = (
        ItbxCell("68111", "R-3", ("I",), "I"),
        ItbxCell("68111", "K-1", ("T3",), "T3"),
        ItbxCell("68111", "RTH-2", ("X",), "X"),
        ItbxCell("47111", "R-3", ("T1", "B2"), "T1, B2"),
        ItbxCell("47111", "K-1", ("I",), "I"),
        ItbxCell("47111", "RTH-2", ("X",), "X"),
        ItbxCell("52101", "R-3", ("X",), "X"),
        ItbxCell("52101", "K-1", ("B1",), "B1"),
        ItbxCell("52101", "RTH-2", ("X",), "X"),
    )
    legend = (
        LegendEntry("I", ItbxClass.I, "Diizinkan"),
        LegendEntry("T1", ItbxClass.T, "Terbatas: intensitas 20 %", intensity_pct=20.0),
        LegendEntry("T3", ItbxClass.T, "Terbatas: jarak minimal 100 meter", min_distance_m=100.0),
        LegendEntry("B1", ItbxClass.B, "Bersyarat: persetujuan warga"),
        LegendEntry("B2", ItbxClass.B, "Bersyarat: parkir dan RTH"),
        LegendEntry("X", ItbxClass.X, "Tidak diizinkan"),
    )
    intensity = (
        IntensityRule("R-3", kdb_max_pct=60.0, klb_max=1.8, kdh_min_pct=20.0, height_max_m=12.0),
        IntensityRule("R-3", road_class="arteri", gsb_min_m=10.0, lot_from_m2=0.0, lot_to_m2=200.0),
        IntensityRule("K-1", kdb_max_pct=70.0, klb_max=4.2, floors_max=6, note="koridor"),
        IntensityRule("RTH-2", kdb_max_pct=10.0, klb_max=0.1, kdh_min_pct=90.0),
    )
    provisions = (
        SpecialProvision(
            "LP2B", "cap", "Lahan pertanian pangan berkelanjutan", kdb_max_pct=10.0, klb_max=0.2
        ),
        SpecialProvision("KRB", "condition", "Bangunan panggung", klass="Rawan Banjir Sedang"),
    )
    return RuleSet(
        subzones=dict(NAMES),
        activities=activities,
        cells=cells,
        legend=legend,
        crosswalk=(
            CrosswalkEntry("68111", "68111"),
            CrosswalkEntry("47111", "47111"),
            CrosswalkEntry("52101", "52101"),
        ),
        intensity=intensity,
        provisions=provisions,
        sources=("tests/plans.py",),
        settings={"split_policy": "strictest"},
    )
