"""The HTTP contract: request and response bodies with examples, as the OpenAPI shows them.

Geometries are GeoJSON geometry objects, checked by ``gis.parse`` (which names the bad member,
``coordinates[part][ring][vertex]``), so their schema here documents rather than validates.
Responses are written by the engine's own ``to_dict`` and described by the models below.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

#: A lot in the demo city's R-3 (medium-density housing) sub-zone, lon/lat.
EXAMPLE_PARCEL: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [
        [
            [117.474664, 0.137071],
            [117.474844, 0.137071],
            [117.474844, 0.137288],
            [117.474664, 0.137288],
            [117.474664, 0.137071],
        ]
    ],
}

_BASIS = "RDTR Kota Demo (Perda Kota Bontang Nomor 7 Tahun 2024), tabel intensitas, sub-zona R-3"
EXAMPLE_PLAN: dict[str, Any] = {
    "plan_id": 1,
    "plan_name": "RDTR Kota Demo (Bontang-like, generated)",
    "legal_basis": "Perda Kota Bontang Nomor 7 Tahun 2024 tentang RDTR WP Bontang",
    "version_id": 1,
    "version_label": "demo",
    "content_hash": "166f8b296b7088208142086531e30495b85978ac82627d14dd34f6c0badacc69",
    "ruleset_hash": "4f5fcfa04eb818b801318ab22a4f925370acf6d16d7c10552e601a75b430cd16",
    "crs_epsg": 32650,
}
EXAMPLE_PIECE: dict[str, Any] = {
    "zone_id": "16",
    "subzone_code": "R-3",
    "subzone_name": "Perumahan Kepadatan Sedang",
    "zone_code": "R",
    "block": "I.A.2",
    "area_m2": 480.4396658450604,
    "share": 1.0,
    "deciding": True,
}
EXAMPLE_FINDING: dict[str, Any] = {
    "rule": "intensity.kdb",
    "status": "pass",
    "effect": "none",
    "measured": 24.977121693090897,
    "unit": "%",
    "limit": 65.0,
    "subzone_code": "R-3",
    "zone_id": None,
    "basis": _BASIS,
    "message_id": "KDB 24.98 %, maks. 65.",
    "message_en": "KDB (building coverage) 24.98 %; at most 65.",
    "details": {},
}
EXAMPLE_CONDITION: dict[str, Any] = {
    "rule": "footprint.gsb",
    "status": "not_assessed",
    "effect": "condition",
    "measured": None,
    "unit": "m",
    "limit": 10.0,
    "subzone_code": "R-3",
    "zone_id": None,
    "basis": _BASIS,
    "message_id": "GSB minimal 10 m menjadi syarat (tapak bangunan tidak diberikan).",
    "message_en": "A setback (GSB) of at least 10 m is a condition (no footprint polygon given).",
    "details": {},
}
EXAMPLE_DECISION: dict[str, Any] = {
    "outcome": "approved_with_conditions",
    "application_id": "PBG-2026-000123",
    "parcel_area_m2": 480.4396658450604,
    "zones": [EXAMPLE_PIECE],
    "findings": [EXAMPLE_FINDING, EXAMPLE_CONDITION],
    "plan": EXAMPLE_PLAN,
    "input_hash": "e166682977ec1168157c0e5d2a8a2c1e2c4c8f4f8e0b5b0a7d1f4d8c6a9b3e21",
    "engine_version": "simtaru-engine/1",
}

EXAMPLE_ITBX_ROW: dict[str, Any] = {
    "activity_id": "47112",
    "name": "Toko Kelontong",
    "group": "Perdagangan dan Jasa",
    "kbli": ["47112"],
    "codes": ["T3"],
    "raw": "T3",
    "klass": "T",
    "conditions": [
        {
            "code": "T3",
            "text": "Terbatas jarak: paling dekat 100 meter dari kegiatan sejenis.",
        }
    ],
}
EXAMPLE_SUBZONE: dict[str, Any] = {
    "subzone_code": "R-3",
    "subzone_name": "Perumahan Kepadatan Sedang",
    "zone_code": "R",
    "blocks": ["I.A.2"],
    "area_m2": 480.44,
    "share": 1.0,
    "itbx": [EXAMPLE_ITBX_ROW],
    "intensity": [
        {"subzone_code": "R-3", "kdb_max_pct": 65.0, "klb_max": 1.95, "kdh_min_pct": 20.0}
    ],
}
EXAMPLE_PROVISION: dict[str, Any] = {
    "kind": "KKOP",
    "klass": "Kawasan Pendekatan dan Lepas Landas",
    "source": "overlay KKOP",
    "name": "Permukaan Pendekatan Landasan 08, seksi 1",
    "area_m2": None,
    "ceiling_m": 12.0,
    "rules": [],
}
EXAMPLE_HERE: dict[str, Any] = {
    "plan": EXAMPLE_PLAN,
    "activity": "47112",
    "activity_ids": ["47112"],
    "parcel_area_m2": None,
    "subzones": [EXAMPLE_SUBZONE],
    "provisions": [EXAMPLE_PROVISION],
    "notes": [],
}

_POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}
_RING = {"type": "array", "items": _POSITION, "minItems": 4}
_GEOMETRY_SCHEMA = {
    "type": "object",
    "description": "A GeoJSON geometry (RFC 7946), in the request's `crs`.",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {
            "oneOf": [
                {"type": "array", "items": _RING, "minItems": 1},
                {"type": "array", "items": {"type": "array", "items": _RING}, "minItems": 1},
            ]
        },
    },
    "example": EXAMPLE_PARCEL,
}
_ANY_GEOMETRY_SCHEMA = {
    "type": "object",
    "description": "A GeoJSON geometry (RFC 7946), in the request's `crs`.",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {
            "type": "string",
            "enum": ["Point", "LineString", "Polygon", "MultiLineString", "MultiPolygon"],
        },
        "coordinates": {"type": "array"},
    },
}

#: A parcel: a GeoJSON Polygon or MultiPolygon object.
ParcelGeometry = Annotated[dict[str, Any], WithJsonSchema(_GEOMETRY_SCHEMA)]
#: Any GeoJSON geometry (a frontage line, a footprint polygon, a point).
AnyGeometry = Annotated[dict[str, Any], WithJsonSchema(_ANY_GEOMETRY_SCHEMA)]

CRS_DESCRIPTION = (
    "The CRS of the coordinates: `OGC:CRS84` (lon, lat; the default and GeoJSON's), "
    "`EPSG:4326` (lat, lon as its authority orders them, as in OGC API), or a projected CRS "
    "such as `EPSG:32750`, also as an OGC URI."
)


def _iso_date(value: Any) -> Any:
    """Dates are ``YYYY-MM-DD`` text in JSON; anything else is left for strict validation to
    refuse (a number is no date, though lax parsing would read it as a Unix time)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


#: A calendar day as JSON gives it: ISO 8601 text.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]

_STRICT = ConfigDict(extra="forbid", strict=True)

#: Text members: no control characters (a NUL cannot even be stored in PostgreSQL text).
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class Strict(BaseModel):
    """Request bodies: unknown members are refused (a mistyped figure must not pass as not
    given) and types are strict (``"12"`` is no number, ``true`` no figure)."""

    model_config = _STRICT


class BuildingIn(Strict):
    """The planned building; every figure optional (a missing one is not assessed, its limit
    becomes a condition)."""

    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={
            "examples": [{"footprint_m2": 120, "floor_area_m2": 240, "floors": 2, "height_m": 8}]
        },
    )

    footprint_m2: float | None = Field(None, ge=0, description="Building footprint, m2")
    footprint: AnyGeometry | None = Field(
        None, description="The footprint polygon, for the setback and inside-the-lot checks"
    )
    floor_area_m2: float | None = Field(None, ge=0, description="Total floor area, m2")
    height_m: float | None = Field(None, ge=0, description="Height above ground, m")
    floors: int | None = Field(None, ge=0, le=500, description="Number of floors")
    green_area_m2: float | None = Field(None, ge=0, description="Planted open area, m2")
    basement_m2: float | None = Field(None, ge=0, description="Basement footprint, m2")
    ground_elevation_m: float | None = Field(
        None, ge=-500, le=9000, description="Ground elevation above sea level, m (for KKOP)"
    )


class CheckRequest(Strict):
    """One application: the parcel, the activity, the planned building."""

    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={
            "examples": [
                {
                    "application_id": "PBG-2026-000123",
                    "parcel": EXAMPLE_PARCEL,
                    "activity": "47112",
                    "building": {
                        "footprint_m2": 120,
                        "floor_area_m2": 240,
                        "floors": 2,
                        "height_m": 8,
                        "green_area_m2": 150,
                        "basement_m2": 0,
                    },
                    "road_class": "lokal",
                }
            ]
        },
    )

    parcel: ParcelGeometry
    activity: str = Field(
        min_length=1,
        max_length=200,
        pattern=TEXT,
        description="A KBLI code (5 digits) or a kegiatan of the plan (its id or name)",
        examples=["47112"],
    )
    crs: str = Field("OGC:CRS84", max_length=200, pattern=TEXT, description=CRS_DESCRIPTION)
    building: BuildingIn = Field(default_factory=BuildingIn)
    road_class: Literal["arteri", "kolektor", "lokal"] | None = Field(
        None, description="The class of the road the lot faces"
    )
    frontage: AnyGeometry | None = Field(
        None, description="The lot's road edge (a LineString), for the GSB check"
    )
    applied_on: IsoDate | None = Field(
        None, description="Picks the plan version in force on that day (default: today)"
    )
    application_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=TEXT,
        description="The permit system's application id",
    )
    plan_id: int | None = Field(
        None, ge=1, description="Check against this plan only (default: the plan in force there)"
    )


class ZonePieceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_PIECE]})

    zone_id: str
    subzone_code: str | None
    subzone_name: str | None
    zone_code: str | None
    block: str | None
    area_m2: float = Field(description="Area of the parcel in this zone, m2 (plan CRS)")
    share: float = Field(description="Share of the parcel, 0..1")
    deciding: bool = Field(description="False for slivers under the tolerance")


class FindingOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_FINDING]})

    rule: str = Field(examples=["intensity.kdb"])
    status: Literal["pass", "fail", "not_assessed", "info"]
    effect: Literal["none", "condition", "review", "reject", "not_assessable"]
    measured: float | str | None
    unit: str | None = Field(examples=["%"])
    limit: float | str | None
    subzone_code: str | None
    zone_id: str | None
    basis: str = Field(description="The plan, its regulation and the table the rule comes from")
    message_id: str = Field(description="Bahasa Indonesia")
    message_en: str = Field(description="English")
    details: dict[str, Any]


class PlanRefOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_PLAN]})

    plan_id: int
    plan_name: str
    legal_basis: str
    version_id: int
    version_label: str
    content_hash: str
    ruleset_hash: str
    crs_epsg: int


Outcome = Literal[
    "approved", "approved_with_conditions", "needs_review", "rejected", "not_assessable"
]


class DecisionOut(BaseModel):
    """The engine's decision, rule by rule, with the plan version that made it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_DECISION]})

    outcome: Outcome
    application_id: str | None
    parcel_area_m2: float | None = Field(description="m2, in the plan's metric CRS")
    zones: list[ZonePieceOut]
    findings: list[FindingOut]
    plan: PlanRefOut | None
    input_hash: str
    engine_version: str


class RecordedOut(BaseModel):
    """A decision as the append-only log keeps it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "194f85c7a6a9463f982a3362dd6a2f4b",
                    "seq": 1,
                    "created_at": "2026-12-01T09:30:00Z",
                    "idempotency_key": "PBG-2026-000123",
                    "application_id": "PBG-2026-000123",
                    "outcome": "approved_with_conditions",
                    "plan_version_id": 1,
                    "replayed": False,
                    "decision": EXAMPLE_DECISION,
                }
            ]
        }
    )

    id: str = Field(description="The record's id (read it back at /v1/decisions/{id})")
    seq: int
    created_at: datetime
    idempotency_key: str | None
    application_id: str | None
    outcome: Outcome
    plan_version_id: int | None
    replayed: bool = Field(description="True when this answers a retry with the earlier record")
    decision: DecisionOut


class RecordedList(BaseModel):
    """A page of the decision log, and the URL of the next page (null after the last)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"decisions": [], "next": "/v1/decisions?limit=100&after=100"}]
        }
    )

    decisions: list[RecordedOut]
    next: str | None


class BatchLine(BaseModel):
    """One line of a batch's NDJSON answer: the input's position, and its decision or problem."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"index": 0, "application_id": "PBG-2026-000123", "decision": EXAMPLE_DECISION}
            ]
        }
    )

    index: int
    application_id: str | None = None
    decision: DecisionOut | None = None
    problem: dict[str, Any] | None = None


class HereRequest(Strict):
    """A point or a parcel, and optionally an activity to narrow the ITBX rows to."""

    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={"examples": [{"geometry": EXAMPLE_PARCEL, "activity": "47112"}]},
    )

    geometry: AnyGeometry
    crs: str = Field("OGC:CRS84", max_length=200, pattern=TEXT, description=CRS_DESCRIPTION)
    activity: str | None = Field(None, min_length=1, max_length=200, pattern=TEXT)
    on: IsoDate | None = Field(None, description="The day whose plan is asked (default: today)")
    plan_id: int | None = Field(None, ge=1)


class ItbxRowOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_ITBX_ROW]})

    activity_id: str
    name: str
    group: str | None
    kbli: list[str]
    codes: list[str] = Field(examples=[["T1", "B2"]])
    raw: str = Field(description="The annex's cell, verbatim")
    klass: Literal["I", "T", "B", "X"]
    conditions: list[dict[str, str]] = Field(description="What each T and B code requires")


class SubzoneRulesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_SUBZONE]})

    subzone_code: str | None
    subzone_name: str | None
    zone_code: str | None
    blocks: list[str]
    area_m2: float | None
    share: float | None
    itbx: list[ItbxRowOut]
    intensity: list[dict[str, Any]] = Field(description="The intensity table's rows")


class ProvisionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_PROVISION]})

    kind: str = Field(examples=["KKOP"])
    klass: str | None
    source: str
    name: str | None
    area_m2: float | None
    ceiling_m: float | None
    rules: list[dict[str, Any]]


class HereOut(BaseModel):
    """The rules in force at the place, per plan that covers it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_HERE]})

    plan: PlanRefOut
    activity: str | None
    activity_ids: list[str]
    parcel_area_m2: float | None
    subzones: list[SubzoneRulesOut]
    provisions: list[ProvisionOut]
    notes: list[str]


class HereList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"places": [EXAMPLE_HERE]}]})

    places: list[HereOut]


class HealthOut(BaseModel):
    """``degraded``: checks are answered from memory but the store cannot be reached."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "checks": {"database": "ok", "plans_in_force": 1}}]
        }
    )

    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, Any] = Field(default_factory=dict)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads ``model`` from its JSON itself."""
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }
