"""What a customer keeps besides points moves with a merge: loyalty cards, leads, segment
memberships (a set: the union), interactions and behavioural events go to the survivor in the
merge's write transaction, the victim keeps none of them, and the survivor's COMBINE history row
lists what moved. Merges by request (mergeCustomers, changeIdentifier) and by a purchase that names
two customers' identifiers run the same code."""

from __future__ import annotations

from tests.client import add, earn, find_customer, merge
from tests.factories import bill, by_user_id, new_mobile
from tests.ledger_checks import assert_reconciled
from tests.test_behavioural_events import event, events_of
from tests.test_behavioural_events import record as record_events
from tests.test_cards import cards_of, issue
from tests.test_interactions import interactions_of, record, sms
from tests.test_leads import create as create_lead
from tests.test_leads import leads_of
from tests.test_segments import CUSTOMER_SEGMENTS, create, history
from tests.test_segments import add as add_members

COMBINE_DETAILS = """
query History($customer: CustomerLookupInput!) {
  identifierHistory(customer: $customer, first: 1) {
    ... on IdentifierHistoryPage { records { action otherUserId details } }
  }
}
"""


async def segments_of(api, lookup: dict) -> list[str]:
    page = (await api.data(CUSTOMER_SEGMENTS, {"lookup": lookup}))["customerSegments"]
    assert page["__typename"] == "CustomerSegmentPage", page
    return [membership["segment"]["code"] for membership in page["memberships"]]


async def segment_history(api, lookup: dict) -> list[tuple[str, str, str]]:
    page = await history(api, lookup)
    return [(change["segment"]["code"], change["action"], change["source"]) for change in page["changes"]]


async def lead_ids(api, lookup: dict) -> list[str]:
    return [lead["id"] for lead in (await leads_of(api, lookup))["leads"]]


async def message_ids(api, lookup: dict) -> list[str]:
    return [item["messageId"] for item in (await interactions_of(api, lookup))["interactions"]]


async def tracking_ids(api, lookup: dict) -> list[str]:
    return [item["trackingId"] for item in (await events_of(api, lookup))["events"]]


async def test_a_merge_moves_cards_leads_segments_interactions_and_events_and_the_history_lists_them(api, database):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1000")
    victim = await earn(api, victim_mobile, "1000")
    assert (await issue(api, by_user_id(survivor), "CARD-S"))["__typename"] == "CardIssued"
    assert (await issue(api, by_user_id(victim), "CARD-V1"))["__typename"] == "CardIssued"
    assert (await issue(api, by_user_id(victim), "CARD-V2", externalId="EXT-V2"))["__typename"] == "CardIssued"
    survivor_lead = (await create_lead(api, by_user_id(survivor)))["lead"]["id"]
    victim_lead = (await create_lead(api, by_user_id(victim), leadFor="SKU-7"))["lead"]["id"]
    for code in ("BOTH", "VICTIM_ONLY"):
        assert (await create(api, code))["__typename"] == "SegmentCreated"
    await add_members(api, "BOTH", [by_user_id(survivor), by_user_id(victim)])
    await add_members(api, "VICTIM_ONLY", [by_user_id(victim)])
    await record(api, [sms(survivor_mobile, "s-1"), sms(victim_mobile, "v-1"), sms(victim_mobile, "v-2")])
    await record_events(api, [event(survivor_mobile, "t-s"), event(victim_mobile, "t-v")])

    result = await merge(api, by_user_id(survivor), by_user_id(victim))

    assert result["__typename"] == "CustomersMerged"
    assert [(card["number"], card["status"]) for card in await cards_of(api, by_user_id(survivor))] == [
        ("CARD-S", "ACTIVE"),
        ("CARD-V1", "ACTIVE"),
        ("CARD-V2", "ACTIVE"),
    ]
    assert await lead_ids(api, by_user_id(survivor)) == [victim_lead, survivor_lead]
    assert await segments_of(api, by_user_id(survivor)) == ["BOTH", "VICTIM_ONLY"]
    # Newest first; sent at the same time, so the latest recorded first.
    assert await message_ids(api, by_user_id(survivor)) == ["v-2", "v-1", "s-1"]
    assert await tracking_ids(api, by_user_id(survivor)) == ["t-v", "t-s"]
    # The victim keeps none of them.
    assert await cards_of(api, by_user_id(victim)) == []
    assert await lead_ids(api, by_user_id(victim)) == []
    assert await segments_of(api, by_user_id(victim)) == []
    assert await message_ids(api, by_user_id(victim)) == []
    assert await tracking_ids(api, by_user_id(victim)) == []
    # Segment history, newest first: the survivor joined what it lacked, the victim left everything.
    assert await segment_history(api, by_user_id(survivor)) == [
        ("VICTIM_ONLY", "ADDED", "MERGE"),
        ("BOTH", "ADDED", "API"),
    ]
    assert await segment_history(api, by_user_id(victim)) == [
        ("VICTIM_ONLY", "REMOVED", "MERGE"),
        ("BOTH", "REMOVED", "MERGE"),
        ("VICTIM_ONLY", "ADDED", "API"),
        ("BOTH", "ADDED", "API"),
    ]
    combine = (await api.data(COMBINE_DETAILS, {"customer": by_user_id(survivor)}))["identifierHistory"]["records"]
    assert combine == [
        {
            "action": "COMBINE",
            "otherUserId": victim,
            "details": {
                # Issued cards' numbers are their holder's identifiers: they move as identifiers too.
                "identifiers": [
                    {"type": "MOBILE", "value": "91" + victim_mobile},
                    {"type": "CARD_NUMBER", "value": "CARD-V1"},
                    {"type": "CARD_NUMBER", "value": "CARD-V2"},
                ],
                "behaviouralEvents": 1,
                "cards": [{"programCode": "main", "number": "CARD-V1"}, {"programCode": "main", "number": "CARD-V2"}],
                "interactions": 2,
                "leads": [victim_lead],
                "segments": ["BOTH", "VICTIM_ONLY"],
            },
        }
    ]
    await assert_reconciled(database)


async def test_a_merge_a_purchase_makes_moves_them_too_and_the_victims_card_number_finds_the_survivor(api, database):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await earn(api, survivor_mobile, "1000")
    victim = await earn(api, victim_mobile, "1000", email="victim@example.com")
    assert (await issue(api, by_user_id(victim), "CARD-V"))["__typename"] == "CardIssued"
    victim_lead = (await create_lead(api, by_user_id(victim)))["lead"]["id"]
    assert (await create(api, "GOLD"))["__typename"] == "SegmentCreated"
    await add_members(api, "GOLD", [by_user_id(victim)])
    await record(api, [sms(victim_mobile, "v-1")])
    await record_events(api, [event(victim_mobile, "t-v")])

    # A bill naming the survivor's mobile and the victim's email merges the victim in.
    added = await add(api, bill(customer={"mobile": survivor_mobile, "email": "victim@example.com"}, lineItems=[]))

    assert added["transaction"]["customer"]["userId"] == survivor
    assert (await find_customer(api, by_user_id(victim)))["identifiers"] == []
    assert [card["number"] for card in await cards_of(api, by_user_id(survivor))] == ["CARD-V"]
    assert await lead_ids(api, by_user_id(survivor)) == [victim_lead]
    assert await segments_of(api, by_user_id(survivor)) == ["GOLD"]
    assert await message_ids(api, by_user_id(survivor)) == ["v-1"]
    assert await tracking_ids(api, by_user_id(survivor)) == ["t-v"]
    assert (await cards_of(api, by_user_id(victim)), await lead_ids(api, by_user_id(victim))) == ([], [])
    assert (await segments_of(api, by_user_id(victim)), await message_ids(api, by_user_id(victim))) == ([], [])
    assert await tracking_ids(api, by_user_id(victim)) == []
    await assert_reconciled(database)
