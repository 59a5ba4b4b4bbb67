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
    try:
        return "value", parse(value)
    except StrawberryInputCoercionError as error:
        return "error", str(error)


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
