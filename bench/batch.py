"""A city's parcels re-checked in bulk: one process beside a local Dask cluster, in one run.

    python -m bench.batch [--parcels 1000000] [--zones 10000] [--rows 32768]

One million generated lots (200-2,000 m2, lon/lat, each with an activity and its building's
footprint and floors) against a generated plan of 10,000 zones, checked by
- one process: ``permits.check_many`` (full decisions in memory; the area kernel on every core,
  the rules in one thread), and its result rows alone (``decisions=False``: the rules worked
  out per class of parcels), in one process and shared with a process forked from it
  (``workers=2``: the engine's first such batch, so its child starts cold; it is stopped
  afterwards);
- a local Dask cluster of two worker processes, one thread each: ``permits.distributed``'s
  ``check_many`` over the lots scattered as partitions of ``--rows``, the outcome columns back
  to this process (``decisions=False``: the workers make the decisions and send none back);
- the same cluster writing every result with its decision as JSON to GeoParquet files in a
  temporary folder (what a city-scale re-check keeps);
- ``check_file`` (``simtaru batch``) from a GeoParquet file of the lots into a results
  GeoPackage, in one process and with ``workers=2``, beside its floor: the same file read
  and the same rows written, no checking.
Each is warmed first on a sample (numba's kernel loaded, the plan's kept answers worked out);
the rows alone are the better of two runs over all the lots, since the first works out the
classes of parcels the sample did not meet, which the forked run would otherwise inherit.
The setup (lots generated, plan built, cluster started, lots partitioned) is timed apart; the
machine's load average is printed first and last, since other work on it slows every figure.
The last line: ``batch: decisions N parcels/s; rows N (one process), N (this and 1 forked),
N (Dask, 2 workers)``.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from distributed import Client, LocalCluster

import permits
from bench.areas import random_lots
from bench.common import best_of
from bench.engine import load
from bench.synthetic import grid_plan
from gis.crs import transformer
from permits import distributed as dask_checks
from permits.batchfile import check_file, results_frame
from permits.decision import PlanRef
from permits.engine import Engine
from permits.workers import stop_workers

REF = PlanRef(1, "RDTR generated", "benchmark", 1, "bench", "c" * 64, "r" * 64, 32650)
#: Activities the generated plan's rules know (housing, a minimarket, a warehouse, a hotel).
ACTIVITIES = np.array(["68111", "47111", "52101", "55110"])
#: Lots each run is warmed on first.
WARM = 20_000
T = TypeVar("T")


def lots(n: int, bounds: tuple[float, float, float, float], epsg: int) -> gpd.GeoDataFrame:
    """``n`` lots in lon/lat with an activity, a footprint of 30-60 % and 1-4 floors."""
    rng = np.random.default_rng(3)
    metric = random_lots(n, bounds)
    to_lonlat = transformer(epsg, 4326)
    lonlat = shapely.transform(metric, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
    area = shapely.area(metric)
    return gpd.GeoDataFrame(
        {
            "activity": rng.choice(ACTIVITIES, n),
            "footprint_m2": area * rng.uniform(0.3, 0.6, n),
            "floors": rng.integers(1, 5, n),
        },
        geometry=lonlat,
        crs=4326,
    )


def timed(run: Callable[[], T]) -> tuple[float, T]:
    """Seconds ``run`` took, and what it gave."""
    started = time.perf_counter()
    out = run()
    return time.perf_counter() - started, out


@dataclass(frozen=True)
class OnCluster:
    """What the cluster's runs took (s), and what they found."""

    partition_s: float
    partitions: int
    outcomes_s: float
    outcomes: dict[str, int]
    files_s: float
    worker_mb: list[float]


def on_cluster(client: Client, parcels: gpd.GeoDataFrame, engine: Engine, rows: int) -> OnCluster:
    """The lots partitioned and checked on ``client``'s workers, warmed first; the partitions
    are released on return, before the workers stop."""
    warm = dask_checks.partitioned(parcels.iloc[:WARM], rows=WARM // 4, client=client)
    dask_checks.check_many(warm, engine, decisions=False).compute()
    partition_s, frame = timed(lambda: dask_checks.partitioned(parcels, rows=rows, client=client))
    outcomes_s, out = timed(
        lambda: dask_checks.check_many(frame, engine, decisions=False).compute()
    )
    with tempfile.TemporaryDirectory() as folder:
        files_s, _ = timed(lambda: dask_checks.check_many(frame, engine).to_parquet(folder))
    workers = client.scheduler_info()["workers"].values()
    return OnCluster(
        partition_s=partition_s,
        partitions=frame.npartitions,
        outcomes_s=outcomes_s,
        outcomes=out["outcome"].value_counts().to_dict(),
        files_s=files_s,
        worker_mb=[w["metrics"]["memory"] / 2**20 for w in workers],
    )


@dataclass(frozen=True)
class OnFiles:
    """What ``check_file`` took (s) from a GeoParquet file to a results GeoPackage, in one
    process and with 2 workers, and the same file read and its rows written alone."""

    one_s: float
    two_s: float
    io_s: float
    what: str = "GeoParquet in, GeoPackage out"


def on_files(parcels: gpd.GeoDataFrame, engine: Engine) -> OnFiles:
    """The lots through ``check_file`` into new GeoPackages, and the I/O floor: the file read
    and the results (the rows' columns from a run) written in one go, as ``check_file``
    writes them (pyogrio through Arrow)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "lots.parquet"
        parcels.to_parquet(source)
        one_s, _ = timed(lambda: check_file(source, Path(folder) / "one.gpkg", engine))
        two_s, _ = timed(lambda: check_file(source, Path(folder) / "two.gpkg", engine, workers=2))
        stop_workers(engine)
        written = results_frame(Path(folder) / "one.gpkg")

        def io() -> None:
            gpd.read_parquet(source)
            pyogrio.write_dataframe(
                written, Path(folder) / "io.gpkg", layer="results", driver="GPKG", use_arrow=True
            )

        io_s, _ = timed(io)
    return OnFiles(one_s, two_s, io_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=dask_checks.PARTITION_ROWS)
    args = parser.parse_args()
    print(load())

    plan_s, data = timed(lambda: grid_plan(args.zones))
    build_s, engine = timed(lambda: Engine.build(data, REF))
    pickled_mb = len(pickle.dumps(engine, protocol=5)) / 2**20
    bounds = tuple(data.zones.total_bounds)
    lots_s, parcels = timed(lambda: lots(args.parcels, bounds, data.crs_epsg))
    n = len(parcels)
    print(f"setup: {len(data.zones):,} zones, {n:,} parcels")
    print(f"  plan generated {plan_s:8.2f} s")
    print(f"  engine built   {build_s:8.2f} s  ({pickled_mb:.1f} MB pickled, as sent to a worker)")
    print(f"  lots generated {lots_s:8.2f} s")

    permits.check_many(parcels.iloc[:WARM], engine)
    single_s, single = timed(lambda: permits.check_many(parcels, engine))
    outcomes = single["outcome"].value_counts().to_dict()
    del single
    rows_s = best_of(2, lambda: permits.check_many(parcels, engine, decisions=False))
    forked_s, _ = timed(lambda: permits.check_many(parcels, engine, decisions=False, workers=2))
    stop_workers(engine)
    files = on_files(parcels, engine)

    cluster_s, cluster = timed(
        lambda: LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        )
    )
    with cluster, Client(cluster) as client:
        dask = on_cluster(client, parcels, engine, args.rows)
    print(f"  cluster        {cluster_s:8.2f} s  (2 worker processes, one thread each)")
    print(
        f"  partitioned    {dask.partition_s:8.2f} s  ({dask.partitions} partitions of "
        f"{args.rows:,} rows, scattered to the workers)"
    )
    print(f"  worker memory  {', '.join(f'{m:,.0f}' for m in dask.worker_mb)} MB after the checks")
    same = "the same outcomes" if dask.outcomes == outcomes else "OUTCOMES DIFFER"
    print(f"checks ({same} in one process and on Dask):")
    print(
        f"  one process    {n / single_s:10,.0f} parcels/s  ({single_s:.1f} s, decisions in memory)"
    )
    print(f"  rows alone     {n / rows_s:10,.0f} parcels/s  ({rows_s:.1f} s, one process)")
    print(
        f"  rows, forked   {n / forked_s:10,.0f} parcels/s  ({forked_s:.1f} s, this and 1 forked)"
    )
    print(
        f"  Dask, 2 workers{n / dask.outcomes_s:10,.0f} parcels/s  ({dask.outcomes_s:.1f} s, "
        "outcome columns back)"
    )
    print(
        f"  Dask to files  {n / dask.files_s:10,.0f} parcels/s  ({dask.files_s:.1f} s, every "
        "decision as JSON in GeoParquet)"
    )
    for label, seconds in (
        ("file, 1 process", files.one_s),
        ("file, 2 workers", files.two_s),
        ("file I/O alone", files.io_s),
    ):
        print(f"  {label:15}{n / seconds:10,.0f} parcels/s  ({seconds:.1f} s, {files.what})")
    print(load())
    print(
        f"batch: decisions {n / single_s:,.0f} parcels/s; rows {n / rows_s:,.0f} (one process), "
        f"{n / forked_s:,.0f} (this and 1 forked), {n / dask.outcomes_s:,.0f} (Dask, 2 workers)"
    )


if __name__ == "__main__":
    main()
