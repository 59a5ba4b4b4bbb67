"""transferAlternateCurrency (issue 16): units of a currency move between two customers as points
transfers move points: the sender's lots first-expiring first, the receiver's keeping their
expiry, typed errors naming the field with nothing written, never overdrawn by transfers at once,
merged customers refused, once per idempotency key.

A bill of 1,000 earns 50 ac1 (rgpws7, whole units, expiring at the end of the 30th day after the
bill) and 250 ac2 (pJ6E8A, 2 decimal places, never expiring).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.ledger.expiry import expire_points
from tests.client import merge, post_at_once
from tests.conftest import make_org
from tests.factories import by_mobile, by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled
from tests.snapshots import table_counts
from tests.test_alternate_currencies import balance, currencies_spec, currency_entries, main_currencies, purchase

TRANSFER = """
mutation Transfer($input: TransferAlternateCurrencyInput!) {
  transferAlternateCurrency(input: $input) {
    __typename
    ... on AlternateCurrencyTransferred {
      eventLogId programCode alternateCurrency value fromUserId toUserId fromBalanceAfter toBalanceAfter
      transferredAt replayed
    }
    ... on Error { code message field }
    ... on InsufficientPointsError { availablePoints requestedPoints }
  }
}
"""


@pytest.fixture
async def org(database):
    return await make_org(database, currencies_spec())


def transfer_input(sender: dict, receiver: dict, value: str, key: str, currency: str = "rgpws7", **extra) -> dict:
    return {"from": sender, "to": receiver, "currency": currency, "value": value, "idempotencyKey": key, **extra}


async def transfer(api, document: dict) -> dict:
    return (await api.data(TRANSFER, {"input": document}))["transferAlternateCurrency"]


async def test_a_transfer_takes_the_oldest_expiring_units_and_the_receiver_keeps_their_expiry(api, database, clock):
    sender, receiver = new_mobile(), new_mobile()
    sender_id = (await purchase(api, sender, "1000"))["customer"]["userId"]  # 50 ac1, expiring in 30 days
    clock.advance(timedelta(days=10))
    await purchase(api, sender, "1000")  # 50 more, expiring 10 days later
    receiver_id = (await purchase(api, receiver, "20"))["customer"]["userId"]  # 1 ac1, 5 ac2

    result = await transfer(api, transfer_input(by_mobile(sender), by_mobile(receiver), "60", "t-1"))

    assert result == {
        "__typename": "AlternateCurrencyTransferred",
        "eventLogId": result["eventLogId"],
        "programCode": "main",
        "alternateCurrency": "rgpws7",
        "value": "60",
        "fromUserId": sender_id,
        "toUserId": receiver_id,
        "fromBalanceAfter": "40",
        "toBalanceAfter": "61",
        "transferredAt": clock.now().isoformat(),
        "replayed": False,
    }
    # Both ledgers show it: a debit on the sender's side, a credit on the receiver's.
    assert (await currency_entries(api, sender, "rgpws7"))[0] == (
        "ALTERNATE_CURRENCY_TRANSFER",
        "POINTS_TRANSFER",
        "DEBIT",
        "rgpws7",
        "60",
        "40",
    )
    assert (await currency_entries(api, receiver, "rgpws7"))[0] == (
        "ALTERNATE_CURRENCY_TRANSFER",
        "POINTS_TRANSFER",
        "CREDIT",
        "rgpws7",
        "60",
        "61",
    )
    # 21 days on the first bill's units are past their date: the receiver's 50 of them with them,
    # its 10 of the second bill (and its own 1, of the day of the transfer) are not.
    clock.advance(timedelta(days=21))
    await expire_points(database, clock.now(), now=clock.now())
    assert (await main_currencies(api, receiver))[1] == balance("rgpws7", "ac1", "11", "1", expired="50")
    assert (await main_currencies(api, sender))[1] == balance("rgpws7", "ac1", "40", "100")
    await assert_reconciled(database)


async def test_a_transfer_opens_the_receivers_account_and_replays_once_per_key(api, database):
    sender, receiver = new_mobile(), new_mobile()
    await purchase(api, sender, "1000")  # 250 ac2
    receiver_id = (await purchase(api, receiver, "1"))["customer"]["userId"]  # no ac1 (0.05 rounds down to 0)
    document = transfer_input(by_mobile(sender), by_user_id(receiver_id), "12.5", "t-1", currency="pJ6E8A")

    first = await transfer(api, transfer_input(by_mobile(sender), by_user_id(receiver_id), "5", "t-ac1"))
    second = await transfer(api, document)
    replayed = await transfer(api, document)
    reused = await transfer(api, {**document, "value": "1"})

    assert (first["toBalanceAfter"], second["toBalanceAfter"], second["fromBalanceAfter"]) == ("5", "12.75", "237.5")
    assert replayed == {**second, "replayed": True}
    assert (reused["__typename"], reused["code"], reused["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await currency_entries(api, receiver, "rgpws7") == [
        ("ALTERNATE_CURRENCY_TRANSFER", "POINTS_TRANSFER", "CREDIT", "rgpws7", "5", "5"),
        ("ALTERNATE_CURRENCY_TRANSFER", "OPENING_BALANCE", "CREDIT", "rgpws7", "0", "0"),
    ]
    await assert_reconciled(database)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"currency": "nope"},
            ("NotFoundError", "ALTERNATE_CURRENCY_NOT_FOUND", "input.currency"),
        ),
        ({"value": "51"}, ("InsufficientPointsError", "INSUFFICIENT_POINTS", "input.value")),
        ({"value": "1.5"}, ("InvalidInputError", "INVALID_INPUT", "input.value")),
        ({"value": "0"}, ("InvalidInputError", "INVALID_INPUT", "input.value")),
        ({"to": "SENDER"}, ("InvalidInputError", "SAME_CUSTOMER", "input.to")),
        ({"to": {"type": "MOBILE", "value": "9000000001"}}, ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.to")),
        ({"programCode": "nope"}, ("NotFoundError", "PROGRAM_NOT_FOUND", "input.programCode")),
        ({"idempotencyKey": " "}, ("InvalidInputError", "INVALID_INPUT", "input.idempotencyKey")),
    ],
)
async def test_a_refused_transfer_names_the_field_and_writes_nothing(api, database, changes, expected):
    sender, receiver = new_mobile(), new_mobile()
    await purchase(api, sender, "1000")  # 50 ac1
    await purchase(api, receiver, "100")
    document = transfer_input(by_mobile(sender), by_mobile(receiver), "10", "t-1")
    document.update({key: by_mobile(sender) if value == "SENDER" else value for key, value in changes.items()})
    before = await table_counts(database)

    result = await transfer(api, document)

    assert (result["__typename"], result["code"], result["field"]) == expected
    assert await table_counts(database) == before


async def test_a_value_finer_than_the_currency_counts_is_refused_saying_why(api):
    sender, receiver = new_mobile(), new_mobile()
    await purchase(api, sender, "1000")

    result = await transfer(api, transfer_input(by_mobile(sender), by_mobile(receiver), "1.5", "t-1"))

    assert result["message"] == "currency rgpws7 counts to 0 decimal places"


async def test_transfers_at_once_from_one_sender_never_overdraw(api, database):
    sender, first, second = new_mobile(), new_mobile(), new_mobile()
    await purchase(api, sender, "1000")  # 50 ac1
    await purchase(api, first, "20")
    await purchase(api, second, "20")
    inputs = [
        transfer_input(by_mobile(sender), by_mobile(receiver), "30", f"race-{n}")
        for n, receiver in enumerate([first, second] * 5)
    ]

    results = await post_at_once(api, TRANSFER, inputs)

    moved = [result for result in results if result["__typename"] == "AlternateCurrencyTransferred"]
    refused = [result for result in results if result["__typename"] != "AlternateCurrencyTransferred"]
    assert [result["fromBalanceAfter"] for result in moved] == ["20"]
    assert {(result["code"], result["availablePoints"]) for result in refused} == {("INSUFFICIENT_POINTS", "20")}
    assert len(refused) == 9
    assert (await main_currencies(api, sender))[1] == balance("rgpws7", "ac1", "20", "50")
    await assert_reconciled(database)


async def test_opposite_transfers_at_once_both_go_through(api, database):
    one, other = new_mobile(), new_mobile()
    await purchase(api, one, "1000")
    await purchase(api, other, "1000")
    inputs = [
        transfer_input(by_mobile(sender), by_mobile(receiver), "10", f"both-{n}")
        for n, (sender, receiver) in enumerate([(one, other), (other, one)] * 4)
    ]

    results = await post_at_once(api, TRANSFER, inputs)

    assert {result["__typename"] for result in results} == {"AlternateCurrencyTransferred"}
    assert [(await main_currencies(api, mobile))[1]["value"] for mobile in (one, other)] == ["50", "50"]
    await assert_reconciled(database)


async def test_a_merged_customer_named_by_user_id_is_refused_and_its_mobile_names_the_survivor(api, database):
    survivor, victim, receiver = new_mobile(), new_mobile(), new_mobile()
    survivor_id = (await purchase(api, survivor, "200"))["customer"]["userId"]  # 10 ac1
    victim_id = (await purchase(api, victim, "1000"))["customer"]["userId"]  # 50 ac1
    receiver_id = (await purchase(api, receiver, "20"))["customer"]["userId"]  # 1 ac1
    assert (await merge(api, by_mobile(survivor), by_mobile(victim)))["__typename"] == "CustomersMerged"
    before = await table_counts(database)

    sent = await transfer(api, transfer_input(by_user_id(victim_id), by_mobile(receiver), "55", "t-1"))
    received = await transfer(api, transfer_input(by_mobile(receiver), by_user_id(victim_id), "1", "t-2"))

    assert (sent["__typename"], sent["code"], sent["field"]) == ("ConflictError", "CUSTOMER_MERGED", "input.from")
    assert (received["__typename"], received["code"], received["field"]) == (
        "ConflictError",
        "CUSTOMER_MERGED",
        "input.to",
    )
    assert await table_counts(database) == before
    # The victim's mobile finds the survivor now, which holds the merged units.
    landed = await transfer(api, transfer_input(by_mobile(victim), by_mobile(receiver), "55", "t-3"))
    assert (landed["fromUserId"], landed["toUserId"], landed["fromBalanceAfter"]) == (survivor_id, receiver_id, "5")
    to_itself = await transfer(api, transfer_input(by_mobile(victim), by_mobile(survivor), "1", "t-4"))
    assert (to_itself["code"], to_itself["field"]) == ("SAME_CUSTOMER", "input.to")
    await assert_reconciled(database)
