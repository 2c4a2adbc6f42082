"""A plan version compiled for checking: rule tables as lookups, zones and overlays as arrays,
the rasters the raster rules read as grids in memory.

Built once when a version is loaded; never changed afterwards, so any number of threads may read
it at once.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.geometry import overlapping_pairs
from gis.index import NOISE_M2, ZoneIndex
from layers.model import (
    Activity,
    IntensityRule,
    ItbxCell,
    ItbxClass,
    LegendEntry,
    PlanData,
    SpecialProvision,
    norm,
    present,
    zone_flags,
)
from permits.decision import PlanRef
from permits.rules.intensity import Limit, limits_for
from permits.rules.raster import RasterCheck, compile_checks

T = TypeVar("T")

SPLIT_POLICIES = ("strictest", "dominant", "per_piece")
_STRICTNESS = {ItbxClass.I: 0, ItbxClass.T: 1, ItbxClass.B: 2, ItbxClass.X: 3}
_KBLI = re.compile(r"\d{5}")
_MISSING = object()
#: What a plan without overlays answers, shared (read-only) rather than made for every check.
_NO_ROWS = np.empty(0, np.intp)
_NO_ROWS.flags.writeable = False
_NO_AREAS = np.empty(0, np.float64)
_NO_AREAS.flags.writeable = False


def strictest(classes: list[ItbxClass]) -> ItbxClass:
    return max(classes, key=_STRICTNESS.__getitem__)


@dataclass(frozen=True)
class Zones:
    """The version's zones as arrays, row for row."""

    zone_id: NDArray[np.object_]
    subzone_code: NDArray[np.object_]
    subzone_name: NDArray[np.object_]
    zone_code: NDArray[np.object_]
    block: NDArray[np.object_]
    flags: tuple[dict[str, str], ...]
    #: Each row's zone id (text), sub-zone code and name, zone code and block, as a zone piece
    #: of a decision carries them: read once here rather than from five arrays per piece.
    labels: tuple[tuple[str, str | None, str | None, str | None, str | None], ...]


@dataclass(frozen=True)
class Overlays:
    """The version's overlay polygons, indexed and measured as the zones are (the exact area
    kernel, a parcel inside one part taking its own area); ``kind``/``klass``/``ceiling_m`` by
    row."""

    kind: NDArray[np.object_]
    klass: NDArray[np.object_]
    name: NDArray[np.object_]
    ceiling_m: NDArray[np.float64]
    index: ZoneIndex

    def overlap_many(
        self, parcels: NDArray[np.object_], *, valid: bool = False
    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
        """(parcel row, overlay row, area m2) for every overlay a parcel overlaps by more than
        ``NOISE_M2``, by parcel then row: what ``overlap`` gives each parcel alone (``valid``:
        as ``ZoneIndex.overlap_many``)."""
        if not len(self.kind) or not len(parcels):
            return _NO_ROWS, _NO_ROWS, _NO_AREAS
        return self.index.overlap_many(parcels, valid=valid)

    def overlap(self, parcel: BaseGeometry) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """The overlay rows one parcel overlaps and the area (m2) in each."""
        if not len(self.kind):
            return _NO_ROWS, _NO_AREAS
        found = self.index.overlap(parcel)
        return found.zones, found.areas


@dataclass(frozen=True)
class CompiledPlan:
    """Everything a check reads, as lookups."""

    ref: PlanRef
    zones: Zones
    index: ZoneIndex
    overlays: Overlays
    activities: dict[str, Activity]
    by_name: dict[str, tuple[str, ...]]
    by_kbli: dict[str, tuple[str, ...]]
    cells: dict[tuple[str, str], ItbxCell]
    legend: dict[str, LegendEntry]
    itbx_subzones: frozenset[str]
    intensity: dict[str, tuple[IntensityRule, ...]]
    provisions: tuple[SpecialProvision, ...]
    split_policy: str
    sources: tuple[str, ...]
    refuse_repairs: bool = False
    lot_breaks: dict[str, tuple[float, ...]] = field(default_factory=dict)
    raster_checks: tuple[RasterCheck, ...] = ()
    _kept: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle (an engine sent to a Dask worker) carries: not the kept answers, which
        after a batch weigh as much as the plan itself and which the worker works out again."""
        return {**self.__dict__, "_kept": {}}

    def kept(self, key: Hashable, make: Callable[..., T], *args: Any) -> T:
        """What ``make(*args)`` answers for ``key``, worked out once and kept for the next check
        that asks. For what depends on the plan and on a few classes of input (sub-zones, road
        class, lot-size class, the kegiatan an activity resolves to), never on a parcel's own
        figures, so that what is kept is bounded by the plan's tables whatever callers send.
        Keys start with the rule that keeps them. A dict insert is atomic: two threads may at
        worst work the same entry out twice, and keep equal answers."""
        found = self._kept.get(key, _MISSING)
        if found is _MISSING:
            found = self._kept[key] = make(*args)
        return found  # type: ignore[no-any-return]

    def lot_class(self, code: str, lot_m2: float) -> int:
        """Which of the sub-zone's lot-size classes a lot of ``lot_m2`` falls in: limits change
        only where a lot crosses a class boundary."""
        return bisect.bisect_right(self.lot_breaks.get(code, ()), lot_m2)

    def limits(self, code: str, lot_m2: float, road_class: str | None) -> dict[str, Limit]:
        """A sub-zone's limits for a lot, by field, worked out once per lot-size class and road
        class."""
        key = ("limits", code, road_class, self.lot_class(code, lot_m2))
        return self.kept(key, limits_for, self.intensity.get(code, ()), lot_m2, road_class)

    def resolve_activity(self, activity: str) -> tuple[str, ...]:
        """The kegiatan ids an application's activity names: through the KBLI crosswalk for a
        5-digit code, else by id, else by name. Empty when the plan does not know it."""
        text = activity.strip()
        if _KBLI.fullmatch(text):
            return self.by_kbli.get(text, ())
        if text in self.activities:
            return (text,)
        return self.by_name.get(norm(text), ())

    def cell_class(self, cell: ItbxCell) -> ItbxClass:
        """A cell's class: its strictest code (``T1,B1`` is B, bersyarat, with T's limits)."""
        return strictest([self.code_class(code) for code in cell.codes])

    def code_class(self, code: str) -> ItbxClass:
        entry = self.legend.get(code)
        return entry.klass if entry else ItbxClass(code[0])

    def basis(self, table: str) -> str:
        """The legal basis a finding cites: the plan, its regulation and the table used."""
        return f"{self.ref.plan_name} ({self.ref.legal_basis}), {table}"


def compile_plan(data: PlanData, ref: PlanRef) -> CompiledPlan:
    """Compile a loaded version; the index is built and warmed before it is returned."""
    rules = data.rules
    by_kbli: dict[str, list[str]] = defaultdict(list)
    for entry in rules.crosswalk:
        by_kbli[entry.kbli].append(entry.activity_id)
    for act in rules.activities:
        for code in act.kbli:
            by_kbli[code].append(act.id)
    by_name: dict[str, list[str]] = defaultdict(list)
    for act in rules.activities:
        by_name[norm(act.name)].append(act.id)
    intensity: dict[str, list[IntensityRule]] = defaultdict(list)
    for rule in rules.intensity:
        intensity[rule.subzone_code].append(rule)
    policy = rules.settings.get("split_policy", "strictest")
    if policy not in SPLIT_POLICIES:
        policy = "strictest"
    index = ZoneIndex(np.asarray(data.zones.geometry.array, dtype=object))
    index.warm()
    return CompiledPlan(
        ref=ref,
        zones=_zones(data),
        index=index,
        overlays=_overlays(data),
        activities={a.id: a for a in rules.activities},
        by_name={k: tuple(dict.fromkeys(v)) for k, v in by_name.items()},
        by_kbli={k: tuple(dict.fromkeys(v)) for k, v in by_kbli.items()},
        cells={(c.activity_id, c.subzone_code): c for c in rules.cells},
        legend={e.code: e for e in rules.legend},
        itbx_subzones=frozenset(c.subzone_code for c in rules.cells),
        intensity={k: tuple(v) for k, v in intensity.items()},
        provisions=rules.provisions,
        split_policy=policy,
        sources=rules.sources,
        refuse_repairs=rules.settings.get("invalid_parcels") == "refuse",
        lot_breaks={
            code: tuple(
                sorted({b for r in rows for b in (r.lot_from_m2, r.lot_to_m2) if b is not None})
            )
            for code, rows in intensity.items()
        },
        raster_checks=compile_checks(rules, data.rasters),
    )


def _zones(data: PlanData) -> Zones:
    frame = data.zones
    names = ("zone_id", "subzone_code", "subzone_name", "zone_code", "block")
    columns = {name: present(frame[name]) for name in names}
    labels = zip(
        map(str, columns["zone_id"].tolist()),
        *(columns[name].tolist() for name in names[1:]),
        strict=True,
    )
    return Zones(
        **columns,
        flags=tuple(zone_flags(value) for value in frame["flags"]),
        labels=tuple(labels),
    )


def _counted_once(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The overlay polygons as a check measures them. A provision's area in a parcel is the sum
    over its polygons, so polygons of one provision (kind, class, ceiling) that overlap each
    other (two agencies' hazard maps, two rivers' setbacks meeting), directly or through others,
    are merged into one first, named by all their names: the land they share counts once.
    Polygons that only touch stay as drawn, each with its own name."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    names = present(frame["name"])
    keys = zip(frame["kind"], present(frame["klass"]), present(frame["ceiling_m"]), strict=True)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row, key in enumerate(keys):
        groups[key].append(row)
    merged = {
        rows[part[0]]: [rows[k] for k in part]
        for rows in groups.values()
        if len(rows) > 1
        for part in _overlapping(geoms[rows])
    }
    if not merged:
        return frame
    dropped = {row for rows in merged.values() for row in rows[1:]}
    kept = [row for row in range(len(frame)) if row not in dropped]
    out = frame.iloc[kept].copy()
    out["name"] = [
        "; ".join(dict.fromkeys(n for n in names[merged[row]] if n is not None)) or None
        if row in merged
        else names[row]
        for row in kept
    ]
    out[frame.geometry.name] = gpd.GeoSeries(
        [shapely.union_all(geoms[merged[row]]) if row in merged else geoms[row] for row in kept],
        index=out.index,
        crs=frame.crs,
    )
    return out


def _overlapping(geoms: NDArray[np.object_]) -> list[list[int]]:
    """The groups of ``geoms`` (by position, two or more each) that overlap one another by more
    than ``NOISE_M2``, directly or through others of the group."""
    left, right, _ = overlapping_pairs(geoms, NOISE_M2)
    owner = list(range(len(geoms)))

    def root(k: int) -> int:
        while owner[k] != k:
            k = owner[k]
        return k

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        owner[max(root(a), root(b))] = min(root(a), root(b))
    parts: dict[int, list[int]] = defaultdict(list)
    for k in range(len(geoms)):
        parts[root(k)].append(k)
    return [part for part in parts.values() if len(part) > 1]


def _overlays(data: PlanData) -> Overlays:
    frame = _counted_once(data.overlays)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    index = ZoneIndex(geoms, "overlays", partition=False)
    index.warm()
    return Overlays(
        kind=present(frame["kind"]),
        klass=present(frame["klass"]),
        name=present(frame["name"]),
        ceiling_m=np.asarray(frame["ceiling_m"], dtype=np.float64),
        index=index,
    )
