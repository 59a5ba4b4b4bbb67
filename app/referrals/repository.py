"""Referrals' statements, built once (the ON CONFLICT one once per dialect)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.referrals.models import ReferralAward, ReferralCode
from app.storage.database import conflict_insert
from app.storage.direct_statements import direct
from app.storage.tables import table_of

codes = table_of(ReferralCode)
awards = table_of(ReferralAward)


@cache
def _insert_code(dialect: str) -> Any:
    """A code unless another customer of the org holds it: no row back on a collision."""
    return direct(
        conflict_insert(dialect, codes)
        .on_conflict_do_nothing(index_elements=["org_id", "code"])
        .returning(codes.c.customer_id)
    )


async def insert_code(connection: AsyncConnection, *, org_id: int, customer_id: int, code: str, now: datetime) -> bool:
    """True when the code was free and is now this customer's."""
    row = (
        await connection.execute(
            _insert_code(connection.dialect.name),
            {"org_id": org_id, "customer_id": customer_id, "code": code, "created_at": now},
        )
    ).first()
    return row is not None


@cache
def _insert_missing_codes(dialect: str) -> Any:
    """Codes for customers who have none: skipped, without error, where the customer has one by
    now (a concurrent first ask) or another customer holds the code (drawn again by the caller)."""
    return conflict_insert(dialect, codes).on_conflict_do_nothing()


async def insert_missing_codes(
    connection: AsyncConnection, *, org_id: int, codes_by_customer: dict[int, str], now: datetime
) -> None:
    """One executemany, whatever the number of customers."""
    await connection.execute(
        _insert_missing_codes(connection.dialect.name),
        [
            {"org_id": org_id, "customer_id": customer_id, "code": code, "created_at": now}
            for customer_id, code in codes_by_customer.items()
        ],
    )


_CODE_OWNER = select(codes.c.customer_id).where(
    codes.c.org_id == bindparam("org_id"), codes.c.code == bindparam("code")
)


async def code_owner(connection: AsyncConnection, *, org_id: int, code: str) -> int | None:
    return (await connection.execute(_CODE_OWNER, {"org_id": org_id, "code": code})).scalar_one_or_none()


_LINK = (
    update(codes)
    .where(
        codes.c.org_id == bindparam("of_org"),
        codes.c.customer_id == bindparam("referee"),
        codes.c.referrer_id.is_(None),
    )
    .values(referrer_id=bindparam("new_referrer"), referred_at=bindparam("linked_at"))
)


async def link(connection: AsyncConnection, *, org_id: int, referee_id: int, referrer_id: int, now: datetime) -> bool:
    """The referee's referrer, set once (a referee already linked keeps theirs): True when set."""
    result = await connection.execute(
        _LINK, {"of_org": org_id, "referee": referee_id, "new_referrer": referrer_id, "linked_at": now}
    )
    return result.rowcount == 1


_PENDING_REFERRER = select(codes.c.referrer_id).where(
    codes.c.org_id == bindparam("org_id"),
    codes.c.customer_id == bindparam("referee_id"),
    codes.c.referrer_id.is_not(None),
    ~exists().where(awards.c.program_id == bindparam("program_id"), awards.c.referee_id == codes.c.customer_id),
)


async def pending_referrer(connection: AsyncConnection, *, org_id: int, referee_id: int, program_id: int) -> int | None:
    """The referee's referrer when the program has not awarded this referral yet."""
    return (
        await connection.execute(
            _PENDING_REFERRER, {"org_id": org_id, "referee_id": referee_id, "program_id": program_id}
        )
    ).scalar_one_or_none()


_LOCK_REFERRER = select(codes.c.customer_id).where(codes.c.customer_id == bindparam("referrer_id")).with_for_update()


async def lock_referrer(connection: AsyncConnection, referrer_id: int) -> None:
    """The referrer's row, locked (PostgreSQL; SQLite's one writer excludes everyone already):
    their referees' purchases count and award one at a time."""
    await connection.execute(_LOCK_REFERRER, {"referrer_id": referrer_id})


_COUNTED = and_(awards.c.referrer_points > 0, awards.c.reversed_at.is_(None))
_REFERRER_AWARDS = select(
    func.count().label("total"),
    func.coalesce(func.sum(case((awards.c.awarded_at >= bindparam("month_start"), 1), else_=0)), 0).label("month"),
).where(awards.c.referrer_id == bindparam("referrer_id"), awards.c.program_id == bindparam("program_id"), _COUNTED)


async def referrer_awards(
    connection: AsyncConnection, *, referrer_id: int, program_id: int, month_start: datetime
) -> tuple[int, int]:
    """How many awards the referrer holds in the program: this month, and in total."""
    row = (
        await connection.execute(
            _REFERRER_AWARDS, {"referrer_id": referrer_id, "program_id": program_id, "month_start": month_start}
        )
    ).one()
    return int(row.month), int(row.total)


_INSERT_AWARD = insert(awards).returning(awards.c.id)


async def insert_award(connection: AsyncConnection, values: dict[str, Any]) -> int:
    return (await connection.execute(_INSERT_AWARD, values)).scalar_one()


_AWARDS_OF_TRANSACTION = select(awards).where(
    awards.c.org_id == bindparam("org_id"),
    awards.c.transaction_id == bindparam("transaction_id"),
    awards.c.reversed_at.is_(None),
)


async def standing_awards_of_transaction(connection: AsyncConnection, *, org_id: int, transaction_id: int) -> list[Any]:
    return list(
        (await connection.execute(_AWARDS_OF_TRANSACTION, {"org_id": org_id, "transaction_id": transaction_id})).all()
    )


_REVERSE = (
    update(awards)
    .where(awards.c.id == bindparam("award"), awards.c.reversed_at.is_(None))
    .values(reversed_at=bindparam("reversed_now"), reversal_event_id=bindparam("reversal_event"))
)


async def mark_reversed(connection: AsyncConnection, *, award_id: int, event_id: int | None, now: datetime) -> bool:
    """Once: True for the one writer that reverses the award."""
    result = await connection.execute(_REVERSE, {"award": award_id, "reversal_event": event_id, "reversed_now": now})
    return result.rowcount == 1


_CODES_OF = select(codes.c.customer_id, codes.c.code, codes.c.referrer_id, codes.c.referred_at).where(
    codes.c.org_id == bindparam("org_id"), codes.c.customer_id.in_(bindparam("customer_ids", expanding=True))
)


async def codes_of(connection: AsyncConnection, *, org_id: int, customer_ids: Sequence[int]) -> list[Any]:
    if not customer_ids:
        return []
    return list((await connection.execute(_CODES_OF, {"org_id": org_id, "customer_ids": list(customer_ids)})).all())


_REFEREES_PAGE = (
    select(codes.c.customer_id, codes.c.referred_at)
    .where(
        codes.c.org_id == bindparam("org_id"),
        codes.c.referrer_id == bindparam("referrer_id"),
        codes.c.customer_id > bindparam("after_id"),
    )
    .order_by(codes.c.customer_id)
    .limit(bindparam("limit"))
)


async def referees_page(
    connection: AsyncConnection, *, org_id: int, referrer_id: int, after_id: int, limit: int
) -> list[Any]:
    return list(
        (
            await connection.execute(
                _REFEREES_PAGE, {"org_id": org_id, "referrer_id": referrer_id, "after_id": after_id, "limit": limit}
            )
        ).all()
    )


_LOCK_CODES = (
    select(codes.c.customer_id)
    .where(codes.c.customer_id.in_(bindparam("customer_ids", expanding=True)))
    .order_by(codes.c.customer_id)
    .with_for_update()
)


async def lock_codes(connection: AsyncConnection, customer_ids: Sequence[int]) -> None:
    """These customers' code rows, locked in id order (a merge's two customers: a referral award
    or a link to either waits for the merge, and sees what it moved)."""
    await connection.execute(_LOCK_CODES, {"customer_ids": sorted(customer_ids)})


# A merge: the victim's referees become the survivor's (not the survivor itself: see below).
_MOVE_REFEREES = (
    update(codes)
    .where(
        codes.c.org_id == bindparam("of_org"),
        codes.c.referrer_id == bindparam("victim"),
        codes.c.customer_id != bindparam("survivor"),
    )
    .values(referrer_id=bindparam("survivor"))
    .returning(codes.c.customer_id)
)
# The survivor referred by the victim is one person referring themselves: the link goes.
_DROP_OWN_REFERRAL = (
    update(codes)
    .where(codes.c.customer_id == bindparam("survivor"), codes.c.referrer_id == bindparam("victim"))
    .values(referrer_id=None, referred_at=None)
)
# A survivor nobody referred takes the victim's referrer (never itself): the link moves.
_INHERIT_REFERRER = (
    update(codes)
    .where(codes.c.customer_id == bindparam("survivor"), codes.c.referrer_id.is_(None))
    .values(referrer_id=bindparam("inherited"), referred_at=bindparam("inherited_at"))
)
_DROP_VICTIM_LINK = (
    update(codes).where(codes.c.customer_id == bindparam("victim")).values(referrer_id=None, referred_at=None)
)
# The victim's awards as a referrer count against the survivor's limits, and a return reverses them
# on the survivor, who holds the points now.
_MOVE_REFERRER_AWARDS = (
    update(awards).where(awards.c.referrer_id == bindparam("victim")).values(referrer_id=bindparam("survivor"))
)
_SURVIVOR_AWARD = awards.alias("survivor_award")
# Its awards as a referee too, in each program where the survivor has none (one referee award per
# person and program: the unique key); where it has one, the victim's stays the victim's.
_MOVE_REFEREE_AWARDS = (
    update(awards)
    .where(
        awards.c.referee_id == bindparam("victim"),
        ~exists().where(
            _SURVIVOR_AWARD.c.program_id == awards.c.program_id,
            _SURVIVOR_AWARD.c.referee_id == bindparam("survivor"),
        ),
    )
    .values(referee_id=bindparam("survivor"))
)


async def merge_referrals(
    connection: AsyncConnection,
    *,
    org_id: int,
    survivor_id: int,
    victim_id: int,
    victim_referrer_id: int | None,
    victim_referred_at: datetime | None,
) -> list[int]:
    """A merge's referral rows moved to the survivor (both code rows locked by the caller); the
    referees moved, by customer id."""
    both = {"survivor": survivor_id, "victim": victim_id}
    moved = list((await connection.execute(_MOVE_REFEREES, {"of_org": org_id, **both})).scalars())
    await connection.execute(_DROP_OWN_REFERRAL, both)
    if victim_referrer_id == survivor_id:  # the survivor referred the victim: itself
        await connection.execute(_DROP_VICTIM_LINK, {"victim": victim_id})
    elif victim_referrer_id is not None:
        inherited = await connection.execute(
            _INHERIT_REFERRER,
            {"survivor": survivor_id, "inherited": victim_referrer_id, "inherited_at": victim_referred_at},
        )
        if inherited.rowcount == 1:
            await connection.execute(_DROP_VICTIM_LINK, {"victim": victim_id})
    await connection.execute(_MOVE_REFERRER_AWARDS, both)
    await connection.execute(_MOVE_REFEREE_AWARDS, both)
    return sorted(moved)
