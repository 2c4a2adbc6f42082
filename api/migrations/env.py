"""Alembic environment of the API's own tables (API keys): its own version table, beside the
plan store's and the decision log's, so neither of them needs to know the API."""

from api.keys import VERSION_TABLE, metadata
from layers.store import run_migrations

run_migrations(metadata, VERSION_TABLE)
