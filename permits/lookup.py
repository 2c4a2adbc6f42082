"""What can I build here? The rules in force at a point or over a parcel, before any application.

For each sub-zone the place touches: the zone pieces (for a parcel, with area m2 and share), the
ITBX rows (for one activity, or the whole column), the intensity table's rows and the special
provisions (zone flags and overlay polygons, with the plan's rules for them). The same compiled
plan the engine checks with answers, so the map and the check never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gis.errors import GeometryError
from gis.parse import prepare_parcel, resolve_crs, transform_geometry
from layers.model import FLAG_PROVISIONS, ItbxClass, norm, plain
from permits.compiled import CompiledPlan
from permits.decision import PlanRef
from permits.engine import Engine
from permits.rules.location import pieces_of


@dataclass(frozen=True)
class ItbxRow:
    """One kegiatan in one sub-zone: the structured codes, the annex's text and the class."""

    activity_id: str
    name: str
    group: str | None
    kbli: tuple[str, ...]
    codes: tuple[str, ...]
    raw: str
    klass: str
    conditions: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Provision:
    """A special provision reaching the place: its kind and class, where it comes from, the
    overlap (m2, parcels only) or KKOP ceiling (m above sea level), and the plan's rules for it."""

    kind: str
    klass: str | None
    source: str
    name: str | None = None
    area_m2: float | None = None
    ceiling_m: float | None = None
    rules: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class SubzoneRules:
    """Everything the plan says about one sub-zone the place touches."""

    subzone_code: str | None
    subzone_name: str | None
    zone_code: str | None
    blocks: tuple[str, ...]
    area_m2: float | None
    share: float | None
    itbx: tuple[ItbxRow, ...]
    intensity: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Applicable:
    """The answer for one place: the plan version, the sub-zones, the provisions."""

    plan: PlanRef
    activity: str | None
    activity_ids: tuple[str, ...]
    subzones: tuple[SubzoneRules, ...]
    provisions: tuple[Provision, ...]
    parcel_area_m2: float | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_dict(),
            "activity": self.activity,
            "activity_ids": list(self.activity_ids),
            "parcel_area_m2": self.parcel_area_m2,
            "subzones": [_dict(z) for z in self.subzones],
            "provisions": [_dict(p) for p in self.provisions],
            "notes": list(self.notes),
        }


def what_applies(
    engine: Engine,
    place: BaseGeometry,
    crs: str = "OGC:CRS84",
    *,
    activity: str | None = None,
    authority_order: bool = False,
) -> Applicable:
    """The rules in force at ``place``: a Point, or a parcel (Polygon or MultiPolygon), in
    ``crs``. ``activity`` (a KBLI code or kegiatan) narrows the ITBX rows to it."""
    plan = engine.plan
    src = resolve_crs(crs)
    epsg = plan.ref.crs_epsg
    if isinstance(place, shapely.Point):
        point = transform_geometry(place, src, epsg, authority_order=authority_order, what="point")
        pieces: list[tuple[int, float | None, float | None]] = [
            (int(row), None, None) for row in plan.index.zones_at(point)
        ]
        probe, lot_m2 = point, None
    elif not isinstance(place, shapely.Polygon | shapely.MultiPolygon):
        raise GeometryError(
            f"give a Point or a parcel (Polygon or MultiPolygon), not a {place.geom_type}"
        )
    else:
        prepared = prepare_parcel(
            place, src, epsg, limits=engine.settings.limits, authority_order=authority_order
        )
        if prepared.geometry is None:
            raise GeometryError(f"parcel: {prepared.notes[-1].message}")
        probe, lot_m2 = prepared.geometry, float(prepared.geometry.area)
        found, found_rows = pieces_of(
            plan, plan.index.overlap(probe), lot_m2, engine.settings.tolerance
        )
        pieces = [(r, p.area_m2, p.share) for p, r in zip(found, found_rows, strict=True)]
    ids = plan.resolve_activity(activity) if activity else ()
    notes = []
    if activity and not ids:
        notes.append(f"activity {activity!r} is not known to this plan's ITBX or crosswalk")
    if not pieces:
        notes.append("the place lies outside this plan's zones")
    return Applicable(
        plan=plan.ref,
        activity=activity,
        activity_ids=ids,
        subzones=_subzones(plan, pieces, ids if activity else None),
        provisions=_provisions(plan, probe, [r for r, _a, _s in pieces]),
        parcel_area_m2=lot_m2,
        notes=tuple(notes),
    )


def _subzones(
    plan: CompiledPlan,
    pieces: list[tuple[int, float | None, float | None]],
    ids: tuple[str, ...] | None,
) -> tuple[SubzoneRules, ...]:
    by_code: dict[str | None, list[tuple[int, float | None, float | None]]] = {}
    for piece in pieces:
        by_code.setdefault(plan.zones.subzone_code[piece[0]], []).append(piece)
    out = []
    for code, group in by_code.items():
        first = group[0][0]
        areas = [a for _r, a, _s in group if a is not None]
        shares = [s for _r, _a, s in group if s is not None]
        out.append(
            SubzoneRules(
                subzone_code=code,
                subzone_name=plan.zones.subzone_name[first],
                zone_code=plan.zones.zone_code[first],
                blocks=tuple(
                    dict.fromkeys(str(b) for r, _a, _s in group if (b := plan.zones.block[r]))
                ),
                area_m2=sum(areas) if areas else None,
                share=sum(shares) if shares else None,
                itbx=_itbx(plan, code, ids) if code else (),
                intensity=tuple(plain(r) for r in plan.intensity.get(code or "", ())),
            )
        )
    return tuple(out)


def _itbx(plan: CompiledPlan, code: str, ids: tuple[str, ...] | None) -> tuple[ItbxRow, ...]:
    """The sub-zone's ITBX rows: for the activity's kegiatan, or every row of the column."""
    wanted = ids if ids is not None else tuple(plan.activities)
    rows = []
    for activity_id in wanted:
        cell = plan.cells.get((activity_id, code))
        if cell is None:
            continue
        act = plan.activities[activity_id]
        klass = plan.cell_class(cell)
        conditions = tuple(
            {"code": c, "text": plan.legend[c].text}
            for c in cell.codes
            if c in plan.legend and klass is not ItbxClass.X
        )
        rows.append(
            ItbxRow(
                act.id, act.name, act.group, act.kbli, cell.codes, cell.raw, klass.value, conditions
            )
        )
    return tuple(rows)


def _provisions(plan: CompiledPlan, probe: BaseGeometry, rows: list[int]) -> tuple[Provision, ...]:
    blocks = {plan.zones.block[r] for r in rows}
    codes = {plan.zones.subzone_code[r] for r in rows}
    found: list[Provision] = []
    for row in rows:
        for column, value in plan.zones.flags[row].items():
            kind = FLAG_PROVISIONS.get(column)
            if kind:
                found.append(Provision(kind, value, f"zone flag {column}"))
    overlays = plan.overlays
    if len(overlays.kind):
        if isinstance(probe, shapely.Point):
            hits = overlays.index.zones_at(probe)
            areas: list[float | None] = [None] * len(hits)
        else:
            hits, measured = overlays.overlap(probe)
            areas = measured.tolist()
        for row, area in zip(hits.tolist(), areas, strict=True):
            ceiling = float(overlays.ceiling_m[row])
            found.append(
                Provision(
                    str(overlays.kind[row]),
                    overlays.klass[row],
                    f"overlay {overlays.kind[row]}",
                    name=overlays.name[row],
                    area_m2=None if area is None else float(area),
                    ceiling_m=None if math.isnan(ceiling) else ceiling,
                )
            )
    merged: dict[tuple[str, str | None, str, float | None], Provision] = {}
    for p in found:
        key = (p.kind, p.klass, p.source, p.ceiling_m)
        if key in merged and p.area_m2 is not None:
            earlier = merged[key]
            p = Provision(
                p.kind,
                p.klass,
                p.source,
                p.name,
                (earlier.area_m2 or 0.0) + p.area_m2,
                p.ceiling_m,
            )
        merged[key] = p
    return tuple(
        Provision(
            p.kind,
            p.klass,
            p.source,
            p.name,
            p.area_m2,
            p.ceiling_m,
            tuple(
                plain(rule)
                for rule in plan.provisions
                if rule.provision == p.kind
                and (rule.klass is None or norm(rule.klass) == norm(p.klass))
                and (rule.block is None or rule.block in blocks)
                and (rule.subzone_code is None or rule.subzone_code in codes)
            ),
        )
        for p in merged.values()
    )


def _dict(item: Any) -> dict[str, Any]:
    out = plain(item)
    for key, value in out.items():
        if isinstance(value, list) and value and hasattr(value[0], "__dataclass_fields__"):
            out[key] = [plain(v) for v in value]
    return out
