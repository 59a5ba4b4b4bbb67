"""Code-linked promotions: create a promotion, fill it with codes (generated, uploaded, common),
validate a code against a cart, apply codes to a bill, give them back on a return, link a code to
a customer, and read a code's status.

Limits hold under concurrency without check-then-act: every counter moves in one guarded
statement inside the bill's write transaction (`UPDATE ... SET n = n + 1 WHERE id = :id AND
n < :limit`, or an upsert whose DO UPDATE carries the same guard), and a statement that moves no
row means the limit is reached. A failed code fails the bill, and the transaction rolls back
every counter with it. The statements are in app/promotions/repository.py.

The counters every bill applying a promotion shares (the code's and the promotion's, limited or
not) are claimed as the bill's last statements (`_SharedCounters`), and a return gives them
back as its last statements, so their row locks are held from there to the commit, not for the
whole bill: bills applying one promotion no longer queue on its row on PostgreSQL. The counters
stay exact (each equals its redemption rows at every commit), so the API reads them as they
are. A customer's own counters are claimed where the code is applied (only that customer's
bills, serialised already, lock them), and so are a bill's shared counters when one of its
linked codes has a shared limit (see `apply_to_bill`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.bill_conditions import BillCondition
from app.kernel.errors import ConflictError, ValidationError
from app.kernel.line_conditions import attributes_of
from app.kernel.text import check_text
from app.organizations.config import OrgConfig
from app.outbox import events
from app.outbox import service as outbox
from app.promotions import repository, rules
from app.promotions.errors import (
    PromoCodeCustomerLimitReachedError,
    PromoCodeExpiredError,
    PromoCodeLimitReachedError,
    PromoCodeLinkedToAnotherCustomerError,
    PromoCodeNotFoundError,
    PromotionNotFoundError,
    PromotionNotStartedError,
)
from app.promotions.models import DESCRIPTION_LENGTH_MAX, LinkMode, PromoCodeSource, PromotionAction
from app.promotions.rules import Cart, GenerationRequest, Limits, PromotionTerms, RowError
from app.storage.database import Database, before_commit, lock_keys

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
# One write transaction per batch: large enough that a commit (and SQLite's WAL checkpoint after
# it) is paid every 20,000 codes, not every 5,000 (CPU per 1,000,000 codes: 15 s at 5,000, 9 s at
# 20,000), small enough that other writers wait at most ~0.1-0.2 s for the writer between batches.
GENERATE_BATCH_SIZE = 20_000
GENERATE_BATCH_SIZE_MAX = 100_000
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
        eligible_attributes=attributes_of(row.eligible_attributes),
        percent=row.percent,
        amount=row.amount,
        free_item_code=row.free_item_code,
        bundle_item_codes=tuple(row.bundle_item_codes or ()),
        bill_conditions=tuple(BillCondition.from_document(document) for document in row.bill_conditions or ()),
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
    row = await repository.promotion(connection, org_id=org.id, promotion_id=promotion_id)
    if row is None:
        raise PromotionNotFoundError(f"no promotion {promotion_id}", field=field_name)
    return _promotion_view(row)


async def list_promotions(
    connection: AsyncConnection, org: OrgConfig, first: int, after_id: int | None
) -> tuple[list[PromotionView], bool]:
    """The org's cart promotions, newest first, keyset-paginated by id."""
    rows = await repository.promotions_page(connection, org_id=org.id, limit=first + 1, before_id=after_id)
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
        await repository.end_promotion(connection, promotion_id=promotion_id, now=now)
        return await load_promotion(connection, org, promotion_id, field_name)

    return await database.run_write(work)


# --- Creating promotions and codes ----------------------------------------------------------


async def create_promotion(
    database: Database, org: OrgConfig, data: PromotionInput, path: str = "input", *, now: datetime
) -> tuple[PromotionView, bool]:
    """A promotion (and its common code, when given); (view, replayed)."""
    terms = rules.check_terms(data.terms, data.name, path)
    limits = rules.check_limits(data.limits, path)
    check_text(data.description, f"{path}.description", DESCRIPTION_LENGTH_MAX)
    common = rules.check_code(data.common_code, f"{path}.commonCode") if data.common_code is not None else None
    key = idempotency.check_key(data.idempotency_key, f"{path}.idempotencyKey")
    payload = {"name": data.name, "description": data.description, "terms": terms, "limits": limits, "common": common}

    async def perform(connection: AsyncConnection) -> tuple[int, tuple[PromotionView, bool]]:
        promotion_id = await repository.insert_promotion(
            connection,
            {
                "org_id": org.id,
                "name": data.name.strip(),
                "description": data.description,
                "valid_from": terms.valid_from,
                "valid_until": terms.valid_until,
                "minimum_bill_amount": terms.minimum_bill_amount,
                "eligible_item_codes": list(terms.eligible_item_codes) or None,
                "eligible_attributes": [{"name": c.name, "value": c.value} for c in terms.eligible_attributes] or None,
                "action": terms.action.value,
                "percent": terms.percent,
                "amount": terms.amount,
                "free_item_code": terms.free_item_code,
                "bundle_item_codes": list(terms.bundle_item_codes) or None,
                "bill_conditions": [condition.to_document() for condition in terms.bill_conditions] or None,
                "code_redemption_limit": limits.code_redemption_limit,
                "customer_code_redemption_limit": limits.customer_code_redemption_limit,
                "redemption_limit": limits.redemption_limit,
                "customer_transaction_limit": limits.customer_transaction_limit,
                "redemptions_count": 0,
                "codes_count": 0,
                "created_at": now,
            },
        )
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
    inserted = await repository.insert_new_codes(
        connection, org_id=org_id, promotion_id=promotion_id, batch=batch, source=source, now=now
    )
    if inserted:
        await repository.count_new_codes(connection, promotion_id=promotion_id, count=len(inserted))
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
    its own write transaction (other writers get the database between batches; a batch's codes
    and the promotion's code count commit together). Codes that collide with existing ones, or
    repeat within a batch (the unique index skips them), are topped up by the next batches:
    exactly the count asked for is generated, or ConflictError when the code space is too
    crowded to find them in a bounded number of rounds (what was generated stays).

    An idempotency key is remembered with the first batch: the same request sent again
    generates nothing more and says it replayed (the promotion's code count tells what exists,
    also after a run that stopped half-way)."""
    assert 1 <= batch_size <= GENERATE_BATCH_SIZE_MAX
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
        batch = rules.random_codes(min(batch_size, request.count - generated), request.length, request.prefix, **extra)

        async def insert_batch(connection: AsyncConnection, batch: list[str] = batch) -> int:
            inserted = await repository.insert_generated_codes(
                connection, org_id=org.id, promotion_id=promotion_id, batch=batch, now=now
            )
            if inserted:
                await repository.count_new_codes(connection, promotion_id=promotion_id, count=inserted)
            return inserted

        if first and key is not None:

            async def perform(connection: AsyncConnection, insert_batch: Any = insert_batch) -> tuple[int, int]:
                return promotion_id, await insert_batch(connection)

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
            inserted = await database.run_write(insert_batch)
        first = False
        generated += inserted
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
            existing.update(await repository.existing_codes(connection, org_id=org.id, batch=chunk))
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
            raise _UploadRacedError(UploadReport(rows_total, 0, sorted(errors, key=lambda error: error.row)))
        return UploadReport(rows_total, len(stored), sorted(errors, key=lambda error: error.row))

    try:
        return await database.run_write(work)
    except _UploadRacedError as raced:  # rolled back: nothing stored
        return raced.report


class _UploadRacedError(Exception):
    """Raised to roll an upload back that lost codes to a concurrent writer, carrying its report."""

    def __init__(self, report: UploadReport) -> None:
        super().__init__("upload raced")
        self.report = report


# --- Codes against a cart -------------------------------------------------------------------


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
    # The code's and the promotion's redemptions as read with it (committed then; moved under lock only).
    code_redemptions_count: int = 0
    promotion_redemptions_count: int = 0

    @property
    def has_shared_limit(self) -> bool:
        """A limit on a counter every bill applying the promotion shares (the code's, the promotion's)."""
        return self.limits.code_redemption_limit is not None or self.limits.redemption_limit is not None

    @property
    def shared_limit_reached(self) -> bool:
        """Reached as read: redemptions are given back only by committed returns, so a limit seen
        reached was reached at that instant (the guarded claim still decides when it is not)."""
        limits = self.limits
        return (
            limits.code_redemption_limit is not None and self.code_redemptions_count >= limits.code_redemption_limit
        ) or (limits.redemption_limit is not None and self.promotion_redemptions_count >= limits.redemption_limit)


def _candidate(row: Any, field_name: str) -> Candidate:
    return Candidate(
        code_id=row.code_id,
        code=row.code,
        promotion_id=row.id,
        promotion_name=row.name,
        terms=_terms_of(row),
        limits=_limits_of(row),
        field=field_name,
        code_redemptions_count=row.code_redemptions_count,
        promotion_redemptions_count=row.redemptions_count,
        link_id=getattr(row, "link_id", None),
        link_mode=LinkMode(row.mode) if getattr(row, "mode", None) else None,
    )


async def _find_codes(connection: AsyncConnection, org_id: int, named: Sequence[tuple[str, str]]) -> list[Candidate]:
    """The codes named, as (code, field) pairs: PROMO_CODE_UNKNOWN on the field of the first not found."""
    found_rows = await repository.codes_with_promotion(connection, org_id=org_id, wanted=[code for code, _ in named])
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
        limits = candidate.limits
        if candidate.shared_limit_reached:  # the counts were read with the code, in this one snapshot
            raise _limit_error(candidate)
        if customer_id is not None:
            used_code = await repository.customer_code_uses(
                connection, code_id=candidate.code_id, customer_id=customer_id
            )
            used_promotion = await repository.customer_promotion_uses(
                connection, promotion_id=candidate.promotion_id, customer_id=customer_id
            )
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


async def _claim(
    connection: AsyncConnection, candidate: Candidate, customer_id: int | None, shared: _SharedCounters | None
) -> Exception | None:
    """Count one redemption of the code against every limit, each in one guarded statement; on
    the first limit reached, give back what this claim took and return the typed error.

    With `shared`, the code's and the promotion's counters are only checked against what was
    read here, and handed to `shared` to be claimed as the transaction's last statements."""
    limits = candidate.limits
    taken: list[Callable[[], Awaitable[bool]]] = []

    async def undo() -> None:
        for release in reversed(taken):
            await release()

    if shared is not None:
        if candidate.shared_limit_reached:
            return _limit_error(candidate)
    else:
        if not await repository.claim_code(connection, code_id=candidate.code_id, limit=limits.code_redemption_limit):
            return _limit_error(candidate)
        taken.append(lambda: repository.release_code(connection, candidate.code_id))
        if not await repository.claim_promotion(
            connection, promotion_id=candidate.promotion_id, limit=limits.redemption_limit
        ):
            await undo()
            return _limit_error(candidate)
        taken.append(lambda: repository.release_promotion(connection, candidate.promotion_id))
    if customer_id is not None:
        error = await _claim_customer_usage(connection, candidate, customer_id)
        if error is not None:
            await undo()
            return error
    if shared is not None:
        shared.candidates.append(candidate)
    return None


async def _claim_customer_usage(
    connection: AsyncConnection, candidate: Candidate, customer_id: int
) -> Exception | None:
    """The customer's counters of the code and the promotion (their rows are the customer's own:
    only that customer's bills, which wait on each other already, ever lock them)."""
    limits = candidate.limits
    if not await repository.claim_code_usage(
        connection, code_id=candidate.code_id, customer_id=customer_id, limit=limits.customer_code_redemption_limit
    ):
        return _customer_limit_error(candidate)
    if not await repository.claim_promotion_usage(
        connection,
        promotion_id=candidate.promotion_id,
        customer_id=customer_id,
        limit=limits.customer_transaction_limit,
    ):
        await repository.release_code_usage(connection, code_id=candidate.code_id, customer_id=customer_id)
        return _customer_limit_error(candidate)
    return None


class _SharedCounters:
    """The code's and the promotion's counters a transaction moves, claimed (a bill's codes) or
    given back (a return's), by guarded statements as the transaction's last statements
    (`before_commit(..., last=True)`), promotion by promotion in id order, each promotion's code
    rows (in id order) before its own row, so every writer takes these rows in one order.

    These rows are shared by every bill applying the promotion: claimed when the code is applied,
    their row locks were held for the rest of the bill, and all such bills queued on them (on
    PostgreSQL). Moved last, they are held from here to the commit only. A named code over its
    limit here (capacity taken since the bill read it) fails the bill with the typed error, and
    the transaction rolls back everything the bill wrote, as a claim that failed early did. A
    row's give-backs run before its claims. (A claim checked on counts as read never meets a pending
    give-back: only addTransaction names codes, and an exchange's linked code with a shared limit
    claims early, after `release_now`.)"""

    def __init__(self) -> None:
        self.candidates: list[Candidate] = []
        self.released: list[tuple[int, int]] = []  # (code id, promotion id), one per redemption given back

    async def release_now(self, connection: AsyncConnection) -> None:
        """Give back now what was to be given back last (the bill then claims its counters early)."""
        for code_id, promotion_id in self.released:
            await _release_shared(connection, code_id, promotion_id)
        self.released.clear()

    async def __call__(self, connection: AsyncConnection) -> None:
        promotion_ids = sorted(
            {promotion_id for _, promotion_id in self.released}
            | {candidate.promotion_id for candidate in self.candidates}
        )
        for promotion_id in promotion_ids:
            claims = sorted(
                (candidate for candidate in self.candidates if candidate.promotion_id == promotion_id),
                key=lambda candidate: candidate.code_id,
            )
            given_back = [code_id for code_id, owner in self.released if owner == promotion_id]
            for code_id in sorted({*given_back, *(candidate.code_id for candidate in claims)}):
                for _ in range(given_back.count(code_id)):
                    _counted(await repository.release_code(connection, code_id))
                for candidate in claims:
                    if candidate.code_id == code_id and not await repository.claim_code(
                        connection, code_id=code_id, limit=candidate.limits.code_redemption_limit
                    ):
                        raise _limit_error(candidate)
            for _ in given_back:
                _counted(await repository.release_promotion(connection, promotion_id))
            for candidate in claims:
                if not await repository.claim_promotion(
                    connection, promotion_id=promotion_id, limit=candidate.limits.redemption_limit
                ):
                    raise _limit_error(candidate)


_SHARED_COUNTERS = "pointledger.promotions.shared_counters"


def _shared_counters(connection: AsyncConnection) -> _SharedCounters:
    """This transaction's shared counters, registered to be moved at its end on first use."""
    return before_commit(connection, _SHARED_COUNTERS, _SharedCounters(), last=True)


async def _release_shared(connection: AsyncConnection, code_id: int, promotion_id: int) -> None:
    _counted(await repository.release_code(connection, code_id))
    _counted(await repository.release_promotion(connection, promotion_id))


def _counted(moved: bool) -> None:
    """A redemption given back was counted: its guarded release moved the counter."""
    assert moved, "every redemption not reversed is counted"


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
        for row in await repository.active_links(connection, customer_id):
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
    # The shared counters (the code's, the promotion's) are claimed last (`_SharedCounters`),
    # unless a linked code has a limit on them: skipping it at its limit changes what the bill
    # holds, so it must be known before the bill is written, and then every code's shared
    # counters are claimed here, as they all were before (one lock order for the whole bill).
    shared = _shared_counters(connection)
    early = any(item.candidate.has_shared_limit for item in linked)
    if early:
        await shared.release_now(connection)  # an exchange's give-backs first, as the claims count them
    # Claimed in promotion id order (a bill has one code per promotion): each claim locks its
    # code row, then its promotion row, then usage rows, so every bill takes promotion rows in
    # one order and two bills cannot wait on each other's promotions on PostgreSQL. (Code id
    # order did not: codes 1 and 3 of P with codes 5 and 2 of Q crossed.)
    claimed: set[int] = set()
    for item, was_linked in sorted(
        [(item, False) for item in chosen] + [(item, True) for item in linked],
        key=lambda pair: pair[0].candidate.promotion_id,
    ):
        error = await _claim(connection, item.candidate, customer_id, None if early else shared)
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
    await repository.insert_redemptions(
        connection,
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
    # A code applied from a link carries its link (`_candidate` reads it from the link's row).
    used_links = [
        item.candidate.link_id
        for item, was_linked in applied.items
        if was_linked and item.candidate.link_mode is LinkMode.NEXT_CHECKOUT and item.candidate.link_id is not None
    ]
    if used_links:
        await repository.use_links(connection, link_ids=used_links, transaction_id=transaction_id, now=now)


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
    code can be used again where its limits allow: the customer's own counters here, the shared
    ones at the transaction's end (`_SharedCounters`). Runs under the bill's lock."""
    released = []
    for row in await repository.live_redemptions_of_bill(connection, bill_id):
        if not await repository.mark_reversed(connection, redemption_id=row.id, return_id=return_id, now=now):
            continue  # given back already (cannot happen under the bill's lock)
        _shared_counters(connection).released.append((row.code_id, row.promotion_id))
        if row.customer_id is not None:
            _counted(await repository.release_code_usage(connection, code_id=row.code_id, customer_id=row.customer_id))
            _counted(
                await repository.release_promotion_usage(
                    connection, promotion_id=row.promotion_id, customer_id=row.customer_id
                )
            )
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
        existing = await repository.links_of_code(connection, candidate.code_id)
        source = await repository.code_source(connection, candidate.code_id)
        mine = next((row for row in existing if row.customer_id == customer_id), None)
        if mine is not None:
            if mine.mode != mode.value:
                await repository.set_link_mode(connection, link_id=mine.id, mode=mode.value)
            return _link_view(await repository.link(connection, mine.id)), True
        if source != PromoCodeSource.COMMON.value and existing:
            raise PromoCodeLinkedToAnotherCustomerError(
                f"promo code {code!r} is linked to another customer", field=candidate.field
            )
        link_id = await repository.insert_link(
            connection, org_id=org.id, code_id=candidate.code_id, customer_id=customer_id, mode=mode.value, now=now
        )
        outbox.stage(
            connection,
            org_id=org.id,
            draft=events.promo_code_linked(
                customer_id=customer_id, code=candidate.code, promotion_name=candidate.promotion_name, mode=mode.value
            ),
            now=now,
        )
        return _link_view(await repository.link(connection, link_id)), False

    return await database.run_write(work)


async def customer_links(connection: AsyncConnection, org: OrgConfig, customer_id: int) -> list[LinkView]:
    return [
        _link_view(row) for row in await repository.customer_links(connection, org_id=org.id, customer_id=customer_id)
    ]


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
    row = await repository.code(connection, org_id=org.id, code=code)
    if row is None:
        raise PromoCodeNotFoundError(f"no promo code {code!r}", field=path)
    promotion = await load_promotion(connection, org, row.promotion_id)
    found = await repository.code_redemptions(connection, code_id=row.id, limit=first + 1, before_id=after_id)
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
    return [
        CounterDiscrepancy(counter, row_id, stored, expected)
        for counter, row_id, stored, expected in await repository.counters_out_of_step(connection, org_id)
    ]
