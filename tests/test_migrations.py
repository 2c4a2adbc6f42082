"""The Alembic migrations make exactly the schema the code declares, on PostGIS and SQLite."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from layers.schema import metadata, owned
from layers.store import MIGRATIONS
from layers.store_gpkg import GeoPackageStore
from layers.store_postgis import PostgisStore


def differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"include_name": owned},
        )
        return compare_metadata(context, metadata)


def head() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_an_empty_postgis_database_upgrades_to_head_and_matches_the_code(postgis_url):
    url = make_url(postgis_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE simtaru_migration_check")
    target = url.set(database="simtaru_migration_check").render_as_string(hide_password=False)
    try:
        store = PostgisStore(target)
        with store.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
            postgis = conn.exec_driver_sql(
                "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
            ).scalar_one()
        assert version == head()
        assert postgis.startswith("3.")
        assert differences(store.engine) == []
        store.close()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE simtaru_migration_check WITH (FORCE)")
        admin.dispose()


def test_a_new_geopackage_upgrades_to_head_and_matches_the_code(tmp_path):
    store = GeoPackageStore(tmp_path / "new.gpkg")
    assert differences(store.engine) == []
    tables = set(inspect(store.engine).get_table_names())
    assert {"alembic_version", "plan_version", "rule_cell", "gpkg_contents"} <= tables
    store.close()


def test_workers_opening_a_new_database_together_migrate_once(postgis_url):
    """Four server processes start at once on an empty database: each opens the plan store and
    the decision log, and none trips over another's migration."""
    url = make_url(postgis_url)
    name = f"{url.database}_race"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    target = url.set(database=name).render_as_string(hide_password=False)
    worker = (
        "import sys; from layers.stores import open_store; from permits.records import "
        "DecisionStore; s = open_store(sys.argv[1]); DecisionStore.of(s); print(s.plans())"
    )
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", worker, target],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        assert [(code, out.strip()) for code, out, _err in results] == [(0, "[]")] * 4, results
        probe = create_engine(target)
        with probe.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
        probe.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()
