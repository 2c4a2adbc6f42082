"""Alembic environment: migrations run on the connection the store hands over."""

from layers.schema import metadata
from layers.store import run_migrations

run_migrations(metadata)
