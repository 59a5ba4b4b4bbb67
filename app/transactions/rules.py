"""Pure transaction rules: validation and preparation of a posted bill, and earning. No I/O."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, overload

import orjson

from app.customers.rules import declared_field_value, normalize_identifier
from app.kernel.bill_conditions import BillFacts
from app.kernel.decimals import AMOUNT, QUANTITY, check_decimal
from app.kernel.enums import IdentifierType
from app.kernel.errors import ValidationError
from app.kernel.money import AMOUNT_SCALE
from app.kernel.text import check_code, check_text
from app.ledger.rules import quantize_raw, round_points
from app.organizations.config import CustomerFieldConfig, OrgConfig, ProgramConfig, StoreConfig, TierConfig, TillConfig
from app.organizations.errors import TillNotFoundError
from app.organizations.models import FieldLevel
from app.organizations.rules import resolve_store_and_till
from app.promotions.rules import normalize_code
from app.transactions.errors import IdentifierRequiredError
from app.transactions.inputs import CustomerInput, LineItemInput, TransactionInput
from app.transactions.models import BILL_NUMBER_LENGTH_MAX, OutlierStatus, TransactionType

ZERO = Decimal(0)
_AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
LINE_ITEMS_MAX = 1000
DOCUMENT_TEXT_LENGTH_MAX = 1000  # a text of a name/value pair, payment or sub-item
CAMEL_CASE = {"item_code": "itemCode"}  # the keys of stored documents that the API spells otherwise
# Bills older than this come in through imports; a day ahead allows for till clocks.
BILLING_TIME_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
BILLING_TIME_AHEAD_MAX = timedelta(days=1)

# Outlier statuses whose amounts earn points and count toward tiers. INTERNAL (staff) and the
# failed, invalid or fraudulent ones do not.
EARNING_STATUSES = frozenset({OutlierStatus.NORMAL, OutlierStatus.RETRO, OutlierStatus.OTHER})


@dataclass(frozen=True)
class PreparedLineItem:
    source: LineItemInput
    serial: int
    qty: Decimal
    rate: Decimal
    value: Decimal
    discount: Decimal
    amount: Decimal
    worth: LineWorth  # with its add-ons, and the part that earns


# --- Add-on, combo and split items (seed 001's addon_items, combo_items, split_items) ---------
#
# - Add-ons (extra cheese on a pizza) are charged on top of their line's amount: each is worth its
#   value (else rate x quantity, else nothing: a free add-on) for the whole line, earns when both
#   its line and its own outlier status earn, and comes back with the line in proportion.
# - Combo parts (shirt + pant) are what the line's bundle holds: the bundle earns once on the
#   line's amount; parts that carry a value must add up to the line's value. A return of the
#   combo returns its parts (for the quantity returned); a part is not returned alone.
# - Split items (a necklace's gold rate, making and wastage charges) divide the line's value:
#   their values add up to it, the line's discount is spread over them in proportion, and each
#   earns on its share when its outlier status earns (a brand may keep the gold rate out).


@dataclass(frozen=True)
class LineWorth:
    amount: Decimal  # what the line cost: its amount and its add-ons
    eligible_amount: Decimal  # the part of that which earns points


def sub_item_value(item: Mapping[str, Any]) -> Decimal:
    """An add-on, combo or split item's value: as sent, else rate x quantity, else nothing.
    Reads what a client sent (Decimals) and what a bill stored (their text) alike."""
    if item.get("value") is not None:
        return Decimal(item["value"])
    if item.get("rate") is not None:
        return round_amount(Decimal(item["rate"]) * Decimal(item["quantity"]))
    return ZERO


def sub_item_earns(item: Mapping[str, Any]) -> bool:
    return OutlierStatus(item.get("outlier_status") or OutlierStatus.NORMAL) in EARNING_STATUSES


def round_amount(value: Decimal) -> Decimal:
    return value.quantize(_AMOUNT_QUANTUM, rounding=ROUND_HALF_EVEN)


def line_worth(
    amount: Decimal,
    value: Decimal,
    outlier_status: str,
    addon_items: Sequence[Mapping[str, Any]] | None,
    split_items: Sequence[Mapping[str, Any]] | None,
) -> LineWorth:
    """A line's worth and its earning part, from its stored or prepared fields (add-ons on top
    of the amount; split items' shares of the amount; combo parts change neither)."""
    addons = addon_items or ()
    total = amount + sum((sub_item_value(item) for item in addons), ZERO)
    if OutlierStatus(outlier_status) not in EARNING_STATUSES:
        return LineWorth(total, ZERO)
    eligible = amount
    if split_items and value > 0:
        earning_value = sum((sub_item_value(item) for item in split_items if sub_item_earns(item)), ZERO)
        if earning_value < value:
            eligible = round_amount(amount * earning_value / value)
    eligible += sum((sub_item_value(item) for item in addons if sub_item_earns(item)), ZERO)
    return LineWorth(total, eligible)


def _check_parts_add_up(items: list[dict[str, Any]], value: Decimal, field: str, what: str) -> None:
    total = sum((sub_item_value(item) for item in items), ZERO)
    if total != value:
        raise ValidationError(
            f"{what} are worth {format(total.normalize(), 'f') if total else '0'} "
            f"but the line's value is {format(value.normalize(), 'f') if value else '0'}: they must add up to it",
            field=field,
        )


@dataclass(frozen=True)
class PreparedTransaction:
    """A validated bill: every field checked, store and program resolved, identifiers normalised."""

    source: TransactionInput
    number: str  # as stored: stripped of surrounding spaces
    billing_time: datetime
    store: StoreConfig
    till: TillConfig | None
    program: ProgramConfig
    identifiers: dict[IdentifierType, str]
    line_items: tuple[PreparedLineItem, ...]
    eligible_amount: Decimal
    counted_purchase: Decimal  # what the bill adds to cumulative and lifetime purchases
    payload_hash: str
    facts: BillFacts = field(default_factory=BillFacts)  # its fields and payment modes, as conditions read them
    earn_rate_multiplier: Decimal = Decimal(1)  # of the program's earning rules the bill meets
    shipping_till: TillConfig | None = None  # the till named by shippingSourceTillCode


def canonical_customer(customer: CustomerInput | None, identifiers: dict[IdentifierType, str]) -> Any:
    """The customer as bills and returns hash it: identifiers normalised."""
    if customer is None:
        return None
    return replace(
        customer,
        mobile=identifiers.get(IdentifierType.MOBILE),
        email=identifiers.get(IdentifierType.EMAIL),
        external_id=identifiers.get(IdentifierType.EXTERNAL_ID),
        card_number=identifiers.get(IdentifierType.CARD_NUMBER),
    )


def payload_hash(data: TransactionInput, identifiers: dict[IdentifierType, str]) -> str:
    """A digest of what the bill says, not how it was spelled: "1800" and "1800.00", " B1" and
    "B1", a mobile with or without its country code, and one instant in two offsets hash alike,
    so a client retrying with another library replays instead of conflicting."""
    # The idempotency key names the request, not the bill: it is checked on its own.
    canonical = replace(
        data,
        number=data.number.strip(),
        customer=canonical_customer(data.customer, identifiers),
        idempotency_key=None,
        billing_time=data.billing_time.astimezone(UTC) if data.billing_time else None,
        promo_codes=[normalize_code(code) for code in data.promo_codes],
        coupon_redemptions=[normalize_code(code) for code in data.coupon_redemptions],
    )
    return payload_digest(canonical)


# Fields added to the inputs after bills were first hashed: left out of the digest while empty,
# so a bill or return posted before they existed and retried after hashes alike (and replays).
DIGEST_OMITTED_WHEN_EMPTY: dict[str, frozenset[str]] = {
    "TransactionInput": frozenset({"delivery_status", "shipping_source_till_code"}),
    "ReturnInput": frozenset({"associate_code", "associate_name"}),
    "CustomerInput": frozenset({"loyalty_type", "referral_code"}),
}


def payload_digest(canonical: Any) -> str:
    """The SHA-256 of a canonical input: its dataclasses as objects in field order (as orjson
    writes them), Decimals as their normalised text."""
    return hashlib.sha256(
        orjson.dumps(canonical, default=_canonical, option=orjson.OPT_PASSTHROUGH_DATACLASS)
    ).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        omitted = DIGEST_OMITTED_WHEN_EMPTY.get(type(value).__name__, frozenset())
        return {
            field_.name: item
            for field_ in dataclasses.fields(value)
            if (item := getattr(value, field_.name)) is not None or field_.name not in omitted
        }
    raise TypeError(f"{type(value).__name__} is not part of a bill")


@overload
def check_amount(value: Decimal | None, field: str, *, required: Literal[True]) -> Decimal: ...


@overload
def check_amount(value: Decimal | None, field: str, *, required: bool = False) -> Decimal | None: ...


def check_amount(value: Decimal | None, field: str, *, required: bool = False) -> Decimal | None:
    """An amount as a bill carries it: the kernel's AMOUNT range (not negative, below 10^11, 4 places)."""
    if value is None:
        if required:
            raise ValidationError("is required", field=field)
        return None
    return check_decimal(value, field, AMOUNT)


def check_documents(documents: list[dict[str, Any]], field: str) -> None:
    """Name/value pairs, payments and sub-items, stored as the client sent them: their texts are
    free text (DOCUMENT_TEXT_LENGTH_MAX) and their numbers amounts, each refused naming its field."""
    for index, document in enumerate(documents):
        for key, value in document.items():
            name = f"{field}[{index}].{CAMEL_CASE.get(key, key)}"
            if isinstance(value, str):
                check_text(value, name, DOCUMENT_TEXT_LENGTH_MAX)
            elif isinstance(value, Decimal):
                check_decimal(value, name, AMOUNT)


PURCHASE_TYPES = frozenset({TransactionType.REGULAR, TransactionType.NOT_INTERESTED})


def prepare(data: TransactionInput, org: OrgConfig, now: datetime, path: str = "input") -> PreparedTransaction:
    """Check everything that needs no database; raise a typed error naming the first bad field."""
    if data.type not in PURCHASE_TYPES:
        raise ValidationError(f"{data.type.value} is posted with returnTransaction", field=f"{path}.type")
    number = data.number.strip()
    if not number:
        raise ValidationError("must not be empty", field=f"{path}.number")
    check_code(number, f"{path}.number", BILL_NUMBER_LENGTH_MAX)
    check_amount(data.amount, f"{path}.amount", required=True)
    check_amount(data.gross_amount, f"{path}.grossAmount")
    check_amount(data.discount, f"{path}.discount")
    if data.currency_code is not None and not (
        len(data.currency_code) == 3 and data.currency_code.isascii() and data.currency_code.isalpha()
    ):
        raise ValidationError("must be an ISO 4217 code such as INR or EUR", field=f"{path}.currencyCode")
    for name, value, length_max, code in (
        ("notes", data.notes, 1000, False),
        ("notInterestedReason", data.not_interested_reason, 500, False),
        ("referralCode", data.referral_code, 100, True),
        ("customer.referralCode", data.customer.referral_code if data.customer else None, 100, True),
        ("billClientId", data.bill_client_id, 100, True),
        ("associateDetails.code", data.associate_code, 100, True),
        ("associateDetails.name", data.associate_name, 200, False),
    ):
        check_text(value, f"{path}.{name}", length_max, code=code)
    check_documents(data.extended_fields, f"{path}.extendedFields")
    check_documents(data.custom_fields, f"{path}.customFields")
    check_documents(data.payment_details, f"{path}.paymentDetails")
    check_bill_fields(org, data.extended_fields, data.custom_fields, path)
    check_payment_modes(org, data.payment_details, path)
    billing_time = data.billing_time or now
    if billing_time.tzinfo is None:
        raise ValidationError("must include a time zone offset", field=f"{path}.billingTime")
    if not BILLING_TIME_EARLIEST <= billing_time <= now + BILLING_TIME_AHEAD_MAX:
        raise ValidationError(
            f"must be between {BILLING_TIME_EARLIEST:%Y-%m-%d} and one day from now", field=f"{path}.billingTime"
        )

    store, till = resolve_store(org, data.store_code, data.till_code, path)
    program = org.program_for(store, till)
    shipping_till = None
    if data.shipping_source_till_code is not None:
        shipping_till = org.till_by_code(data.shipping_source_till_code)
        if shipping_till is None:
            raise TillNotFoundError(
                f"no till with code {data.shipping_source_till_code!r}", field=f"{path}.shippingSourceTillCode"
            )
    facts = BillFacts.of_documents(data.extended_fields, data.custom_fields, data.payment_details)

    identifiers: dict[IdentifierType, str] = {}
    if data.customer is not None:
        for kind, value, name in (
            (IdentifierType.MOBILE, data.customer.mobile, "mobile"),
            (IdentifierType.EMAIL, data.customer.email, "email"),
            (IdentifierType.EXTERNAL_ID, data.customer.external_id, "externalId"),
            (IdentifierType.CARD_NUMBER, data.customer.card_number, "cardNumber"),
        ):
            if value is not None and value.strip():
                identifiers[kind] = normalize_identifier(kind, value, org.base_country, f"{path}.customer.{name}")
        check_text(data.customer.first_name, f"{path}.customer.firstname", 100)
        check_text(data.customer.last_name, f"{path}.customer.lastname", 100)
    if data.type is TransactionType.REGULAR and not identifiers:
        raise IdentifierRequiredError(
            "a REGULAR transaction needs a customer identifier (mobile, email, externalId or cardNumber)",
            field=f"{path}.customer",
        )

    if len(data.line_items) > LINE_ITEMS_MAX:
        raise ValidationError(f"at most {LINE_ITEMS_MAX} line items", field=f"{path}.lineItems")
    line_items = tuple(
        prepare_line(line, index, f"{path}.lineItems[{index}]", org) for index, line in enumerate(data.line_items)
    )
    serials: set[int] = set()
    for index, line in enumerate(line_items):
        if line.serial in serials:
            raise ValidationError(
                f"serial {line.serial} is used by another line item", field=f"{path}.lineItems[{index}].serial"
            )
        serials.add(line.serial)
    return PreparedTransaction(
        source=data,
        number=number,
        billing_time=billing_time,
        store=store,
        till=till,
        program=program,
        identifiers=identifiers,
        line_items=line_items,
        eligible_amount=eligible_amount(data, line_items),
        counted_purchase=data.amount if data.outlier_status in EARNING_STATUSES else ZERO,
        payload_hash=payload_hash(data, identifiers),
        facts=facts,
        earn_rate_multiplier=program.earn_rate_multiplier(facts),
        shipping_till=shipping_till,
    )


def check_bill_fields(
    org: OrgConfig,
    extended_fields: list[dict[str, Any]],
    custom_fields: list[dict[str, Any]],
    path: str,
    *,
    level: FieldLevel = FieldLevel.BILL,
) -> None:
    """A bill's (or, at `level` LINE_ITEM, a line's) extended and custom fields against the
    organisation's declarations of each kind at that level (a kind it declares nothing of there is
    free): declared names, each once, values of their type, the required ones present. Refusals
    name the pair (`extendedFields[2].value`)."""
    bill = level is FieldLevel.BILL
    for declared, pairs, name in (
        (org.extended_fields if bill else org.line_item_extended_fields, extended_fields, "extendedFields"),
        (org.custom_fields if bill else org.line_item_custom_fields, custom_fields, "customFields"),
    ):
        if declared:
            _check_declared_pairs(declared, pairs, f"{path}.{name}", name if bill else f"line items' {name}")


def _check_declared_pairs(
    declared: tuple[CustomerFieldConfig, ...], pairs: list[dict[str, Any]], field: str, kind: str
) -> None:
    by_name = {declared_field.name: declared_field for declared_field in declared}
    seen: set[str] = set()
    for index, pair in enumerate(pairs):
        declared_field = by_name.get(pair["name"])
        if declared_field is None:
            raise ValidationError(
                f"{pair['name']!r} is not declared in the organisation's {kind}", field=f"{field}[{index}].name"
            )
        if pair["name"] in seen:
            raise ValidationError(f"{pair['name']!r} is given twice", field=f"{field}[{index}].name")
        seen.add(pair["name"])
        value = pair["value"]
        # Bill fields come as text: a BOOLEAN's is "true" or "false".
        declared_field_value(declared_field, BOOLEAN_TEXT.get(value, value), f"{field}[{index}].value")
    missing = [
        declared_field.name
        for declared_field in declared
        if declared_field.required and declared_field.name not in seen
    ]
    if missing:
        raise ValidationError(f"the required {', '.join(missing)} missing", field=field)


BOOLEAN_TEXT = {"true": True, "false": False}


def check_payment_modes(org: OrgConfig, payment_details: list[dict[str, Any]], path: str) -> None:
    """Each payment's mode is one the organisation declares (when it declares any)."""
    if not org.payment_modes:
        return
    for index, payment in enumerate(payment_details):
        if payment["mode"] not in org.payment_modes:
            raise ValidationError(
                f"{payment['mode']!r} is not a payment mode the organisation declares ({', '.join(org.payment_modes)})",
                field=f"{path}.paymentDetails[{index}].mode",
            )


def resolve_store(
    org: OrgConfig, store_code: str | None, till_code: str | None, path: str
) -> tuple[StoreConfig, TillConfig | None]:
    """Where a bill was made: the store (named, or the till's) and the till, if named. A bill
    names one of them at least."""
    store, till = resolve_store_and_till(org, store_code, till_code, path)
    if store is None:
        raise ValidationError("give the storeCode or the tillCode where the bill was made", field=f"{path}.storeCode")
    return store, till


def prepare_line(line: LineItemInput, index: int, path: str, org: OrgConfig) -> PreparedLineItem:
    if not line.item_code.strip():
        raise ValidationError("must not be empty", field=f"{path}.itemCode")
    check_code(line.item_code, f"{path}.itemCode", 100)
    check_code(line.variant, f"{path}.variant", 100)
    check_text(line.description, f"{path}.description", 500)
    check_code(line.transaction_number, f"{path}.transactionNumber", 50)
    qty = check_decimal(line.qty, f"{path}.qty", QUANTITY, positive=True)
    for name, documents in (
        ("attributes", line.attributes),
        ("extendedFields", line.extended_fields),
        ("customFields", line.custom_fields),
        ("addonItems", line.addon_items),
        ("comboItems", line.combo_items),
        ("splitItems", line.split_items),
    ):
        check_documents(documents, f"{path}.{name}")
    check_bill_fields(org, line.extended_fields, line.custom_fields, path, level=FieldLevel.LINE_ITEM)
    for name, documents in (
        ("addonItems", line.addon_items),
        ("comboItems", line.combo_items),
        ("splitItems", line.split_items),
    ):
        for item_index, item in enumerate(documents):
            item_path = f"{path}.{name}[{item_index}]"
            if not str(item.get("item_code") or "").strip():
                raise ValidationError("must not be empty", field=f"{item_path}.itemCode")
            check_code(item["item_code"], f"{item_path}.itemCode", 100)
            check_decimal(item["quantity"], f"{item_path}.quantity", QUANTITY, positive=True)
            check_amount(sub_item_value(item), f"{item_path}.value")  # rate x quantity must fit as well
    rate = check_amount(line.rate, f"{path}.rate")
    value = check_amount(line.value, f"{path}.value")
    discount = check_amount(line.discount, f"{path}.discount") or ZERO
    amount = check_amount(line.amount, f"{path}.amount")
    # The seed's identities, used to fill what the till left out: value = rate x qty,
    # amount = value - discount. What the till sent is kept as sent (no cross-check, as the seed says).
    if value is None:
        value = ((rate or ZERO) * qty).quantize(Decimal(1).scaleb(-AMOUNT_SCALE))
        check_amount(value, f"{path}.value")  # rate x qty must fit as well
    if rate is None:
        rate = (value / qty).quantize(Decimal(1).scaleb(-AMOUNT_SCALE)) if qty else ZERO
    if amount is None:
        amount = max(value - discount, ZERO)
    if line.split_items:
        _check_parts_add_up(line.split_items, value, f"{path}.splitItems", "the split items")
    # Parts without values are a plain list of what the bundle holds; with values, they split it.
    if any(sub_item_value(item) for item in line.combo_items):
        _check_parts_add_up(line.combo_items, value, f"{path}.comboItems", "the combo's parts")
    return PreparedLineItem(
        source=line,
        serial=line.serial if line.serial is not None else index + 1,
        qty=qty,
        rate=rate,
        value=value,
        discount=discount,
        amount=amount,
        worth=line_worth(amount, value, line.outlier_status.value, line.addon_items, line.split_items),
    )


def eligible_amount(data: TransactionInput, line_items: tuple[PreparedLineItem, ...]) -> Decimal:
    """The amount that earns points: the earning parts of the line items (line_worth), or the bill amount when
    the bill has no line items; nothing when the bill itself is an outlier."""
    if data.type is not TransactionType.REGULAR or data.outlier_status not in EARNING_STATUSES:
        return ZERO
    if not line_items:
        return data.amount
    return sum((line.worth.eligible_amount for line in line_items), ZERO)


@dataclass(frozen=True)
class Earning:
    points_raw: Decimal
    points: Decimal
    tier_before: TierConfig
    tier_after: TierConfig
    counted_purchase: Decimal  # what this bill adds to cumulative and lifetime purchases
    cumulative_purchases_after: Decimal


def earn(
    program: ProgramConfig,
    tier_before: TierConfig,
    cumulative_purchases: Decimal,
    eligible: Decimal,
    counted_purchase: Decimal,
    *,
    earn_rate_multiplier: Decimal = Decimal(1),
) -> Earning:
    """Points at the tier held before the purchase, times the multiplier of the program's earning
    rules the bill meets; the tier may then go up (never down here)."""
    exact = eligible * tier_before.earn_rate * earn_rate_multiplier
    raw = quantize_raw(exact)  # what is kept and shown; the program's rule rounds the exact value once
    points = round_points(exact, program.points_rounding, program.points_decimal_places)
    cumulative_after = cumulative_purchases + counted_purchase
    tier_after = program.tier_reached(cumulative_after, tier_before)
    return Earning(
        points_raw=raw,
        points=points,
        tier_before=tier_before,
        tier_after=tier_after,
        counted_purchase=counted_purchase,
        cumulative_purchases_after=cumulative_after,
    )


def json_document(value: Any) -> Any:
    """Client-supplied name/value documents, stored as JSON with exact decimals kept as text."""
    return orjson.loads(orjson.dumps(value, default=str))
