"""Pure return rules: check a posted return, and work out what comes back of a bill. No I/O.

What comes back (seed 001, Return Transaction):
- FULL: everything still left of the bill: its remaining amount, every line's remaining
  quantity, all the points not yet taken back, all redemptions not yet reversed.
- LINE_ITEM: quantities of the bill's lines; each is worth qty x the line's net amount per unit,
  so several partial returns of one line add up to exactly the line's amount.
- AMOUNT: an amount of money, with the bill's points-earning share of what is left.
The bill decides the value of FULL and LINE_ITEM returns (a till cannot take back more than was
paid): an `amount` sent with them is not used. Points come back in proportion to the returned
eligible amount, counted cumulatively over the bill's returns, so rounding never takes back more
(or less, in the end) than the bill earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.customers.rules import normalize_identifier
from app.kernel.decimals import QUANTITY, check_decimal
from app.kernel.enums import IdentifierType
from app.kernel.errors import ValidationError
from app.kernel.text import check_code, check_text
from app.kernel.times import start_of_local_day
from app.ledger.rules import share_of
from app.organizations.config import OrgConfig, ProgramConfig, StoreConfig, TierConfig, TillConfig
from app.transactions.errors import (
    BillFullyReturnedError,
    IdentifierRequiredError,
    LineItemNotFoundError,
    ReturnExceedsBillError,
)
from app.transactions.inputs import CustomerInput, LineItemInput, TransactionInput
from app.transactions.models import BILL_NUMBER_LENGTH_MAX, LineItemType, ReturnType, TransactionType
from app.transactions.rules import (
    BILLING_TIME_AHEAD_MAX,
    BILLING_TIME_EARLIEST,
    LINE_ITEMS_MAX,
    PreparedTransaction,
    canonical_customer,
    check_amount,
    check_bill_fields,
    check_documents,
    payload_digest,
    prepare,
    prepare_line,
    resolve_store,
    round_amount,
)

ZERO = Decimal(0)
RETURN_TYPES = frozenset({TransactionType.RETURN, TransactionType.NOT_INTERESTED_RETURN, TransactionType.MIXED})
# Which purchase each kind of return takes back.
BILL_TYPE_FOR = {
    TransactionType.RETURN: TransactionType.REGULAR,
    TransactionType.MIXED: TransactionType.REGULAR,
    TransactionType.NOT_INTERESTED_RETURN: TransactionType.NOT_INTERESTED,
}


# --- What a client posts --------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnLineInput:
    """A line of a return. RETURN lines name a line of the bill (by serial, else by item code and
    variant) and a quantity; the rest of `line` is not used for them. REGULAR lines (MIXED only)
    are the exchange's new purchase and are read like addTransaction's lines."""

    type: LineItemType
    line: LineItemInput


@dataclass(frozen=True)
class ReturnInput:
    type: TransactionType
    return_type: ReturnType
    number: str  # the purchased bill's number
    purchase_date: date  # the bill's date in the org's time zone
    store_code: str | None = None
    till_code: str | None = None
    billing_time: datetime | None = None  # of the return
    parent_bill_number: str | None = None  # the return's own document number
    amount: Decimal | None = None
    notes: str | None = None
    source: str = "INSTORE"
    customer: CustomerInput | None = None
    line_items: list[ReturnLineInput] = field(default_factory=list)
    extended_fields: list[dict[str, Any]] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)
    idempotency_key: str | None = None
    associate_code: str | None = None  # the store associate or cashier who took the return
    associate_name: str | None = None


@dataclass(frozen=True)
class ReturnLineRequest:
    """A validated RETURN line: `index` is its position in the request (for error fields)."""

    index: int
    serial: int | None
    item_code: str | None
    variant: str | None
    qty: Decimal


@dataclass(frozen=True)
class PreparedReturn:
    source: ReturnInput
    number: str  # stripped, as bills are stored
    purchase_from: datetime  # the purchase day, in UTC: [from, until)
    purchase_until: datetime
    billing_time: datetime
    parent_bill_number: str | None
    store: StoreConfig
    till: TillConfig | None
    identifiers: dict[IdentifierType, str]
    return_lines: tuple[ReturnLineRequest, ...]
    purchase: PreparedTransaction | None  # MIXED: the exchange's new purchase
    payload_hash: str

    @property
    def bill_type(self) -> TransactionType:
        return BILL_TYPE_FOR[self.source.type]

    @property
    def return_number(self) -> str:
        """What the ledger shows as the return's number: its own, else the bill's."""
        return self.parent_bill_number or self.number


def payload_hash(data: ReturnInput, identifiers: dict[IdentifierType, str]) -> str:
    """What the return says, not how it was spelled (as addTransaction's payload hash)."""
    canonical = replace(
        data,
        number=data.number.strip(),
        customer=canonical_customer(data.customer, identifiers),
        idempotency_key=None,
        parent_bill_number=(data.parent_bill_number or "").strip() or None,
        billing_time=data.billing_time.astimezone(UTC) if data.billing_time else None,
    )
    return payload_digest(canonical)


def _bill_number(value: str, field_name: str) -> str:
    number = value.strip()
    if not number:
        raise ValidationError("must not be empty", field=field_name)
    check_code(number, field_name, BILL_NUMBER_LENGTH_MAX)
    return number


def prepare_return(data: ReturnInput, org: OrgConfig, now: datetime, path: str = "input") -> PreparedReturn:
    """Check everything that needs no database; raise a typed error naming the first bad field."""
    if data.type not in RETURN_TYPES:
        raise ValidationError(f"{data.type.value} is posted with addTransaction", field=f"{path}.type")
    mixed = data.type is TransactionType.MIXED
    number = _bill_number(data.number, f"{path}.number")
    parent_bill_number = None
    if data.parent_bill_number is not None and data.parent_bill_number.strip():
        parent_bill_number = _bill_number(data.parent_bill_number, f"{path}.parentBillNumber")
    if mixed and parent_bill_number is None:
        raise ValidationError(
            "a MIXED return needs its own number: the exchange's purchase is posted under it",
            field=f"{path}.parentBillNumber",
        )
    if mixed and data.return_type is ReturnType.AMOUNT:
        raise ValidationError(
            "a MIXED return takes back FULL or LINE_ITEM; its amount is the new purchase's", field=f"{path}.returnType"
        )
    check_text(data.notes, f"{path}.notes", 1000)
    check_documents(data.extended_fields, f"{path}.extendedFields")
    check_documents(data.custom_fields, f"{path}.customFields")
    check_bill_fields(org, data.extended_fields, data.custom_fields, path)
    check_text(data.associate_code, f"{path}.associateDetails.code", 100, code=True)
    check_text(data.associate_name, f"{path}.associateDetails.name", 200)
    amount = check_amount(data.amount, f"{path}.amount", required=data.return_type is ReturnType.AMOUNT and not mixed)
    if data.return_type is ReturnType.AMOUNT and not mixed and amount is not None and amount <= 0:
        raise ValidationError("must be more than 0", field=f"{path}.amount")

    billing_time = data.billing_time or now
    if billing_time.tzinfo is None:
        raise ValidationError("must include a time zone offset", field=f"{path}.billingTime")
    if not BILLING_TIME_EARLIEST <= billing_time <= now + BILLING_TIME_AHEAD_MAX:
        raise ValidationError(
            f"must be between {BILLING_TIME_EARLIEST:%Y-%m-%d} and one day from now", field=f"{path}.billingTime"
        )
    if not BILLING_TIME_EARLIEST.date() <= data.purchase_date <= billing_time.astimezone(org.time_zone).date():
        raise ValidationError(
            "must be a date between 2000-01-01 and the return's billing date", field=f"{path}.purchaseTime"
        )
    purchase_from = start_of_local_day(data.purchase_date, org.time_zone)
    purchase_until = start_of_local_day(data.purchase_date + timedelta(days=1), org.time_zone)
    store, till = resolve_store(org, data.store_code, data.till_code, path)

    identifiers: dict[IdentifierType, str] = {}
    if data.customer is not None and data.type is not TransactionType.NOT_INTERESTED_RETURN:
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
    if data.type is not TransactionType.NOT_INTERESTED_RETURN and not identifiers:
        raise IdentifierRequiredError(
            f"a {data.type.value} return needs the customer's identifier (mobile, email, externalId or cardNumber)",
            field=f"{path}.customer",
        )

    if len(data.line_items) > LINE_ITEMS_MAX:
        raise ValidationError(f"at most {LINE_ITEMS_MAX} line items", field=f"{path}.lineItems")
    return_lines: list[ReturnLineRequest] = []
    purchase_lines: list[LineItemInput] = []
    purchase_serials: set[int] = set()
    for index, item in enumerate(data.line_items):
        line_path = f"{path}.lineItems[{index}]"
        if item.type is LineItemType.REGULAR:
            if not mixed:
                raise ValidationError(
                    "only a MIXED return has REGULAR lines (the exchange's purchase)", field=f"{line_path}.type"
                )
            prepared_line = prepare_line(item.line, index, line_path, org)
            # Serials of the new purchase count among its own lines, as addTransaction counts them.
            serial = item.line.serial if item.line.serial is not None else len(purchase_lines) + 1
            if serial in purchase_serials:
                raise ValidationError(f"serial {serial} is used by another REGULAR line", field=f"{line_path}.serial")
            purchase_serials.add(serial)
            purchase_lines.append(replace(item.line, serial=serial, amount=prepared_line.amount))
            continue
        if data.return_type is not ReturnType.LINE_ITEM:
            raise ValidationError(
                f"a {data.return_type.value} return takes back the bill, not lines: send no RETURN lines",
                field=f"{line_path}.type",
            )
        qty = check_decimal(item.line.qty, f"{line_path}.qty", QUANTITY, positive=True)
        for name in ("rate", "value", "discount", "amount"):  # not read (the bill's line sets the worth), still checked
            check_amount(getattr(item.line, name), f"{line_path}.{name}")
        item_code = item.line.item_code.strip() or None
        check_code(item_code, f"{line_path}.itemCode", 100)
        check_code(item.line.variant, f"{line_path}.variant", 100)
        if item.line.serial is None and item_code is None:
            raise ValidationError("name the purchased line by its serial or its itemCode", field=f"{line_path}.serial")
        return_lines.append(ReturnLineRequest(index, item.line.serial, item_code, item.line.variant, qty))
    if data.return_type is ReturnType.LINE_ITEM and not return_lines:
        raise ValidationError("a LINE_ITEM return names at least one RETURN line", field=f"{path}.lineItems")

    purchase = None
    if mixed:
        if not purchase_lines:
            raise ValidationError(
                "a MIXED return has REGULAR lines (the new purchase); post a RETURN otherwise",
                field=f"{path}.lineItems",
            )
        assert parent_bill_number is not None
        purchase = prepare(
            TransactionInput(
                type=TransactionType.REGULAR,
                number=parent_bill_number,
                amount=amount if amount is not None else sum((line.amount or ZERO for line in purchase_lines), ZERO),
                store_code=data.store_code,
                till_code=data.till_code,
                billing_time=billing_time,
                notes=data.notes,
                source=data.source,
                customer=data.customer,
                line_items=purchase_lines,
                # The exchange is one document: its purchase carries the return's fields.
                extended_fields=data.extended_fields,
                custom_fields=data.custom_fields,
            ),
            org,
            now,
            path,
        )

    return PreparedReturn(
        source=data,
        number=number,
        purchase_from=purchase_from,
        purchase_until=purchase_until,
        billing_time=billing_time,
        parent_bill_number=parent_bill_number,
        store=store,
        till=till,
        identifiers=identifiers,
        return_lines=tuple(return_lines),
        purchase=purchase,
        payload_hash=payload_hash(data, identifiers),
    )


# --- What comes back ------------------------------------------------------------------------


@dataclass(frozen=True)
class BillLine:
    serial: int
    item_code: str
    variant: str | None
    qty: Decimal
    returned_qty: Decimal
    amount: Decimal  # what the line cost, add-ons included (rules.line_worth)
    eligible_amount: Decimal  # the part of it counted in the bill's eligible amount

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.returned_qty


@dataclass(frozen=True)
class BillState:
    """A purchased bill as it stands, read under its lock."""

    amount: Decimal
    eligible_amount: Decimal
    points_earned: Decimal
    returned_amount: Decimal
    returned_eligible_amount: Decimal
    returned_points: Decimal
    lines: tuple[BillLine, ...]

    @property
    def remaining_amount(self) -> Decimal:
        return self.amount - self.returned_amount

    @property
    def remaining_eligible_amount(self) -> Decimal:
        return self.eligible_amount - self.returned_eligible_amount

    @property
    def remaining_points(self) -> Decimal:
        return self.points_earned - self.returned_points


@dataclass(frozen=True)
class ReturnedLine:
    serial: int  # of the purchased line
    qty: Decimal
    amount: Decimal  # what this quantity is worth


@dataclass(frozen=True)
class ReturnPlan:
    amount: Decimal  # value returned
    eligible_amount: Decimal  # the part of it that had earned points
    points: Decimal  # the bill's points this return accounts for
    lines: tuple[ReturnedLine, ...]
    complete: bool  # the bill's value is now all returned: redemptions on it are reversed in full


def line_value(line: BillLine, qty_before: Decimal, qty_after: Decimal, *, eligible: bool = False) -> Decimal:
    """What the quantities from `qty_before` to `qty_after` of a line are worth (or, `eligible`,
    the earning part of that), as the difference of cumulative values: partial returns of a line
    add up to its amount exactly."""
    total = line.eligible_amount if eligible else line.amount

    def worth(qty: Decimal) -> Decimal:
        return total if qty >= line.qty else round_amount(total * qty / line.qty)

    return worth(qty_after) - worth(qty_before)


def returned_sub_items(
    items: Sequence[dict[str, Any]] | None, returned_qty: Decimal, line_qty: Decimal
) -> list[dict[str, Any]] | None:
    """A purchased line's add-on, combo or split items for the quantity a return takes back (a
    combo's parts come back with it), as stored: quantities and amounts in proportion."""
    if not items:
        return None
    whole = returned_qty >= line_qty

    def part(amount: Any) -> Any:
        if amount is None or whole:
            return amount
        return str(round_amount(Decimal(amount) * returned_qty / line_qty))

    return [
        {**item, "quantity": part(item["quantity"]), "value": part(item.get("value")), "rate": item.get("rate")}
        for item in items
    ]


def shown(value: Decimal) -> str:
    """A number as messages show it: "1350", "0.5" (not "1350.0000")."""
    return format(value.normalize(), "f") if value else "0"


def _exceeds(
    message: str, field_name: str, bill: BillState, remaining_qty: Decimal | None = None
) -> ReturnExceedsBillError:
    return ReturnExceedsBillError(
        message,
        field=field_name,
        remaining_amount=bill.remaining_amount,
        remaining_points=bill.remaining_points,
        remaining_qty=remaining_qty,
    )


def _find_line(bill: BillState, request: ReturnLineRequest, taken: dict[int, Decimal], path: str) -> BillLine:
    """By serial; else the first line (by serial) with that item code (and variant when given)
    that still has quantity left to return, or the first such line when none has."""
    if request.serial is not None:
        found = next((line for line in bill.lines if line.serial == request.serial), None)
        if found is None:
            raise LineItemNotFoundError(f"the bill has no line with serial {request.serial}", field=f"{path}.serial")
        return found
    matching = [
        line
        for line in bill.lines
        if line.item_code == request.item_code and (request.variant is None or line.variant == request.variant)
    ]
    if not matching:
        raise LineItemNotFoundError(
            f"the bill has no line with item code {request.item_code!r}", field=f"{path}.itemCode"
        )
    return next((line for line in matching if line.qty - taken[line.serial] > 0), matching[0])


def plan_return(
    bill: BillState,
    return_type: ReturnType,
    requests: Sequence[ReturnLineRequest],
    amount: Decimal | None,
    program: ProgramConfig,
    path: str = "input",
) -> ReturnPlan:
    """What this return takes back of the bill, or a typed error saying what is left."""
    if return_type is ReturnType.FULL:
        if (
            bill.remaining_amount <= 0
            and bill.remaining_eligible_amount <= 0
            and bill.remaining_points <= 0
            and all(line.remaining_qty <= 0 for line in bill.lines)
        ):
            raise BillFullyReturnedError(
                "the bill was already returned in full: nothing is left to return",
                field=f"{path}.returnType",
                remaining_amount=ZERO,
                remaining_points=ZERO,
            )
        lines = tuple(
            ReturnedLine(line.serial, line.remaining_qty, line_value(line, line.returned_qty, line.qty))
            for line in bill.lines
            if line.remaining_qty > 0
        )
        return ReturnPlan(
            amount=max(bill.remaining_amount, ZERO),
            eligible_amount=max(bill.remaining_eligible_amount, ZERO),
            points=max(bill.remaining_points, ZERO),
            lines=lines,
            complete=True,
        )

    if return_type is ReturnType.AMOUNT:
        assert amount is not None
        if amount > bill.remaining_amount:
            raise _exceeds(f"only {shown(bill.remaining_amount)} of the bill is left to return", f"{path}.amount", bill)
        eligible = (
            bill.remaining_eligible_amount
            if amount == bill.remaining_amount
            else round_amount(bill.remaining_eligible_amount * amount / bill.remaining_amount)
        )
        return _with_points(bill, amount, max(eligible, ZERO), (), program)

    taken = {line.serial: line.returned_qty for line in bill.lines}
    returned: list[ReturnedLine] = []
    value = eligible = ZERO
    for request in requests:
        line_path = f"{path}.lineItems[{request.index}]"
        line = _find_line(bill, request, taken, line_path)
        left = line.qty - taken[line.serial]
        if request.qty > left:
            raise _exceeds(
                f"only {shown(left)} of line {line.serial} ({line.item_code}) is left to return",
                f"{line_path}.qty",
                bill,
                remaining_qty=left,
            )
        worth = line_value(line, taken[line.serial], taken[line.serial] + request.qty)
        eligible += line_value(line, taken[line.serial], taken[line.serial] + request.qty, eligible=True)
        taken[line.serial] += request.qty
        returned.append(ReturnedLine(line.serial, request.qty, worth))
        value += worth
    if value > bill.remaining_amount:
        raise _exceeds(
            f"these lines are worth {shown(value)} but only {shown(bill.remaining_amount)} "
            "of the bill is left to return",
            f"{path}.lineItems",
            bill,
        )
    return _with_points(bill, value, min(eligible, max(bill.remaining_eligible_amount, ZERO)), tuple(returned), program)


def _with_points(
    bill: BillState, amount: Decimal, eligible: Decimal, lines: tuple[ReturnedLine, ...], program: ProgramConfig
) -> ReturnPlan:
    # Cumulative: the share of the bill's points for all its eligible amount returned so far,
    # less what earlier returns took; all of them once the eligible amount is all back.
    target = share_of(
        bill.points_earned,
        bill.returned_eligible_amount + eligible,
        bill.eligible_amount,
        program.points_rounding,
        program.points_decimal_places,
    )
    return ReturnPlan(
        amount=amount,
        eligible_amount=eligible,
        points=max(target - bill.returned_points, ZERO),
        lines=lines,
        complete=bill.returned_amount + amount >= bill.amount,
    )


def redemption_reversal(
    points: Decimal,
    points_reversed: Decimal,
    returned_amount_after: Decimal,
    bill_amount: Decimal,
    complete: bool,
    program: ProgramConfig,
    decimal_places: int,
) -> Decimal:
    """Points to give back of a redemption applied to the bill: its share for the bill's value
    returned so far (all of it once the bill is all back), less what was already given back.
    Rounded by the bill's program's rule to the places the redemption's own programs count in
    (a group redemption may draw from a coarser program than the bill's)."""
    target = (
        points
        if complete
        else share_of(
            points,
            returned_amount_after,
            bill_amount,
            program.points_rounding,
            min(decimal_places, program.points_decimal_places),
        )
    )
    return max(target - points_reversed, ZERO)


def split_points_return(
    points: Decimal, balances: Sequence[Decimal], allow_negative_balance: bool
) -> tuple[list[Decimal], Decimal]:
    """How much to debit from each account (in order) to take back `points`: at most what each
    balance holds (spendable or pending). Beyond that, a program that allows negative balances
    takes the rest from the first account (it goes negative, and later earnings pay it back);
    otherwise the rest is not recovered. Returns (debits, not recovered)."""
    debits: list[Decimal] = []
    left = points
    for balance in balances:
        take = min(left, max(balance, ZERO))
        debits.append(take)
        left -= take
    if allow_negative_balance and left > 0:
        debits[0] += left
        left = ZERO
    return debits, left


def tier_after_return(program: ProgramConfig, current: TierConfig, cumulative_purchases: Decimal) -> TierConfig:
    """The downgrade rule: the highest tier whose upgrade threshold the lowered cumulative
    purchases still reach, never above the current tier (a return never upgrades)."""
    reached = [tier for tier in program.tiers if tier.upgrade_threshold <= cumulative_purchases]
    best = reached[-1] if reached else program.tiers[0]
    return best if best.serial_number < current.serial_number else current
