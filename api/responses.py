"""JSON out with orjson, and conditional reads (ETag, 304) for what clients cache."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import JSONResponse, Response

from layers.model import PlanVersion

GEOJSON = "application/geo+json"


class OrjsonResponse(JSONResponse):
    """FastAPI's default JSON response, rendered by orjson (numpy values and dates included)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


def json_bytes(content: Any) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


def etag_of(*parts: str | bytes) -> str:
    """A strong ETag from what the representation is made of (content hashes, query)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return f'"{digest.hexdigest()[:32]}"'


def not_modified(request: Request, etag: str) -> Response | None:
    """A 304 when the client already holds this representation (If-None-Match), else None."""
    sent = request.headers.get("if-none-match")
    if sent is None:
        return None
    tags = {t.strip().removeprefix("W/") for t in sent.split(",")}
    if "*" in tags or etag in tags:
        return Response(status_code=304, headers={"ETag": etag})
    return None


def cached(
    request: Request,
    etag: str,
    render: Any,
    *,
    media_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The representation under ``etag``: 304 when the client has it, else ``render()``'s bytes
    (only rendered when needed)."""
    hit = not_modified(request, etag)
    if hit is not None:
        return hit
    body = render()
    out = {"ETag": etag, "Cache-Control": "no-cache", **(headers or {})}
    return Response(
        body if isinstance(body, bytes) else json_bytes(body), media_type=media_type, headers=out
    )


class Renders:
    """Representations that cost much to make and never change under their ETag (a comparison
    of two versions: seconds for a city), kept in memory by ETag, the ``size`` used last; one
    set per worker. Two requests that miss at once may both render; they keep equal bytes."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            body = self._kept.get(etag)
            if body is not None:
                self._kept.move_to_end(etag)
                return body
        body = render()
        with self._lock:
            self._kept[etag] = body
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return body


def version_tag(version: PlanVersion) -> str:
    """What a version's representations are made of: its content (immutable once stored) and
    the status and validity that activation changes."""
    return (
        f"{version.id}:{version.content_hash}:{version.status.value}:"
        f"{version.valid_from}:{version.valid_to}"
    )
