"""Exact areas of parcel ∩ zone intersections, many pairs at once (the permit engine's bulk path).

GEOS builds every intersection polygon only for its area to be taken (23-48 us a pair). The
kernel here computes the area alone, exactly to floating-point rounding, in a compiled loop over
the pairs that uses every core:

- each parcel is cut once into convex pieces: a hole-free convex part is its own piece, another
  hole-free part is cut into triangles by ear clipping, and a part with holes (or one ear clipping
  gives up on) by ``shapely.constrained_delaunay_triangles``, which respects holes; the pieces'
  total area must match the parcel's (``PIECE_AREA_RTOL``);
- for a pair, each zone ring (exteriors and holes of every part) near the parcel is clipped with
  Sutherland-Hodgman, first to the parcel's bounding box, then to each convex piece, and the signed
  shoelace areas are summed, holes counting negative. S-H clipping by a half-plane keeps a ring's
  winding number inside the half-plane and makes it zero outside, so the sum is the integral of
  the zone's winding number (1 inside, 0 outside) over the parcel: the exact overlap area, even
  where the clipped rings have degenerate edges along the clip lines;
- a parcel whose bounding box no zone ring enters lies wholly inside or outside the zone: its area,
  or 0, without clipping.

Coordinates are shifted to the parcel's bounding-box corner before any arithmetic, so rounding is
relative to the parcel's size, not to the CRS's false easting. Areas are in the geometries' units
squared (m2 in the plan's metric CRS). Each pair is computed on its own, in a fixed order, so the
same input gives the same bits whatever the number of threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, NamedTuple

import numpy as np
import shapely
from numba import njit, prange
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.errors import GeometryError

#: How far (relative) the convex pieces' total area may stray from GEOS's area of the parcel before
#: the parcel is left to GEOS. A missing, spurious or inverted piece moves the total by at least its
#: own area (ear-clipped triangles' signed areas always sum to the ring's, so an inverted or
#: overlapping one adds twice its area), so passing the check bounds the part of the parcel the
#: pieces get wrong, and the error of every intersection area of that parcel, by 1e-9 of the
#: parcel's area: a thousand times below the 1e-6 the engine promises, and still far above the
#: rounding of the sums themselves (about 1e-15 relative in parcel-local coordinates).
PIECE_AREA_RTOL = 1e-9

#: Pairs per unit of parallel work: small enough to balance two cores, large enough that the
#: scratch buffers allocated per unit cost nothing.
_CHUNK = 256

#: Rings with more vertices go to the constrained Delaunay triangulation (O(n log n)) rather than
#: ear clipping (O(n^2)).
_EAR_CLIP_MAX = 1000

#: numba's default threading layer (workqueue) aborts when two Python threads launch parallel
#: kernels at once; one launch at a time keeps the kernel safe under a web server's threads.
_LAUNCH = threading.Lock()

#: Whether this process measures on the calling thread alone (``one_core``).
_ONE_CORE = False
#: How many blocks run under ``cores_taken`` now, in any thread (one keeps the kernel serial).
_TAKEN = 0


def one_core() -> None:
    """Measure on the calling thread alone from now on, in this process: for a worker process
    forked to have a core of its own. No parallel kernel is launched then, which a process
    forked from one whose kernel ran on GNU OpenMP must not do (OpenMP aborts it)."""
    global _ONE_CORE
    _ONE_CORE = True


@contextmanager
def cores_taken() -> Iterator[None]:
    """Measure on the calling thread alone while the block runs, in this process: while
    processes forked from it have the other cores (a batch shared with workers). The
    parallel kernel's GNU OpenMP threads spin for a while after each launch, and would take
    those cores from them (measured: a shared batch ran 13-17 % slower)."""
    global _TAKEN
    with _LAUNCH:
        _TAKEN += 1
    try:
        yield
    finally:
        with _LAUNCH:
            _TAKEN -= 1


def intersecting_pairs(
    parcels: NDArray[np.object_],
    zones: NDArray[np.object_],
    *,
    predicate: Literal["intersects"] | None = "intersects",
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indices ``(parcel_idx, zone_idx)`` of every parcel and zone that intersect, sorted.

    The zones' parts are indexed, not the zones (a multipart zone's box can span a town). Pairs
    that merely touch are included, as the ``intersects`` predicate says; their area is 0.
    ``predicate=None`` gives every pair whose bounding boxes meet instead: a superset, found
    about eight times faster, for callers that keep the pairs of positive area anyway.

    >>> zones = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)])
    >>> parcels = np.array([shapely.box(2, 2, 4, 4), shapely.box(8, 2, 12, 4)])
    >>> p, z = intersecting_pairs(parcels, zones)
    >>> p.tolist(), z.tolist()
    ([0, 1, 1], [0, 0, 1])
    """
    parts, owner = shapely.get_parts(zones, return_index=True)
    hit_parcel, hit_part = shapely.STRtree(parts).query(parcels, predicate=predicate)
    size = max(len(zones), 1)
    keys = np.unique(hit_parcel.astype(np.int64) * size + owner[hit_part])
    return (keys // size).astype(np.intp), (keys % size).astype(np.intp)


def intersection_areas(
    parcels: NDArray[np.object_],
    zones: NDArray[np.object_],
    parcel_idx: NDArray[np.intp],
    zone_idx: NDArray[np.intp],
) -> NDArray[np.float64]:
    """``area(parcels[parcel_idx[k]] ∩ zones[zone_idx[k]])`` for every k, in the data's units².

    Polygons and MultiPolygons, holes on either side. Pairs the kernel cannot vouch for (an
    invalid, empty, non-polygonal or non-finite geometry, a parcel whose triangulation misses
    ``PIECE_AREA_RTOL``) are computed by GEOS; a missing geometry (None) gives NaN. Safe to call
    from many threads (kernel launches take turns, each using every core and letting go of the
    GIL). The first call in a process compiles the kernel (about 10 s) or loads it from numba's
    on-disk cache (under 1 s). Zones asked about again and again are better packed once, as
    ``PackedZones``.

    >>> zone = shapely.box(0, 0, 10, 10).difference(shapely.box(4, 4, 6, 6))
    >>> parcels = np.array([shapely.box(2, 2, 8, 5), shapely.box(20, 0, 21, 1)])
    >>> intersection_areas(parcels, np.array([zone]), np.array([0, 1]), np.array([0, 0])).tolist()
    [16.0, 0.0]
    """
    parcel_idx, zone_idx = _pair_indices(parcel_idx, zone_idx)
    if zone_idx.size == 0:
        return np.empty(0, dtype=np.float64)
    used, pair_z = np.unique(zone_idx, return_inverse=True)
    return PackedZones(np.asarray(zones, dtype=object)[used]).areas(parcels, parcel_idx, pair_z)


class PackedZones:
    """Zones packed for the kernel once: every ring with its box, role and orientation. Packing
    costs a few microseconds a zone, more than the kernel spends on a pair, so an index asked
    about the same zones again and again (an engine's) keeps them packed. Read-only once made.
    """

    def __init__(self, zones: NDArray[np.object_]) -> None:
        self.zones = np.asarray(zones, dtype=object)
        self._rings = _pack_zones(self.zones)
        #: The most vertices of any ring of each zone, which sizes the kernel's scratch space.
        self._longest = np.zeros(len(self.zones), dtype=np.int64)
        starts = self._rings.start
        owned = np.flatnonzero(np.diff(starts) > 0)
        if owned.size:
            sizes = np.diff(self._rings.vert_start)
            self._longest[owned] = np.maximum.reduceat(sizes, starts[owned])

    def areas(
        self,
        parcels: NDArray[np.object_],
        parcel_idx: NDArray[np.intp],
        zone_idx: NDArray[np.intp],
        *,
        valid: bool = False,
    ) -> NDArray[np.float64]:
        """``area(parcels[parcel_idx[k]] ∩ self.zones[zone_idx[k]])`` for every k, as
        ``intersection_areas`` says. ``valid``: the caller has found every parcel valid
        (a batch has, repairing them), so the kernel does not ask GEOS again."""
        parcel_idx, zone_idx = _pair_indices(parcel_idx, zone_idx)
        out = np.empty(parcel_idx.size, dtype=np.float64)
        if parcel_idx.size == 0:
            return out
        used_p, pair_p = np.unique(parcel_idx, return_inverse=True)
        pieces = _pack_parcels(np.asarray(parcels, dtype=object)[used_p], valid=valid)
        fast = pieces.ok[pair_p] & self._rings.ok[zone_idx]
        if fast.any():
            capacity = 4 * int(self._longest[zone_idx[fast]].max()) + 64
            pairs = (pair_p[fast].astype(np.int64), zone_idx[fast].astype(np.int64))
            if _ONE_CORE or _TAKEN:
                found = np.empty(pairs[0].size)
                _span_areas(0, found.size, *pairs, pieces, self._rings, capacity, found)
                out[fast] = found
            else:
                with _LAUNCH:
                    out[fast] = _areas(*pairs, pieces, self._rings, capacity)
        slow = np.flatnonzero(~fast)
        if slow.size:
            out[slow] = _geos_areas(parcels, self.zones, parcel_idx[slow], zone_idx[slow])
        return out

    def parcel_areas(self, parcel: BaseGeometry, zone_idx: NDArray[np.intp]) -> NDArray[np.float64]:
        """``area(parcel ∩ self.zones[k])`` for each k of ``zone_idx``, the bits ``areas`` gives:
        a single check's path. A hole-free parcel is cut and measured in one compiled call on
        the calling thread (no launch to wait for; it lets go of the GIL), without the arrays
        ``areas`` builds for many parcels; any other goes the way ``areas`` takes."""
        zone_idx = np.asarray(zone_idx, dtype=np.intp)
        if zone_idx.size and _usable_one(parcel) and self._rings.ok[zone_idx].all():
            wkb = np.frombuffer(shapely.to_wkb(parcel, output_dimension=2, byte_order=1), np.uint8)
            areas, done = _one_parcel(wkb, parcel.area, zone_idx, self._rings)
            if done:
                return areas
        return self.areas(np.array([parcel], dtype=object), np.zeros_like(zone_idx), zone_idx)


def _pair_indices(
    parcel_idx: NDArray[np.intp], zone_idx: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    parcel_idx = np.asarray(parcel_idx, dtype=np.intp)
    zone_idx = np.asarray(zone_idx, dtype=np.intp)
    if parcel_idx.shape != zone_idx.shape or parcel_idx.ndim != 1:
        raise ValueError(
            f"parcel_idx and zone_idx must be 1-D and of one length, not {parcel_idx.shape} "
            f"and {zone_idx.shape}"
        )
    return parcel_idx, zone_idx


class _Pieces(NamedTuple):
    """Parcels cut into convex pieces, counter-clockwise, in parcel-local coordinates.

    Parcel ``i`` owns pieces ``order[start[i]:start[i + 1]]``; piece ``j`` has vertices
    ``xy[vert_start[j]:vert_start[j + 1]]`` (ring not closed). ``origin`` is the absolute corner
    the local coordinates count from; ``parcel_box`` is absolute, ``box`` (per piece) local.
    """

    ok: NDArray[np.bool_]
    start: NDArray[np.int64]
    order: NDArray[np.int64]
    vert_start: NDArray[np.int64]
    xy: NDArray[np.float64]
    box: NDArray[np.float64]
    parcel_box: NDArray[np.float64]
    origin: NDArray[np.float64]
    area: NDArray[np.float64]


class _Rings(NamedTuple):
    """Zones as rings in absolute coordinates: zone ``i`` owns rings ``start[i]:start[i + 1]``.

    Ring ``r`` has vertices ``xy[vert_start[r]:vert_start[r + 1]]`` (closed); ``role`` is +1 for
    an exterior, -1 for a hole; ``weight`` (±1) makes its signed area count positive for an
    exterior and negative for a hole, whatever its orientation.
    """

    ok: NDArray[np.bool_]
    start: NDArray[np.int64]
    vert_start: NDArray[np.int64]
    xy: NDArray[np.float64]
    box: NDArray[np.float64]
    weight: NDArray[np.float64]
    role: NDArray[np.int64]


def _usable(geoms: NDArray[np.object_], *, valid: bool = False) -> NDArray[np.bool_]:
    """Valid (hence finite), non-empty Polygons and MultiPolygons: what the kernel can vouch
    for; validity taken as given where the caller has checked it (``valid``)."""
    kind = shapely.get_type_id(geoms)
    polygonal = (kind == shapely.GeometryType.POLYGON) | (kind == shapely.GeometryType.MULTIPOLYGON)
    usable = polygonal & ~shapely.is_empty(geoms)
    return usable if valid else usable & shapely.is_valid(geoms)


def _usable_one(geom: BaseGeometry) -> bool:
    """``_usable`` for one geometry, without making arrays."""
    polygonal = isinstance(geom, shapely.Polygon | shapely.MultiPolygon)
    return polygonal and not geom.is_empty and bool(geom.is_valid)


def _offsets(counts: NDArray[np.integer]) -> NDArray[np.int64]:
    return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])


def _read_rings(
    geoms: NDArray[np.object_],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """All rings of polygonal ``geoms``: coordinates, ring offsets, owner index and role (+1
    exterior, -1 hole), exteriors first in each part, parts in order.

    Read from WKB in one pass: shapely's ``get_parts``/``get_rings`` copy every part and ring as
    a new geometry, which costs several times more for large batches.
    """
    wkb = shapely.to_wkb(geoms, output_dimension=2, byte_order=1)
    sizes = np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb))
    buf = np.frombuffer(b"".join(wkb), dtype=np.uint8)
    coords = int(shapely.get_num_coordinates(geoms).sum())
    return _wkb_rings(buf, _offsets(sizes), coords)


def _pack_parcels(geoms: NDArray[np.object_], *, valid: bool = False) -> _Pieces:
    """Cut each usable parcel into convex pieces; parcels failing the area check are not ok."""
    ok = _usable(geoms, valid=valid)
    bounds = shapely.bounds(geoms)
    origin = np.where(ok[:, None], bounds[:, :2], 0.0)
    used = np.flatnonzero(ok)
    ring_xy, ring_start, ring_geom, role = _read_rings(geoms[used])
    ring_geom = used[ring_geom]
    ring_xy -= origin[np.repeat(ring_geom, np.diff(ring_start))]
    simple = role == 1
    simple[:-1] &= role[1:] == 1
    xy, vert_start, piece_ring, done = _decompose(ring_xy, ring_start, simple)

    whole = np.bincount(ring_geom, weights=~done, minlength=len(geoms)) == 0
    keep = whole[ring_geom[piece_ring]]
    xy, vert_start = _select_pieces(xy, vert_start, keep)
    rest = np.flatnonzero(ok & ~whole)
    triangles, tri_geom = shapely.get_parts(
        shapely.constrained_delaunay_triangles(geoms[rest]), return_index=True
    )
    tri_geom = rest[tri_geom]
    tri_xy = shapely.get_coordinates(triangles).reshape(-1, 4, 2)[:, :3].reshape(-1, 2)
    tri_xy -= origin[np.repeat(tri_geom, 3)]
    xy = np.ascontiguousarray(np.concatenate([xy, tri_xy]))
    vert_start = np.concatenate([vert_start, vert_start[-1] + 3 * np.arange(1, len(tri_geom) + 1)])
    owner = np.concatenate([ring_geom[piece_ring[keep]], tri_geom])
    piece_area, piece_box = _orient_pieces(xy, vert_start)

    total = np.bincount(owner, weights=piece_area, minlength=len(geoms))
    area = shapely.area(geoms)
    ok &= np.abs(total - area) <= PIECE_AREA_RTOL * area
    return _Pieces(
        ok=ok,
        start=_offsets(np.bincount(owner, minlength=len(geoms))),
        order=np.argsort(owner, kind="stable").astype(np.int64),
        vert_start=vert_start,
        xy=xy,
        box=piece_box,
        parcel_box=np.ascontiguousarray(bounds),
        origin=np.ascontiguousarray(origin),
        area=area,
    )


def _select_pieces(
    xy: NDArray[np.float64], vert_start: NDArray[np.int64], keep: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The pieces marked ``keep``, vertices and offsets."""
    sizes = np.diff(vert_start)
    return xy[np.repeat(keep, sizes)], _offsets(sizes[keep])


def _pack_zones(geoms: NDArray[np.object_]) -> _Rings:
    """Every ring of every usable zone, with its box, role and orientation weight."""
    ok = _usable(geoms)
    used = np.flatnonzero(ok)
    xy, vert_start, ring_geom, role = _read_rings(geoms[used])
    box, signed = _ring_stats(xy, vert_start, True)
    return _Rings(
        ok=ok,
        start=_offsets(np.bincount(used[ring_geom], minlength=len(geoms))),
        vert_start=vert_start,
        xy=xy,
        box=box,
        weight=np.where(signed > 0.0, role, -role).astype(np.float64),
        role=role,
    )


def _geos_areas(
    parcels: NDArray[np.object_],
    zones: NDArray[np.object_],
    parcel_idx: NDArray[np.intp],
    zone_idx: NDArray[np.intp],
) -> NDArray[np.float64]:
    """GEOS's areas for the pairs the kernel left; a pair GEOS cannot overlay is named."""
    left, right = np.asarray(parcels)[parcel_idx], np.asarray(zones)[zone_idx]
    try:
        return np.asarray(shapely.area(shapely.intersection(left, right)), dtype=np.float64)
    except shapely.errors.GEOSException:
        for p, z, a, b in zip(parcel_idx, zone_idx, left, right, strict=True):
            try:
                shapely.intersection(a, b)
            except shapely.errors.GEOSException as exc:
                raise GeometryError(
                    f"cannot intersect parcel {p} with zone {z}: {exc} (repair the geometries)"
                ) from exc
        raise


@njit(cache=True, nogil=True)
def _wkb_rings(
    buf: NDArray[np.uint8], start: NDArray[np.int64], coords: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Rings of the little-endian 2D WKB Polygons and MultiPolygons ``buf[start[g]:]``
    holding ``coords`` coordinates in all: see ``_read_rings``."""
    xy = np.empty((coords, 2))
    room = coords // 4 + 1
    ring_start = np.zeros(room + 1, dtype=np.int64)
    ring_geom = np.empty(room, dtype=np.int64)
    role = np.empty(room, dtype=np.int64)
    bits = np.empty(1, dtype=np.uint64)
    value = bits.view(np.float64)
    v = 0
    r = 0
    for g in range(start.size - 1):
        pos = start[g] + 1
        multi = _uint32(buf, pos) == 6
        pos += 4
        parts = 1
        if multi:
            parts = _uint32(buf, pos)
            pos += 4
        for _ in range(parts):
            if multi:
                pos += 5
            rings = _uint32(buf, pos)
            pos += 4
            for k in range(rings):
                n = _uint32(buf, pos)
                pos += 4
                for _ in range(2 * n):
                    word = np.uint64(0)
                    for b in range(8):
                        word |= np.uint64(buf[pos + b]) << np.uint64(8 * b)
                    bits[0] = word
                    xy.flat[v] = value[0]
                    v += 1
                    pos += 8
                role[r] = 1 if k == 0 else -1
                ring_geom[r] = g
                r += 1
                ring_start[r] = v // 2
    return xy, ring_start[: r + 1], ring_geom[:r], role[:r]


@njit(cache=True)
def _uint32(buf: NDArray[np.uint8], pos: int) -> int:
    """The little-endian unsigned 32-bit integer at ``buf[pos]``."""
    value = 0
    for b in range(4):
        value |= int(buf[pos + b]) << (8 * b)
    return value


@njit(cache=True, nogil=True)
def _ring_stats(
    xy: NDArray[np.float64], start: NDArray[np.int64], closed: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each ring's box (x0, y0, x1, y1) and signed area (counter-clockwise positive)."""
    n = start.size - 1
    box = np.empty((n, 4))
    signed = np.empty(n)
    for r in range(n):
        lo, hi = start[r], start[r + 1]
        box[r, 0] = xy[lo:hi, 0].min()
        box[r, 1] = xy[lo:hi, 1].min()
        box[r, 2] = xy[lo:hi, 0].max()
        box[r, 3] = xy[lo:hi, 1].max()
        size = hi - lo - 1 if closed else hi - lo
        signed[r] = _shoelace(xy[lo : lo + size], size)
    return box, signed


@njit(cache=True, nogil=True)
def _decompose(
    xy: NDArray[np.float64], start: NDArray[np.int64], simple: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Convex pieces of the ``simple`` (hole-free) closed rings ``xy[start[r]:start[r + 1]]``.

    A convex ring is one piece, another is ear-clipped into triangles. Returns the pieces'
    vertices (rings not closed), their offsets, the ring each piece comes from, and which rings
    were done; the others (with holes, or where no ear was found) are left to the caller.
    """
    rings = start.size - 1
    room = 0
    for r in range(rings):
        room += 3 * max(start[r + 1] - start[r] - 1, 1)
    out = np.empty((room, 2))
    vert_start = np.zeros(room + 1, dtype=np.int64)
    piece_ring = np.empty(room, dtype=np.int64)
    done = np.zeros(rings, dtype=np.bool_)
    v = 0
    k = 0
    for r in range(rings):
        if not simple[r]:
            continue
        lo, n = start[r], start[r + 1] - start[r] - 1
        if _convex(xy, lo, n):
            out[v : v + n] = xy[lo : lo + n]
            v += n
            vert_start[k + 1] = v
            piece_ring[k] = r
            k += 1
            done[r] = True
            continue
        made = _ear_clip(xy, lo, n, out[v:]) if n <= _EAR_CLIP_MAX else -1
        if made < 0:
            continue
        for _ in range(made):
            v += 3
            vert_start[k + 1] = v
            piece_ring[k] = r
            k += 1
        done[r] = True
    return out[:v], vert_start[: k + 1], piece_ring[:k], done


@njit(cache=True)
def _turn(xy: NDArray[np.float64], a: int, b: int, c: int) -> float:
    """Twice the signed area of triangle a, b, c: positive for a left turn at b."""
    return (xy[b, 0] - xy[a, 0]) * (xy[c, 1] - xy[b, 1]) - (xy[b, 1] - xy[a, 1]) * (
        xy[c, 0] - xy[b, 0]
    )


@njit(cache=True)
def _convex(xy: NDArray[np.float64], lo: int, n: int) -> bool:
    """True when every turn of the ring ``xy[lo:lo + n]`` goes one way (convex, the ring being
    simple). Collinear and repeated vertices are allowed; one turn against the others, however
    slight, is not."""
    left = right = False
    for i in range(n):
        turn = _turn(xy, lo + i, lo + (i + 1) % n, lo + (i + 2) % n)
        left |= turn > 0.0
        right |= turn < 0.0
    return not (left and right)


@njit(cache=True)
def _ear_clip(xy: NDArray[np.float64], lo: int, n: int, out: NDArray[np.float64]) -> int:
    """Triangles of the simple ring ``xy[lo:lo + n]`` by ear clipping, written to ``out`` three
    vertices each, counter-clockwise; their count, or -1 when no ear is left to clip.

    Vertices with no turn are dropped without a triangle. Whatever rounding does here, the
    triangles' signed areas always sum to the ring's, so the caller's area check (absolute areas
    against the parcel's) fails unless the triangles tile the ring.
    """
    ccw = _shoelace(xy[lo : lo + n], n) > 0.0
    ids = np.empty(n, dtype=np.int64)
    for i in range(n):
        ids[i] = lo + i if ccw else lo + n - 1 - i
    prev = np.empty(n, dtype=np.int64)
    nxt = np.empty(n, dtype=np.int64)
    for i in range(n):
        prev[i] = (i - 1) % n
        nxt[i] = (i + 1) % n
    made = 0
    left = n
    i = 0
    misses = 0
    while left > 3:
        a, b, c = ids[prev[i]], ids[i], ids[nxt[i]]
        turn = _turn(xy, a, b, c)
        if turn == 0.0 or (turn > 0.0 and _empty_triangle(xy, ids, nxt, i, a, b, c)):
            if turn > 0.0:
                made = _put_triangle(out, made, xy, a, b, c)
            nxt[prev[i]] = nxt[i]
            prev[nxt[i]] = prev[i]
            i = prev[i]
            left -= 1
            misses = 0
        else:
            i = nxt[i]
            misses += 1
            if misses > left:
                return -1
    a, b, c = ids[prev[i]], ids[i], ids[nxt[i]]
    if _turn(xy, a, b, c) > 0.0:
        made = _put_triangle(out, made, xy, a, b, c)
    return made


@njit(cache=True)
def _put_triangle(
    out: NDArray[np.float64], made: int, xy: NDArray[np.float64], a: int, b: int, c: int
) -> int:
    """Write triangle a, b, c as the ``made``-th of ``out``; return the new count."""
    out[3 * made] = xy[a]
    out[3 * made + 1] = xy[b]
    out[3 * made + 2] = xy[c]
    return made + 1


@njit(cache=True)
def _empty_triangle(
    xy: NDArray[np.float64],
    ids: NDArray[np.int64],
    nxt: NDArray[np.int64],
    i: int,
    a: int,
    b: int,
    c: int,
) -> bool:
    """True when no vertex of the ring other than a, b, c (or a copy of them) lies in or on the
    counter-clockwise triangle a, b, c."""
    j = nxt[nxt[i]]
    while ids[j] != a:
        p = ids[j]
        j = nxt[j]
        if (
            (xy[p, 0] == xy[a, 0] and xy[p, 1] == xy[a, 1])
            or (xy[p, 0] == xy[c, 0] and xy[p, 1] == xy[c, 1])
            or (xy[p, 0] == xy[b, 0] and xy[p, 1] == xy[b, 1])
        ):
            continue
        if _turn(xy, a, b, p) >= 0.0 and _turn(xy, b, c, p) >= 0.0 and _turn(xy, c, a, p) >= 0.0:
            return False
    return True


@njit(cache=True, nogil=True)
def _orient_pieces(
    xy: NDArray[np.float64], start: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Reverse clockwise pieces in place; return each piece's area and (local) box."""
    box, signed = _ring_stats(xy, start, False)
    for p in range(start.size - 1):
        if signed[p] < 0.0:
            lo, hi = start[p], start[p + 1]
            xy[lo:hi] = xy[lo:hi][::-1].copy()
    return np.abs(signed), box


@njit(cache=True)
def _shoelace(xy: NDArray[np.float64], n: int) -> float:
    """Signed area of the ring ``xy[:n]`` (not closed), counter-clockwise positive; measured from
    its first vertex, so that large coordinates lose no precision."""
    x0, y0 = xy[0, 0], xy[0, 1]
    total = 0.0
    px, py = xy[n - 1, 0] - x0, xy[n - 1, 1] - y0
    for i in range(n):
        cx, cy = xy[i, 0] - x0, xy[i, 1] - y0
        total += px * cy - cx * py
        px, py = cx, cy
    return 0.5 * total


@njit(cache=True)
def _clip(
    src: NDArray[np.float64],
    n: int,
    dst: NDArray[np.float64],
    ax: float,
    ay: float,
    dx: float,
    dy: float,
) -> int:
    """Sutherland-Hodgman: the ring ``src[:n]`` cut to the left of the line through (ax, ay)
    along (dx, dy), written to ``dst`` (at most ``2 n`` vertices); returns its vertex count."""
    m = 0
    px, py = src[n - 1, 0], src[n - 1, 1]
    ps = dx * (py - ay) - dy * (px - ax)
    for i in range(n):
        cx, cy = src[i, 0], src[i, 1]
        cs = dx * (cy - ay) - dy * (cx - ax)
        if (cs >= 0.0 and ps < 0.0) or (cs < 0.0 and ps > 0.0):
            t = ps / (ps - cs)
            dst[m, 0] = px + t * (cx - px)
            dst[m, 1] = py + t * (cy - py)
            m += 1
        if cs >= 0.0:
            dst[m, 0] = cx
            dst[m, 1] = cy
            m += 1
        px, py, ps = cx, cy, cs
    return m


@njit(cache=True)
def _ring_enters_box(
    xy: NDArray[np.float64],
    lo: int,
    hi: int,
    ox: float,
    oy: float,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
) -> bool:
    """True when an edge of the closed ring ``xy[lo:hi]`` (shifted by -ox, -oy) may meet the
    box [x0, x1] x [y0, y1]; False only when every edge clearly misses it."""
    for i in range(lo, hi - 1):
        ax, ay = xy[i, 0] - ox, xy[i, 1] - oy
        bx, by = xy[i + 1, 0] - ox, xy[i + 1, 1] - oy
        if max(ax, bx) < x0 or min(ax, bx) > x1 or max(ay, by) < y0 or min(ay, by) > y1:
            continue
        dx, dy = bx - ax, by - ay
        s0 = dx * (y0 - ay) - dy * (x0 - ax)
        s1 = dx * (y0 - ay) - dy * (x1 - ax)
        s2 = dx * (y1 - ay) - dy * (x1 - ax)
        s3 = dx * (y1 - ay) - dy * (x0 - ax)
        if not (
            (s0 > 0 and s1 > 0 and s2 > 0 and s3 > 0) or (s0 < 0 and s1 < 0 and s2 < 0 and s3 < 0)
        ):
            return True
    return False


@njit(cache=True)
def _apart(a: NDArray[np.float64], b: NDArray[np.float64]) -> bool:
    """True when boxes ``a`` and ``b`` (x0, y0, x1, y1) share no point."""
    return a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3]


@njit(cache=True)
def _ring_contains(
    xy: NDArray[np.float64], lo: int, hi: int, ox: float, oy: float, x: float, y: float
) -> bool:
    """Crossing-number test of the local point (x, y) against the closed ring ``xy[lo:hi]``."""
    inside = False
    for i in range(lo, hi - 1):
        ax, ay = xy[i, 0] - ox, xy[i, 1] - oy
        bx, by = xy[i + 1, 0] - ox, xy[i + 1, 1] - oy
        if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside


@njit(cache=True)
def _pair_area(
    p: int,
    z: int,
    pieces: _Pieces,
    rings: _Rings,
    work: NDArray[np.float64],
    corners: NDArray[np.float64],
    near_box: NDArray[np.float64],
) -> tuple[float, int]:
    """Area of parcel ``p`` ∩ zone ``z``, and 0; or (0, capacity) when ``work`` is too small.

    Local coordinates count from the parcel's box corner, so the box is [0, w] x [0, h];
    ``corners`` and ``near_box`` are scratch space for its corners and a clipped ring's box.
    """
    ox, oy = pieces.origin[p, 0], pieces.origin[p, 1]
    box = pieces.parcel_box[p]
    w, h = box[2] - ox, box[3] - oy
    pad = 1e-9 * (w + h)

    # A parcel whose (padded) box no ring enters is wholly inside the zone or wholly outside.
    enters = False
    winding = 0
    for r in range(rings.start[z], rings.start[z + 1]):
        if _apart(rings.box[r], box):
            continue
        lo, hi = rings.vert_start[r], rings.vert_start[r + 1]
        if _ring_enters_box(rings.xy, lo, hi, ox, oy, -pad, -pad, w + pad, h + pad):
            enters = True
            break
        if _ring_contains(rings.xy, lo, hi, ox, oy, 0.5 * w, 0.5 * h):
            winding += rings.role[r]
    if not enters:
        return (pieces.area[p] if winding > 0 else 0.0), 0

    corners[:] = 0.0
    corners[1, 0] = corners[2, 0] = w
    corners[2, 1] = corners[3, 1] = h
    total = 0.0
    for r in range(rings.start[z], rings.start[z + 1]):
        if _apart(rings.box[r], box):
            continue
        lo, hi = rings.vert_start[r], rings.vert_start[r + 1]
        n = hi - lo - 1
        if n > work.shape[1]:
            return 0.0, 2 * n
        for i in range(n):
            work[0, i, 0] = rings.xy[lo + i, 0] - ox
            work[0, i, 1] = rings.xy[lo + i, 1] - oy
        n, near = _clip_convex(work[0], n, work[1], work[2], corners, 0, 4)
        if n < 0:
            return 0.0, 2 * work.shape[1]
        if n < 3:
            continue
        near_box[0], near_box[1] = near[:n, 0].min(), near[:n, 1].min()
        near_box[2], near_box[3] = near[:n, 0].max(), near[:n, 1].max()
        ring_total = 0.0
        for j in range(pieces.start[p], pieces.start[p + 1]):
            q = pieces.order[j]
            if _apart(pieces.box[q], near_box):
                continue
            m, clipped = _clip_convex(
                near, n, work[0], work[1], pieces.xy, pieces.vert_start[q], pieces.vert_start[q + 1]
            )
            if m < 0:
                return 0.0, 2 * work.shape[1]
            if m >= 3:
                ring_total += _shoelace(clipped, m)
        total += rings.weight[r] * ring_total
    return total, 0


@njit(cache=True)
def _clip_convex(
    src: NDArray[np.float64],
    n: int,
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    xy: NDArray[np.float64],
    lo: int,
    hi: int,
) -> tuple[int, NDArray[np.float64]]:
    """``src[:n]`` clipped by the counter-clockwise convex polygon ``xy[lo:hi]`` (not closed),
    ping-ponging through ``a`` and ``b``: the vertex count and the buffer holding the result;
    -1 when the buffers are too small."""
    m = n
    cur = src
    for e in range(hi - lo):
        if m == 0:
            break
        if 2 * m > a.shape[0]:
            return -1, cur
        f = lo + (e + 1) % (hi - lo)
        out = a if e % 2 == 0 else b
        ex, ey = xy[lo + e, 0], xy[lo + e, 1]
        m = _clip(cur, m, out, ex, ey, xy[f, 0] - ex, xy[f, 1] - ey)
        cur = out
    return m, cur


@njit(parallel=True, cache=True, nogil=True)
def _areas(
    pair_p: NDArray[np.int64],
    pair_z: NDArray[np.int64],
    pieces: _Pieces,
    rings: _Rings,
    capacity: int,
) -> NDArray[np.float64]:
    """The areas of all pairs, chunks of ``_CHUNK`` pairs spread over the cores."""
    n = pair_p.size
    out = np.empty(n)
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        _span_areas(
            c * _CHUNK, min(n, (c + 1) * _CHUNK), pair_p, pair_z, pieces, rings, capacity, out
        )
    return out


@njit(cache=True, nogil=True)
def _span_areas(
    lo: int,
    hi: int,
    pair_p: NDArray[np.int64],
    pair_z: NDArray[np.int64],
    pieces: _Pieces,
    rings: _Rings,
    capacity: int,
    out: NDArray[np.float64],
) -> None:
    """The areas of pairs ``lo`` to ``hi``, into ``out``, on the calling thread."""
    work = np.empty((3, capacity, 2))
    corners = np.empty((4, 2))
    near_box = np.empty(4)
    for k in range(lo, hi):
        need = 1
        while need:
            area, need = _pair_area(pair_p[k], pair_z[k], pieces, rings, work, corners, near_box)
            if need:
                work = np.empty((3, max(need, 2 * work.shape[1]), 2))
        out[k] = area


@njit(cache=True, nogil=True)
def _one_parcel(
    wkb: NDArray[np.uint8], area: float, zones: NDArray[np.int64], rings: _Rings
) -> tuple[NDArray[np.float64], bool]:
    """The areas of one parcel (little-endian 2D WKB, and GEOS's ``area`` of it) with each of
    ``zones``; False where its rings are not all hole-free and cut into convex pieces that
    pass the area check (the caller then asks GEOS)."""
    out = np.zeros(zones.size)
    ring_xy, ring_start, _, role = _wkb_rings(wkb, np.array([0, wkb.size]), wkb.size // 16)
    ring_xy = ring_xy[: ring_start[-1]]
    bounds = np.array(
        [ring_xy[:, 0].min(), ring_xy[:, 1].min(), ring_xy[:, 0].max(), ring_xy[:, 1].max()]
    )
    origin = bounds[:2].copy()
    simple = role == 1
    for r in range(role.size - 1):
        simple[r] &= role[r + 1] == 1
    xy, vert_start, _, done = _decompose(ring_xy - origin, ring_start, simple)
    if not done.all():
        return out, False
    piece_area, piece_box = _orient_pieces(xy, vert_start)
    if abs(piece_area.sum() - area) > PIECE_AREA_RTOL * area:
        return out, False
    count = vert_start.size - 1
    pieces = _Pieces(
        ok=np.ones(1, dtype=np.bool_),
        start=np.array([0, count], dtype=np.int64),
        order=np.arange(count, dtype=np.int64),
        vert_start=vert_start,
        xy=xy,
        box=piece_box,
        parcel_box=bounds.reshape(1, 4),
        origin=origin.reshape(1, 2),
        area=np.array([area]),
    )
    longest = 0
    for z in zones:
        for r in range(rings.start[z], rings.start[z + 1]):
            longest = max(longest, rings.vert_start[r + 1] - rings.vert_start[r])
    work = np.empty((3, 4 * longest + 64, 2))
    corners = np.empty((4, 2))
    near_box = np.empty(4)
    for k in range(zones.size):
        need = 1
        while need:
            got, need = _pair_area(0, zones[k], pieces, rings, work, corners, near_box)
            if need:
                work = np.empty((3, max(need, 2 * work.shape[1]), 2))
        out[k] = got
    return out, True
