"""Applicant geometry at the edge: GeoJSON, WKT or WKB in a named CRS, made into a parcel the engine
can measure (a valid 2D MultiPolygon in the plan's metric CRS), with notes on what was repaired.

Axis order, the rule everything here follows:

- GeoJSON (RFC 7946) and OGC:CRS84 put longitude first (x = lon). This is the default for every CRS.
- EPSG:4326 puts latitude first by its authority, yet most clients send longitude first under that
  name. Coordinates are read in the authority's order only when the caller says they follow it
  (``authority_order=True``); the HTTP layer sets it for an explicit ``EPSG:4326`` CRS parameter, as
  OGC API Features does. A projected CRS whose authority puts northing first is treated alike.
- Inside, x is always longitude or easting (pyproj ``always_xy``).

Errors name the place: GeoJSON members as ``coordinates[part][ring][vertex]`` (0-based, so a machine
client can point at the member) and in words (part, ring, vertex).
"""

from __future__ import annotations

import json
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry, BaseMultipartGeometry

from gis.crs import looks_swapped, reproject, transformer, within_lonlat
from gis.errors import CRSError, GeometryError, GeometryTooLargeError
from gis.geometry import RepairNote, repair_polygons

GeometryFormat = Literal["geojson", "wkt", "wkb"]
#: What a note records: Z coordinates dropped, an empty part dropped, an invalid parcel repaired,
#: coordinates that look like latitude, longitude.
NoteCode = Literal["z-dropped", "empty-part-dropped", "repaired", "axes-swapped"]

#: Array levels above the positions in each GeoJSON geometry type's "coordinates" member.
_NESTING = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_FEATURE_HINT = {
    "Feature": "send its 'geometry' member",
    "FeatureCollection": "send the 'geometry' member of one of its features",
}
_HEX = re.compile(r"[0-9a-fA-F]+")
_QUOTED = re.compile(r"'([^']+)'")
#: Names pyproj does not read by themselves.
_CRS_ALIASES = {"CRS84": "OGC:CRS84"}
_POLYGONAL = (shapely.Polygon, shapely.MultiPolygon)
#: The types of JSON numbers as Python reads them (``bool`` is an ``int`` but no number here).
_NUMBERS = frozenset({int, float})


@dataclass(frozen=True)
class ParcelLimits:
    """The largest parcel accepted: beyond these a request is refused before any geometry work."""

    max_vertices: int = 10_000
    max_parts: int = 100


@dataclass(frozen=True)
class Note:
    """Something done to the applicant's geometry: ``code`` is stable (the engine words it in
    Indonesian and English), ``message`` English; ``location`` an x, y in the CRS the geometry was
    given in, longitude or easting first, where the note concerns one place."""

    code: NoteCode
    message: str
    location: tuple[float, float] | None = None


@dataclass(frozen=True)
class CrsInput:
    """The CRS an applicant's coordinates are in.

    ``northing_first`` is True when the CRS's authority orders its axes latitude (or northing)
    first, as EPSG:4326 does; coordinates follow that order only when the caller says so
    (see ``yx``).
    """

    crs: pyproj.CRS
    epsg: int | None
    northing_first: bool
    #: For messages: the authority name (``EPSG:4326``, ``OGC:CRS84``) or the definition given.
    name: str

    @property
    def key(self) -> int | str:
        """What ``gis.crs.transformer`` is keyed by: the EPSG code, else the name pyproj reads."""
        return self.epsg if self.epsg is not None else self.name

    def yx(self, authority_order: bool) -> bool:
        """True when coordinates come latitude (northing) first: only under ``authority_order``
        and only for a CRS whose authority says so."""
        return authority_order and self.northing_first


@dataclass(frozen=True)
class PreparedParcel:
    """A parcel ready to measure, or the reason it cannot be.

    Normally ``geometry`` is a valid 2D MultiPolygon in the target CRS (m) and ``swapped_suspect``
    is False. When the coordinates look like latitude, longitude (a latitude beyond 90 that would
    be a fitting longitude), no transform can run: ``geometry`` is None, ``swapped_suspect`` True,
    and an ``axes-swapped`` note says which way they were read. The engine then answers "not
    assessable: outside every plan; the coordinates look like latitude, longitude".
    """

    geometry: shapely.MultiPolygon | None
    notes: tuple[Note, ...] = ()
    swapped_suspect: bool = False


def parse_geometry(value: object, *, fmt: GeometryFormat | None = None) -> BaseGeometry:
    """The geometry in ``value``: a GeoJSON geometry object (a mapping, or JSON text or bytes),
    WKT text, or WKB (bytes or hexadecimal text). ``fmt`` forces a format; otherwise JSON starts
    with ``{`` or ``[``, hexadecimal text is WKB and other text WKT.

    Rings left open are closed, as GIS readers do. The CRS is never read from the value (EWKB
    SRIDs, GeoJSON 2008 ``crs`` members): it is given apart, to ``resolve_crs``.

    >>> parse_geometry('{"type": "Point", "coordinates": [117.5, 0.13]}').wkt
    'POINT (117.5 0.13)'
    >>> parse_geometry("POLYGON ((0 0, 1 0, 1 1))").wkt
    'POLYGON ((0 0, 1 0, 1 1, 0 0))'
    """
    kind = fmt or _sniff(value)
    if kind == "geojson":
        return _read_geojson(value)
    if kind == "wkt":
        return _read_wkt(_text(value, "WKT"))
    if kind == "wkb":
        return _read_wkb(value)
    raise GeometryError(f"unknown geometry format {fmt!r}: use geojson, wkt or wkb")


def resolve_crs(crs: CrsInput | pyproj.CRS | str | int) -> CrsInput:
    """The CRS named by ``crs``: ``OGC:CRS84`` (or ``CRS84``), ``EPSG:4326``, an OGC URN
    (``urn:ogc:def:crs:EPSG::4326``) or URL (``http://www.opengis.net/def/crs/EPSG/0/32650``),
    an EPSG code. It must be 2D, geographic or projected.

    Axis order: GeoJSON and CRS84 are lon, lat; EPSG:4326 by its authority is lat, lon, and its
    coordinates are read so only when the caller says they follow the authority
    (``authority_order=True`` where they are used; the HTTP layer sets it for an explicit
    ``EPSG:4326`` CRS parameter, as OGC API does). By default every CRS is read lon/lat (x first),
    as GeoJSON (RFC 7946) requires.

    >>> wgs84 = resolve_crs("urn:ogc:def:crs:EPSG::4326")
    >>> wgs84.epsg, wgs84.northing_first, wgs84.yx(False), wgs84.yx(True)
    (4326, True, False, True)
    >>> resolve_crs("CRS84").name, resolve_crs("CRS84").yx(True)
    ('OGC:CRS84', False)
    """
    if isinstance(crs, CrsInput):
        return crs
    if isinstance(crs, pyproj.CRS):
        return _crs_input(crs, crs.to_string())
    if isinstance(crs, bool) or not isinstance(crs, str | int):
        raise CRSError(f"a CRS is named by text or an EPSG code, not {reprlib.repr(crs)}")
    return _resolve(crs.strip() if isinstance(crs, str) else crs)


def prepare_parcel(
    geom: BaseGeometry | None,
    crs_in: CrsInput | str | int,
    target_epsg: int,
    *,
    limits: ParcelLimits = ParcelLimits(),
    authority_order: bool = False,
) -> PreparedParcel:
    """The parcel ``geom``, given in ``crs_in``, as a valid MultiPolygon in ``target_epsg`` (m).

    In order: empty geometry and non-polygonal types are refused (a GeometryCollection of polygons
    is taken as a MultiPolygon); more vertices or parts than ``limits`` are refused
    (GeometryTooLargeError); non-finite coordinates are refused at the first such vertex; Z is
    dropped (noted); lon/lat that look swapped are flagged, not refused (see PreparedParcel);
    an invalid parcel is repaired (noted with the reason and place) or, where nothing with area is
    left, refused; then it is reprojected. Every refusal is a GeometryError naming the place.

    >>> square = shapely.box(117.50, 0.13, 117.51, 0.14)
    >>> parcel = prepare_parcel(square, "OGC:CRS84", 32650)
    >>> round(parcel.geometry.area), parcel.notes, parcel.swapped_suspect
    (1230016, (), False)
    """
    src = resolve_crs(crs_in)
    what = "parcel"
    if geom is None or geom.is_empty:
        raise GeometryError(f"{what}: empty geometry")
    if not isinstance(geom, (*_POLYGONAL, shapely.GeometryCollection)):
        raise GeometryError(
            f"{what}: a parcel must be a Polygon or MultiPolygon, not a {_kind(geom)}"
        )
    _check_vertices(geom, what, limits)
    polygons = _polygon_parts(geom, what)
    _check_parts(len(polygons), what, limits)
    notes: list[Note] = []
    if geom.has_z:
        notes.append(Note("z-dropped", "Z coordinates (heights) were dropped: a parcel is 2D"))
    flat = _read_xy(geom, src, authority_order, what)
    if flat is None:
        notes.append(_swapped_note(geom, src, authority_order))
        return PreparedParcel(None, tuple(notes), swapped_suspect=True)
    parcel = _as_multipolygon(flat, notes)
    parcel = _repair(parcel, what, notes)
    if src.epsg != target_epsg:
        # A parcel valid in degrees can cross itself in metres where an edge nearly touches.
        back = transformer(target_epsg, src.key)
        parcel = _repair(_project(parcel, src, target_epsg, what), what, notes, back)
    return PreparedParcel(parcel, tuple(notes))


def transform_geometry(
    geom: BaseGeometry | None,
    crs_in: CrsInput | str | int,
    target_epsg: int,
    *,
    authority_order: bool = False,
    limits: ParcelLimits = ParcelLimits(),
    what: str = "geometry",
) -> BaseGeometry:
    """``geom`` (a footprint, a frontage line: any type), given in ``crs_in``, in ``target_epsg``.

    The same axis handling, limits and finiteness checks as ``prepare_parcel``; Z is dropped; no
    repair. Coordinates that look like latitude, longitude are refused here (GeometryError).
    ``what`` names the geometry in messages.
    """
    src = resolve_crs(crs_in)
    if geom is None or geom.is_empty:
        raise GeometryError(f"{what}: empty geometry")
    _check_vertices(geom, what, limits)
    _check_parts(int(shapely.get_num_geometries(geom)), what, limits)
    flat = _read_xy(geom, src, authority_order, what)
    if flat is None:
        raise GeometryError(f"{what}: {_swapped_note(geom, src, authority_order).message}")
    return flat if src.epsg == target_epsg else _project(flat, src, target_epsg, what)


def check_finite(geom: BaseGeometry | None, what: str) -> None:
    """Raise a GeometryError naming the first vertex of ``geom`` whose x or y is NaN or infinite.

    >>> check_finite(parse_geometry("LINESTRING (0 0, 1 NaN)"), "frontage")
    Traceback (most recent call last):
    gis.errors.GeometryError: frontage: non-finite coordinate (1, nan) at vertex 1 (coordinates[1])
    """
    coords = shapely.get_coordinates(geom)
    finite = np.isfinite(coords)
    if not finite.all():
        i = int(np.argmax(~finite.all(axis=1)))
        raise GeometryError(
            f"{what}: non-finite coordinate ({_pair(coords[i])}) at {_where(geom, i)}"
        )


# --- reading formats ------------------------------------------------------------------------


def _sniff(value: object) -> GeometryFormat:
    """The format ``value`` is most likely in."""
    if isinstance(value, Mapping):
        return "geojson"
    if isinstance(value, bytes | bytearray | memoryview):
        return "geojson" if bytes(value).lstrip()[:1] in (b"{", b"[") else "wkb"
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            return "geojson"
        return "wkb" if _HEX.fullmatch(text) else "wkt"
    raise GeometryError(
        f"cannot read a geometry from a value of type {type(value).__name__}: "
        "send GeoJSON, WKT or WKB"
    )


def _text(value: object, label: str) -> str:
    """``value`` as text for a text format."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GeometryError(f"{label}: not UTF-8 text (byte {exc.start})") from None
    raise GeometryError(f"{label}: expected text, not a {type(value).__name__}")


def _read_geojson(value: object) -> BaseGeometry:
    if isinstance(value, Mapping):
        obj: object = value
    else:
        try:
            obj = json.loads(_text(value, "GeoJSON"))
        except json.JSONDecodeError as exc:
            raise GeometryError(
                f"GeoJSON: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    _check_geojson(obj, "")
    with np.errstate(invalid="ignore"):  # NaN: named by vertex in check_finite, not warned of
        try:
            return shape(obj)
        except (ValueError, GEOSException) as exc:
            raise GeometryError(f"GeoJSON: {_trim(exc)}") from None


def _check_geojson(obj: object, prefix: str) -> None:
    """Raise a GeometryError naming the first member of GeoJSON geometry ``obj`` that is wrong;
    ``prefix`` is its path inside a GeometryCollection (``geometries[1].``)."""
    where = f"GeoJSON: {prefix[:-1]}: " if prefix else "GeoJSON: "
    if not isinstance(obj, Mapping):
        raise GeometryError(f"{where}a geometry must be an object, not {reprlib.repr(obj)}")
    kind = obj.get("type")
    if kind is not None and not isinstance(kind, str):
        raise GeometryError(f"{where}'type' must be a string, not {reprlib.repr(kind)}")
    if kind in _FEATURE_HINT:
        raise GeometryError(
            f"{where}a {kind} was given where a geometry is expected; {_FEATURE_HINT[kind]}"
        )
    if kind == "GeometryCollection":
        members = obj.get("geometries")
        if not isinstance(members, list):
            raise GeometryError(f"{where}a GeometryCollection needs a 'geometries' array")
        for i, member in enumerate(members):
            _check_geojson(member, f"{prefix}geometries[{i}].")
        return
    if kind not in _NESTING:
        raise GeometryError(
            f"{where}'type' is {reprlib.repr(kind)}, not one of "
            f"{', '.join([*_NESTING, 'GeometryCollection'])}"
        )
    if "coordinates" not in obj:
        raise GeometryError(f"{where}a {kind} needs a 'coordinates' member")
    _check_coordinates(obj["coordinates"], _NESTING[kind], f"{prefix}coordinates", str(kind))


def _check_coordinates(value: object, depth: int, path: str, kind: str) -> None:
    """Raise a GeometryError at the first array of ``value`` that is not nested ``depth`` deep
    around positions of 2 or 3 numbers, or at a ring or line too short for ``kind``."""
    if depth == 0:
        if not _is_position(value):
            raise _position_error(path, value)
        return
    if not isinstance(value, list | tuple):
        raise GeometryError(f"GeoJSON: {path} must be an array, not {reprlib.repr(value)}")
    if depth > 1:
        for i, item in enumerate(value):
            _check_coordinates(item, depth - 1, f"{path}[{i}]", kind)
        return
    size = len(value[0]) if value and isinstance(value[0], list | tuple) else None
    for i, position in enumerate(value):
        if not _is_position(position):
            raise _position_error(f"{path}[{i}]", position)
        if len(position) != size:
            raise GeometryError(
                f"GeoJSON: {path}[{i}] has {len(position)} numbers where the positions before it "
                f"have {size}"
            )
    n = len(value)
    if kind in ("Polygon", "MultiPolygon") and n + (n > 0 and value[0] != value[-1]) < 4:
        raise GeometryError(
            f"GeoJSON: {path}: a ring needs at least 4 positions, the last repeating the first; "
            f"it has {n}"
        )
    if kind in ("LineString", "MultiLineString") and n == 1:
        raise GeometryError(f"GeoJSON: {path}: a line needs at least 2 positions; it has 1")


def _is_position(value: object) -> bool:
    """True for a list of 2 or 3 numbers (JSON numbers, not booleans or text)."""
    return (
        isinstance(value, list | tuple)
        and len(value) in (2, 3)
        and (
            _NUMBERS.issuperset(map(type, value))
            or all(isinstance(v, np.integer | np.floating) for v in value)
        )
    )


def _position_error(path: str, value: object) -> GeometryError:
    return GeometryError(
        f"GeoJSON: {path} must be a position of 2 or 3 numbers, not {reprlib.repr(value)}"
    )


def _read_wkt(text: str) -> BaseGeometry:
    try:
        return _read(shapely.from_wkt, text)
    except GEOSException as exc:
        message = _trim(exc)
        raise GeometryError(f"WKT: {message}{_wkt_position(text, message)}") from None


def _wkt_position(text: str, message: str) -> str:
    """Where in ``text`` GEOS's ``message`` points, as far as it can be told (GEOS gives no
    offset): the end of the text, or the first place of the token it quotes."""
    if "end of stream" in message:
        return f" (at character {len(text) + 1}, the end)"
    quoted = _QUOTED.search(message)
    if quoted and (at := text.upper().find(quoted.group(1).upper())) >= 0:
        return f" (at character {at + 1})"
    return ""


def _read_wkb(value: object) -> BaseGeometry:
    if isinstance(value, str):
        try:
            data = bytes.fromhex(value.strip())
        except ValueError as exc:
            raise GeometryError(f"WKB: not hexadecimal text: {exc}") from None
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    else:
        raise GeometryError(f"WKB: expected bytes or hexadecimal text, not {type(value).__name__}")
    try:
        return _read(shapely.from_wkb, data)
    except GEOSException as exc:
        raise GeometryError(f"WKB ({len(data)} bytes): {_trim(exc)}") from None


def _read(reader: Callable[..., BaseGeometry], data: str | bytes) -> BaseGeometry:
    """``reader(data)`` (shapely's from_wkt or from_wkb), closing rings left open."""
    with np.errstate(invalid="ignore"):  # NaN: named by vertex in check_finite, not warned of
        try:
            geom: BaseGeometry = reader(data)
        except GEOSException as exc:
            if "closed linestring" not in str(exc):
                raise
            geom = reader(data, on_invalid="fix")
    return geom


def _trim(exc: Exception, limit: int = 200) -> str:
    """Shapely's message without the GEOS exception class, at most ``limit`` characters."""
    text = str(exc).split(": ", 1)[-1] if "Exception: " in str(exc) else str(exc)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- CRS ------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _resolve(name: str | int) -> CrsInput:
    if name == "":
        raise CRSError("no CRS given: name one, such as OGC:CRS84 or EPSG:32650")
    text = _CRS_ALIASES.get(name.upper(), name) if isinstance(name, str) else name
    try:
        crs = pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        raise CRSError(
            f"unknown CRS {name!r}: name it as EPSG:32650, OGC:CRS84, an OGC URN or URL"
        ) from None
    return _crs_input(crs, str(name))


def _crs_input(crs: pyproj.CRS, name: str) -> CrsInput:
    axes = crs.axis_info
    if len(axes) != 2 or not (crs.is_geographic or crs.is_projected):
        raise CRSError(
            f"CRS {name!r} ({crs.type_name}, {crs.name}) is not a 2D geographic or projected CRS, "
            "such as OGC:CRS84 or the plan's UTM zone"
        )
    return CrsInput(
        crs=crs,
        epsg=crs.to_epsg(min_confidence=100),
        northing_first=axes[0].direction.lower() in ("north", "south"),
        name=str(crs.to_string()),
    )


# --- the parcel -----------------------------------------------------------------------------


def _check_vertices(geom: BaseGeometry, what: str, limits: ParcelLimits) -> None:
    count = int(shapely.get_num_coordinates(geom))
    if count > limits.max_vertices:
        raise GeometryTooLargeError(
            f"{what}: {count:,} vertices, more than the limit of {limits.max_vertices:,}"
        )


def _check_parts(count: int, what: str, limits: ParcelLimits) -> None:
    if count > limits.max_parts:
        raise GeometryTooLargeError(
            f"{what}: {count:,} parts, more than the limit of {limits.max_parts:,}"
        )


def _polygon_parts(geom: BaseGeometry, what: str) -> list[shapely.Polygon]:
    """The polygons of ``geom`` (a Polygon, MultiPolygon or collection of them), empty ones too."""
    if isinstance(geom, shapely.Polygon):
        return [geom]
    polygons: list[shapely.Polygon] = []
    for i, part in enumerate(geom.geoms):
        if isinstance(part, shapely.Polygon):
            polygons.append(part)
        elif isinstance(part, shapely.MultiPolygon):
            polygons.extend(part.geoms)
        else:
            raise GeometryError(
                f"{what}: a parcel must be a Polygon or MultiPolygon, not a GeometryCollection "
                f"holding a {_kind(part)} (geometries[{i}])"
            )
    return polygons


def _read_xy(
    geom: BaseGeometry, src: CrsInput, authority_order: bool, what: str
) -> BaseGeometry | None:
    """``geom`` checked finite, in 2D and x-first (lon, easting) order; None when its lon/lat
    look swapped. Out-of-range lon/lat are refused at the first such vertex."""
    check_finite(geom, what)
    flat = shapely.force_2d(geom) if geom.has_z else geom
    yx = src.yx(authority_order)
    if src.crs.is_geographic and _lonlat_swapped(flat, yx, what, src):
        return None
    return shapely.transform(flat, _swap_columns) if yx else flat


def _lonlat_swapped(geom: BaseGeometry, yx: bool, what: str, src: CrsInput) -> bool:
    """True when geographic ``geom`` looks like latitude, longitude as read; a GeometryError at
    the first vertex out of range where it is neither lon/lat nor swapped."""
    minx, miny, maxx, maxy = geom.bounds
    bounds = (miny, minx, maxy, maxx) if yx else (minx, miny, maxx, maxy)
    if looks_swapped(bounds):
        return True
    if within_lonlat(bounds):
        return False
    coords = shapely.get_coordinates(geom)
    lon, lat = (coords[:, 1], coords[:, 0]) if yx else (coords[:, 0], coords[:, 1])
    i = int(np.argmax((np.abs(lon) > 180) | (np.abs(lat) > 90)))
    raise GeometryError(
        f"{what}: ({_pair(coords[i])}) at {_where(geom, i)} is out of range for "
        f"{_order(src, yx)}: longitude runs from -180 to 180, latitude from -90 to 90"
    )


def _swapped_note(geom: BaseGeometry, src: CrsInput, authority_order: bool) -> Note:
    yx = src.yx(authority_order)
    minx, miny, maxx, maxy = geom.bounds
    low, high = (minx, maxx) if yx else (miny, maxy)
    if yx:
        advice = f"send latitude first under {src.name}, or name OGC:CRS84 for longitude first"
        looks = "longitude, latitude"
    else:
        advice = "send longitude first"
        looks = "latitude, longitude"
    return Note(
        "axes-swapped",
        f"the coordinates look like {looks}: read {_order(src, yx)}, latitudes would run from "
        f"{low:.9g} to {high:.9g}, beyond 90; {advice}",
    )


def _order(src: CrsInput, yx: bool) -> str:
    if yx:
        return f"latitude, longitude ({src.name} in authority order)"
    return "longitude, latitude (GeoJSON order)"


def _swap_columns(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    return coords[:, ::-1]


def _as_multipolygon(geom: BaseGeometry, notes: list[Note]) -> shapely.MultiPolygon:
    """``geom`` (polygonal, 2D) as a MultiPolygon without empty parts."""
    polygons = _polygon_parts(geom, "parcel")
    kept = [polygon for polygon in polygons if not polygon.is_empty]
    if len(kept) < len(polygons):
        notes.append(
            Note("empty-part-dropped", f"{len(polygons) - len(kept)} empty part(s) were dropped")
        )
    if isinstance(geom, shapely.MultiPolygon) and len(kept) == len(polygons):
        return geom
    multi: shapely.MultiPolygon = shapely.multipolygons(kept)
    return multi


def _repair(
    parcel: shapely.MultiPolygon,
    what: str,
    notes: list[Note],
    to_source: pyproj.Transformer | None = None,
) -> shapely.MultiPolygon:
    """``parcel`` made valid (noted), or a GeometryError where nothing with area is left.

    ``to_source`` takes the place named back to the CRS the parcel was given in, when ``parcel``
    has been reprojected since.
    """
    if parcel.is_valid:
        return parcel
    fixed, repairs = repair_polygons(np.array([parcel], dtype=object))
    result: shapely.MultiPolygon = fixed[0]
    notes.append(repair_note(parcel, repairs[0], result, what, to_source))
    return result


def repair_note(
    parcel: BaseGeometry,
    repair: RepairNote,
    result: BaseGeometry,
    what: str = "parcel",
    to_source: pyproj.Transformer | None = None,
) -> Note:
    """The note a repair of ``parcel`` into ``result`` leaves: what was wrong and where (the
    part and ring), or a GeometryError where repairing left nothing with area. The single
    check and the batch word their repairs with it alike."""
    problem = repair.reason.split("[", 1)[0].lower()
    location = repair.location
    if location is not None:
        part, ring = _nearest_ring(parcel, location)
        if to_source is not None:
            x, y = to_source.transform(*location)
            location = (float(x), float(y))
        problem += f" at ({_pair(location)}), part {part}, ring {ring}"
    if to_source is not None:
        problem += " (after reprojection)"
    if not repair.repaired:
        raise GeometryError(
            f"{what}: the parcel has no area: {problem}, and repairing it leaves no polygon"
        )
    parts = int(shapely.get_num_geometries(result))
    return Note("repaired", f"{problem}: repaired into {parts} polygon(s)", location)


def _nearest_ring(parcel: BaseGeometry, location: tuple[float, float]) -> tuple[int, int]:
    """The part and ring (0 = exterior) of ``parcel`` nearest ``location``."""
    rings, owner = shapely.get_rings(shapely.get_parts(parcel), return_index=True)
    first = np.searchsorted(owner, owner)
    k = int(np.argmin(shapely.distance(rings, shapely.Point(location))))
    return int(owner[k]), int(k - first[k])


def _project(geom: BaseGeometry, src: CrsInput, target_epsg: int, what: str) -> BaseGeometry:
    """``geom`` (x first) reprojected; a GeometryError at the first vertex PROJ cannot take."""
    out = reproject(np.array([geom], dtype=object), src.key, target_epsg)[0]
    finite = np.isfinite(shapely.get_coordinates(out))
    if not finite.all():
        bad = ~finite.all(axis=1)
        source = shapely.get_coordinates(geom)[int(np.argmax(bad))]
        raise GeometryError(
            f"{what}: ({_pair(source)}) cannot be transformed from {src.name} to EPSG:{target_epsg}"
        )
    return out


# --- naming places --------------------------------------------------------------------------


def _where(geom: BaseGeometry | None, index: int) -> str:
    """Where the ``index``-th coordinate of ``geom`` (in ``get_coordinates`` order) lies, in words
    and as the GeoJSON member path: ``part 1, ring 0, vertex 3 (coordinates[1][0][3])``."""
    words: list[str] = []
    prefix = ""
    steps: list[int] = []
    node = geom
    while isinstance(node, BaseMultipartGeometry):
        i, index = _which(list(node.geoms), index)
        if isinstance(node, shapely.GeometryCollection):
            words.append(f"geometry {i}")
            prefix += f"geometries[{i}]."
            steps = []
        else:
            words.append(f"part {i}")
            steps.append(i)
        node = node.geoms[i]
    if isinstance(node, shapely.Polygon):
        r, index = _which([node.exterior, *node.interiors], index)
        words.append(f"ring {r}")
        steps.append(r)
    if not isinstance(node, shapely.Point):
        words.append(f"vertex {index}")
        steps.append(index)
    path = prefix + "coordinates" + "".join(f"[{step}]" for step in steps)
    return f"{', '.join(words)} ({path})" if words else path


def _which(parts: list[BaseGeometry], index: int) -> tuple[int, int]:
    """Which of ``parts`` holds their ``index``-th coordinate, and its index within that part."""
    counts = shapely.get_num_coordinates(np.array(parts, dtype=object))
    ends = np.cumsum(counts)
    i = int(np.searchsorted(ends, index, side="right"))
    return i, int(index - ends[i] + counts[i])


def _pair(xy: tuple[float, float] | NDArray[np.float64]) -> str:
    return f"{float(xy[0]):.9g}, {float(xy[1]):.9g}"


def _kind(geom: BaseGeometry) -> str:
    return str(geom.geom_type)
