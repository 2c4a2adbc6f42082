"""The engine against its baselines, measured in one run.

    python -m bench.engine [--server postgresql+psycopg://user@host/postgres] [--parcels 20000]

For the Jagoi Babang plan (its 2,784 land parcels, when ../shared/data is there) and generated
plans of 10,000 and 100,000 zones (random lots of 200-2,000 m2):
- single: p50/p99 of a full decision in process (``Engine.check``, lon/lat input, so the
  reprojection is the engine's) beside the PostGIS location query alone (zones and intersection
  areas, a server-side prepared statement, over the Unix socket when the server is local, else
  TCP; the parcels already in the plan's CRS) for the same parcels;
- bulk: parcels per second of ``check_many`` (lon/lat in), for the result rows alone
  (``decisions=False``: outcome, figures and limits per parcel, the rules worked out per class
  of parcels) on every core (``workers``: this process and forked ones) and in one process
  (the area kernel on every core, the rest in one thread), and with every full decision in one
  process,
  beside geopandas ``overlay`` (+ area) and a PostGIS join with parallel workers (the plan says
  how many), and the GEOS floor: shapely ``intersection`` + ``area`` on exactly the (parcel,
  zone) pairs that intersect. The rows on every core and in one process, the floor and the
  overlay are each the best of three runs taken in turns (one of each, then again: the
  machine's speed swings, and so each ratio compares runs of the same minutes), the engine
  warm (what it keeps, kept from a first run; a process's later runs also find its memory
  allocated and mapped, and ran up to half as fast again as its second); on every core,
  after a first run that forks the children the engine keeps (its figure printed too); full
  decisions the best of two;
- the engine's build time and the memory it takes;
- where a single check's time goes: the mean of each of its steps alone (parcel read and
  reprojected, located, rules with the decision's objects, input hash) beside the whole check.
The machine's load average is printed first and last: other work on it slows every figure.
The last line: ``engine: single p50 Nx postgis, bulk Nx overlay, Nx floor`` (each N how many
times faster the engine is; for the generated 100,000-zone plan; bulk for the rows alone on
every core, as the baselines give no decision either).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import shapely
from sqlalchemy import URL

from bench.areas import random_lots
from bench.common import (
    add_server_option,
    best_of,
    best_of_turns,
    check_latency,
    percentiles,
    scratch_database,
)
from bench.synthetic import grid_plan
from gis.crs import transformer
from gis.parse import prepare_parcel, resolve_crs
from layers.model import PlanData, Region, RuleSet, empty_overlays
from layers.store_postgis import PostgisStore
from layers.zoning import read_zoning
from permits.application import Application
from permits.batch import check_many
from permits.engine import Engine, plan_ref
from permits.workers import stop_workers

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def rss_mb() -> float:
    with Path("/proc/self/statm").open() as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def single_engine(engine: Engine, lonlat: np.ndarray) -> tuple[float, float]:
    return check_latency(engine, [Application(g, "47111") for g in lonlat])


def stages(engine: Engine, lonlat: np.ndarray) -> dict[str, float]:
    """Where a single check's time goes, the mean (us) of each step on its own, and of the
    whole check: the parcel read, repaired and reprojected; located among the zones and
    overlays; the rules with the decision's objects; the input hash. Means, so that the steps
    add up (p50s do not); the whole check costs more than its steps run apart, which find
    their code and data in the caches the steps before them left."""
    plan = engine.plan
    apps = [Application(g, "47111") for g in lonlat]
    crs = resolve_crs(apps[0].crs)
    epsg = plan.ref.crs_epsg
    metric = [prepare_parcel(a.parcel, crs, epsg).geometry for a in apps]
    located = [plan.index.overlap(m) for m in metric]

    def prepare(i: int) -> object:
        return prepare_parcel(apps[i].parcel, crs, epsg)

    def locate(i: int) -> object:
        return plan.index.overlap(metric[i]), plan.overlays.overlap(metric[i])

    def rules(i: int) -> object:
        return engine.assess(apps[i], crs, metric[i], (), located[i], input_hash="")

    def digest(i: int) -> object:
        return apps[i].input_hash()

    def check(i: int) -> object:
        return engine.check(apps[i])

    def mean(step: Callable[[int], object]) -> float:
        started = time.perf_counter()
        for i in range(len(apps)):
            step(i)
        return (time.perf_counter() - started) / len(apps) * 1e6

    steps = {"prepare": prepare, "locate": locate, "rules": rules, "hash": digest, "check": check}
    return {name: mean(step) for name, step in steps.items()}


def single_postgis(dsn: str, table: str, srid: int, metric: np.ndarray) -> tuple[float, float]:
    """The location query alone: zones and intersection areas for one parcel, server-side
    prepared, over the socket, as a service that asked PostGIS would."""
    query = (
        f'SELECT zone_id, ST_Area(ST_Intersection(geom, p)) FROM "{table}", '
        f"(SELECT ST_GeomFromWKB(%s, {srid}) AS p) q WHERE ST_Intersects(geom, p)"
    )
    wkbs = shapely.to_wkb(metric)
    samples = []
    with psycopg.connect(dsn) as conn:
        for wkb in wkbs[:200]:
            conn.execute(query, (wkb,), prepare=True).fetchall()
        for wkb in wkbs:
            started = time.perf_counter()
            conn.execute(query, (wkb,), prepare=True).fetchall()
            samples.append(time.perf_counter() - started)
    return percentiles(samples)


def postgis_join(dsn: str, zones_table: str, srid: int, metric: np.ndarray) -> tuple[float, int]:
    """Seconds for the join of every lot with the zones it intersects, with the areas, and the
    parallel workers the plan uses. The lots go into an unlogged table, not a temporary one:
    parallel workers cannot read another session's temporary tables. Parallel plans are made
    as cheap to the planner as serial ones, so it takes the workers wherever they can help."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE bench_lots (id int, geom geometry(Geometry, {srid}))")
        ewkb = shapely.to_wkb(shapely.set_srid(metric, srid), hex=True, include_srid=True)
        with conn.cursor().copy("COPY bench_lots (id, geom) FROM STDIN") as copy:
            for i, hexwkb in enumerate(ewkb):
                copy.write_row((i, hexwkb))
        conn.execute("CREATE INDEX ON bench_lots USING gist (geom)")
        conn.execute("ANALYZE bench_lots")
        for setting in PARALLEL:
            conn.execute(f"SET {setting}")
        query = (
            f"SELECT l.id, z.zone_id, ST_Area(ST_Intersection(l.geom, z.geom)) FROM bench_lots l "
            f'JOIN "{zones_table}" z ON ST_Intersects(l.geom, z.geom)'
        )
        plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {query}").fetchall())
        workers = re.search(r"Workers Planned: (\d+)", plan)
        seconds = best_of(2, lambda: conn.execute(query).fetchall())
        conn.execute("DROP TABLE bench_lots")
    return seconds, int(workers.group(1)) if workers else 0


#: Parallel workers on: as many as the machine has cores (the leader works too), and no cost
#: penalty for starting them or passing rows, so a parallel plan is taken wherever it helps.
PARALLEL = (
    f"max_parallel_workers_per_gather = {os.cpu_count() or 2}",
    "parallel_setup_cost = 0",
    "parallel_tuple_cost = 0",
    "min_parallel_table_scan_size = 0",
)


def socket_dsn(url: URL) -> tuple[str, str]:
    """The libpq DSN for ``url``, over the local Unix socket when the server is on this machine
    and listens there (the fastest socket a local service could use), and which one it is."""
    dsn = url.set(drivername="postgresql")
    if url.host in (None, "localhost", "127.0.0.1") and Path(UNIX_SOCKET_DIR).is_dir():
        unix = dsn.set(host=None, port=None).update_query_dict({"host": UNIX_SOCKET_DIR})
        return unix.render_as_string(hide_password=False), "Unix socket"
    return dsn.render_as_string(hide_password=False), "TCP"


UNIX_SOCKET_DIR = "/var/run/postgresql"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def measure(label: str, data: PlanData, metric: np.ndarray, server: str) -> dict[str, float]:
    srid = data.crs_epsg
    to_lonlat = transformer(srid, 4326)
    lonlat = shapely.transform(metric, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
    with scratch_database(server) as db_url:
        store = PostgisStore(db_url.render_as_string(hide_password=False))
        store.ensure_region(Region("0000", "Benchmark"))
        plan = store.create_plan("0000", label, "benchmark")
        version = store.add_version(plan.id, data, "bench")
        before = rss_mb()
        started = time.perf_counter()
        engine = Engine.build(data, plan_ref(store, version))
        build_s, build_mb = time.perf_counter() - started, rss_mb() - before
        dsn, socket = socket_dsn(db_url)
        table = f"zones_v{version.id}"
        sample = lonlat[: min(len(lonlat), 5_000)]
        e50, e99 = single_engine(engine, sample)
        steps = stages(engine, sample)
        p50, p99 = single_postgis(dsn, table, srid, metric[: len(sample)])

        frame = gpd.GeoDataFrame({"activity": ["47111"] * len(lonlat)}, geometry=lonlat, crs=4326)
        one_s = best_of(1, lambda: check_many(frame, engine, decisions=False))
        cores = os.cpu_count() or 1
        forking_s = best_of(1, lambda: check_many(frame, engine, decisions=False, workers=cores))
        tree = shapely.STRtree(np.asarray(data.zones.geometry.array))
        parcel_idx, zone_idx = tree.query(metric, predicate="intersects")
        zones = np.asarray(data.zones.geometry.array)
        lots = gpd.GeoDataFrame({"lot": np.arange(len(metric))}, geometry=metric, crs=srid)
        taken = best_of_turns(
            3,
            {
                "one": lambda: check_many(frame, engine, decisions=False),
                "bulk": lambda: check_many(frame, engine, decisions=False, workers=cores),
                "floor": lambda: shapely.area(
                    shapely.intersection(metric[parcel_idx], zones[zone_idx])
                ),
                "overlay": lambda: gpd.overlay(lots, data.zones[["zone_id", "geometry"]]).area,
            },
        )
        one_s, bulk_s, floor_s, overlay_s = (
            taken[name] for name in ("one", "bulk", "floor", "overlay")
        )
        stop_workers(engine)
        decided_s = best_of(2, lambda: check_many(frame, engine))
        join_s, workers = postgis_join(dsn, table, srid, metric)
        store.close()
    n = len(metric)
    print(f"{label}: {len(data.zones):,} zones, {n:,} parcels, {len(parcel_idx):,} pairs")
    print(f"  build          {build_s:8.3f} s, {build_mb:,.0f} MB")
    print(f"  single engine  p50 {e50:8.1f} us  p99 {e99:8.1f} us  (full decision)")
    print(f"  single postgis p50 {p50:8.1f} us  p99 {p99:8.1f} us  (location query, {socket})")
    print(
        "  single steps   mean "
        + ", ".join(f"{name} {us:.0f}" for name, us in steps.items())
        + " us  (each alone, then the whole check)"
    )
    print(
        f"  bulk engine    {n / bulk_s:10,.0f} parcels/s  ({bulk_s:.2f} s, result rows, "
        f"{cores} workers; the first batch, forking them: {n / forking_s:,.0f})"
    )
    print(f"  bulk 1 process {n / one_s:10,.0f} parcels/s  ({one_s:.2f} s, result rows)")
    print(f"  bulk decisions {n / decided_s:10,.0f} parcels/s  ({decided_s:.2f} s, full decisions)")
    print(f"  geopandas      {n / overlay_s:10,.0f} parcels/s  (overlay + area)")
    print(f"  postgis join   {n / join_s:10,.0f} parcels/s  ({workers} parallel workers planned)")
    print(f"  GEOS floor     {n / floor_s:10,.0f} parcels/s  (intersection + area of the pairs)")
    return {
        "single": p50 / e50,
        "overlay": overlay_s / bulk_s,
        "floor": floor_s / bulk_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_server_option(parser)
    parser.add_argument("--parcels", type=int, default=20_000)
    args = parser.parse_args()
    print(load())
    if SHARED.is_dir():
        zoning = read_zoning(SHARED / "jagoibabang" / "KONSEPPOLARUANG_5.geojson")
        hat = gpd.read_file(SHARED / "jagoibabang" / "HAT_3.geojson").to_crs(zoning.crs_epsg)
        data = PlanData(zoning.zones, empty_overlays(zoning.crs_epsg), RuleSet(), zoning.crs_epsg)
        measure("Jagoi Babang", data, np.asarray(hat.geometry.array), args.server)
    ratios = {}
    for n_zones in (10_000, 100_000):
        data = grid_plan(n_zones)
        lots = random_lots(args.parcels, tuple(data.zones.total_bounds))
        ratios = measure(f"generated {n_zones:,} zones", data, lots, args.server)
    print(load())
    print(
        f"engine: single p50 {ratios['single']:.1f}x postgis, bulk {ratios['overlay']:.1f}x "
        f"overlay, {ratios['floor']:.1f}x floor"
    )


if __name__ == "__main__":
    main()
