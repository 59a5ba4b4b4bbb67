"""Pure rules of referrals: the codes, the qualifying purchase, the referrer's limits."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.organizations.config import ReferralConfig
from app.referrals.models import REFERRAL_CODE_LENGTH

# No 0/O, 1/I/L: a code is read aloud at a till and typed on a phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_code() -> str:
    """A random code: 31^8 (about 8.5e11) codes, so a collision is rare and retried, never shown."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def normalized(code: str) -> str:
    """Codes are matched as typed, without case or surrounding spaces."""
    return code.strip().upper()


def qualifies(referral: ReferralConfig, eligible_amount: Decimal, first_purchase: bool) -> bool:
    return eligible_amount >= referral.minimum_amount and (first_purchase or not referral.first_purchase_only)


def month_start(now: datetime, time_zone: ZoneInfo) -> datetime:
    """The first instant of `now`'s calendar month in the org's time zone (the monthly limit's window)."""
    local = now.astimezone(time_zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def referrer_points(referral: ReferralConfig, awarded_this_month: int, awarded_in_total: int) -> Decimal:
    """The referrer's award: the program's, or none once either limit is reached."""
    if referral.referrer_awards_per_month is not None and awarded_this_month >= referral.referrer_awards_per_month:
        return Decimal(0)
    if referral.referrer_awards_total is not None and awarded_in_total >= referral.referrer_awards_total:
        return Decimal(0)
    return referral.referrer_points
