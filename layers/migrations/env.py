"""Alembic environment: migrations run on the connection the store hands over."""

from alembic import context

from layers.schema import metadata, owned

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=owned,
)
with context.begin_transaction():
    context.run_migrations()
