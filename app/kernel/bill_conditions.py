"""Conditions on what a bill says beside its amount and lines (seed 001's extended_fields,
custom_fields and payment_details), shared by the programs' earning rules and the promotions.
No I/O.

A condition names a declared extended or custom field and a value (the bill carries that field
with exactly that value, as stored: a NUMBER field's exact text, a BOOLEAN's "true"/"false"), or
a payment mode (one of the bill's payment details is of that mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BillConditionKind(StrEnum):
    EXTENDED_FIELD = "EXTENDED_FIELD"
    CUSTOM_FIELD = "CUSTOM_FIELD"
    PAYMENT_MODE = "PAYMENT_MODE"


@dataclass(frozen=True, slots=True)
class BillCondition:
    kind: BillConditionKind
    name: str  # the field's name, or the payment mode's code
    value: str | None = None  # the field's value; None for a payment mode

    def to_document(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "name": self.name, "value": self.value}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> BillCondition:
        return cls(BillConditionKind(document["kind"]), document["name"], document["value"])


@dataclass(frozen=True, slots=True)
class BillFacts:
    """What conditions are checked against: a bill's fields by name and its payment modes."""

    extended_fields: Mapping[str, str] = field(default_factory=dict)
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    payment_modes: frozenset[str] = frozenset()

    @classmethod
    def of_documents(
        cls,
        extended_fields: Sequence[Mapping[str, Any]] | None,
        custom_fields: Sequence[Mapping[str, Any]] | None,
        payment_details: Sequence[Mapping[str, Any]] | None,
    ) -> BillFacts:
        return cls(
            extended_fields={str(pair["name"]): str(pair["value"]) for pair in extended_fields or ()},
            custom_fields={str(pair["name"]): str(pair["value"]) for pair in custom_fields or ()},
            payment_modes=frozenset(str(payment["mode"]) for payment in payment_details or ()),
        )


def holds(condition: BillCondition, facts: BillFacts) -> bool:
    if condition.kind is BillConditionKind.PAYMENT_MODE:
        return condition.name in facts.payment_modes
    values = facts.extended_fields if condition.kind is BillConditionKind.EXTENDED_FIELD else facts.custom_fields
    return values.get(condition.name) == condition.value


def all_hold(conditions: Sequence[BillCondition], facts: BillFacts) -> bool:
    return all(holds(condition, facts) for condition in conditions)
