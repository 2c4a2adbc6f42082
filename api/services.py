"""What a worker holds while it serves: the store, the engines in force, the decision log and
the API keys, opened by the lifespan and refreshed in the background."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.keys import KeyRing, KeyStore
from api.metrics import ENGINE_BUILD, ENGINES
from api.responses import Renders
from api.settings import Settings
from gis.errors import SimtaruError
from gis.parse import ParcelLimits
from layers.store import PlanStore
from layers.stores import open_store
from permits.engine import EngineSettings
from permits.in_force import PlansInForce
from permits.records import DecisionStore

log = logging.getLogger("simtaru.api")


@dataclass
class Health:
    """What readiness reports: the last refresh, and the last error if it failed. Until a
    refresh succeeds again after an error, the store counts as unreachable and checks do not
    ask it."""

    refreshed_at: float | None = None
    error: str | None = None
    refreshes: int = 0

    @property
    def store_reachable(self) -> bool:
        return self.error is None

    def unreachable(self, why: str) -> None:
        self.error = why


@dataclass
class Services:
    settings: Settings
    store: PlanStore
    plans: PlansInForce
    decisions: DecisionStore
    keys: KeyRing
    health: Health = field(default_factory=Health)
    #: Comparisons of versions, rendered once per pair while the two are unchanged.
    renders: Renders = field(default_factory=Renders)

    @classmethod
    def open(cls, settings: Settings) -> Services:
        """Open the store, build and warm the engines in force, load the keys. Fails (and the
        worker does not start) when the store cannot be opened."""
        migrate = settings.api.migrate
        store = open_store(settings.store.store_url, migrate=migrate)
        limits = ParcelLimits(settings.limits.max_vertices, settings.limits.max_parts)
        services = cls(
            settings=settings,
            store=store,
            plans=PlansInForce(store, EngineSettings(limits=limits)),
            decisions=DecisionStore.of(store, migrate=migrate),
            keys=KeyRing(KeyStore(store.engine, migrate=migrate)),
        )
        services.refresh()
        if services.health.error:
            store.close()
            raise SimtaruError(f"cannot start: {services.health.error}")
        return services

    def refresh(self) -> bool:
        """Pick up activated versions and changed keys; on failure keep what is in memory."""
        started = time.perf_counter()
        try:
            self.keys.refresh()
            changed = self.plans.refresh()
        except SimtaruError as exc:
            self.health.unreachable(str(exc))
            return False
        except DBAPIError as exc:
            self.health.unreachable(f"the store cannot be reached ({type(exc.orig).__name__})")
            return False
        except Exception as exc:  # a failed refresh must not stop the worker
            log.exception("refresh of the engines in force failed")
            self.health.unreachable(f"refresh failed ({type(exc).__name__})")
            return False
        self.health.error = None
        self.health.refreshed_at = time.time()
        self.health.refreshes += 1
        if changed:
            ENGINE_BUILD.observe(time.perf_counter() - started)
            ENGINES.set(len(self.plans.current.engines))
            log.info(
                "engines in force: versions %s",
                [e.ref.version_id for e in self.plans.current.engines],
            )
        return changed

    def database_ok(self) -> bool:
        try:
            with self.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure means not reachable
            return False
        return True

    def close(self) -> None:
        self.store.close()
