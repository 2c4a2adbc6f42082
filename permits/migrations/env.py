"""Alembic environment of the decision log: its own version table beside the plan store's.

Only the log's tables are compared and migrated here; the plan store's tables belong to
``layers/migrations``.
"""

from layers.store import run_migrations
from permits.records import VERSION_TABLE, metadata

run_migrations(metadata, VERSION_TABLE)
