"""Alembic environment of the API's own tables (API keys): its own version table, beside the
plan store's and the decision log's, so neither of them needs to know the API."""

from alembic import context

from api.keys import VERSION_TABLE, metadata

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
