"""The one reader of numbers that arrive as text (the API's Decimal scalar, CSV cells, organisation
files; whole numbers such as ids and cursors through `read_whole_number`), and the ranges each kind
of number may take, written down here once.

The grammar is exactly: an optional leading minus (only where the field allows negatives), ASCII
digits, and optionally a point followed by ASCII digits: `12`, `12.50`, `-3.25`, `0.5`. Anything
else is refused: `+5`, `1e5`, `1_000`, `.5`, `5.`, `NaN`, `Infinity`, Arabic-Indic or other
non-ASCII digits, spaces around or inside, and the empty text. Length and digit counts are checked
before a Decimal is made, so no text can make decimal arithmetic slow or overflow.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from app.kernel.errors import ValidationError
from app.kernel.money import AMOUNT_SCALE, POINTS_SCALE, RATE_SCALE

# re.ASCII: \d would match Arabic-Indic and other digits; [0-9] with ASCII matching cannot.
DECIMAL_PATTERN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
GRAMMAR = "a decimal number: ASCII digits, an optional leading minus and an optional fraction, such as 12.50"


@dataclass(frozen=True, slots=True)
class DecimalRange:
    """What one kind of number accepts: below 10**integer_digits_max in size, at most
    fraction_digits_max decimal places, and a minus sign only when negative_allowed."""

    integer_digits_max: int
    fraction_digits_max: int
    negative_allowed: bool = False
    # Worked out once: they are read for every number of every request.
    limit: Decimal = field(init=False, compare=False)  # the first size out of range
    text_length_max: int = field(init=False, compare=False)  # minus, digits, point, digits

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", Decimal(10) ** self.integer_digits_max)
        object.__setattr__(self, "text_length_max", 1 + self.integer_digits_max + 1 + self.fraction_digits_max)


# Every range the product uses. Amounts and points are kept scaled by 10**4 in 64-bit integer
# columns (about 9.2 x 10^14 units at most): the limits below leave room for sums of many rows.
AMOUNT = DecimalRange(11, AMOUNT_SCALE)  # money on bills, carts and promotions: below 10^11
QUANTITY = DecimalRange(11, AMOUNT_SCALE)  # a line's quantity, counted like money
PROMOTION_AMOUNT = DecimalRange(11, 2)  # a promotion's amounts and minimum bill: whole cents
PERCENT = DecimalRange(3, 2)  # a promotion's percent off (at most 100, which the promotion checks)
POINTS = DecimalRange(12, POINTS_SCALE)  # points awarded, redeemed, transferred: below 10^12
IMPORTED_POINTS = DecimalRange(9, POINTS_SCALE)  # points of an import's row: below 10^9, more is a typo
TRACKED_VALUE = DecimalRange(12, AMOUNT_SCALE, negative_allowed=True)  # a tracker's value, may be negative
RATE = DecimalRange(7, RATE_SCALE)  # points per unit and earn rates: up to 1,000,000, 6 places
# The API's Decimal scalar reads every field with this one range (it cannot know the field), the
# union of the ranges above; each field's own range is then checked by the domain, naming the field.
# 16 + 12 digits stay within the decimal context's 28, so quantizing never overflows.
ANY_FIELD = DecimalRange(16, 12, negative_allowed=True)


class Refusal(Enum):
    """Why a text is not a number of its range."""

    GRAMMAR = "grammar"
    NEGATIVE = "negative"
    SIZE = "size"
    PLACES = "places"

    def message(self, bounds: DecimalRange) -> str:
        """For a person, in the terms of the field's own range."""
        if self is Refusal.GRAMMAR:
            return f"must be {GRAMMAR}"
        if self is Refusal.NEGATIVE:
            return "must not be negative"
        if self is Refusal.PLACES:
            return f"must have at most {bounds.fraction_digits_max} decimal places"
        if bounds.negative_allowed:
            return f"must be more than -{bounds.limit:,} and less than {bounds.limit:,}"
        return f"must be less than {bounds.limit:,}"


def read_decimal(text: str, bounds: DecimalRange) -> Decimal | Refusal:
    """The number `text` spells within `bounds`, or why it is refused."""
    if len(text) > bounds.text_length_max:
        # Refused before any parsing: digits beyond the range, or not a number at all.
        return Refusal.SIZE if text.isascii() and text.lstrip("-").replace(".", "", 1).isdigit() else Refusal.GRAMMAR
    match = DECIMAL_PATTERN.fullmatch(text)
    if match is None:
        return Refusal.GRAMMAR
    sign, integer, fraction = match.groups()
    if sign and not bounds.negative_allowed:
        return Refusal.NEGATIVE
    if len(integer.lstrip("0")) > bounds.integer_digits_max:
        return Refusal.SIZE
    if fraction is not None and len(fraction) > bounds.fraction_digits_max:
        return Refusal.PLACES
    return Decimal(text)


def parse_decimal(text: str, field: str, bounds: DecimalRange) -> Decimal:
    """`read_decimal`, refusing with INVALID_INPUT on `field`."""
    result = read_decimal(text, bounds)
    if isinstance(result, Refusal):
        raise ValidationError(result.message(bounds), field=field)
    return result


class RefusedDecimal(Decimal):
    """What the API's Decimal scalar hands on for a value outside the grammar or ANY_FIELD: not a
    number (NaN, so no comparison or arithmetic can use it by mistake) carrying why. The scalar
    runs before any resolver and cannot name the field; `check_decimal`, which every decimal input
    passes, raises the refusal as a typed error naming it."""

    refusal: Refusal

    def __new__(cls, refusal: Refusal) -> RefusedDecimal:
        instance = super().__new__(cls, "NaN")
        instance.refusal = refusal
        return instance


def check_decimal(value: Decimal, field: str, bounds: DecimalRange, *, positive: bool = False) -> Decimal:
    """A Decimal from the API within the field's own `bounds` (`positive`: more than 0): finite,
    signed as allowed, below the limit, no more decimal places; INVALID_INPUT on `field` otherwise.
    Comparisons and the exponent only: no arithmetic that a huge value could make slow. Every
    decimal input passes here before anything else reads it (a RefusedDecimal cannot be compared)."""
    if isinstance(value, RefusedDecimal):
        raise ValidationError(value.refusal.message(bounds), field=field)
    if not value.is_finite():
        raise ValidationError(Refusal.GRAMMAR.message(bounds), field=field)
    if positive and value <= 0:
        raise ValidationError("must be more than 0", field=field)
    if value.is_signed() and not bounds.negative_allowed:  # "-0" too: the minus is what is refused
        raise ValidationError(Refusal.NEGATIVE.message(bounds), field=field)
    if not -bounds.limit < value < bounds.limit:
        raise ValidationError(Refusal.SIZE.message(bounds), field=field)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    places = bounds.fraction_digits_max
    if -exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):  # "1.50000" has 4 places
        raise ValidationError(Refusal.PLACES.message(bounds), field=field)
    return value


ID_MAX = 2**63 - 1  # ids are 64-bit integers: a larger number names nothing


def read_whole_number(text: str, maximum: int, minimum: int = 1) -> int | None:
    """A whole number as ids, counts and cursors are written: ASCII digits only (no sign, spaces,
    separators or other scripts' digits), from `minimum` to `maximum`; None otherwise. The length
    is checked before the text is read."""
    if not text or len(text) > len(str(maximum)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


# Texts of decimals printed lately, by value: responses print the same amounts again and again (a
# page's awards, a balance on many entries), and a lookup costs a third of normalizing and
# formatting. Equal decimals print the same ("1.0" and "1" are "1"), so any of them may stand for
# the others; only Decimals are looked up (True and 1.0 equal Decimal(1) too).
DECIMAL_TEXTS_MAX = 16_384


def decimal_text(value: Decimal) -> str:
    """A decimal as the API prints it: no exponent, no trailing zeros ("106", "12.5", "0")."""
    if type(value) is not Decimal:
        return _printed(value)
    try:
        return _remembered_text(value)
    except TypeError:  # a signalling NaN cannot be hashed (none is ever stored)
        return _printed(value)


def _printed(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


_remembered_text = functools.lru_cache(maxsize=DECIMAL_TEXTS_MAX)(_printed)
