"""Leads (seed 004's Leads tab): create a lead for a customer, change its status and sub-status,
record follow-ups, and list a customer's leads with each one's status history.

Choices where the seed is silent:
- Status is one of OPEN, IN_PROGRESS, WON, LOST (a new lead is OPEN unless the request says
  otherwise); the sub-status is the brand's free text (at most 100 characters), e.g. "Callback
  requested". Any status may follow any other: a LOST lead may be reopened.
- The status history has one row per status the lead took, the first on creation; setting the
  status and sub-status it has already writes nothing (a retried request stays one change).
- A follow-up sets the last follow-up time (now unless given: it may be a scheduled time) and the
  next one, which must come after it and after now, or be empty (no follow-up planned).
- Extended fields are a flat object of at most 20 names (codes, at most 50 characters) to text
  values (at most 500 characters).
- The lead owner is always the customer the lead was created for: for a customer merged into
  another (named by its user id, or found just before the merge committed), the survivor, who
  holds its other leads since the merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.customers import service as customers_service
from app.customers.errors import NotACustomerError
from app.customers.models import CustomerKind
from app.customers.service import CustomerLookup
from app.idempotency import service as idempotency
from app.kernel.errors import ValidationError
from app.kernel.pages import page_limit, split_page
from app.kernel.text import check_required_code, check_text
from app.kernel.times import utc_time
from app.leads import repository
from app.leads.errors import LeadNotFoundError
from app.leads.models import LEAD_FOR_LENGTH_MAX, LEAD_TYPE_LENGTH_MAX, SUB_STATUS_LENGTH_MAX, LeadStatus
from app.leads.views import LeadView, StatusChangeView
from app.ledger.service import READ_PAGE_SIZE_MAX
from app.organizations.config import OrgConfig
from app.storage.database import Database
from app.user_groups import service as user_groups

__all__ = ["LeadStatus", "LeadView", "StatusChangeView"]

EXTENDED_FIELDS_MAX = 20
EXTENDED_FIELD_NAME_LENGTH_MAX = 50
EXTENDED_FIELD_VALUE_LENGTH_MAX = 500


@dataclass(frozen=True)
class CreateLeadRequest:
    customer: CustomerLookup
    lead_type: str
    lead_for: str
    status: LeadStatus = LeadStatus.OPEN
    sub_status: str | None = None
    extended_fields: tuple[tuple[str, str], ...] = ()  # (name, value) pairs
    next_follow_up_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class LeadResult:
    lead: LeadView
    replayed: bool


def check_sub_status(value: str | None, field: str) -> str | None:
    """Stripped; None when blank."""
    return check_text((value or "").strip(), field, SUB_STATUS_LENGTH_MAX) or None


def check_extended_fields(pairs: Sequence[tuple[str, str]], field: str) -> dict[str, str]:
    if len(pairs) > EXTENDED_FIELDS_MAX:
        raise ValidationError(f"at most {EXTENDED_FIELDS_MAX} extended fields", field=field)
    checked: dict[str, str] = {}
    for index, (name, value) in enumerate(pairs):
        name = check_required_code(name, f"{field}[{index}].name", EXTENDED_FIELD_NAME_LENGTH_MAX)
        if name in checked:
            raise ValidationError(f"extended field {name!r} is given twice", field=f"{field}[{index}].name")
        checked[name] = check_text(value, f"{field}[{index}].value", EXTENDED_FIELD_VALUE_LENGTH_MAX) or ""
    return checked


def check_next_follow_up(
    next_at: datetime | None, last_at: datetime | None, now: datetime, field: str
) -> datetime | None:
    next_at = utc_time(next_at, field)
    if next_at is None:
        return None
    if next_at <= now:
        raise ValidationError("must be in the future", field=field)
    if last_at is not None and next_at <= last_at:
        raise ValidationError("must come after the last follow-up", field=field)
    return next_at


async def create_lead(
    database: Database, org: OrgConfig, request: CreateLeadRequest, path: str = "input", *, now: datetime
) -> LeadResult:
    """A new lead owned by the customer, with its first status history row.

    Errors: CUSTOMER_NOT_FOUND, NOT_A_CUSTOMER (a user group's account), INVALID_INPUT (each naming
    its field), IDEMPOTENCY_KEY_REUSED."""
    lead_type = check_required_code(request.lead_type, f"{path}.leadType", LEAD_TYPE_LENGTH_MAX)
    lead_for = check_required_code(request.lead_for, f"{path}.leadFor", LEAD_FOR_LENGTH_MAX)
    sub_status = check_sub_status(request.sub_status, f"{path}.subStatus")
    extended_fields = check_extended_fields(request.extended_fields, f"{path}.extendedFields")
    next_follow_up_at = check_next_follow_up(request.next_follow_up_at, None, now, f"{path}.nextFollowUpAt")
    key = idempotency.check_key(request.idempotency_key, f"{path}.idempotencyKey")
    payload = {
        "customer": request.customer.payload(),
        "leadType": lead_type,
        "leadFor": lead_for,
        "status": request.status.value,
        "subStatus": sub_status,
        "extendedFields": extended_fields,
        "nextFollowUpAt": next_follow_up_at,
    }

    async def perform(connection: AsyncConnection) -> tuple[int, LeadResult]:
        found = await customers_service.find_customer(connection, org, request.customer, f"{path}.customer")
        # A merged customer's lead is its survivor's, as the merge moved its other leads.
        customer_id = (await customers_service.survivors(connection, [found], lock=True))[found]
        kinds = await user_groups.customer_kinds(connection, org, [customer_id])
        if kinds.get(customer_id) != CustomerKind.CUSTOMER.value:
            raise NotACustomerError(
                f"user {customer_id} is a user group's account, not a customer", field=f"{path}.customer"
            )
        draft = LeadDraft(
            customer_id, lead_type, lead_for, request.status, sub_status, extended_fields, next_follow_up_at
        )
        (lead_id,) = await insert_leads(connection, org, [draft], now)
        return lead_id, LeadResult(await lead_by_id(connection, org, lead_id), replayed=False)

    async def replay(connection: AsyncConnection, lead_id: int) -> LeadResult:
        return LeadResult(await lead_by_id(connection, org, lead_id), replayed=True)

    return await idempotency.write_once(
        database,
        org_id=org.id,
        key=key,
        operation="createLead",
        payload=payload,
        now=now,
        perform=perform,
        replay=replay,
        field=f"{path}.idempotencyKey",
    )


@dataclass(frozen=True)
class LeadDraft:
    """A checked lead to write (an import's row, or createLead's request)."""

    customer_id: int
    lead_type: str
    lead_for: str
    status: LeadStatus
    sub_status: str | None
    extended_fields: dict[str, Any]
    next_follow_up_at: datetime | None = None
    last_follow_up_at: datetime | None = None
    created_at: datetime | None = None  # now when None (an import brings older leads)


async def insert_leads(
    connection: AsyncConnection, org: OrgConfig, drafts: Sequence[LeadDraft], now: datetime
) -> list[int]:
    """Bulk-callable (inside the caller's write transaction): checked leads, each with its first
    status history row at its creation time, in two batched statements. Returns the lead ids."""
    if not drafts:
        return []
    lead_ids = await repository.insert_leads(
        connection,
        [
            {
                "org_id": org.id,
                "customer_id": draft.customer_id,
                "lead_type": draft.lead_type,
                "lead_for": draft.lead_for,
                "status": draft.status.value,
                "sub_status": draft.sub_status,
                "extended_fields": draft.extended_fields,
                "created_at": draft.created_at or now,
                "updated_at": draft.created_at or now,
                "last_follow_up_at": draft.last_follow_up_at,
                "next_follow_up_at": draft.next_follow_up_at,
            }
            for draft in drafts
        ],
    )
    await repository.insert_status_changes(
        connection,
        [
            {
                "org_id": org.id,
                "lead_id": lead_id,
                "status": draft.status.value,
                "sub_status": draft.sub_status,
                "changed_at": draft.created_at or now,
            }
            for lead_id, draft in zip(lead_ids, drafts, strict=True)
        ],
    )
    return lead_ids


def parse_lead_id(value: str, field: str) -> int:
    lead_id = customers_service.parse_user_id(value)
    if lead_id is None:
        raise LeadNotFoundError(f"no lead with id {value!r}", field=field)
    return lead_id


async def _locked(connection: AsyncConnection, org: OrgConfig, lead_id: str, field: str) -> LeadView:
    found = await repository.locked_lead(connection, org_id=org.id, lead_id=parse_lead_id(lead_id, field))
    if found is None:
        raise LeadNotFoundError(f"no lead with id {lead_id!r}", field=field)
    return found


async def update_lead_status(
    database: Database,
    org: OrgConfig,
    lead_id: str,
    status: LeadStatus,
    sub_status: str | None,
    path: str = "input",
    *,
    now: datetime,
) -> LeadResult:
    """Set the lead's status and sub-status (an empty sub-status clears it) under the lead's lock;
    a change writes one history row, setting what it has writes nothing.

    Errors: LEAD_NOT_FOUND (also another org's lead), INVALID_INPUT."""
    checked_sub_status = check_sub_status(sub_status, f"{path}.subStatus")

    async def work(connection: AsyncConnection) -> LeadResult:
        lead = await _locked(connection, org, lead_id, f"{path}.leadId")
        if (lead.status, lead.sub_status) != (status.value, checked_sub_status):
            await repository.set_status(
                connection, lead_id=lead.id, status=status.value, sub_status=checked_sub_status, now=now
            )
            await repository.insert_status_change(
                connection, org_id=org.id, lead_id=lead.id, status=status.value, sub_status=checked_sub_status, now=now
            )
        return LeadResult(await lead_by_id(connection, org, lead.id), replayed=False)

    return await database.run_write(work)


async def add_follow_up(
    database: Database,
    org: OrgConfig,
    lead_id: str,
    followed_up_at: datetime | None,
    next_follow_up_at: datetime | None,
    path: str = "input",
    *,
    now: datetime,
) -> LeadResult:
    """Record a follow-up: the last follow-up time (now when not given) and the next one (empty:
    none planned). Errors: LEAD_NOT_FOUND, INVALID_INPUT (the next one not after now and the last)."""
    last_at = utc_time(followed_up_at, f"{path}.followedUpAt") or now
    next_at = check_next_follow_up(next_follow_up_at, last_at, now, f"{path}.nextFollowUpAt")

    async def work(connection: AsyncConnection) -> LeadResult:
        lead = await _locked(connection, org, lead_id, f"{path}.leadId")
        await repository.set_follow_up(
            connection, lead_id=lead.id, last_follow_up_at=last_at, next_follow_up_at=next_at, now=now
        )
        return LeadResult(await lead_by_id(connection, org, lead.id), replayed=False)

    return await database.run_write(work)


async def lead_by_id(connection: AsyncConnection, org: OrgConfig, lead_id: int) -> LeadView:
    lead = await repository.locked_lead(connection, org_id=org.id, lead_id=lead_id)
    assert lead is not None, "a lead written in this transaction"
    return (await _with_histories(connection, org, [lead]))[0]


async def _with_histories(connection: AsyncConnection, org: OrgConfig, found: list[LeadView]) -> list[LeadView]:
    histories = await repository.status_histories(connection, org_id=org.id, lead_ids=[lead.id for lead in found])
    return [
        LeadView(
            lead.id,
            lead.customer_id,
            lead.lead_type,
            lead.lead_for,
            lead.status,
            lead.sub_status,
            lead.extended_fields,
            lead.created_at,
            lead.updated_at,
            lead.last_follow_up_at,
            lead.next_follow_up_at,
            histories[lead.id],
        )
        for lead in found
    ]


async def customer_leads(
    connection: AsyncConnection,
    org: OrgConfig,
    *,
    customer_id: int,
    status: LeadStatus | None,
    first: int,
    after_id: int | None,
) -> tuple[list[LeadView], bool]:
    """A customer's leads, newest first (keyset by lead id), each with its status history: two
    statements whatever the page's length. One more than a page is read: whether another follows."""
    assert 1 <= first <= READ_PAGE_SIZE_MAX
    found = await repository.customer_leads(
        connection,
        org_id=org.id,
        customer_id=customer_id,
        status=status.value if status is not None else None,
        limit=page_limit(first),
        before_id=after_id,
    )
    page, has_next_page = split_page(found, first)
    return await _with_histories(connection, org, page), has_next_page
