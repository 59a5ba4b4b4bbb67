"""What a bill costs in SQL statements, and the answer built from the write (a new customer's
bill answers its customer without reading it back: it must read as the customer query reads it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event

from tests.client import add
from tests.factories import bill, new_mobile, org_spec

CUSTOMER_FIELDS = """
  userId mobile email externalId cardNumber firstname lastname type source registeredOn updatedOn
  identifiers { type value }
  lifetimePoints loyaltyPoints lifetimePurchases currentSlab tierExpiryDate mergedIntoUserId extendedFields
  pointsSummaries {
    programCode redeemed expired returned adjusted lifetimePoints loyaltyPoints cumulativePurchases
    currentSlab slabSNo slabExpiryDate nextSlab nextSlabSerialNumber nextSlabDescription
  }
"""

ADD_WITH_CUSTOMER = f"""
mutation Add($input: TransactionAddInput!) {{
  addTransaction(input: $input) {{
    __typename
    ... on TransactionAdded {{ transaction {{ customer {{ {CUSTOMER_FIELDS} }} }} }}
    ... on Error {{ code message field }}
  }}
}}
"""

CUSTOMER = f"""
query Customer($lookup: CustomerLookupInput!) {{
  customer(lookup: $lookup) {{ __typename ... on Customer {{ {CUSTOMER_FIELDS} }} }}
}}
"""


async def answered_and_read_back(api, document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer addTransaction answered for `document`, and the customer query's answer just after."""
    result = (await api.data(ADD_WITH_CUSTOMER, {"input": document}))["addTransaction"]
    assert result["__typename"] == "TransactionAdded", result
    answered = result["transaction"]["customer"]
    read_back = (await api.data(CUSTOMER, {"lookup": {"type": "USER_ID", "value": answered["userId"]}}))["customer"]
    assert read_back["__typename"] == "Customer"
    del read_back["__typename"]
    return answered, read_back


async def test_a_new_customers_bill_answers_the_customer_as_it_reads_back(api):
    mobile = new_mobile()

    answered, read_back = await answered_and_read_back(api, bill(customer={"mobile": mobile, "firstname": "Ann"}))

    assert answered == read_back
    assert (answered["mobile"], answered["firstname"], answered["lastname"]) == (f"91{mobile}", "Ann", "")
    assert [(s["programCode"], s["loyaltyPoints"], s["cumulativePurchases"]) for s in answered["pointsSummaries"]] == [
        ("main", "18", "1800"),
        ("cafe", "0", "0"),
    ]


async def test_a_new_customer_reaching_silver_on_the_first_bill_answers_the_new_slab_and_its_expiry(api):
    document = bill(
        customer={"mobile": new_mobile(), "email": "ann@example.com", "externalId": "ANN-1", "lastname": "Lee"},
        amount="25000",
        grossAmount=None,
        discount=None,
        lineItems=[],
    )

    answered, read_back = await answered_and_read_back(api, document)

    assert answered == read_back
    assert (answered["currentSlab"], answered["loyaltyPoints"], answered["lifetimePurchases"]) == (
        "silver",
        "250",
        "25000",
    )
    assert answered["pointsSummaries"][0]["nextSlab"] == "gold"
    assert [identifier["type"] for identifier in answered["identifiers"]] == ["MOBILE", "EMAIL", "EXTERNAL_ID"]


async def test_a_new_customers_bill_in_another_program_answers_both_programs(api):
    document = bill(
        customer={"mobile": new_mobile()}, tillCode="till-cafe", lineItems=[], grossAmount=None, discount=None
    )

    answered, read_back = await answered_and_read_back(api, document)

    assert answered == read_back
    assert [(s["programCode"], s["loyaltyPoints"], s["currentSlab"]) for s in answered["pointsSummaries"]] == [
        ("main", "0", "bronze"),
        ("cafe", "90", "member"),
    ]


async def test_a_customer_registered_beside_a_skipped_identifier_answers_only_its_own(org_api):
    skipping = await org_api(org_spec("skipping", skip_secondary_id_on_primary_mismatch=True))
    email_owner = new_mobile()
    await add(skipping, bill(customer={"mobile": email_owner, "email": "taken@example.com"}))

    answered, read_back = await answered_and_read_back(
        skipping, bill(customer={"mobile": new_mobile(), "email": "taken@example.com"})
    )

    assert answered == read_back
    assert answered["email"] is None
    assert [identifier["type"] for identifier in answered["identifiers"]] == ["MOBILE"]


async def test_a_returning_customers_bill_answers_the_customer_as_it_reads_back(api):
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile, "email": "bob@example.com"}))

    answered, read_back = await answered_and_read_back(api, bill(customer={"mobile": mobile}))

    assert answered == read_back
    assert answered["email"] == "bob@example.com"
    assert answered["loyaltyPoints"] == "36"


# --- Statements per bill ----------------------------------------------------------------------------


@asynccontextmanager
async def counting(database) -> AsyncIterator[list[str]]:
    """The statements sent on the read and write engines meanwhile (one list if they are one engine)."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engines = {id(engine): engine for engine in (database.read_engine, database.write_engine)}.values()
    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_returning_customers_bill_of_3_items_costs_20_statements_on_sqlite_and_23_on_postgresql(api, database):
    # Given a customer who bought before (the API key and the organisation are cached since)
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    async with counting(database) as statements:
        await add(api, bill(customer={"mobile": mobile}))

    # SQLite also sends its BEGIN IMMEDIATE as a statement; PostgreSQL takes the bill's advisory
    # locks (one statement for all) and locks the customer, reading its identifiers' owners again.
    # Its outbox events (transaction.added, points.earned) are one multi-row insert, and their
    # delivery rows one more, at the end of the transaction: 2 statements however many events;
    # PostgreSQL holds the organisation's feed order first (app/outbox/repository.py), one more.
    assert len(statements) == (20 if database.is_sqlite else 23), "\n".join(
        " ".join(s.split())[:100] for s in statements
    )


async def test_a_new_customers_bill_of_3_items_costs_28_statements_on_sqlite_and_29_on_postgresql(api, database):
    await add(api, bill())

    async with counting(database) as statements:
        await add(api, bill())

    # SQLite: its BEGIN IMMEDIATE; PostgreSQL: the advisory locks of the bill (one statement for all).
    # The outbox: its events in one insert, their delivery rows in another; PostgreSQL holds the
    # organisation's feed order before them (app/outbox/repository.py). The new customer's
    # referral code: one INSERT ... ON CONFLICT DO NOTHING.
    assert len(statements) == (28 if database.is_sqlite else 29), "\n".join(
        " ".join(s.split())[:100] for s in statements
    )


@asynccontextmanager
async def through_sqlalchemy(database) -> AsyncIterator[list[str]]:
    """The statements the writer sent through SQLAlchemy's execution meanwhile: a direct one
    (app/storage/direct_statements.py) reaches the cursor listeners with no execution context."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        if context is not None:
            statements.append(" ".join(statement.split()))

    event.listen(database.write_engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.write_engine.sync_engine, "before_cursor_execute", record)


async def test_a_returning_customers_bill_runs_all_its_statements_straight_on_sqlite(api, database):
    # Given a customer who bought before
    mobile = new_mobile()
    await add(api, bill(customer={"mobile": mobile}))

    # When they buy again
    async with counting(database) as statements, through_sqlalchemy(database) as not_direct:
        await add(api, bill(customer={"mobile": mobile}))

    # Then on SQLite none goes through SQLAlchemy's execution (BEGIN IMMEDIATE runs on the driver
    # too, and the outbox's events: one multi-row INSERT ... RETURNING); PostgreSQL runs every
    # statement through it.
    if database.is_sqlite:
        assert (len(statements), not_direct) == (20, [])
    else:
        assert len(not_direct) == len(statements) == 23


async def test_a_new_customers_bill_runs_all_its_statements_straight_on_sqlite(api, database):
    await add(api, bill())

    async with counting(database) as statements, through_sqlalchemy(database) as not_direct:
        await add(api, bill())

    # The registration's bulk rows (accounts, their event and opening entries: plain SQL through
    # exec_driver_sql) go direct too.
    if database.is_sqlite:
        assert (len(statements), not_direct) == (28, [])
    else:
        assert len(not_direct) == len(statements) == 29
