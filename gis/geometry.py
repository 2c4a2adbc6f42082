"""Geometry validation and repair over arrays of shapely geometries (vectorised).

Plans arrive with self-intersections, 3D coordinates and mixed Polygon/MultiPolygon features; these
helpers make them uniform 2D MultiPolygons and say what they changed, so the import can report it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

_POLYGON = shapely.GeometryType.POLYGON
_MULTIPOLYGON = shapely.GeometryType.MULTIPOLYGON
_WHERE = re.compile(r"\[\s*(\S+)\s+(\S+)\s*\]")


@dataclass(frozen=True)
class RepairNote:
    """What repairing the invalid geometry at ``index`` did.

    ``reason`` is GEOS's text (``Self-intersection[109.9 1.3]``); ``location`` the x, y it names, or
    a point of the geometry where it names none (data units); ``area_change`` the repaired area
    minus the area GEOS measures for the invalid shape (data units squared; negative = area lost).
    ``repaired`` is False where no polygonal part survived.
    """

    index: int
    reason: str
    location: tuple[float, float] | None
    repaired: bool
    area_change: float


def repair_polygons(
    geoms: NDArray[np.object_],
) -> tuple[NDArray[np.object_], list[RepairNote]]:
    """Valid copies of polygonal ``geoms`` and one note per geometry that was invalid.

    Uses ``make_valid(method="structure")``: it unions the shells and subtracts the holes, so the
    area the digitiser enclosed stays covered (the "linework" method keeps even-odd areas only and
    drops parts that overlap twice) and its result is polygonal. Repaired geometries come back as
    MultiPolygons; geometries that cannot be repaired are returned unchanged.

    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> fixed, notes = repair_polygons(np.array([bowtie]))
    >>> fixed[0].area, notes[0].reason, notes[0].location, notes[0].repaired
    (2.0, 'Self-intersection[1 1]', (1.0, 1.0), True)
    """
    out = np.array(geoms, dtype=object, copy=True)
    invalid = np.flatnonzero(~shapely.is_valid(out) & ~shapely.is_missing(out))
    if invalid.size == 0:
        return out, []
    before = out[invalid]
    reasons = shapely.is_valid_reason(before)
    fixed = polygonal_parts(shapely.make_valid(before, method="structure"))
    ok = ~shapely.is_empty(fixed)
    out[invalid[ok]] = fixed[ok]
    changes = shapely.area(fixed) - shapely.area(before)
    fallback = shapely.get_coordinates(shapely.centroid(shapely.envelope(before)))
    notes = [
        RepairNote(
            index=int(i),
            reason=str(reason),
            location=_reason_location(str(reason)) or (float(fx), float(fy)),
            repaired=bool(good),
            area_change=float(change) if good else 0.0,
        )
        for i, reason, good, change, (fx, fy) in zip(
            invalid, reasons, ok, changes, fallback, strict=True
        )
    ]
    return out, notes


def overlapping_pairs(
    geoms: NDArray[np.object_], min_area: float
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.object_]]:
    """The pairs (i < j, by position) of ``geoms`` that share more than ``min_area`` of area,
    with the land each pair shares. Polygons that only touch share none: they are apart."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    ordered = left < right
    left, right = left[ordered], right[ordered]
    shared = shapely.intersection(geoms[left], geoms[right])
    over = shapely.area(shared) > min_area
    return left[over], right[over], shared[over]


def polygonal_parts(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """The polygons of each geometry as one MultiPolygon (empty where there are none).

    Lines and points that ``make_valid`` leaves in a GeometryCollection are dropped.
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    nested = shapely.get_type_id(parts) == _MULTIPOLYGON
    inner, inner_owner = shapely.get_parts(parts[nested], return_index=True)
    parts = np.concatenate([parts[~nested], inner])
    owner = np.concatenate([owner[~nested], owner[nested][inner_owner]])
    keep = (shapely.get_type_id(parts) == _POLYGON) & ~shapely.is_empty(parts)
    return _collect(parts[keep], owner[keep], len(geoms))


def drop_z(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """2D copies of ``geoms`` and a mask of those that had Z coordinates (dropped)."""
    had_z = shapely.has_z(geoms)
    if not had_z.any():
        return geoms, had_z
    return shapely.force_2d(geoms), had_z


def to_multipolygon(
    geoms: NDArray[np.object_],
) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """``geoms`` with each Polygon made a MultiPolygon, and the indices of non-polygonal ones.

    Non-polygonal geometries (points, lines, collections, missing) are returned unchanged.

    >>> multi, bad = to_multipolygon(np.array([shapely.box(0, 0, 1, 1), shapely.Point(0, 0)]))
    >>> multi[0].geom_type, bad.tolist()
    ('MultiPolygon', [1])
    """
    types = shapely.get_type_id(geoms)
    single = np.flatnonzero(types == _POLYGON)
    out = np.array(geoms, dtype=object, copy=True)
    if single.size:
        out[single] = shapely.multipolygons(geoms[single], indices=np.arange(single.size))
    return out, np.flatnonzero((types != _POLYGON) & (types != _MULTIPOLYGON))


def _collect(
    polygons: NDArray[np.object_], owner: NDArray[np.intp], size: int
) -> NDArray[np.object_]:
    """One MultiPolygon per owner index in ``range(size)``, empty where an owner has no polygon."""
    out = np.full(size, shapely.MultiPolygon(), dtype=object)
    if polygons.size:
        order = np.argsort(owner, kind="stable")
        owners, dense = np.unique(owner[order], return_inverse=True)
        out[owners] = shapely.multipolygons(polygons[order], indices=dense)
    return out


def _reason_location(reason: str) -> tuple[float, float] | None:
    """The ``[x y]`` that GEOS appends to most validity reasons, when finite."""
    match = _WHERE.search(reason)
    if match is None:
        return None
    try:
        x, y = float(match.group(1)), float(match.group(2))
    except ValueError:
        return None
    return (x, y) if np.isfinite(x) and np.isfinite(y) else None
