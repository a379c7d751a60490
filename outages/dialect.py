"""The small SQL differences between PostgreSQL and SQLite in the outages app (reports keeps
its own in reports/dialect.py). SQLite is the embedded `make run` default; production is
PostgreSQL. One larger difference lives with the code it serves: the history reader
(outages.baselines._series_read) packs series in PostgreSQL and groups bucket rows in Python
elsewhere."""

from __future__ import annotations

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from reports.dialect import is_postgresql

__all__ = ["id_in_sql", "is_postgresql", "row_share_lock"]


def id_in_sql(name: str, ids: list[int], *, using: BaseDatabaseWrapper, params: dict) -> str:
    """SQL for "id is one of `ids`", adding its parameters to `params`: one array parameter
    on PostgreSQL (one plan whatever the count), an IN list on SQLite, which has no arrays."""
    if is_postgresql(using):
        params[name] = ids
        return f"id = ANY(%({name})s)"
    params.update({f"{name}_{i}": id_ for i, id_ in enumerate(ids)})
    return f"id IN ({', '.join(f'%({name}_{i})s' for i in range(len(ids)))})"


def row_share_lock(table: str, column: str, value: str) -> bool:
    """Hold a row shared without waiting (False if someone holds it exclusively). SQLite has
    no row locks: its IMMEDIATE transactions already serialise writers, so it always gets it."""
    if not is_postgresql():
        return True
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE {column} = %s FOR SHARE SKIP LOCKED", [value])
        return cursor.fetchone() is not None
