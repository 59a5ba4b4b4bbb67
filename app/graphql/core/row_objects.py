"""A list field's objects served straight from the service's rows.

A ledger page of 100 entries built 100 `LedgerEntry` objects (21 fields each, most of which a
page's document does not select) only for the executor to read 16 attributes of each back. A
resolver may instead answer its list as `RowObjects`: the service's rows, what reading them needs
(the organisation's codes), and the item type's *row form*: per attribute, the function that
reads its value from a row. The type builds its objects with the same form (`build`), so an
attribute read from a row and read from a built object is the same value by construction.

Compiled execution (core/compiled.py) completes an item of a selection that only holds basic
leaf fields the form reads (and __typename) by calling those functions and serializing their
values as it serializes any basic leaf. Any item that needs more (a null for a non-null field, a
value its scalar refuses, a reader that raises) is built as an object and completed as before,
errors and all. Everything else (graphql-core's own execution, a selection the form does not
cover) sees a sequence of built objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

Row = TypeVar("Row")
Context = TypeVar("Context")
Item = TypeVar("Item")

RowForm = Mapping[str, Callable[[Row, Context], Any]]
"""Per Python attribute of the item type, its value read from a row (with the rows' context)."""


def build_from_row(cls: Callable[..., Item], form: RowForm[Row, Context], row: Row, context: Context) -> Item:
    """The object of `cls` the form reads from `row`: every attribute, as keyword arguments."""
    return cls(**{name: read(row, context) for name, read in form.items()})


class RowObjects(Sequence[Item], Generic[Item, Row, Context]):
    """The objects of `rows`, each built by `build` when it is read: `form` and `context` let
    compiled execution read the selected attributes from the rows instead."""

    __slots__ = ("build", "context", "form", "rows")

    def __init__(
        self,
        rows: Sequence[Row],
        form: RowForm[Row, Context],
        context: Context,
        build: Callable[[Row, Context], Item],
    ) -> None:
        self.rows = rows
        self.form = form
        self.context = context
        self.build = build

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Item: ...

    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...

    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        if isinstance(index, slice):
            return [self.build(row, self.context) for row in self.rows[index]]
        return self.build(self.rows[index], self.context)

    def __iter__(self) -> Iterator[Item]:
        context = self.context
        return (self.build(row, context) for row in self.rows)

    def __repr__(self) -> str:
        return f"RowObjects({len(self.rows)} rows)"
