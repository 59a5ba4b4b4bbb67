"""Ledger checks and set-ups written straight into the database, shared by the ledger tests."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.kernel.enums import PointsCategory
from app.ledger import repository as ledger_repository
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.models import Program
from app.storage.database import Database
from tests.conftest import TEST_NOW

programs = Program.__table__


async def assert_reconciled(database: Database) -> None:
    """Every balance equals the sum of its entries, and the lots hold exactly the positive balances."""
    async with database.read() as connection:
        assert await ledger.reconcile(connection) == []


async def count_events(database: Database, event_type: EventType) -> int:
    async with database.read() as connection:
        return (
            await connection.execute(
                select(func.count())
                .select_from(ledger_repository.events)
                .where(ledger_repository.events.c.event_type == event_type.value)
            )
        ).scalar_one()


async def program_id(database: Database, code: str) -> int:
    """The id of the program with this code (in a test with one organisation)."""
    async with database.read() as connection:
        return (await connection.execute(select(programs.c.id).where(programs.c.code == code))).scalar_one()


async def post_debit(
    database: Database,
    org_id: int,
    user_id: str | int,
    points: Decimal | int,
    *,
    event_type: EventType,
    entry_kind: EntryKind,
    program: str = "main",
) -> None:
    """A debit of the customer's REGULAR account in `program`, posted straight into the ledger at
    TEST_NOW: it takes the first-expiring lots first, and may take the balance below zero."""
    customer_id = int(user_id)

    async def work(connection: AsyncConnection) -> None:
        accounts = ledger_repository.accounts
        account = (
            await connection.execute(
                select(accounts.c.id, accounts.c.program_id)
                .join(programs, programs.c.id == accounts.c.program_id)
                .where(
                    accounts.c.customer_id == customer_id,
                    accounts.c.category == PointsCategory.REGULAR.value,
                    programs.c.code == program,
                )
            )
        ).one()
        await ledger.post_event(
            connection,
            org_id=org_id,
            now=TEST_NOW,
            draft=ledger.EventDraft(event_type, customer_id, None, None, None),
            postings=[
                ledger.Posting(
                    ledger.AccountRef(account.id, customer_id, account.program_id, PointsCategory.REGULAR),
                    EntryType.DEBIT,
                    entry_kind,
                    Decimal(points),
                )
            ],
        )

    await database.run_write(work)


async def spend(
    database: Database, org_id: int, user_id: str | int, points: Decimal | int, *, program: str = "main"
) -> None:
    """A debit as a redemption writes it."""
    await post_debit(
        database,
        org_id,
        user_id,
        points,
        event_type=EventType.POINTS_REDEMPTION,
        entry_kind=EntryKind.POINTS_REDEMPTION,
        program=program,
    )


async def overdraw(database: Database, org_id: int, user_id: str, points: Decimal) -> None:
    """A debit beyond the customer's main REGULAR balance: what a return of points already spent
    leaves where the program allows a negative balance."""
    await post_debit(
        database, org_id, user_id, points, event_type=EventType.TRANSACTION_RETURN, entry_kind=EntryKind.POINTS_RETURN
    )
