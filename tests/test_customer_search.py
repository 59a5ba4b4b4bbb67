"""Member care's customer search (issue 13, "Customers"): `customers(search:, first:, after:)`."""

from __future__ import annotations

from datetime import timedelta

from app.cards.service import issue_card
from app.customers.bulk import register_customers
from app.customers.repository import search_statement
from app.customers.rules import name_search_key, prefix_upper_bound
from app.kernel.enums import IdentifierType
from tests.client import buy, earn, merge
from tests.conftest import TEST_NOW, org_config
from tests.factories import by_mobile, by_user_id, new_mobile, org_spec
from tests.import_checks import finished, post_csv
from tests.test_segments import add as add_to_segment
from tests.test_segments import create as create_segment
from tests.test_segments import remove as remove_from_segment

SEARCH = """
query Search($search: CustomerSearchInput!, $first: Int = 10, $after: String) {
  customers(search: $search, first: $first, after: $after) {
    __typename
    ... on CustomerSearchPage {
      customers { userId firstname lastname }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { code message field }
  }
}
"""


async def search(api, criteria, **variables):
    return (await api.data(SEARCH, {"search": criteria, **variables}))["customers"]


async def found(api, criteria, **variables):
    """The user ids a search finds on its first page (which must be a page)."""
    page = await search(api, criteria, **variables)
    assert page["__typename"] == "CustomerSearchPage", page
    return [customer["userId"] for customer in page["customers"]]


async def customer(api, firstname="", lastname="", **identifiers):
    """A customer registered by a purchase: its user id."""
    return await earn(
        api, identifiers.pop("mobile", new_mobile()), "100", firstname=firstname, lastname=lastname, **identifiers
    )


async def test_a_name_prefix_finds_first_and_last_names_without_case_or_accents(api):
    jose = await customer(api, "José", "Álvarez")
    josefina = await customer(api, "JOSEFINA", "Ruiz")
    alvaro = await customer(api, "Álvaro", "Jösen")
    await customer(api, "Maria", "San José")  # "jose" is inside the last name, not at its start

    assert await found(api, {"name": "jose"}) == [jose, josefina, alvaro]
    assert await found(api, {"name": "JOSÉ"}) == [jose, josefina, alvaro]
    assert await found(api, {"name": "alv"}) == [jose, alvaro]
    assert await found(api, {"name": "  Álvarez "}) == [jose]
    assert await found(api, {"name": "josefinas"}) == []


async def test_a_name_change_moves_the_customer_to_its_new_name(api):
    mobile = new_mobile()
    user_id = await earn(api, mobile, "100", firstname="Tom", lastname="Sawyer")

    await buy(api, mobile, "100", firstname="Thomas", lastname="Straßer")

    assert await found(api, {"name": "saw"}) == []
    assert await found(api, {"name": "thomas"}) == [user_id]
    assert await found(api, {"name": "STRASS"}) == [user_id]  # ß folds to ss


async def test_each_identifier_finds_its_owner(api, database, org, clock):
    mobile = new_mobile()
    owner = await customer(api, "Ann", "Lee", mobile=mobile, email="Ann@Example.com", externalId="EXT-1")
    carded = await customer(api, "Bob", "Ray", cardNumber="CARD-7")
    holder = await customer(api, "Cy", "Fox")
    config = await org_config(database, org.org_id)
    await database.run_write(
        lambda connection: issue_card(
            connection, config, program_code="cafe", identifier="LC-9", customer_id=int(holder), now=clock.now()
        )
    )

    assert await found(api, {"mobile": mobile}) == [owner]
    assert await found(api, {"mobile": f"+91{mobile}"}) == [owner]
    assert await found(api, {"email": "ann@example.com"}) == [owner]
    assert await found(api, {"externalId": "EXT-1"}) == [owner]
    assert await found(api, {"cardNumber": "CARD-7"}) == [carded]
    assert await found(api, {"cardNumber": "LC-9"}) == [holder]
    assert await found(api, {"userId": holder}) == [holder]
    assert await found(api, {"email": "nobody@example.com"}) == []
    assert await found(api, {"userId": "999999"}) == []


async def test_created_between_takes_the_registration_instant_from_inclusive_to_exclusive(api, clock):
    first = await customer(api, "Early")
    clock.set(TEST_NOW + timedelta(days=1))
    second = await customer(api, "Middle")
    clock.set(TEST_NOW + timedelta(days=2))
    third = await customer(api, "Late")
    day_two = (TEST_NOW + timedelta(days=1)).isoformat()

    assert await found(api, {"createdBetween": {"from": day_two}}) == [second, third]
    assert await found(api, {"createdBetween": {"to": day_two}}) == [first]
    assert await found(
        api, {"createdBetween": {"from": TEST_NOW.isoformat(), "to": (TEST_NOW + timedelta(days=2)).isoformat()}}
    ) == [first, second]


async def test_a_customer_an_import_registered_at_a_whole_second_is_found_from_that_instant(api, clock):
    clock.set(TEST_NOW.replace(microsecond=0))
    job = await finished(api, str((await post_csv(api, b"customerprofileid,amount\nWHOLE-1,5\n")).json()["job"]["id"]))
    clock.set(TEST_NOW.replace(microsecond=1))
    one_by_one = await customer(api, "Later")
    imported = await found(api, {"externalId": "WHOLE-1"})

    assert (job["status"], job["customersCreated"]) == ("DONE", 1)
    assert await found(api, {"createdBetween": {"from": TEST_NOW.replace(microsecond=0).isoformat()}}) == [
        *imported,
        one_by_one,
    ]
    assert await found(api, {"createdBetween": {"to": TEST_NOW.replace(microsecond=1).isoformat()}}) == imported


async def test_tier_finds_the_customers_in_that_tier_of_a_program(api):
    bronze = await customer(api, "Al")
    silver_mobile = new_mobile()
    silver = await earn(api, silver_mobile, "25000", firstname="Al")

    assert await found(api, {"tier": {"name": "silver"}}) == [silver]
    assert await found(api, {"tier": {"name": "bronze", "programCode": "main"}}) == [bronze]
    assert await found(api, {"tier": {"name": "member", "programCode": "cafe"}}) == [bronze, silver]


async def test_criteria_combine_every_one_must_match(api, clock):
    mobile = new_mobile()
    ann = await customer(api, "Ann", "Silver", mobile=mobile)
    annette = await customer(api, "Annette", "Bronze")
    clock.set(TEST_NOW + timedelta(days=3))
    anna = await earn(api, new_mobile(), "25000", firstname="Anna")

    assert await found(api, {"name": "ann", "mobile": mobile}) == [ann]
    assert await found(api, {"name": "bob", "mobile": mobile}) == []
    assert await found(api, {"name": "ann", "tier": {"name": "silver"}}) == [anna]
    before = {"to": (TEST_NOW + timedelta(days=1)).isoformat()}
    assert await found(api, {"name": "ann", "createdBetween": before}) == [ann, annette]
    assert await found(api, {"name": "ann", "createdBetween": before, "tier": {"name": "silver"}}) == []
    assert await found(api, {"mobile": mobile, "userId": anna}) == []


async def test_pages_follow_the_cursor_through_every_match_without_gaps_or_repeats(api):
    expected = [await customer(api, f"Kim {index}") for index in range(7)]
    await customer(api, "Lee")

    seen, after, pages = [], None, 0
    while True:
        page = await search(api, {"name": "kim"}, first=3, after=after)
        seen.extend(customer["userId"] for customer in page["customers"])
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == expected
    assert pages == 3


async def test_an_empty_search_lists_the_organisations_customers_but_not_merged_ones(api):
    survivor_mobile, victim_mobile = new_mobile(), new_mobile()
    survivor = await customer(api, "Sam", mobile=survivor_mobile)
    await customer(api, "Sam", mobile=victim_mobile)
    await merge(api, by_mobile(survivor_mobile), by_mobile(victim_mobile))

    assert await found(api, {}) == [survivor]
    assert await found(api, {"name": "sam"}) == [survivor]


async def test_another_organisations_customers_are_never_found(api, org_api):
    other = await org_api(org_spec("other"))
    mobile = new_mobile()
    theirs = await customer(other, "Zed", "Zulu", mobile=mobile, email="zed@example.com")
    ours = await customer(api, "Zed", "Zulu")

    assert await found(api, {"name": "zed"}) == [ours]
    assert await found(api, {"mobile": mobile}) == []
    assert await found(api, {"email": "zed@example.com"}) == []
    assert await found(api, {"userId": theirs}) == []
    assert await found(other, {"name": "zed"}) == [theirs]


async def test_segment_finds_the_segments_members_now_and_combines_with_the_other_criteria(api, org_api):
    ana = await customer(api, "Ana", "Silva")
    anabel = await customer(api, "Anabel", "Costa")
    bruno = await customer(api, "Bruno", "Anand")
    outsider = await customer(api, "Anita", "Lopes")
    await create_segment(api, "GOLD")
    await create_segment(api, "EMPTY")
    await add_to_segment(api, "GOLD", [by_user_id(ana), by_user_id(anabel), by_user_id(bruno)])
    await remove_from_segment(api, "GOLD", [by_user_id(anabel)])
    other = await org_api(org_spec("other"))
    await create_segment(other, "GOLD")
    await add_to_segment(other, "GOLD", [by_user_id(await customer(other, "Ana", "Other"))])

    assert await found(api, {"segment": "GOLD"}) == [ana, bruno]
    assert await found(api, {"segment": "GOLD", "name": "ana"}) == [ana, bruno]  # Bruno Anand by his last name
    assert await found(api, {"segment": "GOLD", "userId": outsider}) == []
    assert await found(api, {"segment": "GOLD"}, first=1) == [ana]
    assert await found(api, {"segment": "EMPTY"}) == []
    assert await search(api, {"segment": "SILVER"}) == {
        "__typename": "NotFoundError",
        "code": "SEGMENT_NOT_FOUND",
        "message": "no segment with code 'SILVER'",
        "field": "search.segment",
    }


async def test_bad_criteria_are_refused_naming_the_field(api):
    await customer(api, "Ann")
    refusals = {
        "blank name": ({"name": "   "}, "INVALID_INPUT", "search.name"),
        "long name": ({"name": "a" * 101}, "INVALID_INPUT", "search.name"),
        "control in name": ({"name": "an\x00"}, "INVALID_INPUT", "search.name"),
        "mobile": ({"mobile": "12"}, "INVALID_IDENTIFIER", "search.mobile"),
        "email": ({"email": "not-an-email"}, "INVALID_IDENTIFIER", "search.email"),
        "card": ({"cardNumber": " "}, "INVALID_IDENTIFIER", "search.cardNumber"),
        "user id": ({"userId": "abc"}, "INVALID_INPUT", "search.userId"),
        "program": ({"tier": {"name": "gold", "programCode": "nope"}}, "INVALID_INPUT", "search.tier.programCode"),
        "tier": ({"tier": {"name": "platinum"}}, "INVALID_INPUT", "search.tier.name"),
        "no offset": (
            {"createdBetween": {"from": "2026-11-25T00:00:00"}},
            "INVALID_INPUT",
            "search.createdBetween.from",
        ),
        "reversed": (
            {"createdBetween": {"from": "2026-11-26T00:00:00Z", "to": "2026-11-25T00:00:00Z"}},
            "INVALID_INPUT",
            "search.createdBetween",
        ),
    }

    answers = {name: await search(api, criteria) for name, (criteria, _, _) in refusals.items()}

    assert {name: (answer["__typename"], answer["code"], answer["field"]) for name, answer in answers.items()} == {
        name: ("InvalidInputError", code, field) for name, (_, code, field) in refusals.items()
    }
    assert (await search(api, {"name": "ann"}, first=0))["field"] == "first"
    assert (await search(api, {"name": "ann"}, after="bm90LWEtY3Vyc29y"))["field"] == "after"


async def test_a_page_costs_the_same_statements_whatever_its_size(api, database, count_statements):
    for index in range(12):
        await customer(api, f"Pat {index}", mobile=new_mobile(), email=f"pat{index}@example.com")
    await search(api, {"name": "pat"})  # the API key and the org are cached from here on

    async def statements(first):
        counter = count_statements()
        page = await search(api, {"name": "pat"}, first=first)
        assert len(page["customers"]) == first
        return counter.count

    # The page's ids, the customers with points summaries, their identifiers; on SQLite the
    # request's one read transaction also sends its BEGIN.
    assert await statements(1) == await statements(12) == (4 if database.is_sqlite else 3)


async def test_a_name_search_is_served_by_the_two_name_key_indexes(database, org, clock):
    """The plan, not a timing: each name key's index serves its range, on SQLite and PostgreSQL,
    with 3,000 customers and the tables analysed (scripts/bench --customer-search measures it on
    1,000,000)."""
    config = await org_config(database, org.org_id)
    names = [(f"First{index}", f"Last{index}") for index in range(3000)]
    await database.run_write(
        lambda connection: register_customers(
            connection,
            config,
            IdentifierType.EXTERNAL_ID,
            [f"E{index}" for index in range(3000)],
            clock.now(),
            names=names,
        )
    )
    key = name_search_key("first12")
    statement = search_statement(org_id=org.org_id, name_range=(key, prefix_upper_bound(key)), limit=11)

    async with database.read() as connection:
        await connection.exec_driver_sql("ANALYZE")
        compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN" if database.is_sqlite else "EXPLAIN"
        plan = " ".join(str(row[-1]) for row in await connection.exec_driver_sql(f"{explain} {compiled}"))

    assert "ix_customers_first_name_key" in plan
    assert "ix_customers_last_name_key" in plan
    # Not a walk through the organisation's customers.
    assert "(org_id=?)" not in plan
    assert "SCAN customers" not in plan
    assert "Seq Scan" not in plan
