"""Profile CUSTOMER_PROMOTION: points awarded under a points promotion (the seed's "Customer
Promotion" import), to customers or to user groups.

Columns (header names case-insensitive, in any order):
- the customer, in the column of the template's unique identifier type: `mobile`, `email`,
  `external_id`, `user_id`, `card_number` (the customer's CARD_NUMBER identifier) or
  `card_external_id` (an ACTIVE loyalty card of the promotion's program); the other identifier
  columns may be present and are not read;
- `store_code`: the seed's "Till IUN Or Store Ext Id": a till code or a store code, or their
  external ids when stores are denoted by external ids (a till names its store);
- `points`: more than 0, no finer than the program counts;
- `user_group_identifier`: with user groups enabled, the group (by its EXTERNAL_ID or GROUP_ID,
  as configured) whose own account takes the points; the customer column is then optional, and
  a customer given must be a member of that group (NOT_A_MEMBER).

Configuration (a saved template, or given with the import): unique_identifier_type,
append_country_code, stores_by_external_id, replacement_store_code, promotion_name,
promotion_identifier (user-defined; optional), program_code, expiry_strategy + expiry_value,
user_groups_enabled, user_group_identifier_type.

The promotion: a user-defined identifier names it (created on first award with the name,
program and expiry given; an existing one awards under it and must have the same name, else the
whole import is refused with PROMOTION_NAME_MISMATCH, PROMOTION_SETTINGS_MISMATCH for another
program or expiry). Without one, the identifier is generated from the template's identity
("CP-" and 16 characters): the same while the template is unchanged, new once a changed
configuration is saved (the framework gives a changed template a new identity). An import
without a template gets one per configuration.

Each row is one CUSTOMER_PROMOTION ledger event tagged with the promotion and the import job, at
the row's store (and till): `customer_promotions.service.award_points`, one call per batch. Auto-corrections
(COUNTRY_CODE_ADDED, STORE_REPLACED) are reported per row. Duplicate rows are two awards (the
format has no row key); exactly-once holds per file and import key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customer_promotions import service as promotions_service
from app.customer_promotions.errors import PromotionNameMismatchError, PromotionSettingsMismatchError
from app.customer_promotions.models import NAME_LENGTH_MAX
from app.imports.cells import points_cell
from app.imports.errors import ImportFileError
from app.imports.holders import (
    CUSTOMER_COLUMNS,
    GROUP_COLUMN,
    CustomerIdentifierType,
    HolderColumns,
    Place,
    bool_setting,
    check_known_settings,
    configured_stores,
    enum_setting,
    memberships,
    merged_holders,
    merged_refusal,
    replacement_store,
    settings_document,
    text_setting,
)
from app.imports.models import ImportProfile
from app.imports.profiles import BatchResult, Columns, Correction, ParsedRow, Profile, ProfileRun, RowError
from app.kernel.errors import ValidationError
from app.organizations.config import OrgConfig, ProgramConfig
from app.organizations.models import ExpiryStrategy
from app.user_groups.service import GroupIdentifierType

STORE_COLUMN = "store_code"
POINTS_COLUMN = "points"


@dataclass(frozen=True)
class PromotionImportConfig:
    promotion_name: str
    unique_identifier_type: CustomerIdentifierType = CustomerIdentifierType.MOBILE
    append_country_code: bool = False
    stores_by_external_id: bool = False
    replacement_store_code: str | None = None
    promotion_identifier: str | None = None
    program_code: str | None = None
    expiry_strategy: ExpiryStrategy | None = None
    expiry_value: int | None = None
    user_groups_enabled: bool = False
    user_group_identifier_type: GroupIdentifierType = GroupIdentifierType.EXTERNAL_ID


@dataclass(frozen=True, slots=True)
class PromotionRow:
    customer: str | None  # normalized, in the configured identifier type
    group: str | None
    place: Place
    points: Decimal
    corrections: tuple[Correction, ...]


def generated_identifier(template_identity: str) -> str:
    """The promotion identifier of a template without a user-defined one: stable per identity."""
    return "CP-" + hashlib.sha256(template_identity.encode()).hexdigest()[:16].upper()


class PromotionRun(ProfileRun[PromotionRow]):
    def __init__(
        self,
        org: OrgConfig,
        config: PromotionImportConfig,
        program: ProgramConfig,
        existing: promotions_service.PromotionView | None,
    ) -> None:
        self.org = org
        self.config = config
        self.program = program  # the promotion's (an existing one keeps its own)
        self.existing = existing
        self.holders = HolderColumns(org, config)
        self.stores = configured_stores(org, config, column=STORE_COLUMN, tills_too=True)
        self._header_checked = False

    def spec(self) -> promotions_service.PromotionSpec:
        identifier = self.config.promotion_identifier or generated_identifier(self.template_identity)
        return promotions_service.check_promotion(
            self.org,
            identifier=identifier,
            name=self.config.promotion_name,
            program_code=self.config.program_code,
            expiry_strategy=self.config.expiry_strategy,
            expiry_value=self.config.expiry_value,
            path="configuration",
        )

    def parse(self, row: Mapping[str, str]) -> PromotionRow | RowError:
        if not self._header_checked:
            # The columns depend on the configuration: checked on the first row, before anything is written.
            self.holders.require(list(row))
            self._header_checked = True
        corrections: list[Correction] = []
        holder = self.holders.parse(row, corrections)
        if isinstance(holder, RowError):
            return holder
        customer, group = holder
        place = self.stores.resolve(row[STORE_COLUMN])
        if isinstance(place, RowError):
            return place
        if place[1] is not None:
            corrections.append(place[1])
        points = points_cell(
            row[POINTS_COLUMN], POINTS_COLUMN, "INVALID_POINTS", self.program.code, self.program.points_decimal_places
        )
        if isinstance(points, RowError):
            return points
        return PromotionRow(customer, group, place[0], points, tuple(corrections))

    async def _holders(
        self,
        connection: AsyncConnection,
        rows: Sequence[ParsedRow[PromotionRow]],
        *,
        lock: bool,
    ) -> tuple[list[tuple[ParsedRow[PromotionRow], int]], list[tuple[ParsedRow[PromotionRow], RowError]]]:
        """Each row's account holder (a customer, or a group's backing row), or why it has none."""
        lookup = await self.holders.find(
            connection,
            [row.value.customer for row in rows if row.value.customer is not None],
            [row.value.group for row in rows if row.value.group is not None],
            self.program.id,
        )
        # A customer named beside a group must be its member: which of the named pairs are.
        member_pairs: set[tuple[int, int]] = set()
        for row in rows:
            group = lookup.groups.get(row.value.group) if row.value.group is not None else None
            owner = lookup.customers.get(row.value.customer) if row.value.customer is not None else None
            if group is not None and isinstance(owner, int):
                member_pairs.add((group.id, owner))
        members = await memberships(connection, list(member_pairs)) if member_pairs else set()
        merged = await merged_holders(connection, lookup, lock=lock)
        accepted: list[tuple[ParsedRow[PromotionRow], int]] = []
        refused: list[tuple[ParsedRow[PromotionRow], RowError]] = []
        for row in rows:
            named = self.holders.resolve(lookup, row.value.customer, row.value.group)
            if isinstance(named, RowError):
                refused.append((row, named))
                continue
            customer_id, group = named
            if group is not None and customer_id is not None and (group.id, customer_id) not in members:
                refused.append(
                    (
                        row,
                        RowError(
                            "NOT_A_MEMBER",
                            f"customer {customer_id} is not a member of user group {group.external_id!r}",
                            self.holders.customer_column,
                        ),
                    )
                )
                continue
            holder_id, column = self.holders.holder(customer_id, group)
            refusal = merged_refusal(holder_id, merged, column)
            if refusal is not None:
                refused.append((row, refusal))
                continue
            accepted.append((row, holder_id))
        return accepted, refused

    @staticmethod
    def _result(accepted: Sequence[tuple[ParsedRow[PromotionRow], int]], refused: list[Any]) -> BatchResult:
        return BatchResult(
            imported=len(accepted),
            rejects=refused,
            points=sum((row.value.points for row, _ in accepted), Decimal(0)),
            corrections=[(row, correction) for row, _ in accepted for correction in row.value.corrections],
        )

    async def check(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[PromotionRow]], now: datetime
    ) -> BatchResult:
        spec = self.spec()
        try:
            await promotions_service.peek_promotion(connection, self.org, spec, path="configuration")
        except (PromotionNameMismatchError, PromotionSettingsMismatchError) as error:
            raise ImportFileError(error.code, error.message, field=error.field) from error
        accepted, refused = await self._holders(connection, rows, lock=False)
        return self._result(accepted, refused)

    async def apply(
        self, connection: AsyncConnection, rows: Sequence[ParsedRow[PromotionRow]], now: datetime, job_id: int
    ) -> BatchResult:
        accepted, refused = await self._holders(connection, rows, lock=True)
        if accepted:
            try:
                promotion = await promotions_service.find_or_create_promotion(
                    connection, self.org, self.spec(), now, path="configuration"
                )
            except (PromotionNameMismatchError, PromotionSettingsMismatchError) as error:
                # Another import or award took the identifier with another name since the job
                # was submitted: the whole file is refused (this batch rolls back).
                raise ImportFileError(error.code, error.message, field=error.field) from error
            await promotions_service.award_points(
                connection,
                self.org,
                promotion,
                [
                    promotions_service.PromotionAward(
                        holder_id, row.value.points, row.value.place.store_id, row.value.place.till_id
                    )
                    for row, holder_id in accepted
                ],
                now,
                import_job_id=job_id,
            )
        return self._result(accepted, refused)


class CustomerPromotionProfile(Profile[PromotionImportConfig]):
    name = ImportProfile.CUSTOMER_PROMOTION
    # Which customer column is required depends on the configuration (checked on the first row).
    columns = Columns(required=(STORE_COLUMN, POINTS_COLUMN), optional=(*CUSTOMER_COLUMNS.values(), GROUP_COLUMN))

    def configure(self, raw: Mapping[str, Any]) -> PromotionImportConfig:
        check_known_settings(raw, PromotionImportConfig)
        name = text_setting(raw, "promotion_name", "promotionName", NAME_LENGTH_MAX)
        if name is None:
            raise ValidationError("a customer promotion import names its promotion", field="promotionName")
        expiry_value = raw.get("expiry_value")
        if expiry_value is not None and (not isinstance(expiry_value, int) or isinstance(expiry_value, bool)):
            raise ValidationError("must be a whole number", field="expiryValue")
        return PromotionImportConfig(
            promotion_name=name,
            unique_identifier_type=enum_setting(
                raw,
                "unique_identifier_type",
                CustomerIdentifierType,
                CustomerIdentifierType.MOBILE,
                "uniqueIdentifierType",
            ),
            append_country_code=bool_setting(raw, "append_country_code", False, "appendCountryCode"),
            stores_by_external_id=bool_setting(raw, "stores_by_external_id", False, "storesByExternalId"),
            replacement_store_code=text_setting(raw, "replacement_store_code", "replacementStoreCode"),
            promotion_identifier=text_setting(raw, "promotion_identifier", "promotionIdentifier", 100),
            program_code=text_setting(raw, "program_code", "programCode"),
            expiry_strategy=enum_setting(raw, "expiry_strategy", ExpiryStrategy, None, "expiryStrategy"),
            expiry_value=expiry_value,
            user_groups_enabled=bool_setting(raw, "user_groups_enabled", False, "userGroupsEnabled"),
            user_group_identifier_type=enum_setting(
                raw,
                "user_group_identifier_type",
                GroupIdentifierType,
                GroupIdentifierType.EXTERNAL_ID,
                "userGroupIdentifierType",
            ),
        )

    def configuration_document(self, config: PromotionImportConfig) -> dict[str, Any]:
        return settings_document(config)

    async def start(self, connection: AsyncConnection, org: OrgConfig, config: PromotionImportConfig) -> PromotionRun:
        replacement_store(org, config.replacement_store_code)
        # Checked with a placeholder identifier when generated: name, program and expiry are what matter here.
        spec = promotions_service.check_promotion(
            org,
            identifier=config.promotion_identifier or "CP-CHECK",
            name=config.promotion_name,
            program_code=config.program_code,
            expiry_strategy=config.expiry_strategy,
            expiry_value=config.expiry_value,
            path="configuration",
        )
        existing = None
        if config.promotion_identifier is not None:
            # A user-defined identifier of an existing promotion with another name refuses the
            # whole file (or template) here, before a job exists.
            existing = await promotions_service.peek_promotion(connection, org, spec, path="configuration")
        program = org.program(existing.program_id) if existing else (spec.program or org.default_program)
        return PromotionRun(org, config, program, existing)
