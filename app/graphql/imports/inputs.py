"""Input types of bulk imports: the upload of each profile, saved templates, and each profile's
configuration, as the seed names its settings."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from app.graphql.imports.types import ImportCustomerIdentifierType, ImportErrorPolicy
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


class ConfigurationInput:
    """What every profile's configuration input does: hand its settings to the profile."""

    def to_domain(self) -> dict[str, Any]:
        return configuration_document(self)


@strawberry.input
class ImportUploadInput:
    """What every upload names: the file, its configuration (or saved template) and how it is run.
    Each profile's input narrows the configuration and describes its template; a field it
    overrides keeps its place in the schema."""

    file: Upload
    configuration: strawberry.Private[Any] = None
    template_name: strawberry.Private[str | None] = None
    error_policy: ImportErrorPolicy = ImportErrorPolicy.KEEP_VALID
    dry_run: bool = strawberry.field(default=False, description="Validate the whole file and report; import nothing.")
    import_key: str | None = strawberry.field(default=None, description="The same key again returns the same job.")


@strawberry.input
class ProgramConfigurationInput(ConfigurationInput):
    """The program a points file's rows are in (one file per program)."""

    program_code: str


@strawberry.input
class RegisteringConfigurationInput(ProgramConfigurationInput):
    """A points file that may name customers not registered yet."""

    register_unknown_customers: bool = strawberry.field(
        default=True,
        description=(
            "An unknown customerprofileid registers a customer with that EXTERNAL_ID (else CUSTOMER_NOT_FOUND)."
        ),
    )


@strawberry.input(description="Where Talon.One points go, and what to do with unknown names.")
class PointsImportConfigurationInput(RegisteringConfigurationInput):
    create_missing_subledgers: bool = strawberry.field(
        default=True, description="An unknown subledgerid creates the program's subledger (else SUBLEDGER_NOT_FOUND)."
    )


@strawberry.input(description="How customer promotion rows are read and where their points go.")
class CustomerPromotionImportConfigurationInput(ConfigurationInput):
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
    expiry_strategy: ExpiryStrategyEnum | None = None
    expiry_value: int | None = None
    user_groups_enabled: bool = strawberry.field(
        default=False, description="Points go to the groups in user_group_identifier."
    )
    user_group_identifier_type: UserGroupIdentifierType = UserGroupIdentifierType.EXTERNAL_ID


@strawberry.input(description="Which tracker the rows feed, and how bills and customers are named.")
class TrackerImportConfigurationInput(ConfigurationInput):
    tracker_code: str
    bill_identification: BillIdentificationEnum = BillIdentificationEnum.STANDARD_FIELDS
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


@strawberry.input(
    description="A Talon.One loyalty points file (customerprofileid or identifier, amount, startdate, "
    "expirydate, subledgerid, reason)."
)
class ImportPointsInput(ImportUploadInput):
    configuration: PointsImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved TALON_ONE_POINTS template.")


@strawberry.input(
    description="A customer promotion file: the customer column (mobile, email, external_id, user_id, "
    "card_number or card_external_id), store_code, points, user_group_identifier."
)
class ImportCustomerPromotionInput(ImportUploadInput):
    configuration: CustomerPromotionImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved CUSTOMER_PROMOTION template.")


@strawberry.input(
    description="A trackers file: the customer column (or user_group_identifier), bill_number + "
    "transaction_date + store_code or loyalty_log_id, item_id, tracked_value."
)
class ImportTrackerValuesInput(ImportUploadInput):
    configuration: TrackerImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved TRACKERS template.")


@strawberry.input(description="The program a POINTS_DEBITS file's redemptions and expiries are in.")
class PointsDebitsImportConfigurationInput(ProgramConfigurationInput):
    pass


@strawberry.input(description="The program an OPENING_BALANCES file opens, and what to do with unknown customers.")
class OpeningBalancesImportConfigurationInput(RegisteringConfigurationInput):
    pass


@strawberry.input(
    description="A POINTS_DEBITS file of historic redemptions and expiries: customerprofileid or identifier, type "
    "(REDEMPTION or EXPIRY), amount, date, reason."
)
class ImportPointsDebitsInput(ImportUploadInput):
    configuration: PointsDebitsImportConfigurationInput


@strawberry.input(
    description="An OPENING_BALANCES file (seed 003's PointsLedgerBulkJob): customerprofileid or identifier, "
    "category, balance, asof, expirydate."
)
class ImportOpeningBalancesInput(ImportUploadInput):
    configuration: OpeningBalancesImportConfigurationInput


@strawberry.input(description="Give the configuration of exactly one profile.")
class SaveImportTemplateInput:
    name: str
    points: PointsImportConfigurationInput | None = strawberry.field(
        default=None, description="The TALON_ONE_POINTS configuration."
    )
    customer_promotion: CustomerPromotionImportConfigurationInput | None = strawberry.field(
        default=None, description="The CUSTOMER_PROMOTION configuration."
    )
    tracker: TrackerImportConfigurationInput | None = strawberry.field(
        default=None, description="The TRACKERS configuration."
    )
    interactions: InteractionImportConfigurationInput | None = strawberry.field(
        default=None, description="The INTERACTIONS configuration."
    )
    behavioural_events: InteractionImportConfigurationInput | None = strawberry.field(
        default=None, description="The BEHAVIOURAL_EVENTS configuration."
    )


@strawberry.input
class IdentifierTypeConfigurationInput(ConfigurationInput):
    """A configuration that names the column the rows name their customers by."""

    unique_identifier_type: ImportCustomerIdentifierType = strawberry.field(
        default=ImportCustomerIdentifierType.MOBILE, description="MOBILE, EMAIL, EXTERNAL_ID or USER_ID."
    )


@strawberry.input(description="How the rows of an interactions or behavioural events file name their customers.")
class InteractionImportConfigurationInput(IdentifierTypeConfigurationInput):
    pass


@strawberry.input(description="How the rows of a LEADS or SEGMENT_MEMBERS file name their customer.")
class CustomerImportConfigurationInput(IdentifierTypeConfigurationInput):
    append_country_code: bool = strawberry.field(
        default=False,
        description="Add the org's base country code to mobiles without one (each reported as a correction).",
    )


@strawberry.input(
    description="A leads file: the customer column, lead_type, lead_for, status, sub_status, created_at, "
    "last_follow_up_at, next_follow_up_at, extended_fields (a JSON object)."
)
class ImportLeadsInput(ImportUploadInput):
    configuration: CustomerImportConfigurationInput


@strawberry.input(
    description="An interactions file: the customer column, message_id, channel, direction, status, status_at, "
    "account, template, subject, body_preview, sent_at, delivered_at."
)
class ImportInteractionsInput(ImportUploadInput):
    configuration: InteractionImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved INTERACTIONS template.")


@strawberry.input(description="A segment members file: the customer column, segment_code, action (ADD or REMOVE).")
class ImportSegmentMembersInput(ImportUploadInput):
    configuration: CustomerImportConfigurationInput


@strawberry.input(
    description="A behavioural events file: the customer column, tracking_id, event_name, occurred_at, source, "
    "account_id, till_code, attributes (a JSON object)."
)
class ImportBehaviouralEventsInput(ImportUploadInput):
    configuration: InteractionImportConfigurationInput | None = strawberry.field(
        default=None, description="When no template is named."
    )
    template_name: str | None = strawberry.field(default=None, description="A saved BEHAVIOURAL_EVENTS template.")
