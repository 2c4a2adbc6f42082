"""Checking many parcels at once: GeoDataFrame in, GeoDataFrame out, the same engine.

The location step runs vectorised over every parcel (one index query, one area kernel); the
rules then run per parcel exactly as for a single check. A parcel whose geometry cannot be used
gets a not-assessable decision saying why, instead of stopping the batch.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.errors import GeometryError
from gis.geometry import repair_polygons
from gis.index import Overlap
from gis.parse import Note, resolve_crs
from permits.application import Application, ApplicationError, Building
from permits.decision import Decision, Effect, Finding, Status
from permits.engine import Engine

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


def check_many(
    parcels: gpd.GeoDataFrame, engine: Engine, *, activity: str | None = None
) -> gpd.GeoDataFrame:
    """One decision per parcel row.

    ``parcels`` needs a CRS and, unless ``activity`` is given for all, an ``activity`` column;
    the columns in ``BUILDING_COLUMNS``, ``road_class`` and ``application_id`` are used where
    present. The result keeps the index and geometry and adds ``outcome``, ``parcel_area_m2``,
    ``subzone_code`` and ``share`` (the largest piece), ``zones`` (pieces), ``failed`` and
    ``review`` (the rules that failed or need review) and ``decision`` (the full decision).
    """
    if parcels.crs is None:
        raise GeometryError("the parcels frame has no CRS; set one (e.g. EPSG:4326)")
    if activity is None and "activity" not in parcels:
        raise ApplicationError("activity", "give an 'activity' column or activity=...")
    crs = resolve_crs(parcels.crs.to_string())
    epsg = engine.plan.ref.crs_epsg
    metric = np.asarray(parcels.geometry.to_crs(epsg).array, dtype=object)
    usable, problems = _usable(metric)
    repaired, notes = _repaired(metric, usable)
    overlaps = _overlaps(engine, repaired, usable)
    given = np.asarray(parcels.geometry.array, dtype=object)
    wkb = shapely.to_wkb(given, hex=True, byte_order=1)
    decisions = []
    for i, row in enumerate(parcels.itertuples(index=False)):
        app = _application(row._asdict(), given[i], activity, crs.name)
        digest = app.input_hash(parcel_wkb=wkb[i])
        problem = problems[i]
        if problem is not None:
            decisions.append(_unusable(engine, app, problem, digest))
            continue
        try:
            app.validate()
            decisions.append(
                engine.assess(app, crs, repaired[i], notes[i], overlaps[i], input_hash=digest)
            )
        except (ApplicationError, GeometryError) as exc:
            decisions.append(_unusable(engine, app, str(exc), digest))
    return _results(parcels, decisions)


def findings_frame(results: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every finding of a ``check_many`` result, one row each, keyed by the parcel's index."""
    rows = [
        {"parcel": key, **finding.to_dict()}
        for key, decision in results["decision"].items()
        for finding in decision.findings
    ]
    return pd.DataFrame(rows)


def _usable(metric: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Which parcels can be measured; for the others, why not."""
    problems: list[str | None] = [None] * len(metric)
    kinds = shapely.get_type_id(metric)
    empty = shapely.is_empty(metric) | (kinds < 0)
    polygonal = np.isin(kinds, (3, 6))
    finite = ~np.isnan(shapely.bounds(metric)).any(axis=1) & np.isfinite(
        shapely.bounds(metric)
    ).all(axis=1)
    for i in np.flatnonzero(empty):
        problems[i] = "empty geometry"
    for i in np.flatnonzero(~empty & ~polygonal):
        problems[i] = f"a parcel must be a Polygon or MultiPolygon, not a {metric[i].geom_type}"
    for i in np.flatnonzero(~empty & polygonal & ~finite):
        problems[i] = "coordinates that are not finite numbers (or outside the CRS's area)"
    return np.array([p is None for p in problems]), problems


def _repaired(metric: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, list[tuple[Note, ...]]]:
    geoms = metric.copy()
    notes: list[tuple[Note, ...]] = [()] * len(metric)
    index = np.flatnonzero(usable)
    fixed, found = repair_polygons(geoms[index])
    geoms[index] = fixed
    for note in found:
        notes[index[note.index]] = (
            Note("repaired", f"{note.reason}; repaired" if note.repaired else note.reason),
        )
    return geoms, notes


def _overlaps(engine: Engine, geoms: np.ndarray, usable: np.ndarray) -> list[Overlap]:
    index = np.flatnonzero(usable)
    parcel_idx, zone_idx, areas = engine.plan.index.overlap_many(geoms[index])
    bounds = np.searchsorted(parcel_idx, np.arange(len(index) + 1))
    out = [Overlap(np.empty(0, np.intp), np.empty(0, np.float64))] * len(geoms)
    for k, row in enumerate(index):
        lo, hi = bounds[k], bounds[k + 1]
        out[row] = Overlap(zone_idx[lo:hi], areas[lo:hi])
    return out


def _application(
    values: dict[str, Any], geometry: Any, activity: str | None, crs: str
) -> Application:
    figures = {
        name: _number(values.get(name), integer=name == "floors")
        for name in BUILDING_COLUMNS
        if name in values
    }
    return Application(
        parcel=geometry,
        activity=str(activity if activity is not None else values.get("activity") or ""),
        building=Building(**figures),
        crs=crs,
        road_class=_text(values.get("road_class")),
        application_id=_text(values.get("application_id")),
    )


def _number(value: Any, *, integer: bool) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if integer else float(value)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


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


def _results(parcels: gpd.GeoDataFrame, decisions: list[Decision]) -> gpd.GeoDataFrame:
    def rules(decision: Decision, effect: Effect) -> str:
        return ",".join(dict.fromkeys(f.rule for f in decision.findings if f.effect is effect))

    main = [d.zones[0] if d.zones else None for d in decisions]
    index: list[Hashable] = list(parcels.index)
    return gpd.GeoDataFrame(
        {
            "outcome": [d.outcome.value for d in decisions],
            "parcel_area_m2": [d.parcel_area_m2 for d in decisions],
            "subzone_code": [z.subzone_code if z else None for z in main],
            "share": [z.share if z else None for z in main],
            "zones": [len(d.zones) for d in decisions],
            "failed": [rules(d, Effect.REJECT) for d in decisions],
            "review": [rules(d, Effect.REVIEW) for d in decisions],
            "decision": decisions,
        },
        geometry=parcels.geometry.values,
        crs=parcels.crs,
        index=index,
    )
