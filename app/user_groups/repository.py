"""The user groups' data access: groups by external id or group id, a new group, the group an
account holder backs. (Memberships are the customers domain's: app.customers.repository.)

SQLAlchemy Core on the caller's connection, on this domain's SQLModel table; statements built
once. Lookups by many values bind the whole list as one parameter, so a batch of an import finds
its groups in one statement whatever its size (app.storage.database.any_of).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.database import any_of, list_parameter
from app.storage.tables import table_of
from app.user_groups.models import UserGroup
from app.user_groups.views import GroupView

groups = table_of(UserGroup)

_COLUMNS = (groups.c.id, groups.c.customer_id, groups.c.external_id, groups.c.name, groups.c.created_at)
_INSERT = insert(groups).returning(groups.c.id)
_BY_ID = select(*_COLUMNS).where(groups.c.id == bindparam("group_id"))
_GROUP_OF_HOLDER = select(groups.c.id).where(groups.c.customer_id == bindparam("customer_id"))


@lru_cache(maxsize=8)
def _groups_statement(dialect: str, column: str, element_type: str) -> Any:
    """The org's groups whose `column` is in the list bound to :values (typed result columns:
    times come back as the table's type gives them)."""
    names = ", ".join(column.name for column in _COLUMNS)
    return text(
        f"SELECT {names} FROM {groups.name} WHERE org_id = :org_id "
        f"AND {column} {any_of(dialect, 'values', element_type)}"
    ).columns(*_COLUMNS)


def _view(row: Any) -> GroupView:
    return GroupView(row.id, row.customer_id, row.external_id, row.name, row.created_at)


async def groups_by_external_id(
    connection: AsyncConnection, *, org_id: int, external_ids: Sequence[str]
) -> list[GroupView]:
    """The org's groups with these external ids (unknown ones are absent). One statement."""
    if not external_ids:
        return []
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "values": list_parameter(dialect, external_ids)}
    rows = await connection.execute(_groups_statement(dialect, "external_id", "text"), parameters)
    return [_view(row) for row in rows]


async def groups_by_id(connection: AsyncConnection, *, org_id: int, group_ids: Sequence[int]) -> list[GroupView]:
    """The org's groups with these ids (unknown ones, and other orgs', are absent). One statement."""
    if not group_ids:
        return []
    dialect = connection.dialect.name
    parameters = {"org_id": org_id, "values": list_parameter(dialect, group_ids)}
    rows = await connection.execute(_groups_statement(dialect, "id", "bigint"), parameters)
    return [_view(row) for row in rows]


async def group_by_id(connection: AsyncConnection, group_id: int) -> GroupView:
    return _view((await connection.execute(_BY_ID, {"group_id": group_id})).one())


async def insert_group(
    connection: AsyncConnection, *, org_id: int, customer_id: int, external_id: str, name: str, now: datetime
) -> int:
    """A new group backed by `customer_id` (a USER_GROUP customer row); returns its id."""
    values = {"org_id": org_id, "customer_id": customer_id, "external_id": external_id, "name": name, "created_at": now}
    return (await connection.execute(_INSERT, values)).scalar_one()


async def group_of_holder(connection: AsyncConnection, customer_id: int) -> int | None:
    """The group whose account holder this customer row is, None for a customer."""
    return (await connection.execute(_GROUP_OF_HOLDER, {"customer_id": customer_id})).scalar_one_or_none()
