"""Registered statements run straight on sqlite3 in a brief write (app/storage/direct_statements.py):
the same rows, types, row counts, cursor events and exceptions as through SQLAlchemy, and
SQLAlchemy's own path for whatever a plan cannot express.

A statement SQLAlchemy executes reaches `before_cursor_execute` with its execution context; a
direct one with None: that is how these tests tell the two paths apart.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Enum, Integer, MetaData, String, Table, bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError, StatementError

from app.storage import direct_statements
from app.storage.columns import Amount, Points, UTCDateTime
from app.storage.direct_statements import brief_read, direct
from tests.sqlite_databases import sqlite_database_of


class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
    Column("amount", Amount, nullable=True),
    Column("points", Points, nullable=False, default=Decimal("1.5")),  # a scalar default: prefetched
    Column("at", UTCDateTime, nullable=True),
    Column("payload", JSON, nullable=True),
    Column("colour", Enum(Colour), nullable=True),
    Column("stamp", String, nullable=True, default=lambda: "called"),  # a callable default
)

INSERT_RETURNING = direct(insert(things).returning(things.c.id, things.c.points))
INSERT = direct(insert(things))
ROW = direct(select(things).where(things.c.id == bindparam("id")))
NAMED = direct(select(things.c.id, things.c.name).where(things.c.name.in_(bindparam("names", expanding=True))))
RENAME = direct(update(things).where(things.c.id <= bindparam("last")).values(name=things.c.name + "!"))
NOT_REGISTERED = select(things.c.name).where(things.c.id == bindparam("id"))
NAME_OF = brief_read(select(things.c.name).where(things.c.id == bindparam("id")))
NAMES_LIKE = brief_read(select(things.c.name).where(things.c.name.like(bindparam("pattern"))).order_by(things.c.id))

AT = datetime(2026, 12, 7, 10, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
VALUES = {"name": "a", "amount": Decimal("12.34"), "at": AT, "payload": {"k": [1, "x"]}, "colour": Colour.BLUE}


@pytest.fixture
async def sqlite_database(tmp_path):
    async with sqlite_database_of(tmp_path / "direct.db", metadata) as database:
        yield database


def listening(engine) -> Iterator[list[tuple[str, bool, str, Any]]]:
    """(direct or not, statement, parameters) of every statement on `engine`, before and after."""
    calls: list[tuple[str, bool, str, Any]] = []

    def before(connection, cursor, statement, parameters, context, executemany) -> None:
        calls.append(("before", context is None, " ".join(statement.split()), parameters))

    def after(connection, cursor, statement, parameters, context, executemany) -> None:
        calls.append(("after", context is None, " ".join(statement.split()), parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    yield calls
    event.remove(engine.sync_engine, "before_cursor_execute", before)
    event.remove(engine.sync_engine, "after_cursor_execute", after)


@pytest.fixture
def cursor_calls(sqlite_database):
    """The writer's statements (`listening`)."""
    yield from listening(sqlite_database.write_engine)


@pytest.fixture
def read_cursor_calls(sqlite_database):
    """The readers' statements (`listening`)."""
    yield from listening(sqlite_database.read_engine)


def directs(calls: list[tuple[str, bool, str, Any]]) -> list[bool]:
    """Per statement run (its `before` call), whether it went direct."""
    return [went_direct for moment, went_direct, _, _ in calls if moment == "before"]


async def write_and_read(connection) -> tuple[Any, ...]:
    inserted = (await connection.execute(INSERT_RETURNING, VALUES)).one()
    await connection.execute(INSERT, [{"name": "b", "stamp": "s"}, {"name": "c", "stamp": "s"}])
    row = (await connection.execute(ROW, {"id": inserted.id})).one()
    named = (await connection.execute(NAMED, {"names": ["c", "a", "zz"]})).all()
    renamed = (await connection.execute(RENAME, {"last": 2})).rowcount
    return tuple(inserted), row, [tuple(found) for found in named], renamed


async def test_registered_statements_in_a_brief_write_answer_what_sqlalchemy_answers(
    sqlite_database, tmp_path, cursor_calls
):
    # Given the same statements through SQLAlchemy on a second database
    async with sqlite_database_of(tmp_path / "reference.db", metadata) as reference:
        expected = await reference.run_write(write_and_read)

    # When they run in a brief write
    answered = await sqlite_database.run_write(write_and_read, brief=True)

    # Then the same rows, types included, and every statement went direct
    inserted, row, named, renamed = answered
    assert answered == expected
    assert inserted == (1, Decimal("1.5"))
    assert (row.name, row.amount, row.at, row.payload, row.colour) == (
        "a",
        Decimal("12.34"),
        AT.astimezone(UTC),
        {"k": [1, "x"]},
        Colour.BLUE,
    )
    assert row.at.tzinfo is UTC
    assert row._mapping[things.c.amount] == Decimal("12.34")
    assert (row.points, row.stamp) == (Decimal("1.5"), "called")  # the callable default: SQLAlchemy ran it
    assert (named, renamed) == ([(1, "a"), (3, "c")], 2)
    # The insert with a callable default went through SQLAlchemy; the rest (BEGIN too) direct
    assert directs(cursor_calls) == [True, False, True, True, True, True]
    async with sqlite_database.read() as connection:
        names = (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all()
    assert names == ["a!", "b!", "c"]


async def test_a_direct_statement_reaches_the_cursor_listeners_before_and_after_with_its_sql(
    sqlite_database, cursor_calls
):
    async def rename(connection) -> int:
        return (await connection.execute(RENAME, {"last": 5})).rowcount

    await sqlite_database.run_write(lambda connection: connection.execute(INSERT, {"name": "a", "stamp": "s"}))
    cursor_calls.clear()

    assert await sqlite_database.run_write(rename, brief=True) == 1

    sql = "UPDATE things SET name=(things.name || ?) WHERE things.id <= ?"
    assert cursor_calls[2:] == [("before", True, sql, ("!", 5)), ("after", True, sql, ("!", 5))]
    # BEGIN IMMEDIATE ran on the driver too (DirectConnection.begin_here)
    assert cursor_calls[:2] == [("before", True, "BEGIN IMMEDIATE", ()), ("after", True, "BEGIN IMMEDIATE", ())]


async def test_a_direct_statements_integrity_error_is_sqlalchemys_and_the_brief_write_rolls_back(
    sqlite_database, cursor_calls
):
    async def insert_twice(connection) -> None:
        await connection.execute(INSERT_RETURNING, {"name": "b", "stamp": "s"})
        await connection.execute(INSERT_RETURNING, {"name": "a", "stamp": "s"})

    await sqlite_database.run_write(lambda connection: connection.execute(INSERT, {"name": "a", "stamp": "s"}))
    cursor_calls.clear()

    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: things\.name") as raised:
        await sqlite_database.run_write(insert_twice, brief=True)
    await sqlite_database.run_write(
        lambda connection: connection.execute(INSERT_RETURNING, {"name": "c", "stamp": "s"}), brief=True
    )

    assert type(raised.value.orig).__name__ == "IntegrityError"
    assert directs(cursor_calls) == [True, True, True, True, True]  # BEGIN, 2 inserts; BEGIN, 1 insert
    async with sqlite_database.read() as connection:
        names = (await connection.execute(select(things.c.name).order_by(things.c.id))).scalars().all()
    assert names == ["a", "c"]


async def test_a_value_a_type_refuses_raises_sqlalchemys_statement_error_and_writes_nothing(sqlite_database):
    finer_than_its_scale = {"name": "a", "stamp": "s", "amount": Decimal("1.23456")}

    with pytest.raises(StatementError, match=r"1\.23456") as through_sqlalchemy:
        await sqlite_database.run_write(lambda connection: connection.execute(INSERT, finer_than_its_scale))
    with pytest.raises(StatementError, match=r"1\.23456") as brief:
        await sqlite_database.run_write(lambda connection: connection.execute(INSERT, finer_than_its_scale), brief=True)

    assert type(brief.value) is type(through_sqlalchemy.value)
    assert type(brief.value.orig) is type(through_sqlalchemy.value.orig)
    async with sqlite_database.read() as connection:
        assert (await connection.execute(select(things.c.id))).all() == []


async def test_what_is_not_registered_or_not_brief_goes_through_sqlalchemy(sqlite_database, cursor_calls):
    async def read(connection) -> list[Any]:
        await connection.execute(NOT_REGISTERED, {"id": 1})
        return (await connection.execute(ROW, {"id": 1})).all()

    await sqlite_database.run_write(read, brief=True)
    await sqlite_database.run_write(read)

    # BEGIN (direct), unregistered, registered (direct); BEGIN, and both through SQLAlchemy when not brief
    assert directs(cursor_calls) == [True, False, True, False, False, False]


async def test_an_expanding_in_runs_direct_for_every_length_of_its_list(sqlite_database, cursor_calls):
    async def find(connection) -> list[list[str]]:
        await connection.execute(INSERT, [{"name": name, "stamp": "s"} for name in "abc"])
        return [
            [row.name for row in await connection.execute(NAMED, {"names": names})]
            for names in (["a"], [], ["c", "b"], ["x", "a"], ["b"])
        ]

    assert await sqlite_database.run_write(find, brief=True) == [["a"], [], ["b", "c"], ["a"], ["b"]]
    assert directs(cursor_calls) == [True, True, True, True, True, True, True]


INSERT_MANY_RETURNING = direct(insert(things).returning(things.c.id, things.c.name))
INSERT_SORTED = direct(insert(things).returning(things.c.id, sort_by_parameter_order=True))


async def test_many_rows_with_returning_are_one_direct_multi_row_insert_unless_their_order_is_asked(
    sqlite_database, cursor_calls
):
    async def insert_rows(connection) -> tuple[list[Any], list[Any]]:
        rows = [{"name": name, "stamp": "s", "amount": Decimal(index)} for index, name in enumerate("abc")]
        returned = (await connection.execute(INSERT_MANY_RETURNING, rows)).all()
        sorted_ids = (
            await connection.execute(INSERT_SORTED, [{"name": name, "stamp": "s"} for name in ("e", "d")])
        ).scalars()
        return sorted(tuple(row) for row in returned), list(sorted_ids)

    returned, sorted_ids = await sqlite_database.run_write(insert_rows, brief=True)

    assert (returned, sorted_ids) == ([(1, "a"), (2, "b"), (3, "c")], [4, 5])
    before = [(went_direct, sql) for moment, went_direct, sql, _ in cursor_calls if moment == "before"]
    assert before[1] == (
        True,
        "INSERT INTO things (name, amount, points, stamp) VALUES (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?) "
        "RETURNING id, name",
    )
    assert cursor_calls[2][3] == ("a", 0, 15000, "s", "b", 10000, 15000, "s", "c", 20000, 15000, "s")
    assert [went_direct for went_direct, _ in before[2:]] == [False] * (len(before) - 2)  # asked in order
    async with sqlite_database.read() as connection:
        found = (await connection.execute(select(things.c.name, things.c.amount).order_by(things.c.id))).all()
    assert [tuple(row) for row in found] == [("a", 0), ("b", 1), ("c", 2), ("e", None), ("d", None)]


async def test_plain_sql_of_exec_driver_sql_runs_direct_in_a_brief_write(sqlite_database, cursor_calls):
    def write(prefix: str) -> Any:
        async def inserted_and_found(connection) -> tuple[int, list[Any], list[str]]:
            rows = [(f"{prefix}1", 1), (f"{prefix}2", 2)]
            many = await connection.exec_driver_sql("INSERT INTO things (name, points) VALUES (?, ?)", rows)
            result = await connection.exec_driver_sql("SELECT name, points FROM things WHERE points > ?", (1,))
            return many.rowcount, [tuple(row) for row in result], list(result.keys())

        return inserted_and_found

    assert await sqlite_database.run_write(write("a"), brief=True) == (2, [("a2", 2)], ["name", "points"])
    assert await sqlite_database.run_write(write("b")) == (2, [("a2", 2), ("b2", 2)], ["name", "points"])

    # BEGIN and both direct; then not brief: BEGIN and both through SQLAlchemy
    assert directs(cursor_calls) == [True, True, True, False, False, False]
    assert cursor_calls[2][2:] == ("INSERT INTO things (name, points) VALUES (?, ?)", [("a1", 1), ("a2", 2)])


async def test_a_read_runs_brief_read_statements_direct_and_the_rest_through_sqlalchemy(
    sqlite_database, read_cursor_calls
):
    # Given two things
    await sqlite_database.run_write(lambda connection: connection.execute(INSERT, [{"name": "a"}, {"name": "b"}]))

    # When a read runs a brief read, a statement registered for brief writes only, and one not registered
    async with sqlite_database.read() as connection:
        brief = (await connection.execute(NAME_OF, {"id": 2})).scalar_one()
        written_only = (await connection.execute(ROW, {"id": 2})).one().name
        unregistered = (await connection.execute(NOT_REGISTERED, {"id": 1})).scalar_one()
        sql = (await connection.exec_driver_sql("SELECT count(*) FROM things")).scalar_one()

    # Then the same answers, and only the brief read and the deferred BEGIN (on the driver:
    # DirectConnection.begin_here) skipped SQLAlchemy
    assert (brief, written_only, unregistered, sql) == ("b", "b", "a", 2)
    assert directs(read_cursor_calls) == [True, True, False, False, False]
    assert read_cursor_calls[:2] == [("before", True, "BEGIN", ()), ("after", True, "BEGIN", ())]
    assert read_cursor_calls[2] == ("before", True, "SELECT things.name FROM things WHERE things.id = ?", (2,))


async def test_a_brief_read_over_its_budget_runs_again_through_sqlalchemy_in_the_same_snapshot(
    sqlite_database, read_cursor_calls, monkeypatch
):
    # Given 3,000 things, and a read's time on the event loop's thread far below a walk over them
    await sqlite_database.run_write(
        lambda connection: connection.execute(INSERT, [{"name": f"thing {number}"} for number in range(3_000)])
    )
    monkeypatch.setattr(direct_statements, "READ_SECONDS_MAX", 0.0)

    async with sqlite_database.read() as connection:
        first = (await connection.execute(NAME_OF, {"id": 1})).scalar_one()
        # When another connection writes one more after the read's snapshot began
        await sqlite_database.run_write(lambda connection: connection.execute(INSERT, {"name": "late 99"}))
        # And the read walks every thing with a brief read whose filter matches few
        found = (await connection.execute(NAMES_LIKE, {"pattern": "%99%"})).scalars().all()
        # And then reads one by its key
        last = (await connection.execute(NAME_OF, {"id": 3_000})).scalar_one()

    # Then the walk was interrupted on the loop's thread and answered through SQLAlchemy, from
    # the same snapshot (the late one, matching too, unseen); the next read went direct again
    assert first == "thing 0"
    assert found == [f"thing {number}" for number in range(3_000) if "99" in str(number)]
    assert last == "thing 2999"
    statements = [
        (went_direct, statement) for moment, went_direct, statement, _ in read_cursor_calls if moment == "before"
    ]
    like = "SELECT things.name FROM things WHERE things.name LIKE ? ORDER BY things.id"
    by_id = "SELECT things.name FROM things WHERE things.id = ?"
    assert statements[1:] == [(True, by_id), (True, like), (False, like), (True, by_id)]
    # The interrupted attempt reached no `after` listener: it answered nothing
    assert [moment for moment, _, statement, _ in read_cursor_calls if statement == like] == [
        "before",
        "before",
        "after",
    ]
