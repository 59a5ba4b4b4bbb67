"""Test organisations and request bodies (bills, customer lookups), built the way a client would send them."""

from __future__ import annotations

import copy
import itertools
from typing import Any

_bill_numbers = itertools.count(1)
_mobiles = itertools.count(1)

BASE_ORG: dict[str, Any] = {
    "organization": {
        "code": "acme",
        "name": "Acme Retail",
        "time_zone": "Asia/Kolkata",
        "base_country": "IN",
        "bill_number_unique_in_days": 30,
        "primary_identifier": "MOBILE",
        "skip_secondary_id_on_primary_mismatch": False,
    },
    "programs": [
        {
            "code": "main",
            "name": "Acme Rewards",
            "default": True,
            "points_rounding": "FLOOR",
            "points_decimal_places": 0,
            "expiry": {"strategy": "END_OF_MONTH_AFTER_MONTHS", "value": 12},
            "tiers": [
                {
                    "serial_number": 1,
                    "name": "bronze",
                    "description": "Bronze",
                    "upgrade_threshold": "0",
                    "earn_rate": "0.01",
                },
                {
                    "serial_number": 2,
                    "name": "silver",
                    "description": "Silver",
                    "upgrade_threshold": "20000",
                    "earn_rate": "0.02",
                },
                {
                    "serial_number": 3,
                    "name": "gold",
                    "description": "Gold",
                    "upgrade_threshold": "100000",
                    "earn_rate": "0.03",
                },
            ],
        },
        {
            "code": "cafe",
            "name": "Acme Cafe",
            "points_rounding": "HALF_UP",
            "points_decimal_places": 0,
            "expiry": {"strategy": "DAYS_AFTER_EARNING", "value": 90},
            "tiers": [{"serial_number": 1, "name": "member", "upgrade_threshold": "0", "earn_rate": "0.05"}],
        },
    ],
    "stores": [
        {
            "code": "store-1",
            "external_id": "S1",
            "name": "First store",
            "tills": [{"code": "till-1", "external_id": "T1"}, {"code": "till-cafe", "program": "cafe"}],
        },
        {"code": "store-2", "name": "Second store", "tills": [{"code": "till-2"}]},
    ],
}


def org_spec(code: str = "acme", **organization: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE_ORG)
    spec["organization"]["code"] = code
    spec["organization"].update(organization)
    return spec


def transferable_spec(code: str = "acme") -> dict[str, Any]:
    """The test organisation whose main program allows points transfers (the cafe program does not)."""
    spec = org_spec(code)
    spec["programs"][0]["points_transferable"] = True
    return spec


def by_mobile(mobile: str) -> dict[str, str]:
    """A customer lookup by mobile number."""
    return {"type": "MOBILE", "value": mobile}


def by_user_id(user_id: str) -> dict[str, str]:
    """A customer (or user group account) lookup by user id."""
    return {"type": "USER_ID", "value": user_id}


def new_mobile() -> str:
    """A valid Indian mobile number, unique within the test run, without country code."""
    return f"98{next(_mobiles):08d}"


def new_bill_number() -> str:
    return f"BILL-{next(_bill_numbers):06d}"


def bill(**overrides: Any) -> dict[str, Any]:
    """An addTransaction input: 3 line items, 1,800 net, for a customer given by mobile."""
    document: dict[str, Any] = {
        "type": "REGULAR",
        "number": new_bill_number(),
        "tillCode": "till-1",
        "amount": "1800",
        "grossAmount": "2000",
        "discount": "200",
        "currencyCode": "INR",
        "source": "INSTORE",
        "customer": {"mobile": new_mobile(), "firstname": "Tom", "lastname": "Sawyer"},
        "lineItems": [
            {
                "serial": 1,
                "itemCode": "SHIRT-01",
                "qty": "2",
                "rate": "500",
                "value": "1000",
                "discount": "100",
                "amount": "900",
            },
            {
                "serial": 2,
                "itemCode": "JEANS-01",
                "variant": "32-BLUE",
                "qty": "1",
                "rate": "800",
                "value": "800",
                "discount": "100",
                "amount": "700",
            },
            {"serial": 3, "itemCode": "SOCKS-01", "qty": "1", "rate": "200", "value": "200", "amount": "200"},
        ],
    }
    document.update(overrides)
    return document
