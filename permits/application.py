"""A permit application as the engine reads it: the parcel, the activity, the planned building.

Geometries arrive as shapely objects in the CRS named by ``crs`` (lon/lat, ``OGC:CRS84``, unless
said otherwise); ``gis.parse`` turns GeoJSON, WKT or WKB into them. Figures are checked for sense
here, before any plan is consulted, so that a wrong figure is named as such and never measured.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field, fields
from datetime import date
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.errors import SimtaruError

#: The lowest storey a building may have (m): a height under floors x this cannot be right.
MIN_STOREY_HEIGHT_M = 2.5

#: Road classes the intensity tables know (GSB and height by the road the lot faces).
ROAD_CLASSES = ("arteri", "kolektor", "lokal")


class ApplicationError(SimtaruError):
    """A figure or field of an application that cannot be right; ``field`` names it."""

    code = "invalid-application"
    title = "Invalid application"

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True)
class Building:
    """The planned building. Areas in m2, heights in m; each may be unknown (None), and a check
    that needs an unknown figure says it was not assessed rather than passing."""

    footprint_m2: float | None = None
    footprint: BaseGeometry | None = None
    floor_area_m2: float | None = None
    height_m: float | None = None
    floors: int | None = None
    green_area_m2: float | None = None
    basement_m2: float | None = None
    ground_elevation_m: float | None = None

    def validate(self) -> None:
        """Refuses a figure that cannot be right, saying which and what it was: given as
        something other than a number (text a spreadsheet holds, say), negative, not finite,
        or floors that are not a whole number."""
        for name in _MEASURES:
            value = getattr(self, name)
            if value is not None and not (_real(value) and 0 <= value < math.inf):
                raise ApplicationError(
                    f"building.{name}", f"must be a number >= 0, not {_shown(value)}"
                )
        floors = self.floors
        if floors is not None and not (
            _real(floors) and 0 <= floors < math.inf and float(floors).is_integer()
        ):
            raise ApplicationError(
                "building.floors", f"must be a whole number >= 0, not {_shown(floors)}"
            )
        ground = self.ground_elevation_m
        if ground is not None and not (_real(ground) and math.isfinite(ground)):
            raise ApplicationError(
                "building.ground_elevation_m", f"must be a finite number, not {_shown(ground)}"
            )
        footprint, floor_area = self.footprint_m2, self.floor_area_m2
        if footprint is not None and floor_area is not None and floor_area + 1e-9 < footprint:
            raise ApplicationError(
                "building.floor_area_m2",
                f"total floor area {floor_area:g} m2 is smaller than the footprint "
                f"{footprint:g} m2",
            )
        if self.floors and self.height_m is not None:
            lowest = self.floors * MIN_STOREY_HEIGHT_M
            if self.height_m + 1e-9 < lowest:
                raise ApplicationError(
                    "building.height_m",
                    f"{self.height_m:g} m is too low for {self.floors:g} floors "
                    f"(at least {lowest:g} m at {MIN_STOREY_HEIGHT_M:g} m a storey)",
                )

    @staticmethod
    def refusals(figures: dict[str, NDArray[np.float64]]) -> NDArray[np.bool_]:
        """Which of many buildings ``validate`` refuses, from their figures by field (arrays,
        NaN where not given): the same checks over arrays, so that a batch validates one by
        one only the buildings it refuses, to say why."""
        floors = figures["floors"]
        refused = (
            (floors < 0) | np.isinf(floors) | (np.isfinite(floors) & (np.trunc(floors) != floors))
        )
        for name in _MEASURES:
            refused |= np.isinf(figures[name]) | (figures[name] < 0)
        refused |= np.isinf(figures["ground_elevation_m"])
        refused |= figures["floor_area_m2"] + 1e-9 < figures["footprint_m2"]
        return refused | (floors != 0) & (figures["height_m"] + 1e-9 < floors * MIN_STOREY_HEIGHT_M)


#: The figures of a building that are areas or lengths: numbers, at least 0.
_MEASURES = ("footprint_m2", "floor_area_m2", "height_m", "green_area_m2", "basement_m2")


def _real(value: object) -> bool:
    """A number a figure can be (numpy's included; not a bool, which ``int`` would take)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _shown(value: object) -> str:
    """A refused figure as its message shows it: text quoted, so that '2 lantai' reads as
    what was given."""
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Application:
    """One application. ``activity`` is a KBLI code (5 digits) or a kegiatan of the plan (its
    id or name); ``frontage`` is the road edge of the lot (a line in ``crs``) when known;
    ``applied_on`` picks the plan version in force (today when empty)."""

    parcel: BaseGeometry
    activity: str
    building: Building = field(default_factory=Building)
    crs: str = "OGC:CRS84"
    road_class: str | None = None
    frontage: BaseGeometry | None = None
    applied_on: date | None = None
    application_id: str | None = None
    #: Coordinates in the CRS's authority axis order (latitude first for EPSG:4326), as an
    #: explicit EPSG:4326 CRS in an OGC request means; by default x (longitude) comes first.
    authority_order: bool = False

    def validate(self) -> None:
        if not self.activity or not self.activity.strip():
            raise ApplicationError("activity", "give a KBLI code or a kegiatan of the plan")
        if self.road_class is not None and self.road_class not in ROAD_CLASSES:
            raise ApplicationError(
                "road_class", f"{self.road_class!r} is not one of {', '.join(ROAD_CLASSES)}"
            )
        self.building.validate()

    @staticmethod
    def refusals(
        activity: list[str], road_class: list[str | None], figures: dict[str, NDArray[np.float64]]
    ) -> NDArray[np.bool_]:
        """Which of many applications ``validate`` refuses, from their activities, road classes
        and buildings' figures (``Building.refusals``)."""
        texts = np.array([not text or not text.strip() for text in activity], dtype=bool)
        roads = np.array([r is not None and r not in ROAD_CLASSES for r in road_class], dtype=bool)
        return texts | roads | Building.refusals(figures)

    def input_hash(self, *, parcel_wkb: str | None = None) -> str:
        """SHA-256 of the application as given: the same input, the same hash. A batch passes
        the parcel's WKB (hex, little-endian) it computed for all parcels at once."""
        canonical = self._canonical_json(parcel_wkb)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _canonical_json(self, parcel_wkb: str | None = None) -> str:
        """``json.dumps(self._canonical(...), sort_keys=True, separators=(",", ":"))``, written
        out directly where every value has the type the fields name (the keys' order is fixed,
        so sorting is done once, here): the same text, a fraction of the time. Anything else
        goes through the encoder."""
        b = self.building
        figures = (b.basement_m2, b.floor_area_m2, b.floors, b.footprint_m2)
        more = (b.green_area_m2, b.ground_elevation_m, b.height_m)
        texts = (self.activity, self.application_id, self.crs, self.road_class)
        if not (
            all(type(v) in _NUMBER for v in (*figures, *more))
            and all(type(v) in _TEXT for v in texts)
            and type(self.authority_order) is bool
            and (self.applied_on is None or type(self.applied_on) is date)
        ):
            return _CANONICAL_JSON.encode(self._canonical(parcel_wkb))
        parcel = _wkb_hex(self.parcel) if parcel_wkb is None else parcel_wkb
        return "".join(
            (
                '{"activity":',
                _text(self.activity),
                ',"application_id":',
                _text(self.application_id),
                ',"applied_on":',
                _text(self.applied_on.isoformat() if self.applied_on else None),
                ',"authority_order":',
                "true" if self.authority_order else "false",
                ',"building":{"basement_m2":',
                _number(b.basement_m2),
                ',"floor_area_m2":',
                _number(b.floor_area_m2),
                ',"floors":',
                _number(b.floors),
                ',"footprint":',
                _text(_wkb_hex(b.footprint)),
                ',"footprint_m2":',
                _number(b.footprint_m2),
                ',"green_area_m2":',
                _number(b.green_area_m2),
                ',"ground_elevation_m":',
                _number(b.ground_elevation_m),
                ',"height_m":',
                _number(b.height_m),
                '},"crs":',
                _text(self.crs),
                ',"frontage":',
                _text(_wkb_hex(self.frontage)),
                ',"parcel":',
                _text(parcel),
                ',"road_class":',
                _text(self.road_class),
                "}",
            )
        )

    def _canonical(self, parcel_wkb: str | None = None) -> dict[str, Any]:
        building = {name: _canonical_value(getattr(self.building, name)) for name in _BUILDING}
        return {
            "parcel": parcel_wkb if parcel_wkb is not None else _canonical_value(self.parcel),
            "activity": self.activity,
            "building": building,
            "crs": self.crs,
            "road_class": self.road_class,
            "frontage": _canonical_value(self.frontage),
            "applied_on": self.applied_on.isoformat() if self.applied_on else None,
            "application_id": self.application_id,
            "authority_order": self.authority_order,
        }


#: The building's figures, in the order the canonical form names them.
_BUILDING = tuple(f.name for f in fields(Building))
#: ``json.dumps(..., sort_keys=True, separators=(",", ":"))``, its encoder made once and without
#: the cycle check (the canonical form has no cycles): the same bytes, sooner.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), check_circular=False)


def _canonical_value(value: Any) -> Any:
    """Geometries as WKB; figures as floats, so 120 and 120.0 hash alike (floors stay counts)."""
    if value is None:
        return None
    if isinstance(value, BaseGeometry):
        return _wkb_hex(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _wkb_hex(geom: BaseGeometry | None) -> str | None:
    """Little-endian WKB as upper-case hexadecimal, as GEOS writes it (from the binary form:
    GEOS's own hex writer takes longer)."""
    return None if geom is None else shapely.to_wkb(geom, byte_order=1).hex().upper()


#: The types ``_canonical_json`` writes itself; values of any other go through the encoder.
_NUMBER = frozenset({type(None), float, int})
_TEXT = frozenset({type(None), str})


def _number(value: float | None) -> str:
    """A figure as the encoder writes ``_canonical_value(value)``."""
    if value is None:
        return "null"
    number = float(value)
    if math.isfinite(number):
        return float.__repr__(number)
    return "NaN" if number != number else ("Infinity" if number > 0 else "-Infinity")


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)
