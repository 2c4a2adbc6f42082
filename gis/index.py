"""Where a parcel lies among a plan's zones: the overlapping zones and the area in each.

Zones are exploded into their parts before indexing (widely spaced multipart zones index badly),
each part mapped back to its zone. "In a zone" is decided by overlapping area, never by a
predicate alone, since predicates and overlay results disagree on shared boundaries.

GEOS prepared geometries are not thread-safe (libgeos issue 825), so the shared parts are never
prepared: a single check's predicate query prepares the parcel it asks about, and a batch that
asks whether parts cover its parcels prepares this thread's own copy of each part, once, and
keeps it for its next chunk.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.areas import PackedZones
from gis.errors import GeometryError

#: Overlaps under a square millimetre (m2) are floating-point noise of two algorithms meeting on a
#: shared edge (GEOS may leave 1e-14 m2 where the exact area is 0), not land in a zone.
NOISE_M2 = 1e-6


@dataclass(frozen=True)
class Overlap:
    """The zones one parcel overlaps: zone row numbers and the area (m2) in each, by zone."""

    zones: NDArray[np.intp]
    areas: NDArray[np.float64]


class ZoneIndex:
    """An STR tree over zone parts, and the parts packed for the exact area kernel. A plan's
    overlay polygons are indexed and measured the same way (``layer`` names them in errors):
    a parcel's share of a hazard zone is as exact as its share of a sub-zone. Zones partition
    the plan, so a parcel inside one zone part is in that zone alone; overlays of different
    provisions overlap (farmland under a flood zone), so ``partition=False`` makes a parcel
    inside one overlay take its own area there and still be measured against the others."""

    def __init__(
        self, zones: NDArray[np.object_], layer: str = "zones", *, partition: bool = True
    ) -> None:
        self.layer = layer
        self.partition = partition
        parts, owner = shapely.get_parts(np.asarray(zones, dtype=object), return_index=True)
        self._parts: NDArray[np.object_] = parts
        self._owner: NDArray[np.intp] = owner.astype(np.intp)
        self._tree = shapely.STRtree(parts)
        self._packed = PackedZones(parts)
        self.size = len(zones)
        self._bounds = shapely.bounds(parts)
        self._local = threading.local()

    def warm(self) -> None:
        """Build the tree now rather than on the first query (queries must not build it)."""
        built(self._tree)

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle carries: not this process's threads' prepared parts."""
        return {name: value for name, value in self.__dict__.items() if name != "_local"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled (an engine sent to a Dask worker): shapely sends a tree as its geometries
        and builds it on the first query, so it is built here, before threads may query it."""
        self.__dict__.update(state, _local=threading.local())
        self.warm()

    def _covers(self, parts: NDArray[np.intp], parcels: NDArray[np.object_]) -> NDArray[np.bool_]:
        """Whether each part covers its parcel, by the part prepared: GEOS then tests the
        parcel's vertices and edges against the part's indexed edges, several times faster
        than the ``covered_by`` query, which prepares the parcel and relates it to each part in
        full; only where the part's box holds the parcel's, as it must to cover it. The
        prepared parts are this thread's own copies (WKB, exact), made on first use and kept:
        a batch copies the parts its parcels meet (``parcels``: one per part)."""
        outer, inner = self._bounds[parts], shapely.bounds(parcels)
        boxed = np.flatnonzero(
            (outer[:, 0] <= inner[:, 0])
            & (outer[:, 1] <= inner[:, 1])
            & (outer[:, 2] >= inner[:, 2])
            & (outer[:, 3] >= inner[:, 3])
        )
        kept = getattr(self._local, "parts", None)
        if kept is None:
            kept = self._local.parts = np.full(len(self._parts), None, dtype=object)
        wanted = np.unique(parts[boxed])
        missing = wanted[shapely.is_missing(kept[wanted])]
        if len(missing):
            copies = shapely.from_wkb(shapely.to_wkb(self._parts[missing]))
            shapely.prepare(copies)
            kept[missing] = copies
        covers = np.zeros(len(parts), dtype=bool)
        covers[boxed] = shapely.covers(kept[parts[boxed]], parcels[boxed])
        return covers

    def overlap(self, parcel: BaseGeometry) -> Overlap:
        """Zones the parcel overlaps by more than ``NOISE_M2``, in zone order.

        Many parcels lie inside one zone: a ``covered_by`` query (the tree prepares the parcel
        and tests the candidate parts in one call) finds that without an overlay; for one
        parcel it costs less than asking prepared parts (``_covers``), whose array calls cost
        more than they save on a few parts. Otherwise the
        exact area kernel measures the parcel against every part whose box meets it, as the
        batch does, so a single check and a batch give the same areas.
        """
        one = np.array([parcel], dtype=object)  # the tree's scalar wrapping costs more
        covering = self._tree.query(one, predicate="covered_by")[1]
        if len(covering) and self.partition:
            return Overlap(self._owner[covering.min(keepdims=True)], np.array([parcel.area]))
        # A parcel meets a few parts: plain Python beats numpy's set routines on so few.
        inside = set(self._owner[covering].tolist())
        found = self._tree.query(one)[1]
        kept = [
            (part, zone)
            for part, zone in zip(found.tolist(), self._owner[found].tolist(), strict=True)
            if zone not in inside
        ]
        candidates = np.array([part for part, _ in kept], dtype=np.intp)
        try:
            areas = self._packed.parcel_areas(parcel, candidates).tolist()
        except GeometryError as exc:
            reason = exc.__cause__ or exc  # GEOS's own words, not the pair's place
            raise GeometryError(
                f"parcel: GEOS cannot overlay it with the plan's {self.layer} ({reason})"
            ) from exc
        return _by_zone([*inside, *(zone for _, zone in kept)], [parcel.area] * len(inside) + areas)

    def piece(self, parcel: BaseGeometry, rows: NDArray[np.intp]) -> BaseGeometry:
        """The part of ``parcel`` in the zones ``rows``, polygonal (GEOS): what a rule that
        reads one sub-zone's piece of a split parcel measures."""
        lo = np.searchsorted(self._owner, rows, side="left")
        hi = np.searchsorted(self._owner, rows, side="right")
        parts = self._parts[np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])]
        cut = shapely.get_parts(shapely.intersection(parcel, parts))
        kinds = shapely.get_type_id(cut)
        return shapely.union_all(cut[(kinds == 3) | (kinds == 6)])

    def zones_at(self, point: BaseGeometry) -> NDArray[np.intp]:
        """Zone rows whose parts hold ``point``, ascending (a point on a shared edge is in
        both zones). The predicate prepares the query point, never the shared parts."""
        parts = self._tree.query(point, predicate="intersects")
        return np.unique(self._owner[parts]).astype(np.intp)

    def overlap_many(
        self, parcels: NDArray[np.object_], *, valid: bool = False
    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
        """For many parcels at once: (parcel row, zone row, area m2) for every overlapping pair
        above ``NOISE_M2``, sorted by parcel then zone: the areas ``overlap`` gives one parcel.
        A parcel covered by a part is in that zone alone, with its own area (share 1, exactly,
        as for a single check; inside an overlay, it takes its own area there and the other
        overlays are measured); the others are measured by the kernel against every part whose
        box meets them. ``valid``: the caller has found every parcel valid (``areas``)."""
        size = max(self.size, 1)
        # Boxes only: the exact areas decide, and an "intersects" predicate would cost more
        # than the kernel spends on the extra pairs (whose area is 0 and are dropped below).
        box_p, box_part = self._tree.query(parcels)
        covers = self._covers(box_part, parcels[box_p])
        covered_p, covered_part = box_p[covers], box_part[covers]
        if self.partition:
            order = np.lexsort((covered_part, covered_p))
            inside, first = np.unique(covered_p[order], return_index=True)
            inside_zone = self._owner[covered_part[order][first]]
            measured = ~np.isin(box_p, inside)
        else:
            held = np.unique(covered_p.astype(np.int64) * size + self._owner[covered_part])
            inside, inside_zone = (held // size).astype(np.intp), (held % size).astype(np.intp)
            measured = ~np.isin(box_p.astype(np.int64) * size + self._owner[box_part], held)
        rest_idx, part_idx = box_p[measured], box_part[measured]
        parcel_idx = np.concatenate([inside, rest_idx])
        zone_idx = np.concatenate([inside_zone, self._owner[part_idx]])
        areas = np.concatenate(
            [
                shapely.area(parcels[inside]),
                self._packed.areas(parcels, rest_idx, part_idx, valid=valid),
            ]
        )
        keys = parcel_idx.astype(np.int64) * size + zone_idx
        unique, inverse = np.unique(keys, return_inverse=True)
        summed = np.bincount(inverse, weights=areas, minlength=len(unique))
        keep = summed > NOISE_M2
        unique, summed = unique[keep], summed[keep]
        return (
            (unique // size).astype(np.intp),
            (unique % size).astype(np.intp),
            summed.astype(np.float64),
        )


def built(tree: shapely.STRtree) -> shapely.STRtree:
    """``tree``, built: GEOS builds an STR tree on its first query, which two threads must not
    race to make."""
    tree.query(shapely.box(0, 0, 0, 0))
    return tree


def _by_zone(owners: list[int], areas: list[float]) -> Overlap:
    """Areas summed by zone, in zone order, noise dropped: the same additions in the same order
    as ``np.bincount`` makes for many parcels in ``overlap_many``."""
    summed: dict[int, float] = {}
    for zone, area in zip(owners, areas, strict=True):
        summed[zone] = summed.get(zone, 0.0) + area
    zones = sorted(zone for zone, area in summed.items() if area > NOISE_M2)
    return Overlap(
        np.array(zones, dtype=np.intp), np.array([summed[z] for z in zones], dtype=np.float64)
    )
