"""A loyalty card's number is its holder's CARD_NUMBER identifier: issueCard adds it and a
replacement (setCardStatus REPLACED) swaps the old number for the new one, each written in the
identifier history with the request's source and account, as changeIdentifier writes them. So a
lookup, a bill or an import by the number finds the holder. A number another customer holds is
refused (IDENTIFIER_TAKEN) and nothing is written."""

from __future__ import annotations

from tests.client import add, earn, find_customer
from tests.factories import bill, by_user_id, new_mobile
from tests.snapshots import table_counts
from tests.test_cards import issue, set_status
from tests.test_change_identifier import change, history_rows


def by_card(number: str) -> dict[str, str]:
    return {"type": "CARD_NUMBER", "value": number}


async def test_an_issued_cards_number_finds_its_holder_and_is_in_the_identifier_history(api):
    holder = await earn(api, new_mobile(), "1000")

    issued = await issue(api, by_user_id(holder), "CARD-100", source="WECHAT", account="wx-1")

    assert (issued["__typename"], issued["card"]["userId"]) == ("CardIssued", holder)
    found = await find_customer(api, by_card("CARD-100"))
    assert (found["userId"], found["cardNumber"]) == (holder, "CARD-100")
    assert await history_rows(api, by_user_id(holder)) == [("WECHAT", "wx-1", "CARD_NUMBER", "CARD-100", "ADD", None)]
    # A till that sends the card number finds the holder instead of registering someone new.
    added = await add(api, bill(customer={"cardNumber": "CARD-100"}, lineItems=[]))
    assert added["transaction"]["customer"]["userId"] == holder


async def test_a_number_the_holder_holds_already_adds_no_identifier_and_no_history(api):
    mobile = new_mobile()
    holder = await earn(api, mobile, "1000", cardNumber="CARD-101")  # the till sent it first

    issued = await issue(api, by_user_id(holder), "CARD-101")

    assert issued["__typename"] == "CardIssued"
    assert (await find_customer(api, by_card("CARD-101")))["identifiers"] == [
        {"type": "MOBILE", "value": "91" + mobile},
        {"type": "CARD_NUMBER", "value": "CARD-101"},
    ]
    assert await history_rows(api, by_user_id(holder)) == []


async def test_a_number_another_customer_holds_is_refused_and_nothing_is_written(api, database):
    owner = await earn(api, new_mobile(), "1000")
    holder = await earn(api, new_mobile(), "1000")
    assert (await change(api, by_user_id(owner), type="CARD_NUMBER", add="CARD-102"))["__typename"] == (
        "IdentifierChanged"
    )
    before = await table_counts(database)

    refused = await issue(api, by_user_id(holder), "CARD-102")

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "ConflictError",
        "IDENTIFIER_TAKEN",
        "input.number",
    )
    assert await table_counts(database) == before
    assert (await find_customer(api, by_card("CARD-102")))["userId"] == owner


async def test_a_replacement_swaps_the_old_number_for_the_new_one_in_the_identifiers_and_the_history(api):
    holder = await earn(api, new_mobile(), "1000")
    await issue(api, by_user_id(holder), "CARD-103", source="WECHAT", account="wx-1")

    replaced = await set_status(
        api, "CARD-103", "REPLACED", newNumber="CARD-104", source="MARTJACK", account="mj-store-9"
    )

    assert (replaced["__typename"], replaced["replacement"]["number"]) == ("CardStatusSet", "CARD-104")
    assert (await find_customer(api, by_card("CARD-104")))["userId"] == holder
    gone = await find_customer(api, by_card("CARD-103"))
    assert (gone["__typename"], gone["code"]) == ("NotFoundError", "CUSTOMER_NOT_FOUND")
    assert await history_rows(api, by_user_id(holder)) == [
        ("MARTJACK", "mj-store-9", "CARD_NUMBER", "CARD-104", "ADD", None),
        ("MARTJACK", "mj-store-9", "CARD_NUMBER", "CARD-103", "REMOVE", None),
        ("WECHAT", "wx-1", "CARD_NUMBER", "CARD-103", "ADD", None),
    ]
    # Blocking the new card keeps its number an identifier: the holder is still found by it.
    assert (await set_status(api, "CARD-104", "BLOCKED"))["card"]["status"] == "BLOCKED"
    assert (await find_customer(api, by_card("CARD-104")))["userId"] == holder


async def test_a_replacement_number_another_customer_holds_is_refused_and_nothing_is_written(api, database):
    owner = await earn(api, new_mobile(), "1000", cardNumber="CARD-106")
    holder = await earn(api, new_mobile(), "1000")
    await issue(api, by_user_id(holder), "CARD-105")
    before = await table_counts(database)

    refused = await set_status(api, "CARD-105", "REPLACED", newNumber="CARD-106")

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "ConflictError",
        "IDENTIFIER_TAKEN",
        "input.newNumber",
    )
    assert await table_counts(database) == before
    assert (await find_customer(api, by_card("CARD-105")))["userId"] == holder
    assert (await find_customer(api, by_card("CARD-106")))["userId"] == owner


async def test_a_bad_account_is_refused_naming_it_and_nothing_is_written(api, database):
    holder = await earn(api, new_mobile(), "1000")
    before = await table_counts(database)

    refused = await issue(api, by_user_id(holder), "CARD-107", account="x" * 65)

    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "InvalidInputError",
        "INVALID_INPUT",
        "input.account",
    )
    assert await table_counts(database) == before
