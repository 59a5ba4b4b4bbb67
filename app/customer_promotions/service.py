"""Points promotions (the seed's Customer Promotion): find or create a promotion by its
identifier, award its points, read its totals.

- The identifier is user-defined, or generated (`generate_identifier`) when not given; it is
  unique in the org. A new identifier creates the promotion with the name, program and expiry
  strategy given; an existing one awards under that promotion, and must come with the same name
  (PROMOTION_NAME_MISMATCH) and, when given, the same program and expiry strategy
  (PROMOTION_SETTINGS_MISMATCH).
- An award is one CUSTOMER_PROMOTION ledger event tagged with the promotion: a POINTS_ALLOCATION
  credit to the holder's REGULAR account in the promotion's program, as one lot expiring by the
  promotion's strategy (the program's when none is given) counted from the award.
- Totals (points awarded, awards, holders) are sums over those events: nothing to drift.

Bulk-callable (the caller's AsyncConnection, inside its write transaction):
- `check_promotion(org, identifier, name, program_code, expiry_strategy, expiry_value, path) -> PromotionSpec`
  (pure validation; raises typed errors naming the field under `path`)
- `find_or_create_promotion(connection, org, spec, now, path="promotion") -> PromotionView`
  (race-free: INSERT ... ON CONFLICT DO NOTHING, then read; one promotion whoever wins)
- `peek_promotion(connection, org, spec, path="promotion") -> PromotionView | None` (read-only, for a dry run)
- `award_points(connection, org, promotion, awards: Sequence[PromotionAward], now) -> list[PostedCredit]`
  (one event per award, a fixed number of statements for any number of awards)
- `promotion_totals(connection, promotion_ids) -> dict[int, PromotionTotals]`
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customer_promotions import repository
from app.customer_promotions.errors import (
    PromotionNameMismatchError,
    PromotionNotFoundError,
    PromotionSettingsMismatchError,
)
from app.customer_promotions.models import IDENTIFIER_LENGTH_MAX, NAME_LENGTH_MAX
from app.customer_promotions.views import PromotionView
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.decimals import POINTS, check_decimal
from app.kernel.errors import ValidationError
from app.kernel.pages import page_limit, split_page
from app.kernel.text import check_required_code, check_required_text
from app.ledger import credits as ledger_credits
from app.ledger import repository as ledger_repository
from app.ledger.models import EventType
from app.organizations.config import OrgConfig, ProgramConfig
from app.organizations.errors import ProgramNotFoundError
from app.organizations.models import ExpiryStrategy
from app.organizations.rules import resolve_store_and_till
from app.storage.database import Database
from app.transfers.service import check_points
from app.user_groups import service as user_groups
from app.user_groups.service import GroupLookup

ZERO = Decimal(0)
IDENTIFIER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)
EXPIRY_VALUE_MAX = 3650


def generate_identifier() -> str:
    """A new promotion identifier: CP- and 12 characters without look-alikes (60 bits)."""
    return "CP-" + "".join(secrets.choice(IDENTIFIER_ALPHABET) for _ in range(12))


@dataclass(frozen=True, slots=True)
class PromotionSpec:
    """A checked promotion reference: `program` and the expiry are None when not given (an
    existing promotion keeps its own; a new one takes the org's default program and its expiry)."""

    identifier: str
    name: str
    program: ProgramConfig | None
    expiry_strategy: ExpiryStrategy | None
    expiry_value: int | None
    identifier_generated: bool = False


def check_promotion(
    org: OrgConfig,
    *,
    identifier: str | None,
    name: str,
    program_code: str | None,
    expiry_strategy: ExpiryStrategy | None,
    expiry_value: int | None,
    path: str,
) -> PromotionSpec:
    """Validate a promotion reference (no I/O). Fields: `{path}.identifier`, `.name`, `.programCode`,
    `.expiryStrategy`, `.expiryValue`. A missing identifier is generated."""
    generated = identifier is None
    checked_identifier = (
        generate_identifier()
        if identifier is None
        else check_required_code(identifier, f"{path}.identifier", IDENTIFIER_LENGTH_MAX)
    )
    checked_name = check_required_text(name, f"{path}.name", NAME_LENGTH_MAX)
    program = None
    if program_code is not None:
        program = org.program_by_code(program_code)
        if program is None:
            raise ProgramNotFoundError(f"no program with code {program_code!r}", field=f"{path}.programCode")
    if expiry_strategy is None:
        if expiry_value is not None:
            raise ValidationError("give expiryStrategy with expiryValue", field=f"{path}.expiryValue")
    elif expiry_strategy is ExpiryStrategy.NEVER:
        if expiry_value is not None:
            raise ValidationError("must be empty when the strategy is NEVER", field=f"{path}.expiryValue")
    elif expiry_value is None or not 1 <= expiry_value <= EXPIRY_VALUE_MAX:
        raise ValidationError(
            f"{expiry_strategy.value} needs a value from 1 to {EXPIRY_VALUE_MAX}", field=f"{path}.expiryValue"
        )
    return PromotionSpec(checked_identifier, checked_name, program, expiry_strategy, expiry_value, generated)


async def find_or_create_promotion(
    connection: AsyncConnection, org: OrgConfig, spec: PromotionSpec, now: datetime, path: str = "promotion"
) -> PromotionView:
    """The promotion `spec` names, created when its identifier is new.

    Concurrent first awards under one new identifier create it once: the insert does nothing when
    another transaction made the row (on PostgreSQL it waits for that transaction to end), and the
    read that follows sees the winner's row. Then the name (and the program and expiry, when
    given) must match it.
    """
    program = spec.program or org.default_program
    strategy = spec.expiry_strategy or program.expiry_strategy
    value = spec.expiry_value if spec.expiry_strategy is not None else program.expiry_value
    await repository.insert_promotion_if_new(
        connection,
        org_id=org.id,
        identifier=spec.identifier,
        name=spec.name,
        program_id=program.id,
        expiry_strategy=strategy,
        expiry_value=value,
        now=now,
    )
    found = await repository.promotion_by_identifier(connection, org_id=org.id, identifier=spec.identifier)
    assert found is not None, "inserted, or there already"
    return check_matches(org, found, spec, path)


async def peek_promotion(
    connection: AsyncConnection, org: OrgConfig, spec: PromotionSpec, path: str = "promotion"
) -> PromotionView | None:
    """Read-only (a dry run): the existing promotion `spec` names, checked as an award would
    check it (mismatch errors), or None when its identifier is new."""
    found = await repository.promotion_by_identifier(connection, org_id=org.id, identifier=spec.identifier)
    return None if found is None else check_matches(org, found, spec, path)


def check_matches(org: OrgConfig, found: PromotionView, spec: PromotionSpec, path: str) -> PromotionView:
    """An existing promotion must come with its name, and with its program and expiry when given."""
    if found.name != spec.name:
        raise PromotionNameMismatchError(
            f"promotion {spec.identifier!r} is named {found.name!r}; give the same name to award under it",
            field=f"{path}.name",
        )
    if spec.program is not None and spec.program.id != found.program_id:
        raise PromotionSettingsMismatchError(
            f"promotion {spec.identifier!r} awards in program {org.program(found.program_id).code}",
            field=f"{path}.programCode",
        )
    if spec.expiry_strategy is not None and (spec.expiry_strategy, spec.expiry_value) != (
        found.expiry_strategy,
        found.expiry_value,
    ):
        expiry = f"{found.expiry_strategy.value} {found.expiry_value or ''}".rstrip()
        raise PromotionSettingsMismatchError(
            f"promotion {spec.identifier!r} expires by {expiry}", field=f"{path}.expiryStrategy"
        )
    return found


@dataclass(frozen=True, slots=True)
class PromotionAward:
    """One award: `holder_id` is a customer's id, or a user group's backing customer id."""

    holder_id: int
    points: Decimal
    store_id: int | None = None
    till_id: int | None = None
    source: str | None = None


async def award_points(
    connection: AsyncConnection,
    org: OrgConfig,
    promotion: PromotionView,
    awards: Sequence[PromotionAward],
    now: datetime,
    field_by_holder: dict[int, str] | None = None,
    import_job_id: int | None = None,
) -> list[ledger_credits.PostedCredit]:
    """Bulk: credit every award (checked points > 0, no finer than the program counts) under
    `promotion`, one CUSTOMER_PROMOTION event each, returned in order.

    Locks the holders (id order) and refuses a merged one with CUSTOMER_MERGED on its field in
    `field_by_holder` (a bulk caller drops such rows first: `customers_service.lock_unmerged`
    names them); opens missing program accounts. Writes nothing itself if it raises, but the
    caller's transaction decides what is kept. An import passes its job: the events carry it.
    """
    if not awards:
        return []
    holder_ids = sorted({award.holder_id for award in awards})
    fields = field_by_holder or {}
    await user_groups.lock_holders(
        connection, {holder_id: fields.get(holder_id, "customer") for holder_id in holder_ids}
    )
    program = org.program(promotion.program_id)
    accounts_by_holder = await user_groups.regular_accounts(connection, org, program, holder_ids, now)
    expires_at = promotion.expires_at(now, org)
    return await ledger_credits.post_credits(
        connection,
        org_id=org.id,
        now=now,
        credits=[
            ledger_credits.CreditDraft(
                account=accounts_by_holder[award.holder_id],
                points=award.points,
                active_from=now,
                expires_at=expires_at,
                event_type=EventType.CUSTOMER_PROMOTION,
                source=award.source,
                store_id=award.store_id,
                till_id=award.till_id,
                customer_promotion_id=promotion.id,
                import_job_id=import_job_id,
            )
            for award in awards
        ],
    )


@dataclass(frozen=True, slots=True)
class PromotionTotals:
    points_awarded: Decimal
    awards_count: int
    holders_count: int


async def promotion_totals(connection: AsyncConnection, promotion_ids: Sequence[int]) -> dict[int, PromotionTotals]:
    """Totals per promotion from its ledger events (one query for any number of promotions)."""
    if not promotion_ids:
        return {}
    rows = await ledger_repository.customer_promotion_totals(connection, promotion_ids)
    found = {row[0]: PromotionTotals(row[1], row[2], row[3]) for row in rows}
    return {promotion_id: found.get(promotion_id, PromotionTotals(ZERO, 0, 0)) for promotion_id in promotion_ids}


async def promotions_by_id(connection: AsyncConnection, promotion_ids: Sequence[int]) -> dict[int, PromotionView]:
    return {promotion.id: promotion for promotion in await repository.promotions_by_id(connection, promotion_ids)}


async def find_promotion(
    connection: AsyncConnection, org: OrgConfig, identifier: str, field: str = "identifier"
) -> PromotionView:
    # What no promotion's identifier can hold is refused (INVALID_INPUT), not looked for.
    checked = check_required_code(identifier, field, IDENTIFIER_LENGTH_MAX)
    found = await repository.promotion_by_identifier(connection, org_id=org.id, identifier=checked)
    if found is None:
        raise PromotionNotFoundError(f"no promotion with identifier {identifier!r}", field=field)
    return found


# --- awardPromotionPoints -------------------------------------------------------------------


@dataclass(frozen=True)
class AwardRequest:
    """Points for one customer (or one user group) under a promotion."""

    customer: CustomerLookup | None
    user_group: GroupLookup | None
    points: Decimal
    store_code: str | None
    till_code: str | None
    promotion_identifier: str | None
    promotion_name: str
    program_code: str | None = None
    expiry_strategy: ExpiryStrategy | None = None
    expiry_value: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AwardResult:
    promotion: PromotionView
    holder_id: int
    user_group_id: int | None
    points: Decimal
    event_id: int
    balance_after: Decimal
    created_at: datetime
    replayed: bool


def where_awarded(org: OrgConfig, store_code: str | None, till_code: str | None, path: str) -> tuple[int, int | None]:
    """The store (and till) of an award: a till names its store; a store alone is enough."""
    store, till = resolve_store_and_till(org, store_code, till_code, path)
    if store is None:
        raise ValidationError("give a tillCode or a storeCode", field=f"{path}.storeCode")
    return store.id, till.id if till else None


async def award_promotion_points(
    database: Database, org: OrgConfig, request: AwardRequest, path: str = "input", *, now: datetime
) -> AwardResult:
    """awardPromotionPoints: one award in one write transaction, once per idempotency key.

    Errors, each naming its field: INVALID_INPUT, PROGRAM_NOT_FOUND, CUSTOMER_NOT_FOUND,
    USER_GROUP_NOT_FOUND, CUSTOMER_MERGED, PROMOTION_NAME_MISMATCH, PROMOTION_SETTINGS_MISMATCH,
    IDEMPOTENCY_KEY_REUSED. A failed request writes nothing (not even a new promotion).
    """
    spec = check_promotion(
        org,
        identifier=request.promotion_identifier,
        name=request.promotion_name,
        program_code=request.program_code,
        expiry_strategy=request.expiry_strategy,
        expiry_value=request.expiry_value,
        path=f"{path}.promotion",
    )
    store_id, till_id = where_awarded(org, request.store_code, request.till_code, path)
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    check_decimal(request.points, f"{path}.points", POINTS, positive=True)  # before it is written out below
    payload = {
        "customer": request.customer.payload() if request.customer else None,
        "userGroup": request.user_group.payload() if request.user_group else None,
        "points": format(request.points.normalize(), "f"),
        "storeId": store_id,
        "tillId": till_id,
        # A generated identifier differs on every request: the replay is of the request as sent.
        "promotion": [
            None if spec.identifier_generated else spec.identifier,
            spec.name,
            spec.program.code if spec.program else None,
            spec.expiry_strategy.value if spec.expiry_strategy else None,
            spec.expiry_value,
        ],
    }

    async def perform(connection: AsyncConnection) -> tuple[int, AwardResult]:
        holder_id, group_id, holder_field = await user_groups.resolve_holder(
            connection, org, request.customer, request.user_group, path
        )
        # Customers before the promotion row (the house lock order), as a promotion import does:
        # creating a new identifier's row first and then waiting on the customer deadlocks with it.
        await user_groups.lock_holders(connection, {holder_id: holder_field})
        promotion = await find_or_create_promotion(connection, org, spec, now, f"{path}.promotion")
        points = check_points(request.points, org.program(promotion.program_id), f"{path}.points")
        [posted] = await award_points(
            connection,
            org,
            promotion,
            [PromotionAward(holder_id, points, store_id, till_id)],
            now,
            {holder_id: holder_field},
        )
        return posted.event_id, AwardResult(
            promotion, holder_id, group_id, points, posted.event_id, posted.balance_after, now, replayed=False
        )

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="awardPromotionPoints",
        payload=payload,
        now=now,
        perform=perform,
        replay=lambda connection, event_id: load_award(connection, org, event_id),
        field=f"{path}.idempotencyKey",
    )


async def load_award(connection: AsyncConnection, org: OrgConfig, event_id: int) -> AwardResult:
    """An award as first returned (for an idempotent replay)."""
    event = await ledger_repository.event_summary(connection, event_id)
    assert event.customer_id is not None, "an award names its holder"
    assert event.customer_promotion_id is not None, "an award names its promotion"
    balance_after = await ledger_repository.balance_after_event(connection, event_id)
    promotion = (await promotions_by_id(connection, [event.customer_promotion_id]))[event.customer_promotion_id]
    group = await user_groups.group_of_holder(connection, event.customer_id)
    return AwardResult(
        promotion,
        event.customer_id,
        group,
        event.points_on_event,
        event_id,
        balance_after,
        event.created_at,
        replayed=True,
    )


# --- Member care: a customer's promotion points ---------------------------------------------


@dataclass(frozen=True, slots=True)
class PromotionAwardRecord:
    """Points a customer was issued through a points promotion (one CUSTOMER_PROMOTION credit)."""

    entry_id: int
    event_id: int
    program_id: int
    points: Decimal
    store_id: int | None
    till_id: int | None
    import_job_id: int | None
    created_at: datetime
    promotion: PromotionView


async def customer_promotion_history(
    connection: AsyncConnection, *, org_id: int, customer_id: int, first: int, after_id: int | None
) -> tuple[list[PromotionAwardRecord], bool]:
    """The customer's promotion awards (awardPromotionPoints and the customer promotion import),
    newest first, keyset-paginated by ledger entry id: two queries for any page."""
    rows = await ledger_repository.customer_promotion_credits(
        connection, org_id=org_id, customer_id=customer_id, limit=page_limit(first), before_entry_id=after_id
    )
    rows, has_next_page = split_page(rows, first)
    promotions = await promotions_by_id(connection, sorted({row.customer_promotion_id for row in rows}))
    return [
        PromotionAwardRecord(
            entry_id=row.entry_id,
            event_id=row.event_id,
            program_id=row.program_id,
            points=row.points,
            store_id=row.store_id,
            till_id=row.till_id,
            import_job_id=row.import_job_id,
            created_at=row.created_at,
            promotion=promotions[row.customer_promotion_id],
        )
        for row in rows
    ], has_next_page
