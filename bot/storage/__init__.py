"""Storage: the engine, the schema, its Alembic migrations and the repositories.

Repositories take an open connection and return plain values (dataclasses),
never rows; the services in :mod:`bot` decide where transactions begin and end.
"""
