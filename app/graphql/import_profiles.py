"""Inputs of the CUSTOMER_PROMOTION and TRACKERS import profiles (the mutations live with the
other imports in app.graphql.imports): their template configuration, as the seed names it."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import strawberry

from app.graphql.organization.types import ExpiryStrategyEnum
from app.graphql.trackers.types import BillIdentificationEnum
from app.graphql.user_groups.types import UserGroupIdentifierType


def configuration_document(configuration: Any) -> dict[str, Any]:
    """A configuration input as the import profiles read it: each field under its Python name
    (the profiles' setting names), enums by their value."""
    document = {}
    for field in dataclasses.fields(configuration):
        value = getattr(configuration, field.name)
        document[field.name] = value.value if isinstance(value, Enum) else value
    return document


@strawberry.enum(description="Which column of an import names the customer (the seed's unique identifier type).")
class ImportCustomerIdentifierType(Enum):
    MOBILE = "MOBILE"
    EMAIL = "EMAIL"
    EXTERNAL_ID = "EXTERNAL_ID"
    USER_ID = "USER_ID"
    CARD_NUMBER = strawberry.enum_value("CARD_NUMBER", description="The customer's CARD_NUMBER identifier.")
    CARD_EXTERNAL_ID = strawberry.enum_value(
        "CARD_EXTERNAL_ID", description="An active loyalty card of the promotion's program."
    )


@strawberry.input(description="How customer promotion rows are read and where their points go.")
class CustomerPromotionImportConfigurationInput:
    promotion_name: str
    unique_identifier_type: ImportCustomerIdentifierType = ImportCustomerIdentifierType.MOBILE
    append_country_code: bool = strawberry.field(
        default=False,
        description="Add the org's base country code to mobiles without one (each reported as a correction).",
    )
    stores_by_external_id: bool = strawberry.field(
        default=False, description="store_code holds till or store external ids."
    )
    replacement_store_code: str | None = strawberry.field(
        default=None, description="Replace an unknown store with this store (each reported as a correction)."
    )
    promotion_identifier: str | None = strawberry.field(
        default=None,
        description="User-defined: a new one creates the promotion, an existing one awards under it (same name "
        "needed). Without it, the template's own identifier (new when the template changes).",
    )
    program_code: str | None = None
    expiry_strategy: ExpiryStrategyEnum | None = None  # type: ignore[valid-type]
    expiry_value: int | None = None
    user_groups_enabled: bool = strawberry.field(
        default=False, description="Points go to the groups in user_group_identifier."
    )
    user_group_identifier_type: UserGroupIdentifierType = UserGroupIdentifierType.EXTERNAL_ID

    def to_domain(self) -> dict[str, Any]:
        return configuration_document(self)


@strawberry.input(description="Which tracker the rows feed, and how bills and customers are named.")
class TrackerImportConfigurationInput:
    tracker_code: str
    bill_identification: BillIdentificationEnum = BillIdentificationEnum.STANDARD_FIELDS  # type: ignore[valid-type]
    unique_identifier_type: ImportCustomerIdentifierType = strawberry.field(
        default=ImportCustomerIdentifierType.MOBILE, description="MOBILE, EMAIL, EXTERNAL_ID or USER_ID."
    )
    append_country_code: bool = False
    stores_by_external_id: bool = False
    replacement_store_code: str | None = None
    user_groups_enabled: bool = strawberry.field(
        default=False, description="Values are the groups' (bills of their members)."
    )
    user_group_identifier_type: UserGroupIdentifierType = UserGroupIdentifierType.EXTERNAL_ID

    def to_domain(self) -> dict[str, Any]:
        return configuration_document(self)
