"""The decision document of a recorded decision: a printable page and a PDF in the form of a
KKPR decision, in Bahasa Indonesia or English, made in this process from the store."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import HTMLResponse, Response

from api import documents
from api.auth import ServicesDep, require
from api.keys import Permission
from api.routes import problems
from api.schemas import TEXT
from api.services import Services

router = APIRouter(prefix="/v1", tags=["decisions"])

DecisionReader = Annotated[Any, Depends(require(Permission.READ_DECISIONS))]
DecisionId = Annotated[str, Path(max_length=64, pattern=TEXT)]
Language = Annotated[
    Literal["id", "en"], Query(description="Bahasa Indonesia (`id`, the default) or English")
]
_ERRORS = problems(401, 403, 404, 422, 503)


@router.get(
    "/decisions/{decision_id}/document",
    summary="A recorded decision as a printable KKPR document (HTML)",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The page"}, **_ERRORS},
)
def document_html(
    decision_id: DecisionId,
    request: Request,
    services: ServicesDep,
    _who: DecisionReader,
    lang: Language = "id",
) -> HTMLResponse:
    doc = _load(services, request, decision_id)
    return HTMLResponse(documents.render_html(doc, lang))


@router.get(
    "/decisions/{decision_id}/document.pdf",
    summary="A recorded decision as a KKPR document (PDF)",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The PDF"},
        **_ERRORS,
    },
)
def document_pdf(
    decision_id: DecisionId,
    request: Request,
    services: ServicesDep,
    _who: DecisionReader,
    lang: Language = "id",
) -> Response:
    doc = _load(services, request, decision_id)
    return Response(
        documents.render_pdf(doc, lang),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="kkpr-{decision_id}.pdf"'},
    )


def _load(services: Services, request: Request, decision_id: str) -> documents.DecisionDocument:
    base = services.settings.web.public_url or str(request.base_url)
    link = f"{base.rstrip('/')}/v1/decisions/{decision_id}/document"
    return documents.load(services.store, services.decisions, decision_id, link)
