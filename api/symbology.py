"""How the plan is drawn: a colour for each zone family as Indonesian RDTR maps colour them
(the pola ruang symbology of Permen ATR/BPN 14/2021: housing yellow, trade and services red,
industry purple, green open space and protected zones greens, water blue ...), and a style for
each kind of special-provision overlay. The planners' map and the decision document's map both
draw from this one table, so the two never disagree; the legend is made from it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Symbol:
    """What is drawn in one colour: a zone family (the letters of a sub-zone code, ``R`` of
    ``R-3``, filled) or an overlay kind (``LP2B``, outlined), with its name in Bahasa Indonesia
    and English."""

    code: str
    colour: str
    name_id: str
    name_en: str


#: Zone families, protected (lindung) first, then cultivated (budi daya), in the order of the
#: regulation's list. Colours are RGB hex.
FAMILIES: tuple[Symbol, ...] = (
    Symbol("HL", "#267300", "Hutan Lindung", "Protected forest"),
    Symbol("PB", "#4E8B3A", "Perlindungan Bawahan", "Protection of the areas below"),
    Symbol("PS", "#7FD1B9", "Perlindungan Setempat", "Local protection (buffers)"),
    Symbol("RTH", "#38A800", "Ruang Terbuka Hijau", "Green open space"),
    Symbol("KS", "#3C7A3C", "Konservasi", "Conservation"),
    Symbol("CB", "#B07C3B", "Cagar Budaya", "Heritage"),
    Symbol("EM", "#2E8B57", "Ekosistem Mangrove", "Mangrove ecosystem"),
    Symbol("BA", "#73B2FF", "Badan Air", "Water body"),
    Symbol("BJ", "#E1E1E1", "Badan Jalan", "Road body"),
    Symbol("P", "#CDF57A", "Pertanian", "Agriculture"),
    Symbol("IK", "#9EBBD7", "Perikanan", "Fisheries"),
    Symbol("PTL", "#FFBEE8", "Pembangkitan Tenaga Listrik", "Power generation"),
    Symbol("KPI", "#A900E6", "Kawasan Peruntukan Industri", "Industrial estate"),
    Symbol("I", "#C500FF", "Industri", "Industry"),
    Symbol("W", "#FFA77F", "Pariwisata", "Tourism"),
    Symbol("R", "#FFFF00", "Perumahan", "Housing"),
    Symbol("SPU", "#A87000", "Sarana Pelayanan Umum", "Public services"),
    Symbol("RTNH", "#D7D79E", "Ruang Terbuka Non Hijau", "Non-green open space"),
    Symbol("C", "#FFAA00", "Campuran", "Mixed use"),
    Symbol("K", "#FF0000", "Perdagangan dan Jasa", "Trade and services"),
    Symbol("KT", "#E600A9", "Perkantoran", "Offices"),
    Symbol("PL", "#B2B2B2", "Peruntukan Lainnya", "Other uses"),
    Symbol("PP", "#8C6E4A", "Pengelolaan Persampahan", "Waste management"),
    Symbol("TR", "#5C6E8A", "Transportasi", "Transport"),
    Symbol("HK", "#6B6B00", "Pertahanan dan Keamanan", "Defence and security"),
)
#: The fill of a zone whose family the table does not know, or that has no code.
OTHER = Symbol("", "#CCCCCC", "Lainnya", "Other")

_BY_CODE = {f.code: f for f in FAMILIES}


#: Special-provision overlays the map shows as layers of their own, switched on and off.
OVERLAYS: tuple[Symbol, ...] = (
    Symbol("LP2B", "#2E7D32", "Lahan Pertanian Pangan Berkelanjutan", "Protected farmland"),
    Symbol("KRB", "#E65100", "Kawasan Rawan Bencana", "Disaster-prone area"),
    Symbol("SEMPADAN", "#0277BD", "Sempadan", "Setback buffer"),
    Symbol("KKOP", "#6A1B9A", "Kawasan Keselamatan Operasi Penerbangan", "Airport safety"),
    Symbol("CAGBUD", "#795548", "Cagar Budaya", "Heritage"),
)
#: Overlays of any other kind.
OTHER_OVERLAY = Symbol("", "#455A64", "Ketentuan khusus lain", "Other provisions")

_OVERLAY = {o.code: o for o in OVERLAYS}


def family(zone_code: str | None) -> Symbol:
    """The family entry of a zone code (``R``), ``OTHER`` for one the table lacks."""
    return _BY_CODE.get((zone_code or "").upper(), OTHER)


def overlay_style(kind: str | None) -> Symbol:
    """The style of an overlay kind, ``OTHER_OVERLAY`` for one the table lacks."""
    return _OVERLAY.get((kind or "").upper(), OTHER_OVERLAY)


def as_json() -> dict[str, Any]:
    """The table as the page reads it (``/`` puts it in the page): families and overlays with
    their colours and names."""
    return {
        "families": [vars(f) for f in FAMILIES],
        "other": vars(OTHER),
        "overlays": [vars(o) for o in OVERLAYS],
        "other_overlay": vars(OTHER_OVERLAY),
    }
