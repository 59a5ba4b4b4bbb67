"""Transaction use cases: add a bill (earn), read bills back.

`add_transaction` runs in one write transaction: lock the bill's and the identifiers' natural
keys, check the bill number, find or register the customer, record the bill, earn, move the
tier. Replaying the same bill returns the first result and writes nothing. The statements are
in app/transactions/repository.py.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.catalog.service import product_ids_for
from app.currencies import service as currencies_service
from app.currencies.rules import EarningLine
from app.customers import repository as customers_repository
from app.customers import service as customers_service
from app.customers.models import LoyaltyType, TierChangeCause
from app.customers.service import Activity, CustomerDetails, CustomerView
from app.customers.tiers import record_tier_change
from app.idempotency import service as idempotency
from app.kernel.bill_conditions import BillFacts
from app.kernel.enums import PointsCategory
from app.kernel.errors import DomainError, InternalError
from app.kernel.line_conditions import attributes_of
from app.ledger import repository as ledger_repository
from app.ledger import rules as ledger_rules
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig, ProgramConfig
from app.organizations.models import GroupPoints
from app.outbox import events
from app.outbox import service as outbox
from app.promotions import service as promotions_service
from app.promotions.rules import Cart, CartLine
from app.redemptions import service as redemptions_service
from app.referrals import service as referrals
from app.storage.database import Database, lock_keys
from app.transactions import repository
from app.transactions.errors import BatchTooLargeError, DuplicateBillNumberError
from app.transactions.inputs import TransactionInput
from app.transactions.models import DeliveryStatus, TransactionType
from app.transactions.rules import Earning, PreparedTransaction, earn, json_document, prepare
from app.transactions.side_effects import (
    AlternateCurrencyAwarded,
    CustomerResolved,
    PointsAwarded,
    PromoCodeApplied,
    ReferralAwarded,
    SideEffect,
    SkippedIdentifier,
    TierUpgraded,
    from_document,
    to_document,
)
from app.user_groups import service as user_groups_service

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
ADDED_CODE = 600
ADDED_MESSAGE = "Transaction added successfully"
REPLAYED_MESSAGE = "Transaction already added; this is the first result"
BATCH_SIZE_MAX = 100


@dataclass(frozen=True)
class TransactionView:
    id: int
    number: str
    type: str
    bill_client_id: str | None
    amount: Decimal
    gross_amount: Decimal | None
    discount: Decimal | None
    eligible_amount: Decimal
    currency_code: str | None
    billing_time: datetime
    notes: str | None
    outlier_status: str
    source: str
    store_id: int
    till_id: int | None
    program_id: int
    customer_id: int | None
    not_interested_reason: str | None
    referral_code: str | None
    associate_code: str | None
    associate_name: str | None
    extended_fields: list[dict[str, Any]] | None
    custom_fields: list[dict[str, Any]] | None
    payment_details: list[dict[str, Any]] | None
    side_effects: tuple[SideEffect, ...]
    created_at: datetime
    points_earned: Decimal = ZERO
    returned_amount: Decimal = ZERO
    returned_points: Decimal = ZERO
    reversed_redemption_points: Decimal = ZERO
    parent_transaction_id: int | None = None
    return_type: str | None = None
    parent_bill_number: str | None = None
    delivery_status: str | None = None
    shipping_source_till_id: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> TransactionView:
        """A stored bill, its side effects read back from their JSON document."""
        values = {name: getattr(row, name) for name in cls.__dataclass_fields__}
        return cls(**{**values, "side_effects": from_document(row.side_effects)})


@dataclass(frozen=True)
class LineItemView:
    transaction_id: int
    serial: int
    transaction_number: str | None
    item_code: str
    variant: str | None
    product_id: int
    description: str | None
    qty: Decimal
    rate: Decimal
    value: Decimal
    discount: Decimal
    amount: Decimal
    outlier_status: str
    attributes: list[dict[str, Any]] | None
    extended_fields: list[dict[str, Any]] | None
    custom_fields: list[dict[str, Any]] | None
    addon_items: list[dict[str, Any]] | None
    combo_items: list[dict[str, Any]] | None
    split_items: list[dict[str, Any]] | None
    returned_qty: Decimal = ZERO
    line_type: str = "REGULAR"
    returns_serial: int | None = None

    @classmethod
    def from_mapping(cls, values: Any) -> LineItemView:
        return cls(**{name: values[name] for name in cls.__dataclass_fields__ if name in values})


@dataclass(frozen=True)
class TransactionResult:
    transaction: TransactionView
    customer: CustomerView | None
    replayed: bool
    line_items: list[LineItemView] | None = None  # known when just written; read on demand otherwise

    @property
    def item_status_message(self) -> str:
        return REPLAYED_MESSAGE if self.replayed else ADDED_MESSAGE


async def add_transaction(
    database: Database, org: OrgConfig, data: TransactionInput, path: str = "input", *, now: datetime
) -> TransactionResult:
    prepared = prepare(data, org, now, path)
    key = idempotency.check_key(data.idempotency_key, f"{path}.idempotencyKey")

    async def perform(connection: AsyncConnection) -> tuple[int, TransactionResult]:
        result = await _add(connection, org, prepared, now, path)
        return result.transaction.id, result

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="addTransaction",
        payload=prepared.payload_hash,
        now=now,
        perform=perform,
        replay=lambda connection, transaction_id: load_result(connection, org, transaction_id, replayed=True, now=now),
        field=f"{path}.idempotencyKey",
        brief=True,
    )


async def add_transactions(
    database: Database, org: OrgConfig, batch: Sequence[TransactionInput], *, now: datetime
) -> list[TransactionResult | DomainError]:
    """Each bill in its own write transaction: one bad bill fails alone, with its own status."""
    if len(batch) > BATCH_SIZE_MAX:
        raise BatchTooLargeError(f"at most {BATCH_SIZE_MAX} transactions per batch", field="input")
    results: list[TransactionResult | DomainError] = []
    for index, data in enumerate(batch):
        try:
            results.append(await add_transaction(database, org, data, path=f"input[{index}]", now=now))
        except DomainError as error:
            results.append(error)
        except Exception:
            logger.exception("batch item %d failed unexpectedly", index)
            results.append(InternalError(field=f"input[{index}]"))
    return results


def bill_lock_key(org_id: int, store_id: int, number: str) -> str:
    """The natural key a bill's writers serialize on: addTransaction and the bill's returns."""
    return f"bill:{org_id}:{store_id}:{number}"


def _bill_lock_key(org: OrgConfig, prepared: PreparedTransaction) -> str:
    return bill_lock_key(org.id, prepared.store.id, prepared.number)


async def add_within(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedTransaction, now: datetime, path: str = "input"
) -> TransactionResult:
    """Add a prepared bill inside a write transaction the caller runs (an exchange's purchase)."""
    return await _add(connection, org, prepared, now, path)


async def _add(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedTransaction, now: datetime, path: str
) -> TransactionResult:
    data = prepared.source
    await lock_keys(
        connection,
        [
            _bill_lock_key(org, prepared),
            *customers_service.identifier_lock_keys(org.id, prepared.identifiers),
        ],
    )
    replay = await _find_same_bill(connection, org, prepared, path)
    if replay is not None:
        return await load_result(connection, org, replay, replayed=True, now=now)

    activity = Activity(
        source=data.source, store_id=prepared.store.id, till_id=prepared.till.id if prepared.till else None
    )
    customer_id: int | None = None
    resolved = None
    standing = None
    earning = None
    earner = None
    eligible_amount = prepared.eligible_amount
    side_effects: list[SideEffect] = []
    currency_awards: list[currencies_service.CurrencyAward] = []
    if data.type is TransactionType.REGULAR:
        details = (
            CustomerDetails(first_name=data.customer.first_name, last_name=data.customer.last_name)
            if data.customer
            else CustomerDetails()
        )
        resolved = await customers_service.resolve_for_transaction(
            connection,
            org,
            prepared.identifiers,
            details,
            activity,
            now,
            loyalty_type=(data.customer and data.customer.loyalty_type) or LoyaltyType.LOYALTY,
            field=f"{path}.customer",
        )
        customer_id = resolved.customer_id
        if resolved.registered:
            await _link_referrer(connection, org, data, resolved.customer_id, now, path)
    referral_plan = None
    if resolved is not None and resolved.loyalty_type is LoyaltyType.NON_LOYALTY:
        # Known, not enrolled: the bill is theirs and counts in their lifetime purchases (as the
        # seed counts non-loyalty purchases there), but earns nothing and moves no tier.
        eligible_amount = ZERO
        side_effects = [_customer_side_effect(resolved)]
    elif resolved is not None:
        customer_id = resolved.customer_id
        lot = ledger_rules.earned_lot(prepared.program, prepared.billing_time, now, org.time_zone)
        standing = await _lock_standing(connection, customer_id, prepared.program, lot.category)
        if standing is None and await customers_service.open_missing_programs(
            connection, org, customer_id, activity, now
        ):
            standing = await _lock_standing(connection, customer_id, prepared.program, lot.category)
        assert standing is not None, "every customer has a standing in every program once opened"
        earning = earn(
            prepared.program,
            prepared.program.tier(standing.tier_id),
            standing.cumulative_purchases,
            prepared.eligible_amount,
            prepared.counted_purchase,
            earn_rate_multiplier=prepared.earn_rate_multiplier,
        )
        earner = _Earner(customer_id, standing.account_id, standing.balance)
        if prepared.program.group_points is GroupPoints.GROUP:
            earner = (
                await _group_earner(connection, org, customer_id, prepared.program, activity, now, path, lot.category)
                or earner
            )
        currency_awards = (
            currencies_service.awards_for_bill(prepared.program, prepared.eligible_amount, _earning_lines(prepared))
            if prepared.program.alternate_currencies
            else []
        )
        side_effects = [
            _customer_side_effect(resolved),
            # Before the points, in the order seed 001's response lists them.
            *(
                AlternateCurrencyAwarded(award.currency.identifier, award.currency.name, award.value)
                for award in currency_awards
            ),
            *_side_effects(prepared, earning, earner),
        ]
        referral_plan = await _plan_referral(connection, org, prepared, resolved, now)
        if referral_plan is not None:
            side_effects.extend(_referral_side_effects(prepared.program, referral_plan))
    applied = promotions_service.NOTHING_APPLIED
    # Promo codes named on the bill, and a customer's linked codes (one indexed lookup).
    if data.promo_codes or data.coupon_redemptions or customer_id is not None:
        named = promotions_service.check_named_codes(
            [(data.promo_codes, f"{path}.promoCodes"), (data.coupon_redemptions, f"{path}.couponRedemptions")]
        )
        applied = await promotions_service.apply_to_bill(
            connection, org, named=named, customer_id=customer_id, cart=_cart(prepared), now=now, path=path
        )
        side_effects.extend(_promo_code_side_effects(applied))

    values: dict[str, Any] = {
        "org_id": org.id,
        "customer_id": customer_id,
        "type": data.type.value,
        "number": prepared.number,
        "bill_client_id": data.bill_client_id,
        "amount": data.amount,
        "gross_amount": data.gross_amount,
        "discount": data.discount,
        "eligible_amount": eligible_amount,
        "currency_code": data.currency_code.upper() if data.currency_code else None,
        "billing_time": prepared.billing_time,
        "notes": data.notes,
        "outlier_status": data.outlier_status.value,
        "source": data.source,
        "store_id": prepared.store.id,
        "till_id": activity.till_id,
        "program_id": prepared.program.id,
        "not_interested_reason": data.not_interested_reason,
        "referral_code": data.referral_code,
        "associate_code": data.associate_code,
        "associate_name": data.associate_name,
        "extended_fields": json_document(data.extended_fields),
        "custom_fields": json_document(data.custom_fields),
        "payment_details": json_document(data.payment_details),
        "customer_details": json_document(data.customer.__dict__) if data.customer and customer_id is None else None,
        "side_effects": tuple(side_effects),
        "payload_hash": prepared.payload_hash,
        "created_at": now,
        "points_earned": earning.points if earning is not None else ZERO,
        "delivery_status": (data.delivery_status or DeliveryStatus.DELIVERED).value,
        "shipping_source_till_id": prepared.shipping_till.id if prepared.shipping_till else None,
    }
    transaction_id = await repository.insert_transaction(
        connection, {**values, "side_effects": to_document(side_effects)}
    )
    outbox.stage(
        connection,
        org_id=org.id,
        draft=events.transaction_added(
            customer_id=customer_id,
            transaction_id=transaction_id,
            bill_number=prepared.number,
            transaction_type=data.type.value,
            store_code=prepared.store.code,
            amount=data.amount,
            billing_time=prepared.billing_time,
            program_code=prepared.program.code,
            points_earned=values["points_earned"],
        ),
        now=now,
    )
    items = await _insert_line_items(connection, org, prepared, transaction_id, now)
    if applied.items:
        await promotions_service.record_on_bill(
            connection, org, applied, transaction_id=transaction_id, customer_id=customer_id, now=now
        )
        for code in applied.codes():
            outbox.stage(
                connection,
                org_id=org.id,
                draft=events.promo_code_redeemed(
                    customer_id=customer_id,
                    code=code.code,
                    promotion_name=code.promotion_name,
                    discount=code.discount,
                    transaction_id=transaction_id,
                    bill_number=prepared.number,
                    linked=code.linked,
                ),
                now=now,
            )
    if data.points_redemptions:
        await redemptions_service.apply_to_bill(
            connection,
            org_id=org.id,
            customer_id=customer_id,
            transaction_id=transaction_id,
            redemption_ids=data.points_redemptions,
            path=path,
        )
    if currency_awards and customer_id is not None:
        await currencies_service.post_bill_awards(
            connection,
            org,
            prepared.program,
            currency_awards,
            customer_id=customer_id,
            transaction_id=transaction_id,
            bill_number=prepared.number,
            source=activity.source,
            store_id=activity.store_id,
            till_id=activity.till_id,
            billing_time=prepared.billing_time,
            now=now,
        )

    customer = None
    if earning is not None and standing is not None and resolved is not None and earner is not None:
        tier_expires_at = await _apply_earning(
            connection, org, prepared, earning, standing, earner, resolved.customer_id, transaction_id, activity, now
        )
        if referral_plan is not None:  # after the bill's own points: its posting expects the balance it locked
            await referrals.post_award(
                connection,
                org,
                prepared.program,
                referral_plan,
                referrals.Purchase(
                    transaction_id,
                    prepared.number,
                    eligible_amount,
                    activity.source,
                    activity.store_id,
                    activity.till_id,
                ),
                open_program=lambda holder_id: _open_programs_of(connection, org, holder_id, activity, now),
                now=now,
            )
        if (
            resolved.registered and referral_plan is None
        ):  # what the bill wrote is all there is: no need to read it back
            customer = customers_service.registered_view(
                org,
                customer_id=resolved.customer_id,
                identifiers=resolved.registered_identifiers,
                details=details,
                activity=activity,
                now=now,
                purchase=customers_service.FirstPurchase(
                    program_id=prepared.program.id,
                    category=lot.category,
                    points=earning.points,
                    active_from=lot.active_from,
                    expires_at=lot.expires_at,
                    cumulative_purchases=earning.cumulative_purchases_after,
                    tier_id=earning.tier_after.id,
                    tier_expires_at=tier_expires_at,
                    lifetime_purchases=earning.counted_purchase,
                ),
            )
        else:
            customer = (await customers_service.load_customers(connection, org, [resolved.customer_id], now=now))[
                resolved.customer_id
            ]
    elif resolved is not None:  # NON_LOYALTY: only the lifetime purchases move
        if prepared.counted_purchase:
            await customers_repository.add_lifetime_purchases(
                connection, customer_id=resolved.customer_id, amount=prepared.counted_purchase
            )
        customer = (await customers_service.load_customers(connection, org, [resolved.customer_id], now=now))[
            resolved.customer_id
        ]
    # Built from what was just written: no need to read the bill back.
    view = TransactionView(
        id=transaction_id, **{name: values[name] for name in TransactionView.__dataclass_fields__ if name in values}
    )
    return TransactionResult(transaction=view, customer=customer, replayed=False, line_items=items)


async def _link_referrer(
    connection: AsyncConnection, org: OrgConfig, data: TransactionInput, customer_id: int, now: datetime, path: str
) -> None:
    """A customer the bill registered, linked to whoever's referral code it names: the customer's
    code (seed 001's customer-level referral_code), else the bill's."""
    if data.customer is not None and data.customer.referral_code:
        code, field = data.customer.referral_code, f"{path}.customer.referralCode"
    elif data.referral_code:
        code, field = data.referral_code, f"{path}.referralCode"
    else:
        return
    await referrals.link_referee(
        connection,
        org,
        referee_id=customer_id,
        code=code,
        now=now,
        field=field,
        survivor_of=customers_service.survivor_of,
    )


async def _plan_referral(
    connection: AsyncConnection,
    org: OrgConfig,
    prepared: PreparedTransaction,
    resolved: customers_service.ResolvedCustomer,
    now: datetime,
) -> referrals.AwardPlan | None:
    """The referral awards this purchase pays, when its customer was referred and not yet awarded."""
    referrer_id = await referrals.pending_referrer(connection, org, prepared.program, resolved.customer_id)
    if referrer_id is None:
        return None
    first_purchase = resolved.registered or not await repository.has_purchase(
        connection, org_id=org.id, customer_id=resolved.customer_id
    )
    return await referrals.plan_award(
        connection,
        org,
        prepared.program,
        referee_id=resolved.customer_id,
        referrer_id=referrer_id,
        eligible_amount=prepared.eligible_amount,
        first_purchase=first_purchase,
        now=now,
    )


def _referral_side_effects(program: ProgramConfig, plan: referrals.AwardPlan) -> list[SideEffect]:
    return [
        ReferralAwarded(award.customer_id, program.id, program.code, award.points, award.is_referrer)
        for award in (plan.referee, plan.referrer)
        if award.points > 0
    ]


async def _open_programs_of(
    connection: AsyncConnection, org: OrgConfig, customer_id: int, activity: Activity, now: datetime
) -> None:
    await customers_service.open_missing_programs(connection, org, customer_id, activity, now)


def _earning_lines(prepared: PreparedTransaction) -> list[EarningLine]:
    """The bill's lines as alternate currencies' line rules read them (nothing earns on a bill
    that earns no points); none read when no currency of the program has line rules."""
    if not any(currency.line_rules for currency in prepared.program.alternate_currencies):
        return []
    earns = prepared.eligible_amount > 0
    return [
        EarningLine(
            line.serial,
            line.source.item_code.strip(),
            line.qty,
            line.worth.eligible_amount if earns else ZERO,
            attributes_of(line.source.attributes),
            BillFacts.of_documents(line.source.extended_fields, line.source.custom_fields, None),
        )
        for line in prepared.line_items
    ]


def _cart(prepared: PreparedTransaction) -> Cart:
    """The bill as promo codes see it: its amount and lines before any code's discount."""
    return Cart(
        amount=prepared.source.amount,
        lines=tuple(
            CartLine(line.source.item_code.strip(), line.qty, line.amount, attributes_of(line.source.attributes))
            for line in prepared.line_items
        ),
        facts=prepared.facts,
    )


@dataclass(frozen=True, slots=True)
class _Standing:
    id: int
    tier_id: int
    cumulative_purchases: Decimal
    account_id: int
    balance: Decimal
    category: PointsCategory  # of the account: where this bill's points go


async def _lock_standing(
    connection: AsyncConnection, customer_id: int, program: ProgramConfig, category: PointsCategory
) -> _Standing | None:
    """The customer's tier, purchases and the account the bill earns into (`category`), locked for this
    write (FOR UPDATE on PostgreSQL; SQLite's single writer already excludes everyone else):
    the standing first, then the account, as every writer locks customers before accounts."""
    standing = await customers_repository.lock_standing(connection, customer_id=customer_id, program_id=program.id)
    if standing is None:
        return None
    account = await ledger_repository.lock_account_of(
        connection, customer_id=customer_id, program_id=program.id, category=category
    )
    return _Standing(
        standing.id, standing.tier_id, standing.cumulative_purchases, account.id, account.balance, category
    )


@dataclass(frozen=True, slots=True)
class _Earner:
    """Whose account a purchase's points go to: the customer's, or their user group's (locked)."""

    holder_id: int
    account_id: int
    balance: Decimal
    entity_type: str = "USER"  # seed 001's side effect entityType: USER, or USERGROUP2 for a group


async def _group_earner(
    connection: AsyncConnection,
    org: OrgConfig,
    customer_id: int,
    program: ProgramConfig,
    activity: Activity,
    now: datetime,
    path: str,
    category: PointsCategory,
) -> _Earner | None:
    """A program that pools a member's points in their group (group_points GROUP): the account of
    the customer's oldest group, locked after the customer's own (every writer locks customers
    first); None when the customer is in no group."""
    group_ids = (await user_groups_service.groups_of_customers(connection, [customer_id])).get(customer_id)
    if not group_ids:
        return None
    group = (
        await user_groups_service.find_groups(
            connection, org, user_groups_service.GroupIdentifierType.GROUP_ID, [str(group_ids[0])]
        )
    )[str(group_ids[0])]
    await user_groups_service.lock_holders(connection, {group.customer_id: f"{path}.customer"})

    async def locked_account() -> Any:
        return await ledger_repository.lock_account_of(
            connection, customer_id=group.customer_id, program_id=program.id, category=category
        )

    account = await locked_account()
    if account is None:  # the group was made before the program: open it, as a member's purchase would
        await customers_service.open_missing_programs(connection, org, group.customer_id, activity, now)
        account = await locked_account()
    return _Earner(group.customer_id, account.id, account.balance, entity_type="USERGROUP2")


def _customer_side_effect(resolved: customers_service.ResolvedCustomer) -> CustomerResolved:
    """What finding the customer did, kept with the bill so a replay tells the same."""
    return CustomerResolved(
        customer_id=resolved.customer_id,
        registered=resolved.registered,
        merged_customer_ids=tuple(resolved.merged_customer_ids),
        skipped_identifiers=tuple(SkippedIdentifier(kind, value) for kind, value in resolved.skipped_identifiers),
        loyalty_type=resolved.loyalty_type.value,
    )


def _side_effects(prepared: PreparedTransaction, earning: Earning, earner: _Earner) -> list[SideEffect]:
    program = prepared.program
    effects: list[SideEffect] = [
        PointsAwarded(
            customer_id=earner.holder_id,
            program_id=program.id,
            program_code=program.code,
            points_awarded=earning.points,
            points_awarded_raw=earning.points_raw,
            balance_after=earner.balance + earning.points if earning.points > 0 else None,
            entity_type=earner.entity_type,
        )
    ]
    if earning.tier_after.id != earning.tier_before.id:
        effects.append(
            TierUpgraded(
                program_id=program.id,
                program_code=program.code,
                tier_name_before=earning.tier_before.name,
                tier_number_before=earning.tier_before.serial_number,
                tier_name_after=earning.tier_after.name,
                tier_number_after=earning.tier_after.serial_number,
            )
        )
    return effects


def _promo_code_side_effects(applied: promotions_service.AppliedCodes) -> list[SideEffect]:
    return [
        PromoCodeApplied(
            code=code.code,
            promotion_id=code.promotion_id,
            promotion_name=code.promotion_name,
            discount=code.discount,
            linked=code.linked,
        )
        for code in applied.codes()
    ]


async def _find_same_bill(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedTransaction, path: str
) -> int | None:
    """The same bill number in the same store within the uniqueness window (either side).

    Same payload: the first bill's id (a replay). Different payload: a typed conflict.
    """
    window = timedelta(days=org.bill_number_unique_in_days)
    row = await repository.same_bill(
        connection,
        org_id=org.id,
        store_id=prepared.store.id,
        number=prepared.number,
        billed_after=prepared.billing_time - window,
        billed_before=prepared.billing_time + window,
    )
    if row is None:
        return None
    if row.payload_hash == prepared.payload_hash:
        return row.id
    raise DuplicateBillNumberError(
        f"bill number {prepared.number!r} was already used in store {prepared.store.code!r} "
        f"within {org.bill_number_unique_in_days} days",
        field=f"{path}.number",
        existing_transaction_id=row.id,
    )


def _product_keys(prepared: PreparedTransaction) -> list[tuple[str, str | None]]:
    return [(line.source.item_code.strip(), line.source.variant) for line in prepared.line_items]


async def _insert_line_items(
    connection: AsyncConnection, org: OrgConfig, prepared: PreparedTransaction, transaction_id: int, now: datetime
) -> list[LineItemView]:
    if not prepared.line_items:
        return []
    product_ids = await product_ids_for(connection, org.id, _product_keys(prepared), now)
    rows = [
        {
            "org_id": org.id,
            "transaction_id": transaction_id,
            "serial": line.serial,
            "transaction_number": line.source.transaction_number,
            "item_code": line.source.item_code.strip(),
            "variant": line.source.variant,
            "product_id": product_id,
            "description": line.source.description,
            "qty": line.qty,
            "rate": line.rate,
            "value": line.value,
            "discount": line.discount,
            "amount": line.amount,
            "outlier_status": line.source.outlier_status.value,
            "attributes": json_document(line.source.attributes),
            "extended_fields": json_document(line.source.extended_fields),
            "custom_fields": json_document(line.source.custom_fields),
            "addon_items": json_document(line.source.addon_items),
            "combo_items": json_document(line.source.combo_items),
            "split_items": json_document(line.source.split_items),
        }
        for line, product_id in zip(prepared.line_items, product_ids, strict=True)
    ]
    await repository.insert_line_items(connection, rows)
    return [LineItemView.from_mapping(row) for row in rows]


async def _apply_earning(
    connection: AsyncConnection,
    org: OrgConfig,
    prepared: PreparedTransaction,
    earning: Earning,
    standing: Any,
    earner: _Earner,
    customer_id: int,
    transaction_id: int,
    activity: Activity,
    now: datetime,
) -> datetime | None:
    """Post the points (into the earner's account) and move the customer's standing; returns the
    tier's expiry when the tier changed."""
    program = prepared.program
    tier_expires_at = None
    if earning.points > 0:
        account = ledger.AccountRef(earner.account_id, earner.holder_id, program.id, standing.category)
        lot = ledger_rules.earned_lot(program, prepared.billing_time, now, org.time_zone)
        assert lot.category is standing.category, "the bill's account was locked for its lot"
        posted = await ledger.post_event(
            connection,
            org_id=org.id,
            now=now,
            draft=ledger.EventDraft(
                EventType.TRANSACTION_ADD,
                customer_id,
                activity.source,
                activity.store_id,
                activity.till_id,
                transaction_id,
                prepared.number,
            ),
            postings=[
                ledger.Posting(
                    account,
                    EntryType.CREDIT,
                    EntryKind.POINTS_ALLOCATION,
                    earning.points,
                    lots=(ledger.LotDraft(earning.points, lot.active_from, lot.expires_at),),
                )
            ],
        )
        assert posted.entries[0].balance_after == earner.balance + earning.points, "the account was locked"
        outbox.stage(
            connection,
            org_id=org.id,
            draft=events.points_earned(
                customer_id=earner.holder_id,  # whose balance moved: the customer's, or their group's
                program_code=program.code,
                points=earning.points,
                balance=posted.entries[0].balance_after,
                transaction_id=transaction_id,
                bill_number=prepared.number,
                expires_at=lot.expires_at,
            ),
            now=now,
        )
    if earning.tier_after.id != earning.tier_before.id:
        tier_expires_at = ledger_rules.tier_expiry(program, now, org.time_zone)
        await customers_repository.set_cumulative_purchases(
            connection,
            standing_id=standing.id,
            cumulative_purchases=earning.cumulative_purchases_after,
            tier_id=earning.tier_after.id,
            tier_expires_at=tier_expires_at,
        )
        await record_tier_change(
            connection,
            org_id=org.id,
            customer_id=customer_id,
            program_id=program.id,
            program_code=program.code,
            before=earning.tier_before,
            after=earning.tier_after,
            cause=TierChangeCause.PURCHASE,
            tier_expires_at_after=tier_expires_at,
            transaction_id=transaction_id,
            now=now,
        )
    else:
        await customers_repository.set_cumulative_purchases(
            connection, standing_id=standing.id, cumulative_purchases=earning.cumulative_purchases_after
        )
    if earning.counted_purchase:
        await customers_repository.add_lifetime_purchases(
            connection, customer_id=customer_id, amount=earning.counted_purchase
        )
    return tier_expires_at


# --- Reading bills --------------------------------------------------------------------------


def _view(row: Any) -> TransactionView:
    return TransactionView.from_row(row)


async def load_result(
    connection: AsyncConnection, org: OrgConfig, transaction_id: int, *, replayed: bool, now: datetime
) -> TransactionResult:
    row = await repository.transaction_row(connection, transaction_id)
    customer = None
    if row.customer_id is not None:
        customer = (await customers_service.load_customers(connection, org, [row.customer_id], now=now))[
            row.customer_id
        ]
    return TransactionResult(transaction=_view(row), customer=customer, replayed=replayed)


@dataclass(frozen=True)
class TransactionPage:
    views: list[TransactionView]
    has_next_page: bool


async def customers_transactions(
    connection: AsyncConnection,
    org_id: int,
    customer_ids: Sequence[int],
    first: int,
    after_id: int | None,
    types: Sequence[TransactionType] = (),
) -> dict[int, TransactionPage]:
    """A page of each customer's bills (newest first, keyset-paginated by id, of these `types`;
    empty: any), in one query for up to 100 customers (the GraphQL loader calls this)."""
    rows = await repository.customers_transactions(
        connection,
        org_id=org_id,
        customer_ids=customer_ids,
        limit=first + 1,
        before_id=after_id,
        types=[kind.value for kind in types],
    )
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.id, reverse=True):  # a UNION ALL promises no order
        grouped[row.customer_id].append(row)
    return {
        customer_id: TransactionPage(
            [_view(row) for row in grouped[customer_id][:first]], len(grouped[customer_id]) > first
        )
        for customer_id in customer_ids
    }


async def bill_numbers(connection: AsyncConnection, transaction_ids: Sequence[int]) -> dict[int, str]:
    """The numbers of many bills in one query (the GraphQL loader calls this for the domains that
    refer to bills by id: promo-code and points redemptions)."""
    return await repository.bill_numbers(connection, transaction_ids)


async def line_items_by_transaction(
    connection: AsyncConnection, transaction_ids: Sequence[int]
) -> dict[int, list[LineItemView]]:
    """Line items of many bills in one query (the GraphQL loader calls this)."""
    grouped: dict[int, list[LineItemView]] = defaultdict(list)
    for row in await repository.line_items_of(connection, transaction_ids):
        grouped[row.transaction_id].append(LineItemView.from_mapping(row._mapping))
    return grouped
