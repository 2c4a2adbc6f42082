"""Putting the demo city in force in a store, through the importers a real plan goes through."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from layers.demo import (
    DEMO_ENACTED_ON,
    DEMO_LEGAL_BASIS,
    DEMO_PLAN_KIND,
    DEMO_PLAN_NAME,
    DEMO_REGION,
    OVERLAY_LAYERS,
    ZONES_LAYER,
    DemoFiles,
    write_demo_files,
)
from layers.importer import OverlaySource, PlanSources, read_plan
from layers.model import PlanData, PlanVersion, VersionStatus, content_hash
from layers.store import PlanStore


def demo_sources(files: DemoFiles) -> PlanSources:
    """The demo files as an import names them: the zoning layer, rule tables and overlays."""
    return PlanSources(
        zoning=files.zones,
        layer=ZONES_LAYER,
        itbx=files.itbx,
        intensity=files.intensity,
        crosswalk=files.crosswalk,
        provisions=files.provisions,
        overlays=tuple(
            OverlaySource(
                kind,
                files.overlays,
                layer=layer,
                name_column="NAMA",
                klass_column="KELAS",
                ceiling_column="ELEV_MAX",
            )
            for kind, layer in OVERLAY_LAYERS.items()
        ),
    )


def read_demo() -> PlanData:
    """The demo city written to files as a planning office receives them, and read back."""
    with tempfile.TemporaryDirectory() as folder:
        return read_plan(demo_sources(write_demo_files(Path(folder))), DEMO_REGION)


def load_demo(store: PlanStore) -> PlanVersion:
    """The demo city's version in force in ``store``, imported and activated when missing.

    Idempotent: a version with the same content is reused, so running it twice changes nothing.
    """
    store.ensure_region(DEMO_REGION)
    plan = next((p for p in store.plans(DEMO_REGION.code) if p.name == DEMO_PLAN_NAME), None)
    if plan is None:
        plan = store.create_plan(
            DEMO_REGION.code,
            DEMO_PLAN_NAME,
            DEMO_LEGAL_BASIS,
            kind=DEMO_PLAN_KIND,
            enacted_on=DEMO_ENACTED_ON,
        )
    data = read_demo()
    digest = content_hash(data)
    versions = store.versions(plan.id)
    same = next((v for v in versions if v.content_hash == digest), None)
    if same is not None and same.status is VersionStatus.ACTIVE:
        return same
    if same is None or same.status is not VersionStatus.DRAFT:
        same = store.add_version(plan.id, data, "demo")
    in_force = any(v.status is VersionStatus.ACTIVE for v in versions)
    return store.activate(same.id, date.today() if in_force else DEMO_ENACTED_ON)
