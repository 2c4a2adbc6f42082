"""The HTTP service as tests meet it: a real uvicorn server on a loopback socket, on a store of
its own (a fresh PostGIS database or a GeoPackage) with the demo city in force and one API key
per role. Clients talk to it over real HTTP (httpx, GDAL), never through an in-process shortcut.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import create_engine, make_url

from api.app import create_app
from api.keys import KeyStore, Role
from api.settings import ApiSettings, LimitSettings, Settings
from layers.demo_loader import load_demo
from layers.model import PlanVersion
from layers.settings import StoreSettings
from layers.store import PlanStore
from layers.stores import open_store


@dataclass
class Service:
    """A running server: its base URL, the store it serves, the demo version, a key per role."""

    url: str
    store_url: str
    store: PlanStore
    demo: PlanVersion
    keys: dict[Role, str]
    server: uvicorn.Server
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, role: Role | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client, with the key of ``role`` when given."""
        headers = {"X-API-Key": self.keys[role]} if role is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside the test session's, dropped afterwards."""
    url = make_url(server_url)
    name = f"{url.database}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def running(
    store_url: str,
    *,
    api: ApiSettings | None = None,
    limits: LimitSettings | None = None,
) -> Iterator[Service]:
    """The demo city in force in the store at ``store_url``, a key per role, and a server."""
    store = open_store(store_url)
    demo = load_demo(store)
    keystore = KeyStore(store.engine)
    keys = {role: keystore.create(f"test {role.value}", role)[1] for role in Role}
    settings = Settings(
        store=StoreSettings(database_url=store_url),
        api=api or ApiSettings(refresh_seconds=0.5),
        limits=limits or LimitSettings(),
    )
    with serve(settings) as (url, server, thread):
        try:
            yield Service(url, store_url, store, demo, keys, server, thread)
        finally:
            store.close()


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[str, uvicorn.Server, threading.Thread]]:
    """``create_app(settings)`` served by uvicorn on a free loopback port until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start (see the log above)")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server, thread
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def gpkg_url(folder: Path) -> str:
    return str(folder / "city.gpkg")
