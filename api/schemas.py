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
EXAMPLE_PARCEL = {
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
    zone_id: str
    subzone_code: str | None
    subzone_name: str | None
    zone_code: str | None
    block: str | None
    area_m2: float = Field(description="Area of the parcel in this zone, m2 (plan CRS)")
    share: float = Field(description="Share of the parcel, 0..1")
    deciding: bool = Field(description="False for slivers under the tolerance")


class FindingOut(BaseModel):
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
    decisions: list[RecordedOut]


class BatchLine(BaseModel):
    """One line of a batch's NDJSON answer: the input's position, and its decision or problem."""

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
    activity_id: str
    name: str
    group: str | None
    kbli: list[str]
    codes: list[str] = Field(examples=[["T1", "B2"]])
    raw: str = Field(description="The annex's cell, verbatim")
    klass: Literal["I", "T", "B", "X"]
    conditions: list[dict[str, str]] = Field(description="What each T and B code requires")


class SubzoneRulesOut(BaseModel):
    subzone_code: str | None
    subzone_name: str | None
    zone_code: str | None
    blocks: list[str]
    area_m2: float | None
    share: float | None
    itbx: list[ItbxRowOut]
    intensity: list[dict[str, Any]] = Field(description="The intensity table's rows")


class ProvisionOut(BaseModel):
    kind: str = Field(examples=["KKOP"])
    klass: str | None
    source: str
    name: str | None
    area_m2: float | None
    ceiling_m: float | None
    rules: list[dict[str, Any]]


class HereOut(BaseModel):
    """The rules in force at the place, per plan that covers it."""

    plan: PlanRefOut
    activity: str | None
    activity_ids: list[str]
    parcel_area_m2: float | None
    subzones: list[SubzoneRulesOut]
    provisions: list[ProvisionOut]
    notes: list[str]


class HereList(BaseModel):
    places: list[HereOut]


class HealthOut(BaseModel):
    """``degraded``: checks are answered from memory but the store cannot be reached."""

    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, Any] = Field(default_factory=dict)
