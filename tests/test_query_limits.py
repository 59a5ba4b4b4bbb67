"""Limits on what one GraphQL document may ask, enforced before anything runs."""

from __future__ import annotations


def nested_customer_document(levels: int) -> str:
    """customer > transactions > nodes > customer > ... : three levels per round, then `id`."""
    inner = "id"
    for _ in range(levels):
        inner = f"customer {{ userId transactions {{ nodes {{ {inner} }} }} }}"
    return (
        "query Deep($lookup: CustomerLookupInput!) { "
        "customer(lookup: $lookup) { ... on Customer { transactions { nodes { " + inner + " } } } } }"
    )


async def test_a_document_nested_deeper_than_12_levels_is_refused(api):
    variables = {"lookup": {"type": "USER_ID", "value": "1"}}

    # Depth counts from 0 at `customer`: three rounds put `id` at depth 12, four at depth 15.
    too_deep = await api.post(nested_customer_document(4), variables)
    deep_enough = await api.post(nested_customer_document(3), variables)

    assert too_deep.get("data") is None
    assert {error["message"] for error in too_deep["errors"]} == {"'Deep' exceeds maximum operation depth of 12"}
    assert deep_enough == {"data": {"customer": {}}}  # not found: the NotFoundError member, no Customer fields


async def test_more_than_50_aliases_are_refused(api):
    document = "{ " + " ".join(f"a{index}: __typename" for index in range(51)) + " }"

    body = await api.post(document)

    assert body.get("data") is None
    assert [error["message"] for error in body["errors"]] == ["51 aliases found. Allowed: 50"]


async def test_the_same_document_twice_is_validated_once(api):
    from strawberry.extensions.validation_cache import _get_validate_cache

    cache = _get_validate_cache(1024)
    await api.post("{ organization { code } }")
    hits = cache.cache_info().hits

    await api.post("{ organization { code } }")

    assert cache.cache_info().hits == hits + 1
