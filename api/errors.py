"""Every error as RFC 9457 problem+json: one table from exception to status, nothing leaked.

Domain errors carry a problem ``code`` (``gis.errors.SimtaruError``); this module gives each code
its HTTP status. Validation errors point at the bad member with a JSON Pointer (RFC 6901). An
unexpected exception is logged with its trace and answered with a bare 500: no database message,
SQL or stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from gis.errors import SimtaruError

log = logging.getLogger("simtaru.api")

PROBLEM_JSON = "application/problem+json"
#: A problem's ``type`` is this prefix and its code: stable, documented in the OpenAPI.
TYPE_PREFIX = "urn:simtaru:problem:"
#: Seconds a client should wait before retrying when the store is down (Retry-After).
RETRY_AFTER_S = 5

#: HTTP status by problem code; codes not listed are 400.
STATUS = {
    "invalid-geometry": 422,
    "geometry-too-large": 422,
    "invalid-crs": 422,
    "invalid-application": 422,
    "invalid-plan-input": 422,
    "validation-failed": 422,
    "malformed-json": 400,
    "not-found": 404,
    "activation-refused": 409,
    "idempotency-conflict": 409,
    "unauthorized": 401,
    "forbidden": 403,
    "body-too-large": 413,
    "unsupported-media-type": 415,
    "store-unavailable": 503,
    "plan-unavailable": 503,
}


class Problem(Exception):  # noqa: N818 (a problem is what RFC 9457 calls it)
    """An error as the client gets it: a code from ``STATUS``, a title, a detail, for
    validation errors the members that are wrong (``errors``: JSON Pointer and message), and
    any extension members RFC 9457 allows (``extra``)."""

    def __init__(
        self,
        code: str,
        title: str,
        detail: str,
        *,
        status: int | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.title = title
        self.detail = detail
        self.status = status or STATUS.get(code, 400)
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    @classmethod
    def of(cls, exc: SimtaruError) -> Problem:
        """A domain error's problem; ``field`` (an application's bad member) is a pointer."""
        field = getattr(exc, "field", None)
        errors = [{"pointer": "#/" + field.replace(".", "/"), "detail": str(exc)}] if field else []
        return cls(exc.code, exc.title, str(exc), errors=errors)

    @classmethod
    def invalid(cls, errors: Sequence[Any]) -> Problem:
        """Pydantic's errors, each with a pointer; malformed JSON is a 400 of its own."""
        broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if broken is not None:
            where = broken.get("ctx", {}).get("error", "")
            return cls(
                "malformed-json",
                "Malformed JSON",
                f"the request body is not valid JSON ({where})" if where else "not valid JSON",
            )
        items = [{"pointer": pointer(e.get("loc", ())), "detail": e.get("msg", "")} for e in errors]
        detail = "; ".join(f"{i['pointer']}: {i['detail']}" for i in items[:5])
        return cls(
            "validation-failed",
            "Invalid request",
            detail or "the request does not match its schema",
            errors=items,
        )

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": TYPE_PREFIX + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = self.errors
        return {**self.extra, **out}

    def response(self, instance: str | None = None) -> Response:
        headers = dict(self.headers)
        if self.status == 503:
            headers.setdefault("Retry-After", str(RETRY_AFTER_S))
        return Response(
            orjson.dumps(self.body(instance)),
            status_code=self.status,
            media_type=PROBLEM_JSON,
            headers=headers,
        )


def pointer(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a JSON Pointer into the body (``#/building/floors``);
    query, path and header parameters are named as ``query:limit``."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if where != "body":
            return f"{where}:{'/'.join(parts)}"
    return "#/" + "/".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return exc.response(request.url.path)

    @app.exception_handler(SimtaruError)
    async def _domain(request: Request, exc: SimtaruError) -> Response:
        if exc.code == "store-unavailable":
            log.warning("store unavailable on %s: %s", request.url.path, exc)
        return Problem.of(exc).response(request.url.path)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        log.warning("database failure on %s: %s", request.url.path, type(exc.orig).__name__)
        return Problem(
            "store-unavailable",
            "Store unavailable",
            "the plan store cannot be reached; retry later",
        ).response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return Problem.invalid(exc.errors()).response(request.url.path)

    @app.exception_handler(ValidationError)
    async def _invalid_model(request: Request, exc: ValidationError) -> Response:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        return Problem.invalid(errors).response(request.url.path)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(
            exc.status_code, "http-error"
        )
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        return Problem(
            code, _reason(exc.status_code), detail, status=exc.status_code, headers=headers
        ).response(request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return Problem(
            "internal-error",
            "Internal error",
            "the service failed on this request; it has been logged",
            status=500,
        ).response(request.url.path)


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    methods = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    return [
        method
        for method in methods
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_schema() -> dict[str, Any]:
    """The problem body in the OpenAPI (every error response refers to it)."""
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "example": TYPE_PREFIX + "invalid-geometry"},
            "title": {"type": "string", "example": "Invalid geometry"},
            "status": {"type": "integer", "example": 422},
            "detail": {
                "type": "string",
                "example": "parcel: a parcel must be a Polygon or MultiPolygon, not a Point",
            },
            "instance": {"type": "string", "example": "/v1/checks"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string", "example": "#/building/floors"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    }
