"""The leads' data access: a new lead, a lead locked for a change, its changes, a customer's page
of leads with their status histories.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; statements built
once, at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.leads.models import Lead, LeadStatusChange
from app.leads.views import LeadView, StatusChangeView
from app.storage.customer_rows import move_parameters, move_to_survivor_statement
from app.storage.database import any_of, list_parameter
from app.storage.id_blocks import reserve_ids
from app.storage.tables import table_of

leads = table_of(Lead)
changes = table_of(LeadStatusChange)

_COLUMNS = (
    leads.c.id,
    leads.c.customer_id,
    leads.c.lead_type,
    leads.c.lead_for,
    leads.c.status,
    leads.c.sub_status,
    leads.c.extended_fields,
    leads.c.created_at,
    leads.c.updated_at,
    leads.c.last_follow_up_at,
    leads.c.next_follow_up_at,
)
_INSERT = insert(leads).returning(leads.c.id)
_INSERT_MANY = insert(leads)
_INSERT_CHANGE = insert(changes)
_MOVE_LEADS = move_to_survivor_statement(leads, leads.c.id)
# Locked for its change (FOR UPDATE on PostgreSQL; SQLite's one writer excludes everyone else).
_LOCKED = (
    select(*_COLUMNS).where(leads.c.org_id == bindparam("org_id"), leads.c.id == bindparam("lead_id")).with_for_update()
)
_SET_STATUS = (
    update(leads)
    .where(leads.c.id == bindparam("lead_id"))
    .values(status=bindparam("status"), sub_status=bindparam("sub_status"), updated_at=bindparam("now"))
)
_SET_FOLLOW_UP = (
    update(leads)
    .where(leads.c.id == bindparam("lead_id"))
    .values(
        last_follow_up_at=bindparam("last_follow_up_at"),
        next_follow_up_at=bindparam("next_follow_up_at"),
        updated_at=bindparam("now"),
    )
)


def _page(*, status: bool, after: bool) -> Any:
    """A customer's leads, newest first (keyset: older than `before_id`), optionally of one status."""
    query = select(*_COLUMNS).where(
        leads.c.org_id == bindparam("org_id"), leads.c.customer_id == bindparam("customer_id")
    )
    if status:
        query = query.where(leads.c.status == bindparam("status"))
    if after:
        query = query.where(leads.c.id < bindparam("before_id"))
    return query.order_by(leads.c.id.desc()).limit(bindparam("limit"))


_PAGES = {(status, after): _page(status=status, after=after) for status in (False, True) for after in (False, True)}


def _view(row: Any) -> LeadView:
    return LeadView(*row)


async def insert_lead(connection: AsyncConnection, values: dict[str, Any]) -> int:
    """A new lead (values: the table's columns but id); returns its id."""
    return (await connection.execute(_INSERT, values)).scalar_one()


async def insert_leads(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """New leads (each: the table's columns but id) in one executemany; their ids, in order. The ids
    are reserved first: a RETURNING of many rows in order runs a statement per row on SQLite."""
    lead_ids = await reserve_ids(connection, leads, len(rows))
    await connection.execute(
        _INSERT_MANY, [{**row, "id": lead_id} for row, lead_id in zip(rows, lead_ids, strict=True)]
    )
    return lead_ids


async def insert_status_changes(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Status history rows (each: the table's columns but id), in one batched statement."""
    await connection.execute(_INSERT_CHANGE, list(rows))


async def insert_status_change(
    connection: AsyncConnection, *, org_id: int, lead_id: int, status: str, sub_status: str | None, now: datetime
) -> None:
    values = {"org_id": org_id, "lead_id": lead_id, "status": status, "sub_status": sub_status, "changed_at": now}
    await connection.execute(_INSERT_CHANGE, values)


async def locked_lead(connection: AsyncConnection, *, org_id: int, lead_id: int) -> LeadView | None:
    """The org's lead, locked until the transaction ends; None when the org has no such lead."""
    row = (await connection.execute(_LOCKED, {"org_id": org_id, "lead_id": lead_id})).one_or_none()
    return _view(row) if row is not None else None


async def set_status(
    connection: AsyncConnection, *, lead_id: int, status: str, sub_status: str | None, now: datetime
) -> None:
    await connection.execute(_SET_STATUS, {"lead_id": lead_id, "status": status, "sub_status": sub_status, "now": now})


async def set_follow_up(
    connection: AsyncConnection,
    *,
    lead_id: int,
    last_follow_up_at: datetime,
    next_follow_up_at: datetime | None,
    now: datetime,
) -> None:
    values = {
        "lead_id": lead_id,
        "last_follow_up_at": last_follow_up_at,
        "next_follow_up_at": next_follow_up_at,
        "now": now,
    }
    await connection.execute(_SET_FOLLOW_UP, values)


async def customer_leads(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    status: str | None,
    limit: int,
    before_id: int | None,
) -> list[LeadView]:
    parameters: dict[str, Any] = {"org_id": org_id, "customer_id": customer_id, "limit": limit}
    if status is not None:
        parameters["status"] = status
    if before_id is not None:
        parameters["before_id"] = before_id
    statement = _PAGES[(status is not None, before_id is not None)]
    return [_view(row) for row in await connection.execute(statement, parameters)]


_HISTORY_COLUMNS = (changes.c.lead_id, changes.c.status, changes.c.sub_status, changes.c.changed_at)


def _history_statement(dialect: str) -> Any:
    names = ", ".join(column.name for column in _HISTORY_COLUMNS)
    return text(
        f"SELECT {names} FROM {changes.name} WHERE org_id = :org_id "
        f"AND lead_id {any_of(dialect, 'lead_ids', 'bigint')} ORDER BY lead_id, id"
    ).columns(*_HISTORY_COLUMNS)


_HISTORY = {dialect: _history_statement(dialect) for dialect in ("sqlite", "postgresql")}


async def status_histories(
    connection: AsyncConnection, *, org_id: int, lead_ids: Sequence[int]
) -> dict[int, list[StatusChangeView]]:
    """Each lead's status changes, oldest first, for all the leads in one statement."""
    found: dict[int, list[StatusChangeView]] = {lead_id: [] for lead_id in lead_ids}
    if not lead_ids:
        return found
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "lead_ids": list_parameter(dialect, lead_ids)}
    for row in await connection.execute(_HISTORY[dialect], parameters):
        found[row.lead_id].append(StatusChangeView(row.status, row.sub_status, row.changed_at))
    return found


async def move_leads(connection: AsyncConnection, *, org_id: int, survivor_id: int, victim_id: int) -> list[int]:
    """A merge: the victim's leads become the survivor's (their status histories hang on the
    lead, so they come along). The moved leads' ids, oldest first."""
    parameters = move_parameters(org_id=org_id, survivor_id=survivor_id, victim_id=victim_id)
    return sorted((await connection.execute(_MOVE_LEADS, parameters)).scalars())
