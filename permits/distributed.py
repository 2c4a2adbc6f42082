"""Checking a city's parcels on Dask: every partition of a dask-geopandas frame checked by
``permits.batch.check_many``, on a local cluster or on a cluster of many machines.

The engine travels to each worker, not with each task: ``check_many`` scatters it to every
worker (broadcast) and each partition's task names it by its key rather than carrying it (a
worker that joins later fetches it from a peer, as does one whose copy Dask's active memory
manager dropped before its first task came, which it may: seen in the tests). A worker checks
its partitions exactly as one process checks a whole frame, so outcomes, figures and decisions
are the same bits, and the rows come back in the frame's order with its index.

What crosses back from a worker: the outcome columns of ``permits.batch.check_many``
(``RESULT_COLUMNS``), the geometry, and each decision as its canonical JSON text in
``decision_json`` (``decisions=False`` leaves it behind). A ``Decision`` object pickles small
(about 1.3 KB) but slowly: about 70 us there and back, 40 of them in the client's one thread,
so a million would keep the client busy for most of a minute. Its JSON is larger (about 7 KB
for a lot across three zones) but made by the workers, side by side, and received in about
4 us; and it is what the decision log, the HTTP service and a GeoParquet file keep.
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import dask_geopandas
import distributed
import geopandas as gpd
import orjson
import pandas as pd

from permits.batch import CHUNK
from permits.batch import check_many as check_frame
from permits.engine import Engine
from permits.rows import RESULT_COLUMNS

#: Rows per partition: several of the batch's chunks, so a task's own overhead is small, and
#: few enough that a worker checks one partition in about 500 MB with the decisions' JSON (about
#: 30 KB a parcel while both are held), 150 MB without.
PARTITION_ROWS = 8 * CHUNK


def partitioned(
    parcels: gpd.GeoDataFrame,
    *,
    rows: int = PARTITION_ROWS,
    client: distributed.Client | None = None,
) -> dask_geopandas.GeoDataFrame:
    """``parcels`` as partitions of ``rows`` rows, in the frame's order (never sorted by index,
    so results come back as given). With a ``client`` the partitions are scattered to its
    workers first: a graph that held a city's parcels would pass through the scheduler. (Parcels
    in a file are better read by the workers: ``dask_geopandas.read_parquet``.)"""
    if client is None:
        return dask_geopandas.from_geopandas(parcels, chunksize=rows, sort=False)
    parts = [parcels.iloc[start : start + rows] for start in range(0, max(len(parcels), 1), rows)]
    futures = client.scatter(parts)
    return dd.from_delayed(futures, meta=parcels.iloc[:0], verify_meta=False)


def check_many(
    parcels: dask_geopandas.GeoDataFrame,
    engine: Engine,
    *,
    activity: str | None = None,
    decisions: bool = True,
    client: distributed.Client | None = None,
) -> dask_geopandas.GeoDataFrame:
    """One result row per parcel row, lazily: ``permits.check_many`` on every partition, on the
    workers of ``client`` (else the default client: ``distributed.Client(...)`` made last).

    The columns are ``RESULT_COLUMNS``, ``decision_json`` (each decision's canonical JSON,
    unless ``decisions=False``) and the geometry; ``.compute()`` gives a GeoDataFrame, and
    ``.to_parquet(folder)`` has the workers write it.
    """
    client = client or distributed.default_client()
    placed = client.scatter(engine, broadcast=True, hash=False)
    meta = _checked(parcels._meta, engine, activity, decisions)
    return parcels.map_partitions(_checked, placed, activity, decisions, meta=meta)


def findings_frame(results: pd.DataFrame) -> pd.DataFrame:
    """Every finding of computed Dask results, one row each, keyed by the parcel's index: the
    frame ``permits.findings_frame`` gives for one process's results, read from the JSON."""
    rows = [
        {"parcel": key, **finding}
        for key, text in results["decision_json"].items()
        for finding in orjson.loads(text)["findings"]
    ]
    return pd.DataFrame(rows)


def _checked(
    parcels: gpd.GeoDataFrame, engine: Engine, activity: str | None, decisions: bool
) -> gpd.GeoDataFrame:
    """One partition checked, in a worker: the batch's results with the decisions as JSON, or
    the rows alone (worked out by class, as ``permits.check_many`` does without decisions)."""
    results = check_frame(parcels, engine, activity=activity, decisions=decisions)
    found: dict[str, Any] = {
        name: results[name].astype(kind).array for name, kind in RESULT_COLUMNS.items()
    }
    if decisions:
        found["decision_json"] = pd.array([d.to_json() for d in results["decision"]], dtype="str")
    # The partition's own index, which keeps its dtype when the partition is empty (the meta).
    return gpd.GeoDataFrame(
        found, geometry=results.geometry.values, crs=results.crs, index=parcels.index
    )
