"""Leads through the API (seed 004's Leads tab): create, change status, follow up, list per
customer with each lead's status history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.client import customer_with_points
from tests.factories import by_mobile, by_user_id, new_mobile, org_spec
from tests.import_checks import CREATE_GROUP
from tests.snapshots import table_counts

LEAD_FIELDS = """
fragment LeadFields on Lead {
  id leadType leadFor status subStatus ownerUserId createdAt updatedAt lastFollowUpAt nextFollowUpAt
  extendedFields { name value }
  statusHistory { status subStatus changedAt }
}
"""

CREATE = (
    """
mutation Create($input: CreateLeadInput!) {
  createLead(input: $input) {
    __typename
    ... on LeadChanged { replayed lead { ...LeadFields } }
    ... on Error { code message field }
  }
}
"""
    + LEAD_FIELDS
)

UPDATE_STATUS = CREATE.replace("Create($input: CreateLeadInput!)", "Update($input: UpdateLeadStatusInput!)").replace(
    "createLead", "updateLeadStatus"
)
FOLLOW_UP = CREATE.replace("Create($input: CreateLeadInput!)", "FollowUp($input: AddLeadFollowUpInput!)").replace(
    "createLead", "addLeadFollowUp"
)

LEADS = (
    """
query Leads($lookup: CustomerLookupInput!, $status: LeadStatus, $first: Int = 10, $after: String) {
  customerLeads(lookup: $lookup, status: $status, first: $first, after: $after) {
    __typename
    ... on LeadPage { customerId leads { ...LeadFields } pageInfo { hasNextPage endCursor } }
    ... on Error { code message field }
  }
}
"""
    + LEAD_FIELDS
)

NOW = "2026-11-25T06:30:00+00:00"  # the test clock's time


async def create(api, customer: dict, **extra) -> dict:
    lead_input = {"customer": customer, "leadType": "PRODUCT", "leadFor": "SKU-42", **extra}
    return (await api.data(CREATE, {"input": lead_input}))["createLead"]


async def leads_of(api, customer: dict, **variables) -> dict:
    return (await api.data(LEADS, {"lookup": customer, **variables}))["customerLeads"]


def lead_tables(counts: dict[str, int]) -> tuple[int, int]:
    return counts["leads"], counts["lead_status_changes"]


async def test_a_new_lead_has_the_eleven_fields_of_the_seed_and_its_first_status_in_its_history(api):
    mobile, user_id = await customer_with_points(api)

    result = await create(
        api,
        by_mobile(mobile),
        leadType="CATEGORY",
        leadFor="bundle",
        subStatus=" Callback requested ",
        extendedFields=[{"name": "source", "value": "store visit"}, {"name": "budget", "value": "500"}],
        nextFollowUpAt="2026-11-27T10:00:00+05:30",
    )

    lead = result["lead"]
    assert (result["__typename"], result["replayed"]) == ("LeadChanged", False)
    assert lead == {
        "id": lead["id"],
        "leadType": "CATEGORY",
        "leadFor": "bundle",
        "status": "OPEN",
        "subStatus": "Callback requested",
        "ownerUserId": user_id,
        "createdAt": NOW,
        "updatedAt": NOW,
        "lastFollowUpAt": None,
        "nextFollowUpAt": "2026-11-27T04:30:00+00:00",
        "extendedFields": [{"name": "budget", "value": "500"}, {"name": "source", "value": "store visit"}],
        "statusHistory": [{"status": "OPEN", "subStatus": "Callback requested", "changedAt": NOW}],
    }
    page = await leads_of(api, by_user_id(user_id))
    assert page == {
        "__typename": "LeadPage",
        "customerId": user_id,
        "leads": [lead],
        "pageInfo": {"hasNextPage": False, "endCursor": page["pageInfo"]["endCursor"]},
    }


async def test_status_changes_are_kept_in_order_and_setting_the_same_status_writes_nothing(api, database, clock):
    mobile, _ = await customer_with_points(api)
    lead_id = (await create(api, by_mobile(mobile)))["lead"]["id"]

    clock.advance(timedelta(hours=1))
    working = await api.data(
        UPDATE_STATUS, {"input": {"leadId": lead_id, "status": "IN_PROGRESS", "subStatus": "Demo"}}
    )
    before_repeat = await table_counts(database)
    repeated = await api.data(
        UPDATE_STATUS, {"input": {"leadId": lead_id, "status": "IN_PROGRESS", "subStatus": "Demo"}}
    )
    after_repeat = await table_counts(database)
    clock.advance(timedelta(hours=1))
    won = (await api.data(UPDATE_STATUS, {"input": {"leadId": lead_id, "status": "WON"}}))["updateLeadStatus"]

    assert working["updateLeadStatus"]["lead"]["status"] == "IN_PROGRESS"
    assert repeated["updateLeadStatus"] == working["updateLeadStatus"]
    assert after_repeat == before_repeat
    assert (won["lead"]["status"], won["lead"]["subStatus"], won["lead"]["updatedAt"]) == (
        "WON",
        None,
        "2026-11-25T08:30:00+00:00",
    )
    assert won["lead"]["createdAt"] == NOW
    assert won["lead"]["statusHistory"] == [
        {"status": "OPEN", "subStatus": None, "changedAt": NOW},
        {"status": "IN_PROGRESS", "subStatus": "Demo", "changedAt": "2026-11-25T07:30:00+00:00"},
        {"status": "WON", "subStatus": None, "changedAt": "2026-11-25T08:30:00+00:00"},
    ]


async def test_a_follow_up_sets_the_last_and_next_follow_up_and_the_update_time(api, clock):
    mobile, _ = await customer_with_points(api)
    lead_id = (await create(api, by_mobile(mobile)))["lead"]["id"]
    clock.advance(timedelta(minutes=30))

    now_and_next = await api.data(
        FOLLOW_UP, {"input": {"leadId": lead_id, "nextFollowUpAt": "2026-11-30T09:00:00+00:00"}}
    )
    scheduled = await api.data(
        FOLLOW_UP,
        {"input": {"leadId": lead_id, "followedUpAt": "2026-11-26T09:00:00+00:00"}},
    )

    first = now_and_next["addLeadFollowUp"]["lead"]
    assert (first["lastFollowUpAt"], first["nextFollowUpAt"], first["updatedAt"]) == (
        "2026-11-25T07:00:00+00:00",
        "2026-11-30T09:00:00+00:00",
        "2026-11-25T07:00:00+00:00",
    )
    second = scheduled["addLeadFollowUp"]["lead"]
    assert (second["lastFollowUpAt"], second["nextFollowUpAt"], second["status"]) == (
        "2026-11-26T09:00:00+00:00",
        None,
        "OPEN",
    )
    assert second["statusHistory"] == [{"status": "OPEN", "subStatus": None, "changedAt": NOW}]


async def test_bad_input_names_its_field_and_writes_nothing(api, database):
    mobile, _ = await customer_with_points(api)
    lead_id = (await create(api, by_mobile(mobile)))["lead"]["id"]
    before = await table_counts(database)
    too_many = [{"name": f"field{index}", "value": "x"} for index in range(21)]

    answers = [
        await create(api, by_mobile(new_mobile())),
        await create(api, by_mobile(mobile), leadType=" "),
        await create(api, by_mobile(mobile), leadFor="x" * 101),
        await create(api, by_mobile(mobile), subStatus="y" * 101),
        await create(api, by_mobile(mobile), extendedFields=too_many),
        await create(api, by_mobile(mobile), extendedFields=[{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]),
        await create(api, by_mobile(mobile), nextFollowUpAt="2026-11-25T06:00:00+00:00"),
        await create(api, by_mobile(mobile), nextFollowUpAt="2026-11-26T06:00:00"),
        (await api.data(UPDATE_STATUS, {"input": {"leadId": "999999", "status": "WON"}}))["updateLeadStatus"],
        (await api.data(UPDATE_STATUS, {"input": {"leadId": "abc", "status": "WON"}}))["updateLeadStatus"],
        (
            await api.data(
                FOLLOW_UP,
                {
                    "input": {
                        "leadId": lead_id,
                        "followedUpAt": "2026-12-01T00:00:00+00:00",
                        "nextFollowUpAt": "2026-11-30T00:00:00+00:00",
                    }
                },
            )
        )["addLeadFollowUp"],
    ]

    assert [(answer["__typename"], answer["code"], answer["field"]) for answer in answers] == [
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.customer"),
        ("InvalidInputError", "INVALID_INPUT", "input.leadType"),
        ("InvalidInputError", "INVALID_INPUT", "input.leadFor"),
        ("InvalidInputError", "INVALID_INPUT", "input.subStatus"),
        ("InvalidInputError", "INVALID_INPUT", "input.extendedFields"),
        ("InvalidInputError", "INVALID_INPUT", "input.extendedFields[1].name"),
        ("InvalidInputError", "INVALID_INPUT", "input.nextFollowUpAt"),
        ("InvalidInputError", "INVALID_INPUT", "input.nextFollowUpAt"),
        ("NotFoundError", "LEAD_NOT_FOUND", "input.leadId"),
        ("NotFoundError", "LEAD_NOT_FOUND", "input.leadId"),
        ("InvalidInputError", "INVALID_INPUT", "input.nextFollowUpAt"),
    ]
    assert await table_counts(database) == before


async def test_a_retried_create_with_its_idempotency_key_makes_one_lead(api, database):
    mobile, user_id = await customer_with_points(api)

    first = await create(api, by_mobile(mobile), idempotencyKey="lead-1")
    again = await create(api, by_mobile(mobile), idempotencyKey="lead-1")
    other = await create(api, by_mobile(mobile), leadFor="SKU-43", idempotencyKey="lead-1")

    assert (again["replayed"], again["lead"]) == (True, first["lead"])
    assert (other["__typename"], other["code"]) == ("IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED")
    assert lead_tables(await table_counts(database)) == (1, 1)
    assert [lead["id"] for lead in (await leads_of(api, by_user_id(user_id)))["leads"]] == [first["lead"]["id"]]


async def test_concurrent_changes_to_one_status_write_one_history_row(api, database):
    mobile, _ = await customer_with_points(api)
    lead_id = (await create(api, by_mobile(mobile)))["lead"]["id"]
    change = {"input": {"leadId": lead_id, "status": "LOST", "subStatus": "Price"}}

    answers = await asyncio.gather(*(api.data(UPDATE_STATUS, change) for _ in range(6)))

    assert {answer["updateLeadStatus"]["__typename"] for answer in answers} == {"LeadChanged"}
    assert lead_tables(await table_counts(database)) == (1, 2)


async def test_the_list_pages_newest_first_and_filters_by_status(api):
    mobile, user_id = await customer_with_points(api)
    other_mobile, _ = await customer_with_points(api)
    ids = [(await create(api, by_mobile(mobile), leadFor=f"SKU-{index}"))["lead"]["id"] for index in range(3)]
    await create(api, by_mobile(other_mobile))
    await api.data(UPDATE_STATUS, {"input": {"leadId": ids[1], "status": "WON"}})

    first_page = await leads_of(api, by_mobile(mobile), first=2)
    second_page = await leads_of(api, by_mobile(mobile), first=2, after=first_page["pageInfo"]["endCursor"])
    won = await leads_of(api, by_mobile(mobile), status="WON")

    assert [lead["id"] for lead in first_page["leads"]] == [ids[2], ids[1]]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert [lead["id"] for lead in second_page["leads"]] == [ids[0]]
    assert second_page["pageInfo"] == {"hasNextPage": False, "endCursor": second_page["pageInfo"]["endCursor"]}
    assert [(lead["id"], lead["leadFor"], lead["status"]) for lead in won["leads"]] == [(ids[1], "SKU-1", "WON")]
    assert {lead["ownerUserId"] for lead in first_page["leads"] + second_page["leads"]} == {user_id}


async def test_another_organisations_lead_is_not_found(api, org_api, database):
    mobile, _ = await customer_with_points(api)
    lead_id = (await create(api, by_mobile(mobile)))["lead"]["id"]
    other = await org_api(org_spec("other"))
    before = await table_counts(database)

    answer = await other.data(UPDATE_STATUS, {"input": {"leadId": lead_id, "status": "WON"}})
    follow_up = await other.data(FOLLOW_UP, {"input": {"leadId": lead_id}})

    assert (answer["updateLeadStatus"]["code"], follow_up["addLeadFollowUp"]["code"]) == (
        "LEAD_NOT_FOUND",
        "LEAD_NOT_FOUND",
    )
    assert await table_counts(database) == before


async def test_the_list_costs_the_same_statements_for_1_or_12_leads(api, count_statements):
    async def statements(size: int) -> int:
        mobile, _ = await customer_with_points(api)
        for index in range(size):
            lead_id = (await create(api, by_mobile(mobile), leadFor=f"SKU-{index}"))["lead"]["id"]
            await api.data(UPDATE_STATUS, {"input": {"leadId": lead_id, "status": "IN_PROGRESS"}})
        await leads_of(api, by_mobile(mobile), first=20)
        counter = count_statements()
        page = await leads_of(api, by_mobile(mobile), first=20)
        assert [len(lead["statusHistory"]) for lead in page["leads"]] == [2] * size
        return counter.count

    leads = 4 if api.database.is_sqlite else 3  # SQLite's reads add their BEGIN
    assert (await statements(1), await statements(12)) == (leads, leads)


async def test_a_user_groups_account_cannot_own_a_lead(api, database):
    group = await api.data(CREATE_GROUP, {"input": {"externalId": "FLEET-1", "members": []}})
    before = await table_counts(database)

    answer = await create(api, by_user_id(group["createUserGroup"]["group"]["userId"]))

    assert (answer["__typename"], answer["code"], answer["field"]) == (
        "InvalidInputError",
        "NOT_A_CUSTOMER",
        "input.customer",
    )
    assert await table_counts(database) == before
