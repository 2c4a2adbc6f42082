"""The service's routes, one module per resource; ``problems`` documents their error answers,
``component_schema`` a body that FastAPI does not model itself."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.errors import PROBLEM_JSON, problem_schema

_WHY = {
    304: "Not modified (the ETag sent in If-None-Match still holds)",
    400: "Malformed request (e.g. the body is not JSON)",
    401: "No API key, or a key that is not valid",
    403: "The key's role lacks the permission",
    404: "Not found",
    409: "Conflict (an idempotency key reused for another application, a refused activation)",
    413: "The body, or the batch, is too large",
    415: "Unsupported media type",
    422: "Invalid request: the problem's errors point at the members",
    503: "Unavailable (the store cannot be reached, or no plan is in force): retry after "
    "Retry-After seconds",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for error statuses, each a problem+json body."""
    return {
        status: (
            {"description": _WHY[status]}
            if status == 304
            else {
                "description": _WHY[status],
                "content": {PROBLEM_JSON: {"schema": problem_schema()}},
            }
        )
        for status in statuses
    }


def component_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema for a body the route writes itself (NDJSON lines), its nested
    models pointing at the document's components (every one of them is a route's model too),
    not at ``$defs`` a client's generator would have to find inside the response."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema
