"""Column sizes as the input checks need them: one source (the table definitions), so both databases agree."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def max_length(model: Any, column: str) -> int:
    """The declared length of a string column (SQLite would store more, PostgreSQL would refuse it)."""
    table: sa.Table = model.__table__
    length = getattr(table.c[column].type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{table.name}.{column} has no length")
    return length
