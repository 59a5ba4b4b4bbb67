"""The one check for text a client sends and the database stores.

Two kinds of text:
- Identifiers and codes (bill numbers, item codes, promo, program, store, till and tracker codes,
  external ids, mobiles, cards, import keys and template names ...): printable characters only,
  as `str.isprintable` says: no control character (newline, tab, NUL, C1), no format character
  (zero-width space and joiners, bidi overrides and isolates, BOM), no separator but the plain
  space, no private-use, unassigned or surrogate code point, no non-character (U+FFFF). Two codes
  that look alike must be alike.
- Free text (names, descriptions, notes): printable characters, plus line breaks and tabs, other
  spaces (no-break space ...) and invisible format characters that scripts and emoji need (the
  zero-width joiners), but never NUL, other controls, bidi embeddings, overrides or isolates (they
  make text read differently from what it is), or unassigned, private-use and surrogate code points.

Text with a refused character is refused, naming the field and the character: it is never
changed silently (a client that sent it learns of it, and what is stored is what was sent).
"""

from __future__ import annotations

import unicodedata

from app.kernel.errors import ValidationError

NUL = "\x00"  # PostgreSQL text cannot hold it: refused as input, never a 500
FREE_TEXT_CONTROLS = frozenset("\t\n\r")
# Embeddings, overrides and isolates: they reorder how the text around them is shown.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FREE_TEXT_CATEGORIES = frozenset({"Zs", "Cf"})  # spaces; invisible formatting (joiners, marks)


def refused_character(value: str, *, code: bool) -> str | None:
    """The first character `value` may not hold as a code (`code`) or as free text; None if none.
    `str.isprintable` (one pass in C) answers for almost every text: the loop runs only on the
    rest."""
    if value.isprintable():
        return None
    for character in value:
        if character.isprintable():
            continue
        if code or not (
            character in FREE_TEXT_CONTROLS
            or (unicodedata.category(character) in FREE_TEXT_CATEGORIES and character not in BIDI_CONTROLS)
        ):
            return character
    return None


def refusal_message(character: str) -> str:
    if character == NUL:
        return "must not contain NUL characters"
    return f"must not contain control or invisible characters (U+{ord(character):04X})"


def check_text(
    value: str | None, field: str, length_max: int, *, required: bool = False, code: bool = False
) -> str | None:
    """`value` as given when it fits its column: at most `length_max` characters (the column's, so a
    longer text is the client's error, not the database's) and only the characters its kind may
    hold (`code`: an identifier or code; otherwise free text). `required`: not blank either (give
    it stripped where surrounding blanks do not count). None passes unless required.
    """
    if value is None or (required and not value.strip()):
        if required:
            raise ValidationError(f"must be 1 to {length_max} characters", field=field)
        return None
    if len(value) > length_max:
        raise ValidationError(f"must be {'1 to' if required else 'at most'} {length_max} characters", field=field)
    character = refused_character(value, code=code)
    if character is not None:
        raise ValidationError(refusal_message(character), field=field)
    return value


def check_code(value: str | None, field: str, length_max: int, *, required: bool = False) -> str | None:
    """`check_text` for an identifier or a code."""
    return check_text(value, field, length_max, required=required, code=True)


def check_required_text(value: str | None, field: str, length_max: int, *, code: bool = False) -> str:
    """`check_text` for text that must be there; returns it stripped of surrounding blanks."""
    checked = check_text(value.strip() if value is not None else None, field, length_max, required=True, code=code)
    assert checked is not None
    return checked


def check_required_code(value: str | None, field: str, length_max: int) -> str:
    """`check_required_text` for an identifier or a code."""
    return check_required_text(value, field, length_max, code=True)
