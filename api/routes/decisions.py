"""Recorded decisions: checked, then appended to the log; idempotent on the permit system's
application id or an Idempotency-Key header, read back by id or by application."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query
from starlette.requests import Request
from starlette.responses import Response

from api.applications import application, engine_problem
from api.auth import ServicesDep, require
from api.errors import Problem
from api.keys import Permission
from api.metrics import DECISIONS
from api.routes import problems
from api.schemas import TEXT, CheckRequest, RecordedList, RecordedOut
from api.schemas import Outcome as OutcomeName
from gis.errors import GeometryError
from permits.decision import Outcome
from permits.records import RecordedDecision

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.post(
    "/decisions",
    summary="Check an application and record the decision (idempotent)",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": RecordedOut, "description": "Recorded"},
        200: {"model": RecordedOut, "description": "A retry: the decision recorded before"},
        **problems(401, 403, 409, 413, 422, 503),
    },
)
def record(
    body: CheckRequest,
    services: ServicesDep,
    _who: Annotated[Any, Depends(require(Permission.RECORD))],
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            pattern=TEXT,
            description="Makes a retry safe; defaults to the body's application_id",
        ),
    ] = None,
) -> Response:
    key = idempotency_key or body.application_id
    if key is None:
        raise Problem(
            "validation-failed",
            "Invalid request",
            "a recorded decision needs an application_id or an Idempotency-Key header, so "
            "that a retry cannot record it twice",
            errors=[{"pointer": "#/application_id", "detail": "required without the header"}],
        )
    try:
        recorded = services.plans.record(
            application(body), services.decisions, key=key, plan_id=body.plan_id
        )
    except GeometryError as exc:
        raise engine_problem(exc) from None
    if not recorded.replayed:
        DECISIONS.labels("recorded", recorded.outcome.value).inc()
    headers = {"Location": f"/v1/decisions/{recorded.id}"}
    if recorded.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        _record_bytes(recorded),
        status_code=200 if recorded.replayed else 201,
        media_type="application/json",
        headers=headers,
    )


@router.get(
    "/decisions/{decision_id}",
    summary="A recorded decision",
    response_model=None,
    responses={200: {"model": RecordedOut}, **problems(401, 403, 404, 503)},
)
def read(
    decision_id: Annotated[str, Path(max_length=64, pattern=TEXT)],
    services: ServicesDep,
    _who: Annotated[Any, Depends(require(Permission.READ_DECISIONS))],
) -> Response:
    return Response(
        _record_bytes(services.decisions.get(decision_id)), media_type="application/json"
    )


@router.get(
    "/decisions",
    summary="The log of recorded decisions, in the order recorded, a page at a time",
    description=(
        "Oldest first, at most `limit` records after the record numbered `after` (a record's "
        "`seq`), narrowed by application, plan version, outcome and the time recorded. `next` "
        "is the URL of the following page, or null after the last one. Paging by `seq` is "
        "stable while decisions are being recorded: no record is repeated or skipped."
    ),
    response_model=None,
    responses={200: {"model": RecordedList}, **problems(401, 403, 422, 503)},
)
def listing(
    request: Request,
    services: ServicesDep,
    _who: Annotated[Any, Depends(require(Permission.READ_DECISIONS))],
    application_id: Annotated[str | None, Query(min_length=1, max_length=200, pattern=TEXT)] = None,
    plan_version_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    outcome: Annotated[OutcomeName | None, Query()] = None,
    since: Annotated[
        datetime | None, Query(description="Recorded at or after (ISO 8601; UTC if no offset)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Recorded before (ISO 8601; UTC if no offset)")
    ] = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="The `seq` to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Response:
    found, more = services.decisions.page(
        after=after,
        limit=limit,
        application_id=application_id,
        plan_version_id=plan_version_id,
        outcome=Outcome(outcome) if outcome else None,
        since=since,
        until=until,
    )
    following = None
    if more:
        url = request.url.include_query_params(after=found[-1].seq)
        following = f"{url.path}?{url.query}"  # relative, as Location is: proxies rewrite hosts
    body = b'{"decisions":[' + b",".join(_record_bytes(r) for r in found) + b"]"
    return Response(
        body + b',"next":' + orjson.dumps(following) + b"}", media_type="application/json"
    )


#: The most records one page of the log holds.
MAX_PAGE = 500


def _record_bytes(recorded: RecordedDecision) -> bytes:
    """The record with its decision exactly as stored (canonical JSON, byte for byte)."""
    meta = orjson.dumps(
        {
            "id": recorded.id,
            "seq": recorded.seq,
            "created_at": recorded.created_at,
            "idempotency_key": recorded.idempotency_key,
            "application_id": recorded.application_id,
            "outcome": recorded.outcome.value,
            "plan_version_id": recorded.plan_version_id,
            "replayed": recorded.replayed,
        }
    )
    return meta[:-1] + b',"decision":' + recorded.decision_json.encode() + b"}"
