"""Member care's customer search (seed 004: "fetch the customer by name, mobile number, email id,
or external id"): customers of the organisation matching every criterion given, by id, in keyset
pages.

A use case above customers, cards and segments: a card number finds its holder through either of
the first two; `segment` keeps the members of a segment (by its code).

What `name` matches: the start of the first name or the start of the last name, compared without
case or accents ("jose" and "JOSÉ" find "José Álvarez", and so does "alv"); the whole text given
is the prefix, spaces included ("jose a" finds a first name "Jose Antonio", not "José Álvarez").
Identifiers match whole values, normalised as everywhere (a mobile without its country code finds
the customer). A user id that names no one, like an identifier nobody holds, finds nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.cards import repository as cards_repository
from app.customers import repository as customers_repository
from app.customers.rules import name_search_key, normalize_identifier, prefix_upper_bound
from app.customers.service import CustomerView, load_customers, parse_user_id
from app.kernel.enums import IdentifierType
from app.kernel.errors import ValidationError
from app.kernel.pages import page_limit, split_page
from app.kernel.text import check_text
from app.organizations.config import OrgConfig
from app.segments import repository as segments_repository
from app.segments.service import find_segment

NAME_LENGTH_MAX = 100  # as long as a name can be


@dataclass(frozen=True)
class CustomerSearch:
    """What to look for; None: any. `path` names the input in errors ("search.mobile")."""

    name: str | None = None
    identifiers: Sequence[tuple[IdentifierType, str, str]] = ()  # (kind, value, field name)
    user_id: str | None = None
    registered_from: datetime | None = None  # inclusive
    registered_until: datetime | None = None  # exclusive
    program_code: str | None = None
    tier_name: str | None = None
    segment_code: str | None = None
    path: str = "search"


@dataclass(frozen=True)
class CustomerSearchPage:
    customers: list[CustomerView]
    has_next_page: bool


async def search_customers(
    connection: AsyncConnection,
    org: OrgConfig,
    search: CustomerSearch,
    *,
    first: int,
    after_id: int | None,
    now: datetime,
) -> CustomerSearchPage:
    """A page of the customers matching `search`, by user id after `after_id`. Statements: one per
    identifier given (a card number: one more per program), one for the page and two to load it,
    whatever the page size (and one to find the segment when `segment` is given)."""
    path = search.path
    name_range = _name_range(search.name, f"{path}.name")
    standing = _standing(org, search, path)
    if (
        search.registered_from is not None
        and search.registered_until is not None
        and search.registered_from >= search.registered_until
    ):
        raise ValidationError("must end after it starts", field=f"{path}.createdBetween")
    customer_ids: set[int] | None = None
    if search.user_id is not None:
        user_id = parse_user_id(search.user_id)
        if user_id is None:
            raise ValidationError("is not a user id", field=f"{path}.userId")
        customer_ids = {user_id}
    for kind, value, field_name in search.identifiers:
        found = await _holders(connection, org, kind, normalize_identifier(kind, value, org.base_country, field_name))
        customer_ids = found if customer_ids is None else customer_ids & found
    among = None
    if search.segment_code is not None:
        segment = await find_segment(connection, org, search.segment_code, f"{path}.segment")
        among = segments_repository.member_ids(org_id=org.id, segment_id=segment.id)
    if customer_ids is not None and not customer_ids:
        return CustomerSearchPage([], has_next_page=False)
    ids = await customers_repository.search_customer_ids(
        connection,
        org_id=org.id,
        name_range=name_range,
        customer_ids=sorted(customer_ids) if customer_ids is not None else None,
        registered_from=search.registered_from,
        registered_until=search.registered_until,
        standing=standing,
        limit=page_limit(first),
        after_id=after_id,
        among=among,
    )
    page, has_next_page = split_page(ids, first)
    views = await load_customers(connection, org, page, now=now)
    return CustomerSearchPage([views[customer_id] for customer_id in page], has_next_page=has_next_page)


def _name_range(name: str | None, field: str) -> tuple[str, str | None] | None:
    if name is None:
        return None
    check_text(name, field, NAME_LENGTH_MAX)
    prefix = name_search_key(name)
    if not prefix:
        raise ValidationError("must contain something other than spaces", field=field)
    return prefix, prefix_upper_bound(prefix)


def _standing(org: OrgConfig, search: CustomerSearch, path: str) -> tuple[int, int] | None:
    """(program id, tier id) of the tier asked for; a typed error naming what names neither."""
    if search.tier_name is None:
        return None
    if search.program_code is None:
        program = org.default_program
    else:
        found = org.program_by_code(search.program_code)
        if found is None:
            raise ValidationError(f"no program with code {search.program_code!r}", field=f"{path}.tier.programCode")
        program = found
    tier = next((tier for tier in program.tiers if tier.name == search.tier_name), None)
    if tier is None:
        raise ValidationError(f"program {program.code!r} has no tier {search.tier_name!r}", field=f"{path}.tier.name")
    return program.id, tier.id


async def _holders(connection: AsyncConnection, org: OrgConfig, kind: IdentifierType, value: str) -> set[int]:
    """Who holds this identifier: its owner, and for a card number also the holder of the card
    with that number (or external id) in any of the org's programs."""
    owner = await customers_repository.customer_id_by_identifier(connection, org_id=org.id, kind=kind, value=value)
    found = {owner} if owner is not None else set()
    if kind is IdentifierType.CARD_NUMBER:
        for program in org.programs:
            cards = await cards_repository.cards_by_key(connection, org_id=org.id, program_id=program.id, keys=[value])
            found.update(card.customer_id for card in cards.values())
    return found
