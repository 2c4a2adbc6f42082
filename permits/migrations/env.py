"""Alembic environment of the decision log: its own version table beside the plan store's.

Only the log's tables are compared and migrated here; the plan store's tables belong to
``layers/migrations``.
"""

from alembic import context

from permits.records import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=lambda name, type_, _parent: type_ != "table" or name in metadata.tables,
)
with context.begin_transaction():
    context.run_migrations()
