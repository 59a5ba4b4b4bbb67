"""Pure calculations: no database, no API."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.customers.errors import InvalidIdentifierError
from app.customers.rules import NormalizedMobile, normalize_email, normalize_mobile, normalize_mobile_number
from app.graphql.core.scalars import parse_decimal, serialize_decimal
from app.kernel.decimals import RefusedDecimal
from app.kernel.money import from_scaled_integer, to_scaled_integer
from app.ledger.rules import debt_payments, lot_expiry, round_points
from app.organizations.models import ExpiryStrategy, PointsRounding

IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    ("raw", "rounding", "places", "expected"),
    [
        ("10.5", PointsRounding.FLOOR, 0, "10"),
        ("10.5", PointsRounding.CEILING, 0, "11"),
        ("10.5", PointsRounding.HALF_UP, 0, "11"),
        ("10.5", PointsRounding.HALF_EVEN, 0, "10"),
        ("11.5", PointsRounding.HALF_EVEN, 0, "12"),
        ("10.125", PointsRounding.HALF_UP, 2, "10.13"),
        ("10.001", PointsRounding.CEILING, 2, "10.01"),
    ],
)
def test_points_round_by_the_programs_rule(raw, rounding, places, expected):
    assert round_points(Decimal(raw), rounding, places) == Decimal(expected)


@pytest.mark.parametrize(
    ("strategy", "value", "earned_at", "expected"),
    [
        (ExpiryStrategy.NEVER, None, datetime(2026, 3, 15, 4, 30, tzinfo=UTC), None),
        # 23:30 IST on 31 March is still 31 March locally, although it is 18:00 UTC.
        (
            ExpiryStrategy.DAYS_AFTER_EARNING,
            90,
            datetime(2026, 3, 31, 18, 0, tzinfo=UTC),
            datetime(2026, 6, 29, 23, 59, 59, tzinfo=IST),
        ),
        (
            ExpiryStrategy.DAYS_AFTER_EARNING,
            1,
            datetime(2026, 3, 31, 18, 31, tzinfo=UTC),
            datetime(2026, 4, 2, 23, 59, 59, tzinfo=IST),
        ),
        (
            ExpiryStrategy.END_OF_MONTH_AFTER_MONTHS,
            12,
            datetime(2026, 3, 15, 4, 30, tzinfo=UTC),
            datetime(2027, 3, 31, 23, 59, 59, tzinfo=IST),
        ),
        (
            ExpiryStrategy.END_OF_MONTH_AFTER_MONTHS,
            1,
            datetime(2026, 1, 31, 4, 30, tzinfo=UTC),
            datetime(2026, 2, 28, 23, 59, 59, tzinfo=IST),
        ),
        (
            ExpiryStrategy.END_OF_MONTH_AFTER_MONTHS,
            11,
            datetime(2027, 3, 1, 4, 30, tzinfo=UTC),
            datetime(2028, 2, 29, 23, 59, 59, tzinfo=IST),
        ),
    ],
)
def test_lots_expire_at_the_end_of_a_local_day(strategy, value, earned_at, expected):
    assert lot_expiry(strategy, value, earned_at, IST) == expected


@pytest.mark.parametrize(
    ("balance_before", "lots", "expected"),
    [
        # No debt: every lot keeps its points.
        (Decimal(5), [(Decimal(3), None)], [(0, Decimal(0))]),
        # A debt smaller than the credit: paid out of the lot, the rest stays in it.
        (Decimal(-2), [(Decimal(5), None)], [(0, Decimal(2))]),
        # A debt larger than the credit: the whole credit pays it.
        (Decimal(-9), [(Decimal(5), None)], [(0, Decimal(5))]),
        # Several lots: soonest-expiring first, never-expiring last, equal dates as given.
        (
            Decimal(-6),
            [
                (Decimal(4), None),
                (Decimal(2), datetime(2027, 2, 1, tzinfo=UTC)),
                (Decimal(3), datetime(2027, 1, 1, tzinfo=UTC)),
                (Decimal(1), datetime(2027, 1, 1, tzinfo=UTC)),
            ],
            [(2, Decimal(3)), (3, Decimal(1)), (1, Decimal(2)), (0, Decimal(0))],
        ),
        # The bulk path plans in the driver's scaled integers: the same rule.
        (-250, [(1000, None)], [(0, 250)]),
    ],
)
def test_a_credit_into_a_negative_balance_pays_the_debt_first(balance_before, lots, expected):
    assert debt_payments(balance_before, lots) == expected


@given(
    balance_before=st.integers(-1000, 1000),
    lots=st.lists(
        st.tuples(st.integers(1, 500), st.sampled_from([None, datetime(2027, 1, 1, tzinfo=UTC)])), max_size=4
    ),
)
def test_what_pays_the_debt_is_the_debt_or_the_credit_whichever_is_less(balance_before, lots):
    paid = [points for _, points in debt_payments(balance_before, lots)]

    assert sum(paid) == min(max(-balance_before, 0), sum(points for points, _ in lots))
    assert all(0 <= points <= lots[index][0] for index, points in debt_payments(balance_before, lots))


@pytest.mark.parametrize("given_number", ["9800000001", "919800000001", "+91 98000 00001", "+91-98000-00001"])
def test_a_mobile_has_one_canonical_spelling(given_number):
    assert normalize_mobile(given_number, "IN", "mobile") == "919800000001"


def test_a_foreign_mobile_keeps_its_own_country_code():
    assert normalize_mobile("+6591234567", "IN", "mobile") == "6591234567"


@pytest.mark.parametrize("bad", ["12345", "abc", "", "+0000000"])
def test_a_bad_mobile_is_a_typed_error_naming_the_field(bad):
    with pytest.raises(InvalidIdentifierError) as raised:
        normalize_mobile(bad, "IN", "input.customer.mobile")
    assert (raised.value.code, raised.value.field) == ("INVALID_IDENTIFIER", "input.customer.mobile")


@pytest.mark.parametrize(
    ("given_number", "expected"),
    [
        ("9800000001", NormalizedMobile("919800000001", 91)),
        ("09800000001", NormalizedMobile("919800000001", 91)),
        ("919800000001", NormalizedMobile("919800000001", None)),
        ("+91 98000 00001", NormalizedMobile("919800000001", None)),
        ("447911123456", NormalizedMobile("447911123456", None)),
    ],
)
def test_the_normaliser_says_when_it_added_the_base_countrys_code(given_number, expected):
    assert normalize_mobile_number(given_number, "IN", "mobile") == expected


def test_without_a_base_country_a_mobile_must_carry_its_country_code():
    assert normalize_mobile_number("919800000001", None, "mobile") == NormalizedMobile("919800000001", None)
    with pytest.raises(InvalidIdentifierError):
        normalize_mobile_number("9800000001", None, "mobile")


def test_emails_compare_case_insensitively():
    assert normalize_email(" Tom@Example.COM ", "email") == "tom@example.com"


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4, allow_nan=False, allow_infinity=False)
)
def test_fixed_point_columns_round_trip_exactly(value):
    assert from_scaled_integer(to_scaled_integer(value, 4), 4) == value


def test_fixed_point_columns_refuse_finer_values():
    with pytest.raises(ValueError, match="more than 4 decimal places"):
        to_scaled_integer(Decimal("1.00001"), 4)


@pytest.mark.parametrize(
    ("value", "text"), [("106.0000", "106"), ("12.50", "12.5"), ("0.0000", "0"), ("1E+3", "1000"), ("-3.25", "-3.25")]
)
def test_decimals_serialize_without_exponent_or_trailing_zeros(value, text):
    assert serialize_decimal(Decimal(value)) == text


def test_decimals_parse_json_numbers_through_their_text():
    assert parse_decimal(0.1) == Decimal("0.1")
    assert parse_decimal("18000") == Decimal(18000)
    assert isinstance(parse_decimal("NaN"), RefusedDecimal)  # refused by the field, which names itself
    with pytest.raises(ValueError, match="a decimal number is expected"):
        parse_decimal(True)


def test_the_programs_rule_rounds_the_exact_product_once():
    from app.organizations.config import ProgramConfig, TierConfig
    from app.transactions.rules import earn

    tier = TierConfig(
        id=1, serial_number=1, name="t", description="", upgrade_threshold=Decimal(0), earn_rate=Decimal("0.00003")
    )
    program = ProgramConfig(
        id=1,
        code="p",
        name="p",
        is_default=True,
        points_rounding=PointsRounding.FLOOR,
        points_decimal_places=0,
        expiry_strategy=ExpiryStrategy.NEVER,
        expiry_value=None,
        tier_validity_months=None,
        tiers=(tier,),
    )

    earning = earn(program, tier, Decimal(0), Decimal("33333.33"), Decimal("33333.33"))

    # 33,333.33 x 0.00003 = 0.9999999: floor gives 0, though the raw value kept (6 places) shows 1.
    assert (earning.points, earning.points_raw) == (Decimal(0), Decimal("1.000000"))
