"""Inputs of the CUSTOMER_PROMOTION and TRACKERS import profiles (the mutations live with the
other imports in app.graphql.imports): their template configuration, as the seed names it."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from app.graphql.organization import ExpiryStrategyEnum
from app.graphql.trackers import BillIdentificationEnum
from app.graphql.user_groups import UserGroupIdentifierType


@strawberry.enum(description="Which column of an import names the customer (the seed's unique identifier type).")
class ImportCustomerIdentifierType(Enum):
    MOBILE = "MOBILE"
    EMAIL = "EMAIL"
    EXTERNAL_ID = "EXTERNAL_ID"
    USER_ID = "USER_ID"
    CARD_NUMBER = strawberry.enum_value("CARD_NUMBER", description="The customer's CARD_NUMBER identifier.")
    CARD_EXTERNAL_ID = strawberry.enum_value("CARD_EXTERNAL_ID", description="An active loyalty card of the promotion's program.")


@strawberry.input(description="How customer promotion rows are read and where their points go.")
class CustomerPromotionImportConfigurationInput:
    promotion_name: str
    unique_identifier_type: ImportCustomerIdentifierType = ImportCustomerIdentifierType.MOBILE
    append_country_code: bool = strawberry.field(
        default=False, description="Add the org's base country code to mobiles without one (each reported as a correction).")
    stores_by_external_id: bool = strawberry.field(default=False, description="store_code holds till or store external ids.")
    replacement_store_code: str | None = strawberry.field(
        default=None, description="Replace an unknown store with this store (each reported as a correction).")
    promotion_identifier: str | None = strawberry.field(
        default=None, description="User-defined: a new one creates the promotion, an existing one awards under it (same name "
                                  "needed). Without it, the template's own identifier (new when the template changes).")
    program_code: str | None = None
    expiry_strategy: ExpiryStrategyEnum | None = None  # type: ignore[valid-type]
    expiry_value: int | None = None
    user_groups_enabled: bool = strawberry.field(default=False, description="Points go to the groups in user_group_identifier.")
    user_group_identifier_type: UserGroupIdentifierType = UserGroupIdentifierType.EXTERNAL_ID

    def to_domain(self) -> dict[str, Any]:
        return {
            "promotion_name": self.promotion_name, "unique_identifier_type": self.unique_identifier_type.value,
            "append_country_code": self.append_country_code, "stores_by_external_id": self.stores_by_external_id,
            "replacement_store_code": self.replacement_store_code, "promotion_identifier": self.promotion_identifier,
            "program_code": self.program_code,
            "expiry_strategy": self.expiry_strategy.value if self.expiry_strategy is not None else None,
            "expiry_value": self.expiry_value, "user_groups_enabled": self.user_groups_enabled,
            "user_group_identifier_type": self.user_group_identifier_type.value,
        }


@strawberry.input(description="Which tracker the rows feed, and how bills and customers are named.")
class TrackerImportConfigurationInput:
    tracker_code: str
    bill_identification: BillIdentificationEnum = BillIdentificationEnum.STANDARD_FIELDS  # type: ignore[valid-type]
    unique_identifier_type: ImportCustomerIdentifierType = strawberry.field(
        default=ImportCustomerIdentifierType.MOBILE, description="MOBILE, EMAIL, EXTERNAL_ID or USER_ID.")
    append_country_code: bool = False
    stores_by_external_id: bool = False
    replacement_store_code: str | None = None
    user_groups_enabled: bool = strawberry.field(default=False, description="Values are the groups' (bills of their members).")
    user_group_identifier_type: UserGroupIdentifierType = UserGroupIdentifierType.EXTERNAL_ID

    def to_domain(self) -> dict[str, Any]:
        return {
            "tracker_code": self.tracker_code, "bill_identification": self.bill_identification.value,
            "unique_identifier_type": self.unique_identifier_type.value, "append_country_code": self.append_country_code,
            "stores_by_external_id": self.stores_by_external_id, "replacement_store_code": self.replacement_store_code,
            "user_groups_enabled": self.user_groups_enabled, "user_group_identifier_type": self.user_group_identifier_type.value,
        }
