"""The decision document of a recorded decision, over HTTP from the real server on both stores:
the PDF's text and its map image (read back with pypdf), the printable page in both languages,
who may read it, and a decision made against no plan."""

from __future__ import annotations

import base64
import io
import re

import pytest
from matplotlib import image
from pypdf import PdfReader

from api.keys import Role
from api.schemas import EXAMPLE_PARCEL
from tests.service import Service


def record(service: Service, application_id: str, parcel: dict = EXAMPLE_PARCEL) -> str:
    body = {
        "application_id": application_id,
        "parcel": parcel,
        "activity": "47112",
        "building": {"footprint_m2": 120, "floor_area_m2": 240, "floors": 2, "height_m": 8},
        "road_class": "lokal",
    }
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/decisions", json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["id"]


def images(reader: PdfReader) -> list[tuple[int, int]]:
    """Width and height of every image XObject in the PDF."""
    found = []
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject") or {}
        for ref in xobjects.values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                found.append((int(obj["/Width"]), int(obj["/Height"])))
    return found


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("id", ("Kesesuaian Kegiatan Pemanfaatan Ruang", "Disetujui dengan syarat", "Tabel zona")),
        ("en", ("Conformity of Spatial Use Activity", "Approved with conditions", "Zone table")),
    ],
)
def test_the_pdf_carries_the_decision_its_parcel_zones_findings_and_map(service, lang, words):
    decision_id = record(service, f"PBG-DOC-{lang}")
    with service.client(Role.PLANNER) as http:
        answer = http.get(f"/v1/decisions/{decision_id}/document.pdf", params={"lang": lang})
        stored = http.get(f"/v1/decisions/{decision_id}").json()
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    for word in words:
        assert word in flat
    decision = stored["decision"]
    assert decision_id in flat
    assert "R-3" in flat and "Perumahan Kepadatan Sedang" in flat
    assert f"{decision['parcel_area_m2']:,.1f} m2" in flat
    assert "117.474664" in flat and "0.137071" in flat  # a corner of the parcel, lon/lat
    assert decision["plan"]["ruleset_hash"] in flat
    assert "Perda Kota Bontang Nomor 7 Tahun 2024" in flat
    for finding in decision["findings"]:
        message = finding["message_id" if lang == "id" else "message_en"]
        assert " ".join(message.split())[:40] in flat
    condition = next(f for f in decision["findings"] if f["effect"] == "condition")
    assert condition["rule"] in flat
    assert f"/v1/decisions/{decision_id}/document" in flat  # the link beside the QR code
    maps = [size for size in images(reader) if size[0] >= 800 and size[1] >= 500]
    assert maps, f"no map image among {images(reader)}"


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_printable_page_in_both_languages(service, lang, tmp_path):
    decision_id = record(service, f"PBG-HTML-{lang}")
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.get(f"/v1/decisions/{decision_id}/document", params={"lang": lang})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert f'<html lang="{lang}">' in html
    outcome = {"id": "Disetujui dengan syarat", "en": "Approved with conditions"}[lang]
    assert outcome in html
    assert "<svg" in html  # the QR code, drawn inline
    assert re.search(r'href="http://127\.0\.0\.1:\d+/v1/decisions/' + decision_id, html)
    src = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert src, "no map image"
    png = image.imread(io.BytesIO(base64.b64decode(src.group(1))), format="png")
    assert png.shape[0] >= 500 and png.shape[1] >= 800
    assert png[..., :3].std() > 0.05  # a drawing, not a blank
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', html.split("<svg", 1)[0])
    assert all(u.startswith(("data:", service.url)) for u in sources), sources  # nothing fetched
    assert "<script" not in html and "stylesheet" not in html


def test_a_decision_outside_every_plan_has_a_document_without_a_map(service):
    far = {
        "type": "Polygon",
        "coordinates": [
            [[110.0, 1.3], [110.001, 1.3], [110.001, 1.301], [110.0, 1.301], [110.0, 1.3]]
        ],
    }
    decision_id = record(service, "PBG-DOC-FAR", far)
    with service.client(Role.PLANNER) as http:
        answer = http.get(f"/v1/decisions/{decision_id}/document.pdf", params={"lang": "en"})
    assert answer.status_code == 200
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages).split()
    )
    assert "Not assessable" in text


def test_the_document_needs_a_key_that_may_read_decisions(service):
    decision_id = record(service, "PBG-DOC-KEY")
    with service.client() as http:
        anonymous = http.get(f"/v1/decisions/{decision_id}/document.pdf")
        unknown = http.get(
            "/v1/decisions/no-such-decision/document",
            headers={"X-API-Key": service.keys[Role.PLANNER]},
        )
        wrong_lang = http.get(
            f"/v1/decisions/{decision_id}/document",
            params={"lang": "fr"},
            headers={"X-API-Key": service.keys[Role.PLANNER]},
        )
    assert anonymous.status_code == 401
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert wrong_lang.status_code == 422
    assert wrong_lang.json()["errors"][0]["pointer"] == "query:lang"
