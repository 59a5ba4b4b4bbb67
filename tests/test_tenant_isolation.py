"""Tenant isolation, generated from schema.graphql: every root field (Query and Mutation) is called
with another organisation's key and the first organisation's identifying values (its customers'
mobile, email, external id, card and user id, its bills, redemption, promotion and its code,
user group, tracker, customer promotion, import job and template), and nothing of the first
organisation shows in the answers or changes in its rows.

The import routes outside GraphQL (/imports/<job id>, its rejects and corrections) are called
with the first organisation's job id too.

The calls are made by walking each root field's arguments: an identifying field takes the first
organisation's value from IDENTIFYING (by `Type.field`, then by field name), other required fields
a plain valid value of their type, lists of lookups the first organisation's customers. A root
field needing a value the walk cannot make fails the test (add the value, do not skip the field).
Each field is called once per way of naming a customer (MOBILE, EMAIL, ...) and of naming a user
group (EXTERNAL_ID, GROUP_ID).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
)

from tests.client import Api, add, define_tracker, purchase_day
from tests.conftest import TEST_NOW, make_org
from tests.documents import SAVE_TEMPLATE
from tests.factories import bill, transferable_spec
from tests.import_checks import finished, post_csv
from tests.snapshots import organization_rows
from tests.test_alternate_currencies import CURRENCIES

SCHEMA = build_schema((Path(__file__).resolve().parent.parent / "schema.graphql").read_text())
CUSTOMER_LOOKUP_TYPES = ("MOBILE", "EMAIL", "EXTERNAL_ID", "CARD_NUMBER", "USER_ID")
GROUP_LOOKUP_TYPES = ("EXTERNAL_ID", "GROUP_ID")
SELECTION_DEPTH = 3  # levels of objects selected under each root field
# Only the first organisation's data holds these words; the other organisation never sends them.
MARKERS = ("Zenobia", "Quillfeather", "Acme hidden sale", "Acme inner circle", "Acme fuel secret", "Acme diwali")


@dataclass
class Victim:
    """The first organisation's identifying values (what the other organisation sends)."""

    mobile: str = "9811100001"
    email: str = "zenobia@example.com"
    external_id: str = "ACME-EXT-1"
    card_number: str = "ACME-CARD-1"
    user_id: str = ""
    second_mobile: str = "9811100002"
    transaction_id: str = ""
    bill_number: str = ""
    purchase_day: str = ""
    redemption_id: str = ""
    currency_redemption_id: str = ""
    promotion_id: str = ""
    promo_code: str = "ACMESECRET"
    group_external_id: str = "ACME-GROUP"
    group_id: str = ""
    tracker_code: str = "ACMEFUEL"
    customer_promotion: str = "ACME-DIWALI"
    import_job_id: str = ""
    template_name: str = "acme-weekly"
    lead_id: str = ""
    segment_code: str = "ACME-SEGMENT"
    webhook_endpoint_id: str = ""
    lookups: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def org(database):
    """Both organisations allow points transfers and declare the same alternate currencies: the
    other's transfers get as far as the lookups. The first one holds a currency redemption and a
    currency transfer."""
    return await make_org(database, currencies_spec("acme"))


def currencies_spec(code: str) -> dict[str, Any]:
    spec = transferable_spec(code)
    spec["programs"][0]["alternate_currencies"] = CURRENCIES
    return spec


def mutation(name: str, input_type: str, selection: str) -> str:
    return f"mutation Setup($input: {input_type}!) {{ {name}(input: $input) {{ __typename {selection} }} }}"


async def succeeded(api: Api, name: str, input_type: str, values: dict[str, Any], selection: str = "") -> dict:
    result = (
        await api.data(mutation(name, input_type, selection + " ... on Error { code message }"), {"input": values})
    )[name]
    assert "code" not in result, result
    return result


async def set_up_victim(api: Api) -> Victim:
    """The first organisation's data, made through the API as its clients make it."""
    victim = Victim()
    customer = {
        "mobile": victim.mobile,
        "email": victim.email,
        "externalId": victim.external_id,
        "cardNumber": victim.card_number,
        "firstname": "Zenobia",
        "lastname": "Quillfeather",
    }
    transaction = (await add(api, bill(customer=customer)))["transaction"]
    await add(api, bill(customer={"mobile": victim.second_mobile}))
    victim.user_id = transaction["customer"]["userId"]
    victim.transaction_id, victim.bill_number = transaction["id"], transaction["number"]
    victim.purchase_day = purchase_day(transaction)
    victim.lookups = {
        "MOBILE": victim.mobile,
        "EMAIL": victim.email,
        "EXTERNAL_ID": victim.external_id,
        "CARD_NUMBER": victim.card_number,
        "USER_ID": victim.user_id,
    }
    by_mobile = {"type": "MOBILE", "value": victim.mobile}
    redeemed = await succeeded(
        api,
        "redeemPoints",
        "RedeemPointsInput",
        {"customer": by_mobile, "points": "2", "source": "INSTORE", "tillCode": "till-1"},
        "... on PointsRedeemed { redemption { id } }",
    )
    victim.redemption_id = redeemed["redemption"]["id"]
    currency_redeemed = await succeeded(
        api,
        "redeemAlternateCurrency",
        "RedeemAlternateCurrencyInput",
        {"customer": by_mobile, "currency": "rgpws7", "value": "1", "idempotencyKey": "acme-currency-1"},
        "... on AlternateCurrencyRedeemed { eventLogId }",
    )
    victim.currency_redemption_id = currency_redeemed["eventLogId"]
    await succeeded(
        api,
        "transferAlternateCurrency",
        "TransferAlternateCurrencyInput",
        {
            "from": by_mobile,
            "to": {"type": "MOBILE", "value": victim.second_mobile},
            "currency": "rgpws7",
            "value": "1",
            "idempotencyKey": "acme-currency-2",
        },
    )
    await succeeded(
        api,
        "transferPoints",
        "TransferPointsInput",
        {"from": by_mobile, "to": {"type": "MOBILE", "value": victim.second_mobile}, "points": "1"},
    )
    group = await succeeded(
        api,
        "createUserGroup",
        "CreateUserGroupInput",
        {"externalId": victim.group_external_id, "name": "Acme inner circle", "members": [by_mobile]},
        "... on UserGroupChanged { group { id } }",
    )
    victim.group_id = group["group"]["id"]
    assert (await define_tracker(api, victim.tracker_code, "TRANSACTION", "1", name="Acme fuel secret"))[
        "__typename"
    ] == "TrackerDefined"
    await succeeded(
        api,
        "addTrackerValue",
        "AddTrackerValueInput",
        {
            "trackerCode": victim.tracker_code,
            "customer": by_mobile,
            "bill": {"identification": "LOYALTY_LOG_ID", "loyaltyLogId": victim.transaction_id},
            "value": "3",
        },
    )
    promotion = await succeeded(
        api,
        "createPromotion",
        "CartPromotionInput",
        {
            "name": "Acme hidden sale",
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2027-01-01T00:00:00Z",
            "action": "PERCENT_OFF",
            "percent": "10",
            "commonCode": victim.promo_code,
        },
        "... on CartPromotionCreated { promotion { id } }",
    )
    victim.promotion_id = promotion["promotion"]["id"]
    await succeeded(
        api,
        "linkPromoCode",
        "LinkPromoCodeInput",
        {"code": victim.promo_code, "customer": by_mobile, "mode": "EVERY_CHECKOUT"},
    )
    await succeeded(
        api,
        "awardPromotionPoints",
        "AwardPromotionPointsInput",
        {
            "customer": by_mobile,
            "points": "5",
            "tillCode": "till-1",
            "promotion": {"identifier": victim.customer_promotion, "name": "Acme diwali"},
        },
    )
    template = await api.data(
        SAVE_TEMPLATE, {"input": {"name": victim.template_name, "points": {"programCode": "main"}}}
    )
    assert template["saveImportTemplate"]["__typename"] == "ImportTemplate"
    response = await post_csv(
        api, f"customerprofileid,amount\n{victim.external_id},7\n".encode(), fileName="acme-diwali.csv"
    )
    victim.import_job_id = str(response.json()["job"]["id"])
    assert (await finished(api, victim.import_job_id))["status"] == "DONE"
    lead = await succeeded(
        api,
        "createLead",
        "CreateLeadInput",
        {"customer": by_mobile, "leadType": "PRODUCT", "leadFor": "SKU-1", "subStatus": "Zenobia calls back"},
        "... on LeadChanged { lead { id } }",
    )
    victim.lead_id = lead["lead"]["id"]
    await succeeded(api, "createSegment", "CreateSegmentInput", {"code": victim.segment_code, "name": "Zenobia fans"})
    await succeeded(
        api, "addSegmentMembers", "SegmentMembersInput", {"segmentCode": victim.segment_code, "members": [by_mobile]}
    )
    endpoint = await succeeded(
        api,
        "createWebhookEndpoint",
        "CreateWebhookEndpointInput",
        {"url": "https://93.184.215.14/Zenobia-hooks", "eventTypes": ["points.earned"]},
        "... on WebhookEndpointWithSecret { endpoint { id } }",
    )
    victim.webhook_endpoint_id = endpoint["endpoint"]["id"]
    return victim


# --- The calls ----------------------------------------------------------------------------


def named(kind: Any) -> Any:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def identifying(victim: Victim) -> dict[str, Any]:
    """The first organisation's value for an input field, by `Type.field` or by the field's name."""
    return {
        "cartPromotion.id": victim.promotion_id,
        "endPromotion.id": victim.promotion_id,
        "importJob.id": victim.import_job_id,
        "promotionId": victim.promotion_id,
        "redemptionId": victim.redemption_id,
        "ReverseAlternateCurrencyRedemptionInput.eventLogId": victim.currency_redemption_id,
        # A currency both organisations declare: the call gets as far as the customers.
        "RedeemAlternateCurrencyInput.currency": "rgpws7",
        "TransferAlternateCurrencyInput.currency": "rgpws7",
        "transactionId": victim.transaction_id,
        "loyaltyLogId": victim.transaction_id,
        "pointsRedemptions": [victim.redemption_id],
        "couponRedemptions": [victim.promo_code],
        "ValidatePromoCodeInput.code": victim.promo_code,
        "LinkPromoCodeInput.code": victim.promo_code,
        "promoCodeStatus.code": victim.promo_code,
        "ResendCouponInput.code": victim.promo_code,
        "DefineTrackerInput.code": victim.tracker_code,
        "trackerCode": victim.tracker_code,
        "identifier": victim.customer_promotion,
        "promotionIdentifier": victim.customer_promotion,
        "CreateUserGroupInput.externalId": victim.group_external_id,
        "CustomerInput.mobile": victim.mobile,
        "CustomerInput.email": victim.email,
        "CustomerInput.externalId": victim.external_id,
        "CustomerInput.cardNumber": victim.card_number,
        "TransactionReturnInput.number": victim.bill_number,
        "TransactionReturnInput.parentBillNumber": victim.bill_number,
        "purchaseTime": victim.purchase_day,
        "billNumber": victim.bill_number,
        "transactionDate": victim.purchase_day,
        "templateName": victim.template_name,
        "SaveImportTemplateInput.name": victim.template_name,
        "leadId": victim.lead_id,
        "segmentCode": victim.segment_code,
        "CreateSegmentInput.code": victim.segment_code,
        "endpoint": victim.webhook_endpoint_id,
    }


# A plain valid value for a required field that names nothing of the first organisation.
PLAIN_SCALARS: dict[str, Any] = {
    "String": "other-1",
    "Decimal": "1",
    "Int": 8,
    "Boolean": False,
    "DateTime": TEST_NOW.isoformat(),
    "Date": TEST_NOW.date().isoformat(),
}
# Plain values the walk also gives where the field is optional (a till, a program, a profile).
PLAIN_BY_FIELD = {
    "TransactionAddInput.number": "OTHER-BILL-1",
    "tillCode": "till-1",
    "SaveImportTemplateInput.points": {"programCode": "main"},
    "programCode": "main",
    "CartPromotionInput.validUntil": "2027-01-01T00:00:00Z",
    "CartPromotionInput.percent": "10",
    "GeneratePromoCodesInput.count": 1,
    "UploadPromoCodesInput.csv": "code\nOTHERCODE1\n",
}


class CannotFillError(AssertionError):
    pass


@dataclass
class Filler:
    victim: Victim
    customer_lookup: str  # how this call names the first organisation's customers
    group_lookup: str | None  # None: optional group lookups are left out
    values: dict[str, Any]
    uploads: list[str] = field(default_factory=list)  # variables paths of files

    @property
    def upload_text(self) -> str:
        """The file an upload sends: a points row for the first organisation's customer."""
        return f"customerprofileid,amount\n{self.victim.external_id},10\n"

    def lookup_of_customer(self) -> dict[str, str]:
        return {"type": self.customer_lookup, "value": self.victim.lookups[self.customer_lookup]}

    def lookup_of_group(self) -> dict[str, str]:
        kind = self.group_lookup or "EXTERNAL_ID"
        value = self.victim.group_external_id if kind == "EXTERNAL_ID" else self.victim.group_id
        return {"type": kind, "value": value}

    def value(self, owner: str, name: str, kind: GraphQLInputType, path: str) -> Any:
        required = isinstance(kind, GraphQLNonNull)
        base = named(kind)
        for key in (f"{owner}.{name}", name):
            if key in self.values:
                return self.values[key]
        if base.name == "CustomerLookupInput":
            if not required and self.group_lookup is not None:
                return None  # the group variant names the group alone
            lookup = self.lookup_of_customer()
            return [lookup] if isinstance(named_list(kind), GraphQLList) else lookup
        if base.name == "UserGroupLookupInput":
            return self.lookup_of_group() if required or self.group_lookup is not None else None
        if base.name == "CustomerInput":
            return self.input_object(base, path)
        for key in (f"{owner}.{name}", name):
            if key in PLAIN_BY_FIELD:
                return PLAIN_BY_FIELD[key]
        if not required:
            return None
        if isinstance(named_list(kind), GraphQLList):
            return []
        if isinstance(base, GraphQLInputObjectType):
            return self.input_object(base, path)
        if isinstance(base, GraphQLEnumType):
            return next(iter(base.values))
        if base.name == "Upload":
            self.uploads.append(path)
            return None
        if base.name in PLAIN_SCALARS:
            return PLAIN_SCALARS[base.name]
        raise CannotFillError(f"no value for {owner}.{name} ({kind}): add it to IDENTIFYING or PLAIN_BY_FIELD")

    def input_object(self, kind: GraphQLInputObjectType, path: str) -> dict[str, Any]:
        filled = {}
        for name, input_field in kind.fields.items():
            value = self.value(kind.name, name, input_field.type, f"{path}.{name}")
            if value is not None or name in ("file",):
                filled[name] = value
        return filled


def named_list(kind: Any) -> Any:
    """The type without its outer non-null: a list shows as GraphQLList."""
    return kind.of_type if isinstance(kind, GraphQLNonNull) else kind


def selection(kind: GraphQLOutputType, depth: int) -> str:
    """Every field without required arguments, `depth` levels of objects deep, each union member's too."""
    base = named(kind)
    if isinstance(base, GraphQLScalarType | GraphQLEnumType):
        return ""
    if depth == 0:
        return "{ __typename }"
    if isinstance(base, GraphQLUnionType):
        members = " ".join(f"... on {member.name} {selection(member, depth)}" for member in base.types)
        return f"{{ __typename {members} }}"
    assert isinstance(base, GraphQLObjectType | GraphQLInterfaceType), base
    fields = " ".join(
        f"{name} {selection(child.type, depth - 1)}" for name, child in base.fields.items() if callable_plainly(child)
    )
    return f"{{ __typename {fields} }}"


def callable_plainly(child: GraphQLField) -> bool:
    return all(not isinstance(argument.type, GraphQLNonNull) for argument in child.args.values())


@dataclass
class Call:
    operation: str  # query or mutation
    field: str
    document: str
    variables: dict[str, Any]
    uploads: list[str]
    upload_text: str


def calls_of(schema: GraphQLSchema, victim: Victim) -> list[Call]:
    """Every root field, once per way of naming the first organisation's customer and group."""
    calls: list[Call] = []
    roots = [("query", schema.query_type), ("mutation", schema.mutation_type)]
    variants = [(kind, None) for kind in CUSTOMER_LOOKUP_TYPES] + [("MOBILE", kind) for kind in GROUP_LOOKUP_TYPES]
    for operation, root in roots:
        assert root is not None
        for name, root_field in root.fields.items():
            seen: list[dict[str, Any]] = []
            for customer_lookup, group_lookup in variants:
                filler = Filler(victim, customer_lookup, group_lookup, identifying(victim))
                variables = {
                    argument: filler.value(name, argument, definition.type, f"variables.{argument}")
                    for argument, definition in root_field.args.items()
                }
                variables = {argument: value for argument, value in variables.items() if value is not None}
                if variables in seen:
                    continue
                seen.append(variables)
                declared = ", ".join(f"${argument}: {root_field.args[argument].type}" for argument in variables)
                arguments = ", ".join(f"{argument}: ${argument}" for argument in variables)
                header = f"{operation} Isolation({declared})" if declared else f"{operation} Isolation"
                call = f"{name}({arguments})" if arguments else name
                document = f"{header} {{ {call} {selection(root_field.type, SELECTION_DEPTH)} }}"
                calls.append(Call(operation, name, document, variables, filler.uploads, filler.upload_text))
    return calls


async def send(api: Api, call: Call) -> str:
    """The call as the other organisation: the answer's text (files go as a multipart upload)."""
    headers = {"Authorization": api.credentials.header}
    if call.uploads:
        file_map = {str(index): [path] for index, path in enumerate(call.uploads)}
        operations = json.dumps({"query": call.document, "variables": call.variables})
        response = await api.client.post(
            "/graphql",
            headers=api.credentials.upload_headers,
            data={"operations": operations, "map": json.dumps(file_map)},
            files={key: ("other.csv", call.upload_text.encode(), "text/csv") for key in file_map},
        )
    else:
        response = await api.client.post(
            "/graphql", json={"query": call.document, "variables": call.variables}, headers=headers
        )
    assert response.status_code == 200, (call.document, call.variables, response.text)
    body = response.json()
    assert "errors" not in body, (call.document, call.variables, body)
    return response.text


async def test_no_root_field_shows_or_changes_anything_of_another_organisation(client_api, database, org_api, clock):
    victim = await set_up_victim(client_api)
    other = Api(client_api.client, (await org_api(currencies_spec("other"))).credentials, database, clock)
    before = await organization_rows(database, client_api.credentials.org_id)

    calls = calls_of(SCHEMA, victim)
    answered: set[str] = set()
    for call in calls:
        text = await send(other, call)
        leaked = [marker for marker in MARKERS if marker in text]
        assert leaked == [], (call.field, call.variables, text)
        answered.add(call.field)
    # Imports the other organisation submitted run in the background: wait until they end.
    jobs = (await other.data("{ importJobs(first: 100) { jobs { id } } }"))["importJobs"]["jobs"]
    for job in jobs:
        await finished(other, job["id"])

    # The import routes outside GraphQL take a job id too.
    for path in ("", "/rejects.csv", "/corrections.csv"):
        response = await other.client.get(
            f"/imports/{victim.import_job_id}{path}", headers={"Authorization": other.credentials.header}
        )
        assert (response.status_code, response.json()["error"]["code"]) == (404, "IMPORT_JOB_NOT_FOUND"), path

    assert await organization_rows(database, client_api.credentials.org_id) == before
    every_root_field = {name for root in (SCHEMA.query_type, SCHEMA.mutation_type) if root for name in root.fields}
    assert answered == every_root_field
    assert len(calls) >= len(every_root_field)


def test_a_field_the_walk_cannot_fill_fails_rather_than_being_skipped():
    schema = build_schema("type Query { thing(secret: Mystery!): Int } scalar Mystery")
    victim = Victim()
    victim.lookups = dict.fromkeys(CUSTOMER_LOOKUP_TYPES, "x")
    with pytest.raises(CannotFillError) as raised:
        calls_of(schema, victim)

    assert str(raised.value) == "no value for thing.secret (Mystery!): add it to IDENTIFYING or PLAIN_BY_FIELD"
