"""A batch's result rows: what each parcel's row says, from its decision or from its class.

A row (outcome, the rules that rejected or need review, the limits that bind the building, the
special provisions) is a summary of a decision's findings. Where a batch is asked for rows
only, the rules are not run for every parcel: a row depends on the parcel only through its
class (``Classes``) and the building's figures measured against the class's limits in force.
The first parcel of each class is assessed by the engine's own rules; each pattern of its
limits met and broken is summarised from those findings exactly as a decision's are, the
measured bounds' findings met or broken as the pattern says. Every later parcel of that class
and pattern gets the same summary with its own area and pieces.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from gis.index import Overlap
from layers.model import FLAG_PROVISIONS
from permits.application import ROAD_CLASSES, Application
from permits.compiled import CompiledPlan
from permits.decision import Decision, Effect, Finding, Outcome
from permits.engine import Engine
from permits.rules.footprint import RULE as FOOTPRINT
from permits.rules.intensity import (
    CHECKS,
    VERDICTS,
    Bound,
    InForce,
    figures,
    figures_of,
    meets,
)
from permits.rules.intensity import RULE as INTENSITY
from permits.rules.location import location_findings, pieces_of
from permits.rules.provisions import RULE as PROVISION
from permits.rules.situation import Situation

#: The limits in force a result row carries, by the rule of the finding that cites each: its
#: column and whether it is a maximum. A split parcel has a finding per deciding sub-zone, each
#: citing that sub-zone's limit, and the building must meet every one: the strictest binds.
_LIMIT_OF_RULE = {f"{INTENSITY}.{check.name}": (check.field, check.maximum) for check in CHECKS} | {
    f"{FOOTPRINT}.gsb": ("gsb_min_m", False)
}
#: The finding of a deciding sub-zone without intensity rules (it needs review).
_NO_INTENSITY = f"{INTENSITY}.no_data"
#: The limit columns of a result row, in order (``kdb_max_pct``, ..., ``gsb_min_m``).
LIMIT_COLUMNS = tuple(dict.fromkeys(column for column, _ in _LIMIT_OF_RULE.values()))
#: The columns ``check_many`` adds beside ``decision``, in order, with the dtype each holds (an
#: empty frame's too): what a results file and a Dask worker carry.
RESULT_COLUMNS = {
    "outcome": "str",
    "parcel_area_m2": "float64",
    "subzone_code": "str",
    "share": "float64",
    "zones": "int64",
    "failed": "str",
    "review": "str",
    "conditions": "int64",
    **dict.fromkeys(LIMIT_COLUMNS, "float64"),
    "provisions": "str",
}


@dataclass(frozen=True, slots=True)
class Summary:
    """What a decision's findings tell its row: the outcome, the rules that rejected and those
    that need review (each once, in finding order, comma-separated), its number of conditions,
    the strictest limit of each kind its findings cite (by column) and the kinds of special
    provision it lies in."""

    outcome: Outcome
    failed: str
    review: str
    #: How many conditions an approval would carry (``Decision.conditions``).
    conditions: int
    limits: dict[str, float]
    provisions: str


#: A result row: the summary, the parcel's area (m2; None where not assessable), its largest
#: piece's sub-zone code and share, and its number of zone pieces.
Row = tuple[Summary, float | None, str | None, float | None, int]


def row_of(decision: Decision) -> Row:
    """A decided parcel's row."""
    main = decision.zones[0] if decision.zones else None
    return (
        summarise(decision.findings, decision.outcome),
        decision.parcel_area_m2,
        main.subzone_code if main else None,
        main.share if main else None,
        len(decision.zones),
    )


class Table:
    """A chunk's result rows as columns: each row's summary (by number, into ``summaries``:
    rows share their few summaries, one per class and pattern), the parcel's area, its
    largest piece's sub-zone code and share, and its number of zone pieces."""

    def __init__(self, size: int) -> None:
        self.summary = np.full(size, -1, dtype=np.intp)
        self.summaries: list[Summary] = []
        self.area = np.full(size, np.nan)
        self.code = np.full(size, None, dtype=object)
        self.share = np.full(size, np.nan)
        self.zones = np.zeros(size, dtype=np.int64)

    @classmethod
    def of(cls, rows: list[Row]) -> Table:
        table = cls(len(rows))
        for k, row in enumerate(rows):
            table.put(k, row)
        return table

    def put(self, k: int, row: Row) -> None:
        """Row ``k`` from a decision's row (``row_of``)."""
        summary, self.area[k], self.code[k], self.share[k], self.zones[k] = row
        self.summary[k] = len(self.summaries)
        self.summaries.append(summary)

    def columns(self) -> dict[str, NDArray[Any]]:
        """The result columns (``RESULT_COLUMNS``), in order, as arrays of their dtypes (texts
        as objects, NaN where a number is missing), which the rows of many chunks join into.
        Each summary's values are read once and taken for its rows."""
        distinct, index = self.summaries, self.summary

        def of(values: list[Any], dtype: type = object) -> NDArray[Any]:
            return np.array(values, dtype=dtype)[index]

        return {
            "outcome": of([s.outcome.value for s in distinct]),
            "parcel_area_m2": self.area,
            "subzone_code": self.code,
            "share": self.share,
            "zones": self.zones,
            "failed": of([s.failed for s in distinct]),
            "review": of([s.review for s in distinct]),
            "conditions": of([s.conditions for s in distinct], np.int64),
            **{
                name: of([s.limits.get(name, math.nan) for s in distinct], np.float64)
                for name in LIMIT_COLUMNS
            },
            "provisions": of([s.provisions for s in distinct]),
        }


def summarise(findings: Iterable[Finding], outcome: Outcome) -> Summary:
    """One pass over the findings of a decision of ``outcome``. A deciding sub-zone without
    intensity rules leaves the limits unknown, and they may be stricter: then none is given. A
    sliver of a provision, reported but not deciding, is not counted as lying in it."""
    failed: dict[str, None] = {}
    review: dict[str, None] = {}
    kinds: dict[str, None] = {}
    limits: dict[str, float] = {}
    conditions = 0
    roles = _ROLES
    for finding in findings:
        rule, effect = finding.rule, finding.effect
        if effect is _REJECT:
            failed[rule] = None
        elif effect is _REVIEW:
            review[rule] = None
        elif effect is _CONDITION:
            conditions += 1
        role = roles.get(rule)
        if role is None:
            role = roles[rule] = _role(rule)
        spec, kind = role
        if kind is not None:
            kinds[kind] = None
        if spec is not None:
            limit = finding.limit
            if isinstance(limit, int | float):
                column, maximum = spec
                held = limits.get(column)
                if held is None or (limit < held if maximum else limit > held):
                    limits[column] = float(limit)
    if _NO_INTENSITY in review:
        limits = {}
    return Summary(outcome, ",".join(failed), ",".join(review), conditions, limits, ",".join(kinds))


#: The effects a row lists the rules of (module constants: read faster than the enum's members).
_REJECT, _REVIEW, _CONDITION = Effect.REJECT, Effect.REVIEW, Effect.CONDITION
#: ``_role`` of each rule name seen, by name (a dict read costs less than a cached call; the
#: names are few).
_ROLES: dict[str, tuple[tuple[str, bool] | None, str | None]] = {}


def _role(rule: str) -> tuple[tuple[str, bool] | None, str | None]:
    """What a finding's rule tells a result row: the limit column it cites and whether that is
    a maximum, and the kind of special provision it reports the parcel in."""
    family, _, rest = rule.partition(".")
    kind = rest.split(".")[0] if family == PROVISION and not rest.endswith(".sliver") else None
    return _LIMIT_OF_RULE.get(rule), kind or None


@dataclass(slots=True)
class _Class:
    """The rules' answers for one class of parcels: the findings that do not measure the
    building (location, activity, provisions; footprint, distance, rasters), the limits in
    force, the bounds whose figures the class's applications give, and the summary of each
    pattern of those bounds met (True) and broken (False) seen so far. A summary reads of a
    measured bound's finding only its rule, its effect and its limit, which its being met or
    broken decides (``intensity.VERDICTS``), so a pattern is summarised without the figures."""

    before: tuple[Finding, ...]
    limits: InForce
    after: tuple[Finding, ...]
    measured: tuple[Bound, ...]
    summaries: dict[tuple[bool, ...], Summary] = field(default_factory=dict)
    #: The measured bounds as arrays: the figure each reads (its place in ``_MEASURED``), its
    #: limit and whether that is a maximum, which every chunk of the class's parcels reads.
    fields: NDArray[np.intp] = field(init=False)
    bounds: NDArray[np.float64] = field(init=False)
    maxima: NDArray[np.bool_] = field(init=False)
    #: Each check in force: its finding where no figure is measured (no intensity rules, or
    #: the figure not given), else the number of its measured bound.
    checks: tuple[Finding | int, ...] = field(init=False)

    def __post_init__(self) -> None:
        measured = self.measured
        self.fields = np.array([_MEASURED.index(b.field) for b in measured], dtype=np.intp)
        self.bounds = np.array([b.limit.value for b in measured], dtype=np.float64)
        self.maxima = np.array([b.check.maximum for b in measured], dtype=bool)
        checks: list[Finding | int] = []
        j = 0  # the measured bounds are those of the checks whose figures are given, in order
        for check in self.limits.checks:
            if isinstance(check, Finding):
                checks.append(check)
            elif j < len(measured) and check is measured[j]:
                checks.append(j)
                j += 1
            else:
                checks.append(check.unassessed)
        self.checks = tuple(checks)

    def summary(self, pattern: tuple[bool, ...]) -> Summary:
        """The summary of a pattern of this class's measured bounds met and broken."""
        found = self.summaries.get(pattern)
        if found is None:
            measured = self.measured
            findings = (
                *self.before,
                *(
                    c if isinstance(c, Finding) else _verdict(measured[c], pattern[c])
                    for c in self.checks
                ),
                *self.after,
            )
            found = self.summaries[pattern] = summarise(findings, Decision.outcome_of(findings))
        return found


#: (parcel, zone row, area m2) of each zone piece of a chunk's parcels, sorted by parcel: what
#: ``ZoneIndex.overlap_many`` gives, with parcels numbered in the chunk.
Pieces = tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]


@dataclass(frozen=True)
class Chunk:
    """A located chunk of a batch's parcels as the classes read it: each parcel's activity text
    and road class, its building's figures by ``Building`` field (NaN where not given), the
    parcels in the plan's CRS and their areas (m2), which of them may be classed (valid,
    located, touching no overlay), their zone pieces, and each one's application, made only
    where asked for (a class's first parcel)."""

    activity: list[str]
    road_class: list[str | None]
    building: dict[str, NDArray[np.float64]]
    parcels: NDArray[np.object_]
    lots: NDArray[np.float64]
    candidates: NDArray[np.bool_]
    pieces: Pieces
    application: Callable[[int], Application]


class Classes:
    """The classes of a batch's parcels, each assessed once and kept by the compiled plan for
    the next batch (bounded, as its other kept answers, by the plan's own tables and zones). A
    parcel's rules read it only through its class: the kegiatan its activity names, the road
    class, which building figures are given, the zone classes of its deciding pieces in order
    (each piece's sub-zone, zone flags and block), the lot-size class of each, and whether part
    of it lies outside the plan; and through the figures the intensity limits measure. Parcels
    whose rules read more (overlays they touch, a plan's raster rules) or that lie outside the
    plan are not classed: their rows come from full decisions. A batch's applications carry
    neither footprint polygons nor frontages, which the rules would read too. Pieces under the
    sliver tolerance are reported but decide nothing, so they do not part classes.

    A chunk's parcels are classed at once, over arrays: the rules run in Python only for the
    first parcel of a class, and a summary is made once per pattern of limits met and broken."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._activities: dict[str, int] = {}
        #: Each class this batch met, by its row of ``_keys`` (padding and all): found again
        #: without its key in the plan's kept answers made anew.
        self._seen: dict[tuple[int, ...], _Class] = {}
        self._resolved: list[tuple[str, ...]] = []
        plan = engine.plan
        self._zones = plan.kept(("rows", "zone columns"), _ZoneColumns, plan)

    def rows(self, chunk: Chunk) -> Table:
        """The rows of a chunk's parcels that its ``candidates`` marks and that have a class;
        the others are left for their full decisions (summary -1)."""
        plan, tol = self.engine.plan, self.engine.settings.tolerance
        lots = chunk.lots
        table = Table(len(lots))
        if plan.raster_checks:
            return table
        z = self._zones
        given_parcel, given_zone, given_area = chunk.pieces
        order = np.lexsort((z.ranks[given_zone], -given_area, given_parcel))
        parcel, zone, area = given_parcel[order], given_zone[order], given_area[order]
        counts = np.bincount(parcel, minlength=len(lots))
        starts = np.concatenate([[0], np.cumsum(counts)])
        lot_of = lots[parcel]
        share = np.divide(area, lot_of, out=np.zeros_like(area), where=lot_of > 0)
        uncovered = lots - _sums(parcel, area, starts, len(lots)) > tol.uncovered_m2
        deciding = tol.decides(area, share)
        key = self._keys(chunk, parcel[deciding], zone[deciding], uncovered)
        chosen = np.flatnonzero(chunk.candidates & (counts > 0))
        if not len(chosen):
            return table
        keys, first, inverse = _distinct(key[chosen])
        kinds = []
        seen = self._seen
        for u, values in enumerate(map(tuple, keys.tolist())):
            kind = seen.get(values)
            if kind is None:
                r = int(chosen[first[u]])
                overlap = Overlap(zone[starts[r] : starts[r + 1]], area[starts[r] : starts[r + 1]])
                kind = seen[values] = plan.kept(self._key(values), self._class, chunk, r, overlap)
            kinds.append(kind)
        summary, table.summaries = self._summaries(chunk, chosen, kinds, inverse)
        main = starts[chosen]
        table.summary[chosen] = summary
        table.area[chosen] = lots[chosen]
        table.code[chosen] = z.codes[zone[main]]
        table.share[chosen] = share[main]
        table.zones[chosen] = counts[chosen]
        return table

    def _summaries(
        self, chunk: Chunk, chosen: NDArray[np.intp], kinds: list[_Class], inverse: NDArray[np.intp]
    ) -> tuple[NDArray[np.intp], list[Summary]]:
        """The summary of each ``chosen`` parcel, of class ``kinds[inverse]`` (by number, into
        the distinct summaries): the pattern of its class's measured bounds its figures meet,
        found for all at once (``meets``: ``Bound.passes`` over arrays)."""
        lots, building = chunk.lots, chunk.building
        measured = figures_of(lots[chosen], *(building[name][chosen] for name in _FIGURES))
        sizes = np.array([len(kind.fields) for kind in kinds], dtype=np.intp)
        width = int(sizes.max(initial=0))
        field = np.zeros((len(kinds), width), dtype=np.intp)
        limit = np.full((len(kinds), width), np.inf)
        maximum = np.ones((len(kinds), width), dtype=bool)
        kind_of = np.repeat(np.arange(len(kinds)), sizes)
        place = np.arange(len(kind_of)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        field[kind_of, place] = np.concatenate([kind.fields for kind in kinds])
        limit[kind_of, place] = np.concatenate([kind.bounds for kind in kinds])
        maximum[kind_of, place] = np.concatenate([kind.maxima for kind in kinds])
        figures = np.column_stack([cast(NDArray[np.float64], measured[c]) for c in _MEASURED])
        values = np.take_along_axis(figures, field[inverse], axis=1)
        met = meets(values, limit[inverse], maximum[inverse]) & (limit[inverse] < np.inf)
        patterns, _, found = _distinct(np.column_stack([inverse, met]))
        summaries = []
        for u, *met_bits in patterns.tolist():
            kind = kinds[u]
            summaries.append(kind.summary(tuple(map(bool, met_bits[: len(kind.fields)]))))
        return found, summaries

    def _keys(
        self,
        chunk: Chunk,
        parcel: NDArray[np.intp],
        zone: NDArray[np.intp],
        uncovered: NDArray[np.bool_],
    ) -> NDArray[np.int64]:
        """Each parcel's class as a row of integers: the kegiatan its activity names (numbered
        here), its road class, which figures it gives (bits), whether part of it lies outside
        the plan, then the zone class of each deciding piece (``parcel``, ``zone``: in order)
        and the lot-size class of each, padded with -1."""
        size = len(chunk.lots)
        counts = np.bincount(parcel, minlength=size)
        width = int(counts.max(initial=0))
        position = np.arange(len(parcel)) - np.concatenate([[0], np.cumsum(counts)])[parcel]
        key = np.full((size, 4 + 2 * width), -1, dtype=np.int64)
        key[:, 0] = [self._activity(text) for text in chunk.activity]
        key[:, 1] = [_ROAD_CLASSES.get(road, -1) for road in chunk.road_class]
        key[:, 2] = sum(
            (~np.isnan(chunk.building[name])).astype(np.int64) << bit
            for bit, name in enumerate(_FIGURES)
        )
        key[:, 3] = uncovered
        key[parcel, 4 + position] = self._zones.classes[zone]
        key[parcel, 4 + width + position] = self._zones.lot_classes(zone, chunk.lots[parcel])
        return key

    def _key(self, values: tuple[int, ...]) -> tuple[Hashable, ...]:
        """A class's key in the plan's kept answers, from its row of ``_keys``: the same
        whatever the chunk's padding."""
        activity, road, given, uncovered, *rest = values
        zones = [value for value in rest[: len(rest) // 2] if value >= 0]
        lots = rest[len(rest) // 2 : len(rest) // 2 + len(zones)]
        return (
            "rows",
            self._resolved[activity],
            ROAD_CLASSES[road] if road >= 0 else None,
            given,
            tuple(zones),
            tuple(lots),
            bool(uncovered),
        )

    def _activity(self, text: str) -> int:
        """The number of the kegiatan ``text`` names (texts naming the same share one)."""
        found = self._activities.get(text)
        if found is None:
            ids = self.engine.plan.resolve_activity(text)
            if ids not in self._resolved:
                self._resolved.append(ids)
            found = self._activities[text] = self._resolved.index(ids)
        return found

    @staticmethod
    def _figures(chunk: Chunk, k: int) -> dict[str, float | None]:
        """The figures of the chunk's ``k``-th parcel, as a single check measures them."""
        building = chunk.application(k).building
        return figures(building, float(chunk.lots[k]), building.footprint_m2)

    def _class(self, chunk: Chunk, k: int, overlap: Overlap) -> _Class:
        """A new class's rules, worked out for its first parcel, the chunk's ``k``-th."""
        plan, tol = self.engine.plan, self.engine.settings.tolerance
        app, parcel, lot_m2 = chunk.application(k), chunk.parcels[k], float(chunk.lots[k])
        given = self._figures(chunk, k)
        pieces, rows = pieces_of(plan, overlap, lot_m2, tol)
        s = Situation(plan, app, parcel, lot_m2, pieces, rows, overlay_hits=_NO_HITS)
        before, limits, after = self.engine.rules(s)
        return _Class(
            (*location_findings(plan, pieces, lot_m2, tol), *before),
            limits,
            after,
            tuple(c for c in limits.checks if isinstance(c, Bound) and given[c.field] is not None),
        )


def _verdict(bound: Bound, met: bool) -> Finding:
    """What a row's summary reads of ``bound``'s finding for a figure that meets it or not: its
    rule, status, effect and limit, as ``Bound.finding`` gives them. It words no figure and is
    never shown: a decision's finding is made by ``Bound.finding``."""
    status, effect = VERDICTS[met]
    kept = bound.unassessed
    return Finding(
        rule=kept.rule,
        status=status,
        effect=effect,
        message_id="",
        message_en="",
        basis=kept.basis,
        unit=kept.unit,
        limit=kept.limit,
        subzone_code=kept.subzone_code,
    )


#: The ``Building`` fields the figures are made of, in ``figures_of``'s order.
_FIGURES = ("footprint_m2", "floor_area_m2", "green_area_m2", "basement_m2", "height_m", "floors")
#: The figures ``figures_of`` measures, in its order (the fields bounds read).
_MEASURED = tuple(figures_of(1.0, *(None,) * len(_FIGURES)))
#: Each road class by number, and the number of each.
_ROAD_CLASSES: dict[str | None, int] = {road: number for number, road in enumerate(ROAD_CLASSES)}


def _distinct(
    rows: NDArray[np.integer[Any]],
) -> tuple[NDArray[np.integer[Any]], NDArray[np.intp], NDArray[np.intp]]:
    """``np.unique(rows, axis=0, return_index=True, return_inverse=True)`` through a stable
    lexsort of the columns, which is many times faster than the sort of whole rows as bytes
    that ``np.unique`` makes (first: the first row of each distinct row)."""
    if not len(rows):
        return rows, np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    order = np.lexsort(rows.T[::-1])
    ranked = rows[order]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    inverse = np.empty(len(rows), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return ranked[new], order[new], inverse


def _sums(
    parcel: NDArray[np.intp], area: NDArray[np.float64], starts: NDArray[np.intp], size: int
) -> NDArray[np.float64]:
    """Each parcel's pieces' areas summed one after another in order, as a single check sums
    them (numpy would sum in pairs, and a last bit could part the part outside the plan)."""
    total = np.zeros(size)
    position = np.arange(len(parcel)) - starts[parcel]
    for j in range(int(np.diff(starts).max(initial=0))):
        at = position == j
        total[parcel[at]] += area[at]
    return total


class _ZoneColumns:
    """What the classes read of each zone row, as arrays: its rank by zone id (the order of
    pieces of equal area), its class (sub-zone, the flags that are special provisions, and its
    block where a provision rule is limited to blocks; the rules read blocks nowhere else,
    numbered), its sub-zone code and that code's lot-size class breaks."""

    def __init__(self, plan: CompiledPlan) -> None:
        labels = plan.zones.labels
        ids = sorted({label[0] for label in labels})
        rank = {zone_id: number for number, zone_id in enumerate(ids)}
        self.ranks = np.array([rank[label[0]] for label in labels], dtype=np.intp)
        self.codes = np.array([label[1] for label in labels], dtype=object)
        self.classes = np.array(_zone_classes(plan), dtype=np.intp)
        coded = sorted({code for code in self.codes.tolist() if code})
        number = {code: k for k, code in enumerate(coded)}
        self._code = np.array([number.get(code, -1) for code in self.codes.tolist()])
        self._breaks = [np.array(plan.lot_breaks.get(code, ())) for code in coded]

    def lot_classes(self, zone: NDArray[np.intp], lots: NDArray[np.float64]) -> NDArray[np.int64]:
        """The lot-size class (``CompiledPlan.lot_class``) of each lot of ``lots`` in the
        sub-zone of its ``zone`` row; -1 where the row has no sub-zone code."""
        code = self._code[zone]
        out = np.full(len(zone), -1, dtype=np.int64)
        for k in np.unique(code[code >= 0]).tolist():
            at = code == k
            out[at] = np.searchsorted(self._breaks[k], lots[at], side="right")
        return out


def _zone_classes(plan: CompiledPlan) -> list[int]:
    """Each zone row's class, numbered."""
    blocks = any(rule.block is not None for rule in plan.provisions)
    zones = plan.zones
    numbers: dict[Hashable, int] = {}
    return [
        numbers.setdefault(
            (
                code,
                tuple(sorted((k, v) for k, v in flags.items() if k in FLAG_PROVISIONS)),
                block if blocks else None,
            ),
            len(numbers),
        )
        for code, flags, block in zip(zones.subzone_code, zones.flags, zones.block, strict=True)
    ]


_NO_HITS: tuple[NDArray[np.intp], NDArray[np.float64]] = (
    np.empty(0, dtype=np.intp),
    np.empty(0, dtype=np.float64),
)
