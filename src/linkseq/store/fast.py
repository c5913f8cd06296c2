"""Built-once Core statements run at the driver's speed on SQLite.

The engine's hot statements are built once and run with parameters at every pass. Through
SQLAlchemy's execution layer each costs ~40 µs before SQLite sees it (events, a compiled-cache
lookup, parameter and result objects); the statement itself costs ~3 µs. Here such a statement
is compiled once per shape by SQLAlchemy (the SQL text, its parameters' order, each type's bind
and result processors: the same conversions SQLAlchemy applies), then run on the driver's cursor
inside the connection's own transaction (SQLite's `BEGIN IMMEDIATE` is the connection's begin
event, as for any statement). Errors come back as SQLAlchemy's (`IntegrityError`, ...).

Elsewhere (PostgreSQL), and whenever someone watches the statements (a `before_cursor_execute`
listener, `echo`), the statement goes through SQLAlchemy as usual: the same rows, as tuples.

Only statements whose every value comes from its parameters qualify: an INSERT or UPDATE that
would need a Python-side default is run by SQLAlchemy (it computes those).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["driver_execute", "execute", "first", "insert", "one", "rows", "scalar"]

Runs = Session | sa.Connection
Statement = Any  # a built-once Core statement: a SELECT, an INSERT, an UPDATE or a DELETE
Processor = Callable[[Any], Any] | None

_POSTCOMPILE = "__[POSTCOMPILE_{}]"


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    expanding: bool
    literal: bool  # its value is the statement's own (`state == 'ready'`), not a parameter's
    value: Any
    process: Processor


@dataclass(frozen=True, slots=True)
class _Shape:
    """A statement compiled for SQLite: its text, its positional parameters, how its rows'
    values are converted (None: none needs it), and when SQLAlchemy runs it instead."""

    sql: str
    params: tuple[_Param, ...]
    names: frozenset[str] | None  # an UPDATE's parameters (another would be a column to set)
    convert: Callable[[Sequence[Any]], tuple[Any, ...]] | None  # a row's values converted
    width: int  # its rows' columns
    fallback: bool  # a Python-side default is due: SQLAlchemy runs it


# by statement, dialect (each engine's own processors) and an INSERT's columns; the statements
# are built once, so the cache holds a few dozen shapes
_SHAPES: dict[tuple[int, int, tuple[str, ...] | None], _Shape] = {}
_HELD: list[tuple[Statement, sa.Dialect]] = []  # what the ids above name stays alive


def _connection(runs: Runs, flush: bool) -> sa.Connection:
    """The connection in its transaction (begun now if none is), a session's pending changes
    flushed first when `flush` (what a session's ORM statement does; a Core statement on the
    session's connection does not)."""
    if isinstance(runs, Session):
        if flush:
            runs.flush()
        return runs.connection()
    if not runs.in_transaction():
        runs.begin()
    return runs


def _shape(statement: Statement, dialect: sa.Dialect, keys: tuple[str, ...] | None) -> _Shape:
    key = (id(statement), id(dialect), keys)
    found = _SHAPES.get(key)
    if found is not None:
        return found
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    assert isinstance(compiled, SQLCompiler)
    params = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        literal = not bind.required  # a value of the statement's own (`state = 'ready'`)
        impl = bind.type.dialect_impl(dialect)
        params.append(
            _Param(
                name=name,
                expanding=bool(bind.expanding),
                literal=literal,
                value=bind.effective_value if literal else None,
                process=impl.bind_processor(dialect),
            )
        )
    processors = [
        entry.type.dialect_impl(dialect).result_processor(dialect, None)
        for entry in compiled._result_columns
    ]
    fallback = bool(compiled.insert_prefetch or compiled.update_prefetch)
    names = frozenset(p.name for p in params) if compiled.isupdate else None
    convert = _converter(processors)
    shape = _Shape(compiled.string, tuple(params), names, convert, len(processors), fallback)
    _HELD.append((statement, dialect))
    _SHAPES[key] = shape
    return shape


def _converter(
    processors: Sequence[Processor],
) -> Callable[[Sequence[Any]], tuple[Any, ...]] | None:
    """One function that converts a whole row (`lambda r: (r[0], p1(r[1]), ...)`), written
    for the statement's columns once: per row, one call instead of a loop over its values.
    None when no column needs converting."""
    if all(p is None for p in processors):
        return None
    scope = {f"p{i}": p for i, p in enumerate(processors) if p is not None}
    values = ", ".join(
        f"p{i}(r[{i}])" if p is not None else f"r[{i}]" for i, p in enumerate(processors)
    )
    # the source holds column positions only: nothing of a statement or of a value
    function = eval(f"lambda r: ({values},)", scope)  # noqa: S307
    return cast(Callable[[Sequence[Any]], tuple[Any, ...]], function)


def _bound(shape: _Shape, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The SQL text (expanding parameters written out) and its positional values."""
    sql = shape.sql
    values: list[Any] = []
    for param in shape.params:
        value = params[param.name] if param.name in params or not param.literal else param.value
        process = param.process
        if param.expanding:
            items = list(value)
            sql = sql.replace(_POSTCOMPILE.format(param.name), ", ".join("?" * len(items)), 1)
            values.extend(items if process is None else [process(v) for v in items])
        else:
            values.append(value if process is None else process(value))
    return sql, values


def _run(
    runs: Runs, statement: Statement, params: Mapping[str, Any], insert: bool, flush: bool
) -> Any:
    """The driver's cursor after the statement, or SQLAlchemy's result where it runs it."""
    connection = _connection(runs, flush)
    dialect = connection.dialect
    dispatch = connection.dispatch
    if (
        dialect.name != "sqlite"
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or connection._echo
    ):
        # elsewhere, or when someone watches the statements (a listener, `echo`): SQLAlchemy
        return connection.execute(statement, dict(params))
    shape = _shape(statement, dialect, tuple(params) if insert else None)
    if shape.fallback or (shape.names is not None and not shape.names.issuperset(params)):
        # a Python-side default to compute, or an UPDATE given a parameter it does not take
        # (SQLAlchemy would set that column too): SQLAlchemy runs it
        return connection.execute(statement, dict(params))
    sql, values = _bound(shape, params)
    return shape, driver_execute(connection, sql, values)


def driver_execute(connection: sa.Connection, sql: str, values: Sequence[Any] = ()) -> Any:
    """Run `sql` on the connection's driver connection (no SQLAlchemy execution around it);
    the driver's cursor. A driver error comes back as SQLAlchemy's (`OperationalError` for a
    locked database, `IntegrityError`, ...), as any statement's would."""
    driver = connection.connection.driver_connection
    assert driver is not None
    dbapi = connection.dialect.loaded_dbapi
    try:
        return driver.execute(sql, values)
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            sql, values, exc, dbapi.Error, dialect=connection.dialect
        ) from exc


def rows(
    runs: Runs, statement: Statement, params: Mapping[str, Any], *, flush: bool = True
) -> list[Sequence[Any]]:
    """Every row of a SELECT (or of a statement's RETURNING), as tuples of converted values.

    On a session, its pending changes are flushed first unless `flush=False` (every function
    here takes it): as an ORM statement of the session would (a statement of table columns, or
    one on the session's connection, would not)."""
    ran = _run(runs, statement, params, insert=False, flush=flush)
    if not isinstance(ran, tuple):
        return [tuple(row) for row in ran]
    shape, cursor = ran
    fetched = cursor.fetchall()
    assert not fetched or len(fetched[0]) == shape.width, "a row unlike its statement's columns"
    if shape.convert is None:
        return list(fetched)
    return list(map(shape.convert, fetched))


def first(
    runs: Runs, statement: Statement, params: Mapping[str, Any], *, flush: bool = True
) -> Sequence[Any] | None:
    """The first row, or None."""
    found = rows(runs, statement, params, flush=flush)
    return found[0] if found else None


def one(
    runs: Runs, statement: Statement, params: Mapping[str, Any], *, flush: bool = True
) -> Sequence[Any]:
    """The first row of a statement that always gives one (an aggregate, `EXISTS` probes)."""
    row = first(runs, statement, params, flush=flush)
    assert row is not None, "the statement gave no row"
    return row


def scalar(
    runs: Runs, statement: Statement, params: Mapping[str, Any], *, flush: bool = True
) -> Any:
    """The first column of the first row, or None."""
    row = first(runs, statement, params, flush=flush)
    return None if row is None else row[0]


def execute(
    runs: Runs, statement: Statement, params: Mapping[str, Any], *, flush: bool = True
) -> int:
    """Run an UPDATE or a DELETE; the rows it matched."""
    ran = _run(runs, statement, params, insert=False, flush=flush)
    if not isinstance(ran, tuple):
        return int(ran.rowcount)
    return int(ran[1].rowcount)


def insert(
    runs: Runs, statement: Statement, params: Mapping[str, Any], *, flush: bool = True
) -> int:
    """Run a one-row INSERT of the columns `params` names; the new row's primary key."""
    ran = _run(runs, statement, params, insert=True, flush=flush)
    if not isinstance(ran, tuple):
        key = ran.inserted_primary_key
        assert key is not None
        return int(key[0])
    return int(ran[1].lastrowid)
