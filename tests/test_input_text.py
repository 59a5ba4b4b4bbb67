"""Control and invisible characters as a client sends them. Identifiers and codes hold printable
characters only; free text also keeps line breaks, tabs, spaces and joiners, but no NUL, other
controls, bidi overrides or non-characters. Each refusal is a typed error naming the field, and a
CSV row holding one is rejected alone, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import pytest

from app.kernel.decimals import GRAMMAR
from app.kernel.errors import ValidationError
from app.kernel.text import check_text
from tests.client import add_transaction, customer_with_points, define_tracker, purchase_to_track
from tests.documents import SAVE_TEMPLATE, TRACKER_HISTORY
from tests.factories import bill, by_mobile
from tests.import_checks import finished, post_csv, run_file
from tests.snapshots import table_counts
from tests.test_customer_promotions import AWARD, PROMOTION, award_input
from tests.test_schema_and_migrations import DEMO_ORG_FILE, command_line  # noqa: F401 (a fixture)
from tests.test_trackers import ADD_VALUE, value_input
from tests.test_user_groups import CREATE, GROUP

# Characters no identifier or code may hold, nor free text: (character, what the message names).
NEVER = [
    ("\x00", "NUL characters"),
    ("\x07", "control or invisible characters (U+0007)"),
    ("\x1b", "control or invisible characters (U+001B)"),
    ("\x85", "control or invisible characters (U+0085)"),  # C1: next line
    ("\u202e", "control or invisible characters (U+202E)"),  # right-to-left override
    ("\u2066", "control or invisible characters (U+2066)"),  # left-to-right isolate
    ("\u2028", "control or invisible characters (U+2028)"),  # line separator
    ("\uffff", "control or invisible characters (U+FFFF)"),  # a non-character
    ("\u0378", "control or invisible characters (U+0378)"),  # unassigned
    ("\ue000", "control or invisible characters (U+E000)"),  # private use
]
# Characters free text keeps and codes refuse.
FREE_TEXT_ONLY = [
    ("\n", "control or invisible characters (U+000A)"),
    ("\t", "control or invisible characters (U+0009)"),
    ("\u00a0", "control or invisible characters (U+00A0)"),  # no-break space
    ("\u200b", "control or invisible characters (U+200B)"),  # zero-width space
    ("\u200d", "control or invisible characters (U+200D)"),  # zero-width joiner
    ("\ufeff", "control or invisible characters (U+FEFF)"),
]
NOTES = """
mutation Add($input: TransactionAddInput!) {
  addTransaction(input: $input) {
    __typename ... on TransactionAdded { transaction { notes lineItems { description } } }
    ... on Error { code message field }
  }
}
"""


def invalid(result: dict, field: str, message: str, code: str = "INVALID_INPUT") -> None:
    assert (result["__typename"], result["code"], result["field"], result["message"]) == (
        "InvalidInputError",
        code,
        field,
        f"must not contain {message}",
    )


@pytest.mark.parametrize(("character", "message"), NEVER + FREE_TEXT_ONLY)
@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda text: {"number": f"B{text}1"}, "input.number", "INVALID_INPUT"),
        (
            lambda text: {"lineItems": [{"itemCode": f"SHIRT{text}1", "qty": "1", "rate": "1800"}]},
            "input.lineItems[0].itemCode",
            "INVALID_INPUT",
        ),
        (lambda text: {"customer": {"externalId": f"E{text}1"}}, "input.customer.externalId", "INVALID_IDENTIFIER"),
        (lambda text: {"customer": {"cardNumber": f"C{text}9"}}, "input.customer.cardNumber", "INVALID_IDENTIFIER"),
        (lambda text: {"referralCode": f"R{text}1"}, "input.referralCode", "INVALID_INPUT"),
        (lambda text: {"idempotencyKey": f"K{text}1"}, "input.idempotencyKey", "INVALID_INPUT"),
    ],
    ids=["number", "itemCode", "externalId", "cardNumber", "referralCode", "idempotencyKey"],
)
async def test_a_code_holding_a_control_or_invisible_character_is_refused_naming_the_field(
    api, database, character, message, change, field, code
):
    before = await table_counts(database)

    result = await add_transaction(api, bill(**change(character)))

    invalid(result, field, message, code)
    assert await table_counts(database) == before


@pytest.mark.parametrize(("character", "message"), NEVER)
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda text: {"notes": f"a{text}b"}, "input.notes"),
        (lambda text: {"customer": {"mobile": "9876500001", "firstname": f"A{text}"}}, "input.customer.firstname"),
        (
            lambda text: {"lineItems": [{"itemCode": "X", "qty": "1", "description": f"d{text}"}]},
            "input.lineItems[0].description",
        ),
        (
            lambda text: {"extendedFields": [{"name": "gift", "value": f"v{text}"}]},
            "input.extendedFields[0].value",
        ),
        (
            lambda text: {"paymentDetails": [{"mode": f"CASH{text}", "value": "1800"}]},
            "input.paymentDetails[0].mode",
        ),
    ],
    ids=["notes", "firstname", "description", "extendedFields", "paymentDetails"],
)
async def test_free_text_holding_a_control_or_invisible_character_is_refused_naming_the_field(
    api, database, character, message, change, field
):
    before = await table_counts(database)

    result = await add_transaction(api, bill(**change(character)))

    invalid(result, field, message)
    assert await table_counts(database) == before


async def test_free_text_keeps_line_breaks_tabs_spaces_and_joiners_as_sent(api):
    notes = "line one\r\nline two\tand\u00a0more \U0001f469\u200d\U0001f4bb \u0915\u094d\u200d\u0937"

    result = await add_transaction(
        api,
        bill(notes=notes, lineItems=[{"itemCode": "X", "qty": "1", "rate": "1800", "description": notes}]),
        query=NOTES,
    )

    assert result["__typename"] == "TransactionAdded", result
    assert result["transaction"] == {"notes": notes, "lineItems": [{"description": notes}]}


def test_a_lone_surrogate_is_refused_in_codes_and_in_free_text():
    for code in (True, False):
        with pytest.raises(ValidationError, match=r"U\+D800") as refused:
            check_text("a\ud800b", "field", 10, code=code)
        assert refused.value.field == "field"


@pytest.mark.parametrize("character", ["\x00", "\n", "\u202e", "\u200b"])
async def test_lookups_by_a_code_holding_such_a_character_are_typed_errors(api, database, character):
    mobile, _ = await customer_with_points(api)
    await define_tracker(api, "FUEL", "TRANSACTION", "1")
    message = "NUL characters" if character == "\x00" else f"control or invisible characters (U+{ord(character):04X})"

    promotion = (await api.data(PROMOTION, {"identifier": f"P{character}1"}))["customerPromotion"]
    group = (await api.data(GROUP, {"lookup": {"type": "EXTERNAL_ID", "value": f"G{character}1"}}))["userGroup"]
    history = (await api.data(TRACKER_HISTORY, {"customer": by_mobile(mobile), "trackerCode": f"FU{character}EL"}))[
        "customerTrackerHistory"
    ]
    template = (
        await api.data(SAVE_TEMPLATE, {"input": {"name": f"t{character}1", "points": {"programCode": "main"}}})
    )["saveImportTemplate"]

    invalid(promotion, "identifier", message)
    invalid(group, "lookup.value", message)
    invalid(history, "trackerCode", message)
    invalid(template, "input.name", message)


@pytest.mark.parametrize("character", ["\x00", "\u202e"])
async def test_a_tracked_bill_named_by_a_number_holding_such_a_character_is_a_typed_error(api, database, character):
    await define_tracker(api, "FUEL", "TRANSACTION", "1")
    bought = await purchase_to_track(api)
    bill_ref = {
        "identification": "STANDARD_FIELDS",
        "billNumber": f"{bought['number']}{character}1",
        "transactionDate": bought["date"],
        "storeCode": "store-1",
    }
    message = "NUL characters" if character == "\x00" else f"control or invisible characters (U+{ord(character):04X})"

    result = (await api.data(ADD_VALUE, {"input": value_input("FUEL", bought, "5", bill_ref)}))["addTrackerValue"]

    invalid(result, "input.bill.billNumber", message)


@pytest.mark.parametrize("character", ["\x00", "\u202e", "\u200b", "\n"])
async def test_codes_that_name_new_things_refuse_such_a_character(api, database, character):
    mobile, _ = await customer_with_points(api)
    before = await table_counts(database)
    message = "NUL characters" if character == "\x00" else f"control or invisible characters (U+{ord(character):04X})"

    tracker = await define_tracker(api, f"KM{character}S", "TRANSACTION", "1")
    group = (await api.data(CREATE, {"input": {"externalId": f"FLE{character}ET", "members": []}}))["createUserGroup"]
    awarded = (await api.data(AWARD, {"input": award_input(mobile, "5", identifier=f"P{character}1")}))[
        "awardPromotionPoints"
    ]

    invalid(tracker, "input.code", message)
    invalid(group, "input.externalId", message)
    invalid(awarded, "input.promotion.identifier", message)
    assert await table_counts(database) == before


async def test_a_nul_or_control_in_a_points_file_rejects_its_row_only(client_api):
    body = (
        "customerprofileid,amount,subledgerid,reason\r\n"
        "GOOD-1,10,,\r\n"
        "BAD\u202e-1,10,,\r\n"
        "GOOD-2,10,,late\x1bnote\r\n"
        'GOOD-3,10,,"two\nlines\u200dok"\r\n'
    ).encode()

    job = await finished(client_api, str((await post_csv(client_api, body)).json()["job"]["id"]))

    assert [(r["rowNumber"], r["column"], r["code"], r["message"]) for r in job["rejects"]["rejects"]] == [
        (3, "customerprofileid", "INVALID_IDENTIFIER", "must not contain control or invisible characters (U+202E)"),
        (4, "reason", "INVALID_REASON", "must not contain control or invisible characters (U+001B)"),
    ]
    assert (job["status"], job["rowsImported"]) == ("DONE", 2)


async def test_a_nul_in_any_column_of_a_promotion_or_tracker_file_rejects_its_row_and_the_rest_is_imported(
    client_api,
):
    mobile, _ = await customer_with_points(client_api)
    await define_tracker(client_api, "FUEL", "TRANSACTION", "1")
    promotion_rows = "".join(
        f"{row}\r\n"
        for row in (
            f"{mobile},till-1,100",
            f"{mobile}\x00,till-1,100",
            f"{mobile},till\x00-1,100",
            f"{mobile},till-1,1\x000",
        )
    )

    promotion_job = await run_file(
        client_api,
        "/imports/promotion",
        f"Mobile,Store_Code,Points\r\n{promotion_rows}",
        promotionName="Bonus",
        promotionIdentifier="BONUS",
        appendCountryCode="true",
    )

    assert (promotion_job["status"], promotion_job["rowsImported"], promotion_job["rowsRejected"]) == ("DONE", 1, 3), (
        promotion_job
    )
    assert [reject["rowNumber"] for reject in promotion_job["rejects"]["rejects"]] == [3, 4, 5]
    bought = await purchase_to_track(client_api, mobile)
    row = f"{bought['mobile']},{bought['number']},{bought['date']},store-1"
    tracker_job = await run_file(
        client_api,
        "/imports/tracker",
        "Mobile,Bill_Number,Transaction_Date,Store_Code,Tracked_Value\r\n"
        f"{row},5\r\n{row}\x00,5\r\n{row},5\x00\r\n{row}\u202e,5\r\n",
        tracker="FUEL",
        appendCountryCode="true",
    )

    assert (tracker_job["status"], tracker_job["rowsImported"], tracker_job["rowsRejected"]) == ("DONE", 1, 3)
    assert [reject["rowNumber"] for reject in tracker_job["rejects"]["rejects"]] == [3, 4, 5]


@pytest.mark.parametrize(
    ("original", "replacement", "field", "message"),
    [
        ('code = "mumbai-01-till-1"', 'code = "mumbai-01\\u202etill-1"', "code", "(U+202E)"),
        ('code = "rewards"', 'code = "rewards\\u0000"', "programs.0.code", "NUL characters"),
        ('earn_rate = "0.015"', 'earn_rate = "1.5e-2"', "earn_rate", f"must be {GRAMMAR}"),
        ('upgrade_threshold = "25000"', 'upgrade_threshold = "25_000"', "upgrade_threshold", f"must be {GRAMMAR}"),
    ],
)
def test_an_org_file_with_such_a_code_or_a_lenient_number_is_refused(
    command_line,  # noqa: F811 (the fixture imported above)
    tmp_path,
    original,
    replacement,
    field,
    message,
):
    (tmp_path / "bad.toml").write_text(DEMO_ORG_FILE.read_text().replace(original, replacement, 1))

    output = command_line("org", "apply", "bad.toml", exit_code=2)

    assert field in output
    assert message in output


@pytest.mark.parametrize("currency", ["ÄÖÜ", "\u0418\u041d\u0420", "IN\x00"])
async def test_a_currency_code_is_three_ascii_letters(api, database, currency):
    result = await add_transaction(api, bill(currencyCode=currency))

    assert (result["__typename"], result["field"], result["message"]) == (
        "InvalidInputError",
        "input.currencyCode",
        "must be an ISO 4217 code such as INR or EUR",
    )


async def test_a_nul_in_the_header_fails_the_file_with_a_typed_code(client_api):
    job = await finished(
        client_api, str((await post_csv(client_api, b"CustomerProfileId,Amount\x00\r\nA-1,10\r\n")).json()["job"]["id"])
    )

    assert (job["status"], job["errorCode"], job["errorMessage"]) == (
        "FAILED",
        "UNKNOWN_COLUMN",
        "unknown column 'amount\\x00'; the columns are: amount, customerprofileid, expirydate, identifier, reason, "
        "startdate, subledgerid",
    )
