"""The OpenAPI contract fuzzed by schemathesis: whatever a client sends within (or just outside)
the documented schemas, the service never answers 5xx, and what it answers (status, media type,
body) is what the document says. Whether a geometry or a CRS makes sense is more than a JSON
Schema can say, so requests the schema allows may still get a 422 problem."""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.keys import Role
from api.settings import Settings

schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


@schemathesis.serializer("application/x-ndjson")
def ndjson(_ctx: object, value: object) -> bytes:
    """A batch in NDJSON is text: lines as generated, anything else as one JSON line."""
    if isinstance(value, bytes):
        return value
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_service_fail(case, service):
    case.call_and_validate(
        base_url=service.url, headers={"X-API-Key": service.keys[Role.ADMIN]}, checks=CHECKS
    )
