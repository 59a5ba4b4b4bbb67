"""resendCoupon through the API: the resend is recorded and a coupon.resend_requested event is
appended to the outbox in one transaction; refusals are typed and write nothing; an idempotency
key replays the first result."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from app.outbox.models import OutboxDelivery, OutboxEvent
from app.promotions.models import CouponResend
from tests.conftest import TEST_NOW
from tests.factories import by_mobile, new_mobile
from tests.snapshots import table_counts
from tests.test_customer_coupons import customer_with_each_status, full_return, link, uploaded_code
from tests.test_promotions import add, small_bill

events = OutboxEvent.__table__
deliveries = OutboxDelivery.__table__
resends = CouponResend.__table__

RESEND = """
mutation Resend($input: ResendCouponInput!) {
  resendCoupon(input: $input) {
    __typename
    ... on CouponResendRequested {
      resendId userId requestedAt replayed
      coupon { code status validUntil promotion { id name } }
      event { id type payload createdAt }
    }
    ... on Error { code message field }
  }
}
"""


async def resend(api, mobile, code, **extra):
    variables = {"input": {"customer": by_mobile(mobile), "code": code, **extra}}
    return (await api.data(RESEND, variables))["resendCoupon"]


async def rows(database, table, *criteria):
    async with database.read() as connection:
        statement = select(table).where(*criteria).order_by(*table.primary_key)
        return [row._asdict() for row in (await connection.execute(statement))]


async def resend_events(database):
    """The outbox's resend events (the bills that set the customer up emit events of their own)."""
    return await rows(database, events, events.c.type == "coupon.resend_requested")


async def test_a_resend_is_recorded_with_its_outbox_event_in_one_transaction(api, database, org):
    mobile, user_id, promotions, _, _ = await customer_with_each_status(api, database, org)
    now = api.clock.now()
    promotion = promotions["PAPER-ACTIVE"]

    result = await resend(api, mobile, "paper-active")

    payload = {
        "version": 1,
        "userId": user_id,
        "mobile": "91" + mobile,
        "email": None,
        "code": "PAPER-ACTIVE",
        "promotion": {"id": promotion["id"], "name": "active coupon"},
        "validFrom": (TEST_NOW - timedelta(days=1)).isoformat(),
        "validUntil": (TEST_NOW + timedelta(days=30)).isoformat(),
        "requestedAt": now.isoformat(),
    }
    assert result == {
        "__typename": "CouponResendRequested",
        "resendId": result["resendId"],
        "userId": user_id,
        "requestedAt": now.isoformat(),
        "replayed": False,
        "coupon": {
            "code": "PAPER-ACTIVE",
            "status": "ACTIVE",
            "validUntil": promotion["validUntil"],
            "promotion": {"id": promotion["id"], "name": "active coupon"},
        },
        "event": {
            "id": result["event"]["id"],
            "type": "coupon.resend_requested",
            "payload": payload,
            "createdAt": now.isoformat(),
        },
    }
    event_id = int(result["event"]["id"])
    assert await resend_events(database) == [
        {
            "id": event_id,
            "org_id": org.org_id,
            "customer_id": int(user_id),
            "type": "coupon.resend_requested",
            "payload": payload,
            "created_at": now,
        }
    ]
    assert await rows(database, deliveries, deliveries.c.event_id == event_id) == [
        {
            "event_id": event_id,
            "org_id": org.org_id,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_until": None,
            "delivered_at": None,
            "last_error": None,
        }
    ]
    [stored] = await rows(database, resends)
    assert (stored["id"], stored["customer_id"], stored["outbox_event_id"], stored["requested_at"]) == (
        int(result["resendId"]),
        int(user_id),
        event_id,
        now,
    )


async def test_a_code_not_yet_active_can_be_resent_and_each_request_without_a_key_is_its_own(api, database, org):
    mobile, _, _, _, _ = await customer_with_each_status(api, database, org)

    first = await resend(api, mobile, "SOON10")
    second = await resend(api, mobile, "SOON10")

    assert [(item["__typename"], item["coupon"]["status"], item["replayed"]) for item in (first, second)] == [
        ("CouponResendRequested", "NOT_YET_ACTIVE", False),
        ("CouponResendRequested", "NOT_YET_ACTIVE", False),
    ]
    assert first["event"]["id"] != second["event"]["id"]
    assert [row["id"] for row in await resend_events(database)] == [
        int(first["event"]["id"]),
        int(second["event"]["id"]),
    ]
    assert len(await rows(database, resends)) == 2


async def test_an_idempotency_key_replays_the_first_resend_and_refuses_another_request(api, database, org):
    mobile, _, _, _, _ = await customer_with_each_status(api, database, org)

    first = await resend(api, mobile, "PAPER-ACTIVE", idempotencyKey="resend-1")
    api.clock.advance(timedelta(minutes=5))
    again = await resend(api, mobile, "PAPER-ACTIVE", idempotencyKey="resend-1")
    before = await table_counts(database)
    other = await resend(api, mobile, "SOON10", idempotencyKey="resend-1")

    assert again == {**first, "replayed": True}
    assert (other["__typename"], other["code"], other["field"]) == (
        "IdempotencyKeyReusedError",
        "IDEMPOTENCY_KEY_REUSED",
        "input.idempotencyKey",
    )
    assert await table_counts(database) == before
    assert (len(await resend_events(database)), len(await rows(database, resends))) == (1, 1)


async def test_ten_concurrent_resends_with_one_key_write_one_resend_and_one_event(api, database, org):
    mobile, _, _, _, _ = await customer_with_each_status(api, database, org)

    answers = await asyncio.gather(
        *(resend(api, mobile, "PAPER-ACTIVE", idempotencyKey="double-click") for _ in range(10))
    )

    assert sorted(answer["replayed"] for answer in answers) == [False] + [True] * 9
    assert {(answer["resendId"], answer["event"]["id"]) for answer in answers} == {
        (answers[0]["resendId"], answers[0]["event"]["id"])
    }
    assert (len(await resend_events(database)), len(await rows(database, resends))) == (1, 1)


async def test_refusals_are_typed_name_the_field_and_write_nothing(api, database, org):
    mobile, _, _, _, _ = await customer_with_each_status(api, database, org)
    stranger = new_mobile()
    await add(api, small_bill("10", customer={"mobile": stranger}))
    await uploaded_code(api, database, org, "NOT-HERS", name="someone else's")
    await link(api, "NOT-HERS", stranger)
    before = await table_counts(database)

    answers = [
        await resend(api, mobile, "NO-SUCH-CODE"),
        await resend(api, mobile, "NOT-HERS"),
        await resend(api, mobile, "NAMED5"),  # redeemed by naming it: never linked to her
        await resend(api, mobile, "PAPER-USED"),
        await resend(api, mobile, "PAPER-SHORT"),
        await resend(api, new_mobile(), "PAPER-ACTIVE"),
        await resend(api, mobile, "bad code!"),
        await resend(api, mobile, "PAPER-ACTIVE", idempotencyKey=" "),
    ]

    assert [(answer["__typename"], answer["code"], answer["field"]) for answer in answers] == [
        ("PromoCodeUnknownError", "PROMO_CODE_UNKNOWN", "input.code"),
        ("ConflictError", "COUPON_NOT_LINKED_TO_CUSTOMER", "input.code"),
        ("ConflictError", "COUPON_NOT_LINKED_TO_CUSTOMER", "input.code"),
        ("ConflictError", "COUPON_REDEEMED", "input.code"),
        ("PromoCodeExpiredError", "PROMO_CODE_EXPIRED", "input.code"),
        ("NotFoundError", "CUSTOMER_NOT_FOUND", "input.customer"),
        ("InvalidInputError", "INVALID_INPUT", "input.code"),
        ("InvalidInputError", "INVALID_INPUT", "input.idempotencyKey"),
    ]
    assert await table_counts(database) == before


async def test_a_code_given_back_by_a_full_return_can_be_resent(api, database, org):
    mobile = new_mobile()
    await add(api, small_bill("10", customer={"mobile": mobile}))
    await uploaded_code(api, database, org, "PAPER-BACK", name="given back")
    await link(api, "PAPER-BACK", mobile)
    used = (await add(api, small_bill("500", customer={"mobile": mobile})))["transaction"]
    refused = await resend(api, mobile, "PAPER-BACK")
    await full_return(api, used, mobile)

    resent = await resend(api, mobile, "PAPER-BACK")

    assert (refused["__typename"], refused["code"]) == ("ConflictError", "COUPON_REDEEMED")
    assert (resent["__typename"], resent["coupon"]["status"]) == ("CouponResendRequested", "ACTIVE")
