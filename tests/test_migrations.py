"""The Alembic migrations make exactly the schema the code declares, on PostGIS and SQLite."""

from __future__ import annotations

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
