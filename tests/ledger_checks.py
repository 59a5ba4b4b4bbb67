"""Ledger checks and set-ups shared by the burn-loop tests."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.kernel.enums import PointsCategory
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
                select(func.count()).select_from(ledger.events).where(ledger.events.c.event_type == event_type.value)
            )
        ).scalar_one()


async def overdraw(database: Database, org_id: int, user_id: str, points: Decimal) -> None:
    """A debit beyond the customer's main REGULAR balance: what a return of points already spent
    leaves where the program allows a negative balance."""

    async def work(connection):
        accounts = ledger.accounts
        account = (
            await connection.execute(
                select(accounts.c.id, accounts.c.program_id)
                .join(programs, programs.c.id == accounts.c.program_id)
                .where(
                    accounts.c.customer_id == int(user_id),
                    accounts.c.category == PointsCategory.REGULAR.value,
                    programs.c.code == "main",
                )
            )
        ).one()
        await ledger.post_event(
            connection,
            org_id=org_id,
            now=TEST_NOW,
            draft=ledger.EventDraft(EventType.TRANSACTION_RETURN, int(user_id), None, None, None),
            postings=[
                ledger.Posting(
                    ledger.AccountRef(account.id, int(user_id), account.program_id, PointsCategory.REGULAR),
                    EntryType.DEBIT,
                    EntryKind.POINTS_RETURN,
                    points,
                )
            ],
        )

    await database.run_write(work)
