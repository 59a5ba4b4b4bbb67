"""What the member-care tests of batch recordings share: each result told apart in one line."""

from __future__ import annotations

from typing import Any


def outcomes(results: list[dict[str, Any]], success_field: str) -> list[tuple]:
    """Each result as (type, its `success_field`) when recorded, else (type, code, field)."""
    return [
        (result["__typename"], result[success_field])
        if success_field in result
        else (result["__typename"], result["code"], result["field"])
        for result in results
    ]
