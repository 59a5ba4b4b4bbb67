"""A download's query parameters, read as its GraphQL query's arguments: enums by their GraphQL
names, lists as repeated parameters, dates as ISO 8601 with an offset. A value that does not
read is a ValidationError naming the parameter."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from enum import Enum
from typing import TypeVar

from starlette.datastructures import QueryParams

from app.kernel.errors import ValidationError

EnumType = TypeVar("EnumType", bound=Enum)
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class Params:
    def __init__(self, query: QueryParams) -> None:
        self.query = query

    def refuse_unknown(self, known: Collection[str]) -> None:
        """A misspelt filter would otherwise download the whole list: refuse what the list does not read."""
        for name in self.query:
            if name not in known:
                raise ValidationError(f"is not a parameter of this download ({', '.join(sorted(known))})", field=name)

    def one(self, name: str) -> str | None:
        found = self.query.getlist(name)
        if len(found) > 1:
            raise ValidationError("give it once", field=name)
        return found[0] if found else None

    def many(self, name: str) -> list[str]:
        return self.query.getlist(name)

    def enum(self, name: str, kind: type[EnumType]) -> EnumType | None:
        value = self.one(name)
        return None if value is None else _member(kind, value, name)

    def enums(self, name: str, kind: type[EnumType]) -> list[EnumType]:
        return [_member(kind, value, name) for value in self.many(name)]

    def datetime(self, name: str) -> datetime | None:
        value = self.one(name)
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError as error:
            raise ValidationError("must be an ISO 8601 date and time with an offset", field=name) from error

    def day(self, name: str) -> date | None:
        value = self.one(name)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError as error:
            raise ValidationError("must be an ISO 8601 date (YYYY-MM-DD)", field=name) from error

    def flag(self, name: str) -> bool | None:
        value = self.one(name)
        if value is None:
            return None
        if value.lower() not in TRUE_WORDS:
            raise ValidationError("must be true or false", field=name)
        return TRUE_WORDS[value.lower()]


def _member(kind: type[EnumType], value: str, name: str) -> EnumType:
    try:
        return kind[value]
    except KeyError:
        raise ValidationError(f"must be one of {', '.join(member.name for member in kind)}", field=name) from None
