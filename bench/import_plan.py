"""Import time of a plan into PostGIS, beside geopandas' ``to_postgis`` of the same zones.

    python -m bench.import_plan [--server postgresql+psycopg://user@host/postgres] [--zones 100000]

For the Jagoi Babang plan (when ../shared/data is there) and a generated plan, in one run:
- ``store write``: ``PostgisStore.add_version`` (COPY into a typed table, GiST index, ANALYZE, rule
  tables, catalogue row; one transaction);
- ``full import``: reading and checking the files as well (``read_plan``), then the store write;
- ``to_postgis``: ``GeoDataFrame.to_postgis`` of the same zones, and the same followed by the GiST
  index the store builds (to_postgis makes none).
Each figure is the best of ``--repeat`` runs, each into a fresh table.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path

import geopandas as gpd
import pyogrio
from sqlalchemy import create_engine

from bench.common import add_server_option, best_of, scratch_database
from bench.synthetic import grid_zones
from layers.importer import OverlaySource, PlanSources, read_plan
from layers.model import ZONE_COLUMNS, Region
from layers.store_postgis import PostgisStore, write_layer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def to_postgis(zones: gpd.GeoDataFrame, url: str, *, index: bool) -> None:
    engine = create_engine(url)
    name = f"gpd_{uuid.uuid4().hex[:8]}"
    zones.rename_geometry("geom").to_postgis(name, engine)
    if index:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE INDEX ON "{name}" USING gist (geom)')
            conn.exec_driver_sql(f'ANALYZE "{name}"')
    engine.dispose()


def zones_layer(zones: gpd.GeoDataFrame, url: str) -> None:
    """The store's own write of the zones layer alone, the same work as to_postgis + index."""
    engine = create_engine(url)
    with engine.begin() as conn:
        write_layer(conn, f"layer_{uuid.uuid4().hex[:8]}", zones, ZONE_COLUMNS)
    engine.dispose()


def measure(label: str, sources: PlanSources, store: PostgisStore, url: str, repeat: int) -> None:
    data = read_plan(sources)
    plan = store.create_plan("0000", f"bench {label}", "benchmark")
    full = best_of(repeat, lambda: store.add_version(plan.id, read_plan(sources), "full"))
    write = best_of(repeat, lambda: store.add_version(plan.id, data, "write"))
    layer = best_of(repeat, lambda: zones_layer(data.zones, url))
    baseline = best_of(repeat, lambda: to_postgis(data.zones, url, index=False))
    indexed = best_of(repeat, lambda: to_postgis(data.zones, url, index=True))
    n = len(data.zones)
    print(f"{label}: {n:,} zones, {len(data.rules.cells):,} ITBX cells")
    print(f"  zones layer   {layer:8.3f} s  ({n / layer:,.0f} zones/s; COPY, GiST index, ANALYZE)")
    print(f"  store write   {write:8.3f} s  (zones, overlays, rule tables, hashes, catalogue)")
    print(f"  full import   {full:8.3f} s  (read + repair + quality report + store write)")
    print(f"  to_postgis    {baseline:8.3f} s  ({n / baseline:,.0f} zones/s)")
    print(f"  to_postgis+ix {indexed:8.3f} s")
    print(f"  zones layer vs to_postgis + index: {indexed / layer:.2f}x faster")


def generated_sources(n_zones: int, folder: Path) -> PlanSources:
    """The generated plan written as a planner would receive it: a GeoPackage in lon/lat."""
    zones = grid_zones(n_zones)
    path = folder / "generated.gpkg"
    out = zones.rename(columns={"subzone_code": "KODSBL", "subzone_name": "NAMOBJ"})
    out["OBJECTID"] = out["zone_id"].astype(int)
    pyogrio.write_dataframe(out[["OBJECTID", "KODSBL", "NAMOBJ", "geometry"]].to_crs(4326), path)
    return PlanSources(zoning=path, crs_epsg=32650)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_option(parser)
    parser.add_argument("--zones", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with scratch_database(args.server) as database:
        url = database.render_as_string(hide_password=False)
        store = PostgisStore(url)
        store.ensure_region(Region("0000", "Benchmark"))
        if SHARED.is_dir():
            jagoi = SHARED / "jagoibabang"
            bintan = SHARED / "rules" / "bintan"
            measure(
                "Jagoi Babang (Bintan BSB rules)",
                PlanSources(
                    zoning=jagoi / "KONSEPPOLARUANG_5.geojson",
                    itbx=bintan / "itbx_lampiran_xv_bsb.xlsx",
                    intensity=bintan / "intensitas_bsb.csv",
                    overlays=(OverlaySource("LP2B", jagoi / "LP2B_4.geojson"),),
                ),
                store,
                url,
                args.repeat,
            )
        else:
            print("../shared/data is not beside the project: Jagoi Babang skipped")
        with tempfile.TemporaryDirectory() as folder:
            measure(
                f"generated {args.zones:,}-zone plan",
                generated_sources(args.zones, Path(folder)),
                store,
                url,
                args.repeat,
            )
        store.close()


if __name__ == "__main__":
    main()
