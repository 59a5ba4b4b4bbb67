"""Output types of customers: the read model with points summaries per program, what expires when,
the member-care history of a profile, and the result of a merge."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry
from strawberry.scalars import JSON

from app.customers.history import HistoryRecord
from app.customers.models import HistoryAction, LoyaltyType
from app.customers.service import CustomerView, ProgramSummary
from app.graphql.cards.types import LoyaltyCard
from app.graphql.core.context import Info
from app.graphql.core.errors import InvalidInputError, NotFoundError
from app.graphql.core.pagination import (
    PAGE_SIZE_DEFAULT,
    PageInfo,
    check_page_size,
    decode_id_cursor,
    page_info_after,
)
from app.graphql.organization.types import IdentifierTypeEnum, PointsCategoryEnum
from app.kernel.enums import IdentifierType, PointsCategory
from app.kernel.times import local_day
from app.ledger.expiry import ProgramHoldings
from app.referrals import service as referrals
from app.transactions.models import TransactionType

if TYPE_CHECKING:
    # A bill names its customer, so transactions/types.py imports this module. The way back (a
    # customer's bills) is the one lazy reference: resolved when the schema is built, and imported
    # inside Customer.transactions when it runs.
    from app.graphql.transactions.types import Transaction


strawberry.enum(LoyaltyType, name="LoyaltyType")  # registers the domain enum itself: the class is the schema's enum
LoyaltyTypeEnum: TypeAlias = LoyaltyType
ZERO = Decimal(0)


@strawberry.enum(description="How a customer is looked up: any identifier, or the user id.")
class CustomerLookupType(Enum):
    MOBILE = "MOBILE"
    EMAIL = "EMAIL"
    EXTERNAL_ID = "EXTERNAL_ID"
    CARD_NUMBER = "CARD_NUMBER"
    USER_ID = "USER_ID"


@strawberry.type
class CustomerIdentifier:
    type: IdentifierTypeEnum
    value: str


@strawberry.type(
    description=(
        "A customer's standing in one loyalty program (the seed's points_summary), true at the request's time: "
        "computed from the lots, so points past their expiry never count as held whether or not the expiry run has "
        "debited them yet, and points not started yet count as pending only. The ledger's closing balance of the "
        "program's REGULAR account is loyaltyPoints plus its points not started yet plus its points past their "
        "expiry that the run has not debited yet."
    )
)
class PointsSummary:
    program_id: strawberry.ID
    program_code: str
    redeemed: Decimal = strawberry.field(description="Points redeemed, less redemptions reversed.")
    expired: Decimal = strawberry.field(
        description=(
            "Points expired, every account: those the expiry run debited, and those past their expiry it has not "
            "debited yet."
        )
    )
    returned: Decimal = strawberry.field(description="Points taken back by returns.")
    adjusted: Decimal = strawberry.field(description="Manual adjustments: credits less debits.")
    lifetime_points: Decimal = strawberry.field(description="Points earned to date, every account of the program.")
    loyalty_points: Decimal = strawberry.field(
        description=(
            "REGULAR points held now: the REGULAR balance less points not started yet (pendingPoints) and points past "
            "their expiry (counted in expired). Equals spendablePoints, except that it is negative while a return "
            "has left a debt (allow_negative_balance) that later earnings pay first."
        )
    )
    cumulative_purchases: Decimal
    current_slab: str
    slab_s_no: int = strawberry.field(name="slabSNo")
    slab_expiry_date: datetime | None = strawberry.field(description="Empty when the tier does not expire.")
    next_slab: str | None
    next_slab_serial_number: int | None
    next_slab_description: str | None
    customer_id: strawberry.Private[int]

    @classmethod
    def from_summary(cls, summary: ProgramSummary, customer_id: int) -> PointsSummary:
        next_slab = summary.next_slab
        return cls(
            customer_id=customer_id,
            program_id=strawberry.ID(str(summary.program.id)),
            program_code=summary.program.code,
            redeemed=summary.redeemed,
            expired=summary.expired,
            returned=summary.returned,
            adjusted=summary.adjusted,
            lifetime_points=summary.lifetime_points,
            loyalty_points=summary.loyalty_points,
            cumulative_purchases=summary.cumulative_purchases,
            current_slab=summary.current_slab.name,
            slab_s_no=summary.current_slab.serial_number,
            slab_expiry_date=summary.slab_expiry_date,
            next_slab=next_slab.name if next_slab else None,
            next_slab_serial_number=next_slab.serial_number if next_slab else None,
            next_slab_description=(next_slab.description or next_slab.name) if next_slab else None,
        )

    async def _holdings(self, info: Info) -> ProgramHoldings:
        # One query for every summary of every customer in the response (a DataLoader).
        found = (await info.context.holdings.load(self.customer_id)).get(int(self.program_id))
        return found or ProgramHoldings(pending=ZERO, promised=ZERO, trigger_based=ZERO, spendable=ZERO)

    @strawberry.field(
        description=(
            "Points not held yet: in lots whose start date is still to come and not past their expiry (promised points "
            "in their hold, points imported with a later start date), whichever account holds them; not in "
            "loyaltyPoints."
        )
    )
    async def pending_points(self, info: Info) -> Decimal:
        return (await self._holdings(info)).pending

    @strawberry.field(
        description=(
            "The PROMISED account's points not past their expiry: held (e.g. for a return window) until the conversion "
            "run moves them into REGULAR."
        )
    )
    async def promised_points(self, info: Info) -> Decimal:
        return (await self._holdings(info)).promised

    @strawberry.field(
        description="The TRIGGER_BASED account's points not past their expiry: held until a trigger converts them."
    )
    async def trigger_based_points(self, info: Info) -> Decimal:
        return (await self._holdings(info)).trigger_based

    @strawberry.field(
        description=(
            "What a redemption can take now: REGULAR points in lots that have started and are not past their expiry "
            "date. Equals loyaltyPoints, except 0 where loyaltyPoints is negative (a debt)."
        )
    )
    async def spendable_points(self, info: Info) -> Decimal:
        return (await self._holdings(info)).spendable

    @strawberry.field(
        description=(
            "The program's points by subledger, in the order the subledgers were created; a subledger with no points "
            "held (spent, expired) is absent. Points credited without a subledger are in no entry here."
        )
    )
    async def subledgers(self, info: Info) -> list[SubledgerBalance]:
        # One query (and one for the codes) for every summary of every customer in the response.
        found = (await info.context.subledgers.load(self.customer_id)).get(int(self.program_id), [])
        return [
            SubledgerBalance(
                subledger_code=code,
                points=holdings.pending + holdings.spendable,
                pending_points=holdings.pending,
                spendable_points=holdings.spendable,
            )
            for code, holdings in found
        ]

    @strawberry.field(
        description=(
            "The customer's balances in the program's alternate currencies, in identifier order; a currency the "
            "customer never earned is absent."
        )
    )
    async def alternate_currencies(self, info: Info) -> list[AlternateCurrencyBalance]:
        # One query for every summary of every customer in the response (a DataLoader).
        return [
            AlternateCurrencyBalance(
                identifier=balance.identifier,
                name=balance.name,
                value=balance.spendable + balance.pending,
                earned_value=balance.earned,
                redeemed_value=balance.redeemed,
                returned_value=balance.returned,
                expired_value=balance.expired,
            )
            for balance in await info.context.alternate_currencies.load(self.customer_id)
            if balance.program_id == int(self.program_id)
        ]


@strawberry.type(
    description=(
        "A customer's balance in one alternate currency of a program (seed 001's alternate_currency): a ledger account "
        "of its own, earned by bills, taken back by returns, spent by redeemAlternateCurrency."
    )
)
class AlternateCurrencyBalance:
    identifier: str
    name: str
    value: Decimal = strawberry.field(
        description="Held now: the units in lots not past their expiry date, whether or not the expiry run has run."
    )
    earned_value: Decimal = strawberry.field(description="Lifetime units earned.")
    redeemed_value: Decimal
    returned_value: Decimal = strawberry.field(description="Taken back by returns.")
    expired_value: Decimal


@strawberry.type(
    description=(
        "What one subledger of a program holds for the customer (the subledgerid of an import): the points left in "
        "the lots credited to it. Debits draw on lots first-expiring first, whatever their subledger."
    )
)
class SubledgerBalance:
    subledger_code: str
    points: Decimal = strawberry.field(
        description="Held now: pending plus spendable (points past their expiry date are not held)."
    )
    pending_points: Decimal = strawberry.field(description="In lots whose start date is still to come.")
    spendable_points: Decimal = strawberry.field(description="In lots that have started and are not past their expiry.")


@strawberry.type(description="Points that expire on one date (in the organisation's time zone) in one program.")
class ScheduledExpiry:
    expires_on: date
    program_code: str
    points: Decimal


@strawberry.type(
    description="A Points Expiry entry: what one run of the expiry took from one of the customer's accounts."
)
class ExpiredPoints:
    event_log_id: strawberry.ID
    expired_on: date = strawberry.field(description="The day the expiry ran, in the organisation's time zone.")
    expired_at: datetime = strawberry.field(description="When the expiry ran (the ledger time of the entry).")
    program_code: str
    points_category: PointsCategoryEnum
    points: Decimal


@strawberry.type
class ExpiredPointsConnection:
    nodes: list[ExpiredPoints]
    page_info: PageInfo


@strawberry.type(description="A customer who registered with another's referral code.")
class Referee:
    customer: Customer
    referred_at: datetime = strawberry.field(description="When the referee registered with the code.")


@strawberry.type
class RefereeConnection:
    nodes: list[Referee]
    page_info: PageInfo


@strawberry.type
class TransactionConnection:
    nodes: list[Annotated[Transaction, strawberry.lazy("app.graphql.transactions.types")]]
    page_info: PageInfo


@strawberry.type
class Customer:
    user_id: strawberry.ID
    firstname: str
    lastname: str
    mobile: str | None
    email: str | None
    external_id: str | None
    card_number: str | None
    identifiers: list[CustomerIdentifier]
    type: LoyaltyTypeEnum
    source: str
    registered_on: datetime
    updated_on: datetime
    lifetime_points: Decimal = strawberry.field(description="Points earned to date, all programs.")
    loyalty_points: Decimal = strawberry.field(
        description="REGULAR points held now, all programs: the sum of the summaries' loyaltyPoints."
    )
    lifetime_purchases: Decimal
    current_slab: str = strawberry.field(description="The slab in the default program.")
    tier_expiry_date: datetime | None = strawberry.field(
        description=(
            "When the default program's slab expires (its slabExpiryDate): the end of the day, in the organisation's "
            "time zone, tier_validity_months after the upgrade; empty when the tier does not expire."
        )
    )
    points_summaries: list[PointsSummary]
    merged_into_user_id: strawberry.ID | None = strawberry.field(
        description="Set when this customer was merged into another: its identifiers and points moved there."
    )
    extended_fields: JSON = strawberry.field(
        description=(
            "Values of the customer fields the organisation declares, by name (NUMBER values as exact text, DATE as "
            "YYYY-MM-DD); {} when none."
        )
    )

    @classmethod
    def from_view(cls, view: CustomerView) -> Customer:
        main = view.main_summary
        return cls(
            user_id=strawberry.ID(str(view.id)),
            firstname=view.first_name,
            lastname=view.last_name,
            mobile=view.identifier(IdentifierType.MOBILE),
            email=view.identifier(IdentifierType.EMAIL),
            external_id=view.identifier(IdentifierType.EXTERNAL_ID),
            card_number=view.identifier(IdentifierType.CARD_NUMBER),
            identifiers=[
                CustomerIdentifier(type=IdentifierType(kind), value=value) for kind, value in view.identifiers
            ],
            type=LoyaltyType(view.loyalty_type),
            source=view.source,
            registered_on=view.registered_on,
            updated_on=view.updated_on,
            lifetime_points=view.lifetime_points,
            loyalty_points=view.loyalty_points,
            lifetime_purchases=view.lifetime_purchases,
            current_slab=main.current_slab.name,
            tier_expiry_date=main.slab_expiry_date,
            points_summaries=[PointsSummary.from_summary(summary, view.id) for summary in view.summaries],
            merged_into_user_id=strawberry.ID(str(view.merged_into_customer_id))
            if view.merged_into_customer_id
            else None,
            extended_fields=JSON(view.extended_fields),
        )

    @strawberry.field(
        description=(
            "The customer's own referral code, to give to the customers they refer (given at registration, never "
            "changed; a customer imported in bulk or registered before referrals existed gets theirs when first "
            "asked). One query for every customer of a list (and one write for those getting theirs)."
        )
    )
    async def referral_code(self, info: Info) -> str | None:
        referral = await info.context.referrals.load(int(self.user_id))
        return referral.code if referral else None

    @strawberry.field(description="The customer whose referral code this customer registered with; empty if none.")
    async def referrer(self, info: Info) -> Customer | None:
        referral = await info.context.referrals.load(int(self.user_id))
        if referral is None or referral.referrer_id is None:
            return None
        view = await info.context.customers.load(referral.referrer_id)
        return Customer.from_view(view) if view else None

    @strawberry.field(
        description="The customers who registered with this customer's referral code, in the order they registered."
    )
    async def referees(self, info: Info, first: int = PAGE_SIZE_DEFAULT, after: str | None = None) -> RefereeConnection:
        check_page_size(first)
        after_id = decode_id_cursor("referee", after)
        async with info.context.database.read() as connection:
            page = await referrals.referees(
                connection, info.context.org.id, int(self.user_id), first=first, after_id=after_id
            )
        views = await info.context.customers.load_many([referee.customer_id for referee in page.referees])
        return RefereeConnection(
            nodes=[
                Referee(customer=Customer.from_view(view), referred_at=referee.referred_at)
                for referee, view in zip(page.referees, views, strict=True)
                if view is not None
            ],
            page_info=page_info_after(
                "referee", [referee.customer_id for referee in page.referees[-1:]], page.has_next_page
            ),
        )

    @strawberry.field(description="The customer's loyalty cards in the order they were issued, replaced ones too.")
    async def cards(self, info: Info) -> list[LoyaltyCard]:
        # One query for every customer in the response (a DataLoader).
        return [
            LoyaltyCard.from_view(card, info.context.org) for card in await info.context.cards.load(int(self.user_id))
        ]

    @strawberry.field(
        description=(
            "The customer's bills, newest first; `types` narrows to those types (the seed's Returns sub-tab: RETURN, "
            "NOT_INTERESTED_RETURN and MIXED). One query for every customer of a list (a DataLoader)."
        )
    )
    async def transactions(
        self,
        info: Info,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
        types: list[TransactionType] | None = None,
    ) -> TransactionConnection:
        from app.graphql.transactions.types import Transaction  # lazy: that module imports this one

        check_page_size(first)
        after_id = decode_id_cursor("transaction", after)
        wanted = tuple(sorted(set(types or ())))  # one loader key (and query) for the same filter in any order
        page = await info.context.transactions.load((int(self.user_id), first, after_id, wanted))
        views = page.views
        return TransactionConnection(
            nodes=[Transaction.from_view(view, info.context.org) for view in views],
            page_info=page_info_after("transaction", [row.id for row in views[-1:]], page.has_next_page),
        )

    @strawberry.field(
        description=(
            "Upcoming expiries: points in lots with points left, by the date they expire on (in the organisation's "
            "time zone) and program, soonest first; at most `first` (up to 100) dates and programs."
        )
    )
    async def expiry_schedule(self, info: Info, first: int = PAGE_SIZE_DEFAULT) -> list[ScheduledExpiry]:
        check_page_size(first)
        org = info.context.org
        return [
            ScheduledExpiry(expires_on=item.date, program_code=org.program(item.program_id).code, points=item.points)
            for item in await info.context.expiry_schedules.load((int(self.user_id), first))
        ]

    @strawberry.field(
        description="Points the expiry run expired, newest first, with keyset pagination (at most 100 a page)."
    )
    async def expired_points(
        self, info: Info, first: int = PAGE_SIZE_DEFAULT, after: str | None = None
    ) -> ExpiredPointsConnection:
        check_page_size(first)
        org = info.context.org
        page = await info.context.expired_points.load((int(self.user_id), first, decode_id_cursor("expired", after)))
        return ExpiredPointsConnection(
            nodes=[
                ExpiredPoints(
                    event_log_id=strawberry.ID(str(item.event_id)),
                    expired_on=local_day(item.expired_at, org.time_zone),
                    expired_at=item.expired_at,
                    program_code=org.program(item.program_id).code,
                    points_category=PointsCategory(item.category),
                    points=item.points,
                )
                for item in page.items
            ],
            page_info=page_info_after("expired", [row.entry_id for row in page.items[-1:]], page.has_next_page),
        )


CustomerResult = Annotated[Customer | NotFoundError | InvalidInputError, strawberry.union("CustomerResult")]
strawberry.enum(
    HistoryAction,
    name="CustomerHistoryAction",
    description=(
        "REGISTERED, DETAILS_UPDATED, IDENTIFIER_ADDED (the seed's Add), IDENTIFIER_REMOVED (the seed's Remove), "
        "COMBINE (another customer's identifiers and "
        "points moved here), MERGED_INTO (this customer was merged into another), SECONDARY_IDENTIFIER_SKIPPED."
    ),
)  # registers the domain enum itself: the class is the schema's enum
HistoryActionEnum: TypeAlias = HistoryAction


@strawberry.type(description="One change to a customer's profile or identifiers.")
class CustomerHistoryRecord:
    id: strawberry.ID
    action: HistoryActionEnum
    identifier_type: IdentifierTypeEnum | None
    identifier_value: str | None
    other_user_id: strawberry.ID | None = strawberry.field(
        description="The other customer of a COMBINE or MERGED_INTO."
    )
    details: JSON | None
    created_at: datetime
    source: str | None = strawberry.field(description="Where a change identifier or merge request came from.")
    account: str | None = strawberry.field(description="The source's account, for sources with several.")

    @classmethod
    def from_record(cls, record: HistoryRecord) -> CustomerHistoryRecord:
        return cls(
            id=strawberry.ID(str(record.id)),
            action=HistoryAction(record.action),
            identifier_type=IdentifierType(record.identifier_type) if record.identifier_type else None,
            identifier_value=record.identifier_value,
            other_user_id=strawberry.ID(str(record.other_customer_id)) if record.other_customer_id else None,
            details=JSON(record.details) if record.details is not None else None,
            created_at=record.created_at,
            source=record.source,
            account=record.account,
        )


@strawberry.type
class CustomerHistoryPage:
    customer_id: strawberry.ID
    records: list[CustomerHistoryRecord]
    page_info: PageInfo


CustomerHistoryResult = Annotated[
    CustomerHistoryPage | InvalidInputError | NotFoundError, strawberry.union("CustomerHistoryResult")
]


@strawberry.type(
    description="The victim was merged into the survivor (or, sent again with the same idempotency key, had been)."
)
class CustomersMerged:
    survivor: Customer
    victim_user_id: strawberry.ID = strawberry.field(
        description="The merged customer: its user id still finds its ledger, which ends with the merge."
    )
    replayed: bool = strawberry.field(
        description="True when this is the first result of an earlier request: nothing was written."
    )


@strawberry.type(description="One or more of a customer's identifiers changed (or, replayed, had changed).")
class IdentifierChanged:
    customer: Customer
    merged_user_id: strawberry.ID | None = strawberry.field(
        description="The customer who owned the added value and was merged into this one (merge: true)."
    )
    replayed: bool = strawberry.field(
        description="True when this is the first result of an earlier request: nothing was written."
    )


@strawberry.enum(description="The seed's identifier history actions.")
class IdentifierChangeAction(Enum):
    ADD = "ADD"
    REMOVE = "REMOVE"
    COMBINE = "COMBINE"


IDENTIFIER_CHANGE_ACTIONS = {
    HistoryAction.IDENTIFIER_ADDED.value: IdentifierChangeAction.ADD,
    HistoryAction.IDENTIFIER_REMOVED.value: IdentifierChangeAction.REMOVE,
    HistoryAction.COMBINE.value: IdentifierChangeAction.COMBINE,
}


@strawberry.type(
    description=(
        "A row of the seed's Change Identifier History: an identifier added or removed, or another customer combined "
        "into this one (the value that was asked for; the other customer's identifiers are in `details`)."
    )
)
class IdentifierChange:
    id: strawberry.ID
    source: str | None
    account: str | None
    identifier_type: IdentifierTypeEnum | None
    identifier_value: str | None
    action: IdentifierChangeAction
    other_user_id: strawberry.ID | None = strawberry.field(description="The customer combined into this one.")
    details: JSON | None
    created_at: datetime

    @classmethod
    def from_record(cls, record: HistoryRecord) -> IdentifierChange:
        return cls(
            id=strawberry.ID(str(record.id)),
            source=record.source,
            account=record.account,
            identifier_type=IdentifierType(record.identifier_type) if record.identifier_type else None,
            identifier_value=record.identifier_value,
            action=IDENTIFIER_CHANGE_ACTIONS[record.action],
            other_user_id=strawberry.ID(str(record.other_customer_id)) if record.other_customer_id else None,
            details=JSON(record.details) if record.details is not None else None,
            created_at=record.created_at,
        )


@strawberry.type
class IdentifierHistoryPage:
    customer_id: strawberry.ID
    records: list[IdentifierChange]
    page_info: PageInfo


IdentifierHistoryResult = Annotated[
    IdentifierHistoryPage | InvalidInputError | NotFoundError, strawberry.union("IdentifierHistoryResult")
]


@strawberry.type(description="A page of the customers a search found, by user id.")
class CustomerSearchPage:
    customers: list[Customer]
    page_info: PageInfo


CustomerSearchResult = Annotated[
    CustomerSearchPage | InvalidInputError | NotFoundError, strawberry.union("CustomerSearchResult")
]


@strawberry.type(description="A customer registered by member care.")
class CustomerRegistered:
    customer: Customer
    replayed: bool = strawberry.field(description="True when an idempotency key's first result came back.")


@strawberry.type(description="A customer's profile after an update.")
class CustomerUpdated:
    customer: Customer
    changed: bool = strawberry.field(description="False when the update changed nothing (and nothing was written).")
