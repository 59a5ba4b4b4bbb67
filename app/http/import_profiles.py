"""Plain HTTP entry points of the CUSTOMER_PROMOTION, TRACKERS, LEADS and SEGMENT_MEMBERS profiles, beside
POST /imports/points (same authentication, streaming, errors and responses: app.http.imports):

    POST /imports/promotion?promotionName=NAME[&uniqueIdentifierType=MOBILE|EMAIL|EXTERNAL_ID|USER_ID|CARD_NUMBER|
         CARD_EXTERNAL_ID][&appendCountryCode=true][&storesByExternalId=true][&replacementStoreCode=CODE]
         [&promotionIdentifier=ID][&program=CODE][&expiryStrategy=S&expiryValue=N][&userGroupsEnabled=true]
         [&userGroupIdentifierType=EXTERNAL_ID|GROUP_ID]   or   ?template=NAME
    POST /imports/tracker?tracker=CODE[&billIdentification=STANDARD_FIELDS|LOYALTY_LOG_ID]
         [&uniqueIdentifierType=MOBILE|EMAIL|EXTERNAL_ID|USER_ID][&appendCountryCode=true][&storesByExternalId=true]
         [&replacementStoreCode=CODE][&userGroupsEnabled=true][&userGroupIdentifierType=...]   or   ?template=NAME
    POST /imports/leads[?uniqueIdentifierType=MOBILE|EMAIL|EXTERNAL_ID|USER_ID][&appendCountryCode=true]
    POST /imports/segments[?uniqueIdentifierType=...][&appendCountryCode=true]
    POST /imports/interactions[?uniqueIdentifierType=MOBILE|EMAIL|EXTERNAL_ID|USER_ID]   or   ?template=NAME
    POST /imports/behavioural-events[?uniqueIdentifierType=MOBILE|EMAIL|EXTERNAL_ID|USER_ID]   or   ?template=NAME
    POST /imports/points-debits?program=CODE   (historic redemptions and expiries: app.imports.ledger_history)
    POST /imports/opening-balances?program=CODE[&registerUnknownCustomers=false]
    all also: [&errorPolicy=KEEP_VALID|REJECT_FILE][&dryRun=true][&importKey=KEY][&fileName=NAME]
    body: the CSV file as is (curl --data-binary @file.csv)
    GET  /imports/{id}/corrections.csv -> the auto-corrections: row_number, column, code, message
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.http.imports import post_import, query_flag, requested_job
from app.imports import service
from app.imports.models import ImportProfile
from app.kernel.decimals import read_whole_number
from app.kernel.errors import ValidationError


def _whole_number(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = read_whole_number(raw, 10**9 - 1, minimum=0)
    if value is None:
        raise ValidationError("must be a whole number", field=name)
    return value


def _promotion_configuration(request: Request) -> dict[str, Any]:
    query = request.query_params
    return {
        "promotion_name": query.get("promotionName", ""),
        "unique_identifier_type": query.get("uniqueIdentifierType", "MOBILE"),
        "append_country_code": query_flag(request, "appendCountryCode", False),
        "stores_by_external_id": query_flag(request, "storesByExternalId", False),
        "replacement_store_code": query.get("replacementStoreCode"),
        "promotion_identifier": query.get("promotionIdentifier"),
        "program_code": query.get("program"),
        "expiry_strategy": query.get("expiryStrategy"),
        "expiry_value": _whole_number(request, "expiryValue"),
        "user_groups_enabled": query_flag(request, "userGroupsEnabled", False),
        "user_group_identifier_type": query.get("userGroupIdentifierType", "EXTERNAL_ID"),
    }


def _tracker_configuration(request: Request) -> dict[str, Any]:
    query = request.query_params
    return {
        "tracker_code": query.get("tracker", ""),
        "bill_identification": query.get("billIdentification", "STANDARD_FIELDS"),
        "unique_identifier_type": query.get("uniqueIdentifierType", "MOBILE"),
        "append_country_code": query_flag(request, "appendCountryCode", False),
        "stores_by_external_id": query_flag(request, "storesByExternalId", False),
        "replacement_store_code": query.get("replacementStoreCode"),
        "user_groups_enabled": query_flag(request, "userGroupsEnabled", False),
        "user_group_identifier_type": query.get("userGroupIdentifierType", "EXTERNAL_ID"),
    }


async def post_promotion(request: Request) -> Response:
    return await post_import(request, ImportProfile.CUSTOMER_PROMOTION, _promotion_configuration)


async def post_tracker(request: Request) -> Response:
    return await post_import(request, ImportProfile.TRACKERS, _tracker_configuration)


def _customer_column_configuration(request: Request) -> dict[str, Any]:
    return {"unique_identifier_type": request.query_params.get("uniqueIdentifierType", "MOBILE")}


async def post_interactions(request: Request) -> Response:
    return await post_import(request, ImportProfile.INTERACTIONS, _customer_column_configuration)


async def post_behavioural_events(request: Request) -> Response:
    return await post_import(request, ImportProfile.BEHAVIOURAL_EVENTS, _customer_column_configuration)


async def get_corrections(request: Request) -> Response:
    _, job, refused = await requested_job(request)
    if refused is not None:
        return refused
    assert job is not None
    return StreamingResponse(
        service.corrections_csv(request.app.state.services.database, job.id),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="import-{job.id}-corrections.csv"'},
    )


def _customer_configuration(request: Request) -> dict[str, Any]:
    """LEADS and SEGMENT_MEMBERS: how rows name their customer."""
    return {
        "unique_identifier_type": request.query_params.get("uniqueIdentifierType", "MOBILE"),
        "append_country_code": query_flag(request, "appendCountryCode", False),
    }


async def post_leads(request: Request) -> Response:
    return await post_import(request, ImportProfile.LEADS, _customer_configuration)


async def post_segment_members(request: Request) -> Response:
    return await post_import(request, ImportProfile.SEGMENT_MEMBERS, _customer_configuration)


def _program_configuration(request: Request) -> dict[str, Any]:
    return {"program_code": request.query_params.get("program", "")}


async def post_points_debits(request: Request) -> Response:
    return await post_import(request, ImportProfile.POINTS_DEBITS, _program_configuration)


def _opening_balances_configuration(request: Request) -> dict[str, Any]:
    return {
        **_program_configuration(request),
        "register_unknown_customers": query_flag(request, "registerUnknownCustomers", True),
    }


async def post_opening_balances(request: Request) -> Response:
    return await post_import(request, ImportProfile.OPENING_BALANCES, _opening_balances_configuration)
