"""Idempotency keys on member care's registerCustomer, issueCard and setCardStatus, as adjustPoints
has them: a retry with the same key and request returns the first result (`replayed: true`) and
writes nothing; the same key with another request is IDEMPOTENCY_KEY_REUSED and writes nothing;
concurrent retries make one change and all answer with it."""

from __future__ import annotations

from tests.client import earn, post_at_once
from tests.factories import by_user_id, new_mobile
from tests.snapshots import table_counts
from tests.test_cards import ISSUE, SET_STATUS, issue, set_status

REGISTER = """
mutation Register($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    __typename
    ... on CustomerRegistered { replayed customer { userId firstname mobile } }
    ... on Error { code field }
  }
}
"""


SET_STATUS_REPLAYED = SET_STATUS.replace("... on CardStatusSet {", "... on CardStatusSet { replayed")


async def register(api, **fields) -> dict:
    return (await api.data(REGISTER, {"input": fields}))["registerCustomer"]


def refused_as_reused(result: dict) -> tuple:
    return result["__typename"], result["code"], result["field"]


REUSED = ("IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED", "input.idempotencyKey")


async def test_a_registration_sent_again_with_its_key_returns_the_first_customer(api, database):
    mobile = new_mobile()
    first = await register(api, firstname="Asha", mobile=mobile, idempotencyKey="register-1")
    before = await table_counts(database)

    again = await register(api, firstname="Asha", mobile=mobile, idempotencyKey="register-1")
    reused = await register(api, firstname="Asha", mobile=new_mobile(), idempotencyKey="register-1")

    assert (first["__typename"], first["replayed"], again["replayed"]) == ("CustomerRegistered", False, True)
    assert (
        again["customer"]
        == first["customer"]
        == {"userId": first["customer"]["userId"], "firstname": "Asha", "mobile": "91" + mobile}
    )
    assert refused_as_reused(reused) == REUSED
    assert await table_counts(database) == before


async def test_concurrent_registrations_with_one_key_register_one_customer(api, database):
    mobile = new_mobile()
    before = await table_counts(database)

    results = await post_at_once(
        api, REGISTER, [{"firstname": "Ravi", "mobile": mobile, "idempotencyKey": "register-2"}] * 8
    )

    assert sorted(result["replayed"] for result in results) == [False] + [True] * 7
    assert {result["customer"]["userId"] for result in results} == {results[0]["customer"]["userId"]}
    assert (await table_counts(database))["customers"] == before["customers"] + 1


async def test_concurrent_card_issues_with_one_key_issue_one_card(api, database):
    holder = await earn(api, new_mobile(), "1000")
    before = await table_counts(database)
    issue_input = {"customer": by_user_id(holder), "programCode": "main", "number": "CARD-201", "idempotencyKey": "i-1"}

    results = await post_at_once(api, ISSUE, [issue_input] * 8)

    assert sorted(result["replayed"] for result in results) == [False] + [True] * 7
    assert {result["card"]["number"] for result in results} == {"CARD-201"}
    after = await table_counts(database)
    assert (after["loyalty_cards"], after["customer_identifiers"]) == (
        before["loyalty_cards"] + 1,
        before["customer_identifiers"] + 1,
    )
    reused = await issue(api, by_user_id(holder), "CARD-202", idempotencyKey="i-1")
    assert refused_as_reused(reused) == REUSED


async def test_a_replacement_sent_again_with_its_key_returns_the_card_and_its_replacement(api, database):
    holder = await earn(api, new_mobile(), "1000")
    await issue(api, by_user_id(holder), "CARD-203")
    replacement = {
        "input": {
            "programCode": "main",
            "number": "CARD-203",
            "status": "REPLACED",
            "newNumber": "CARD-204",
            "idempotencyKey": "replace-1",
        }
    }
    first = (await api.data(SET_STATUS_REPLAYED, replacement))["setCardStatus"]
    before = await table_counts(database)

    again = (await api.data(SET_STATUS_REPLAYED, replacement))["setCardStatus"]
    reused = await set_status(api, "CARD-203", "BLOCKED", idempotencyKey="replace-1")

    assert (first["__typename"], first["replayed"], again["replayed"]) == ("CardStatusSet", False, True)
    assert (again["card"], again["replacement"]) == (first["card"], first["replacement"])
    assert (again["card"]["status"], again["card"]["replacedByNumber"]) == ("REPLACED", "CARD-204")
    assert (again["replacement"]["number"], again["replacement"]["status"]) == ("CARD-204", "ACTIVE")
    assert refused_as_reused(reused) == REUSED
    assert await table_counts(database) == before


async def test_concurrent_status_changes_with_one_key_change_the_card_once(api, database):
    holder = await earn(api, new_mobile(), "1000")
    await issue(api, by_user_id(holder), "CARD-205")
    before = await table_counts(database)
    change = {
        "programCode": "main",
        "number": "CARD-205",
        "status": "REPLACED",
        "newNumber": "CARD-206",
        "idempotencyKey": "replace-2",
    }

    results = await post_at_once(api, SET_STATUS_REPLAYED, [change] * 8)

    assert sorted(result["replayed"] for result in results) == [False] + [True] * 7
    assert {(result["card"]["status"], result["replacement"]["number"]) for result in results} == {
        ("REPLACED", "CARD-206")
    }
    after = await table_counts(database)
    assert after["loyalty_cards"] == before["loyalty_cards"] + 1
    # One history row removed the old number and one added the new one, once.
    assert after["customer_history"] == before["customer_history"] + 2
