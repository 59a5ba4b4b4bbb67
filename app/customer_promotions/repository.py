"""The points promotions' data access: create a promotion once whoever else tries at the same
time, and find promotions by identifier or id.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel table; statements built
once (the insert once per dialect: ON CONFLICT is each dialect's own). Functions return
`PromotionView`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customer_promotions.models import CustomerPromotion
from app.customer_promotions.views import PromotionView
from app.organizations.models import ExpiryStrategy
from app.storage.database import conflict_insert
from app.storage.direct_statements import brief_read
from app.storage.tables import table_of

promotions = table_of(CustomerPromotion)

_COLUMNS = (
    promotions.c.id,
    promotions.c.identifier,
    promotions.c.name,
    promotions.c.program_id,
    promotions.c.expiry_strategy,
    promotions.c.expiry_value,
    promotions.c.created_at,
)
_BY_IDENTIFIER = select(*_COLUMNS).where(
    promotions.c.org_id == bindparam("org_id"), promotions.c.identifier == bindparam("identifier")
)
_BY_IDS = brief_read(select(*_COLUMNS).where(promotions.c.id.in_(bindparam("ids", expanding=True))))


@lru_cache(maxsize=4)
def _insert_if_new(dialect: str) -> Any:
    return conflict_insert(dialect, promotions).on_conflict_do_nothing(index_elements=["org_id", "identifier"])


def _view(row: Any) -> PromotionView:
    return PromotionView(
        row.id,
        row.identifier,
        row.name,
        row.program_id,
        ExpiryStrategy(row.expiry_strategy),
        row.expiry_value,
        row.created_at,
    )


async def insert_promotion_if_new(
    connection: AsyncConnection,
    *,
    org_id: int,
    identifier: str,
    name: str,
    program_id: int,
    expiry_strategy: ExpiryStrategy,
    expiry_value: int | None,
    now: datetime,
) -> None:
    """The promotion, unless one with this identifier exists: then nothing (on PostgreSQL, after
    waiting for the transaction that is writing it, if any)."""
    await connection.execute(
        _insert_if_new(connection.dialect.name),
        {
            "org_id": org_id,
            "identifier": identifier,
            "name": name,
            "program_id": program_id,
            "expiry_strategy": expiry_strategy.value,
            "expiry_value": expiry_value,
            "created_at": now,
        },
    )


async def promotion_by_identifier(connection: AsyncConnection, *, org_id: int, identifier: str) -> PromotionView | None:
    row = (await connection.execute(_BY_IDENTIFIER, {"org_id": org_id, "identifier": identifier})).one_or_none()
    return None if row is None else _view(row)


async def promotions_by_id(connection: AsyncConnection, promotion_ids: Sequence[int]) -> list[PromotionView]:
    """The promotions with these ids (unknown ones are absent)."""
    if not promotion_ids:
        return []
    return [_view(row) for row in await connection.execute(_BY_IDS, {"ids": list(set(promotion_ids))})]
