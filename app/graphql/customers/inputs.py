"""Input types of customers: how a request names a customer (and resolves it to an id), and a merge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.scalars import JSON

from app.customer_search.service import CustomerSearch
from app.customers.errors import CustomerNotFoundError
from app.customers.identifiers import IdentifierChange
from app.customers.profile import Attribution, NewCustomer, ProfileChanges
from app.customers.service import CustomerLookup, find_customer_id
from app.graphql.core.context import Info
from app.graphql.core.descriptions import IDEMPOTENCY_KEY_DESCRIPTION
from app.graphql.customers.types import CustomerLookupType
from app.graphql.organization.types import IdentifierTypeEnum
from app.graphql.transactions.types import TransactionSourceEnum
from app.kernel.enums import IdentifierType, TransactionSource
from app.kernel.errors import ValidationError
from app.kernel.times import utc_time


@strawberry.input
class CustomerLookupInput:
    type: CustomerLookupType
    value: str

    def to_domain(self) -> CustomerLookup:
        return CustomerLookup(
            None if self.type is CustomerLookupType.USER_ID else IdentifierType(self.type.value), self.value
        )


async def customer_id_for(
    info: Info, connection: AsyncConnection, lookup: CustomerLookupInput, field: str = "customer"
) -> int:
    """The id of the customer the lookup names, in the caller's org; a typed error otherwise."""
    named = lookup.to_domain()
    customer_id = await find_customer_id(connection, info.context.org, named.kind, named.value, f"{field}.value")
    if customer_id is None:
        raise CustomerNotFoundError(f"no customer with {lookup.type.value} {lookup.value!r}", field=field)
    return customer_id


@strawberry.input(
    description="Merge the victim into the survivor: identifiers, points and purchases move; both ledgers stay."
)
class MergeCustomersInput:
    survivor: CustomerLookupInput
    victim: CustomerLookupInput
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)


@strawberry.input(
    description=(
        "Add, replace or remove one identifier of a customer: `add` alone adds, `remove` alone removes, both replace "
        "(of the one `type`). A value another customer owns is refused (IDENTIFIER_TAKEN) unless `merge` is true: "
        "then that customer is merged into this one, bringing the value."
    )
)
class ChangeIdentifierInput:
    customer: CustomerLookupInput
    type: IdentifierTypeEnum
    add: str | None = None
    remove: str | None = None
    source: TransactionSourceEnum = strawberry.field(
        default=TransactionSource.INSTORE, description="Where the request came from (the history's Source)."
    )
    account: str | None = strawberry.field(
        default=None, description="The source's account, for sources with several (WeChat, MartJack): at most 64."
    )
    merge: bool = False
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)

    def to_domain(self) -> IdentifierChange:
        return IdentifierChange(
            customer=self.customer.to_domain(),
            kind=IdentifierType(self.type),
            add=self.add,
            remove=self.remove,
            source=TransactionSource(self.source).value,
            account=self.account,
            merge=self.merge,
            idempotency_key=self.idempotency_key,
        )


@strawberry.input(description="Instants with an offset: from inclusive, to exclusive; either may be left open.")
class TimeRangeInput:
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None


@strawberry.input(description="A tier of a program, by name; the default program when programCode is omitted.")
class TierFilterInput:
    name: str
    program_code: str | None = None


@strawberry.input(
    description=(
        "Member care's customer search: every criterion given must match. name: the start of the first or the last "
        "name, without case or accents ('jose' finds 'José Álvarez', so does 'alv'). Identifiers and userId: whole "
        "values. createdBetween: when the customer registered. tier: the customer's current tier. segment: a "
        "segment's code: its members."
    )
)
class CustomerSearchInput:
    name: str | None = None
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    card_number: str | None = None
    user_id: str | None = None
    created_between: TimeRangeInput | None = None
    tier: TierFilterInput | None = None
    segment: str | None = None

    def to_domain(self, path: str = "search") -> CustomerSearch:
        given = (
            (IdentifierType.MOBILE, self.mobile, "mobile"),
            (IdentifierType.EMAIL, self.email, "email"),
            (IdentifierType.EXTERNAL_ID, self.external_id, "externalId"),
            (IdentifierType.CARD_NUMBER, self.card_number, "cardNumber"),
        )
        between = self.created_between or TimeRangeInput()
        return CustomerSearch(
            name=self.name,
            identifiers=[(kind, value, f"{path}.{name}") for kind, value, name in given if value is not None],
            user_id=self.user_id,
            registered_from=utc_time(between.from_, f"{path}.createdBetween.from"),
            registered_until=utc_time(between.to, f"{path}.createdBetween.to"),
            program_code=self.tier.program_code if self.tier else None,
            tier_name=self.tier.name if self.tier else None,
            segment_code=self.segment,
            path=path,
        )


@strawberry.input(description="Who changes a profile: the seed's source and account (e.g. WECHAT and its account id).")
class ProfileSourceInput:
    source: str | None = None
    account: str | None = None


def extended_field_values(value: JSON | None, field: str) -> dict[str, Any]:
    """The extendedFields a client sent: a JSON object (field name -> value) or nothing."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("must be an object of field names and values", field=field)
    return dict(value)


@strawberry.input(description="A new customer: profile, identifiers (at least one) and declared customer fields.")
class RegisterCustomerInput:
    firstname: str = ""
    lastname: str = ""
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    card_number: str | None = None
    extended_fields: JSON | None = strawberry.field(
        default=None, description="Declared customer fields by name (the organisation file's [[customer_fields]])."
    )
    source: ProfileSourceInput | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_DESCRIPTION)
    referral_code: str | None = strawberry.field(
        default=None,
        description="The referral code of the customer who referred this one: REFERRAL_CODE_NOT_FOUND when unknown.",
    )

    def to_domain(self, path: str = "input") -> NewCustomer:
        given = (
            (IdentifierType.MOBILE, self.mobile, "mobile"),
            (IdentifierType.EMAIL, self.email, "email"),
            (IdentifierType.EXTERNAL_ID, self.external_id, "externalId"),
            (IdentifierType.CARD_NUMBER, self.card_number, "cardNumber"),
        )
        origin = self.source or ProfileSourceInput()
        return NewCustomer(
            first_name=self.firstname,
            last_name=self.lastname,
            identifiers={kind: (value, f"{path}.{name}") for kind, value, name in given if value is not None},
            extended_fields=extended_field_values(self.extended_fields, f"{path}.extendedFields"),
            attribution=Attribution(origin.source, origin.account),
            idempotency_key=self.idempotency_key,
            referral_code=self.referral_code,
        )


@strawberry.input(
    description=(
        "A customer's profile changes: only the fields given change. extendedFields: the declared fields to set, "
        "null to remove one; the others keep their values."
    )
)
class UpdateCustomerInput:
    customer: CustomerLookupInput
    firstname: strawberry.Maybe[str | None]
    lastname: strawberry.Maybe[str | None]
    extended_fields: strawberry.Maybe[JSON | None]
    source: ProfileSourceInput | None = None

    def to_domain(self, path: str = "input") -> ProfileChanges:
        names: dict[str, str] = {}
        for column, name, given in (
            ("first_name", "firstname", self.firstname),
            ("last_name", "lastname", self.lastname),
        ):
            if given is None:
                continue
            if given.value is None:  # a name is text, possibly empty: null is not one
                raise ValidationError('must not be null (give "" for no name)', field=f"{path}.{name}")
            names[column] = given.value
        origin = self.source or ProfileSourceInput()
        fields = self.extended_fields.value if self.extended_fields is not None else None
        return ProfileChanges(
            names=names,
            extended_fields=extended_field_values(fields, f"{path}.extendedFields"),
            attribution=Attribution(origin.source, origin.account),
        )
