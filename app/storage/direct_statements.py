"""A brief write's hot statements straight on the driver, below SQLAlchemy's per-statement cost.

Through `AsyncConnection.execute` a statement costs ~130-150 us of SQLAlchemy's own work (the
greenlet hop, the cache key, the execution context, the cursor result) around a few
microseconds of sqlite3. A statement registered with `direct()` (built once: a module
constant, or one kept per column set) is compiled once per parameter-key shape into a plan (its
SQL, where each positional parameter comes from, its bind and result processors) and then run on
the raw sqlite3 connection, answered as an `IteratorResult` of the same rows SQLAlchemy would
build (`.one()`, `.scalars()`, `row.column`, `row._mapping[column]`, plus `rowcount`).

Only inside `Database.run_write(..., brief=True)` on SQLite, where the statements already run on
the event loop's thread (app/storage/sqlite_driver.py). Plans cover SQLAlchemy's scalar column
defaults, expanding IN lists (a plan per list length), one row given as a list (a plain execute,
as SQLAlchemy does) and many rows with RETURNING sent as SQLAlchemy's one multi-row INSERT
("insertmanyvalues"). Whatever a plan cannot express (callable or SQL column defaults, RETURNING
in the rows' order, textual SQL, execution options, echo, values a type refuses) goes through
the normal `connection.execute`, so the services keep one code path for both
databases. The engine's `before_cursor_execute` / `after_cursor_execute` listeners are fired as
SQLAlchemy fires them (with no execution context: None), so statement counts stay exact, and
driver errors are raised as the SQLAlchemy exception SQLAlchemy would raise (IntegrityError, ...).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from app.storage.sqlite_driver import InlineConnection, ReaderConnection, sqlite3_connection

Statement = TypeVar("Statement", bound=Executable)

# Statements registered by `direct()` (brief writes) and by `brief_read()` (reads too), by
# identity (held here: a registered statement lives on).
_registered: dict[int, Executable] = {}
_registered_reads: dict[int, Executable] = {}

# Plans per (statement identity, parameter keys, executemany); None: the statement cannot go direct.
PLANS_MAX = 2_000  # far above the hot statements' shapes: a bound, not a size anyone reaches


def direct(statement: Statement) -> Statement:
    """Mark `statement` (built once and kept) to run straight on the driver in brief writes."""
    _registered[id(statement)] = statement
    return statement


def brief_read(statement: Statement) -> Statement:
    """Mark `statement` (built once and kept) to run straight on the driver in brief writes and in
    reads: in a read it runs on the event loop's thread for up to READ_SECONDS_MAX, then again on
    the driver's thread (a read as a client sends it is bounded by its page, but a filter can make
    SQLite walk a long history to fill one)."""
    _registered[id(statement)] = statement
    _registered_reads[id(statement)] = statement
    return statement


# A read's time on the event loop's thread, checked every READ_INSTRUCTIONS_STEP of SQLite's
# virtual machine instructions. A page of 100 ledger entries takes ~3,600 instructions and
# ~0.35 ms with its rows; walking a long history runs ~30 instructions a microsecond.
READ_INSTRUCTIONS_STEP = 1_000
READ_SECONDS_MAX = 0.002


class DirectResult(IteratorResult[Any]):
    """The rows a direct statement returned, with the driver's row count as `CursorResult` has it."""

    rowcount: int


class _Plan:
    __slots__ = ("batched", "metadata", "sources", "sql")

    def __init__(
        self, sql: str, sources: list[_Source], metadata: SimpleResultMetaData | None, *, batched: bool
    ) -> None:
        self.sql = sql
        self.sources = sources
        self.metadata = metadata
        # Many rows in one multi-row VALUES (SQLAlchemy's "insertmanyvalues" batch, for RETURNING):
        # one execute of every row's parameters in turn.
        self.batched = batched

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        positional = []
        for key, constant, processor, index, position in self.sources:
            if key is None:
                positional.append(constant)
                continue
            value = values[key]
            if index is not None:  # an element of an expanding IN's list (of a tuple in it)
                value = value[index] if position is None else value[index][position]
            positional.append(value if processor is None else processor(value))
        return tuple(positional)


# A positional parameter: (the key it is read from, or None for a constant; the constant,
# processed; the bind processor; for an expanding IN, the list's index and the tuple's position).
_Source = tuple[str | None, Any, Any, int | None, int | None]


class _Compiled:
    """A statement compiled for one parameter-key shape, and what its plans need."""

    __slots__ = ("batched", "compiled", "expanding", "metadata", "plans", "prefetched")

    def __init__(
        self, compiled: SQLCompiler, prefetched: dict[str, Any], metadata: SimpleResultMetaData | None
    ) -> None:
        self.compiled = compiled
        # Parameters of Python-side scalar column defaults (SQLAlchemy's prefetch): their values.
        self.prefetched = prefetched
        # The keys of expanding IN lists: one plan per combination of their lengths.
        self.expanding = tuple(bind.key for bind in compiled.post_compile_params)
        self.metadata = metadata
        # An executemany with RETURNING: one plan per number of rows.
        self.batched = compiled.for_executemany and bool(compiled.effective_returning)
        self.plans: dict[tuple[int, ...], _Plan | None] = {}

    def plan(self, values: Mapping[str, Any], rows: int) -> _Plan | None:
        """The plan for parameters of these keys (`values`: the first row's), `rows` of them."""
        if not self.expanding:
            lengths: tuple[int, ...] = (rows,) if self.batched else ()
        else:
            try:
                lengths = tuple(len(values[key]) for key in self.expanding)
            except (KeyError, TypeError):
                return None
        try:
            return self.plans[lengths]
        except KeyError:
            pass
        plan = self._plan(values, rows) if len(self.plans) < PLANS_MAX else None
        if len(self.plans) < PLANS_MAX:
            self.plans[lengths] = plan
        return plan

    def _plan(self, values: Mapping[str, Any], rows: int) -> _Plan | None:
        compiled = self.compiled
        sql: str = compiled.string
        names: Sequence[str] | None = compiled.positiontup
        processors: Mapping[str, Any] = compiled._bind_processors
        elements: dict[str, tuple[str, int, int | None]] = {}
        if self.expanding:
            try:
                expanded = compiled._process_parameters_for_postcompile(
                    compiled.construct_params(dict(values), escape_names=False)
                )
            except Exception:  # values SQLAlchemy refuses: its own path raises its error
                return None
            sql, names, processors = expanded.statement, expanded.positiontup, {**processors, **expanded.processors}
            for expanding in compiled.post_compile_params:
                created = expanded.parameter_expansion.get(compiled.bind_names[expanding], [])
                is_tuple = expanding.type._is_tuple_type
                width = len(values[expanding.key][0]) if is_tuple and values[expanding.key] else 1
                for number, element in enumerate(created):
                    row, column = divmod(number, width)
                    elements[element] = (expanding.key, row, column if is_tuple else None)
        if names is None:
            return None
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        sources: list[_Source] = []
        for name in names:
            processor = processors.get(name)
            if name in elements:
                key, index, position = elements[name]
                sources.append((key, None, processor, index, position))
                continue
            bind = binds.get(name)
            if bind is None:
                return None
            if name in self.prefetched:
                value = self.prefetched[name]
                sources.append((None, value if processor is None else processor(value), None, None, None))
            elif bind.key in values:
                sources.append((bind.key, None, processor, None, None))
            elif name in values:
                sources.append((name, None, processor, None, None))
            elif bind.callable is not None or bind.required:
                return None  # SQLAlchemy's own path computes it, or raises its error
            else:
                value = bind.value
                sources.append((None, value if processor is None else processor(value), None, None, None))
        if self.batched:
            batch_sql = self._batch_statement(values, rows, len(sources))
            if batch_sql is None:
                return None
            sql = batch_sql
        return _Plan(sql, sources, self.metadata, batched=self.batched)

    def _batch_statement(self, values: Mapping[str, Any], rows: int, width: int) -> str | None:
        """The multi-row INSERT SQLAlchemy sends for `rows` rows, when it sends one statement whose
        parameters are the rows' in turn (checked with markers); None otherwise (row at a time)."""
        compiled = self.compiled
        markers = [tuple((row, position) for position in range(width)) for row in range(rows)]
        batches = list(
            compiled._deliver_insertmanyvalues_batches(
                compiled.string,
                markers,
                [dict(values) for _ in markers],
                None,
                compiled.dialect.insertmanyvalues_page_size,
                False,
                None,
            )
        )
        if len(batches) != 1 or batches[0].is_downgraded:
            return None
        if list(batches[0].replaced_parameters) != [marker for row in markers for marker in row]:
            return None
        return batches[0].replaced_statement


def _compile(statement: Executable, dialect: Dialect, keys: Sequence[str], many: bool) -> _Compiled | None:
    """Compile `statement` for these parameter keys, or None when a plan cannot run it exactly."""
    if statement._execution_options or statement._propagate_attrs.get("compile_state_plugin") == "orm":
        return None
    compiled = cast(ClauseElement, statement).compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
    if (
        not isinstance(compiled, SQLCompiler)
        or not compiled.positional
        or compiled.positiontup is None
        or compiled.implicit_returning
        or compiled.literal_execute_params
        or (many and compiled.post_compile_params)
        or compiled.isplaintext
        or compiled._textual_ordered_columns
        or compiled._ad_hoc_textual
        or (
            many
            and compiled.effective_returning
            and (compiled._insertmanyvalues is None or compiled._insertmanyvalues.sort_by_parameter_order)
        )
    ):
        return None
    prefetched: dict[str, Any] = {}
    for column, default in [
        *((column, column.default) for column in compiled.insert_prefetch),
        *((column, column.onupdate) for column in compiled.update_prefetch),
    ]:
        if default is None or not default.is_scalar:
            return None  # a callable or SQL default: SQLAlchemy's execution context runs it
        prefetched[column.key] = cast(Any, default).arg
    if not set(prefetched) <= set(compiled.positiontup):
        return None
    metadata = None
    if compiled._result_columns:
        columns = compiled._result_columns
        names = [column.keyname for column in columns]
        if len(set(names)) != len(names):
            return None  # ambiguous names: SQLAlchemy's result metadata has its rules for those
        metadata = SimpleResultMetaData(
            names,
            extra=[column.objects for column in columns],
            _processors=[column.type._cached_result_processor(dialect, None) for column in columns],
        )
    return _Compiled(compiled, prefetched, metadata)


_NO_ROWS = SimpleResultMetaData([])


def _one_row_as_plain(parameters: Any) -> Any:
    """A list of one row is a plain execute of that row, as SQLAlchemy runs it."""
    return parameters[0] if isinstance(parameters, list) and len(parameters) == 1 else parameters


def _statements_listened(connection: Connection) -> bool:
    """Whether a listener waits on statements (the tests' counters): `_has_events` is also true
    for the engine's connect and begin listeners, and firing the empty statement events cost a
    few microseconds a statement."""
    if not (connection._has_events or connection.engine._has_events):
        return False
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute) or bool(dispatch.after_cursor_execute)


class _OverBudgetError(Exception):
    """A read ran out of its budget on the event loop's thread: run it the usual way."""


class DirectStatements:
    """The plans of one engine's dialect: SQLite's writer (statements registered by `direct()`)
    or its readers (`reads`: those registered by `brief_read()`, each on a budget)."""

    def __init__(self, dialect: Dialect, *, reads: bool = False) -> None:
        self.dialect = dialect
        self.reads = reads
        self._registered = _registered_reads if reads else _registered
        self._compiled: dict[tuple[int, tuple[str, ...], bool], _Compiled | None] = {}

    def plan_for(self, statement: Executable, values: Mapping[str, Any], many: bool, rows: int = 1) -> _Plan | None:
        shape = (id(statement), tuple(values), many)
        try:
            compiled = self._compiled[shape]
        except KeyError:
            compiled = _compile(statement, self.dialect, shape[1], many)
            if len(self._compiled) < PLANS_MAX:
                self._compiled[shape] = compiled
        return None if compiled is None else compiled.plan(values, rows)

    def run(
        self, connection: Connection, raw: sqlite3.Connection, statement: Executable, parameters: Any
    ) -> DirectResult | None:
        """Run `statement` on `raw` if it is registered and a plan can: its result; None: not run."""
        if id(statement) not in self._registered or connection._echo:
            return None
        parameters = _one_row_as_plain({} if parameters is None else parameters)
        many = isinstance(parameters, list)
        if many:
            if not parameters:
                return None
            keys = set(parameters[0])
            if any(row.keys() != keys for row in parameters):
                return None  # rows of different keys: SQLAlchemy's own checks apply
            plan = self.plan_for(statement, parameters[0], many, len(parameters))
        elif isinstance(parameters, Mapping):
            plan = self.plan_for(statement, parameters, many)
        else:
            return None
        if plan is None:
            return None
        try:
            if not many:
                positional: Any = plan.parameters(parameters)
            elif plan.batched:
                positional = tuple(value for row in parameters for value in plan.parameters(row))
            else:
                positional = [plan.parameters(row) for row in parameters]
        except Exception:
            # Values not of the planned shape, or refused by a type (a decimal finer than its
            # scale): SQLAlchemy's own path raises its own error (processors are pure: no harm).
            return None
        try:
            return self._execute(connection, raw, plan.sql, positional, many, plan.batched, plan.metadata)
        except _OverBudgetError:
            return None

    def run_driver_sql(
        self, connection: Connection, raw: sqlite3.Connection, sql: str, parameters: Any
    ) -> DirectResult | None:
        """`exec_driver_sql` on `raw` (the bulk paths' plain SQL with positional tuples, as
        app/storage/bulk_insert.py sends it): its result; None: not run (another shape, or a read:
        plain SQL is not known to be brief)."""
        if connection._echo or self.reads:
            return None
        parameters = _one_row_as_plain(() if parameters is None else parameters)
        many = isinstance(parameters, list)
        if not (all(isinstance(row, tuple) for row in parameters) if many else isinstance(parameters, tuple)):
            return None
        return self._execute(connection, raw, sql, parameters, many, False, None)

    def _execute(
        self,
        connection: Connection,
        raw: sqlite3.Connection,
        sql: str,
        positional: Any,
        many: bool,
        batched: bool,
        metadata: SimpleResultMetaData | None,
    ) -> DirectResult:
        cursor = raw.cursor()
        interrupted = False
        if self.reads:
            deadline = time.perf_counter() + READ_SECONDS_MAX

            def over_budget() -> bool:
                nonlocal interrupted
                interrupted = time.perf_counter() > deadline
                return interrupted

            raw.set_progress_handler(over_budget, READ_INSTRUCTIONS_STEP)
        try:
            listened = _statements_listened(connection)
            if listened:
                for listener in connection.dispatch.before_cursor_execute:
                    sql, positional = listener(connection, cursor, sql, positional, None, many)
            if many and not batched:
                cursor.executemany(sql, positional)
            else:
                cursor.execute(sql, positional)
            description = cursor.description
            rows = cursor.fetchall() if description is not None else []
            rowcount = cursor.rowcount
            if listened:
                connection.dispatch.after_cursor_execute(connection, cursor, sql, positional, None, many)
        except sqlite3.Error as error:
            if interrupted and error.sqlite_errorcode == sqlite3.SQLITE_INTERRUPT:
                # A SELECT interrupted leaves its transaction (the snapshot) as it was.
                raise _OverBudgetError from error
            raise cast(
                DBAPIError,
                DBAPIError.instance(sql, positional, error, sqlite3.Error, dialect=self.dialect, ismulti=many),
            ) from error
        finally:
            cursor.close()
            if self.reads:
                raw.set_progress_handler(None, 0)
        if metadata is None and description is not None:  # plain SQL: the driver's column names
            metadata = SimpleResultMetaData([column[0] for column in description])
        result = DirectResult(metadata or _NO_ROWS, iter(rows))
        result.rowcount = rowcount
        return result


# `Connection.info` key: BEGIN has run on the driver already, so SQLAlchemy's transaction begins
# without one (the begin listener of app/storage/database.py reads it).
BEGUN_ON_THE_DRIVER = "pointledger_begun_on_the_driver"


class DirectConnection(AsyncConnection):
    """The connection a brief SQLite write or a SQLite read runs on: registered statements go
    straight to the driver (DirectStatements), the rest through SQLAlchemy as usual."""

    _direct: DirectStatements | None = None
    _raw: sqlite3.Connection | None = None

    def go_direct(self, statements: DirectStatements) -> None:
        """From now on (inside the transaction it has begun) registered statements run on its
        sqlite3 connection. Begun, it holds its pooled connection: reading it makes no trip to
        the driver (`get_raw_connection()` would, through SQLAlchemy's async layer)."""
        sync_connection = self.sync_connection
        assert sync_connection is not None, "a started connection"
        assert sync_connection.in_transaction(), "go direct inside a transaction"
        self._direct, self._raw = statements, sqlite3_connection(sync_connection.connection)

    def begin_here(self, statement: str) -> bool:
        """`statement` (the writer's BEGIN IMMEDIATE, or a reader's deferred BEGIN) on the
        caller's thread if the write lock is free now (a deferred BEGIN takes none), with
        SQLAlchemy's transaction begun around it and no second BEGIN: what `begin()` costs beyond
        the statement (a greenlet and an executed statement, ~40 us) is not paid. False: nothing
        begun, another connection holds the lock (`begin()` then waits for it on the driver's
        thread, the listeners seeing that BEGIN again). Listeners see the statement as they see a
        direct one; a driver error is SQLAlchemy's, as through `begin()`."""
        sync_connection = self.sync_connection
        assert sync_connection is not None, "a started connection"
        adapted = sync_connection.connection.dbapi_connection
        assert isinstance(adapted, InlineConnection | ReaderConnection), "the writer's or a reader's connection"
        listened = _statements_listened(sync_connection)
        if listened:
            for listener in sync_connection.dispatch.before_cursor_execute:
                statement, _ = listener(sync_connection, None, statement, (), None, False)
        try:
            began = adapted.begin_without_waiting(statement)
        except sqlite3.Error as error:
            raise cast(
                DBAPIError, DBAPIError.instance(statement, (), error, sqlite3.Error, dialect=sync_connection.dialect)
            ) from error
        if not began:
            return False
        if listened:
            sync_connection.dispatch.after_cursor_execute(sync_connection, None, statement, (), None, False)
        sync_connection.info[BEGUN_ON_THE_DRIVER] = True
        try:
            sync_connection.begin()
        finally:
            sync_connection.info.pop(BEGUN_ON_THE_DRIVER, None)
        return True

    def commit_here(self) -> None:
        """COMMIT what `begin_here` began, on the caller's thread (SQLAlchemy's transaction and
        the driver's, without the WAL checkpoint: `checkpoint`)."""
        sync_connection = self.sync_connection
        assert sync_connection is not None, "a started connection"
        sync_connection.commit()

    def checkpoint_due(self) -> bool:
        """Whether the writer's inline commits have left a WAL checkpoint due (`checkpoint`)."""
        return self._writer_adapter().checkpoint_due()

    async def checkpoint(self) -> None:
        """The WAL checkpoint the writer's inline commits left to the driver's thread."""
        await self._writer_adapter().checkpoint()

    def _writer_adapter(self) -> InlineConnection:
        sync_connection = self.sync_connection
        assert sync_connection is not None, "a started connection"
        adapted = sync_connection.connection.dbapi_connection
        assert isinstance(adapted, InlineConnection), "the writer's connection"
        return adapted

    def ended_cleanly(self) -> bool:
        """Whether it is open, valid, and out of any transaction, SQLAlchemy's and sqlite3's
        (a failed ROLLBACK can leave sqlite3 in one that SQLAlchemy has let go of)."""
        sync_connection = self.sync_connection
        if (
            self.invalidated
            or sync_connection is None
            or sync_connection.closed
            # not in_transaction(): a transaction whose COMMIT failed stays, inactive, until rolled back
            or sync_connection.get_transaction() is not None
        ):
            return False
        return not sqlite3_connection(sync_connection.connection).in_transaction

    async def let_go(self) -> None:
        """Invalidate it (its pooled connection is closed, never reused), unless SQLAlchemy already
        gave it up or it is closed."""
        sync_connection = self.sync_connection
        if sync_connection is not None and not sync_connection.closed and not sync_connection.invalidated:
            await self.invalidate()

    def stop_direct(self) -> None:
        """Every statement through SQLAlchemy again (the transaction `go_direct` was for has ended)."""
        self._direct = self._raw = None

    def _directly(self, statement: Any, parameters: Any, execution_options: Any, *, sql: bool) -> DirectResult | None:
        """The result of running it direct (`sql`: plain SQL of exec_driver_sql); None: not run."""
        direct_statements, raw, sync_connection = self._direct, self._raw, self.sync_connection
        if direct_statements is None or raw is None or sync_connection is None or execution_options:
            return None
        if sql:
            return direct_statements.run_driver_sql(sync_connection, raw, statement, parameters)
        return direct_statements.run(sync_connection, raw, statement, parameters)

    async def execute(self, statement: Executable, parameters: Any = None, *, execution_options: Any = None) -> Any:
        result = self._directly(statement, parameters, execution_options, sql=False)
        if result is not None:
            return result
        return await super().execute(statement, parameters, execution_options=execution_options)

    async def exec_driver_sql(self, statement: str, parameters: Any = None, execution_options: Any = None) -> Any:
        result = self._directly(statement, parameters, execution_options, sql=True)
        if result is not None:
            return result
        return await super().exec_driver_sql(statement, parameters, execution_options)
