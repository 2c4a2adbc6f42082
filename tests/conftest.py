"""Fixtures shared by the whole suite: the real-data folder, a real PostGIS, and both stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url

from layers.store import PlanStore
from layers.store_gpkg import GeoPackageStore
from layers.store_postgis import PostgisStore
from tests.service import Service, fresh_database, running

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

#: A PostgreSQL server the suite may create databases on. `.ci/dev test` sets it after making sure
#: PostgreSQL with PostGIS is installed and running.
SERVER_URL = os.environ.get(
    "SIMTARU_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
        if {"postgis_url", "store", "service"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgis)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real plans and rule tables of ../shared/data (present in CI, optional elsewhere)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    """A fresh database with PostGIS for this test session, dropped at its end."""
    server = make_url(SERVER_URL).set(drivername="postgresql+psycopg")
    name = f"simtaru_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        admin.dispose()
        pytest.fail(
            f"no PostgreSQL server at {server.render_as_string(hide_password=True)} "
            f"({exc.__class__.__name__}): run the suite with `bash .ci/dev test`, which installs "
            "and starts PostgreSQL with PostGIS, or set SIMTARU_TEST_DATABASE_URL",
            pytrace=False,
        )
    url = server.set(database=name).render_as_string(hide_password=False)
    PostgisStore(url).close()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["postgis", "gpkg"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PlanStore]:
    """Each store contract test runs against PostGIS and against the embedded GeoPackage."""
    opened: PlanStore
    if request.param == "postgis":
        opened = PostgisStore(request.getfixturevalue("postgis_url"), migrate=False)
    else:
        opened = GeoPackageStore(tmp_path / "store.gpkg")
    yield opened
    opened.close()


@pytest.fixture(scope="module", params=["postgis", "gpkg"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The HTTP service on a real socket with the demo city, on PostGIS and on the embedded
    store (a fresh database or file per test module)."""
    if request.param == "postgis":
        with fresh_database(request.getfixturevalue("postgis_url")) as url, running(url) as svc:
            yield svc
    else:
        with running(str(tmp_path_factory.mktemp("service") / "city.gpkg")) as svc:
            yield svc
