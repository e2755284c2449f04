"""Alembic environment: always runs on a connection handed in by :mod:`bot.storage.migrate`.

Pulso never lets Alembic open its own engine: ``pulso db upgrade`` and
``pulso run`` pass the application's connection in ``config.attributes``, so
the same pragmas (SQLite) and search path (PostgreSQL tests) apply.
"""

from alembic import context

from bot.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `pulso db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
