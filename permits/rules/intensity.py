"""Intensity: KDB, KLB, KDH, KTB, height, floors and minimum lot against the sub-zone's limits.

Limits come from the plan's intensity table for the lot's size class and road class (where the
road class is not given, the strictest road class applies, and the finding says so), reduced by
the activity's T codes (an intensity share such as "pembatasan intensitas 20%") and capped by
special provisions. A figure the application does not give is not assessed: the limit stands as
a condition. A sub-zone without intensity rules needs review.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from layers.model import IntensityRule
from permits.application import Building
from permits.decision import Effect, Finding, Status
from permits.rules.situation import Situation

RULE = "intensity"
#: How far a figure may pass its limit and still meet it: rounding, not building.
ROUNDING = 1e-9
#: A figure: of one lot, or of many as an array.
F = TypeVar("F", float, NDArray[np.float64])


@dataclass(frozen=True)
class Check:
    """One limit: the table field, its name, unit, whether it is a maximum, and its labels."""

    field: str
    name: str
    unit: str
    maximum: bool
    label_id: str
    label_en: str


CHECKS = (
    Check("kdb_max_pct", "kdb", "%", True, "KDB", "KDB (building coverage)"),
    Check("klb_max", "klb", "ratio", True, "KLB", "KLB (floor area ratio)"),
    Check("kdh_min_pct", "kdh", "%", False, "KDH", "KDH (green area)"),
    Check("ktb_max_pct", "ktb", "%", True, "KTB", "KTB (basement coverage)"),
    Check("height_max_m", "height", "m", True, "tinggi bangunan", "building height"),
    Check("floors_max", "floors", "floors", True, "jumlah lantai", "number of floors"),
    Check("lot_min_m2", "lot", "m2", False, "luas kavling minimum", "minimum lot area"),
)
_REDUCED = ("kdb_max_pct", "klb_max")


@dataclass(frozen=True)
class Limit:
    """A limit in force for one sub-zone, and how it was reached."""

    value: float
    rules: tuple[IntensityRule, ...]
    strictest_of: int = 1
    reduced_pct: float | None = None
    capped: bool = False


def limits_for(
    rules: tuple[IntensityRule, ...], lot_m2: float, road_class: str | None
) -> dict[str, Limit]:
    """Every limit the table sets for a lot of ``lot_m2`` facing a ``road_class`` road, by field.

    Rows must fit the lot's size class; where the road class is given, a row for that road class
    wins over a row for any road; where several values remain (road class not given, variants),
    the strictest applies and the limit says among how many it was chosen.
    """
    fitting = [r for r in rules if _fits_lot(r, lot_m2)]
    specific = [r for r in fitting if r.road_class == road_class] if road_class else []
    generic = [r for r in fitting if r.road_class is None] if road_class else fitting
    out: dict[str, Limit] = {}
    for field in LIMIT_FIELDS:
        valued = [(r, v) for r in specific if (v := getattr(r, field)) is not None] or [
            (r, v) for r in generic if (v := getattr(r, field)) is not None
        ]
        if not valued:
            continue
        values = [float(v) for _, v in valued]
        value = max(values) if field in _MINIMA else min(values)
        chosen = tuple(r for (r, _), v in zip(valued, values, strict=True) if v == value)
        out[field] = Limit(value, chosen, strictest_of=len(set(values)))
    return out


#: Limits that are minima of the building's figures: the strictest is the largest. (Setbacks
#: are minima too, but the strictest setback is also the largest.)
_MINIMA = {c.field for c in CHECKS if not c.maximum} | {"gsb_min_m", "side_min_m", "rear_min_m"}
LIMIT_FIELDS = (*(c.field for c in CHECKS), "gsb_min_m", "side_min_m", "rear_min_m")


def _fits_lot(rule: IntensityRule, lot_m2: float) -> bool:
    low = rule.lot_from_m2 if rule.lot_from_m2 is not None else -math.inf
    high = rule.lot_to_m2 if rule.lot_to_m2 is not None else math.inf
    return low <= lot_m2 < high


def measured(s: Situation) -> dict[str, float | None]:
    """The application's figures as the limits measure them (%, ratio, m, floors, m2)."""
    footprint = s.app.building.footprint_m2
    if footprint is None and s.footprint is not None:
        footprint = float(s.footprint.area)
    return figures(s.app.building, s.lot_m2, footprint)


def figures(b: Building, lot: float, footprint: float | None) -> dict[str, float | None]:
    """The building's figures on a lot of ``lot`` m2, by limit field: None where not given."""
    floors = None if b.floors is None else float(b.floors)
    given = (footprint, b.floor_area_m2, b.green_area_m2, b.basement_m2, b.height_m, floors)
    return figures_of(lot, *given)


def figures_of(
    lot: F,
    footprint: F | None,
    floor_area: F | None,
    green: F | None,
    basement: F | None,
    height: F | None,
    floors: F | None,
) -> dict[str, F | None]:
    """``figures`` of one lot (floats, None where not given) or of many at once (arrays, NaN
    where not given): the same arithmetic, so a batch's columns hold the very bits a single
    check measures."""

    def share(area: F | None) -> F | None:
        return None if area is None else 100.0 * area / lot

    return {
        "kdb_max_pct": share(footprint),
        "klb_max": None if floor_area is None else floor_area / lot,
        "kdh_min_pct": share(green),
        "ktb_max_pct": share(basement),
        "height_max_m": height,
        "floors_max": floors,
        "lot_min_m2": lot,
    }


@dataclass(frozen=True)
class InForce:
    """The limits in force for a class of parcels (the same deciding sub-zones, lot-size class
    of each, road class, activity reductions and provision caps), worked out once per class and
    kept by the compiled plan. ``checks`` holds each sub-zone's bounds in order, or the finding
    that the plan has no intensity rules for it; ``gsb_m`` is the largest GSB (m) among them."""

    checks: tuple[Bound | Finding, ...]
    gsb_m: float | None


def in_force(
    s: Situation, codes: tuple[str, ...], reductions: dict[str, float], caps: dict[str, float]
) -> InForce:
    """The limits in force for the deciding sub-zones ``codes``."""
    key = (
        RULE,
        codes,
        s.app.road_class,
        tuple(s.plan.lot_class(code, s.lot_m2) for code in codes),
        tuple(reductions.get(code) for code in codes),
        tuple(sorted(caps.items())),
    )
    return s.plan.kept(key, _in_force, s, codes, reductions, caps)


def assess_intensity(s: Situation, limits: InForce) -> list[Finding]:
    figures = measured(s)
    return [
        check if isinstance(check, Finding) else check.finding(figures[check.field])
        for check in limits.checks
    ]


def _in_force(
    s: Situation, codes: tuple[str, ...], reductions: dict[str, float], caps: dict[str, float]
) -> InForce:
    tables = {code: s.plan.limits(code, s.lot_m2, s.app.road_class) for code in codes}
    checks: list[Bound | Finding] = []
    for code, table in tables.items():
        if s.plan.intensity.get(code):
            checks += _bounds(s, code, table, reductions.get(code), caps)
        else:
            checks.append(_no_rules(s, code))
    gsb = [table["gsb_min_m"].value for table in tables.values() if "gsb_min_m" in table]
    return InForce(tuple(checks), max(gsb) if gsb else None)


@dataclass(frozen=True)
class Bound:
    """One check of a sub-zone with its limit in force (reduced, capped) and everything of its
    finding that the building's figures do not change. Worked out once per sub-zone, lot-size
    class, road class, reduction and caps, and kept by the compiled plan, so a check only
    words the figures it was given."""

    check: Check
    limit: Limit
    code: str
    #: ``check.field``, the figure this bound measures (read for every parcel).
    field: str
    basis: str
    details: dict[str, object]
    #: The finding where the figure is not given: the limit stands as a condition.
    unassessed: Finding

    def passes(self, value: float) -> bool:
        """Whether a given figure meets the limit (to within ``ROUNDING``)."""
        limit = self.limit.value
        return value <= limit + ROUNDING if self.check.maximum else value + ROUNDING >= limit

    def finding(self, value: float | None) -> Finding:
        """The finding for the figure the application gives (%, ratio, m, floors, m2), or the
        kept condition where it gives none."""
        if value is None:
            return self.unassessed
        check, limit = self.check, self.limit
        status, effect = VERDICTS[self.passes(value)]
        bound_id, bound_en = _BOUNDS[check.maximum]
        return Finding(
            rule=self.unassessed.rule,
            status=status,
            effect=effect,
            message_id=f"{check.label_id} {value:.4g} {check.unit}, {bound_id} {limit.value:g}.",
            message_en=f"{check.label_en} {value:.4g} {check.unit}; {bound_en} {limit.value:g}.",
            basis=self.basis,
            measured=value,
            unit=check.unit,
            limit=limit.value,
            subzone_code=self.code,
            details=self.details,
        )


def meets(
    values: NDArray[np.float64], limits: NDArray[np.float64], maximum: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """``Bound.passes`` for many figures at once, each against its own limit."""
    return np.where(maximum, values <= limits + ROUNDING, values + ROUNDING >= limits)


#: A measured figure's status and effect, by whether it meets its limit.
VERDICTS = {True: (Status.PASS, Effect.NONE), False: (Status.FAIL, Effect.REJECT)}
#: How a limit is worded, by whether it is a maximum.
_BOUNDS = {True: ("maks.", "at most"), False: ("min.", "at least")}


def _bounds(
    s: Situation, code: str, table: dict[str, Limit], pct: float | None, caps: dict[str, float]
) -> list[Bound]:
    basis = s.plan.basis(f"tabel intensitas pemanfaatan ruang, sub-zona {code}")
    bounds = []
    for check in CHECKS:
        limit = table.get(check.field)
        if limit is None:
            continue
        limit = _adjusted(limit, check.field, pct, caps.get(check.field))
        details = _how(s, limit)
        bound_id, bound_en = _BOUNDS[check.maximum]
        unassessed = Finding(
            rule=f"{RULE}.{check.name}",
            status=Status.NOT_ASSESSED,
            effect=Effect.CONDITION,
            message_id=(
                f"{check.label_id} {bound_id} {limit.value:g} {check.unit} "
                "(angka tidak diberikan; menjadi syarat)."
            ),
            message_en=(
                f"{check.label_en} {bound_en} {limit.value:g} {check.unit} "
                "(figure not given; it stands as a condition)."
            ),
            basis=basis,
            measured=None,
            unit=check.unit,
            limit=limit.value,
            subzone_code=code,
            details=details,
        )
        bounds.append(Bound(check, limit, code, check.field, basis, details, unassessed))
    return bounds


def _adjusted(limit: Limit, field: str, pct: float | None, cap: float | None) -> Limit:
    value, reduced, capped = limit.value, None, False
    if pct is not None and field in _REDUCED:
        value, reduced = value * pct / 100.0, pct
    if cap is not None and cap < value:
        value, capped = cap, True
    return Limit(value, limit.rules, limit.strictest_of, reduced, capped)


def _how(s: Situation, limit: Limit) -> dict[str, object]:
    """How the limit was reached: reductions, caps, a choice among several values."""
    details: dict[str, object] = {}
    if limit.reduced_pct is not None:
        details["reduced_to_pct"] = limit.reduced_pct
    if limit.capped:
        details["capped_by_provision"] = True
    if limit.strictest_of > 1:
        details["strictest_of"] = limit.strictest_of
        details["note"] = (
            "road class not given or several variants: the strictest limit applies"
            if s.app.road_class is None
            else "several variants: the strictest limit applies"
        )
    return details


def _no_rules(s: Situation, code: str) -> Finding:
    return Finding(
        rule=f"{RULE}.no_data",
        status=Status.NOT_ASSESSED,
        effect=Effect.REVIEW,
        message_id=f"Rencana tidak memuat tabel intensitas untuk sub-zona {code}.",
        message_en=f"The plan has no intensity rules for sub-zone {code}.",
        basis=s.plan.basis("tabel intensitas pemanfaatan ruang"),
        subzone_code=code,
    )
