"""Dry-run checks over HTTP against the engine in process, measured in one run.

    python -m bench.http [--workers 2] [--seconds 5] [--rates 250,500,1000,2000]

Starts the server as the README does (``simtaru serve``, here on a scratch GeoPackage store with
the demo city) and drives it from this process over loopback with the same lon/lat parcels of
the demo city (random lots of 200-2,000 m2, some straddling zones, a mix of activities):
- in process: p50/p99 of ``Engine.check`` on the same applications (the floor HTTP adds to);
- fixed rates: an open-loop client sends at each rate for ``--seconds``; latency is measured from
  when each request was due, so a server falling behind shows in the figures;
- saturation: wrk (Debian's package) with many connections when it is installed, else this
  process's own client as fast as it goes.
The last line: ``http: N checks/s, p99 N ms at 1000/s``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import shapely
from shapely.geometry import mapping

from bench.common import check_latency
from layers.demo_loader import load_demo
from layers.stores import open_store
from permits import Application, Engine

ACTIVITIES = ("47112", "47111", "68111", "56101", "10710", "99999")


def parcels(store_url: str, count: int, seed: int = 7) -> tuple[Engine, list[dict]]:
    """Request bodies for ``count`` random lots over the demo city, and its engine."""
    store = open_store(store_url)
    version = load_demo(store)
    engine = Engine.from_store(store, version.id)
    zones = store.zones(version.id)
    store.close()
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = zones.total_bounds
    sides = np.sqrt(rng.uniform(200, 2000, count))
    xs, ys = rng.uniform(minx, maxx, count), rng.uniform(miny, maxy, count)
    lots = shapely.box(xs, ys, xs + sides, ys + sides)
    lonlat = gpd.GeoSeries(lots, crs=zones.crs).to_crs(4326)
    bodies = []
    for geom, side in zip(lonlat, sides, strict=True):
        bodies.append(
            {
                "parcel": mapping(geom),
                "activity": str(rng.choice(ACTIVITIES)),
                "building": {
                    "footprint_m2": round(float(side * side * 0.5), 1),
                    "floor_area_m2": round(float(side * side), 1),
                    "floors": 2,
                    "height_m": 8.0,
                },
            }
        )
    return engine, bodies


class Server:
    """``simtaru serve`` (as ``python -m api.cli``, the same command) in a subprocess on a free
    port, with the admin key it prints."""

    def __init__(self, store_url: str, workers: int) -> None:
        self.port = _free_port()
        env = {**os.environ, "SIMTARU_API_REFRESH_SECONDS": "30"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                "--store",
                store_url,
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.key = ""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 120
        for line in self.proc.stdout:
            found = re.search(r"(stk_[0-9a-f]{12}_[A-Za-z0-9_-]{32})", line)
            if found:
                self.key = found.group(1)
            if "Application startup complete" in line:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        for _ in range(200):
            try:
                if httpx.get(self.url + "/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server never became ready")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(body: bytes, key: str, port: int) -> bytes:
    head = (
        f"POST /v1/checks HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)
    return status


async def fixed_rate(
    port: int, requests: list[bytes], rate: float, seconds: float, connections: int = 64
) -> tuple[float, float, float, int]:
    """Open loop: request i is due at i / rate. Returns (achieved/s, p50 ms, p99 ms, errors)."""
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            i, due = await queue.get()
            if i < 0:
                break
            writer.write(requests[i % len(requests)])
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - due)
            errors += status != 200
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, due))
    for _ in workers:
        queue.put_nowait((-1, 0.0))
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    p50, p99 = np.percentile(np.array(latencies) * 1e3, [50, 99])
    return total / elapsed, float(p50), float(p99), errors


async def closed_loop(
    port: int, requests: list[bytes], seconds: float, connections: int = 32
) -> tuple[float, float, float, int]:
    """As fast as the server answers, ``connections`` at a time."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            writer.write(requests[i % len(requests)])
            errors += await _read_response(reader) != 200
            latencies.append(time.perf_counter() - sent)
            i += connections
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed = time.perf_counter() - start
    p50, p99 = np.percentile(np.array(latencies) * 1e3, [50, 99])
    return len(latencies) / elapsed, float(p50), float(p99), errors


def wrk(url: str, key: str, bodies: list[bytes], seconds: float) -> tuple[float, float, float]:
    """wrk at saturation (2 threads, 64 connections), cycling through the bodies."""
    folder = Path(tempfile.mkdtemp(prefix="simtaru-wrk-"))
    for i, body in enumerate(bodies[:500]):
        (folder / f"{i}.json").write_bytes(body)
    env = {
        **os.environ,
        "SIMTARU_BODIES": str(folder),
        "SIMTARU_BODY_COUNT": str(min(len(bodies), 500)),
        "SIMTARU_KEY": key,
    }
    script = Path(__file__).with_name("wrk_checks.lua")
    command = ["wrk", "-t2", "-c64", f"-d{int(seconds)}s", "-s", str(script), url + "/v1/checks"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    shutil.rmtree(folder, ignore_errors=True)
    found = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", out)
    assert found, out
    count, duration, p50, p99, errors = found.groups()
    if int(errors):
        print(f"  wrk reported {errors} errors")
    return int(count) / float(duration), float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="250,500,1000,2000")
    parser.add_argument("--parcels", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="simtaru-bench-http-"))
    store_url = str(folder / "city.gpkg")
    engine, bodies = parcels(store_url, args.parcels)
    p50, p99 = check_latency(
        engine, [Application(shapely.geometry.shape(b["parcel"]), b["activity"]) for b in bodies]
    )
    zones, workers = engine.plan.index.size, args.workers
    print(f"demo city: {zones} zones, {len(bodies):,} parcels, {workers} workers")
    print(f"  in process       p50 {p50:7.1f} us  p99 {p99:7.1f} us  (Engine.check)")
    server = Server(store_url, args.workers)
    try:
        raw = [json.dumps(b).encode() for b in bodies]
        requests = [_request(b, server.key, server.port) for b in raw]
        asyncio.run(fixed_rate(server.port, requests, 200, 2))  # warm every worker
        at_1000 = None
        for rate in (float(r) for r in args.rates.split(",")):
            got, p50_ms, p99_ms, errors = asyncio.run(
                fixed_rate(server.port, requests, rate, args.seconds)
            )
            print(
                f"  at {rate:6,.0f}/s      p50 {p50_ms:6.2f} ms  p99 {p99_ms:6.2f} ms  "
                f"({got:,.0f}/s sent, {errors} errors)"
            )
            if rate == 1000:
                at_1000 = p99_ms
        if shutil.which("wrk"):
            rps, p50_ms, p99_ms = wrk(server.url, server.key, raw, args.seconds)
            how = "wrk, 64 connections"
        else:
            rps, p50_ms, p99_ms, _ = asyncio.run(closed_loop(server.port, requests, args.seconds))
            how = "this process's client, 32 connections (install wrk for a lighter load)"
        print(f"  saturation  {rps:8,.0f}/s  p50 {p50_ms:6.2f} ms  p99 {p99_ms:6.2f} ms  ({how})")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    p99_text = f"{at_1000:.1f}" if at_1000 is not None else "n/a"
    print(f"http: {rps:,.0f} checks/s, p99 {p99_text} ms at 1000/s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
