"""A hot path's statements on SQLite run in one hop each to aiosqlite's thread, with SQLAlchemy's SQL and types.

SQLAlchemy's aiosqlite adapter hands each cursor call to the driver's thread on its own (cursor, execute, fetch,
close: 4 round trips for a SELECT, 3 for an INSERT, 1 more for the commit), and a statement's execution through it
costs a one-shot cache hit more CPU than SQLite spends on it. Here a statement is compiled once by SQLAlchemy, so
its SQL and its parameters' bind processors are SQLAlchemy's, and one function on the driver's thread runs it (and
commits, when asked). On PostgreSQL (asyncpg has no thread to hop to) callers use the connection as usual.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection


def usable(connection: AsyncConnection) -> bool:
    """Whether `connection`'s statements can run here: SQLite through aiosqlite."""
    return connection.dialect.driver == "aiosqlite"


class Statement:
    """A statement compiled once for a dialect: its SQL, and how its parameters are ordered and converted."""

    def __init__(self, statement, dialect, column_keys: tuple[str, ...] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        if getattr(compiled, "insert_prefetch", None):  # defaults SQLAlchemy would compute at execution
            raise ValueError(f"values missing for {[column.key for column in compiled.insert_prefetch]}")
        self.sql = compiled.string
        self._order = tuple(compiled.positiontup or ())
        binds = [compiled.binds[name] for name in self._order]
        if any(bind.expanding for bind in binds):
            raise ValueError("an expanding parameter (IN) is not supported here")
        self._processors = [bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds]
        # the statement's own values (its LIMIT's), for names the caller does not give
        self._fixed = {name: bind.effective_value for name, bind in zip(self._order, binds) if not bind.required}

    def parameters(self, values: dict[str, Any]) -> tuple:
        """The positional parameters for `values` (by bind name), as SQLAlchemy would send them (KeyError for a
        required one missing)."""
        given = [values[name] if name in values else self._fixed[name] for name in self._order]
        return tuple(value if process is None else process(value) for value, process in zip(given, self._processors))


@functools.lru_cache(maxsize=64)  # (a few statements, for each engine's dialect)
def compiled(statement, dialect, column_keys: tuple[str, ...] | None = None) -> Statement:
    """`statement` compiled for `dialect` (with these columns, for an INSERT), once."""
    return Statement(statement, dialect, column_keys)


async def first(connection: AsyncConnection, statement: Statement, values: dict[str, Any]) -> tuple | None:
    """The first row `statement` selects, as a tuple; None when there is none."""
    return await _run(connection, _first, statement, values)


async def execute_and_commit(connection: AsyncConnection, statement: Statement, values: dict[str, Any]) -> None:
    """Run `statement` and commit it, in one hop; rolled back when it fails."""
    await _run(connection, _execute_and_commit, statement, values)


async def _run(connection: AsyncConnection, work, statement: Statement, values: dict[str, Any]):
    """`work(sqlite3_connection, sql, parameters)` on the thread of the driver's connection that `connection`
    holds; SQLite's errors raised as SQLAlchemy raises them (a locked or failing database is then told apart)."""
    driver = (await connection.get_raw_connection()).driver_connection
    parameters = statement.parameters(values)
    try:  # (aiosqlite's queue, as SQLAlchemy's own adapter reaches it)
        return await driver._execute(work, driver._conn, statement.sql, parameters)
    except sqlite3.Error as error:
        raise DBAPIError.instance(statement.sql, parameters, error, sqlite3.Error) from error


def _first(database, sql: str, parameters: tuple) -> tuple | None:
    cursor = database.execute(sql, parameters)
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


def _execute_and_commit(database, sql: str, parameters: tuple) -> None:
    try:
        database.execute(sql, parameters).close()
        database.commit()
    except BaseException:
        database.rollback()
        raise
