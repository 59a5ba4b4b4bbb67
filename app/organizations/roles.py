"""The roles an API key holds, and which roles may call each operation of the API.

A key holds one or more roles; a call is allowed when the key holds any of the roles its
operation lists. `OPERATION_ROLES` is the one table of who may call what: every GraphQL root
field (Query and Mutation, by field name) and every HTTP route under /imports and /downloads ("METHOD path",
the route's path as declared). The schema and the routes are checked against it when the app is
built, and tests/test_roles.py calls every operation with and without its roles, so an
operation missing here cannot ship.
"""

from __future__ import annotations

from enum import StrEnum

from app.kernel.errors import ForbiddenError, ValidationError


class Role(StrEnum):
    TILL = "till"  # a point of sale: posts bills and returns
    APP = "app"  # a brand's app backend: reads customers and their ledgers, validates codes, redeems
    MEMBER_CARE = "member_care"  # reads everything about customers, adjusts, merges
    ADMIN = "admin"  # organisation settings, promotions, reconciliation, imports


ALL_ROLES = frozenset(Role)

TILL, APP, MEMBER_CARE, ADMIN = Role.TILL, Role.APP, Role.MEMBER_CARE, Role.ADMIN
EVERY_ROLE = (TILL, APP, MEMBER_CARE, ADMIN)
CUSTOMER_READERS = (APP, MEMBER_CARE)

OPERATION_ROLES: dict[str, frozenset[Role]] = {
    name: frozenset(roles)
    for name, roles in {
        # --- GraphQL queries ---
        "organization": EVERY_ROLE,  # programs, tiers, stores and tills: what every client reads
        "customer": CUSTOMER_READERS,
        "ledgerEntries": CUSTOMER_READERS,
        "ledgerClosingBalance": CUSTOMER_READERS,
        "customerHistory": (MEMBER_CARE,),
        "customerPointsTransfers": (MEMBER_CARE,),
        "reconciliation": (ADMIN,),
        "validateRedemption": CUSTOMER_READERS,
        "pointsRedemptions": CUSTOMER_READERS,
        "customerPromotion": CUSTOMER_READERS,
        "userGroup": CUSTOMER_READERS,
        "trackers": (APP, MEMBER_CARE, ADMIN),
        "customerTrackerHistory": CUSTOMER_READERS,
        "validatePromoCode": CUSTOMER_READERS,
        "cartPromotion": (MEMBER_CARE, ADMIN),
        "cartPromotions": (MEMBER_CARE, ADMIN),
        "linkedPromoCodes": CUSTOMER_READERS,
        "promoCodeStatus": (MEMBER_CARE, ADMIN),
        "importJob": (ADMIN,),
        "importJobs": (ADMIN,),
        "importTemplates": (ADMIN,),
        "customerCoupons": CUSTOMER_READERS,
        "customerCouponRedemptions": CUSTOMER_READERS,
        "customerTierHistory": CUSTOMER_READERS,
        "customerPromotionHistory": CUSTOMER_READERS,
        "identifierHistory": (MEMBER_CARE,),
        "customerLeads": (MEMBER_CARE,),
        "segments": (APP, MEMBER_CARE, ADMIN),
        "customerSegments": CUSTOMER_READERS,
        "customerSegmentHistory": (MEMBER_CARE,),
        "customerInteractions": CUSTOMER_READERS,
        "customerBehaviouralEvents": (MEMBER_CARE,),
        "customers": (MEMBER_CARE,),
        # --- GraphQL mutations ---
        "addTransaction": (TILL,),
        "addTransactions": (TILL,),
        "returnTransaction": (TILL,),
        "transferPoints": CUSTOMER_READERS,
        "mergeCustomers": (MEMBER_CARE,),
        "redeemPoints": CUSTOMER_READERS,
        "reverseRedemption": CUSTOMER_READERS,
        "convertTriggerBasedPoints": CUSTOMER_READERS,
        "awardPromotionPoints": (MEMBER_CARE, ADMIN),
        "createUserGroup": CUSTOMER_READERS,
        "addUserGroupMembers": CUSTOMER_READERS,
        "removeUserGroupMembers": CUSTOMER_READERS,
        "defineTracker": (ADMIN,),
        "addTrackerValue": (TILL, APP, MEMBER_CARE),
        "createPromotion": (ADMIN,),
        "endPromotion": (ADMIN,),
        "generatePromoCodes": (ADMIN,),
        "uploadPromoCodes": (ADMIN,),
        "linkPromoCode": CUSTOMER_READERS,
        "importPoints": (ADMIN,),
        "importCustomerPromotion": (ADMIN,),
        "importTrackerValues": (ADMIN,),
        "saveImportTemplate": (ADMIN,),
        "resendCoupon": (MEMBER_CARE,),
        "adjustPoints": (MEMBER_CARE,),
        "changeIdentifier": (MEMBER_CARE,),
        "issueCard": (MEMBER_CARE,),
        "setCardStatus": (MEMBER_CARE,),
        "createLead": (MEMBER_CARE,),
        "updateLeadStatus": (MEMBER_CARE,),
        "addLeadFollowUp": (MEMBER_CARE,),
        "createSegment": (MEMBER_CARE, ADMIN),
        "addSegmentMembers": (MEMBER_CARE,),
        "removeSegmentMembers": (MEMBER_CARE,),
        "importLeads": (ADMIN,),
        "importSegmentMembers": (ADMIN,),
        "recordInteractions": (APP, MEMBER_CARE),
        "recordBehaviouralEvents": (TILL, APP, MEMBER_CARE),
        "importInteractions": (ADMIN,),
        "importBehaviouralEvents": (ADMIN,),
        "importPointsDebits": (ADMIN,),
        "importOpeningBalances": (ADMIN,),
        "registerCustomer": (MEMBER_CARE,),
        "updateCustomer": (MEMBER_CARE,),
        "redeemAlternateCurrency": CUSTOMER_READERS,
        "reverseAlternateCurrencyRedemption": CUSTOMER_READERS,
        "transferAlternateCurrency": CUSTOMER_READERS,
        # --- GraphQL subscriptions (WebSocket): the roles of the query each streams ---
        "customerLedger": CUSTOMER_READERS,  # ledgerEntries; importJob streams the importJob query's job
        # --- HTTP routes ---
        "POST /imports/points": (ADMIN,),
        "POST /imports/promotion": (ADMIN,),
        "POST /imports/tracker": (ADMIN,),
        "POST /imports/leads": (ADMIN,),
        "POST /imports/segments": (ADMIN,),
        "GET /imports/{job_id:int}": (ADMIN,),
        "GET /imports/{job_id:int}/rejects.csv": (ADMIN,),
        "GET /imports/{job_id:int}/corrections.csv": (ADMIN,),
        # downloads (app/http/downloads): the roles of the GraphQL query each list comes from
        "GET /downloads/ledger-entries.{format}": CUSTOMER_READERS,  # ledgerEntries
        "GET /downloads/transactions.{format}": CUSTOMER_READERS,  # customer { transactions }
        "GET /downloads/points-redemptions.{format}": CUSTOMER_READERS,  # pointsRedemptions
        "GET /downloads/expiry-schedule.{format}": CUSTOMER_READERS,  # customer { expirySchedule }
        "GET /downloads/expired-points.{format}": CUSTOMER_READERS,  # customer { expiredPoints }
        "GET /downloads/points-transfers.{format}": (MEMBER_CARE,),  # customerPointsTransfers
        "GET /downloads/tracker-history.{format}": CUSTOMER_READERS,  # customerTrackerHistory
        "GET /downloads/customer-history.{format}": (MEMBER_CARE,),  # customerHistory
        "GET /downloads/customer-coupons.{format}": CUSTOMER_READERS,  # customerCoupons
        "GET /downloads/customer-coupon-redemptions.{format}": CUSTOMER_READERS,  # customerCouponRedemptions
        "GET /downloads/customer-tier-history.{format}": CUSTOMER_READERS,  # customerTierHistory
        "GET /downloads/customer-promotion-history.{format}": CUSTOMER_READERS,  # customerPromotionHistory
        "GET /downloads/identifier-history.{format}": (MEMBER_CARE,),  # identifierHistory
        "GET /downloads/customer-interactions.{format}": CUSTOMER_READERS,  # customerInteractions
        "GET /downloads/customer-behavioural-events.{format}": (MEMBER_CARE,),  # customerBehaviouralEvents
        "GET /downloads/customer-leads.{format}": (MEMBER_CARE,),  # customerLeads
        "GET /downloads/customer-segment-history.{format}": (MEMBER_CARE,),  # customerSegmentHistory
        "POST /imports/interactions": (ADMIN,),
        "POST /imports/behavioural-events": (ADMIN,),
        "POST /v1/loyalty_programs/{program_id}/import_points": (ADMIN,),  # Talon.One's import_points
        "webhookEndpoints": (ADMIN,),
        "webhookDeliveryLog": (ADMIN,),
        "createWebhookEndpoint": (ADMIN,),
        "updateWebhookEndpoint": (ADMIN,),
        "rotateWebhookSecret": (ADMIN,),
        "deleteWebhookEndpoint": (ADMIN,),
        "replayWebhooks": (ADMIN,),
        "POST /imports/points-debits": (ADMIN,),
        "POST /imports/opening-balances": (ADMIN,),
    }.items()
}


class UndeclaredOperationError(LookupError):
    """An operation of the API that OPERATION_ROLES does not list: nobody may call it."""


def counting_role(key_roles: frozenset[Role], operation_roles: frozenset[Role]) -> Role | None:
    """The role whose rate limit a call counts against: the first, in Role's order, that the key
    holds and the operation takes (None when the key may not call it at all)."""
    return next((role for role in Role if role in key_roles and role in operation_roles), None)


def roles_for(operation: str) -> frozenset[Role]:
    """The roles that may call `operation` (a root field's name, or "METHOD /imports/..." route)."""
    try:
        return OPERATION_ROLES[operation]
    except KeyError:
        raise UndeclaredOperationError(f"{operation} declares no roles in app/organizations/roles.py") from None


class RoleRequiredError(ForbiddenError):
    """The API key holds none of the roles the operation needs."""

    def __init__(self, operation: str, roles: frozenset[Role]) -> None:
        super().__init__(f"{operation} needs an API key with {describe(roles)}")
        self.roles = sorted(role.value for role in roles)
        # What a response's error carries beside the message (graphql-core copies an original
        # error's `extensions` into the GraphQL error).
        self.extensions = {"code": self.code, "roles": self.roles}


def describe(roles: frozenset[Role]) -> str:
    """ "the role admin" or "one of the roles app, member_care", for messages."""
    names = sorted(role.value for role in roles)
    return f"the role {names[0]}" if len(names) == 1 else f"one of the roles {', '.join(names)}"


def parse_roles(names: list[str] | str, *, field: str = "roles") -> frozenset[Role]:
    """Role names (a list, or the stored comma-separated text) as roles; at least one, each known."""
    listed = names.split(",") if isinstance(names, str) else names
    unknown = sorted(set(listed) - {role.value for role in Role})
    if unknown:
        raise ValidationError(
            f"unknown role {', '.join(unknown)}: choose from {', '.join(role.value for role in Role)}", field=field
        )
    if not listed:
        raise ValidationError(f"name at least one role: {', '.join(role.value for role in Role)}", field=field)
    return frozenset(Role(name) for name in listed)


def stored_roles(roles: frozenset[Role]) -> str:
    """The roles as the api_keys.roles column keeps them: names in a fixed order, comma-separated."""
    return ",".join(role.value for role in Role if role in roles)
