"""Rasters: slope, flood depth and hazard class over the parcel against the plan's raster rules.

Each rule of the plan's raster table (``RasterRule``) that applies to the parcel's sub-zones
gives one finding: the figure the rule names (coverage-weighted over the parcel, or for a rule of
one sub-zone over the parcel's piece in it when the parcel is split: the mean, the
maximum, or a percentile by area; for a hazard class, the share of the parcel in the rule's
classes) beside its limit, in the raster's unit (% or degrees of slope, m of water, % of the
parcel). Where more of the parcel than the rule tolerates has no data (nodata, or beyond the
raster) the check is not assessed and needs review: no data is never a pass. A plan without
raster rules costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely.geometry.base import BaseGeometry

from gis.raster import Grid, Share, Stats, class_share, coverage_stats
from layers.model import PlanRaster, RasterKind, RasterRule, RuleSet
from layers.rules.raster import SHARE, hazard_classes, statistic_q
from permits.decision import Effect, Finding, Status
from permits.rules.situation import Situation

RULE = "raster"

#: What failing a rule does, by the rule's ``effect``.
EFFECTS = {"reject": Effect.REJECT, "review": Effect.REVIEW, "condition": Effect.CONDITION}
#: What each raster measures, in Indonesian and English.
MEASURES = {
    RasterKind.SLOPE_PCT: ("kemiringan lereng", "slope"),
    RasterKind.SLOPE_DEG: ("kemiringan lereng", "slope"),
    RasterKind.FLOOD_DEPTH: ("kedalaman genangan banjir", "flood depth"),
    RasterKind.DEM: ("elevasi tanah", "ground elevation"),
    RasterKind.HAZARD_CLASS: ("kelas bahaya", "hazard class"),
}
#: The legal basis a rule cites when the table gives none: the plan and this table.
TABLE = "ketentuan raster (lereng, banjir, bahaya)"


@dataclass(frozen=True)
class RasterCheck:
    """A raster rule compiled: its raster's grid in the plan's CRS (None where the version has
    no such raster: every parcel then lacks data), the percentile a ``p<q>`` statistic names,
    the classes of a hazard rule, and the raster's source file and hash for the finding."""

    rule: RasterRule
    kind: RasterKind
    grid: Grid | None
    q: float | None
    classes: frozenset[float]
    source: str | None
    sha256: str | None


def compile_checks(rules: RuleSet, rasters: tuple[PlanRaster, ...]) -> tuple[RasterCheck, ...]:
    """The plan's raster rules with the grids they read, each grid decoded once and read-only;
    no grid is held that no rule reads."""
    if not rules.raster_rules:
        return ()
    by_kind = {r.kind: r for r in rasters}
    grids: dict[RasterKind, Grid] = {}
    checks = []
    for rule in rules.raster_rules:
        kind = RasterKind(rule.raster)
        raster = by_kind.get(kind)
        if raster is not None and kind not in grids:
            grids[kind] = raster.grid()
            grids[kind].values.flags.writeable = False  # shared by every thread that checks
        checks.append(
            RasterCheck(
                rule=rule,
                kind=kind,
                grid=grids.get(kind),
                q=statistic_q(rule.statistic),
                classes=hazard_classes(rule.classes),
                source=raster.source if raster else None,
                sha256=raster.sha256 if raster else None,
            )
        )
    return tuple(checks)


def assess_rasters(s: Situation) -> tuple[Finding, ...]:
    """One finding per raster rule of the parcel's sub-zones; each raster measured once per
    statistic, however many rules read it."""
    checks = s.plan.raster_checks
    if not checks:
        return ()
    measured: dict[_Measure, Stats | Share] = {}
    places: dict[str | None, Place] = {}
    findings = []
    for check in checks:
        subzone = check.rule.subzone_code
        if subzone is not None and subzone not in s.subzones:
            continue
        if subzone not in places:
            places[subzone] = _place(s, subzone)
        place = places[subzone]
        if check.grid is None:
            findings.append(_not_assessed(s, check, 0.0, place))
            continue
        key = (check.kind, check.q, check.classes, place.subzone_code)
        if key not in measured:
            measured[key] = _measure(check, check.grid, place.geometry)
        findings.append(_finding(s, check, measured[key], place))
    return tuple(findings)


#: What one measurement is: the raster, its percentile, its classes, and the sub-zone whose
#: piece it covers (None: the whole parcel). Rules asking for the same share it.
_Measure = tuple[RasterKind, float | None, frozenset[float], str | None]


@dataclass(frozen=True)
class Place:
    """Where a rule measures: the whole parcel, or, for a rule of one sub-zone on a parcel
    that also lies in others, the parcel's piece in that sub-zone (``subzone_code`` and
    ``area_m2`` say which)."""

    geometry: BaseGeometry
    subzone_code: str | None = None
    area_m2: float | None = None


def _place(s: Situation, subzone: str | None) -> Place:
    if subzone is None:
        return Place(s.parcel)
    rows = [
        row for piece, row in zip(s.pieces, s.rows, strict=True) if piece.subzone_code == subzone
    ]
    if len(rows) == len(s.pieces):
        return Place(s.parcel)
    area = sum(piece.area_m2 for piece in s.pieces if piece.subzone_code == subzone)
    return Place(s.plan.index.piece(s.parcel, np.array(rows, dtype=np.intp)), subzone, area)


def _measure(check: RasterCheck, grid: Grid, geometry: BaseGeometry) -> Stats | Share:
    if check.rule.statistic == SHARE:
        return class_share(grid, geometry, check.classes)
    return coverage_stats(grid, geometry, check.q if check.q is not None else 95.0)


def _value(check: RasterCheck, found: Stats | Share) -> float | None:
    """The figure the rule holds to its limit, in the unit of the finding."""
    if isinstance(found, Share):
        return None if found.share is None else 100.0 * found.share
    if check.rule.statistic == "mean":
        return found.mean
    return found.max if check.rule.statistic == "max" else found.percentile


def _finding(s: Situation, check: RasterCheck, found: Stats | Share, place: Place) -> Finding:
    rule = check.rule
    value = _value(check, found)
    # A parcel wholly over data covers 100 % to rounding, which a tolerance of 0 % must allow.
    if value is None or 100.0 * (1.0 - found.covered) > rule.nodata_max_pct + 1e-6:
        return _not_assessed(s, check, found.covered, place)
    ok = value <= rule.maximum + 1e-9
    what_id, what_en = _what(check)
    unit = _unit(check)
    figure = f"{value:.2f} {unit}"
    limit = f"{rule.maximum:g} {unit}"
    if check.kind is RasterKind.HAZARD_CLASS:
        message_id = f"{figure} luas persil berada di {what_id}; batas {limit}."
        message_en = f"{figure} of the parcel lies in {what_en}; the plan allows {limit}."
    else:
        message_id = f"{what_id.capitalize()} persil {figure}, batas {limit}."
        message_en = f"The parcel's {what_en} is {figure}; the plan's limit is {limit}."
    message_id, message_en = _over(place, message_id, message_en)
    if not ok and rule.text:
        message_id += f" {rule.text}"
        message_en += f" {rule.text}"
    return Finding(
        rule=f"{RULE}.{check.kind.value}",
        status=Status.PASS if ok else Status.FAIL,
        effect=Effect.NONE if ok else EFFECTS[rule.effect],
        message_id=message_id,
        message_en=message_en,
        basis=rule.legal_basis or s.plan.basis(TABLE),
        measured=value,
        unit=unit,
        limit=rule.maximum,
        subzone_code=rule.subzone_code,
        details=_details(check, found.covered, found.nodata, found.pixels, place),
    )


def _not_assessed(s: Situation, check: RasterCheck, covered: float, place: Place) -> Finding:
    """Too little of the parcel has data: a reviewer looks, the limit stands."""
    rule = check.rule
    what_id, what_en = _what(check)
    missing = 100.0 * (1.0 - covered)
    unit = _unit(check)
    message_id, message_en = _over(
        place,
        f"Data {what_id} tidak tersedia untuk {missing:.0f} % luas persil (toleransi "
        f"{rule.nodata_max_pct:g} %): perlu ditinjau; batas {rule.maximum:g} {unit}.",
        f"No {what_en} data for {missing:.0f} % of the parcel (the plan tolerates "
        f"{rule.nodata_max_pct:g} %): needs review; the limit is {rule.maximum:g} {unit}.",
    )
    return Finding(
        rule=f"{RULE}.{check.kind.value}",
        status=Status.NOT_ASSESSED,
        effect=Effect.REVIEW,
        message_id=message_id,
        message_en=message_en,
        basis=rule.legal_basis or s.plan.basis(TABLE),
        unit=unit,
        limit=rule.maximum,
        subzone_code=rule.subzone_code,
        details=_details(check, covered, None, 0, place),
    )


def _over(place: Place, message_id: str, message_en: str) -> tuple[str, str]:
    """The messages, saying so where only the parcel's piece in one sub-zone was measured."""
    if place.subzone_code is None:
        return message_id, message_en
    piece_id = f"bagian persil di sub-zona {place.subzone_code} ({place.area_m2:,.1f} m2)"
    piece_en = f"the parcel's piece in sub-zone {place.subzone_code} ({place.area_m2:,.1f} m2)"
    return f"{message_id} Diukur pada {piece_id}.", f"{message_en} Measured over {piece_en}."


def _what(check: RasterCheck) -> tuple[str, str]:
    """What the figure is, with the statistic: "kemiringan lereng (persentil 90)"."""
    what_id, what_en = MEASURES[check.kind]
    statistic = check.rule.statistic
    if statistic == SHARE:
        classes = ", ".join(f"{c:g}" for c in sorted(check.classes))
        return f"{what_id} {classes}", f"{what_en} {classes}"
    if check.q is not None:
        return f"{what_id} (persentil {check.q:g})", f"{what_en} ({check.q:g}th percentile by area)"
    words = {"mean": ("rata-rata", "mean"), "max": ("maksimum", "maximum")}[statistic]
    return f"{what_id} ({words[0]})", f"{what_en} ({words[1]})"


def _unit(check: RasterCheck) -> str:
    """% of the parcel for a hazard class; else the raster's own unit."""
    return "%" if check.kind is RasterKind.HAZARD_CLASS else check.kind.unit


def _details(
    check: RasterCheck, covered: float, nodata: float | None, pixels: int, place: Place
) -> dict[str, object]:
    details: dict[str, object] = {
        "statistic": check.rule.statistic,
        "covered_pct": round(100.0 * covered, 2),
        "nodata_pct": None if nodata is None else round(100.0 * nodata, 2),
        "nodata_max_pct": check.rule.nodata_max_pct,
        "pixels": pixels,
        "cell_m": None if check.grid is None else round(check.grid.cell_m, 2),
        "source": check.source,
        "sha256": check.sha256,
    }
    if check.classes:
        details["classes"] = sorted(check.classes)
    if check.rule.text:
        details["text"] = check.rule.text
    if place.subzone_code is not None:
        details["piece_m2"] = place.area_m2
    return details
