"""Input types of the points ledger: the view (filter) of a customer's ledger, and a conversion of
TRIGGER_BASED points."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.ledger.types import EntryKindEnum, EntryTypeEnum
from app.graphql.organization.types import PointsCategoryEnum
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import PointsCategory, TransactionSource
from app.kernel.errors import ValidationError
from app.kernel.times import utc_time
from app.ledger import service as ledger
from app.ledger.models import EntryKind, EntryType
from app.organizations.config import OrgConfig


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
    subledger_codes: list[str] | None = strawberry.field(
        default=None,
        description=(
            "Entries that credited a lot of these subledgers or took points from one (an entry that drew on several "
            "subledgers shows whole). Not on ledgerClosingBalance: a subledger's points are in pointsSummaries."
        ),
    )
    alternate_currency: str | None = strawberry.field(
        default=None,
        description=(
            "The entries of this alternate currency (its identifier) instead of points: a view is of points or of one "
            "currency, never both. Not with pointsCategories."
        ),
    )
    include_till_concept_events: bool | None = strawberry.field(
        default=None,
        description=(
            "With programCodes: also the group redemptions made at the tills of those programs' concepts, "
            "including their entries in the concept's other programs. Without programCodes everything shows anyway."
        ),
    )
    entry_kinds: list[EntryKindEnum] | None = strawberry.field(
        default=None, description="Entries of these kinds only (e.g. REFERRAL_AWARD and REFERRAL_REVERSAL)."
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
            utc_time(value, f"filter.{name}")
            for name, value in (("startDate", self.start_date), ("endDate", self.end_date))
        )
        currency_category = None
        if self.alternate_currency is not None:
            if self.points_categories:
                raise ValidationError(
                    "a view is of points or of one alternate currency", field="filter.alternateCurrency"
                )
            currency_category = org.declared_currency_category(self.alternate_currency, "filter.alternateCurrency")
        return ledger.LedgerFilter(
            currency_category=currency_category,
            sources=tuple(TransactionSource(source).value for source in self.event_sources or []),
            till_ids=tuple(till_ids),
            start=start,
            end=end,
            entry_type=EntryType(self.entry_type) if self.entry_type else None,
            categories=tuple(PointsCategory(category) for category in self.points_categories or []),
            program_ids=tuple(program_ids),
            concept_till_ids=concept_till_ids,
            entry_kinds=tuple(EntryKind(kind) for kind in self.entry_kinds or []),
        )


@strawberry.input(
    description="Convert a customer's TRIGGER_BASED points into REGULAR points (e.g. delivery confirmed)."
)
class ConvertTriggerBasedPointsInput:
    customer: CustomerLookupInput
    program_code: str | None = strawberry.field(
        default=None, description="Only this program's points; all programs when omitted."
    )
    transaction_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the points this bill earned (its id, as addTransaction returned it)."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)
