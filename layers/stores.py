"""Opening a plan store from a URL or a path: the one place that knows both back ends."""

from __future__ import annotations

from pathlib import Path

from layers.errors import StoreError
from layers.store import PlanStore
from layers.store_gpkg import GeoPackageStore
from layers.store_postgis import PostgisStore


def open_store(url: str | Path, *, migrate: bool = True) -> PlanStore:
    """``postgresql[+psycopg]://...`` opens PostGIS; a ``.gpkg`` path (or ``gpkg:///path``) the
    embedded store, created if missing. Either is migrated to the newest schema unless told not.

    >>> import tempfile, pathlib
    >>> store = open_store(pathlib.Path(tempfile.mkdtemp()) / "city.gpkg")
    >>> type(store).__name__, store.plans()
    ('GeoPackageStore', [])
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        rest = text.split("://", 1)[1]
        return PostgisStore(f"postgresql+psycopg://{rest}", migrate=migrate)
    if text.startswith("gpkg://"):
        text = text.removeprefix("gpkg://")
    if text.endswith(".gpkg"):
        return GeoPackageStore(Path(text), migrate=migrate)
    raise StoreError(
        f"cannot tell which store {text!r} is: give a postgresql+psycopg:// URL or a .gpkg path"
    )
