"""The engines of the plan versions in force, for a service or a notebook that checks against
whatever plan governs a parcel on a date.

The versions in force today are built once and kept; ``refresh`` looks at the store and, when a
version was activated (by this process or any other), builds the new engines first and then
swaps the whole set in one assignment, so a check in flight keeps the engines it started with.
Applications dated in the past are checked against the versions in force then, built on first
use and a few kept. When the store cannot be reached, the engines in memory keep answering.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from shapely.geometry import MultiPolygon

from gis.parse import prepare_parcel, resolve_crs
from layers.model import PlanVersion
from layers.store import PlanStore
from permits.application import Application
from permits.decision import Decision, Effect, Finding, Outcome, Status
from permits.engine import Engine, EngineSettings
from permits.records import DecisionStore, RecordedDecision
from permits.rules.distance import SAME_ACTIVITY, Neighbours


@dataclass(frozen=True)
class InForce:
    """One consistent set: the day it was read for, and an engine per plan version in force."""

    day: date
    engines: tuple[Engine, ...] = ()
    versions: tuple[PlanVersion, ...] = field(default=())


class PlansInForce:
    """The engines a check chooses from, by application date and by plan."""

    def __init__(
        self,
        store: PlanStore,
        settings: EngineSettings | None = None,
        *,
        keep_past: int = 4,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.store = store
        self.settings = settings or EngineSettings()
        self._today = today
        self._current = InForce(date.min)
        self._built: dict[int, Engine] = {}
        self._past: OrderedDict[date, InForce] = OrderedDict()
        self._keep_past = keep_past
        self._lock = threading.Lock()

    @property
    def current(self) -> InForce:
        return self._current

    def refresh(self) -> bool:
        """Read the versions in force today; build what is new, then swap. True if it changed.
        Raises the store's error when it cannot be read (the engines in memory stay)."""
        day = self._today()
        versions = tuple(self.store.versions_in_force(day))
        ids = [v.id for v in versions]
        if day == self._current.day and ids == [v.id for v in self._current.versions]:
            return False
        with self._lock:
            engines = tuple(self._engine(v) for v in versions)
            self._built = {e.ref.version_id: e for e in engines}
            self._current = InForce(day, engines, versions)
        return True

    def on(self, day: date | None) -> InForce:
        """The set in force on ``day``; without a day, the set of the last refresh (the first
        use refreshes: a notebook or the command line need not)."""
        if self._current.day == date.min:
            self.refresh()
        current = self._current
        if day is None or day == current.day:
            return current
        with self._lock:
            found = self._past.get(day)
            if found is None:
                versions = tuple(self.store.versions_in_force(day))
                found = InForce(day, tuple(self._engine(v) for v in versions), versions)
                self._past[day] = found
                while len(self._past) > self._keep_past:
                    self._past.popitem(last=False)
            self._past.move_to_end(day)
            return found

    def check(
        self,
        app: Application,
        *,
        plan_id: int | None = None,
        neighbours: Neighbours | None = None,
    ) -> Decision:
        """The decision against the plan in force where and when the application is.

        With several plans in force (an RDTR per planning area), the one that covers most of
        the parcel decides; ``plan_id`` names one instead.
        """
        chosen = self.on(app.applied_on).engines
        if plan_id is not None:
            chosen = tuple(e for e in chosen if e.ref.plan_id == plan_id)
        if not chosen:
            app.validate()
            return _no_plan(app, plan_id)
        decisions = [engine.check(app, neighbours=neighbours) for engine in chosen]
        if len(decisions) == 1:
            return decisions[0]
        return max(decisions, key=_covered)

    def record(
        self,
        app: Application,
        log: DecisionStore,
        *,
        key: str,
        plan_id: int | None = None,
    ) -> RecordedDecision:
        """Check and append the decision to ``log`` under ``key``; a retry with the same key
        and application gets the first record back, another application under it is refused
        (``IdempotencyConflict``). The parcel is kept in the deciding plan's metric CRS.

        A decision that passed T3 against the log is checked again and appended in the
        version's turn (``DecisionStore.serialised``), so of two near applications of the same
        activity recorded at once only the first can pass."""
        decision = self.check(app, plan_id=plan_id, neighbours=log)
        if decision.plan is None or not _passed_distance(decision):
            return self._append(app, log, decision, key)
        with log.serialised(decision.plan.version_id) as turn:
            decision = self.check(app, plan_id=plan_id, neighbours=turn)
            return self._append(app, turn, decision, key)

    def _append(
        self, app: Application, log: DecisionStore, decision: Decision, key: str
    ) -> RecordedDecision:
        engine = next((e for e in self.on(app.applied_on).engines if e.ref == decision.plan), None)
        if engine is None:
            src = resolve_crs(app.crs)
            epsg = src.epsg or 4326
            parcel = app.parcel
            activity_ids: tuple[str, ...] = ()
        else:
            epsg = engine.ref.crs_epsg
            prepared = prepare_parcel(
                app.parcel,
                app.crs,
                epsg,
                limits=engine.settings.limits,
                authority_order=app.authority_order,
            )
            parcel = prepared.geometry if prepared.geometry is not None else MultiPolygon()
            activity_ids = engine.plan.resolve_activity(app.activity)
        return log.record(
            decision,
            parcel=parcel,
            crs_epsg=epsg,
            activity=app.activity,
            activity_ids=activity_ids,
            idempotency_key=key,
        )

    def _engine(self, version: PlanVersion) -> Engine:
        """A version's engine: reused when built before (engines never change)."""
        engine = self._built.get(version.id)
        if engine is None:
            engine = Engine.from_store(self.store, version.id, self.settings)
        return engine


def _passed_distance(decision: Decision) -> bool:
    """Whether T3 was measured against recorded decisions and passed: the one finding a
    decision recorded at the same moment could have turned into a failure."""
    return any(f.rule == SAME_ACTIVITY and f.status is Status.PASS for f in decision.findings)


def _covered(decision: Decision) -> tuple[bool, float]:
    assessable = decision.outcome is not Outcome.NOT_ASSESSABLE
    return assessable, sum(z.area_m2 for z in decision.zones)


def _no_plan(app: Application, plan_id: int | None) -> Decision:
    day = (app.applied_on or date.today()).isoformat()
    which_id = f"rencana {plan_id}" if plan_id is not None else "rencana tata ruang"
    which_en = f"plan {plan_id}" if plan_id is not None else "spatial plan"
    finding = Finding(
        rule="location.plan",
        status=Status.FAIL,
        effect=Effect.NOT_ASSESSABLE,
        message_id=f"Tidak ada {which_id} yang berlaku pada {day}.",
        message_en=f"No {which_en} is in force on {day}.",
        basis="katalog rencana Simtaru / Simtaru plan catalogue",
    )
    return Decision(
        outcome=Decision.outcome_of((finding,)),
        findings=(finding,),
        zones=(),
        parcel_area_m2=None,
        plan=None,
        input_hash=app.input_hash(),
        application_id=app.application_id,
    )
