"""The points ledger of a customer: entry pages and the closing balance of a view."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from app.customer_promotions.service import PromotionView, promotions_by_id
from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, PageInfo, check_page_size, decode_id_cursor, encode_id_cursor
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.organization.types import PointsCategoryEnum
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import PointsCategory, TransactionSource
from app.kernel.errors import ValidationError
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType, EventType
from app.organizations.config import OrgConfig

EntryTypeEnum = strawberry.enum(EntryType, name="EntryType")
EventTypeEnum = strawberry.enum(EventType, name="LedgerEventType")
EntryKindEnum = strawberry.enum(EntryKind, name="LedgerEntryKind")


@strawberry.input(
    description="A view of the ledger. With no dates, the last 7 days (entries only; see ledgerClosingBalance)."
)
class LedgerFilterInput:
    event_sources: list[TransactionSourceEnum] | None = None
    till_codes: list[str] | None = None
    start_date: datetime | None = strawberry.field(default=None, description="Inclusive.")
    end_date: datetime | None = strawberry.field(default=None, description="Exclusive.")
    entry_type: EntryTypeEnum | None = None
    points_categories: list[PointsCategoryEnum] | None = None
    program_codes: list[str] | None = None
    include_till_concept_events: bool | None = strawberry.field(
        default=None,
        description=(
            "With programCodes: also the group redemptions made at the tills of those programs' concepts, "
            "including their entries in the concept's other programs. Without programCodes everything shows anyway."
        ),
    )

    def to_domain(self, org: OrgConfig) -> ledger.LedgerFilter:
        till_ids = []
        for index, code in enumerate(self.till_codes or []):
            till = org.till_by_code(code)
            if till is None:
                raise ValidationError(f"no till with code {code!r}", field=f"filter.tillCodes[{index}]")
            till_ids.append(till.id)
        program_ids = []
        for index, code in enumerate(self.program_codes or []):
            program = org.program_by_code(code)
            if program is None:
                raise ValidationError(f"no program with code {code!r}", field=f"filter.programCodes[{index}]")
            program_ids.append(program.id)
        concept_till_ids: tuple[int, ...] = ()
        if self.include_till_concept_events:
            concepts = {org.program(program_id).concept_code for program_id in program_ids} - {None}
            concept_till_ids = tuple(till.id for till in org.tills if till.concept_code in concepts)
        start, end = (
            _utc(value, f"filter.{name}")
            for name, value in (("startDate", self.start_date), ("endDate", self.end_date))
        )
        return ledger.LedgerFilter(
            sources=tuple(TransactionSource(source).value for source in self.event_sources or []),
            till_ids=tuple(till_ids),
            start=start,
            end=end,
            entry_type=EntryType(self.entry_type) if self.entry_type else None,
            categories=tuple(PointsCategory(category) for category in self.points_categories or []),
            program_ids=tuple(program_ids),
            concept_till_ids=concept_till_ids,
        )


def _utc(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError("must include a time zone offset", field=field)
    try:
        return value.astimezone(UTC)
    except OverflowError as error:  # e.g. 9999-12-31T23:59:59-05:00
        raise ValidationError("is out of range", field=field) from error


@strawberry.type
class LedgerEntry:
    id: strawberry.ID
    event_log_id: strawberry.ID
    event_type: EventTypeEnum
    entry_kind: EntryKindEnum
    entry_type: EntryTypeEnum
    created_at: datetime
    program_code: str
    points_category: PointsCategoryEnum
    points: Decimal
    points_on_event: Decimal = strawberry.field(description="The net of all the event's credits and debits.")
    balance_after: Decimal = strawberry.field(description="The account's balance after this entry.")
    event_source: str | None
    store_code: str | None
    till_code: str | None
    transaction_id: strawberry.ID | None = strawberry.field(description="On TRANSACTION_ADD events.")
    transaction_number: str | None
    customer_promotion: LedgerEntryPromotion | None = strawberry.field(
        default=None, description="On CUSTOMER_PROMOTION events: the points promotion that awarded the points."
    )
    tracker_value_id: strawberry.ID | None = strawberry.field(
        default=None, description="On TRACKER_POINTS events: the tracked value the points were issued on."
    )


@strawberry.type(description="The points promotion of a CUSTOMER_PROMOTION entry.")
class LedgerEntryPromotion:
    identifier: str
    name: str


@strawberry.type
class LedgerEntryPage:
    customer_id: strawberry.ID
    entries: list[LedgerEntry]
    page_info: PageInfo


@strawberry.type
class LedgerClosingBalance:
    customer_id: strawberry.ID
    balance: Decimal
    as_of_entry_id: strawberry.ID | None = strawberry.field(
        description="The view's last entry; empty for an empty view."
    )


LedgerEntriesResult = Annotated[
    LedgerEntryPage | NotFoundError | InvalidInputError, strawberry.union("LedgerEntriesResult")
]
LedgerClosingBalanceResult = Annotated[
    LedgerClosingBalance | NotFoundError | InvalidInputError, strawberry.union("LedgerClosingBalanceResult")
]


def _entry(
    org: OrgConfig, view: ledger.LedgerEntryView, promotions: dict[int, PromotionView] | None = None
) -> LedgerEntry:
    promotion = (promotions or {}).get(view.customer_promotion_id) if view.customer_promotion_id else None
    return LedgerEntry(
        id=strawberry.ID(str(view.id)),
        event_log_id=strawberry.ID(str(view.event_id)),
        event_type=EventType(view.event_type),
        entry_kind=EntryKind(view.entry_kind),
        entry_type=EntryType(view.entry_type),
        created_at=view.created_at,
        program_code=org.program(view.program_id).code,
        points_category=PointsCategory(view.category),
        points=view.points,
        points_on_event=view.points_on_event,
        balance_after=view.balance_after,
        event_source=view.source,
        store_code=org.store(view.store_id).code if view.store_id else None,
        till_code=org.till(view.till_id).code if view.till_id else None,
        transaction_id=strawberry.ID(str(view.transaction_id)) if view.transaction_id else None,
        transaction_number=view.transaction_number,
        customer_promotion=LedgerEntryPromotion(identifier=promotion.identifier, name=promotion.name)
        if promotion
        else None,
        tracker_value_id=strawberry.ID(str(view.tracker_value_id)) if view.tracker_value_id else None,
    )


@strawberry.type
class LedgerQuery:
    @strawberry.field(
        description="A customer's ledger entries, newest first, with keyset pagination (at most 100 a page)."
    )
    async def ledger_entries(
        self,
        info: Info,
        customer: CustomerLookupInput,
        filter: LedgerFilterInput | None = None,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> LedgerEntriesResult:
        org = info.context.org
        check_page_size(first)
        after_id = decode_id_cursor("ledger", after)
        view = (filter.to_domain(org) if filter else ledger.LedgerFilter()).with_default_window(info.context.now)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            page = await ledger.ledger_page(
                connection, org_id=org.id, customer_id=customer_id, view=view, first=first, after_id=after_id
            )
            promotions = await promotions_by_id(
                connection, [entry.customer_promotion_id for entry in page.entries if entry.customer_promotion_id]
            )
        return LedgerEntryPage(
            customer_id=strawberry.ID(str(customer_id)),
            entries=[_entry(org, entry, promotions) for entry in page.entries],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=encode_id_cursor("ledger", page.entries[-1].id) if page.entries else None,
            ),
        )

    @strawberry.field(description="The balance as of the last entry of a view; with no filter, the current balance.")
    async def ledger_closing_balance(
        self,
        info: Info,
        customer: CustomerLookupInput,
        filter: LedgerFilterInput | None = None,
    ) -> LedgerClosingBalanceResult:
        org = info.context.org
        view = filter.to_domain(org) if filter else ledger.LedgerFilter()
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            balance, last_entry_id = await ledger.closing_balance(
                connection, org_id=org.id, customer_id=customer_id, view=view
            )
        return LedgerClosingBalance(
            customer_id=strawberry.ID(str(customer_id)),
            balance=balance,
            as_of_entry_id=strawberry.ID(str(last_entry_id)) if last_entry_id else None,
        )
