"""Points redemptions: redeemPoints, validateRedemption, reverseRedemption and the member-care list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.core.errors import (
    ConflictError,
    IdempotencyKeyReusedError,
    InsufficientPointsError,
    InvalidInputError,
    NotFoundError,
    RedemptionReversalLimitError,
)
from app.graphql.core.pagination import PAGE_SIZE_DEFAULT, PageInfo, check_page_size, decode_id_cursor, encode_id_cursor
from app.graphql.customers.inputs import CustomerLookupInput, customer_id_for
from app.graphql.customers.types import CustomerLookupType
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import IdentifierType, TransactionSource
from app.organizations.config import OrgConfig
from app.redemptions import rules
from app.redemptions import service as redemptions_service
from app.redemptions.models import RedemptionStatus
from app.redemptions.service import LotPoints, RedemptionView, ReversalView

RedemptionStatusEnum = strawberry.enum(RedemptionStatus, name="RedemptionStatus")


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.input(
    description=(
        "A redemption of points. Where it draws from: programCode when given; else every program of the till's concept "
        "(a group redemption, in program order); else the till's program, else the store's, else the default program. "
        "It spends the REGULAR points that are spendable now (pending points and lots past their expiry are not)."
    )
)
class RedeemPointsInput:
    customer: CustomerLookupInput = strawberry.field(description="A merged customer is refused (CUSTOMER_MERGED).")
    points: Decimal = strawberry.field(
        description=(
            "More than 0, a multiple of the program's points precision, at least its redemption minimum (a group "
            "redemption: the strictest of its programs)."
        )
    )
    program_code: str | None = None
    store_code: str | None = None
    till_code: str | None = None
    source: TransactionSourceEnum = TransactionSource.INSTORE
    notes: str | None = None
    external_reference: str | None = strawberry.field(
        default=None, description="The client's own reference, kept as given."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> rules.RedemptionInput:
        lookup = self.customer
        return rules.RedemptionInput(
            customer_type=None if lookup.type is CustomerLookupType.USER_ID else IdentifierType(lookup.type.value),
            customer_value=lookup.value,
            points=self.points,
            program_code=self.program_code,
            store_code=self.store_code,
            till_code=self.till_code,
            source=TransactionSource(self.source),
            notes=self.notes,
            external_reference=self.external_reference,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input
class ReverseRedemptionInput:
    redemption_id: strawberry.ID
    points: Decimal | None = strawberry.field(default=None, description="Empty: all that is left to reverse.")
    notes: str | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> rules.ReversalInput:
        return rules.ReversalInput(
            redemption_id=str(self.redemption_id),
            points=self.points,
            notes=self.notes,
            idempotency_key=self.idempotency_key,
        )


@strawberry.type(
    description="Points of one lot: taken by a redemption, or given back by a reversal (with the lot's own dates)."
)
class RedemptionLot:
    program_code: str
    points: Decimal
    active_from: datetime
    expires_at: datetime | None = strawberry.field(description="Empty: the points never expire.")

    @classmethod
    def from_view(cls, lot: LotPoints, org: OrgConfig) -> RedemptionLot:
        return cls(
            program_code=org.program(lot.program_id).code,
            points=lot.points,
            active_from=lot.active_from,
            expires_at=lot.expires_at,
        )


@strawberry.type(description="What a redemption took from one program, and that program's balance right after.")
class RedemptionProgramShare:
    program_code: str
    points: Decimal
    balance_after: Decimal


@strawberry.type(description="Points of a redemption given back, by reverseRedemption or by the return of its bill.")
class RedemptionReversal:
    id: strawberry.ID
    points: Decimal
    notes: str | None
    return_transaction_id: strawberry.ID | None = strawberry.field(
        description="The return that reversed it, if one did."
    )
    event_log_id: strawberry.ID
    created_at: datetime
    lots_restored: list[RedemptionLot] = strawberry.field(
        description="The lots the points went back into, with their original expiry."
    )

    @classmethod
    def from_view(cls, view: ReversalView, org: OrgConfig) -> RedemptionReversal:
        return cls(
            id=strawberry.ID(str(view.id)),
            points=view.points,
            notes=view.notes,
            return_transaction_id=_id(view.transaction_id),
            event_log_id=strawberry.ID(str(view.event_id)),
            created_at=view.created_at,
            lots_restored=[RedemptionLot.from_view(lot, org) for lot in view.lots_restored],
        )


async def _bill_number(root: PointsRedemption, info: Info) -> str | None:
    return None if root.transaction_id is None else await info.context.bill_numbers.load(int(root.transaction_id))


@strawberry.type(description="A redemption of points, with its breakup by program and by lot.")
class PointsRedemption:
    id: strawberry.ID
    customer_id: strawberry.ID
    points: Decimal = strawberry.field(description="Points redeemed, across every program drawn from.")
    points_reversed: Decimal
    status: RedemptionStatusEnum
    balance_after: Decimal = strawberry.field(
        description="The balance of the programs drawn from, right after the redemption."
    )
    programs: list[RedemptionProgramShare]
    lots_consumed: list[RedemptionLot] = strawberry.field(description="The lots it spent, first-expiring first.")
    reversals: list[RedemptionReversal]
    event_log_id: strawberry.ID
    source: TransactionSourceEnum | None
    store_code: str | None
    till_code: str | None
    transaction_id: strawberry.ID | None = strawberry.field(
        description="The bill it paid for (addTransaction's pointsRedemptions)."
    )
    transaction_number: str | None = strawberry.field(resolver=_bill_number)
    external_reference: str | None
    notes: str | None
    redeemed_at: datetime

    @classmethod
    def from_view(cls, view: RedemptionView, org: OrgConfig) -> PointsRedemption:
        return cls(
            id=strawberry.ID(str(view.id)),
            customer_id=strawberry.ID(str(view.customer_id)),
            points=view.points,
            points_reversed=view.points_reversed,
            status=RedemptionStatus(view.status),
            balance_after=view.balance_after,
            programs=[
                RedemptionProgramShare(
                    program_code=org.program(share.program_id).code,
                    points=share.points,
                    balance_after=share.balance_after,
                )
                for share in view.programs
            ],
            lots_consumed=[RedemptionLot.from_view(lot, org) for lot in view.lots_consumed],
            reversals=[RedemptionReversal.from_view(reversal, org) for reversal in view.reversals],
            event_log_id=strawberry.ID(str(view.event_id)),
            source=TransactionSource(view.source) if view.source else None,
            store_code=org.store(view.store_id).code if view.store_id else None,
            till_code=org.till(view.till_id).code if view.till_id else None,
            transaction_id=_id(view.transaction_id),
            external_reference=view.external_reference,
            notes=view.notes,
            redeemed_at=view.redeemed_at,
        )


@strawberry.type(description="The points were redeemed (or, sent again with the same idempotency key, found).")
class PointsRedeemed:
    redemption: PointsRedemption
    replayed: bool = strawberry.field(
        description="True when this idempotency key redeemed before: nothing was written."
    )


@strawberry.type(description="What redeemPoints would take from one program now.")
class RedemptionPlanShare:
    program_code: str
    points: Decimal
    spendable_points: Decimal


@strawberry.type(description="redeemPoints would succeed now with this input; nothing was written or held.")
class RedemptionValidated:
    customer_id: strawberry.ID
    points: Decimal
    spendable_points: Decimal = strawberry.field(description="Spendable now across the programs it would draw from.")
    programs: list[RedemptionPlanShare]
    replayed_redemption_id: strawberry.ID | None = strawberry.field(
        description=(
            "Set when the idempotency key redeemed before: redeemPoints would return that redemption and write nothing."
        )
    )


@strawberry.type(
    description="Points of a redemption were given back (or, sent again with the same idempotency key, found)."
)
class RedemptionReversed:
    reversal: RedemptionReversal
    redemption: PointsRedemption
    replayed: bool


@strawberry.type
class PointsRedemptionConnection:
    customer_id: strawberry.ID
    nodes: list[PointsRedemption]
    page_info: PageInfo


RedeemPointsResult = Annotated[
    PointsRedeemed
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | IdempotencyKeyReusedError
    | ConflictError,
    strawberry.union("RedeemPointsResult"),
]
ValidateRedemptionResult = Annotated[
    RedemptionValidated
    | InvalidInputError
    | NotFoundError
    | InsufficientPointsError
    | IdempotencyKeyReusedError
    | ConflictError,
    strawberry.union("ValidateRedemptionResult"),
]
ReverseRedemptionResult = Annotated[
    RedemptionReversed
    | InvalidInputError
    | NotFoundError
    | RedemptionReversalLimitError
    | IdempotencyKeyReusedError
    | ConflictError,
    strawberry.union("ReverseRedemptionResult"),
]
PointsRedemptionsResult = Annotated[
    PointsRedemptionConnection | NotFoundError | InvalidInputError,
    strawberry.union("PointsRedemptionsResult"),
]


@strawberry.type
class RedemptionQuery:
    @strawberry.field(
        description=(
            "A dry run of redeemPoints: the answer it would give now (the same checks, the same typed errors) and the "
            "spendable points. Nothing is written or held: a redemption that follows may still find the points gone."
        )
    )
    async def validate_redemption(self, info: Info, input: RedeemPointsInput) -> ValidateRedemptionResult:
        org = info.context.org
        result = await redemptions_service.validate_redemption(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return RedemptionValidated(
            customer_id=strawberry.ID(str(result.customer_id)),
            points=result.points,
            spendable_points=result.spendable_points,
            programs=[
                RedemptionPlanShare(
                    program_code=share.program.code, points=share.points, spendable_points=share.spendable_points
                )
                for share in result.shares
            ],
            replayed_redemption_id=_id(result.replayed_redemption_id),
        )

    @strawberry.field(
        description="A customer's points redemptions, newest first, with keyset pagination (member care)."
    )
    async def points_redemptions(
        self,
        info: Info,
        customer: CustomerLookupInput,
        first: int = PAGE_SIZE_DEFAULT,
        after: str | None = None,
    ) -> PointsRedemptionsResult:
        org = info.context.org
        check_page_size(first)
        after_id = decode_id_cursor("redemption", after)
        async with info.context.database.read() as connection:
            customer_id = await customer_id_for(info, connection, customer)
            views, has_next_page = await redemptions_service.customer_redemptions(
                connection, org.id, customer_id, first, after_id
            )
        return PointsRedemptionConnection(
            customer_id=strawberry.ID(str(customer_id)),
            nodes=[PointsRedemption.from_view(view, org) for view in views],
            page_info=PageInfo(
                has_next_page=has_next_page, end_cursor=encode_id_cursor("redemption", views[-1].id) if views else None
            ),
        )


@strawberry.type
class RedemptionMutation:
    @strawberry.mutation(
        description=(
            "Redeem points: one POINTS_REDEMPTION event (one debit per program drawn from, spending lots "
            "first-expiring first) and a redemption id that a bill can carry (addTransaction's pointsRedemptions)."
        )
    )
    async def redeem_points(self, info: Info, input: RedeemPointsInput) -> RedeemPointsResult:
        org = info.context.org
        result = await redemptions_service.redeem_points(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return PointsRedeemed(redemption=PointsRedemption.from_view(result.redemption, org), replayed=result.replayed)

    @strawberry.mutation(
        description=(
            "Give back a redemption's points, all that is left or some: one REDEMPTION_REVERSAL event whose credits "
            "return the points into the lots they came from, with their original expiry."
        )
    )
    async def reverse_redemption(self, info: Info, input: ReverseRedemptionInput) -> ReverseRedemptionResult:
        org = info.context.org
        result = await redemptions_service.reverse_redemption(
            info.context.database, org, input.to_domain(), now=info.context.now
        )
        return RedemptionReversed(
            reversal=RedemptionReversal.from_view(result.reversal, org),
            redemption=PointsRedemption.from_view(result.redemption, org),
            replayed=result.replayed,
        )
