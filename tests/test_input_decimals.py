"""Numbers as a client sends them: one grammar (ASCII digits, an optional leading minus, an optional
fraction) for every decimal of the API and every number of a CSV import, each field's range
checked before any arithmetic, and every refusal a typed error naming the field; nothing written.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.graphql.core.scalars import parse_decimal
from app.kernel import decimals
from app.kernel.decimals import (
    AMOUNT,
    ANY_FIELD,
    GRAMMAR,
    POINTS,
    DecimalRange,
    Refusal,
    check_decimal,
    decimal_text,
    read_decimal,
)
from app.kernel.errors import ValidationError
from tests.client import add_transaction, customer_with_points, define_tracker, purchase_to_track
from tests.factories import bill
from tests.import_checks import finished, post_csv
from tests.snapshots import table_counts
from tests.test_customer_promotions import AWARD, award_input
from tests.test_promotions import CREATE_PROMOTION, VALIDATE, promotion_input
from tests.test_trackers import ADD_VALUE, value_input

GRAMMAR_MESSAGE = f"must be {GRAMMAR}"
ADD_AMOUNT = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) { __typename ... on Error { code message field } }
}
"""
# What lenient parsers read as numbers and the grammar does not.
LENIENT = [
    "1_000",
    "\u0661\u0660",  # Arabic-Indic 10
    "\uff11\uff10",  # full-width 10
    "\u00b2",  # superscript two: str.isdigit() says yes
    " 5",
    "5 ",
    "1 000",
    "5\u00a0",
    "+5",
    "1e5",
    "1E-2",
    "NaN",
    "Infinity",
    "-Infinity",
    "",
    ".5",
    "5.",
    "0x10",
    "--5",
    "5-",
    "1.2.3",
    "1,000",
]


def spelled_in_the_grammar(text: str) -> bool:
    """The grammar, written independently of the kernel's pattern."""
    integer, point, fraction = text.removeprefix("-").partition(".")
    return all(part.isascii() and part.isdigit() for part in (integer, *([fraction] if point else [])))


# --- The grammar itself ---------------------------------------------------------------------


@given(st.text(alphabet=st.sampled_from("0123456789-.+eE_ ,\u0661\u00b2\x00x"), max_size=12) | st.text(max_size=12))
def test_a_text_is_a_number_exactly_when_it_is_spelled_in_the_grammar(text):
    result = read_decimal(text, ANY_FIELD)

    if spelled_in_the_grammar(text) and len(text) <= ANY_FIELD.text_length_max:
        assert result == Decimal(text)
    else:
        assert result is Refusal.GRAMMAR


@given(
    negative=st.booleans(),
    integer=st.integers(min_value=0, max_value=10**30),
    fraction=st.text(alphabet="0123456789", max_size=8),
    bounds=st.sampled_from([AMOUNT, POINTS, DecimalRange(3, 0), DecimalRange(2, 2, negative_allowed=True)]),
)
def test_a_number_is_read_exactly_when_it_fits_the_fields_range(negative, integer, fraction, bounds):
    text = ("-" if negative else "") + str(integer) + (f".{fraction}" if fraction else "")

    result = read_decimal(text, bounds)

    if len(text) > bounds.text_length_max:
        assert result is Refusal.SIZE  # too long to read at all
    elif negative and not bounds.negative_allowed:
        assert result is Refusal.NEGATIVE
    elif integer >= bounds.limit:
        assert result is Refusal.SIZE
    elif len(fraction) > bounds.fraction_digits_max:
        assert result is Refusal.PLACES
    else:
        assert result == Decimal(text)
        assert check_decimal(result, "field", bounds) == Decimal(text)


@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(r"-?[0-9]{1,14}(\.[0-9]{0,6})?", fullmatch=True),  # near the grammar and the range
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_whatever_the_api_sends_a_field_either_reads_it_in_range_or_refuses_it_naming_itself(value):
    parsed = parse_decimal(value)

    outcome: Decimal | str | None
    try:
        outcome = check_decimal(parsed, "input.amount", AMOUNT)
    except ValidationError as error:
        outcome = error.field

    if isinstance(value, str):  # the outcome is known exactly: read when spelled in the grammar and in range
        fraction = value.partition(".")[2].rstrip("0")  # trailing zeros add no places: 1.50000 is 1.5
        readable = (
            spelled_in_the_grammar(value)
            and not value.startswith("-")
            and len(fraction) <= AMOUNT.fraction_digits_max
            and Decimal(value) < AMOUNT.limit
        )
        assert outcome == (Decimal(value) if readable else "input.amount")
    else:
        assert outcome == "input.amount" or (isinstance(outcome, Decimal) and 0 <= outcome < AMOUNT.limit)


# --- Through the API ------------------------------------------------------------------------


@pytest.mark.parametrize("text", LENIENT)
async def test_a_bill_amount_outside_the_grammar_is_refused_naming_the_field(api, database, text):
    before = await table_counts(database)

    result = await add_transaction(api, bill(amount=text))

    assert (result["__typename"], result["code"], result["field"], result["message"]) == (
        "InvalidInputError",
        "INVALID_INPUT",
        "input.amount",
        GRAMMAR_MESSAGE,
    )
    assert await table_counts(database) == before


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"qty": "0"}, "input.lineItems[0].qty", "must be more than 0"),
        ({"qty": "0.0000"}, "input.lineItems[0].qty", "must be more than 0"),
        ({"qty": "1e999999999"}, "input.lineItems[0].qty", GRAMMAR_MESSAGE),
        ({"qty": "1", "rate": "+5"}, "input.lineItems[0].rate", GRAMMAR_MESSAGE),
        ({"qty": "1", "discount": "1" + "0" * 40}, "input.lineItems[0].discount", "must be less than 100,000,000,000"),
        ({"qty": "1", "amount": "0.00001"}, "input.lineItems[0].amount", "must have at most 4 decimal places"),
        (
            {"qty": "1", "addonItems": [{"itemCode": "A", "quantity": "1_0"}]},
            "input.lineItems[0].addonItems[0].quantity",
            GRAMMAR_MESSAGE,
        ),
    ],
)
async def test_a_line_with_no_quantity_or_a_number_outside_the_grammar_is_refused(api, database, line, field, message):
    before = await table_counts(database)

    result = await add_transaction(api, bill(lineItems=[{"itemCode": "SHIRT-01", **line}]))

    assert (result["__typename"], result["field"], result["message"]) == ("InvalidInputError", field, message)
    assert await table_counts(database) == before


async def test_in_a_batch_only_the_bill_with_a_bad_number_fails(api, database):
    from tests.test_add_transaction import ADD_BATCH

    results = (await api.data(ADD_BATCH, {"input": [bill(), bill(amount="1e3"), bill(amount=1800)]}))["addTransactions"]

    assert [result["__typename"] for result in results] == ["TransactionAdded", "InvalidInputError", "TransactionAdded"]
    assert (results[1]["field"], results[1]["message"]) == ("input[1].amount", GRAMMAR_MESSAGE)
    assert (await table_counts(database))["transactions"] == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e20", GRAMMAR_MESSAGE),  # its shortest text has an exponent: send such a number as a string
        (str(10**40), GRAMMAR_MESSAGE),  # beyond 64 bits the JSON reader makes it a float, 1e+40
        (str(10**12), "must be less than 100,000,000,000"),
        ("12.5", None),
        ("true", "not a number"),
    ],
)
async def test_json_numbers_are_read_through_their_text(api, database, value, message):
    document = json.dumps({"query": ADD_AMOUNT, "variables": {"input": bill(amount="AMOUNT")}})

    response = await api.client.post(
        "/graphql",
        content=document.replace('"AMOUNT"', value),
        headers={"Authorization": api.credentials.header, "Content-Type": "application/json"},
    )
    body = response.json()

    if message is None:
        assert body["data"]["addTransaction"]["__typename"] == "TransactionAdded"
    elif message == "not a number":  # not a number at all: refused by the schema, naming the field
        assert body["data"] is None
        assert body["errors"][0]["message"].startswith("Variable '$input' has invalid value at .amount:")
    else:
        assert body["data"]["addTransaction"] == {
            "__typename": "InvalidInputError",
            "code": "INVALID_INPUT",
            "message": message,
            "field": "input.amount",
        }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"minimumBillAmount": "1" + "0" * 26}, "input.minimumBillAmount", "must be less than 100,000,000,000"),
        (
            {"action": "FIXED_AMOUNT_OFF", "percent": None, "amount": "1" + "0" * 26},
            "input.amount",
            "must be less than 100,000,000,000",
        ),
        ({"action": "FIXED_AMOUNT_OFF", "percent": None, "amount": "1e26"}, "input.amount", GRAMMAR_MESSAGE),
        ({"percent": "1e1"}, "input.percent", GRAMMAR_MESSAGE),
        ({"percent": "-5"}, "input.percent", "must be more than 0"),
    ],
)
async def test_promotion_amounts_out_of_range_are_typed_errors(api, database, overrides, field, message):
    before = await table_counts(database)

    result = (await api.data(CREATE_PROMOTION, {"input": promotion_input(**overrides)}))["createPromotion"]

    assert (result["__typename"], result["field"], result["message"]) == ("InvalidInputError", field, message)
    assert await table_counts(database) == before


@pytest.mark.parametrize(
    ("cart", "field", "message"),
    [
        (
            {"amount": "100", "lineItems": [{"itemCode": "X", "qty": "1e999999999", "amount": "100"}]},
            "input.cart.lineItems[0].qty",
            GRAMMAR_MESSAGE,
        ),
        (
            {"amount": "100", "lineItems": [{"itemCode": "X", "qty": "9" * 100, "amount": "100"}]},
            "input.cart.lineItems[0].qty",
            "must be less than 100,000,000,000",
        ),
        ({"amount": "\u0661\u0660\u0660"}, "input.cart.amount", GRAMMAR_MESSAGE),
    ],
)
async def test_a_cart_quantity_or_amount_out_of_range_is_a_typed_error(api, cart, field, message):
    result = (await api.data(VALIDATE, {"input": {"code": "ANY", "cart": cart}}))["validatePromoCode"]

    assert (result["__typename"], result["field"], result["message"]) == ("InvalidInputError", field, message)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("1e1000000", GRAMMAR_MESSAGE),
        ("1" + "0" * 1000, "must be less than 1,000,000,000,000"),
        ("0", "must be more than 0"),
        ("+250", GRAMMAR_MESSAGE),
    ],
)
async def test_award_points_out_of_range_are_a_typed_error(api, database, points, message):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)

    result = (await api.data(AWARD, {"input": award_input(mobile, points)}))["awardPromotionPoints"]

    assert (result["__typename"], result["field"], result["message"]) == ("InvalidInputError", "input.points", message)
    assert await table_counts(database) == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e1000000", GRAMMAR_MESSAGE),
        ("-" + "9" * 13, "must be more than -1,000,000,000,000 and less than 1,000,000,000,000"),
        ("2.00001", "must have at most 4 decimal places"),
    ],
)
async def test_a_tracked_value_out_of_range_is_a_typed_error(api, database, value, message):
    await define_tracker(api, "FUEL", "TRANSACTION", "0.5")
    bought = await purchase_to_track(api)
    before = await table_counts(database)

    result = (await api.data(ADD_VALUE, {"input": value_input("FUEL", bought, value)}))["addTrackerValue"]

    assert (result["__typename"], result["field"], result["message"]) == ("InvalidInputError", "input.value", message)
    assert await table_counts(database) == before


async def test_csv_amounts_outside_the_grammar_are_rejected_row_by_row(client_api):
    lenient = ["1_000", "\u0661\u0660", " 5", "5 ", "+5", "1e5", "NaN", "Infinity", "5.", "1,000"]
    rows = "".join(f'A-{index},"{text}"\r\n' for index, text in enumerate(lenient))
    body = f"CustomerProfileId,Amount\r\nA-ok,10\r\n{rows}A-big,{'9' * 20}\r\n".encode()

    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    assert (job["status"], job["rowsImported"], job["rowsRejected"]) == ("DONE", 1, len(lenient) + 1)
    assert [(reject["column"], reject["code"], reject["message"]) for reject in job["rejects"]["rejects"]] == [
        *(("amount", "INVALID_AMOUNT", f"{text!r} is not a number") for text in lenient),
        ("amount", "INVALID_AMOUNT", "must be less than 1,000,000,000"),
    ]


@pytest.mark.parametrize("log_id", ["9" * 5000, "\u0661\u0662", "1_2", "+12", " ", "0"])
async def test_an_id_as_text_is_ascii_digits_within_64_bits(api, database, log_id):
    await define_tracker(api, "FUEL", "TRANSACTION", "0.5")
    bought = await purchase_to_track(api)
    before = await table_counts(database)

    result = (
        await api.data(
            ADD_VALUE,
            {"input": value_input("FUEL", bought, "5", {"identification": "LOYALTY_LOG_ID", "loyaltyLogId": log_id})},
        )
    )["addTrackerValue"]

    assert (result["__typename"], result["field"], result["message"]) == (
        "InvalidInputError",
        "input.bill.loyaltyLogId",
        "a transaction id is needed with LOYALTY_LOG_ID",
    )
    assert await table_counts(database) == before


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**12), max_value=10**12))
def test_a_decimal_prints_the_same_text_remembered_or_not(value: Decimal) -> None:
    # Given the printed texts forgotten, and an equal decimal of another form printed first
    decimals._remembered_text.cache_clear()
    other_form = value.quantize(Decimal("0.00000001"))
    first = decimal_text(other_form)

    # When the value is printed (found among the texts by the equal one)
    remembered = decimal_text(value)

    # Then it was remembered, and both are the value's own text: no exponent, no trailing zeros
    assert decimals._remembered_text.cache_info().hits == 1
    expected = format(value.normalize(), "f") if value else "0"
    assert remembered == first == expected


def test_only_decimals_are_looked_up_among_the_remembered_texts() -> None:
    # Given Decimal(1) and Decimal("0.5") printed (remembered)
    assert decimal_text(Decimal(1)) == "1"
    assert decimal_text(Decimal("0.5")) == "0.5"
    # Then values equal to them that are not Decimals are not printed from the texts: as before,
    # a bool or float has no `normalize` (a Decimal field never answers one)
    for value in (True, 0.5, 1):
        with pytest.raises(AttributeError):
            decimal_text(value)  # type: ignore[arg-type]
    # And NaNs print as before: a quiet one as NaN, a signalling one (unhashable) refused
    assert decimal_text(Decimal("NaN")) == "NaN"
    with pytest.raises(InvalidOperation):
        decimal_text(Decimal("sNaN"))


def test_stored_points_read_as_the_same_decimals_remembered_or_not() -> None:
    from sqlalchemy.dialects import sqlite

    from app.storage.columns import Points

    process = Points().result_processor(sqlite.dialect(), None)
    # integers read twice (the second remembered), a float and a bool as the driver never gives
    for stored in (0, 5, -12_345, 10**15, 5, -12_345):
        read = process(stored)
        assert type(read) is Decimal
        assert read == Decimal(stored).scaleb(-4)
    assert process(5) is process(5)  # remembered
    assert process(None) is None
    assert str(process(1.0)) == "0.0001"
    assert str(process(True)) == "0.0001"
