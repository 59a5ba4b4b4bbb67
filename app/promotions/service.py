"""Code-linked promotions: create a promotion, fill it with codes (generated, uploaded, common),
validate a code against a cart, apply codes to a bill, give them back on a return, link a code to
a customer, and read a code's status.

Limits hold under concurrency without check-then-act: every counter moves in one guarded
statement inside the bill's write transaction (`UPDATE ... SET n = n + 1 WHERE id = :id AND
n < :limit`, or an upsert whose DO UPDATE carries the same guard), and a statement that moves no
row means the limit is reached. A failed code fails the bill, and the transaction rolls back
every counter with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.errors import ConflictError, ValidationError
from app.organizations.config import OrgConfig
from app.promotions import rules
from app.promotions.errors import (
    PromoCodeCustomerLimitReachedError,
    PromoCodeExpiredError,
    PromoCodeLimitReachedError,
    PromoCodeLinkedToAnotherCustomerError,
    PromoCodeNotFoundError,
    PromotionNotFoundError,
    PromotionNotStartedError,
)
from app.promotions.models import (
    LinkMode,
    PromoCode,
    PromoCodeCustomerUsage,
    PromoCodeLink,
    PromoCodeRedemption,
    PromoCodeSource,
    Promotion,
    PromotionAction,
    PromotionCustomerUsage,
)
from app.promotions.rules import Cart, GenerationRequest, Limits, PromotionTerms, RowError
from app.storage.database import Database, conflict_insert, lock_keys
from app.storage.tables import table_of

logger = logging.getLogger(__name__)

promotions = table_of(Promotion)
codes = table_of(PromoCode)
redemptions = table_of(PromoCodeRedemption)
code_usage = table_of(PromoCodeCustomerUsage)
promotion_usage = table_of(PromotionCustomerUsage)
links = table_of(PromoCodeLink)

ZERO = Decimal(0)
GENERATE_BATCH_SIZE = 5_000
UPLOAD_BATCH_SIZE = 5_000
GENERATE_ROUNDS_EXTRA = 50  # top-up rounds allowed beyond the batches a request needs
GRAPHQL_GENERATE_MAX = 100_000  # more through `pointledger promo generate`


class DuplicatePromoCodeError(ConflictError):
    code = "PROMO_CODE_EXISTS"


# --- Views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotionView:
    id: int
    name: str
    description: str | None
    terms: PromotionTerms
    limits: Limits
    redemptions_count: int
    codes_count: int
    created_at: datetime


@dataclass(frozen=True)
class PromotionInput:
    name: str
    terms: PromotionTerms
    limits: Limits
    description: str | None = None
    common_code: str | None = None
    idempotency_key: str | None = None


def _terms_of(row: Any) -> PromotionTerms:
    return PromotionTerms(
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        action=PromotionAction(row.action),
        minimum_bill_amount=row.minimum_bill_amount,
        eligible_item_codes=tuple(row.eligible_item_codes or ()),
        eligible_attributes=rules.attributes_of(row.eligible_attributes),
        percent=row.percent,
        amount=row.amount,
        free_item_code=row.free_item_code,
        bundle_item_codes=tuple(row.bundle_item_codes or ()),
    )


def _limits_of(row: Any) -> Limits:
    return Limits(
        code_redemption_limit=row.code_redemption_limit,
        customer_code_redemption_limit=row.customer_code_redemption_limit,
        redemption_limit=row.redemption_limit,
        customer_transaction_limit=row.customer_transaction_limit,
    )


def _promotion_view(row: Any) -> PromotionView:
    return PromotionView(
        id=row.id,
        name=row.name,
        description=row.description,
        terms=_terms_of(row),
        limits=_limits_of(row),
        redemptions_count=row.redemptions_count,
        codes_count=row.codes_count,
        created_at=row.created_at,
    )


async def load_promotion(
    connection: AsyncConnection, org: OrgConfig, promotion_id: int, field_name: str = "promotionId"
) -> PromotionView:
    row = (
        await connection.execute(
            select(promotions).where(promotions.c.org_id == org.id, promotions.c.id == promotion_id)
        )
    ).one_or_none()
    if row is None:
        raise PromotionNotFoundError(f"no promotion {promotion_id}", field=field_name)
    return _promotion_view(row)


async def list_promotions(
    connection: AsyncConnection, org: OrgConfig, first: int, after_id: int | None
) -> tuple[list[PromotionView], bool]:
    """The org's cart promotions, newest first, keyset-paginated by id."""
    conditions = [promotions.c.org_id == org.id]
    if after_id is not None:
        conditions.append(promotions.c.id < after_id)
    rows = (
        await connection.execute(
            select(promotions).where(*conditions).order_by(promotions.c.id.desc()).limit(first + 1)
        )
    ).all()
    return [_promotion_view(row) for row in rows[:first]], len(rows) > first


async def end_promotion(
    database: Database, org: OrgConfig, promotion_id: int, field_name: str = "id", *, now: datetime
) -> PromotionView:
    """End a promotion now: its codes stop working at once. Ending an ended promotion changes
    nothing; one that has not started is refused (its window would be empty)."""

    async def work(connection: AsyncConnection) -> PromotionView:
        view = await load_promotion(connection, org, promotion_id, field_name)
        if view.terms.valid_from >= now:
            raise PromotionNotStartedError(
                f"promotion {promotion_id} starts at {view.terms.valid_from.isoformat()}; "
                "it cannot end before it starts",
                field=field_name,
            )
        # Guarded: a concurrent end keeps the earlier instant.
        await connection.execute(
            update(promotions)
            .where(promotions.c.id == promotion_id, promotions.c.valid_until > now)
            .values(valid_until=now)
        )
        return await load_promotion(connection, org, promotion_id, field_name)

    return await database.run_write(work)


# --- Creating promotions and codes ----------------------------------------------------------


async def create_promotion(
    database: Database, org: OrgConfig, data: PromotionInput, path: str = "input", *, now: datetime
) -> tuple[PromotionView, bool]:
    """A promotion (and its common code, when given); (view, replayed)."""
    terms = rules.check_terms(data.terms, data.name, path)
    limits = rules.check_limits(data.limits, path)
    if data.description is not None and (len(data.description) > 1000 or rules.NUL in data.description):
        raise ValidationError("must be at most 1000 characters, without NUL", field=f"{path}.description")
    common = rules.check_code(data.common_code, f"{path}.commonCode") if data.common_code is not None else None
    key = idempotency.check_key(data.idempotency_key, f"{path}.idempotencyKey")
    payload = {"name": data.name, "description": data.description, "terms": terms, "limits": limits, "common": common}

    async def perform(connection: AsyncConnection) -> tuple[int, tuple[PromotionView, bool]]:
        promotion_id = (
            await connection.execute(
                insert(promotions).returning(promotions.c.id),
                {
                    "org_id": org.id,
                    "name": data.name.strip(),
                    "description": data.description,
                    "valid_from": terms.valid_from,
                    "valid_until": terms.valid_until,
                    "minimum_bill_amount": terms.minimum_bill_amount,
                    "eligible_item_codes": list(terms.eligible_item_codes) or None,
                    "eligible_attributes": [{"name": c.name, "value": c.value} for c in terms.eligible_attributes]
                    or None,
                    "action": terms.action.value,
                    "percent": terms.percent,
                    "amount": terms.amount,
                    "free_item_code": terms.free_item_code,
                    "bundle_item_codes": list(terms.bundle_item_codes) or None,
                    "code_redemption_limit": limits.code_redemption_limit,
                    "customer_code_redemption_limit": limits.customer_code_redemption_limit,
                    "redemption_limit": limits.redemption_limit,
                    "customer_transaction_limit": limits.customer_transaction_limit,
                    "redemptions_count": 0,
                    "codes_count": 0,
                    "created_at": now,
                },
            )
        ).scalar_one()
        if common is not None:
            inserted = await _insert_codes(connection, org.id, promotion_id, [common], PromoCodeSource.COMMON, now)
            if not inserted:
                raise DuplicatePromoCodeError(
                    f"code {common!r} already exists in this organisation", field=f"{path}.commonCode"
                )
        return promotion_id, (await load_promotion(connection, org, promotion_id), False)

    async def replay(connection: AsyncConnection, promotion_id: int) -> tuple[PromotionView, bool]:
        return await load_promotion(connection, org, promotion_id), True

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="createPromotion",
        payload=payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
    )


async def _insert_codes(
    connection: AsyncConnection,
    org_id: int,
    promotion_id: int,
    batch: Sequence[str],
    source: PromoCodeSource,
    now: datetime,
) -> list[str]:
    """Insert codes, skipping any the organisation has already (the unique index decides, so a
    concurrent writer of the same code cannot slip in): the codes inserted."""
    if not batch:
        return []
    statement = (
        conflict_insert(connection.dialect.name, codes)
        .on_conflict_do_nothing(index_elements=[codes.c.org_id, codes.c.code])
        .returning(codes.c.code)
    )
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
    inserted = list((await connection.execute(statement, rows)).scalars())
    if inserted:
        await connection.execute(
            update(promotions)
            .where(promotions.c.id == promotion_id)
            .values(codes_count=promotions.c.codes_count + len(inserted))
        )
    return inserted


@dataclass(frozen=True)
class Generated:
    count: int  # codes generated by this request (0 when it replayed)
    replayed: bool


async def generate_codes(
    database: Database,
    org: OrgConfig,
    promotion_id: int,
    request: GenerationRequest,
    *,
    now: datetime,
    batch_size: int = GENERATE_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    random_bytes: Callable[[int], bytes] | None = None,
    idempotency_key: str | None = None,
    path: str = "input",
) -> Generated:
    """Generate `request.count` new codes for the promotion, in batches of `batch_size`, each batch
    its own write transaction (other writers get the database between batches). Codes that
    collide with existing ones (the unique index) are topped up by the next batches: exactly the
    count asked for is generated, or ConflictError when the code space is too crowded to find
    them in a bounded number of rounds (what was generated stays).

    An idempotency key is remembered with the first batch: the same request sent again
    generates nothing more and says it replayed (the promotion's code count tells what exists,
    also after a run that stopped half-way)."""
    key = idempotency.check_key(idempotency_key, f"{path}.idempotencyKey")
    async with database.read() as connection:
        await load_promotion(connection, org, promotion_id, f"{path}.promotionId")
    payload = {"promotion": promotion_id, "count": request.count, "length": request.length, "prefix": request.prefix}
    generated = 0
    rounds_left = -(-request.count // batch_size) + GENERATE_ROUNDS_EXTRA
    extra = {"random_bytes": random_bytes} if random_bytes is not None else {}
    first = True
    while generated < request.count:
        if rounds_left == 0:
            raise ConflictError(
                f"generated {generated:,} of {request.count:,}: too many collisions, use longer codes",
                field=f"{path}.length",
            )
        rounds_left -= 1
        # Distinct within the batch first: the database then only sees collisions with stored codes.
        batch = list(
            dict.fromkeys(
                rules.random_codes(min(batch_size, request.count - generated), request.length, request.prefix, **extra)
            )
        )

        async def insert_batch(batch: list[str] = batch, now: datetime = now) -> Any:
            return await database.run_write(
                lambda connection: _insert_codes(
                    connection, org.id, promotion_id, batch, PromoCodeSource.GENERATED, now
                )
            )

        if first and key is not None:

            async def perform(
                connection: AsyncConnection, batch: list[str] = batch, now: datetime = now
            ) -> tuple[int, Any]:
                return promotion_id, await _insert_codes(
                    connection, org.id, promotion_id, batch, PromoCodeSource.GENERATED, now
                )

            inserted = await idempotency.write_once(
                database,
                org_id=org.id,
                key=key,
                operation="generatePromoCodes",
                payload=payload,
                now=now,
                perform=perform,
                replay=_replayed_generation,
                field=f"{path}.idempotencyKey",
            )
            if inserted is None:
                return Generated(0, True)
        else:
            inserted = await insert_batch()
        first = False
        generated += len(inserted)
        if progress is not None:
            progress(generated)
    return Generated(generated, False)


async def _replayed_generation(connection: AsyncConnection, promotion_id: int) -> None:
    return None


class UploadPolicy:
    REJECT_ALL = "REJECT_ALL"  # any row in error: nothing is stored
    SKIP_INVALID = "SKIP_INVALID"  # valid rows are stored, rows in error are reported


@dataclass(frozen=True)
class UploadReport:
    rows: int
    stored: int
    errors: list[RowError]


async def upload_codes(
    database: Database, org: OrgConfig, promotion_id: int, text: str, policy: str, path: str = "input", *, now: datetime
) -> UploadReport:
    """Codes from a CSV file. Rows in error (invalid, twice in the file, or already in the org)
    are reported with row, column, code and message. REJECT_ALL stores nothing when any row is in
    error; SKIP_INVALID stores the rest. One write transaction: a concurrent upload of the same
    code is caught by the unique index and reported as existing."""
    if policy not in (UploadPolicy.REJECT_ALL, UploadPolicy.SKIP_INVALID):
        raise ValidationError("must be REJECT_ALL or SKIP_INVALID", field=f"{path}.errorPolicy")
    parsed = rules.parse_upload(text, path)
    rows_total = len(parsed.codes) + len(parsed.errors)

    async def work(connection: AsyncConnection) -> UploadReport:
        await load_promotion(connection, org, promotion_id, f"{path}.promotionId")
        errors = list(parsed.errors)
        existing: set[str] = set()
        wanted = [code for _, code in parsed.codes]
        for start in range(0, len(wanted), UPLOAD_BATCH_SIZE):
            chunk = wanted[start : start + UPLOAD_BATCH_SIZE]
            existing.update(
                (
                    await connection.execute(
                        select(codes.c.code).where(codes.c.org_id == org.id, codes.c.code.in_(chunk))
                    )
                ).scalars()
            )
        fresh = [(row, code) for row, code in parsed.codes if code not in existing]
        errors.extend(
            RowError(row, rules.CODE_COLUMN, code, "CODE_EXISTS", "the code already exists in this organisation")
            for row, code in parsed.codes
            if code in existing
        )
        if errors and policy == UploadPolicy.REJECT_ALL:
            return UploadReport(rows_total, 0, sorted(errors, key=lambda error: error.row))
        stored: set[str] = set()
        for start in range(0, len(fresh), UPLOAD_BATCH_SIZE):
            chunk = [code for _, code in fresh[start : start + UPLOAD_BATCH_SIZE]]
            stored.update(await _insert_codes(connection, org.id, promotion_id, chunk, PromoCodeSource.UPLOADED, now))
        raced = [(row, code) for row, code in fresh if code not in stored]
        errors.extend(
            RowError(row, rules.CODE_COLUMN, code, "CODE_EXISTS", "the code already exists in this organisation")
            for row, code in raced
        )
        if raced and policy == UploadPolicy.REJECT_ALL:
            raise _UploadRaced(UploadReport(rows_total, 0, sorted(errors, key=lambda error: error.row)))
        return UploadReport(rows_total, len(stored), sorted(errors, key=lambda error: error.row))

    try:
        return await database.run_write(work)
    except _UploadRaced as raced:  # rolled back: nothing stored
        return raced.report


class _UploadRaced(Exception):
    def __init__(self, report: UploadReport) -> None:
        super().__init__("upload raced")
        self.report = report


# --- Codes against a cart -------------------------------------------------------------------

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
_INSERT_REDEMPTIONS = insert(redemptions)
# The one lookup addTransaction makes for a customer named on a bill with no code: their links in use.
_ACTIVE_LINKS = (
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


@dataclass(frozen=True)
class Candidate:
    """A code found for a bill, with its promotion's terms and limits."""

    code_id: int
    code: str
    promotion_id: int
    promotion_name: str
    terms: PromotionTerms
    limits: Limits
    field: str
    link_id: int | None = None
    link_mode: LinkMode | None = None


def _candidate(row: Any, field_name: str) -> Candidate:
    return Candidate(
        code_id=row.code_id,
        code=row.code,
        promotion_id=row.id,
        promotion_name=row.name,
        terms=_terms_of(row),
        limits=_limits_of(row),
        field=field_name,
        link_id=getattr(row, "link_id", None),
        link_mode=LinkMode(row.mode) if getattr(row, "mode", None) else None,
    )


async def _find_codes(connection: AsyncConnection, org_id: int, named: Sequence[tuple[str, str]]) -> list[Candidate]:
    """The codes named, as (code, field) pairs: PROMO_CODE_UNKNOWN on the field of the first not found."""
    if len(named) == 1:
        found_rows = await connection.execute(_CODE_WITH_PROMOTION, {"org_id": org_id, "code": named[0][0]})
    else:
        found_rows = await connection.execute(
            _CODES_WITH_PROMOTION, {"org_id": org_id, "codes": [code for code, _ in named]}
        )
    rows = {row.code: row for row in found_rows}
    found = []
    for code, field_name in named:
        row = rows.get(code)
        if row is None:
            raise PromoCodeNotFoundError(f"no promo code {code!r}", field=field_name)
        found.append(_candidate(row, field_name))
    return found


def check_named_codes(lists: Sequence[tuple[Sequence[str], str]]) -> list[tuple[str, str]]:
    """The codes a bill names, from each (values, path) list: (normalised code, field) pairs; at
    most CODES_PER_BILL_MAX in all, and no code twice."""
    named: list[tuple[str, str]] = []
    for values, path in lists:
        for index, value in enumerate(values):
            code = rules.check_code(value, f"{path}[{index}]")
            if any(code == seen for seen, _ in named):
                raise ValidationError(f"code {code!r} is named twice", field=f"{path}[{index}]")
            named.append((code, f"{path}[{index}]"))
            if len(named) > rules.CODES_PER_BILL_MAX:
                raise ValidationError(f"at most {rules.CODES_PER_BILL_MAX} promo codes per bill", field=path)
    return named


@dataclass(frozen=True)
class CodeDiscount:
    candidate: Candidate
    discount: Decimal


@dataclass(frozen=True)
class Validation:
    code: str
    promotion_id: int
    promotion_name: str
    discount: Decimal
    cart_amount: Decimal


async def validate_code(
    database: Database,
    org: OrgConfig,
    code_text: str,
    customer: CustomerLookup | None,
    cart: Cart,
    path: str = "input",
    *,
    now: datetime,
) -> Validation:
    """What addTransaction would do with this code on this cart now, without writing: the discount,
    or the typed reason it does not apply. A bill that follows may still find the limit reached."""
    code = rules.check_code(code_text, f"{path}.code")
    async with database.read() as connection:
        candidate = (await _find_codes(connection, org.id, [(code, f"{path}.code")]))[0]
        rules.check_window(candidate.terms, now, candidate.field)
        value = rules.discount(candidate.terms, cart, candidate.field)
        customer_id = None
        if customer is not None:
            customer_id = await customers_service.find_customer(connection, org, customer, f"{path}.customer")
        row = (
            await connection.execute(
                select(codes.c.redemptions_count, promotions.c.redemptions_count.label("promotion_count"))
                .join(promotions, promotions.c.id == codes.c.promotion_id)
                .where(codes.c.id == candidate.code_id)
            )
        ).one()
        limits = candidate.limits
        if (limits.code_redemption_limit is not None and row.redemptions_count >= limits.code_redemption_limit) or (
            limits.redemption_limit is not None and row.promotion_count >= limits.redemption_limit
        ):
            raise _limit_error(candidate)
        if customer_id is not None:
            used_code = (
                await connection.execute(
                    select(code_usage.c.redemptions_count).where(
                        code_usage.c.code_id == candidate.code_id, code_usage.c.customer_id == customer_id
                    )
                )
            ).scalar_one_or_none() or 0
            used_promotion = (
                await connection.execute(
                    select(promotion_usage.c.transactions_count).where(
                        promotion_usage.c.promotion_id == candidate.promotion_id,
                        promotion_usage.c.customer_id == customer_id,
                    )
                )
            ).scalar_one_or_none() or 0
            if (
                limits.customer_code_redemption_limit is not None and used_code >= limits.customer_code_redemption_limit
            ) or (
                limits.customer_transaction_limit is not None and used_promotion >= limits.customer_transaction_limit
            ):
                raise _customer_limit_error(candidate)
    return Validation(
        code=code,
        promotion_id=candidate.promotion_id,
        promotion_name=candidate.promotion_name,
        discount=value,
        cart_amount=cart.amount,
    )


def _limit_error(candidate: Candidate) -> PromoCodeLimitReachedError:
    return PromoCodeLimitReachedError(f"promo code {candidate.code!r} has no redemptions left", field=candidate.field)


def _customer_limit_error(candidate: Candidate) -> PromoCodeCustomerLimitReachedError:
    return PromoCodeCustomerLimitReachedError(
        f"this customer has used promo code {candidate.code!r} as often as its promotion allows", field=candidate.field
    )


# --- Applying codes to a bill (inside addTransaction's write transaction) -------------------


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


_USAGE_UPSERTS: dict[tuple[str, str, bool], Any] = {}


def _usage_upsert(dialect_name: str, table: Any, owner_column: Any, count_column: Any, has_limit: bool) -> Any:
    """Built once per dialect, table and limit presence: building a statement costs more than running it."""
    key = (dialect_name, table.name, has_limit)
    statement = _USAGE_UPSERTS.get(key)
    if statement is None:
        statement = conflict_insert(dialect_name, table).values(
            {
                owner_column.name: bindparam("owner_id"),
                "customer_id": bindparam("usage_customer_id"),
                count_column.name: 1,
            }
        )
        statement = statement.on_conflict_do_update(
            index_elements=[owner_column, table.c.customer_id],
            set_={count_column.name: count_column + 1},
            where=count_column < bindparam("usage_limit") if has_limit else None,
        ).returning(table.c.id)
        _USAGE_UPSERTS[key] = statement
    return statement


async def _claim_usage(
    connection: AsyncConnection,
    table: Any,
    owner_column: Any,
    count_column: Any,
    owner_id: int,
    customer_id: int,
    limit: int | None,
) -> bool:
    """One guarded upsert: the customer's first use inserts 1 (every limit is at least 1); later
    uses add 1 while under the limit. No row returned means the limit is reached."""
    statement = _usage_upsert(connection.dialect.name, table, owner_column, count_column, limit is not None)
    values = {"owner_id": owner_id, "usage_customer_id": customer_id}
    if limit is not None:
        values["usage_limit"] = limit
    return (await connection.execute(statement, values)).first() is not None


async def _claim(connection: AsyncConnection, candidate: Candidate, customer_id: int | None) -> Exception | None:
    """Count one redemption of the code against every limit, each in one guarded statement; on
    the first limit reached, give back what this claim took and return the typed error."""
    limits = candidate.limits
    steps: list[tuple[Any, dict[str, Any]]] = []

    async def undo() -> None:
        for statement, values in reversed(steps):
            await connection.execute(statement, values)

    moved = await connection.execute(
        _CLAIM_CODE[limits.code_redemption_limit is not None],
        {"row_id": candidate.code_id, "limit": limits.code_redemption_limit},
    )
    if moved.rowcount != 1:
        return _limit_error(candidate)
    steps.append((_RELEASE_CODE, {"row_id": candidate.code_id}))
    moved = await connection.execute(
        _CLAIM_PROMOTION[limits.redemption_limit is not None],
        {"row_id": candidate.promotion_id, "limit": limits.redemption_limit},
    )
    if moved.rowcount != 1:
        await undo()
        return _limit_error(candidate)
    steps.append((_RELEASE_PROMOTION, {"row_id": candidate.promotion_id}))
    if customer_id is None:
        return None
    if not await _claim_usage(
        connection,
        code_usage,
        code_usage.c.code_id,
        code_usage.c.redemptions_count,
        candidate.code_id,
        customer_id,
        limits.customer_code_redemption_limit,
    ):
        await undo()
        return _customer_limit_error(candidate)
    steps.append((_RELEASE_CODE_USAGE, {"owner_id": candidate.code_id, "usage_customer_id": customer_id}))
    if not await _claim_usage(
        connection,
        promotion_usage,
        promotion_usage.c.promotion_id,
        promotion_usage.c.transactions_count,
        candidate.promotion_id,
        customer_id,
        limits.customer_transaction_limit,
    ):
        await undo()
        return _customer_limit_error(candidate)
    return None


@dataclass(frozen=True)
class AppliedCode:
    code: str
    promotion_id: int
    promotion_name: str
    discount: Decimal
    linked: bool  # applied from the customer's linked codes, not named on the bill


@dataclass(frozen=True)
class AppliedCodes:
    items: list[tuple[CodeDiscount, bool]] = field(default_factory=list)  # (code and discount, applied from a link)

    @property
    def total(self) -> Decimal:
        return sum((item.discount for item, _ in self.items), ZERO)

    def codes(self) -> list[AppliedCode]:
        """What the bill keeps of its codes (transactions stores them with the bill)."""
        return [
            AppliedCode(
                code=item.candidate.code,
                promotion_id=item.candidate.promotion_id,
                promotion_name=item.candidate.promotion_name,
                discount=item.discount,
                linked=linked,
            )
            for item, linked in self.items
        ]


NOTHING_APPLIED = AppliedCodes()


async def apply_to_bill(
    connection: AsyncConnection,
    org: OrgConfig,
    *,
    named: Sequence[tuple[str, str]],
    customer_id: int | None,
    cart: Cart,
    now: datetime,
    path: str,
) -> AppliedCodes:
    """The codes the bill names (each must apply, or the bill fails with its typed error) and then
    the customer's linked codes (applied when the cart qualifies and the limits allow, skipped
    silently otherwise), counted against their limits. Called only when the bill names codes or
    has a customer; for a customer the links are one indexed lookup."""
    explicit = await _find_codes(connection, org.id, named) if named else []
    named_codes = {code for code, _ in named}
    chosen: list[CodeDiscount] = []
    promotions_used: set[int] = set()
    for candidate in explicit:
        if candidate.promotion_id in promotions_used:
            raise ValidationError("two codes of the same promotion on one bill", field=candidate.field)
        promotions_used.add(candidate.promotion_id)
        rules.check_window(candidate.terms, now, candidate.field)
        chosen.append(CodeDiscount(candidate, rules.discount(candidate.terms, cart, candidate.field)))
    linked: list[CodeDiscount] = []
    if customer_id is not None:
        for row in await connection.execute(_ACTIVE_LINKS, {"usage_customer_id": customer_id}):
            candidate = _candidate(row, f"{path}.linked")
            if candidate.code in named_codes or candidate.promotion_id in promotions_used:
                continue
            try:
                rules.check_window(candidate.terms, now, candidate.field)
                value = rules.discount(candidate.terms, cart, candidate.field)
            except (ConflictError, ValidationError):
                continue  # a linked code that does not fit this cart waits for the next one
            promotions_used.add(candidate.promotion_id)
            linked.append(CodeDiscount(candidate, value))
    ordered = chosen + linked
    kept = rules.stackable(
        [item.discount for item in ordered],
        [True] * len(chosen) + [False] * len(linked),
        cart,
        [item.candidate.field for item in ordered],
    )
    linked = [item for item, keep in zip(linked, kept[len(chosen) :], strict=True) if keep]
    if not chosen and not linked:
        return NOTHING_APPLIED
    # Claimed in promotion id order (a bill has one code per promotion): each claim locks its
    # code row, then its promotion row, then usage rows, so every bill takes promotion rows in
    # one order and two bills cannot wait on each other's promotions on PostgreSQL. (Code id
    # order did not: codes 1 and 3 of P with codes 5 and 2 of Q crossed.)
    claimed: set[int] = set()
    for item, was_linked in sorted(
        [(item, False) for item in chosen] + [(item, True) for item in linked],
        key=lambda pair: pair[0].candidate.promotion_id,
    ):
        error = await _claim(connection, item.candidate, customer_id)
        if error is None:
            claimed.add(item.candidate.code_id)
        elif not was_linked:
            raise error
    # Named codes first, in the order named, then the linked ones: the order later codes are cut in.
    items = [(item, False) for item in chosen] + [(item, True) for item in linked if item.candidate.code_id in claimed]
    capped = rules.total_discount([item.discount for item, _ in items], cart)
    return AppliedCodes(
        [
            (CodeDiscount(item.candidate, value), was_linked)
            for (item, was_linked), value in zip(items, capped, strict=True)
        ]
    )


async def record_on_bill(
    connection: AsyncConnection,
    org: OrgConfig,
    applied: AppliedCodes,
    *,
    transaction_id: int,
    customer_id: int | None,
    now: datetime,
) -> None:
    """The bill's applied codes (one redemption row each), and NEXT_CHECKOUT links used up."""
    await connection.execute(
        _INSERT_REDEMPTIONS,
        [
            {
                "org_id": org.id,
                "promotion_id": item.candidate.promotion_id,
                "code_id": item.candidate.code_id,
                "transaction_id": transaction_id,
                "customer_id": customer_id,
                "discount": item.discount,
                "linked": was_linked,
                "redeemed_at": now,
                "reversed_at": None,
                "reversal_transaction_id": None,
            }
            for item, was_linked in applied.items
        ],
    )
    used_links = [
        item.candidate.link_id
        for item, was_linked in applied.items
        if was_linked and item.candidate.link_mode is LinkMode.NEXT_CHECKOUT
    ]
    if used_links:
        await connection.execute(
            update(links)
            .where(links.c.id.in_(used_links), links.c.used_at.is_(None))
            .values(used_at=now, used_transaction_id=transaction_id)
        )


# --- Returns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleasedCode:
    code: str
    discount: Decimal


async def release_for_return(
    connection: AsyncConnection, *, bill_id: int, return_id: int, now: datetime
) -> list[ReleasedCode]:
    """A return that takes back the whole bill gives back its codes: each redemption marked
    reversed (pointing at the return) and its counters moved down by guarded statements, so the
    code can be used again where its limits allow. Runs under the bill's lock."""
    rows = (
        await connection.execute(
            select(
                redemptions.c.id,
                redemptions.c.code_id,
                redemptions.c.promotion_id,
                redemptions.c.customer_id,
                redemptions.c.discount,
                codes.c.code,
            )
            .join(codes, codes.c.id == redemptions.c.code_id)
            .where(redemptions.c.transaction_id == bill_id, redemptions.c.reversed_at.is_(None))
            .order_by(redemptions.c.id)
        )
    ).all()
    released = []
    for row in rows:
        marked = await connection.execute(
            update(redemptions)
            .where(redemptions.c.id == row.id, redemptions.c.reversed_at.is_(None))
            .values(reversed_at=now, reversal_transaction_id=return_id)
        )
        if marked.rowcount != 1:
            continue  # given back already (cannot happen under the bill's lock)
        steps = [(_RELEASE_CODE, {"row_id": row.code_id}), (_RELEASE_PROMOTION, {"row_id": row.promotion_id})]
        if row.customer_id is not None:
            steps += [
                (_RELEASE_CODE_USAGE, {"owner_id": row.code_id, "usage_customer_id": row.customer_id}),
                (_RELEASE_PROMOTION_USAGE, {"owner_id": row.promotion_id, "usage_customer_id": row.customer_id}),
            ]
        for statement, values in steps:
            moved = await connection.execute(statement, values)
            assert moved.rowcount == 1, "every redemption not reversed is counted"
        released.append(ReleasedCode(row.code, row.discount))
    return released


# --- Links ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkView:
    id: int
    code: str
    customer_id: int
    mode: LinkMode
    promotion_id: int
    promotion_name: str
    valid_until: datetime
    linked_at: datetime
    used_at: datetime | None
    used_transaction_id: int | None


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


def _link_view(row: Any) -> LinkView:
    return LinkView(
        id=row.id,
        code=row.code,
        customer_id=row.customer_id,
        mode=LinkMode(row.mode),
        promotion_id=row.promotion_id,
        promotion_name=row.promotion_name,
        valid_until=row.valid_until,
        linked_at=row.linked_at,
        used_at=row.used_at,
        used_transaction_id=row.used_transaction_id,
    )


async def link_code(
    database: Database,
    org: OrgConfig,
    code_text: str,
    customer: CustomerLookup,
    mode: LinkMode,
    path: str = "input",
    *,
    now: datetime,
) -> tuple[LinkView, bool]:
    """Make a physical code the customer's digital code (the seed's /v1/promotions/code/link).
    Linking the same code to the same customer again returns the link (replayed), with the mode
    given now. A code that is not a common code is one customer's only. An ended promotion's
    code cannot be linked; one that has not started yet can (it applies once it starts)."""
    code = rules.check_code(code_text, f"{path}.code")

    async def work(connection: AsyncConnection) -> tuple[LinkView, bool]:
        await lock_keys(connection, [f"promo-link:{org.id}:{code}"])
        candidate = (await _find_codes(connection, org.id, [(code, f"{path}.code")]))[0]
        if now >= candidate.terms.valid_until:
            raise PromoCodeExpiredError(
                f"the promotion ended at {candidate.terms.valid_until.isoformat()}", field=candidate.field
            )
        customer_id = await customers_service.find_customer(connection, org, customer, f"{path}.customer")
        existing = (
            await connection.execute(
                select(links.c.id, links.c.customer_id, links.c.mode, links.c.used_at).where(
                    links.c.code_id == candidate.code_id
                )
            )
        ).all()
        source = (await connection.execute(select(codes.c.source).where(codes.c.id == candidate.code_id))).scalar_one()
        mine = next((row for row in existing if row.customer_id == customer_id), None)
        if mine is not None:
            if mine.mode != mode.value:
                await connection.execute(update(links).where(links.c.id == mine.id).values(mode=mode.value))
            view = (await connection.execute(_LINK_VIEW.where(links.c.id == mine.id))).one()
            return _link_view(view), True
        if source != PromoCodeSource.COMMON.value and existing:
            raise PromoCodeLinkedToAnotherCustomerError(
                f"promo code {code!r} is linked to another customer", field=candidate.field
            )
        link_id = (
            await connection.execute(
                insert(links).returning(links.c.id),
                {
                    "org_id": org.id,
                    "code_id": candidate.code_id,
                    "customer_id": customer_id,
                    "mode": mode.value,
                    "linked_at": now,
                    "used_at": None,
                    "used_transaction_id": None,
                },
            )
        ).scalar_one()
        return _link_view((await connection.execute(_LINK_VIEW.where(links.c.id == link_id))).one()), False

    return await database.run_write(work)


async def customer_links(connection: AsyncConnection, org: OrgConfig, customer_id: int) -> list[LinkView]:
    rows = (
        await connection.execute(
            _LINK_VIEW.where(links.c.org_id == org.id, links.c.customer_id == customer_id).order_by(links.c.id.desc())
        )
    ).all()
    return [_link_view(row) for row in rows]


# --- Member care: a code's status -------------------------------------------------------------


@dataclass(frozen=True)
class RedemptionView:
    id: int
    customer_id: int | None
    transaction_id: int
    discount: Decimal
    linked: bool
    redeemed_at: datetime
    reversed_at: datetime | None
    reversal_transaction_id: int | None


@dataclass(frozen=True)
class CodeStatus:
    code: str
    source: str
    redemptions_count: int
    created_at: datetime
    promotion: PromotionView
    redemptions: list[RedemptionView]
    has_next_page: bool


async def code_status(
    connection: AsyncConnection, org: OrgConfig, code_text: str, first: int, after_id: int | None, path: str = "code"
) -> CodeStatus:
    code = rules.check_code(code_text, path)
    row = (await connection.execute(select(codes).where(codes.c.org_id == org.id, codes.c.code == code))).one_or_none()
    if row is None:
        raise PromoCodeNotFoundError(f"no promo code {code!r}", field=path)
    promotion = await load_promotion(connection, org, row.promotion_id)
    conditions = [redemptions.c.code_id == row.id]
    if after_id is not None:
        conditions.append(redemptions.c.id < after_id)
    found = (
        await connection.execute(
            select(redemptions).where(*conditions).order_by(redemptions.c.id.desc()).limit(first + 1)
        )
    ).all()
    views = [
        RedemptionView(
            id=item.id,
            customer_id=item.customer_id,
            transaction_id=item.transaction_id,
            discount=item.discount,
            linked=item.linked,
            redeemed_at=item.redeemed_at,
            reversed_at=item.reversed_at,
            reversal_transaction_id=item.reversal_transaction_id,
        )
        for item in found[:first]
    ]
    return CodeStatus(
        code=row.code,
        source=row.source,
        redemptions_count=row.redemptions_count,
        created_at=row.created_at,
        promotion=promotion,
        redemptions=views,
        has_next_page=len(found) > first,
    )


# --- Reconciliation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterDiscrepancy:
    counter: str  # promotion, promotion_codes, code, code_customer, promotion_customer
    row_id: int
    stored: int
    from_redemptions: int


async def reconcile_promotions(connection: AsyncConnection, org_id: int | None = None) -> list[CounterDiscrepancy]:
    """Every usage counter against the redemption rows it counts (those not reversed)."""
    live = redemptions.c.reversed_at.is_(None)
    found: list[CounterDiscrepancy] = []

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
        for row in await connection.execute(statement):
            found.append(CounterDiscrepancy(name, row[0], row[1], row.expected))
    return found
