"""The one check for text a client sends and the database stores."""

from __future__ import annotations

from app.kernel.errors import ValidationError

NUL = "\x00"  # PostgreSQL text cannot hold it: refused as input, never a 500


def check_text(value: str | None, field: str, length_max: int, *, required: bool = False) -> str | None:
    """`value` as given when it fits its column: at most `length_max` characters (the column's, so a
    longer text is the client's error, not the database's) and no NUL. `required`: not blank
    either (give it stripped where surrounding blanks do not count). None passes unless required.
    """
    if value is None or (required and not value.strip()):
        if required:
            raise ValidationError(f"must be 1 to {length_max} characters", field=field)
        return None
    if len(value) > length_max:
        raise ValidationError(f"must be {'1 to' if required else 'at most'} {length_max} characters", field=field)
    if NUL in value:
        raise ValidationError("must not contain NUL characters", field=field)
    return value


def check_required_text(value: str | None, field: str, length_max: int) -> str:
    """`check_text` for text that must be there; returns it stripped of surrounding blanks."""
    checked = check_text(value.strip() if value is not None else None, field, length_max, required=True)
    assert checked is not None
    return checked
