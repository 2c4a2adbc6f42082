"""Checking many parcels at once: GeoDataFrame in, GeoDataFrame out, the same engine.

Parcels are located a chunk at a time, vectorised: reprojection and validity, one zone index
query and one run of the area kernel (on every core), one overlay tree query, the WKB the input
hashes read. A parcel that is not plain (invalid, 3D, a collection, with an empty part, out of
range, swapped) is prepared alone by the single check's own code, so that its notes and
refusals are the single check's. The rules then run per parcel exactly as for a single check,
in the calling thread. Locating the next chunk in a second thread while the rules run was
measured to gain nothing on two cores (the rules thread holds the GIL, and the locating thread
waits for it after each of its many vectorised calls), so there is none. A parcel whose geometry
cannot be used gets a not-assessable decision saying why in the single check's words, instead
of stopping the batch.
"""

from __future__ import annotations

import gc
import itertools
import math
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from gis.areas import cores_taken
from gis.crs import reproject
from gis.errors import GeometryError
from gis.index import Overlap
from gis.parse import CrsInput, Note, ParcelLimits, prepare_parcel, resolve_crs
from permits.application import Application, ApplicationError, Building
from permits.decision import FINDING_COLUMNS, Decision, Effect, Finding, Status
from permits.engine import Engine
from permits.fork_gate import inside
from permits.rows import RESULT_COLUMNS, Chunk, Classes, Table, row_of
from permits.workers import Workers, adopted, for_batch, retire

#: Optional columns of the parcels frame that fill an application's building.
BUILDING_COLUMNS = (
    "footprint_m2",
    "floor_area_m2",
    "height_m",
    "floors",
    "green_area_m2",
    "basement_m2",
    "ground_elevation_m",
)

#: Parcels located at a time: enough for vectorised calls to pay, few enough that a chunk's
#: geometries in the plan's CRS and its kernel buffers stay small beside its decisions.
CHUNK = 2048
#: The fewest chunks each process must have for ``workers`` to fork children: forking the
#: engine's process and the child's first chunk, run cold (copy-on-write faults, empty
#: caches), cost about three chunks' work (measured on the 100,000-zone bench plan: 40 ms to
#: fork, a first chunk of 150 ms against 50 ms for the next), so fewer chunks are checked
#: faster here. Children once forked are kept, and share any later batch.
FORKED_CHUNKS = 4


def check_many(
    parcels: gpd.GeoDataFrame,
    engine: Engine,
    *,
    activity: str | None = None,
    decisions: bool = True,
    workers: int = 1,
) -> gpd.GeoDataFrame:
    """One decision per parcel row.

    ``parcels`` needs a CRS and, unless ``activity`` is given for all, an ``activity`` column;
    the columns in ``BUILDING_COLUMNS``, ``road_class`` and ``application_id`` are used where
    present. The result keeps the index and geometry and adds ``outcome``, ``parcel_area_m2``,
    ``subzone_code`` and ``share`` (the largest piece), ``zones`` (pieces), ``failed`` and
    ``review`` (the rules that failed or need review), ``conditions`` (how many an approval
    carries), the limits that bind the building
    (``LIMIT_COLUMNS``: the strictest each decision cites; NaN where none applies, where a
    deciding sub-zone has no intensity rules, or where the parcel was not assessed),
    ``provisions`` (the kinds of special provision it lies in) and ``decision`` (the full
    decision). With ``decisions=False``, the rows alone: the same values, worked out once per
    class of parcels the rules treat alike (``permits.rows``) instead of parcel by parcel. For
    a whole city, where the findings of a few parcels are wanted afterwards (``check_many``
    again on those rows). ``workers`` > 1 shares the chunks out among up to that many
    processes (Linux): this one and children forked from it, the same rows in the same order.
    The children are forked when a batch has at least ``FORKED_CHUNKS`` chunks of ``CHUNK``
    rows for each process (a smaller frame is checked here alone) and kept by the engine, so
    the engine's later batches of two chunks or more share with them at once
    (``permits.workers``).
    """
    if parcels.crs is None:
        raise GeometryError("the parcels frame has no CRS; set one (e.g. EPSG:4326)")
    if activity is None and "activity" not in parcels:
        raise ApplicationError("activity", "give an 'activity' column or activity=...")
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, not {workers}")
    with inside():
        crs = resolve_crs(parcels.crs.to_string())
        given = np.asarray(parcels.geometry.array, dtype=object)
        frame = _Rows.of(parcels, activity, crs.name)
        batch = _Batch(engine, crs, frame, given, decisions, Classes(engine))
    spans = [range(lo, min(lo + CHUNK, len(given))) for lo in range(0, len(given), CHUNK)]
    parts: dict[str, list[NDArray[Any]]] = {
        name: [np.empty(0, dtype=_DTYPES[kind])] for name, kind in RESULT_COLUMNS.items()
    }
    made: list[Decision] = []
    with _collector_paused():
        children = _children(engine, workers, len(spans))
        done = _shared(batch, spans, children) if children else map(batch.chunk, spans)
        for chunk_columns, chunk_decisions in done:
            for name, values in chunk_columns.items():
                parts[name].append(values)
            made += chunk_decisions
        columns = {name: np.concatenate(values) for name, values in parts.items()}
        with inside():
            return _results(parcels, columns, made if decisions else None)


def start_workers(engine: Engine, workers: int, rows: int) -> None:
    """Fork the engine's children for ``rows`` rows that will be checked in several batches
    with ``workers`` (a file read a chunk at a time), where so many rows would pay for them
    in one batch: every later batch of two chunks or more then shares with them, however few
    its chunks."""
    _children(engine, workers, -(-rows // CHUNK))


#: The array dtype of each kind of ``RESULT_COLUMNS``.
_DTYPES = {"str": object, "float64": np.float64, "int64": np.int64}
#: A chunk's result columns and its decisions, if kept.
_Done = tuple[dict[str, NDArray[Any]], list[Decision]]
#: Numbers the batches of this process.
_BATCHES = itertools.count()


@dataclass(frozen=True)
class _Batch:
    """What one ``check_many`` reads: the engine, the frame's CRS as the engine reads it, its
    rows' applications and geometries, whether decisions are kept, and the classes."""

    engine: Engine
    crs: CrsInput
    rows: _Rows
    given: NDArray[np.object_]
    decisions: bool
    classes: Classes
    #: Which batch this is, for the children it shares chunks with.
    number: int = field(default_factory=lambda: next(_BATCHES))

    def chunk(self, span: range) -> _Done:
        """The result columns of a chunk of parcels, located at once, and their decisions if
        kept (the engine's work: no fork starts meanwhile)."""
        with inside():
            return self._chunk(span)

    def _chunk(self, span: range) -> _Done:
        engine, given = self.engine, self.given
        located = _locate(engine, self.crs, given[span.start : span.stop], hashes=self.decisions)
        if not self.decisions:
            return self._classed(span, located).columns(), []
        apps = [self.rows.application(i, given[i]) for i in span]
        made = [_decision(engine, self.crs, app, located, k) for k, app in enumerate(apps)]
        return Table.of([row_of(d) for d in made]).columns(), made

    def part(self, span: range) -> _Part:
        """A chunk as a child is sent it: its rows and its geometries as WKB (exact)."""
        return _Part(
            self.number,
            self.rows.part(span),
            shapely.to_wkb(self.given[span.start : span.stop]),
            self.decisions,
        )

    def _classed(self, span: range, located: _Located) -> Table:
        """The rows of a located chunk by class; a parcel without one gets its full
        decision's. Applications are made only for those and for each class's first parcel:
        the others are validated over arrays, as ``Application.refusals`` does."""
        engine, rows, lo = self.engine, self.rows, span.start
        activity, road_class, building = (
            rows.activity(span),
            rows.road_class(span),
            rows.building(span),
        )
        apps: dict[int, Application] = {}

        def application(k: int) -> Application:
            app = apps.get(k)
            if app is None:
                app = apps[k] = rows.application(lo + k, self.given[lo + k])
            return app

        usable = np.array([problem is None for problem in located.problems], dtype=bool)
        usable[list(located.swapped)] = False
        for k in [k for k, notes in enumerate(located.notes) if notes]:
            usable[k] &= _refused_repair(engine, located.notes[k]) is None
        candidates = (
            usable
            & ~Application.refusals(activity, road_class, building)
            & ~rows.unreadable(span)
            & (located.overlays.counts() == 0)
        )
        zones = located.zones
        chunk = Chunk(
            activity,
            road_class,
            building,
            located.metric,
            shapely.area(located.metric),
            candidates,
            (zones.parcel, zones.rows, zones.areas),
            application,
        )
        table = self.classes.rows(chunk)
        for k in np.flatnonzero(table.summary < 0).tolist():
            table.put(k, row_of(_decision(engine, self.crs, application(k), located, k)))
        return table


@dataclass(frozen=True)
class _Part:
    """A chunk of a batch, as a child is sent it."""

    batch: int
    rows: _Rows
    wkb: NDArray[np.object_]
    decisions: bool


def _children(engine: Engine, workers: int, chunks: int) -> Workers | None:
    """The engine's children to share a batch of ``chunks`` chunks with, for ``workers``
    processes in all: those it has, where they are fewer than ``workers`` and as many as
    could be forked for this batch; else as many as can each have ``FORKED_CHUNKS`` chunks
    (fewer cost more to fork than they save), forked now; else none."""
    if chunks < 2:
        return None
    return for_batch(engine, min(workers, chunks // FORKED_CHUNKS) - 1, workers)


def _shared(batch: _Batch, spans: list[range], workers: Workers) -> list[_Done]:
    """The chunks shared out between this process and the engine's children: this one takes
    chunks from the back, with its caches warm, while the children are handed them from the
    front, two each ahead, until the two ends meet. A child is sent its chunk's rows and
    geometries and sends back the result columns (and decisions, if kept: these take about as
    long to pickle as to make). Meanwhile this process measures on its own thread, the other
    cores being the children's (``cores_taken``). Should the children be ended by another
    thread, or a child end (or be stuck, ``Workers.back``), the chunks not back yet are
    checked here."""
    done: list[_Done | None] = [None] * len(spans)
    sent: deque[tuple[int, Future[_Done]]] = deque()
    front, back = 0, len(spans)
    try:
        with cores_taken():
            while front < back or sent:
                while sent and (sent[0][1].done() or front == back):
                    k, future = sent.popleft()
                    done[k] = workers.back(future)
                while len(sent) < 2 * workers.children and front < back:
                    handed = workers.send(_remote, batch.part(spans[front]))
                    if handed is None:
                        break
                    sent.append((front, handed))
                    front += 1
                if front < back:
                    back -= 1
                    done[back] = batch.chunk(spans[back])
    except BrokenProcessPool as exc:
        retire(batch.engine, workers)
        warnings.warn(
            f"a worker process of this engine ended ({exc}); its chunks were checked in this "
            "process, and the next batch with workers forks new ones",
            RuntimeWarning,
            stacklevel=3,
        )
    return [batch.chunk(s) if c is None else c for c, s in zip(done, spans, strict=True)]


#: In a child: the classes of the batches it was last sent chunks of, by the batch's number
#: (found again for a batch's next chunks, as this process finds them), the oldest dropped
#: beyond ``_BATCHES_KEPT`` (batches from several threads may take turns in one child).
_SENT: dict[int, Classes] = {}
_BATCHES_KEPT = 8


def _remote(part: _Part) -> _Done:
    """A chunk checked in a child, as this process would check it."""
    engine = adopted()
    classes = _SENT.get(part.batch)
    if classes is None:
        classes = _SENT[part.batch] = Classes(engine)
        if len(_SENT) > _BATCHES_KEPT:
            del _SENT[next(iter(_SENT))]
    given = shapely.from_wkb(part.wkb)
    batch = _Batch(engine, resolve_crs(part.rows.crs), part.rows, given, part.decisions, classes)
    with _collector_paused():
        return batch.chunk(range(len(given)))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a batch makes its decisions. A batch makes
    hundreds of thousands of objects that outlive it and form no cycles, and the collector
    would walk them again and again as they pile up (a sixth of a batch's time). Whoever found
    it running turns it back on, so batches that overlap leave it running."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def findings_frame(results: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every finding of a ``check_many`` result, one row each, keyed by the parcel's index: the
    columns of ``Finding.to_dict`` after ``parcel``. Made a column at a time, with the
    collector paused, as the results were (a city's findings are millions of values)."""
    with _collector_paused():
        keyed = [
            (key, finding)
            for key, decision in results["decision"].items()
            for finding in decision.findings
        ]
        columns: dict[str, list[Any]] = {"parcel": [key for key, _ in keyed]}
        for name in FINDING_COLUMNS:
            read = attrgetter(name)
            columns[name] = [read(finding) for _, finding in keyed]
        for name in ("status", "effect"):
            columns[name] = [_PLAIN[value] for value in columns[name]]
        return pd.DataFrame(columns)


#: Each status and effect as the plain text its dict holds (read far faster than ``.value``).
_PLAIN = {member: member.value for kind in (Status, Effect) for member in kind}


@dataclass(frozen=True)
class _Pairs:
    """(parcel, row, area m2) of every pair of a chunk's parcel and a zone (or overlay) it
    overlaps, sorted by parcel (numbered in the chunk); ``starts`` bounds each parcel's."""

    parcel: NDArray[np.intp]
    rows: NDArray[np.intp]
    areas: NDArray[np.float64]
    starts: NDArray[np.intp]

    @classmethod
    def of(
        cls, size: int, parcel: NDArray[np.intp], rows: NDArray[np.intp], areas: NDArray[np.float64]
    ) -> _Pairs:
        return cls(parcel, rows, areas, np.searchsorted(parcel, np.arange(size + 1)))

    def at(self, k: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """The ``k``-th parcel's rows and areas."""
        lo, hi = self.starts[k], self.starts[k + 1]
        return self.rows[lo:hi], self.areas[lo:hi]

    def counts(self) -> NDArray[np.intp]:
        return np.diff(self.starts)


@dataclass(frozen=True)
class _Located:
    """A chunk of parcels located: why each cannot be measured (None where it can), the
    usable ones in the plan's CRS and repaired, the repair notes, zone and overlay pairs, and
    the given geometry's WKB (hex, little-endian) for the input hash, where asked for."""

    problems: list[str | None]
    metric: NDArray[np.object_]
    notes: list[tuple[Note, ...]]
    zones: _Pairs
    overlays: _Pairs
    wkb: NDArray[np.object_] | None
    #: The parcels whose coordinates look like latitude, longitude (they have no geometry).
    swapped: frozenset[int] = frozenset()

    def overlap(self, k: int) -> Overlap:
        return Overlap(*self.zones.at(k))


def _locate(
    engine: Engine, crs: CrsInput, given: NDArray[np.object_], *, hashes: bool = True
) -> _Located:
    """Everything geometric about a chunk, vectorised where the parcels are plain
    (``_prepared``); the WKB the input hashes read only where ``hashes`` (rows alone need it
    for the few parcels decided in full)."""
    repaired, problems, notes, swapped, valid = _prepared(engine, crs, given)
    index = np.flatnonzero([p is None and k not in swapped for k, p in enumerate(problems)])
    size = len(given)
    try:
        parcel, rows, areas = engine.plan.index.overlap_many(repaired[index], valid=valid)
        zones = _Pairs.of(size, index[parcel], rows, areas)
        parcel, rows, areas = engine.plan.overlays.overlap_many(repaired[index], valid=valid)
        overlays = _Pairs.of(size, index[parcel], rows, areas)
    except GeometryError:
        zones, overlays = _one_by_one(engine, repaired, index, problems)
    return _Located(
        problems=problems,
        metric=repaired,
        notes=notes,
        zones=zones,
        overlays=overlays,
        wkb=np.array(
            [None if w is None else w.hex().upper() for w in shapely.to_wkb(given, byte_order=1)],
            dtype=object,
        )
        if hashes
        else None,
        swapped=swapped,
    )


def _prepared(
    engine: Engine, crs: CrsInput, given: NDArray[np.object_]
) -> tuple[NDArray[np.object_], list[str | None], list[tuple[Note, ...]], frozenset[int], bool]:
    """A chunk's parcels in the plan's CRS as a single check prepares them
    (``prepare_parcel``): the plain ones (2D polygons without empty parts, finite, valid,
    within the vertex and part limits and, in lon/lat, within its range) reprojected at once,
    and each other one (repaired, 3D, a collection, swapped, refused) prepared alone, with the
    single check's notes or refusal (as its problem). Also the parcels whose coordinates look
    swapped, and whether every parcel prepared is valid (checked here, so that the area kernel
    need not ask GEOS again: a plain parcel that reprojecting made cross itself is prepared
    alone, repaired; make_valid does not promise a valid result in every case)."""
    epsg, limits = engine.plan.ref.crs_epsg, engine.settings.limits
    size = len(given)
    metric = np.full(size, None, dtype=object)
    problems: list[str | None] = [None] * size
    notes: list[tuple[Note, ...]] = [()] * size
    plain = _plain(given, crs, limits)
    index = np.flatnonzero(plain)
    metric[index] = reproject(given[index], crs.key, epsg)
    if crs.epsg != epsg:
        plain[index[~shapely.is_valid(metric[index])]] = False
    swapped: set[int] = set()
    alone = np.flatnonzero(~plain).tolist()
    for row in alone:
        try:
            prepared = prepare_parcel(given[row], crs, epsg, limits=limits)
        except GeometryError as exc:
            problems[row] = str(exc)
            continue
        if prepared.geometry is None:
            swapped.add(row)
        metric[row], notes[row] = prepared.geometry, prepared.notes
    made = [metric[row] for row in alone if metric[row] is not None]
    valid = bool(shapely.is_valid(np.array(made, dtype=object)).all())
    return metric, problems, notes, frozenset(swapped), valid


def _plain(given: NDArray[np.object_], crs: CrsInput, limits: ParcelLimits) -> NDArray[np.bool_]:
    """Which parcels a single check would take as they are, but for reprojecting them: 2D
    Polygons and MultiPolygons, none of their parts empty, every coordinate finite, valid,
    within the vertex and part limits and, in a geographic CRS, within the lon/lat range."""
    kinds = shapely.get_type_id(given)
    parts = shapely.get_num_geometries(given)
    plain = np.isin(kinds, (3, 6)) & ~shapely.is_empty(given) & ~shapely.has_z(given)
    plain &= (shapely.get_num_coordinates(given) <= limits.max_vertices) & (
        parts <= limits.max_parts
    )
    coords, owner = shapely.get_coordinates(given, return_index=True)
    plain &= np.bincount(owner, ~np.isfinite(coords).all(axis=1), minlength=len(given)) == 0
    several = np.flatnonzero(plain & (kinds == 6) & (parts > 1))
    if len(several):
        pieces, whose = shapely.get_parts(given[several], return_index=True)
        plain[several[np.bincount(whose, shapely.is_empty(pieces), len(several)) > 0]] = False
    if crs.crs.is_geographic:
        bounds = shapely.bounds(given)
        plain &= (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180)
        plain &= (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
    index = np.flatnonzero(plain)
    plain[index] = shapely.is_valid(given[index])
    return plain


def _one_by_one(
    engine: Engine,
    parcels: NDArray[np.object_],
    index: NDArray[np.intp],
    problems: list[str | None],
) -> tuple[_Pairs, _Pairs]:
    """A chunk located parcel by parcel, as a single check locates, after GEOS could not
    overlay one of its pairs (the kernel leaves a few to it): the parcel GEOS fails on gets the
    single check's refusal as its problem, the others the areas the chunk would have given."""
    kept: list[int] = []
    zones: list[tuple[NDArray[np.intp], NDArray[np.float64]]] = []
    overlays: list[tuple[NDArray[np.intp], NDArray[np.float64]]] = []
    for row in index.tolist():
        try:
            zone = engine.plan.index.overlap(parcels[row])
            overlay = engine.plan.overlays.overlap(parcels[row])
        except GeometryError as exc:
            problems[row] = str(exc)
        else:
            kept.append(row)
            zones.append((zone.zones, zone.areas))
            overlays.append(overlay)
    return _joined(len(parcels), kept, zones), _joined(len(parcels), kept, overlays)


def _joined(
    size: int, parcels: list[int], found: list[tuple[NDArray[np.intp], NDArray[np.float64]]]
) -> _Pairs:
    """The pairs of each of ``parcels`` (chunk rows, increasing) from its (rows, areas)."""
    return _Pairs.of(
        size,
        np.repeat(np.array(parcels, dtype=np.intp), [len(rows) for rows, _ in found]),
        np.concatenate([rows for rows, _ in found] or [np.empty(0, dtype=np.intp)]),
        np.concatenate([areas for _, areas in found] or [np.empty(0)]),
    )


def _decision(
    engine: Engine, crs: CrsInput, app: Application, located: _Located, k: int
) -> Decision:
    """The decision for the ``k``-th parcel of a located chunk: where it cannot be assessed,
    for the first reason a single check would refuse it (its figures, then its geometry)."""
    digest = app.input_hash(parcel_wkb=None if located.wkb is None else located.wkb[k])
    try:
        app.validate()
    except ApplicationError as exc:
        return _unusable(engine, app, str(exc), digest)
    problem = located.problems[k] or _refused_repair(engine, located.notes[k])
    if problem is not None:
        return _unusable(engine, app, problem, digest)
    try:
        if k in located.swapped:
            return engine.swapped(app, digest)
        return engine.assess(
            app,
            crs,
            located.metric[k],
            located.notes[k],
            located.overlap(k),
            input_hash=digest,
            overlay_hits=located.overlays.at(k),
        )
    except (ApplicationError, GeometryError) as exc:
        return _unusable(engine, app, str(exc), digest)


def _refused_repair(engine: Engine, notes: tuple[Note, ...]) -> str | None:
    """Why a parcel that needed repair cannot be assessed, where the plan refuses such parcels
    (``Engine.check`` raises the same words for one parcel)."""
    if not engine.plan.refuse_repairs:
        return None
    repaired = next((n for n in notes if n.code == "repaired"), None)
    if repaired is None:
        return None
    return f"{repaired.message}; this plan refuses parcels that need repair"


#: The building of a frame without figure columns, shared by its applications.
_NO_FIGURES = Building()


@dataclass(frozen=True)
class _Rows:
    """The frame's columns, read once as arrays (figures as floats, NaN where missing; texts as
    objects), and what each row's application holds, read a span at a time (a chunk's texts
    are a slice); a child is sent its chunk's rows alone (``part``). A figure given as
    something that is no number (text such as '2 lantai') is kept as given (``unread``), for
    its row's application to be refused naming it."""

    crs: str
    _activity: NDArray[np.object_]
    figures: dict[str, NDArray[np.float64]]
    _road_class: NDArray[np.object_]
    _application_id: NDArray[np.object_]
    #: By figure, where some of its values are no number: those values as given, else None.
    unread: dict[str, NDArray[np.object_]]

    @classmethod
    def of(cls, parcels: gpd.GeoDataFrame, activity: str | None, crs: str) -> _Rows:
        size = len(parcels)
        read = {name: _figures(parcels[name]) for name in BUILDING_COLUMNS if name in parcels}
        return cls(
            crs,
            np.full(size, str(activity), dtype=object)
            if activity is not None
            else _texts(parcels, "activity", missing=""),
            {name: numbers for name, (numbers, _) in read.items()},
            _texts(parcels, "road_class"),
            _texts(parcels, "application_id"),
            {name: given for name, (_, given) in read.items() if given is not None},
        )

    def part(self, span: range) -> _Rows:
        """The rows of ``span`` alone, numbered from 0."""
        cut = slice(span.start, span.stop)
        return _Rows(
            self.crs,
            self._activity[cut],
            {name: column[cut] for name, column in self.figures.items()},
            self._road_class[cut],
            self._application_id[cut],
            {name: given[cut] for name, given in self.unread.items()},
        )

    def unreadable(self, span: range) -> NDArray[np.bool_]:
        """Which rows of ``span`` give a figure that is no number."""
        refused = np.zeros(len(span), dtype=bool)
        for given in self.unread.values():
            refused |= np.array([v is not None for v in given[span.start : span.stop]], dtype=bool)
        return refused

    def activity(self, span: range) -> list[str]:
        return cast(list[str], self._activity[span.start : span.stop].tolist())

    def road_class(self, span: range) -> list[str | None]:
        return cast(list[str | None], self._road_class[span.start : span.stop].tolist())

    def building(self, span: range) -> dict[str, NDArray[np.float64]]:
        """The figures of a span of rows by ``Building`` field, NaN where not given."""
        return {
            name: self.figures[name][span.start : span.stop]
            if name in self.figures
            else np.full(len(span), np.nan)
            for name in BUILDING_COLUMNS
        }

    def application(self, i: int, geometry: Any) -> Application:
        building = _NO_FIGURES
        if self.figures:
            values = {
                name: _figure(name, float(column[i])) for name, column in self.figures.items()
            }
            for name, given in self.unread.items():
                if given[i] is not None:
                    values[name] = given[i]
            building = Building(**values)
        return Application(
            parcel=geometry,
            activity=self._activity[i],
            building=building,
            crs=self.crs,
            road_class=self._road_class[i],
            application_id=self._application_id[i],
        )


def _figure(name: str, value: float) -> Any:
    """A building's figure from its column: None where missing, floors a count where whole
    (any other number stays what it is, for ``validate`` to refuse)."""
    if math.isnan(value):
        return None
    return int(value) if name == "floors" and value.is_integer() else value


def _figures(column: pd.Series) -> tuple[NDArray[np.float64], NDArray[np.object_] | None]:
    """A figure column as floats, NaN where not given (empty text included), and, where some
    of its values are no number, those values as given (None elsewhere). Text that reads as
    a number (a spreadsheet's '2') is that number."""
    try:
        return column.to_numpy(dtype=np.float64, na_value=np.nan), None
    except (TypeError, ValueError):
        values = column.to_numpy(dtype=object)
    numbers = np.full(len(values), np.nan)
    given = np.full(len(values), None, dtype=object)
    for i, value in enumerate(values.tolist()):
        if _missing(value) or (isinstance(value, str) and not value.strip()):
            continue
        try:
            numbers[i] = float(value)
        except (TypeError, ValueError):
            given[i] = value
    return numbers, given


def _texts(parcels: gpd.GeoDataFrame, name: str, missing: str | None = None) -> NDArray[np.object_]:
    """A text column's values as ``str``, ``missing`` where not given (read once, so that a
    chunk's texts are a slice)."""
    if name not in parcels:
        return np.full(len(parcels), missing, dtype=object)
    values = parcels[name].to_numpy(dtype=object).tolist()
    return np.array([v if type(v) is str else _text(v, missing) for v in values], dtype=object)


def _text(value: Any, missing: str | None) -> str | None:
    return missing if _missing(value) else str(value)


def _missing(value: Any) -> bool:
    """None, NaN, or pandas' NA: the missing value of its nullable dtypes, such as the text
    columns Dask makes of a frame's ``object`` columns."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _unusable(engine: Engine, app: Application, why: str, input_hash: str) -> Decision:
    finding = Finding(
        rule="geometry",
        status=Status.FAIL,
        effect=Effect.NOT_ASSESSABLE,
        message_id=f"Persil tidak dapat dinilai: {why}",
        message_en=f"The parcel cannot be assessed: {why}",
        basis=engine.plan.basis("validasi masukan"),
    )
    return Decision(
        outcome=Decision.outcome_of((finding,)),
        findings=(finding,),
        zones=(),
        parcel_area_m2=None,
        plan=engine.ref,
        input_hash=input_hash,
        application_id=app.application_id,
    )


def _results(
    parcels: gpd.GeoDataFrame, columns: dict[str, NDArray[Any]], decisions: list[Decision] | None
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            **columns,
            **({} if decisions is None else {"decision": np.array(decisions, dtype=object)}),
        },
        geometry=parcels.geometry.values,
        crs=parcels.crs,
        index=parcels.index,
    )
