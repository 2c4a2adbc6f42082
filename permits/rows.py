"""A batch's result rows: what each parcel's row says, from its decision or from its class.

A row (outcome, the rules that rejected or need review, the limits that bind the building, the
special provisions) is a summary of a decision's findings. Where a batch is asked for rows
only, the rules are not run for every parcel: a row depends on the parcel only through its
class (``Classes``) and the building's figures measured against the class's limits in force.
The first parcel of each class and each pattern of limits met and broken is assessed by the
engine's own rules and its findings summarised exactly as a decision's are; every later parcel
of that class and pattern gets the same summary with its own area and pieces.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.index import Overlap
from layers.model import FLAG_PROVISIONS
from permits.application import Application
from permits.compiled import CompiledPlan
from permits.decision import Decision, Effect, Finding, Outcome
from permits.engine import Engine
from permits.rules.footprint import RULE as FOOTPRINT
from permits.rules.intensity import CHECKS, Bound, InForce, figures
from permits.rules.intensity import RULE as INTENSITY
from permits.rules.location import location_findings, ordered, pieces_of, share_of
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


def columns(rows: list[Row]) -> dict[str, list[Any]]:
    """Rows as the result columns (``RESULT_COLUMNS``), in order: lists, which the rows of
    many chunks join into."""
    summaries = [summary for summary, *_ in rows]
    return {
        "outcome": [s.outcome.value for s in summaries],
        "parcel_area_m2": [area for _, area, *_ in rows],
        "subzone_code": [code for _, _, code, *_ in rows],
        "share": [share for *_, share, _ in rows],
        "zones": [zones for *_, zones in rows],
        "failed": [s.failed for s in summaries],
        "review": [s.review for s in summaries],
        "conditions": [s.conditions for s in summaries],
        **{name: [s.limits.get(name, math.nan) for s in summaries] for name in LIMIT_COLUMNS},
        "provisions": [s.provisions for s in summaries],
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
    pattern of those bounds met (True) and broken (False) seen so far."""

    before: tuple[Finding, ...]
    limits: InForce
    after: tuple[Finding, ...]
    measured: tuple[Bound, ...]
    summaries: dict[tuple[bool, ...], Summary] = field(default_factory=dict)

    def summary(self, figures: dict[str, float | None]) -> Summary:
        pattern = tuple(
            [bound.passes(cast(float, figures[bound.field])) for bound in self.measured]
        )
        found = self.summaries.get(pattern)
        if found is None:
            checks = self.limits.checks
            findings = (
                *self.before,
                *(c if isinstance(c, Finding) else c.finding(figures[c.field]) for c in checks),
                *self.after,
            )
            found = self.summaries[pattern] = summarise(findings, Decision.outcome_of(findings))
        return found


class Classes:
    """The classes of a batch's parcels, each assessed once and kept by the compiled plan for
    the next batch (bounded, as its other kept answers, by the plan's own tables and zones). A
    parcel's rules read it only through its class: the kegiatan its activity names, the road
    class, which building figures are given, its
    zone pieces in order (each piece's sub-zone, zone flags and block, and whether it
    decides), the lot-size class of each deciding sub-zone, and whether part of it lies outside
    the plan; and through the figures the intensity limits measure. Parcels whose rules read
    more (overlays they touch, a plan's raster rules, a footprint polygon or a frontage) or
    that lie outside the plan are not classed: their rows come from full decisions. Pieces
    under the sliver tolerance are reported but decide nothing, so they do not part classes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._activities: dict[str, tuple[str, ...]] = {}
        self._zones = engine.plan.kept(("rows", "zone classes"), _zone_classes, engine.plan)

    def row(
        self,
        app: Application,
        parcel: BaseGeometry,
        lot_m2: float,
        overlap: Overlap,
        overlay_rows: NDArray[np.intp],
    ) -> Row | None:
        """The row of a located parcel of a valid application, or None where the parcel has
        no class and needs its full decision."""
        plan, tol = self.engine.plan, self.engine.settings.tolerance
        b = app.building
        if (
            plan.raster_checks
            or len(overlay_rows)
            or not len(overlap.zones)
            or b.footprint is not None
            or app.frontage is not None
        ):
            return None
        found = ordered(plan, overlap)
        given = figures(b, lot_m2, b.footprint_m2)
        labels, classes = plan.zones.labels, self._zones
        deciding = [row for area, row in found if tol.decides(area, share_of(area, lot_m2))]
        codes = dict.fromkeys(code for row in deciding if (code := labels[row][1]))
        ids = self._activities.get(app.activity)
        if ids is None:
            ids = self._activities[app.activity] = plan.resolve_activity(app.activity)
        key = (
            "rows",
            ids,
            app.road_class,
            tuple([value is None for value in given.values()]),
            tuple([classes[row] for row in deciding]),
            tuple([plan.lot_class(code, lot_m2) for code in codes]),
            lot_m2 - sum(area for area, _ in found) > tol.uncovered_m2,
        )
        kind = plan.kept(key, self._class, app, parcel, lot_m2, overlap, given)
        area, row = found[0]
        main = labels[row][1]
        return kind.summary(given), lot_m2, main, share_of(area, lot_m2), len(found)

    def _class(
        self,
        app: Application,
        parcel: BaseGeometry,
        lot_m2: float,
        overlap: Overlap,
        given: dict[str, float | None],
    ) -> _Class:
        """A new class's rules, worked out for its first parcel."""
        plan, tol = self.engine.plan, self.engine.settings.tolerance
        pieces, rows = pieces_of(plan, overlap, lot_m2, tol)
        s = Situation(plan, app, parcel, lot_m2, pieces, rows, overlay_hits=_NO_HITS)
        before, limits, after = self.engine.rules(s)
        return _Class(
            (*location_findings(plan, pieces, lot_m2, tol), *before),
            limits,
            after,
            tuple(c for c in limits.checks if isinstance(c, Bound) and given[c.field] is not None),
        )


def _zone_classes(plan: CompiledPlan) -> tuple[int, ...]:
    """Each zone row's class, numbered: what its row tells the rules beside its area (its
    sub-zone, the flags that are special provisions, and its block where a provision rule is
    limited to blocks; the rules read blocks nowhere else)."""
    blocks = any(rule.block is not None for rule in plan.provisions)
    zones = plan.zones
    numbers: dict[Hashable, int] = {}
    return tuple(
        numbers.setdefault(
            (
                code,
                tuple(sorted((k, v) for k, v in flags.items() if k in FLAG_PROVISIONS)),
                block if blocks else None,
            ),
            len(numbers),
        )
        for code, flags, block in zip(zones.subzone_code, zones.flags, zones.block, strict=True)
    )


_NO_HITS: tuple[NDArray[np.intp], NDArray[np.float64]] = (
    np.empty(0, dtype=np.intp),
    np.empty(0, dtype=np.float64),
)
