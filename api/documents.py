"""The decision document: a recorded decision in the form of a KKPR decision, as a printable
page (HTML) and a PDF, in Bahasa Indonesia or English.

It says the outcome; the applicant's parcel with its coordinates and area; the zone table;
each finding with its measured value, limit and legal basis; the conditions an approval with
conditions carries (the ITBX T and B codes in the plan's own words, and the other conditions);
a map of the parcel over the zones; the plan version; and a link and QR code to the stored
decision. Everything is made in this process from the store: matplotlib draws the map,
reportlab writes the PDF and the QR code, nothing is fetched from outside.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import orjson
import shapely
from geopandas import GeoSeries
from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from reportlab.graphics import renderSVG
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from shapely.geometry.base import BaseGeometry

from api import symbology
from api.places import Surroundings, around
from gis.crs import LONLAT_EPSG, reproject
from layers.errors import NotFoundError
from layers.model import PlanVersion
from layers.store import PlanStore
from permits.records import DecisionStore, RecordedDecision

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("id", "en")
#: Parcel vertices listed in the document at most; the rest are counted.
MAX_VERTICES = 40
#: Land shown around the parcel on the map: this share of its size on every side, at least
#: ``MIN_MARGIN_M`` metres.
MARGIN_SHARE = 0.6
MIN_MARGIN_M = 120.0

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Kesesuaian Kegiatan Pemanfaatan Ruang (KKPR)",
        "subtitle": "Hasil pemeriksaan terhadap Rencana Detail Tata Ruang yang berlaku",
        "outcome": "Hasil",
        "decision_id": "Nomor keputusan",
        "recorded_at": "Dicatat pada",
        "application_id": "Nomor permohonan",
        "activity": "Kegiatan yang dimohon",
        "plan": "Rencana",
        "legal_basis": "Dasar hukum",
        "version": "Versi rencana",
        "ruleset": "Hash aturan",
        "input_hash": "Hash permohonan",
        "engine": "Mesin",
        "parcel": "Persil pemohon",
        "area": "Luas",
        "centroid": "Titik tengah (bujur, lintang)",
        "vertices": "Koordinat batas persil",
        "vertex": "Titik",
        "lon": "Bujur",
        "lat": "Lintang",
        "more": "dan {n} titik lainnya",
        "map": "Peta persil di atas zona",
        "map_none": "Peta tidak tersedia: keputusan tidak dibuat terhadap versi rencana.",
        "zones": "Tabel zona",
        "code": "Kode",
        "name": "Nama",
        "block": "Blok",
        "share": "Bagian",
        "sliver": "serpihan, tidak menentukan",
        "no_zones": "Persil tidak berada dalam zona rencana mana pun.",
        "findings": "Hasil pemeriksaan per aturan",
        "rule": "Aturan",
        "status": "Status",
        "measured": "Terukur",
        "limit": "Batas",
        "basis": "Dasar",
        "message": "Keterangan",
        "conditions": "Syarat yang wajib dipenuhi",
        "no_conditions": "Tidak ada syarat.",
        "stored": "Keputusan tersimpan",
        "stored_note": (
            "Keputusan ini tersimpan di Simtaru dan tidak dapat diubah; pindai kode QR atau "
            "buka tautan untuk membacanya (diperlukan kunci API dengan hak baca keputusan)."
        ),
        "made_by": "Dibuat oleh Simtaru dari keputusan yang tercatat, tanpa tanda tangan basah.",
        "page": "Halaman",
    },
    "en": {
        "title": "Conformity of Spatial Use Activity (KKPR)",
        "subtitle": "Result of the check against the detailed spatial plan in force",
        "outcome": "Outcome",
        "decision_id": "Decision number",
        "recorded_at": "Recorded at",
        "application_id": "Application number",
        "activity": "Activity applied for",
        "plan": "Plan",
        "legal_basis": "Legal basis",
        "version": "Plan version",
        "ruleset": "Rule-set hash",
        "input_hash": "Application hash",
        "engine": "Engine",
        "parcel": "The applicant's parcel",
        "area": "Area",
        "centroid": "Centre (longitude, latitude)",
        "vertices": "Coordinates of the parcel boundary",
        "vertex": "Point",
        "lon": "Longitude",
        "lat": "Latitude",
        "more": "and {n} more points",
        "map": "Map of the parcel over the zones",
        "map_none": "No map: the decision was not made against a plan version.",
        "zones": "Zone table",
        "code": "Code",
        "name": "Name",
        "block": "Block",
        "share": "Share",
        "sliver": "sliver, not deciding",
        "no_zones": "The parcel lies in no zone of the plan.",
        "findings": "Findings, rule by rule",
        "rule": "Rule",
        "status": "Status",
        "measured": "Measured",
        "limit": "Limit",
        "basis": "Basis",
        "message": "Finding",
        "conditions": "Conditions to be met",
        "no_conditions": "No conditions.",
        "stored": "Stored decision",
        "stored_note": (
            "This decision is kept in Simtaru and cannot be changed; scan the QR code or open "
            "the link to read it (an API key that may read decisions is needed)."
        ),
        "made_by": "Made by Simtaru from the recorded decision, without a wet signature.",
        "page": "Page",
    },
}
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "approved": ("Disetujui", "Approved", "#2E7D32"),
    "approved_with_conditions": ("Disetujui dengan syarat", "Approved with conditions", "#F9A825"),
    "needs_review": ("Perlu penilaian petugas", "Needs review", "#EF6C00"),
    "rejected": ("Ditolak", "Rejected", "#C62828"),
    "not_assessable": ("Tidak dapat dinilai", "Not assessable", "#616161"),
}
STATUSES: dict[str, tuple[str, str]] = {
    "pass": ("memenuhi", "pass"),
    "fail": ("tidak memenuhi", "fail"),
    "not_assessed": ("tidak dinilai", "not assessed"),
    "info": ("informasi", "information"),
}


@dataclass(frozen=True)
class DecisionDocument:
    """What a document is made of: the record, its decision, the parcel (metric CRS
    ``crs_epsg``) and the activity as applied for, the plan around the parcel, and the link
    to the stored decision."""

    recorded: RecordedDecision
    decision: dict[str, Any]
    parcel: BaseGeometry
    crs_epsg: int
    activity: str
    surroundings: Surroundings | None
    link: str


def load(store: PlanStore, log: DecisionStore, decision_id: str, link: str) -> DecisionDocument:
    """A recorded decision with its parcel and the plan around it (the version it cites)."""
    recorded = log.get(decision_id)
    parcel, epsg, activity = log.parcel(decision_id)
    decision = orjson.loads(recorded.decision_json)
    surroundings = None
    plan = decision.get("plan")
    if plan is not None and not parcel.is_empty:
        try:
            version: PlanVersion | None = store.version(plan["version_id"])
        except NotFoundError:
            version = None
        if version is not None:
            surroundings = around(store, version, _view_box(parcel))
    return DecisionDocument(recorded, decision, parcel, epsg, activity, surroundings, link)


def render_html(doc: DecisionDocument, lang: str) -> str:
    """The printable page: the map as an inline PNG and the QR code as inline SVG, so that it
    prints and files as one file."""
    view = _view(doc, lang)
    png = map_png(doc)
    qr = renderSVG.drawToString(_qr(doc.link, 32 * mm))
    return _pages.get_template("decision.html").render(
        **view,
        map_src=("data:image/png;base64," + base64.b64encode(png).decode()) if png else None,
        qr_svg=qr[qr.index("<svg") :],
    )


def render_pdf(doc: DecisionDocument, lang: str) -> bytes:
    """The document as an A4 PDF (reportlab), its text in DejaVu Sans (every character of the
    plan's texts), the map as an image."""
    font, bold = _fonts()
    view = _view(doc, lang)
    w = view["w"]
    styles = _styles(font, bold)
    body: list[Any] = [
        Paragraph(w["title"], styles["title"]),
        Paragraph(w["subtitle"], styles["small"]),
        Spacer(1, 4 * mm),
        _outcome_box(view, styles),
        Spacer(1, 3 * mm),
        _grid(
            [
                [Paragraph(k, styles["label"]), Paragraph(v, styles["cell"])]
                for k, v in view["meta"]
            ],
            [45 * mm, 125 * mm],
            bold,
        ),
        Paragraph(w["parcel"], styles["h2"]),
        _grid(
            [
                [Paragraph(k, styles["label"]), Paragraph(v, styles["cell"])]
                for k, v in view["parcel"]
            ],
            [45 * mm, 125 * mm],
            bold,
        ),
        Spacer(1, 2 * mm),
        Paragraph(w["vertices"], styles["label"]),
        _grid(
            [[w["vertex"], w["lon"], w["lat"], f"X (EPSG:{doc.crs_epsg})", "Y"], *view["vertices"]],
            [15 * mm, 35 * mm, 35 * mm, 45 * mm, 40 * mm],
            bold,
            header=True,
            font=font,
        ),
    ]
    if view["more_vertices"]:
        body.append(Paragraph(view["more_vertices"], styles["small"]))
    body.append(Paragraph(w["map"], styles["h2"]))
    png = map_png(doc)
    if png:
        body.append(Image(io.BytesIO(png), width=170 * mm, height=115 * mm))
    else:
        body.append(Paragraph(w["map_none"], styles["cell"]))
    body.append(Paragraph(w["zones"], styles["h2"]))
    if view["zones"]:
        widths = [20 * mm, 62 * mm, 22 * mm, 28 * mm, 18 * mm, 20 * mm]
        body.append(_table(view["zone_header"], view["zones"], widths, styles, bold))
    else:
        body.append(Paragraph(w["no_zones"], styles["cell"]))
    body.append(Paragraph(w["findings"], styles["h2"]))
    widths = [28 * mm, 20 * mm, 22 * mm, 18 * mm, 42 * mm, 40 * mm]
    body.append(_table(view["finding_header"], view["findings"], widths, styles, bold))
    body.append(Paragraph(w["conditions"], styles["h2"]))
    if view["conditions"]:
        for title, text in view["conditions"]:
            body.append(Paragraph(f"<b>{title}</b>: {text}", styles["cell"]))
    else:
        body.append(Paragraph(w["no_conditions"], styles["cell"]))
    body.append(Spacer(1, 5 * mm))
    stored = [
        Paragraph(w["stored"], styles["label"]),
        Paragraph(f'<link href="{doc.link}">{doc.link}</link>', styles["cell"]),
        Paragraph(w["stored_note"], styles["small"]),
        Paragraph(w["made_by"], styles["small"]),
    ]
    footer = Table([[_qr(doc.link, 30 * mm), stored]], colWidths=[35 * mm, 135 * mm])
    footer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    body.append(KeepTogether(footer))
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{w['title']}: {doc.recorded.id}",
        author="Simtaru",
        lang=lang,
    )
    pdf.build(body, onFirstPage=_page_footer(view, font), onLaterPages=_page_footer(view, font))
    return out.getvalue()


def map_png(doc: DecisionDocument) -> bytes | None:
    """The parcel (bold outline) over the zones, coloured by family, and the overlays it
    meets, with sub-zone codes, a legend and a scale bar; None without a plan version."""
    near = doc.surroundings
    if near is None:
        return None
    fig = Figure(figsize=(8.5, 5.75), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.01, 0.72, 0.98))
    minx, miny, maxx, maxy = _view_box(doc.parcel).bounds
    zones = near.zones
    families: dict[str, symbology.Symbol] = {}
    if not zones.empty:
        fams = [symbology.family(code) for code in zones["zone_code"]]
        families = {f.code: f for f in fams}
        zones.plot(ax=ax, color=[f.colour for f in fams], edgecolor="#555555", linewidth=0.6)
        view = shapely.box(minx, miny, maxx, maxy)
        for geom, code in zip(zones.geometry, zones["subzone_code"], strict=True):
            shown = geom.intersection(view)
            if code and not shown.is_empty and shown.area > 0.02 * view.area:
                point = shown.representative_point()
                ax.annotate(
                    str(code),
                    (point.x, point.y),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="#222222",
                )
    overlays = near.overlays
    if not overlays.empty:
        for kind, group in overlays.groupby("kind"):
            style = symbology.overlay_style(str(kind))
            group.plot(
                ax=ax,
                facecolor="none",
                edgecolor=style.colour,
                linewidth=1.2,
                hatch="///",
                linestyle="--",
            )
    GeoSeries([doc.parcel], crs=doc.crs_epsg).plot(
        ax=ax, facecolor="#00000022", edgecolor="#000000", linewidth=2.4
    )
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_axis_off()
    _scale_bar(ax, minx, miny, maxx - minx)
    ax.annotate(
        "N", (0.96, 0.92), xycoords="axes fraction", ha="center", fontsize=11, fontweight="bold"
    )
    ax.annotate(
        "",
        (0.96, 0.98),
        (0.96, 0.90),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>", "color": "black"},
    )
    handles = [
        Patch(facecolor=f.colour, edgecolor="#555555", label=f"{f.code or '-'} {f.name_id}")
        for f in families.values()
    ]
    kinds = sorted(set(overlays["kind"])) if not overlays.empty else []
    handles += [
        Patch(facecolor="none", edgecolor=symbology.overlay_style(k).colour, hatch="///", label=k)
        for k in kinds
    ]
    handles.append(Patch(facecolor="#00000022", edgecolor="black", linewidth=2, label="Persil"))
    fig.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0.74, 0.99), fontsize=7, frameon=False
    )
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


# -- the content both forms show ---------------------------------------------------------------


def _view(doc: DecisionDocument, lang: str) -> dict[str, Any]:
    """Every text and table of the document in ``lang``, for either renderer."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang is one of {LANGUAGES}, not {lang!r}")
    w = WORDS[lang]
    pick: Callable[[tuple[str, str]], str] = (
        (lambda pair: pair[0]) if lang == "id" else (lambda pair: pair[1])
    )
    d, rec = doc.decision, doc.recorded
    label_id, label_en, colour = OUTCOMES[d["outcome"]]
    plan = d.get("plan")
    meta = [
        (w["decision_id"], rec.id),
        (w["recorded_at"], rec.created_at.strftime("%Y-%m-%d %H:%M UTC")),
        (w["application_id"], rec.application_id or "-"),
        (w["activity"], doc.activity),
    ]
    if plan is not None:
        meta += [
            (w["plan"], plan["plan_name"]),
            (w["legal_basis"], plan["legal_basis"]),
            (
                w["version"],
                f"{plan['version_id']} '{plan['version_label']}', EPSG:{plan['crs_epsg']}",
            ),
            (w["ruleset"], plan["ruleset_hash"]),
        ]
    meta += [(w["input_hash"], d["input_hash"]), (w["engine"], d["engine_version"])]
    vertices, more = _vertices(doc)
    area = d.get("parcel_area_m2")
    centre = reproject(np.array([doc.parcel.centroid], dtype=object), doc.crs_epsg, LONLAT_EPSG)[0]
    parcel = [
        (w["area"], f"{area:,.1f} m2" if area is not None else "-"),
        (w["centroid"], f"{centre.x:.6f}, {centre.y:.6f}" if not centre.is_empty else "-"),
    ]
    zones = [
        (
            z["subzone_code"] or "-",
            z["subzone_name"] or "-",
            z["block"] or "-",
            f"{z['area_m2']:,.1f} m2",
            f"{100 * z['share']:.1f} %",
            "" if z["deciding"] else w["sliver"],
        )
        for z in d["zones"]
    ]
    findings = [
        (
            f["rule"] + (f" ({f['subzone_code']})" if f.get("subzone_code") else ""),
            pick(STATUSES[f["status"]]),
            _figure(f["measured"], f["unit"]),
            _figure(f["limit"], f["unit"]),
            f["basis"],
            f["message_id"] if lang == "id" else f["message_en"],
        )
        for f in d["findings"]
    ]
    return {
        "lang": lang,
        "w": w,
        "outcome_label": label_id if lang == "id" else label_en,
        "outcome_colour": colour,
        "meta": meta,
        "parcel": parcel,
        "vertices": vertices,
        "more_vertices": w["more"].format(n=more) if more else "",
        "zone_header": [w["code"], w["name"], w["block"], w["area"], w["share"], ""],
        "zones": zones,
        "finding_header": [
            w["rule"],
            w["status"],
            w["measured"],
            w["limit"],
            w["basis"],
            w["message"],
        ],
        "findings": findings,
        "conditions": _conditions(d, lang),
        "link": doc.link,
    }


def _conditions(decision: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """What an approval with conditions demands: each T and B code of the ITBX in the plan's
    words, then every other finding that stands as a condition."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for f in decision["findings"]:
        if f["effect"] != "condition":
            continue
        codes = f.get("details", {}).get("conditions") or []
        for c in codes:
            if c["code"] not in seen:
                seen.add(c["code"])
                out.append((f"ITBX {c['code']}", c["text"]))
        if not codes:
            out.append((f["rule"], f["message_id"] if lang == "id" else f["message_en"]))
    return out


def _vertices(doc: DecisionDocument) -> tuple[list[tuple[str, str, str, str, str]], int]:
    """The boundary's vertices (exterior rings, closing vertex dropped): number, lon, lat, and
    x, y in the plan's CRS; at most ``MAX_VERTICES``, and how many more there are."""
    rings = [p.exterior for p in shapely.get_parts(doc.parcel) if not p.is_empty]
    xy = np.concatenate([np.asarray(r.coords)[:-1] for r in rings]) if rings else np.empty((0, 2))
    points = shapely.points(xy[:MAX_VERTICES])
    lonlat = reproject(points, doc.crs_epsg, LONLAT_EPSG) if len(points) else points
    rows = [
        (str(i + 1), f"{ll.x:.6f}", f"{ll.y:.6f}", f"{p.x:,.2f}", f"{p.y:,.2f}")
        for i, (ll, p) in enumerate(zip(lonlat, points, strict=True))
    ]
    return rows, max(0, len(xy) - MAX_VERTICES)


def _figure(value: Any, unit: str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value} {unit}" if unit and unit != "ratio" else str(value)


def _view_box(parcel: BaseGeometry) -> BaseGeometry:
    """The land a map shows around the parcel (metric CRS), square-ish around it."""
    minx, miny, maxx, maxy = parcel.bounds
    margin = max(MARGIN_SHARE * max(maxx - minx, maxy - miny), MIN_MARGIN_M)
    return shapely.box(minx - margin, miny - margin, maxx + margin, maxy + margin)


def _scale_bar(ax: Any, minx: float, miny: float, width: float) -> None:
    """A bar of a round length (10, 20, 50, 100 ... m) in the map's lower left."""
    target = width / 4
    length = 10 ** np.floor(np.log10(target))
    for step in (5, 2, 1):
        if step * length <= target:
            length *= step
            break
    x0, y0 = minx + width * 0.04, miny + width * 0.03
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=3)
    ax.annotate(
        f"{length:g} m",
        (x0 + length / 2, y0),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        fontsize=7,
    )


# -- PDF parts ---------------------------------------------------------------------------------


def _fonts() -> tuple[str, str]:
    """DejaVu Sans, which matplotlib ships, registered once with reportlab."""
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(_FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(_FONT_DIR / "DejaVuSans-Bold.ttf")))
    return "DejaVuSans", "DejaVuSans-Bold"


def _styles(font: str, bold: str) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=15, leading=19),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4
        ),
        "label": ParagraphStyle("label", fontName=bold, fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8, leading=10),
        "small": ParagraphStyle(
            "small", fontName=font, fontSize=7, leading=9, textColor=colors.HexColor("#444444")
        ),
        "outcome": ParagraphStyle(
            "outcome", fontName=bold, fontSize=13, leading=16, textColor=colors.white
        ),
    }


def _outcome_box(view: dict[str, Any], styles: dict[str, ParagraphStyle]) -> Table:
    text = f"{view['w']['outcome']}: {view['outcome_label']}"
    box = Table([[Paragraph(text, styles["outcome"])]], colWidths=[170 * mm])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(view["outcome_colour"])),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return box


def _table(
    header: list[str],
    rows: list[tuple[str, ...]],
    widths: list[float],
    styles: dict[str, ParagraphStyle],
    bold: str,
) -> Table:
    """A table of wrapped text under a header row repeated on every page."""
    cells = [[Paragraph(str(c), styles["cell"]) for c in row] for row in rows]
    return _grid(
        [[Paragraph(h, styles["label"]) for h in header], *cells], widths, bold, header=True
    )


def _grid(
    rows: list[list[Any]],
    widths: list[float],
    bold: str,
    *,
    header: bool = False,
    font: str | None = None,
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
    ]
    if font:
        style.append(("FONTNAME", (0, 0), (-1, -1), font))
    if header:
        style += [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
            ("FONTNAME", (0, 0), (-1, 0), bold),
        ]
    table.setStyle(TableStyle(style))
    return table


def _qr(link: str, size: float) -> Drawing:
    widget = QrCodeWidget(link)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _page_footer(view: dict[str, Any], font: str) -> Callable[[Any, Any], None]:
    def draw(canvas: Any, pdf: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawString(20 * mm, 10 * mm, f"Simtaru - {view['w']['title']}")
        canvas.drawRightString(190 * mm, 10 * mm, f"{view['w']['page']} {pdf.page}")
        canvas.restoreState()

    return draw
