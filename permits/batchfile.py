"""A file of parcels checked into a results GeoPackage, a chunk at a time, resumable.

Every chunk of results is appended in one GDAL transaction with the input's row numbers, so a
run that is interrupted (a closed laptop, a killed job) leaves whole chunks behind and the next
run carries on after the last row written. The output remembers what made it (input file, layer,
activity, plan version), and a run over another input or plan is refused rather than mixed in.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio

from gis.errors import SimtaruError
from permits.batch import CHUNK, FORKED_CHUNKS, check_many, start_workers
from permits.engine import Engine
from permits.fork_gate import inside
from permits.rows import RESULT_COLUMNS

#: The results layer and the table that says what made it.
RESULTS = "results"
_MADE_BY = "simtaru_batch"
#: Where a parcel's row was in the input (0-based): the key a resumed run continues from.
ROW = "source_row"
#: Rows written at a time by default (eight of ``check_many``'s chunks): a transaction small
#: enough that an interrupted run loses little, large enough that a chunk's fixed costs do not
#: tell (200,000 lots ran at 22,000-25,000 parcels/s in chunks of 5,000, 31,000-33,000 in these).
CHUNK_ROWS = 16_384


class BatchFileError(SimtaruError):
    """An input that cannot be read, or an output made by another run."""

    code = "invalid-batch-file"
    title = "Invalid batch file"


@dataclass(frozen=True)
class BatchRun:
    """What a run did: rows in the input, rows it found written already, rows it checked."""

    total: int
    skipped: int
    checked: int
    outcomes: dict[str, int]


def check_file(
    source: str | Path,
    target: str | Path,
    engine: Engine,
    *,
    activity: str | None = None,
    layer: str | None = None,
    chunk: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> BatchRun:
    """Check every parcel of ``source`` (GeoPackage, Shapefile, GeoJSON, GeoParquet, ...) with
    ``engine`` into the GeoPackage ``target`` (layer ``results``: the input's columns, the
    outcome columns of ``check_many``, ``source_row``), ``chunk`` rows at a time.
    ``progress(done, total)`` hears of each chunk written (rows done, those of earlier runs
    included). An existing ``target`` from the same input and plan version is resumed.

    ``workers`` > 1 shares each chunk with processes forked from this one (``check_many``'s
    ``workers``), forked once for the run where the rows left pay for them; chunks are then
    at least ``FORKED_CHUNKS`` batch chunks a process by default, so that each process gets
    its share of every chunk."""
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, not {workers}")
    if chunk is None:
        chunk = max(CHUNK_ROWS, FORKED_CHUNKS * CHUNK * workers)
    source, target = Path(source), Path(target)
    reader = _reader(source, layer)
    made_by = {
        "source": str(source.resolve()),
        "layer": layer,
        "activity": activity,
        "plan_version_id": engine.ref.version_id,
        "columns": list(RESULT_COLUMNS),
    }
    done = _resume(target, made_by)
    outcomes: dict[str, int] = {}
    checked = 0
    if progress is not None:
        progress(done, reader.total)
    if workers > 1:
        start_workers(engine, workers, reader.total - done)

    def write(frame: gpd.GeoDataFrame, first: bool, written: int) -> None:
        """A chunk's rows appended in one GDAL transaction (through Arrow, which lets go of
        the GIL for most of it), then heard of. No fork starts meanwhile: a process forked
        while GDAL or PROJ holds a lock in this thread would inherit it held."""
        with inside():
            pyogrio.write_dataframe(
                frame, target, layer=RESULTS, driver="GPKG", append=not first, use_arrow=True
            )
            if first:
                _remember(target, made_by)
        if progress is not None:
            progress(written, reader.total)

    # Each chunk is written while the next is checked; a chunk is checked only once the one
    # before it is written, so a run stopped (by ``progress``, say) leaves whole chunks.
    with ThreadPoolExecutor(1) as writer:
        writing: Future[None] | None = None
        for start, parcels in reader.chunks(done, chunk):
            results = check_many(
                parcels, engine, activity=activity, decisions=False, workers=workers
            )
            frame = _flat(parcels, results, start, engine.ref.version_id)
            for outcome, count in results["outcome"].value_counts().items():
                outcomes[str(outcome)] = outcomes.get(str(outcome), 0) + int(count)
            if writing is not None:
                writing.result()
            first = checked == 0 and not target.exists()
            checked += len(frame)
            writing = writer.submit(write, frame, first, done + checked)
        if writing is not None:
            writing.result()
    return BatchRun(reader.total, done, checked, outcomes)


@dataclass(frozen=True)
class _Reader:
    """Reads the input a chunk of rows at a time (GDAL formats by feature, GeoParquet by row)."""

    path: Path
    layer: str | None
    total: int

    def chunks(self, start: int, size: int) -> Iterator[tuple[int, gpd.GeoDataFrame]]:
        parquet = self.path.suffix.lower() in (".parquet", ".geoparquet")
        whole = gpd.read_parquet(self.path) if parquet else None
        for first in range(start, self.total, size):
            if whole is not None:
                part = whole.iloc[first : first + size]
            else:
                part = pyogrio.read_dataframe(
                    self.path, layer=self.layer, skip_features=first, max_features=size
                )
            if part.crs is None:
                raise BatchFileError(f"{self.path.name}: the parcels have no CRS")
            yield first, part.reset_index(drop=True)


def _reader(path: Path, layer: str | None) -> _Reader:
    if not path.exists():
        raise BatchFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            total = pq.ParquetFile(path).metadata.num_rows
        else:
            total = int(pyogrio.read_info(path, layer=layer)["features"])
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise BatchFileError(f"{path.name}: not a file of parcels GDAL can read ({exc})") from None
    return _Reader(path, layer, total)


def _flat(
    parcels: gpd.GeoDataFrame, results: gpd.GeoDataFrame, start: int, version_id: int
) -> gpd.GeoDataFrame:
    """The input's columns with the outcome columns, the plan version and the row numbers,
    ready for a file."""
    columns = [c for c in results.columns if c != "geometry"]
    frame = parcels.drop(columns=[c for c in columns if c in parcels], errors="ignore").copy()
    for name in columns:
        frame[name] = results[name].to_numpy()
    frame["plan_version_id"] = version_id
    frame[ROW] = range(start, start + len(frame))
    return gpd.GeoDataFrame(frame, geometry=parcels.geometry.name, crs=parcels.crs)


def _resume(target: Path, made_by: Mapping[str, object]) -> int:
    """How many rows the target holds already (0 for a new one); refuses a foreign target."""
    if not target.exists():
        return 0
    found = _made_by(target)
    if found is not None and found.get("columns") != made_by["columns"]:
        raise BatchFileError(
            f"{target.name} holds results with other columns, written by another version of "
            "Simtaru; remove it or name another output"
        )
    if found != made_by:  # another input or plan, or a run cut before it could say what it was
        raise BatchFileError(
            f"{target.name} holds the results of another run ({json.dumps(found)}); "
            "remove it or name another output"
        )
    with sqlite3.connect(target) as conn:
        last = conn.execute(f'SELECT MAX("{ROW}") FROM "{RESULTS}"').fetchone()[0]
    return 0 if last is None else int(last) + 1


def _remember(target: Path, made_by: Mapping[str, object]) -> None:
    with sqlite3.connect(target) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {_MADE_BY} (made_by TEXT NOT NULL)")
        conn.execute(f"DELETE FROM {_MADE_BY}")
        conn.execute(f"INSERT INTO {_MADE_BY} VALUES (?)", (json.dumps(made_by, sort_keys=True),))


def _made_by(target: Path) -> dict[str, object] | None:
    try:
        with sqlite3.connect(target) as conn:
            row = conn.execute(f"SELECT made_by FROM {_MADE_BY}").fetchone()
    except sqlite3.DatabaseError:
        return None
    return json.loads(row[0]) if row else None


def results_frame(target: str | Path) -> pd.DataFrame:
    """A results file as a frame (for a notebook or a test), in input order."""
    frame = pyogrio.read_dataframe(target, layer=RESULTS)
    return frame.sort_values(ROW).reset_index(drop=True)
