"""Alternate currencies in the ledger: a program's other currency is held as accounts of the
program in their own category, 'AC:' + the currency's identifier (the points categories are
REGULAR, PROMISED and TRIGGER_BASED), so entries, lots, expiry and reconciliation are the
ledger's own and no points reader counts a currency as points."""

from __future__ import annotations

from app.kernel.enums import PointsCategory

CURRENCY_CATEGORY_PREFIX = "AC:"
CURRENCY_IDENTIFIER_LENGTH_MAX = 17  # the category column holds 20 characters, the prefix 3
POINTS_CATEGORY_VALUES = tuple(category.value for category in PointsCategory)


class CurrencyCategory(str):
    """The ledger category of an alternate currency's accounts; `.value` as an enum member has."""

    __slots__ = ()

    @classmethod
    def of(cls, identifier: str) -> CurrencyCategory:
        assert 0 < len(identifier) <= CURRENCY_IDENTIFIER_LENGTH_MAX, "the organisation file bounds identifiers"
        return cls(CURRENCY_CATEGORY_PREFIX + identifier)

    @property
    def value(self) -> str:
        return str(self)

    @property
    def identifier(self) -> str:
        return self[len(CURRENCY_CATEGORY_PREFIX) :]


AccountCategory = PointsCategory | CurrencyCategory


def account_category(stored: str) -> AccountCategory:
    """A stored account category: a points category, or an alternate currency's."""
    if stored.startswith(CURRENCY_CATEGORY_PREFIX):
        return CurrencyCategory(stored)
    return PointsCategory(stored)
