"""Segments: create one, add and remove members (one customer or a batch, a result for each),
list the organisation's segments, a customer's segments and their change history.

Choices where the seed is silent:
- A segment has a code (unique in the organisation, at most 50 characters) and a name.
- Membership is a set: adding a member again, or removing a non-member, changes nothing and
  writes no history row (the item's result says `changed: false`). Each change is one guarded
  statement (INSERT ... ON CONFLICT DO NOTHING / DELETE ... RETURNING), so concurrent requests
  for one customer make one change and one history row.
- The history row names the request source: the `source` a request gives (a code such as
  INSTORE or CRM, "API" when it gives none), "IMPORT" for a CSV import.
- A batch names 1 to 1,000 customers; a customer not found (or named malformed) is that item's
  error and the others are still changed, in one write transaction.
- A customer merged into another (named by its user id, or found just before the merge
  committed) is its survivor: the merge gave the survivor its memberships, so adding or removing
  the victim changes the survivor's (the item's result names the survivor).

Bulk-callable (take the caller's AsyncConnection, inside its write transaction):
- `find_segments(connection, org, codes) -> dict[str, SegmentView]`
- `apply_changes(connection, org, changes, source, now) -> list[bool]` (a fixed number of statements)
- `change_membership(connection, org, segment, customer_id, add, source, now) -> bool`
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.customers.errors import NotACustomerError
from app.customers.models import CustomerKind
from app.customers.service import CustomerLookup
from app.kernel.errors import DomainError, ValidationError
from app.kernel.pages import page_limit, split_page
from app.kernel.text import check_required_code, check_required_text
from app.ledger.service import PAGE_SIZE_MAX, READ_PAGE_SIZE_MAX
from app.organizations.config import OrgConfig
from app.segments import repository
from app.segments.errors import SegmentExistsError, SegmentNotFoundError
from app.segments.models import CODE_LENGTH_MAX, NAME_LENGTH_MAX, SOURCE_LENGTH_MAX, SegmentAction
from app.segments.views import MembershipView, SegmentChangeView, SegmentView
from app.storage.database import Database
from app.user_groups import service as user_groups

__all__ = ["MembershipView", "SegmentAction", "SegmentChangeView", "SegmentView"]

MEMBERS_PER_REQUEST_MAX = 1000
SOURCE_DEFAULT = "API"
SOURCE_IMPORT = "IMPORT"


@dataclass(frozen=True)
class MemberResult:
    customer_id: int
    changed: bool  # False: already a member (adding) or not one (removing)


@dataclass(frozen=True)
class MembersResult:
    segment: SegmentView
    items: list[MemberResult | DomainError]  # one per lookup, in order

    @property
    def members_changed(self) -> int:
        return sum(1 for item in self.items if isinstance(item, MemberResult) and item.changed)


def check_segment_code(code: str, field: str) -> str:
    return check_required_code(code, field, CODE_LENGTH_MAX)


def check_source(source: str | None, field: str) -> str:
    return SOURCE_DEFAULT if source is None else check_required_code(source, field, SOURCE_LENGTH_MAX)


async def create_segment(
    database: Database, org: OrgConfig, code: str, name: str, path: str = "input", *, now: datetime
) -> SegmentView:
    """A new segment. Errors: INVALID_INPUT, SEGMENT_EXISTS (the code is taken)."""
    code = check_segment_code(code, f"{path}.code")
    name = check_required_text(name, f"{path}.name", NAME_LENGTH_MAX)

    async def work(connection: AsyncConnection) -> SegmentView:
        segment_id = await repository.insert_segment(connection, org_id=org.id, code=code, name=name, now=now)
        if segment_id is None:
            raise SegmentExistsError(f"a segment with code {code!r} exists", field=f"{path}.code")
        return SegmentView(segment_id, code, name, now)

    return await database.run_write(work)


async def find_segment(connection: AsyncConnection, org: OrgConfig, code: str, field: str) -> SegmentView:
    found = await repository.segment_by_code(connection, org_id=org.id, code=check_segment_code(code, field))
    if found is None:
        raise SegmentNotFoundError(f"no segment with code {code!r}", field=field)
    return found


async def find_segments(connection: AsyncConnection, org: OrgConfig, codes: Iterable[str]) -> dict[str, SegmentView]:
    """Bulk: the segments with these (checked) codes, by code; unknown codes are absent. One statement."""
    found = await repository.segments_by_code(connection, org_id=org.id, codes=sorted(set(codes)))
    return {segment.code: segment for segment in found}


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """One row of a bulk change: add (or remove) the customer, in the order given."""

    segment: SegmentView
    customer_id: int
    add: bool


async def apply_changes(
    connection: AsyncConnection, org: OrgConfig, changes: Sequence[MembershipChange], *, source: str, now: datetime
) -> list[bool]:
    """Bulk (an import's batch): the changes in order, whether each changed anything, in a fixed
    number of statements. The segments are locked first, so the members read are the members
    written over (a mutation on one of them waits); the rows are replayed in memory, so add,
    remove and add again of one customer in a batch write three history rows, as three requests would."""
    if not changes:
        return []
    await repository.lock_segments(connection, org_id=org.id, segment_ids=[change.segment.id for change in changes])
    pairs = list(dict.fromkeys((change.segment.id, change.customer_id) for change in changes))
    present = await repository.members_among(connection, org_id=org.id, pairs=pairs)
    state = {pair: pair in present for pair in pairs}
    changed: list[bool] = []
    history: list[dict[str, object]] = []
    for change in changes:
        pair = (change.segment.id, change.customer_id)
        if state[pair] == change.add:
            changed.append(False)
            continue
        state[pair] = change.add
        changed.append(True)
        action = SegmentAction.ADDED if change.add else SegmentAction.REMOVED
        history.append(
            {
                "org_id": org.id,
                "segment_id": change.segment.id,
                "customer_id": change.customer_id,
                "action": action.value,
                "source": source,
                "changed_at": now,
            }
        )
    await repository.delete_members(
        connection, org_id=org.id, pairs=[pair for pair in pairs if pair in present and not state[pair]]
    )
    await repository.insert_members(
        connection, org_id=org.id, pairs=[pair for pair in pairs if pair not in present and state[pair]], now=now
    )
    await repository.insert_change_rows(connection, history)
    return changed


async def change_membership(
    connection: AsyncConnection,
    org: OrgConfig,
    segment: SegmentView,
    customer_id: int,
    *,
    add: bool,
    source: str,
    now: datetime,
) -> bool:
    """Add (or remove) one customer; a real change writes its history row. Whether it changed."""
    if add:
        changed = await repository.add_member(
            connection, org_id=org.id, segment_id=segment.id, customer_id=customer_id, now=now
        )
    else:
        changed = await repository.remove_member(
            connection, org_id=org.id, segment_id=segment.id, customer_id=customer_id
        )
    if changed:
        await repository.insert_changes(
            connection,
            org_id=org.id,
            segment_id=segment.id,
            customer_ids=[customer_id],
            action=(SegmentAction.ADDED if add else SegmentAction.REMOVED).value,
            source=source,
            now=now,
        )
    return changed


async def change_members(
    database: Database,
    org: OrgConfig,
    segment_code: str,
    lookups: Sequence[CustomerLookup],
    source: str | None,
    path: str = "input",
    *,
    add: bool,
    now: datetime,
) -> MembersResult:
    """Add (or remove) customers, a result per lookup (see the module doc).

    Errors of the whole request: INVALID_INPUT (no members, more than 1,000, a bad code or source),
    SEGMENT_NOT_FOUND. Errors of an item: CUSTOMER_NOT_FOUND, NOT_A_CUSTOMER (a user group's
    account), INVALID_INPUT (a malformed identifier).
    """
    if not 1 <= len(lookups) <= MEMBERS_PER_REQUEST_MAX:
        raise ValidationError(f"name 1 to {MEMBERS_PER_REQUEST_MAX} customers", field=f"{path}.members")
    checked_source = check_source(source, f"{path}.source")
    check_segment_code(segment_code, f"{path}.segmentCode")

    async def work(connection: AsyncConnection) -> MembersResult:
        segment = await find_segment(connection, org, segment_code, f"{path}.segmentCode")
        # The customers first, as merges and imports lock them (then the segment); a merged one
        # is its survivor, who holds its memberships since the merge.
        found = await customers_service.BatchCustomers(connection, org).find_survivors(
            [(lookup, f"{path}.members[{index}]") for index, lookup in enumerate(lookups)], lock=True
        )
        # Waits for a bulk change of this segment (apply_changes) that read its members.
        await repository.lock_segments(connection, org_id=org.id, segment_ids=[segment.id])
        kinds = await user_groups.customer_kinds(connection, org, [item for item in found if isinstance(item, int)])
        items: list[MemberResult | DomainError] = []
        for index, item in enumerate(found):
            if isinstance(item, DomainError):
                items.append(item)
            elif kinds.get(item) != CustomerKind.CUSTOMER.value:
                message = f"user {item} is a user group's account, not a customer"
                items.append(NotACustomerError(message, field=f"{path}.members[{index}]"))
            else:
                changed = await change_membership(
                    connection, org, segment, item, add=add, source=checked_source, now=now
                )
                items.append(MemberResult(item, changed))
        return MembersResult(segment, items)

    return await database.run_write(work)


# --- Reading --------------------------------------------------------------------------------


def _check_first(first: int) -> int:
    assert 1 <= first <= PAGE_SIZE_MAX
    return page_limit(first)


async def segments(
    connection: AsyncConnection, org: OrgConfig, *, first: int, after_id: int | None
) -> tuple[list[SegmentView], bool]:
    """The organisation's segments by id (keyset), and whether more follow."""
    found = await repository.segments_page(connection, org_id=org.id, limit=_check_first(first), after_id=after_id)
    return split_page(found, first)


async def customer_segments(
    connection: AsyncConnection, org: OrgConfig, *, customer_id: int, first: int, after_id: int | None
) -> tuple[list[MembershipView], bool]:
    """The segments a customer is in now, by segment id (keyset), and whether more follow."""
    found = await repository.memberships_page(
        connection, org_id=org.id, customer_id=customer_id, limit=_check_first(first), after_id=after_id
    )
    return split_page(found, first)


async def customer_segment_history(
    connection: AsyncConnection, org: OrgConfig, *, customer_id: int, first: int, after_id: int | None
) -> tuple[list[SegmentChangeView], bool]:
    """A customer's segment changes, newest first (keyset by change id), and whether more follow."""
    assert 1 <= first <= READ_PAGE_SIZE_MAX  # downloads read this list in larger pages
    found = await repository.changes_page(
        connection, org_id=org.id, customer_id=customer_id, limit=page_limit(first), before_id=after_id
    )
    return split_page(found, first)
