"""Conditions on one line of a bill: its item code, or an attribute it carries (a name/value
pair such as category = coffee or brand = acme), shared by the promotions' eligible lines and
the alternate currencies' line rules. No I/O.

A line matches when it names one of the item codes or carries one of the attributes (either
suffices); a match naming neither matches every line.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AttributeCondition:
    name: str
    value: str


def line_matches(
    item_codes: Collection[str],
    attributes: Collection[AttributeCondition],
    item_code: str,
    line_attributes: Collection[AttributeCondition],
) -> bool:
    if not item_codes and not attributes:
        return True
    if item_code in item_codes:
        return True
    return any(condition in line_attributes for condition in attributes)


def attributes_of(stored: Sequence[Mapping[str, Any]] | None) -> tuple[AttributeCondition, ...]:
    """A line's attributes as sent or stored (name/value documents)."""
    return tuple(AttributeCondition(str(pair["name"]), str(pair["value"])) for pair in stored or [])
