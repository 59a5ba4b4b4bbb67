"""The pure promotion rules: each action's discount and rounding, conditions, stacking, code
formats and generation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.kernel.errors import ValidationError
from app.promotions import rules
from app.promotions.errors import PromoCodeExpiredError, PromoCodeNotYetActiveError, PromoConditionsNotMetError
from app.promotions.models import PromotionAction
from app.promotions.rules import AttributeCondition, Cart, CartLine, PromotionTerms

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def terms(action, **fields):
    return PromotionTerms(valid_from=START, valid_until=END, action=action, **fields)


SHIRT = CartLine("SHIRT-01", D(2), D("900"), (AttributeCondition("brand", "acme"),))
JEANS = CartLine("JEANS-01", D(1), D("700"))
SOCKS = CartLine("SOCKS-01", D(3), D("199.99"))
CART = Cart(D("1799.99"), (SHIRT, JEANS, SOCKS))


def test_percent_off_the_bill_rounds_half_up_to_2_places():
    assert rules.discount(terms(PromotionAction.PERCENT_OFF, percent=D(10)), Cart(D("123.45")), "f") == D("12.35")
    assert rules.discount(terms(PromotionAction.PERCENT_OFF, percent=D("12.5")), Cart(D("0.04")), "f") == D("0.01")
    assert rules.discount(terms(PromotionAction.PERCENT_OFF, percent=D(100)), CART, "f") == D("1799.99")


def test_percent_off_eligible_items_by_code_or_attribute():
    by_code = terms(PromotionAction.PERCENT_OFF, percent=D(15), eligible_item_codes=("SOCKS-01",))
    assert rules.discount(by_code, CART, "f") == D("30.00")  # 15% of 199.99 = 29.9985
    by_attribute = terms(
        PromotionAction.PERCENT_OFF, percent=D(10), eligible_attributes=(AttributeCondition("brand", "acme"),)
    )
    assert rules.discount(by_attribute, CART, "f") == D("90.00")
    either = terms(
        PromotionAction.PERCENT_OFF,
        percent=D(10),
        eligible_item_codes=("JEANS-01",),
        eligible_attributes=(AttributeCondition("brand", "acme"),),
    )
    assert rules.discount(either, CART, "f") == D("160.00")


def test_fixed_amount_off_is_at_most_what_it_is_taken_from():
    assert rules.discount(terms(PromotionAction.FIXED_AMOUNT_OFF, amount=D("50")), CART, "f") == D("50")
    on_socks = terms(PromotionAction.FIXED_AMOUNT_OFF, amount=D("500"), eligible_item_codes=("SOCKS-01",))
    assert rules.discount(on_socks, CART, "f") == D("199.99")
    # Capped in whole cents below what it is taken from: 10.0049 gives at most 10.00.
    assert rules.discount(terms(PromotionAction.FIXED_AMOUNT_OFF, amount=D("50")), Cart(D("10.0049")), "f") == D(
        "10.00"
    )


def test_free_product_gives_one_unit_at_its_cart_price():
    assert rules.discount(terms(PromotionAction.FREE_PRODUCT, free_item_code="SOCKS-01"), CART, "f") == D("66.66")
    with pytest.raises(PromoConditionsNotMetError) as raised:
        rules.discount(terms(PromotionAction.FREE_PRODUCT, free_item_code="HAT-01"), CART, "input.promoCodes[0]")
    assert raised.value.field == "input.promoCodes[0]"


def test_bundle_price_per_complete_set():
    bundle = terms(PromotionAction.BUNDLE_PRICE, amount=D("1000"), bundle_item_codes=("SHIRT-01", "JEANS-01"))
    # One set (1 jeans): a shirt at 450 and jeans at 700 cost 1,150, the bundle 1,000.
    assert rules.discount(bundle, CART, "f") == D("150")
    two_sets = Cart(D("2300"), (SHIRT, CartLine("JEANS-01", D(2), D("1400"))))
    assert rules.discount(bundle, two_sets, "f") == D("300")
    cheaper_already = terms(PromotionAction.BUNDLE_PRICE, amount=D("2000"), bundle_item_codes=("SHIRT-01", "JEANS-01"))
    with pytest.raises(PromoConditionsNotMetError) as raised:
        rules.discount(cheaper_already, CART, "f")
    assert raised.value.message == "the promotion gives no discount on this cart"
    with pytest.raises(PromoConditionsNotMetError):
        rules.discount(bundle, Cart(D("900"), (SHIRT,)), "f")


def test_conditions_minimum_bill_and_eligible_items():
    over_100 = terms(PromotionAction.PERCENT_OFF, percent=D(10), minimum_bill_amount=D(100))
    assert rules.discount(over_100, Cart(D(100)), "f") == D(10)
    with pytest.raises(PromoConditionsNotMetError):
        rules.discount(over_100, Cart(D("99.99")), "f")
    with pytest.raises(PromoConditionsNotMetError):
        rules.discount(terms(PromotionAction.FIXED_AMOUNT_OFF, amount=D(5), eligible_item_codes=("HAT-01",)), CART, "f")


def test_the_window_includes_its_start_and_excludes_its_end():
    window = terms(PromotionAction.PERCENT_OFF, percent=D(10))
    rules.check_window(window, START, "f")
    rules.check_window(window, END - timedelta(microseconds=1), "f")
    with pytest.raises(PromoCodeNotYetActiveError):
        rules.check_window(window, START - timedelta(microseconds=1), "f")
    with pytest.raises(PromoCodeExpiredError):
        rules.check_window(window, END, "f")


def test_several_codes_never_take_more_than_the_bill():
    assert rules.total_discount([D(60), D(50), D(10)], Cart(D(100))) == [D(60), D(40), D(0)]


def test_a_linked_code_the_cap_cuts_to_nothing_waits_and_a_named_one_is_refused():
    fields = ["input.promoCodes[0]", "input.promoCodes[1]", "input.linked"]
    assert rules.stackable([D(60), D(40), D(10)], [True, True, False], Cart(D(100)), fields) == [True, True, False]
    with pytest.raises(PromoConditionsNotMetError) as refused:
        rules.stackable([D(100), D(10)], [True, True], Cart(D(100)), fields[:2])
    assert refused.value.field == "input.promoCodes[1]"


def test_codes_are_normalised_and_checked():
    assert rules.check_code("  zn34c ", "f") == "ZN34C"
    for bad in ("abc", "x" * 41, "ZN 34C", "ZN34C!", "-ABC"):
        with pytest.raises(ValidationError):
            rules.check_code(bad, "f")


def test_generated_codes_use_only_the_alphabet_without_look_alikes():
    assert not set("0O1ILU") & set(rules.ALPHABET)
    codes = rules.random_codes(2000, 12, "PX-", random.Random(3).randbytes)
    assert len(codes) == 2000
    assert all(code.startswith("PX-") and len(code) == 15 and set(code[3:]) <= set(rules.ALPHABET) for code in codes)
    # Every character of the alphabet shows up about equally often (rejection sampling: no bias).
    counts = dict.fromkeys(rules.ALPHABET, 0)
    for code in codes:
        for character in code[3:]:
            counts[character] += 1
    expected = 2000 * 12 / len(rules.ALPHABET)
    assert all(0.85 * expected < count < 1.15 * expected for count in counts.values())


def test_generation_requests_are_checked():
    assert rules.check_generation(1_000_000, 8, "hx") == rules.GenerationRequest(1_000_000, 8, "HX")
    for count, length, prefix, field in (
        (0, 8, None, "input.count"),
        (10, 3, None, "input.length"),
        (100_000, 4, None, "input.length"),
        (10, 8, "bad prefix", "input.prefix"),
        (10, 25, None, "input.length"),
        (10, 8, "ABCDEFGHIJKLM", "input.prefix"),
    ):
        with pytest.raises(ValidationError) as raised:
            rules.check_generation(count, length, prefix)
        assert raised.value.field == field


def test_upload_parsing_reports_rows():
    parsed = rules.parse_upload("notes,CODE\nx,abcd\ny,ab\nz,ABCD\n")
    assert parsed.codes == [(2, "ABCD")]
    assert [(error.row, error.error_code) for error in parsed.errors] == [(3, "INVALID_CODE"), (4, "DUPLICATE_IN_FILE")]
