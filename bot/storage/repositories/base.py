"""What every repository shares: the connection it works on and dialect-aware upserts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

#: Statements built once per dialect (:meth:`Repository.prebuilt`).
_PREBUILT: dict[tuple[str, str], Any] = {}


class Repository:
    """A view of some tables through one open connection (and so one transaction)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def prebuilt(self, name: str, build: Callable[[], Any]) -> Any:
        """The statement ``name`` for this connection's dialect, built once by ``build``
        and then run with parameters. On the answer path, building a statement and its
        cache key cost about as much CPU as running it (docs/benchmarks.md)."""
        key = (self.dialect, name)
        statement = _PREBUILT.get(key)
        if statement is None:
            statement = _PREBUILT[key] = build()
        return statement

    def insert(self, table: sa.Table) -> Any:
        """An ``INSERT`` in this connection's dialect, which can take ``ON CONFLICT``."""
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    def insert_ignore(
        self,
        table: sa.Table,
        index_elements: Sequence[str],
        *,
        select: tuple[Sequence[str], sa.Select[Any]] | None = None,
    ) -> Any:
        """``INSERT … ON CONFLICT (index_elements) DO NOTHING`` for either database;
        ``select``: ``(columns, query)`` for ``INSERT … SELECT`` instead of values. Without
        ``select`` the statement is built once (rows come as parameters)."""
        if select is None:
            return self.prebuilt(
                f"insert_ignore:{table.name}:{','.join(index_elements)}",
                lambda: self.insert(table).on_conflict_do_nothing(index_elements=index_elements),
            )
        columns, query = select
        return (
            self.insert(table)
            .from_select(list(columns), query)
            .on_conflict_do_nothing(index_elements=index_elements)
        )

    def upsert(
        self, table: sa.Table, index_elements: Sequence[str], update: Mapping[str, Any]
    ) -> Any:
        """``INSERT … ON CONFLICT (index_elements) DO UPDATE SET update`` for either database.

        ``update`` values may refer to the proposed row through ``excluded(name)``.
        """
        return self.insert(table).on_conflict_do_update(
            index_elements=index_elements, set_=dict(update)
        )


def excluded(column: str) -> Any:
    """The proposed row's value in an upsert's SET clause (same spelling on both databases)."""
    return sa.literal_column(f"excluded.{column}")
