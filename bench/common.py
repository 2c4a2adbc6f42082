"""What every benchmark needs: a scratch PostGIS database, timing, the server option."""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from sqlalchemy import URL, create_engine, make_url

from permits.application import Application
from permits.engine import Engine

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def add_server_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        default=os.environ.get("SIMTARU_TEST_DATABASE_URL", DEFAULT_SERVER),
        help="a PostgreSQL server with PostGIS where a scratch database may be made",
    )


@contextmanager
def scratch_database(server: str) -> Iterator[URL]:
    """A fresh database on ``server`` for one benchmark run, dropped afterwards."""
    url = make_url(server)
    name = f"simtaru_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The shortest of ``repeat`` runs (s): the figure least disturbed by the machine."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def best_of_turns(repeat: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The shortest of ``repeat`` runs (s) of each of ``runs``, taken in turns (one of each,
    then again), so that the machine's speed, which swings by a third within minutes here,
    weighs on each the same: ratios between them are then fair."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: min(taken) for name, taken in times.items()}


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 of durations (s), in microseconds."""
    values = np.array(samples) * 1e6
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def check_latency(engine: Engine, apps: list[Application]) -> tuple[float, float]:
    """p50/p99 (us) of ``Engine.check`` on each application, after 200 to warm up."""
    for app in apps[:200]:
        engine.check(app)
    samples = []
    for app in apps:
        started = time.perf_counter()
        engine.check(app)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)
