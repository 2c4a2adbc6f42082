"""The engine: a plan version compiled once, checking applications rule by rule.

Build it when a version is loaded (``Engine.build`` or ``Engine.from_store``): the zone index is
built and warmed, the rule tables compiled to lookups. It never changes afterwards and holds no
shared GEOS prepared state, so one engine serves any number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from gis.errors import GeometryError
from gis.index import Overlap
from gis.parse import CrsInput, Note, ParcelLimits, prepare_parcel, resolve_crs, transform_geometry
from layers.model import PlanData, PlanVersion
from layers.store import PlanStore
from permits.application import Application
from permits.compiled import CompiledPlan, compile_plan
from permits.decision import Decision, Effect, Finding, PlanRef, Status, ZonePiece
from permits.fork_gate import inside
from permits.rules.activity import assess_activity
from permits.rules.distance import Neighbours, assess_distance
from permits.rules.footprint import assess_footprint
from permits.rules.intensity import InForce, assess_intensity, in_force
from permits.rules.location import Tolerance, location_findings, pieces_of
from permits.rules.provisions import assess_provisions
from permits.rules.raster import assess_rasters
from permits.rules.situation import Situation


@dataclass(frozen=True)
class EngineSettings:
    """Tolerances and input limits; the plan's own choices live in its rule set."""

    tolerance: Tolerance = field(default_factory=Tolerance)
    limits: ParcelLimits = field(default_factory=ParcelLimits)


class Engine:
    """Checks applications against one plan version."""

    def __init__(self, plan: CompiledPlan, settings: EngineSettings | None = None) -> None:
        self.plan = plan
        self.settings = settings or EngineSettings()

    @classmethod
    def build(cls, data: PlanData, ref: PlanRef, settings: EngineSettings | None = None) -> Engine:
        with inside():
            return cls(compile_plan(data, ref), settings)

    @classmethod
    def from_store(
        cls, store: PlanStore, version_id: int, settings: EngineSettings | None = None
    ) -> Engine:
        """The engine of a stored version, with the trace (plan, regulation, hashes) it cites."""
        version = store.version(version_id)
        return cls.build(store.load(version_id), plan_ref(store, version), settings)

    @property
    def ref(self) -> PlanRef:
        return self.plan.ref

    def check(self, app: Application, *, neighbours: Neighbours | None = None) -> Decision:
        """The decision for one application. Figures that cannot be right and geometries that
        cannot be used raise (``ApplicationError``, ``GeometryError``); everything else,
        including a parcel outside the plan, is a decision."""
        with inside():
            return self._check(app, neighbours)

    def _check(self, app: Application, neighbours: Neighbours | None) -> Decision:
        app.validate()
        crs = resolve_crs(app.crs)
        prepared = prepare_parcel(
            app.parcel,
            crs,
            self.plan.ref.crs_epsg,
            limits=self.settings.limits,
            authority_order=app.authority_order,
        )
        repaired = [n for n in prepared.notes if n.code == "repaired"]
        if repaired and self.plan.refuse_repairs:
            raise GeometryError(
                f"parcel: {repaired[0].message}; this plan refuses parcels that need repair"
            )
        digest = app.input_hash()
        if prepared.swapped_suspect or prepared.geometry is None:
            return self.swapped(app, digest)
        overlap = self.plan.index.overlap(prepared.geometry)
        return self.assess(
            app, crs, prepared.geometry, prepared.notes, overlap, neighbours, input_hash=digest
        )

    def swapped(self, app: Application, input_hash: str) -> Decision:
        """The decision for a parcel whose coordinates look like latitude, longitude: outside
        every plan, saying why."""
        return self._decide(app, input_hash, (_swapped(self.plan),), (), None)

    def assess(
        self,
        app: Application,
        crs: CrsInput,
        parcel: BaseGeometry,
        notes: tuple[Note, ...],
        overlap: Overlap,
        neighbours: Neighbours | None = None,
        *,
        input_hash: str,
        overlay_hits: tuple[NDArray[np.intp], NDArray[np.float64]] | None = None,
    ) -> Decision:
        """The rules, once the parcel is in the plan's CRS and located (``check`` and the
        batch locate differently, and share this). ``overlay_hits`` are the overlay rows the
        parcel intersects and the area in each, where the caller measured them for many parcels
        at once."""
        epsg = self.plan.ref.crs_epsg
        lot_m2 = float(parcel.area)
        tol = self.settings.tolerance
        pieces, rows = pieces_of(self.plan, overlap, lot_m2, tol)
        located = (*_repairs(self.plan, notes), *location_findings(self.plan, pieces, lot_m2, tol))
        if any(f.effect is Effect.NOT_ASSESSABLE for f in located):
            return self._decide(app, input_hash, located, pieces, lot_m2)
        s = Situation(
            plan=self.plan,
            app=app,
            parcel=parcel,
            lot_m2=lot_m2,
            pieces=pieces,
            rows=rows,
            footprint=_metric(app.building.footprint, crs, epsg, "building.footprint", app),
            frontage=_metric(app.frontage, crs, epsg, "frontage", app),
            overlay_hits=overlay_hits,
        )
        before, limits, after = self.rules(s, neighbours)
        findings = (*located, *before, *assess_intensity(s, limits), *after)
        return self._decide(app, input_hash, findings, pieces, lot_m2)

    def rules(
        self, s: Situation, neighbours: Neighbours | None = None
    ) -> tuple[tuple[Finding, ...], InForce, tuple[Finding, ...]]:
        """The rules' findings for a located parcel, around the limits in force that the
        building's figures are measured against (``assess_intensity``): the activity and the
        special provisions before, the footprint, the distance and the rasters after. Apart, so
        that a batch of rows can measure many parcels' figures against one class's limits."""
        activity = assess_activity(s)
        provisions = assess_provisions(s, self.settings.tolerance)
        subzones = s.subzones[:1] if self.plan.split_policy == "dominant" else s.subzones
        limits = in_force(s, subzones, activity.intensity_pct, provisions.caps)
        after = (
            *assess_footprint(s, limits.gsb_m),
            *assess_distance(s, activity.activity_ids, activity.min_distance_m, neighbours),
            *assess_rasters(s),
        )
        return (*activity.findings, *provisions.findings), limits, after

    def _decide(
        self,
        app: Application,
        input_hash: str,
        findings: tuple[Finding, ...],
        pieces: tuple[ZonePiece, ...],
        lot_m2: float | None,
    ) -> Decision:
        return Decision(
            outcome=Decision.outcome_of(findings),
            findings=findings,
            zones=pieces,
            parcel_area_m2=lot_m2,
            plan=self.plan.ref,
            input_hash=input_hash,
            application_id=app.application_id,
        )


def plan_ref(store: PlanStore, version: PlanVersion) -> PlanRef:
    plan = store.plan(version.plan_id)
    return PlanRef(
        plan_id=plan.id,
        plan_name=plan.name,
        legal_basis=plan.legal_basis,
        version_id=version.id,
        version_label=version.label,
        content_hash=version.content_hash,
        ruleset_hash=version.ruleset_hash,
        crs_epsg=version.crs_epsg,
    )


def _metric(
    geom: BaseGeometry | None, crs: CrsInput, epsg: int, what: str, app: Application
) -> BaseGeometry | None:
    """A footprint or frontage in the plan's CRS; a footprint is repaired like a parcel would
    be, since overlay operations on an invalid polygon fail."""
    if geom is None:
        return None
    metric = transform_geometry(geom, crs, epsg, what=what, authority_order=app.authority_order)
    if isinstance(metric, Polygon | MultiPolygon) and not metric.is_valid:
        return shapely.make_valid(metric, method="structure")
    return metric


def _repairs(plan: CompiledPlan, notes: tuple[Note, ...]) -> tuple[Finding, ...]:
    return tuple(
        Finding(
            rule="geometry",
            status=Status.INFO,
            effect=Effect.NONE,
            message_id=f"Geometri persil diperbaiki: {note.message}",
            message_en=f"The parcel geometry was repaired: {note.message}",
            basis=plan.basis("validasi geometri"),
            details={"code": note.code},
        )
        for note in notes
    )


def _swapped(plan: CompiledPlan) -> Finding:
    return Finding(
        rule="location",
        status=Status.FAIL,
        effect=Effect.NOT_ASSESSABLE,
        message_id=(
            "Persil berada di luar setiap rencana: koordinatnya tampak tertukar "
            "(lintang, bujur alih-alih bujur, lintang)."
        ),
        message_en=(
            "The parcel lies outside every plan: its coordinates look like latitude, longitude "
            "instead of longitude, latitude."
        ),
        basis=plan.basis("peta pola ruang / zoning map"),
    )
