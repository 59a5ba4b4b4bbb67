"""The ErrorCode enum: every code a domain error can carry, each with what it means.

`Error.code` stays a String (typed clients already read it as one); this enum is published beside
it, through the schema's extra types, so that clients and readers of schema.graphql can see every
value it may take. The codes are read from the DomainError classes themselves (a class's `code`
and the first paragraph of its docstring), so a new error class shows up here without an edit.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from enum import Enum
from typing import Any

import strawberry

import app
from app.kernel.errors import DomainError

# Packages whose errors never reach a GraphQL client (and that must not be imported from here).
OUTWARD_PACKAGES = frozenset({"graphql", "http", "cli"})

# ImportFileError carries its code per instance (the reason a file cannot be imported: an import
# job's errorCode, or an Error's code when an upload is refused), so its codes are listed here.
IMPORT_FILE_CODES = {
    "EMPTY_FILE": "The file is empty: it needs a header row and at least one row.",
    "NO_ROWS": "The file has a header but no rows.",
    "INVALID_ENCODING": "A row of the file is not UTF-8.",
    "MISSING_COLUMN": "The header lacks a column the import needs.",
    "UNKNOWN_COLUMN": "The header has a column the import does not know.",
    "DUPLICATE_COLUMN": "A column appears twice in the header.",
    "CONFLICTING_COLUMNS": "The header has two columns that say the same thing: use one.",
    "LINE_TOO_LONG": "A line of the file is longer than an import reads.",
    "MALFORMED_CSV": "A row of the file is not valid CSV.",
    "FILE_TOO_LARGE": "The file is larger than the import size limit.",
    "FILE_MISSING": "The file of an import job cannot be read any more.",
}

# For the codes whose classes have no docstring.
DESCRIPTIONS = {
    "INVALID_INPUT": "The input is malformed or breaks a rule; the field says which input.",
    "NOT_FOUND": "What the input names does not exist in this organisation.",
    "CONFLICT": "The request conflicts with the current state.",
    "FORBIDDEN": "The API key holds none of the roles this operation needs (the message names them).",
    "INSUFFICIENT_POINTS": "The customer has fewer spendable points than asked for.",
    "IDEMPOTENCY_KEY_REUSED": "This idempotency key was used before with a different request.",
    "IDENTIFIER_REQUIRED": "A REGULAR bill names no identifier of its customer (mobile, email, external id, card).",
    "BATCH_TOO_LARGE": "The batch has more items than one request may carry.",
    "INVALID_IDENTIFIER": "An identifier is not valid for its type (a mobile, an email, ...).",
    "CUSTOMER_NOT_FOUND": "No customer of this organisation has this identifier or user id.",
    "USER_GROUP_NOT_FOUND": "No user group of this organisation has this external id or group id.",
    "IMPORT_JOB_NOT_FOUND": "No import job of this organisation has this id.",
    "IMPORT_TEMPLATE_NOT_FOUND": "No saved import template of this organisation has this name.",
    "TEMPLATE_PROFILE_MISMATCH": "The import template is saved for another profile.",
    "PROMOTION_NOT_FOUND": "No promotion of this organisation has this id or identifier.",
    "PROMO_CODE_NOT_YET_ACTIVE": "The code's promotion has not started yet.",
    "PROMO_CODE_EXISTS": "The code exists already in this organisation (a new promotion's common code).",
    "PROGRAM_NOT_FOUND": "No program of this organisation has this code.",
    "STORE_NOT_FOUND": "No store of this organisation has this code.",
    "TILL_NOT_FOUND": "No till of this organisation has this code.",
    "TRACKER_NOT_FOUND": "No tracker of this organisation has this code.",
    "ALREADY_FULLY_RETURNED": "Nothing is left of the bill to return.",
}
DESCRIPTION_MISSING = "(No description yet: the message says more.)"


def import_domain_errors() -> None:
    """Import every `app.<package>.errors` module, so that walking DomainError's subclasses finds
    the error classes of packages nothing else imported yet."""
    for package in pkgutil.iter_modules(app.__path__):
        name = f"app.{package.name}.errors"
        if package.ispkg and package.name not in OUTWARD_PACKAGES and importlib.util.find_spec(name):
            importlib.import_module(name)


def domain_error_classes() -> list[type[DomainError]]:
    """Every subclass of DomainError loaded now, in a stable order (module, then class name)."""
    found: list[type[DomainError]] = []
    pending = list(DomainError.__subclasses__())
    while pending:
        error_class = pending.pop()
        found.append(error_class)
        pending.extend(error_class.__subclasses__())
    return sorted(set(found), key=lambda error_class: (error_class.__module__, error_class.__qualname__))


def _first_paragraph(docstring: str | None) -> str | None:
    if not docstring or not docstring.strip():
        return None
    return " ".join(docstring.strip().split("\n\n")[0].split())


def error_code_descriptions() -> dict[str, str]:
    """Every code a domain error can carry, with its description, in code order."""
    import_domain_errors()
    described: dict[str, str | None] = dict(IMPORT_FILE_CODES)
    for error_class in domain_error_classes():
        code = error_class.__dict__.get("code")  # its own code; ImportFileError's come per instance
        if isinstance(code, str) and not described.get(code):
            described[code] = _first_paragraph(error_class.__doc__) or DESCRIPTIONS.get(code)
    return {code: described[code] or DESCRIPTION_MISSING for code in sorted(described)}


@functools.cache
def error_code_enum() -> Any:
    """The ErrorCode schema enum (built once, when the schema is: every domain is imported by then)."""
    values = {
        code: strawberry.enum_value(code, description=description)
        for code, description in error_code_descriptions().items()
    }
    codes: type[Enum] = Enum("ErrorCode", values)  # type: ignore[misc]  # members from data, not a literal
    return strawberry.enum(
        codes,
        name="ErrorCode",
        description=(
            "Every code an Error can carry, with what it means. Error.code is a String, so that a new code "
            "breaks no client; this enum lists the codes there are."
        ),
    )
