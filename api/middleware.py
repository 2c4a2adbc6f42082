"""Pure ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware on the hot path): a body
limit that refuses oversized requests before they are read, and request metrics.

Starlette's own RequestBodyLimitMiddleware answers in plain text when the route has not read
the body yet (a 401 before the body, say) and takes one limit per route fixed at import; this
one answers problem+json always and takes its limits from the settings, per route."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import Problem
from api.metrics import observe_request


class BodyTooLarge(Exception):  # noqa: N818
    """The client sent more than the limit while the body was being read."""


class BodyLimit:
    """413 for a body over the limit: at once when Content-Length says so, else as soon as the
    streamed body passes it. ``limit_for(scope)`` lets plan uploads have a larger limit."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._refuse(scope, send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        response = Problem(
            "body-too-large",
            "Request body too large",
            f"the request body is larger than the {limit:,} bytes this route accepts",
            headers={"Connection": "close"},
        ).response(scope.get("path"))
        await response(scope, _drain, send)


async def _drain() -> Message:
    return {"type": "http.disconnect"}


class Metrics:
    """Counts and times every request by method, route template and status (low cardinality:
    the template, never the path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            observe_request(scope["method"], template, status, time.perf_counter() - started)
