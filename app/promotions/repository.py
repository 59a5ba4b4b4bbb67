"""The promotions' data access: promotions, their codes, redemptions, usage counters and links.

SQLAlchemy Core on the caller's connection, on this domain's SQLModel tables; the statements a
bill runs (its codes, a customer's links, the guarded counters) are built once, at import, or
once per dialect where the dialect builds them (upserts). Functions return plain values and
rows: no other domain names a promotions table.

Counters move only through guarded statements (`n < :limit` to claim, `n > 0` to release): a
statement that moves no row means the limit is reached, or the count was given back already.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, func, insert, literal, select, text, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.promotions.models import (
    CouponResend,
    CouponStatus,
    LinkMode,
    PromoCode,
    PromoCodeCustomerUsage,
    PromoCodeLink,
    PromoCodeRedemption,
    PromoCodeSource,
    Promotion,
    PromotionCustomerUsage,
)
from app.storage.columns import UTCDateTime
from app.storage.database import conflict_insert, list_parameter
from app.storage.direct_statements import direct
from app.storage.tables import table_of

promotions = table_of(Promotion)
codes = table_of(PromoCode)
redemptions = table_of(PromoCodeRedemption)
code_usage = table_of(PromoCodeCustomerUsage)
promotion_usage = table_of(PromotionCustomerUsage)
links = table_of(PromoCodeLink)
resends = table_of(CouponResend)


# --- Promotions ------------------------------------------------------------------------------

_PROMOTION = select(promotions).where(
    promotions.c.org_id == bindparam("org_id"), promotions.c.id == bindparam("promotion_id")
)
_INSERT_PROMOTION = insert(promotions).returning(promotions.c.id)
# Guarded: a concurrent end keeps the earlier instant.
_END_PROMOTION = (
    update(promotions)
    .where(promotions.c.id == bindparam("promotion_id"), promotions.c.valid_until > bindparam("now"))
    .values(valid_until=bindparam("now"))
)
_COUNT_NEW_CODES = (
    update(promotions)
    .where(promotions.c.id == bindparam("promotion_id"))
    .values(codes_count=promotions.c.codes_count + bindparam("count"))
)


async def promotion(connection: AsyncConnection, *, org_id: int, promotion_id: int) -> Any:
    """The org's promotion (every column), None when it has none with this id."""
    return (await connection.execute(_PROMOTION, {"org_id": org_id, "promotion_id": promotion_id})).one_or_none()


async def promotions_page(connection: AsyncConnection, *, org_id: int, limit: int, before_id: int | None) -> list[Any]:
    """Up to `limit` of the org's promotions (every column), newest first, below `before_id`."""
    conditions = [promotions.c.org_id == org_id]
    if before_id is not None:
        conditions.append(promotions.c.id < before_id)
    query = select(promotions).where(*conditions).order_by(promotions.c.id.desc()).limit(limit)
    return list((await connection.execute(query)).all())


async def insert_promotion(connection: AsyncConnection, values: Mapping[str, Any]) -> int:
    return (await connection.execute(_INSERT_PROMOTION, values)).scalar_one()


async def end_promotion(connection: AsyncConnection, *, promotion_id: int, now: datetime) -> None:
    """Move the promotion's end to `now`, unless it ends earlier already."""
    await connection.execute(_END_PROMOTION, {"promotion_id": promotion_id, "now": now})


# --- Codes -----------------------------------------------------------------------------------


@cache
def _insert_new_codes_statement(dialect_name: str) -> Any:
    return (
        conflict_insert(dialect_name, codes)
        .on_conflict_do_nothing(index_elements=[codes.c.org_id, codes.c.code])
        .returning(codes.c.code)
    )


async def insert_new_codes(
    connection: AsyncConnection,
    *,
    org_id: int,
    promotion_id: int,
    batch: Sequence[str],
    source: PromoCodeSource,
    now: datetime,
) -> list[str]:
    """Insert the codes the organisation does not have yet (the unique index decides, so a
    concurrent writer of the same code cannot slip in): the codes inserted. The promotion's
    code count is the caller's to move (`count_new_codes`)."""
    rows = [
        {
            "org_id": org_id,
            "promotion_id": promotion_id,
            "code": code,
            "source": source.value,
            "redemptions_count": 0,
            "created_at": now,
        }
        for code in batch
    ]
    statement = _insert_new_codes_statement(connection.dialect.name)
    return list((await connection.execute(statement, rows)).scalars())


# Generated codes: one statement per batch, the codes bound as one list parameter (JSON text on
# SQLite, an array on PostgreSQL) and expanded by the database, so no Python object per row is
# built or bound (Core's executemany with RETURNING cost ~20 us a row). Codes the organisation has
# (or that repeat within the batch) are skipped by the unique index; the row count says how many
# went in. SQLite needs `WHERE true` to tell the upsert from a join's ON; PostgreSQL needs the
# parameters' types (a SELECT's parameters are not typed by the INSERT's columns).
_CODES_FROM_LIST = {
    "sqlite": "SELECT :org_id, :promotion_id, value, :source, 0, :now FROM json_each(:codes) WHERE true",
    "postgresql": (
        "SELECT CAST(:org_id AS integer), CAST(:promotion_id AS integer), value, CAST(:source AS varchar), 0, "
        "CAST(:now AS timestamptz) FROM unnest(CAST(:codes AS varchar[])) AS listed(value)"
    ),
}


@cache
def _insert_generated_codes_statement(dialect_name: str) -> Any:
    return text(
        f"INSERT INTO {codes.name} (org_id, promotion_id, code, source, redemptions_count, created_at) "
        f"{_CODES_FROM_LIST[dialect_name]} ON CONFLICT (org_id, code) DO NOTHING"
    ).bindparams(bindparam("now", type_=UTCDateTime()))


async def insert_generated_codes(
    connection: AsyncConnection, *, org_id: int, promotion_id: int, batch: Sequence[str], now: datetime
) -> int:
    """Insert GENERATED codes, skipping any the organisation has already (the unique index
    decides, so a concurrent writer of the same code cannot slip in): how many went in. The
    promotion's code count is the caller's to move (`count_new_codes`)."""
    dialect_name = connection.dialect.name
    result = await connection.execute(
        _insert_generated_codes_statement(dialect_name),
        {
            "org_id": org_id,
            "promotion_id": promotion_id,
            "source": PromoCodeSource.GENERATED.value,
            "now": now,
            "codes": list_parameter(dialect_name, batch),
        },
    )
    return int(result.rowcount)


async def count_new_codes(connection: AsyncConnection, *, promotion_id: int, count: int) -> None:
    await connection.execute(_COUNT_NEW_CODES, {"promotion_id": promotion_id, "count": count})


async def existing_codes(connection: AsyncConnection, *, org_id: int, batch: Sequence[str]) -> set[str]:
    """Which of these codes the organisation has already."""
    query = select(codes.c.code).where(codes.c.org_id == org_id, codes.c.code.in_(list(batch)))
    return set((await connection.execute(query)).scalars())


async def code(connection: AsyncConnection, *, org_id: int, code: str) -> Any:
    """The org's code (every column), None when it has no such code."""
    query = select(codes).where(codes.c.org_id == org_id, codes.c.code == code)
    return (await connection.execute(query)).one_or_none()


async def code_source(connection: AsyncConnection, code_id: int) -> str:
    return (await connection.execute(select(codes.c.source).where(codes.c.id == code_id))).scalar_one()


# --- Codes against a cart --------------------------------------------------------------------

_CODES_WITH_PROMOTION_BASE = select(
    codes.c.id.label("code_id"), codes.c.code, codes.c.redemptions_count.label("code_redemptions_count"), promotions
).join(promotions, promotions.c.id == codes.c.promotion_id)
_CODES_WITH_PROMOTION = _CODES_WITH_PROMOTION_BASE.where(
    codes.c.org_id == bindparam("org_id"), codes.c.code.in_(bindparam("codes", expanding=True))
)
# One code (the usual bill): no expanding IN to render on every execution.
_CODE_WITH_PROMOTION = _CODES_WITH_PROMOTION_BASE.where(
    codes.c.org_id == bindparam("org_id"), codes.c.code == bindparam("code")
)
# The one lookup addTransaction makes for a customer named on a bill with no code: their links in use.
_ACTIVE_LINKS = direct(
    select(
        links.c.id.label("link_id"),
        links.c.mode,
        codes.c.id.label("code_id"),
        codes.c.code,
        codes.c.redemptions_count.label("code_redemptions_count"),
        promotions,
    )
    .join(codes, codes.c.id == links.c.code_id)
    .join(promotions, promotions.c.id == codes.c.promotion_id)
    .where(links.c.customer_id == bindparam("usage_customer_id"), links.c.used_at.is_(None))
    .order_by(links.c.id)
)
_CUSTOMER_CODE_USES = select(code_usage.c.redemptions_count).where(
    code_usage.c.code_id == bindparam("code_id"), code_usage.c.customer_id == bindparam("customer_id")
)
_CUSTOMER_PROMOTION_USES = select(promotion_usage.c.transactions_count).where(
    promotion_usage.c.promotion_id == bindparam("promotion_id"),
    promotion_usage.c.customer_id == bindparam("customer_id"),
)


async def codes_with_promotion(connection: AsyncConnection, *, org_id: int, wanted: Sequence[str]) -> list[Any]:
    """The org's codes among `wanted`, each with its promotion: rows (code_id, code,
    code_redemptions_count, then every promotion column)."""
    if len(wanted) == 1:
        result = await connection.execute(_CODE_WITH_PROMOTION, {"org_id": org_id, "code": wanted[0]})
    else:
        result = await connection.execute(_CODES_WITH_PROMOTION, {"org_id": org_id, "codes": list(wanted)})
    return list(result.all())


async def active_links(connection: AsyncConnection, customer_id: int) -> list[Any]:
    """The customer's links not used up, by link id: rows (link_id, mode, code_id, code,
    code_redemptions_count, then every promotion column)."""
    return list((await connection.execute(_ACTIVE_LINKS, {"usage_customer_id": customer_id})).all())


async def customer_code_uses(connection: AsyncConnection, *, code_id: int, customer_id: int) -> int:
    parameters = {"code_id": code_id, "customer_id": customer_id}
    return (await connection.execute(_CUSTOMER_CODE_USES, parameters)).scalar_one_or_none() or 0


async def customer_promotion_uses(connection: AsyncConnection, *, promotion_id: int, customer_id: int) -> int:
    """The customer's bills the promotion applied to."""
    parameters = {"promotion_id": promotion_id, "customer_id": customer_id}
    return (await connection.execute(_CUSTOMER_PROMOTION_USES, parameters)).scalar_one_or_none() or 0


# --- Counting redemptions against the limits -------------------------------------------------


def _guarded_increment(table: Any, column: Any, has_limit: bool) -> Any:
    condition = [table.c.id == bindparam("row_id")]
    if has_limit:
        condition.append(column < bindparam("limit"))
    return update(table).where(*condition).values({column.name: column + 1})


_CLAIM_CODE = {has: _guarded_increment(codes, codes.c.redemptions_count, has) for has in (False, True)}
_CLAIM_PROMOTION = {has: _guarded_increment(promotions, promotions.c.redemptions_count, has) for has in (False, True)}
_RELEASE_CODE = (
    update(codes)
    .where(codes.c.id == bindparam("row_id"), codes.c.redemptions_count > 0)
    .values(redemptions_count=codes.c.redemptions_count - 1)
)
_RELEASE_PROMOTION = (
    update(promotions)
    .where(promotions.c.id == bindparam("row_id"), promotions.c.redemptions_count > 0)
    .values(redemptions_count=promotions.c.redemptions_count - 1)
)
_RELEASE_CODE_USAGE = (
    update(code_usage)
    .where(
        code_usage.c.code_id == bindparam("owner_id"),
        code_usage.c.customer_id == bindparam("usage_customer_id"),
        code_usage.c.redemptions_count > 0,
    )
    .values(redemptions_count=code_usage.c.redemptions_count - 1)
)
_RELEASE_PROMOTION_USAGE = (
    update(promotion_usage)
    .where(
        promotion_usage.c.promotion_id == bindparam("owner_id"),
        promotion_usage.c.customer_id == bindparam("usage_customer_id"),
        promotion_usage.c.transactions_count > 0,
    )
    .values(transactions_count=promotion_usage.c.transactions_count - 1)
)


@cache
def _usage_upsert(dialect_name: str, table_name: str, has_limit: bool) -> Any:
    """Built once per dialect, table and limit presence: building a statement costs more than running it.

    The customer's first use inserts 1 (every limit is at least 1); later uses add 1 while under
    the limit."""
    table, owner_column, count_column = {
        code_usage.name: (code_usage, code_usage.c.code_id, code_usage.c.redemptions_count),
        promotion_usage.name: (promotion_usage, promotion_usage.c.promotion_id, promotion_usage.c.transactions_count),
    }[table_name]
    statement = conflict_insert(dialect_name, table).values(
        {owner_column.name: bindparam("owner_id"), "customer_id": bindparam("usage_customer_id"), count_column.name: 1}
    )
    return statement.on_conflict_do_update(
        index_elements=[owner_column, table.c.customer_id],
        set_={count_column.name: count_column + 1},
        where=count_column < bindparam("usage_limit") if has_limit else None,
    ).returning(table.c.id)


async def _claim_usage(
    connection: AsyncConnection, table_name: str, owner_id: int, customer_id: int, limit: int | None
) -> bool:
    statement = _usage_upsert(connection.dialect.name, table_name, limit is not None)
    parameters: dict[str, Any] = {"owner_id": owner_id, "usage_customer_id": customer_id}
    if limit is not None:
        parameters["usage_limit"] = limit
    return (await connection.execute(statement, parameters)).first() is not None


async def claim_code(connection: AsyncConnection, *, code_id: int, limit: int | None) -> bool:
    """Count one redemption of the code, within `limit` (None: no limit): False when it is reached."""
    moved = await connection.execute(_CLAIM_CODE[limit is not None], {"row_id": code_id, "limit": limit})
    return moved.rowcount == 1


async def claim_promotion(connection: AsyncConnection, *, promotion_id: int, limit: int | None) -> bool:
    """Count one redemption of the promotion, within `limit` (None: no limit): False when it is reached."""
    moved = await connection.execute(_CLAIM_PROMOTION[limit is not None], {"row_id": promotion_id, "limit": limit})
    return moved.rowcount == 1


async def claim_code_usage(connection: AsyncConnection, *, code_id: int, customer_id: int, limit: int | None) -> bool:
    """Count one use of the code by the customer, within `limit`: False when it is reached."""
    return await _claim_usage(connection, code_usage.name, code_id, customer_id, limit)


async def claim_promotion_usage(
    connection: AsyncConnection, *, promotion_id: int, customer_id: int, limit: int | None
) -> bool:
    """Count one bill of the customer the promotion applies to, within `limit`: False when it is reached."""
    return await _claim_usage(connection, promotion_usage.name, promotion_id, customer_id, limit)


async def release_code(connection: AsyncConnection, code_id: int) -> bool:
    """Give back one redemption of the code: False when it counts none."""
    return (await connection.execute(_RELEASE_CODE, {"row_id": code_id})).rowcount == 1


async def release_promotion(connection: AsyncConnection, promotion_id: int) -> bool:
    return (await connection.execute(_RELEASE_PROMOTION, {"row_id": promotion_id})).rowcount == 1


async def release_code_usage(connection: AsyncConnection, *, code_id: int, customer_id: int) -> bool:
    parameters = {"owner_id": code_id, "usage_customer_id": customer_id}
    return (await connection.execute(_RELEASE_CODE_USAGE, parameters)).rowcount == 1


async def release_promotion_usage(connection: AsyncConnection, *, promotion_id: int, customer_id: int) -> bool:
    parameters = {"owner_id": promotion_id, "usage_customer_id": customer_id}
    return (await connection.execute(_RELEASE_PROMOTION_USAGE, parameters)).rowcount == 1


# --- Redemptions on bills --------------------------------------------------------------------

_INSERT_REDEMPTIONS = insert(redemptions)
_USE_LINKS = (
    update(links)
    .where(links.c.id.in_(bindparam("link_ids", expanding=True)), links.c.used_at.is_(None))
    .values(used_at=bindparam("now"), used_transaction_id=bindparam("transaction_id"))
)
_LIVE_REDEMPTIONS_OF_BILL = (
    select(
        redemptions.c.id,
        redemptions.c.code_id,
        redemptions.c.promotion_id,
        redemptions.c.customer_id,
        redemptions.c.discount,
        codes.c.code,
    )
    .join(codes, codes.c.id == redemptions.c.code_id)
    .where(redemptions.c.transaction_id == bindparam("bill_id"), redemptions.c.reversed_at.is_(None))
    .order_by(redemptions.c.id)
)
_MARK_REVERSED = (
    update(redemptions)
    .where(redemptions.c.id == bindparam("redemption_id"), redemptions.c.reversed_at.is_(None))
    .values(reversed_at=bindparam("now"), reversal_transaction_id=bindparam("return_id"))
)


async def insert_redemptions(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """A bill's redemptions (the promo_code_redemptions columns by name), in one executemany."""
    await connection.execute(_INSERT_REDEMPTIONS, rows)


async def use_links(
    connection: AsyncConnection, *, link_ids: Sequence[int], transaction_id: int, now: datetime
) -> None:
    """Mark these links used by the bill (those not used already)."""
    parameters = {"link_ids": list(link_ids), "transaction_id": transaction_id, "now": now}
    await connection.execute(_USE_LINKS, parameters)


async def live_redemptions_of_bill(connection: AsyncConnection, bill_id: int) -> list[Any]:
    """The bill's redemptions not reversed, by id: rows (id, code_id, promotion_id, customer_id,
    discount, code)."""
    return list((await connection.execute(_LIVE_REDEMPTIONS_OF_BILL, {"bill_id": bill_id})).all())


async def mark_reversed(connection: AsyncConnection, *, redemption_id: int, return_id: int, now: datetime) -> bool:
    """Mark the redemption reversed by the return (guarded): False when it was reversed already."""
    parameters = {"redemption_id": redemption_id, "return_id": return_id, "now": now}
    return (await connection.execute(_MARK_REVERSED, parameters)).rowcount == 1


async def code_redemptions(
    connection: AsyncConnection, *, code_id: int, limit: int, before_id: int | None
) -> list[Any]:
    """Up to `limit` of the code's redemptions (every column), newest first, below `before_id`."""
    conditions = [redemptions.c.code_id == code_id]
    if before_id is not None:
        conditions.append(redemptions.c.id < before_id)
    query = select(redemptions).where(*conditions).order_by(redemptions.c.id.desc()).limit(limit)
    return list((await connection.execute(query)).all())


# --- Links -----------------------------------------------------------------------------------

_LINK_VIEW = (
    select(
        links.c.id,
        codes.c.code,
        links.c.customer_id,
        links.c.mode,
        promotions.c.id.label("promotion_id"),
        promotions.c.name.label("promotion_name"),
        promotions.c.valid_until,
        links.c.linked_at,
        links.c.used_at,
        links.c.used_transaction_id,
    )
    .join(codes, codes.c.id == links.c.code_id)
    .join(promotions, promotions.c.id == codes.c.promotion_id)
)
_INSERT_LINK = insert(links).returning(links.c.id)


async def link(connection: AsyncConnection, link_id: int) -> Any:
    """The link as member care shows it: a row (id, code, customer_id, mode, promotion_id,
    promotion_name, valid_until, linked_at, used_at, used_transaction_id)."""
    return (await connection.execute(_LINK_VIEW.where(links.c.id == link_id))).one()


async def customer_links(connection: AsyncConnection, *, org_id: int, customer_id: int) -> list[Any]:
    """The customer's links (rows as `link` reads them), newest first."""
    query = _LINK_VIEW.where(links.c.org_id == org_id, links.c.customer_id == customer_id).order_by(links.c.id.desc())
    return list((await connection.execute(query)).all())


async def links_of_code(connection: AsyncConnection, code_id: int) -> list[Any]:
    """Every link of the code: rows (id, customer_id, mode, used_at)."""
    query = select(links.c.id, links.c.customer_id, links.c.mode, links.c.used_at).where(links.c.code_id == code_id)
    return list((await connection.execute(query)).all())


async def set_link_mode(connection: AsyncConnection, *, link_id: int, mode: str) -> None:
    await connection.execute(update(links).where(links.c.id == link_id).values(mode=mode))


async def insert_link(
    connection: AsyncConnection, *, org_id: int, code_id: int, customer_id: int, mode: str, now: datetime
) -> int:
    values = {
        "org_id": org_id,
        "code_id": code_id,
        "customer_id": customer_id,
        "mode": mode,
        "linked_at": now,
        "used_at": None,
        "used_transaction_id": None,
    }
    return (await connection.execute(_INSERT_LINK, values)).scalar_one()


# --- Member care: a customer's coupons -------------------------------------------------------


def _customer_coupons_statement(*, after: bool, with_status: bool, with_code: bool) -> Any:
    """A customer's codes (linked to them, or redeemed by them), newest code first, each with its
    promotion, the customer's link, their redemptions not reversed, and its CouponStatus at :now
    (computed here, so that the status filter and keyset pages agree)."""

    def keyset(column: Any) -> list[Any]:
        return [column < bindparam("before_id")] if after else []

    # The customer's codes, each once: two index walks (links, redemptions by customer).
    held = union(
        select(links.c.code_id).where(
            links.c.org_id == bindparam("org_id"),
            links.c.customer_id == bindparam("customer_id"),
            *keyset(links.c.code_id),
        ),
        select(redemptions.c.code_id).where(
            redemptions.c.org_id == bindparam("org_id"),
            redemptions.c.customer_id == bindparam("customer_id"),
            *keyset(redemptions.c.code_id),
        ),
    ).subquery("held")
    # Their redemptions not reversed, counted once per code (not once per use of the count).
    live = (
        select(redemptions.c.code_id, func.count().label("redemptions_count"))
        .where(
            redemptions.c.org_id == bindparam("org_id"),
            redemptions.c.customer_id == bindparam("customer_id"),
            redemptions.c.reversed_at.is_(None),
        )
        .group_by(redemptions.c.code_id)
        .subquery("live")
    )
    live_redemptions = func.coalesce(live.c.redemptions_count, 0)
    used_up = (live_redemptions > 0) & (
        links.c.mode.is_(None)
        | (links.c.mode == literal(LinkMode.NEXT_CHECKOUT.value))
        | (
            promotions.c.customer_code_redemption_limit.is_not(None)
            & (live_redemptions >= promotions.c.customer_code_redemption_limit)
        )
    )
    status = case(
        (used_up, literal(CouponStatus.REDEEMED.value)),
        (promotions.c.valid_until <= bindparam("now"), literal(CouponStatus.EXPIRED.value)),
        (promotions.c.valid_from > bindparam("now"), literal(CouponStatus.NOT_YET_ACTIVE.value)),
        else_=literal(CouponStatus.ACTIVE.value),
    )
    query = (
        select(
            codes.c.id.label("code_id"),
            codes.c.code,
            codes.c.source,
            promotions.c.id.label("promotion_id"),
            promotions.c.name.label("promotion_name"),
            promotions.c.valid_from,
            promotions.c.valid_until,
            links.c.id.label("link_id"),
            links.c.mode.label("link_mode"),
            links.c.linked_at,
            live_redemptions.label("redemptions_count"),
            status.label("status"),
        )
        .select_from(held)
        .join(codes, codes.c.id == held.c.code_id)
        .join(promotions, promotions.c.id == codes.c.promotion_id)
        .outerjoin(links, (links.c.code_id == codes.c.id) & (links.c.customer_id == bindparam("customer_id")))
        .outerjoin(live, live.c.code_id == codes.c.id)
    )
    if with_status:
        query = query.where(status == bindparam("status"))
    if with_code:
        query = query.where(codes.c.id == bindparam("code_id"))
    return query.order_by(codes.c.id.desc()).limit(bindparam("limit"))


_CUSTOMER_COUPONS = {
    (after, with_status, with_code): _customer_coupons_statement(
        after=after, with_status=with_status, with_code=with_code
    )
    for after in (False, True)
    for with_status in (False, True)
    for with_code in (False, True)
}


async def customer_coupons(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    now: datetime,
    limit: int,
    before_id: int | None = None,
    status: CouponStatus | None = None,
    code_id: int | None = None,
) -> list[Any]:
    """Up to `limit` of the customer's codes, newest code first (below `before_id`; of `status`;
    only `code_id`): rows (code_id, code, source, promotion_id, promotion_name, valid_from,
    valid_until, link_id, link_mode, linked_at, redemptions_count, status)."""
    parameters: dict[str, Any] = {"org_id": org_id, "customer_id": customer_id, "now": now, "limit": limit}
    if before_id is not None:
        parameters["before_id"] = before_id
    if status is not None:
        parameters["status"] = status.value
    if code_id is not None:
        parameters["code_id"] = code_id
    statement = _CUSTOMER_COUPONS[before_id is not None, status is not None, code_id is not None]
    return list((await connection.execute(statement, parameters)).all())


def _customer_redemptions_statement(*, after: bool) -> Any:
    query = (
        select(
            redemptions.c.id,
            codes.c.code,
            promotions.c.id.label("promotion_id"),
            promotions.c.name.label("promotion_name"),
            redemptions.c.transaction_id,
            redemptions.c.discount,
            redemptions.c.linked,
            redemptions.c.redeemed_at,
            redemptions.c.reversed_at,
            redemptions.c.reversal_transaction_id,
        )
        .join(codes, codes.c.id == redemptions.c.code_id)
        .join(promotions, promotions.c.id == redemptions.c.promotion_id)
        .where(redemptions.c.org_id == bindparam("org_id"), redemptions.c.customer_id == bindparam("customer_id"))
    )
    if after:
        query = query.where(redemptions.c.id < bindparam("before_id"))
    return query.order_by(redemptions.c.id.desc()).limit(bindparam("limit"))


_CUSTOMER_REDEMPTIONS = {after: _customer_redemptions_statement(after=after) for after in (False, True)}


async def customer_redemptions(
    connection: AsyncConnection, *, org_id: int, customer_id: int, limit: int, before_id: int | None
) -> list[Any]:
    """Up to `limit` of the customer's code redemptions, newest first (below `before_id`): rows (id,
    code, promotion_id, promotion_name, transaction_id, discount, linked, redeemed_at, reversed_at,
    reversal_transaction_id)."""
    parameters: dict[str, Any] = {"org_id": org_id, "customer_id": customer_id, "limit": limit}
    if before_id is not None:
        parameters["before_id"] = before_id
    return list((await connection.execute(_CUSTOMER_REDEMPTIONS[before_id is not None], parameters)).all())


_INSERT_RESEND = insert(resends).returning(resends.c.id)
_RESEND = select(resends).where(resends.c.org_id == bindparam("org_id"), resends.c.id == bindparam("resend_id"))


async def insert_resend(
    connection: AsyncConnection,
    *,
    org_id: int,
    customer_id: int,
    code_id: int,
    link_id: int,
    outbox_event_id: int,
    now: datetime,
) -> int:
    values = {
        "org_id": org_id,
        "customer_id": customer_id,
        "code_id": code_id,
        "link_id": link_id,
        "outbox_event_id": outbox_event_id,
        "requested_at": now,
    }
    return (await connection.execute(_INSERT_RESEND, values)).scalar_one()


async def resend(connection: AsyncConnection, *, org_id: int, resend_id: int) -> Any:
    """The org's resend request (every column)."""
    return (await connection.execute(_RESEND, {"org_id": org_id, "resend_id": resend_id})).one()


# --- Reconciliation --------------------------------------------------------------------------


async def counters_out_of_step(
    connection: AsyncConnection, org_id: int | None = None
) -> list[tuple[str, int, int, int]]:
    """Every usage counter that differs from the redemption rows it counts (those not reversed):
    (counter, row id, stored, from redemptions), the counter one of promotion, promotion_codes,
    code, code_customer, promotion_customer."""
    live = redemptions.c.reversed_at.is_(None)

    def counted(*conditions: Any) -> Any:
        return select(func.count()).select_from(redemptions).where(live, *conditions).scalar_subquery()

    checks = [
        (
            "promotion",
            promotions.c.id,
            promotions.c.redemptions_count,
            counted(redemptions.c.promotion_id == promotions.c.id),
            promotions.c.org_id,
        ),
        (
            "promotion_codes",
            promotions.c.id,
            promotions.c.codes_count,
            select(func.count()).select_from(codes).where(codes.c.promotion_id == promotions.c.id).scalar_subquery(),
            promotions.c.org_id,
        ),
        ("code", codes.c.id, codes.c.redemptions_count, counted(redemptions.c.code_id == codes.c.id), codes.c.org_id),
        (
            "code_customer",
            code_usage.c.id,
            code_usage.c.redemptions_count,
            counted(
                redemptions.c.code_id == code_usage.c.code_id, redemptions.c.customer_id == code_usage.c.customer_id
            ),
            None,
        ),
        (
            "promotion_customer",
            promotion_usage.c.id,
            promotion_usage.c.transactions_count,
            select(func.count(func.distinct(redemptions.c.transaction_id)))
            .select_from(redemptions)
            .where(
                live,
                redemptions.c.promotion_id == promotion_usage.c.promotion_id,
                redemptions.c.customer_id == promotion_usage.c.customer_id,
            )
            .scalar_subquery(),
            None,
        ),
    ]
    found: list[tuple[str, int, int, int]] = []
    for name, id_column, stored_column, expected, org_column in checks:
        statement = select(id_column, stored_column, expected.label("expected"))
        if org_id is not None:
            if org_column is not None:
                statement = statement.where(org_column == org_id)
            elif name == "code_customer":
                statement = statement.where(
                    code_usage.c.code_id.in_(select(codes.c.id).where(codes.c.org_id == org_id))
                )
            else:
                statement = statement.where(
                    promotion_usage.c.promotion_id.in_(select(promotions.c.id).where(promotions.c.org_id == org_id))
                )
        statement = statement.where(stored_column != expected)
        found.extend((name, row[0], row[1], row.expected) for row in await connection.execute(statement))
    return found
