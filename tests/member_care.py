"""What the member-care tests of batch recordings share: each result told apart in one line."""

from __future__ import annotations

from typing import Any

from tests.client import error_of


def outcomes(results: list[dict[str, Any]], success_field: str) -> list[tuple]:
    """Each result as (type, its `success_field`) when recorded, else (type, code, field)."""
    return [
        (result["__typename"], result[success_field]) if success_field in result else error_of(result)
        for result in results
    ]
