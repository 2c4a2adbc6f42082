"""Alembic environment: migrations run on the connection the store hands over."""

from alembic import context

from layers.schema import is_layer_table, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=lambda name, _type, _parent: (
        not is_layer_table(name)
        and not str(name).startswith(("gpkg_", "rtree_", "spatial_ref_sys"))
    ),
)
with context.begin_transaction():
    context.run_migrations()
