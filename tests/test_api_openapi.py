"""The OpenAPI document is the machine client's contract: every schema has an example, every
operation a summary and problem+json errors, and the request examples are real requests."""

from __future__ import annotations

import pytest

from api.app import create_app
from api.keys import Role
from api.settings import Settings

DOCUMENT = create_app(Settings()).openapi()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
]


def test_every_schema_has_an_example():
    missing = [
        name
        for name, schema in DOCUMENT["components"]["schemas"].items()
        if not (schema.get("examples") or schema.get("example"))
    ]
    assert missing == []


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=lambda v: str(v)[:60])
def test_every_operation_has_a_summary_and_problem_errors(method, path, operation):
    assert operation.get("summary"), f"{method} {path}"
    errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
    assert errors, f"{method} {path} documents no error"
    for code, response in errors.items():
        assert "application/problem+json" in response.get("content", {}), (method, path, code)


def test_the_documented_check_example_is_a_real_request(service):
    example = DOCUMENT["components"]["schemas"]["CheckRequest"]["examples"][0]
    with service.client(Role.PERMIT_SYSTEM) as http:
        answer = http.post("/v1/checks", json=example)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "approved_with_conditions"
    assert answer.json()["zones"][0]["subzone_code"] == "R-3"


def test_the_document_says_which_operations_take_a_key():
    assert set(DOCUMENT["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    check = DOCUMENT["paths"]["/v1/checks"]["post"]["security"]
    here = DOCUMENT["paths"]["/v1/here"]["get"]["security"]
    assert {} not in check and {"ApiKey": []} in check  # a check needs a key
    assert {} in here  # reads are open by default
    assert "security" not in DOCUMENT["paths"]["/health/live"]["get"]


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_resolves_in_the_document():
    """A client generator follows each $ref from the document's root; one into a nested
    ``$defs`` of a response (the batch's NDJSON lines once had four) breaks it, and so does an
    answer documented in a media type the route never sends."""
    refs = set(_refs(DOCUMENT))
    assert refs, "the document references its components"
    components = DOCUMENT["components"]["schemas"]
    dangling = {r for r in refs if r.removeprefix("#/components/schemas/") not in components}
    assert dangling == set()
    lines = DOCUMENT["paths"]["/v1/checks/batch"]["post"]["responses"]["200"]["content"]
    assert list(lines) == ["application/x-ndjson"]  # the answer is never a JSON document
    assert lines["application/x-ndjson"]["schema"]["properties"]["decision"]["anyOf"][0] == {
        "$ref": "#/components/schemas/DecisionOut"
    }
