"""The DateTime scalar reads a text once and remembers it: the same values, and the same errors,
as Strawberry's own DateTime."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateTimeDefinition

from app.graphql.core import scalars
from app.graphql.core.schema import schema


def outcome(parse: Any, value: object) -> tuple[str, object]:
    """What reading gives, the offset included (aware datetimes at other offsets compare equal)."""
    try:
        read = parse(value)
    except StrawberryInputCoercionError as error:
        return "error", str(error)
    return "value", (type(read), read.isoformat())


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        st.datetimes().map(datetime.isoformat),
        st.text(max_size=30),
        st.integers(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=2),
    )
)
def test_the_schemas_datetime_reads_what_strawberrys_reads_remembered_or_not(value: object) -> None:
    parse = schema._schema.type_map["DateTime"].parse_value  # type: ignore[union-attr]
    expected = outcome(DateTimeDefinition.parse_value, value)
    # the first reading, and the second (remembered when it is a text), equal Strawberry's
    assert outcome(parse, value) == expected
    assert outcome(parse, value) == expected
    # and the scalar is the one that remembers
    assert parse is scalars.parse_datetime


def test_a_text_read_again_is_remembered_and_a_long_one_is_not() -> None:
    before = scalars._read_datetime_text.cache_info()
    assert scalars.parse_datetime("2026-12-08T09:30:00+05:30") == scalars.parse_datetime("2026-12-08T09:30:00+05:30")
    after = scalars._read_datetime_text.cache_info()
    assert after.hits == before.hits + 1

    # isoparse takes any number of fraction digits: such a text is read, never kept
    long_text = "2020-01-01T00:00:00." + "1" * 10_000 + "+05:00"
    assert scalars.parse_datetime(long_text).microsecond == 111111  # type: ignore[attr-defined]
    assert scalars._read_datetime_text.cache_info().currsize == after.currsize
