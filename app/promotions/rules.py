"""Pure promotion rules: code formats and generation, the checks a promotion's terms must pass,
the cart conditions and the discount of each action. No I/O.

Rounding: discounts are money in the bill's currency and are rounded half up to the currency's
2 decimal places (CURRENCY_PLACES), once, at the end of each action's calculation. A discount
never exceeds what it is taken from (the eligible lines, or the bill).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from app.kernel.bill_conditions import BillCondition, BillConditionKind, BillFacts, holds
from app.kernel.decimals import PERCENT, PROMOTION_AMOUNT, check_decimal
from app.kernel.errors import ValidationError
from app.kernel.line_conditions import AttributeCondition, line_matches
from app.kernel.text import check_required_code, check_text
from app.promotions.errors import (
    PromoCodeExpiredError,
    PromoCodeNotYetActiveError,
    PromoConditionsNotMetError,
)
from app.promotions.models import CODE_LENGTH_MAX, PROMOTION_NAME_LENGTH_MAX, PromotionAction

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CURRENCY_PLACES = PROMOTION_AMOUNT.fraction_digits_max
CENT = Decimal(1).scaleb(-CURRENCY_PLACES)

# No look-alikes: 0/O, 1/I/L (and U, easily read as V) are left out.
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH_MIN = 4
GENERATED_LENGTH_MAX = 24
PREFIX_LENGTH_MAX = 12
GENERATE_COUNT_MAX = 10_000_000
# A request must leave most of the code space unused, so random codes rarely collide.
CODE_SPACE_USE_MAX = Decimal("0.01")
# Uploaded and common codes: letters, digits, '-' and '_' (case-insensitive, kept upper case).
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
PREFIX_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
ITEM_CODES_MAX = 1000
ITEM_CODE_LENGTH_MAX = 100
ATTRIBUTE_NAME_LENGTH_MAX = 100
ATTRIBUTE_VALUE_LENGTH_MAX = 500
PERCENT_MAX = HUNDRED
LIMIT_MAX = 2_000_000_000  # the counters are 32-bit integers
CODES_PER_BILL_MAX = 10
BILL_CONDITIONS_MAX = 20


def normalize_code(value: str) -> str:
    """How codes are stored and looked up: surrounding spaces dropped, upper case."""
    return value.strip().upper()


def check_code(code: str, field: str) -> str:
    """A code as a person types it; the normalised form or INVALID_INPUT on `field`."""
    normalized = normalize_code(code)
    if not CODE_LENGTH_MIN <= len(normalized) <= CODE_LENGTH_MAX:
        raise ValidationError(f"must be {CODE_LENGTH_MIN} to {CODE_LENGTH_MAX} characters", field=field)
    if not CODE_PATTERN.match(normalized):
        raise ValidationError("may hold only letters, digits, '-' and '_'", field=field)
    return normalized


# --- Generation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationRequest:
    count: int
    length: int  # of the random part, without the prefix
    prefix: str


def check_generation(count: int, length: int, prefix: str | None, path: str = "input") -> GenerationRequest:
    if not 1 <= count <= GENERATE_COUNT_MAX:
        raise ValidationError(f"must be between 1 and {GENERATE_COUNT_MAX:,}", field=f"{path}.count")
    prefix_text = normalize_code(prefix or "")
    if len(prefix_text) > PREFIX_LENGTH_MAX or (prefix_text and not PREFIX_PATTERN.match(prefix_text)):
        raise ValidationError(
            f"must be at most {PREFIX_LENGTH_MAX} letters, digits, '-' or '_'", field=f"{path}.prefix"
        )
    if not CODE_LENGTH_MIN <= length <= GENERATED_LENGTH_MAX or len(prefix_text) + length > CODE_LENGTH_MAX:
        raise ValidationError(
            f"must be {CODE_LENGTH_MIN} to {GENERATED_LENGTH_MAX}, and with the prefix at most "
            f"{CODE_LENGTH_MAX} characters",
            field=f"{path}.length",
        )
    space = Decimal(len(ALPHABET)) ** length
    if count > space * CODE_SPACE_USE_MAX:
        raise ValidationError(
            f"{count:,} codes of {length} characters would use more than {CODE_SPACE_USE_MAX:%} of "
            f"the {space:,} possible codes: make them longer",
            field=f"{path}.length",
        )
    return GenerationRequest(count, length, prefix_text)


# Rejection sampling keeps every character equally likely: bytes at or above this are dropped.
_BYTE_LIMIT = 256 - 256 % len(ALPHABET)
_TO_ALPHABET = bytes(ALPHABET[byte % len(ALPHABET)].encode()[0] if byte < _BYTE_LIMIT else 0 for byte in range(256))


def random_codes(
    count: int, length: int, prefix: str, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> list[str]:
    """`count` random codes (not necessarily distinct: the unique index decides) from ALPHABET."""
    wanted = count * length
    characters = b""
    while len(characters) < wanted:
        # ~12% of bytes are dropped: ask for a little more than needed.
        characters += (
            random_bytes((wanted - len(characters)) * 9 // 8 + 16).translate(_TO_ALPHABET).replace(b"\x00", b"")
        )
    text = characters[:wanted].decode()
    return [prefix + text[start : start + length] for start in range(0, wanted, length)]


# --- Terms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotionTerms:
    """A promotion's rules, as stored: what the discount calculation needs."""

    valid_from: datetime
    valid_until: datetime
    action: PromotionAction
    minimum_bill_amount: Decimal | None = None
    eligible_item_codes: tuple[str, ...] = ()
    eligible_attributes: tuple[AttributeCondition, ...] = ()
    percent: Decimal | None = None
    amount: Decimal | None = None
    free_item_code: str | None = None
    bundle_item_codes: tuple[str, ...] = ()
    bill_conditions: tuple[BillCondition, ...] = ()

    @property
    def has_item_condition(self) -> bool:
        return bool(self.eligible_item_codes or self.eligible_attributes)


@dataclass(frozen=True)
class Limits:
    code_redemption_limit: int | None = None
    customer_code_redemption_limit: int | None = None
    redemption_limit: int | None = None
    customer_transaction_limit: int | None = None


def _money(value: Decimal | None, field: str, *, required: bool, positive: bool = False) -> Decimal | None:
    if value is None:
        if required:
            raise ValidationError("is required for this action", field=field)
        return None
    return check_decimal(value, field, PROMOTION_AMOUNT, positive=positive)


def _item_codes(values: Iterable[str], field: str) -> tuple[str, ...]:
    codes = tuple(value.strip() for value in values)
    if len(codes) > ITEM_CODES_MAX:
        raise ValidationError(f"at most {ITEM_CODES_MAX} item codes", field=field)
    for index, code in enumerate(codes):
        check_required_code(code, f"{field}[{index}]", ITEM_CODE_LENGTH_MAX)
    return codes


def check_terms(terms: PromotionTerms, name: str, path: str = "input") -> PromotionTerms:
    """Check a promotion's terms before it is stored; INVALID_INPUT on the first bad field."""
    check_text(name, f"{path}.name", PROMOTION_NAME_LENGTH_MAX, required=True)
    for value, field_name in ((terms.valid_from, "validFrom"), (terms.valid_until, "validUntil")):
        if value.tzinfo is None:
            raise ValidationError("must include a time zone offset", field=f"{path}.{field_name}")
    if terms.valid_until <= terms.valid_from:
        raise ValidationError("must be later than validFrom", field=f"{path}.validUntil")
    _money(terms.minimum_bill_amount, f"{path}.minimumBillAmount", required=False)
    _item_codes(terms.eligible_item_codes, f"{path}.eligibleItemCodes")
    for index, condition in enumerate(terms.eligible_attributes):
        field_name = f"{path}.eligibleAttributes[{index}]"
        check_text(condition.name, field_name, ATTRIBUTE_NAME_LENGTH_MAX, required=True)
        check_text(condition.value, field_name, ATTRIBUTE_VALUE_LENGTH_MAX)
    if len(terms.bill_conditions) > BILL_CONDITIONS_MAX:
        raise ValidationError(f"at most {BILL_CONDITIONS_MAX} conditions", field=f"{path}.billConditions")
    for index, bill_condition in enumerate(terms.bill_conditions):
        field_name = f"{path}.billConditions[{index}]"
        check_required_code(bill_condition.name, f"{field_name}.name", ATTRIBUTE_NAME_LENGTH_MAX)
        if (bill_condition.kind is BillConditionKind.PAYMENT_MODE) != (bill_condition.value is None):
            raise ValidationError(
                "a field condition has a value, a payment mode condition none", field=f"{field_name}.value"
            )
        check_text(bill_condition.value, f"{field_name}.value", ATTRIBUTE_VALUE_LENGTH_MAX)
    action = terms.action
    given = {
        "percent": terms.percent is not None,
        "amount": terms.amount is not None,
        "freeItemCode": terms.free_item_code is not None,
        "bundleItemCodes": bool(terms.bundle_item_codes),
    }
    needed = {
        PromotionAction.PERCENT_OFF: {"percent"},
        PromotionAction.FIXED_AMOUNT_OFF: {"amount"},
        PromotionAction.FREE_PRODUCT: {"freeItemCode"},
        PromotionAction.BUNDLE_PRICE: {"amount", "bundleItemCodes"},
    }[action]
    for name_given, present in given.items():
        if present and name_given not in needed:
            raise ValidationError(f"does not apply to {action.value}", field=f"{path}.{name_given}")
        if not present and name_given in needed:
            raise ValidationError(f"is required for {action.value}", field=f"{path}.{name_given}")
    if action is PromotionAction.PERCENT_OFF:
        percent = terms.percent
        assert percent is not None
        if check_decimal(percent, f"{path}.percent", PERCENT, positive=True) > PERCENT_MAX:
            raise ValidationError(
                "must be more than 0 and at most 100, with at most 2 decimal places", field=f"{path}.percent"
            )
    if action is PromotionAction.FIXED_AMOUNT_OFF:
        _money(terms.amount, f"{path}.amount", required=True, positive=True)
    if action is PromotionAction.BUNDLE_PRICE:
        _money(terms.amount, f"{path}.amount", required=True)
        codes = _item_codes(terms.bundle_item_codes, f"{path}.bundleItemCodes")
        if len(set(codes)) != len(codes) or len(codes) < 2:
            raise ValidationError("a bundle is at least 2 different item codes", field=f"{path}.bundleItemCodes")
    if action is PromotionAction.FREE_PRODUCT:
        _item_codes([terms.free_item_code or ""], f"{path}.freeItemCode")
    return terms


def check_limits(limits: Limits, path: str = "input") -> Limits:
    for name, value in (
        ("codeRedemptionLimit", limits.code_redemption_limit),
        ("customerCodeRedemptionLimit", limits.customer_code_redemption_limit),
        ("redemptionLimit", limits.redemption_limit),
        ("customerTransactionLimit", limits.customer_transaction_limit),
    ):
        if value is not None and not 1 <= value <= LIMIT_MAX:
            raise ValidationError(
                f"must be between 1 and {LIMIT_MAX:,} (leave it out for no limit)", field=f"{path}.{name}"
            )
    return limits


# --- The cart and the discount --------------------------------------------------------------


@dataclass(frozen=True)
class CartLine:
    item_code: str
    qty: Decimal
    amount: Decimal  # after the line's own discount: what the customer pays for the line
    attributes: tuple[AttributeCondition, ...] = ()

    @property
    def unit_price(self) -> Decimal:
        return self.amount / self.qty if self.qty > 0 else ZERO


@dataclass(frozen=True)
class Cart:
    amount: Decimal  # the bill's amount, before the promo code's discount
    lines: tuple[CartLine, ...] = field(default_factory=tuple)
    facts: BillFacts = field(default_factory=BillFacts)  # its extended/custom fields and payment modes


def check_window(terms: PromotionTerms, now: datetime, field: str) -> None:
    """Codes work from valid_from (inclusive) until valid_until (exclusive), by the server's clock."""
    if now < terms.valid_from:
        raise PromoCodeNotYetActiveError(f"the promotion starts at {terms.valid_from.isoformat()}", field=field)
    if now >= terms.valid_until:
        raise PromoCodeExpiredError(f"the promotion ended at {terms.valid_until.isoformat()}", field=field)


def _eligible(terms: PromotionTerms, line: CartLine) -> bool:
    return line_matches(terms.eligible_item_codes, terms.eligible_attributes, line.item_code, line.attributes)


def _described(condition: BillCondition) -> str:
    if condition.kind is BillConditionKind.PAYMENT_MODE:
        return f"paid by {condition.name}"
    return f"{condition.kind.value} {condition.name} = {condition.value!r}"


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _cap(value: Decimal) -> Decimal:
    """What a discount may reach: the amount it is taken from, in whole cents (never above it)."""
    return value.quantize(CENT, rounding=ROUND_DOWN)


def discount(terms: PromotionTerms, cart: Cart, field: str) -> Decimal:
    """The discount the promotion gives this cart, or PROMO_CONDITIONS_NOT_MET saying why not
    (also when it would give nothing: a code is not used up for no saving).

    - PERCENT_OFF: percent of the eligible lines' amounts (of the bill's amount when the
      promotion has no item condition);
    - FIXED_AMOUNT_OFF: the amount, at most the eligible lines' amounts (the bill's amount);
    - FREE_PRODUCT: one unit of the free item at its price in the cart (the item must be there);
    - BUNDLE_PRICE: for every complete set of the bundle's items in the cart, what the set costs
      above the bundle price (nothing when the set costs less already).
    The minimum bill amount compares with the bill's amount (at least, not more than); every bill
    condition (a declared extended or custom field's value, a payment mode) must hold.
    """
    value = _discount(terms, cart, field)
    if value <= 0:
        raise PromoConditionsNotMetError("the promotion gives no discount on this cart", field=field)
    return value


def _discount(terms: PromotionTerms, cart: Cart, field: str) -> Decimal:
    for condition in terms.bill_conditions:
        if not holds(condition, cart.facts):
            raise PromoConditionsNotMetError(
                f"the bill does not meet the condition {_described(condition)}", field=field
            )
    if terms.minimum_bill_amount is not None and cart.amount < terms.minimum_bill_amount:
        raise PromoConditionsNotMetError(
            f"the bill must be at least {terms.minimum_bill_amount} (it is {cart.amount})", field=field
        )
    eligible = [line for line in cart.lines if _eligible(terms, line)]
    if terms.has_item_condition and not eligible:
        raise PromoConditionsNotMetError("the cart has none of the promotion's eligible items", field=field)
    base = sum((line.amount for line in eligible), ZERO) if terms.has_item_condition else cart.amount
    action = terms.action
    if action is PromotionAction.PERCENT_OFF:
        assert terms.percent is not None
        return min(_round(base * terms.percent / HUNDRED), _cap(base))
    if action is PromotionAction.FIXED_AMOUNT_OFF:
        assert terms.amount is not None
        return min(terms.amount, _cap(base))
    if action is PromotionAction.FREE_PRODUCT:
        free = [line for line in eligible if line.item_code == terms.free_item_code and line.qty >= 1]
        if not free:
            raise PromoConditionsNotMetError(f"the cart has no {terms.free_item_code!r} to give free", field=field)
        return min(_round(min(line.unit_price for line in free)), _cap(cart.amount))
    assert terms.amount is not None
    quantities: dict[str, Decimal] = {}
    unit_prices: dict[str, Decimal] = {}
    for line in eligible:
        if line.item_code in terms.bundle_item_codes and line.qty > 0:
            quantities[line.item_code] = quantities.get(line.item_code, ZERO) + line.qty
            # The cheapest unit of each item goes into the bundles: the customer's least saving.
            unit_prices[line.item_code] = min(unit_prices.get(line.item_code, line.unit_price), line.unit_price)
    missing = [code for code in terms.bundle_item_codes if quantities.get(code, ZERO) < 1]
    if missing:
        raise PromoConditionsNotMetError(f"the cart lacks the bundle's {', '.join(missing)}", field=field)
    bundles = min(quantities[code] for code in terms.bundle_item_codes).to_integral_value(rounding=ROUND_DOWN)
    set_price = sum((unit_prices[code] for code in terms.bundle_item_codes), ZERO)
    return min(_round(max(set_price - terms.amount, ZERO) * bundles), _cap(cart.amount))


def total_discount(discounts: Sequence[Decimal], cart: Cart) -> list[Decimal]:
    """Several codes on one bill: each is worked out on the cart as posted, in the order given,
    and the later ones are cut so the total never exceeds the bill's amount."""
    left = cart.amount
    given = []
    for value in discounts:
        taken = min(value, _cap(max(left, ZERO)))
        given.append(taken)
        left -= taken
    return given


def stackable(discounts: Sequence[Decimal], named: Sequence[bool], cart: Cart, fields: Sequence[str]) -> list[bool]:
    """Which codes keep something after the stacking cap. A code cut to nothing is not used up
    for no saving: a named one is refused, a linked one (named False) waits for another bill.
    Dropping a code only leaves more room for the rest, so one pass is enough."""
    kept = []
    for value, is_named, field_name in zip(total_discount(discounts, cart), named, fields, strict=True):
        if value == ZERO and is_named:
            raise PromoConditionsNotMetError("earlier codes already take the whole bill", field=field_name)
        kept.append(value > ZERO)
    return kept


# --- Uploads --------------------------------------------------------------------------------

UPLOAD_ROWS_MAX = 100_000
CODE_COLUMN = "code"


@dataclass(frozen=True)
class RowError:
    row: int  # the file's line number: the header is row 1
    column: str
    code: str  # the promo code as written in the file
    error_code: str
    message: str


@dataclass(frozen=True)
class ParsedUpload:
    codes: list[tuple[int, str]]  # (row, normalised code) of rows that passed the file's own checks
    errors: list[RowError]


def parse_upload(text: str, path: str = "input") -> ParsedUpload:
    """A CSV file with a `code` column (other columns are ignored). Per row: an empty or invalid
    code, or one already earlier in the file, is an error for that row; valid codes go on. A file
    that is not valid CSV (a quote left open, text after a closing quote) is refused whole, as an
    import refuses it: what such a file means cannot be known."""
    # strict: the csv module otherwise reads a quote left open as a field that runs to the end.
    reader = csv.DictReader(io.StringIO(text), strict=True)
    try:
        header = [name.strip().lower() for name in reader.fieldnames or []]
    except csv.Error as error:
        raise ValidationError(f"line 1 is not valid CSV: {error}", field=f"{path}.csv") from error
    if CODE_COLUMN not in header:
        raise ValidationError(f"the file needs a header row with a {CODE_COLUMN!r} column", field=f"{path}.csv")
    reader.fieldnames = header
    return _parse_rows(_records(reader, path), path)


def _records(reader: csv.DictReader[str], path: str) -> Iterator[dict[str, str]]:
    """The reader's rows; a row that is not valid CSV refuses the file, naming the line it starts on."""
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ValidationError(f"line {start} is not valid CSV: {error}", field=f"{path}.csv") from error
        yield record
        start = reader.line_num + 1


def _parse_rows(reader: Iterator[dict[str, str]], path: str) -> ParsedUpload:
    codes: list[tuple[int, str]] = []
    errors: list[RowError] = []
    first_row_of: dict[str, int] = {}
    for index, record in enumerate(reader):
        row = index + 2
        if index >= UPLOAD_ROWS_MAX:
            raise ValidationError(
                f"at most {UPLOAD_ROWS_MAX:,} codes per upload (use more uploads)", field=f"{path}.csv"
            )
        written = record.get(CODE_COLUMN) or ""
        try:
            code = check_code(written, CODE_COLUMN)
        except ValidationError as error:
            errors.append(RowError(row, CODE_COLUMN, written, "INVALID_CODE", error.message))
            continue
        if code in first_row_of:
            errors.append(
                RowError(row, CODE_COLUMN, written, "DUPLICATE_IN_FILE", f"same code as row {first_row_of[code]}")
            )
            continue
        first_row_of[code] = row
        codes.append((row, code))
    return ParsedUpload(codes, errors)
