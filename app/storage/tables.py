"""The table registry: every domain's SQLModel tables in one MetaData (Alembic, tests).

Storage sits below the domains and must not import them, so the registry finds them: each
`app.<package>.models` module is imported once, which registers its tables on SQLModel's
metadata. A new domain's tables are found by putting them in its own `models.py`.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from functools import cache

from sqlalchemy import MetaData, Table
from sqlmodel import SQLModel

import app


@cache
def registered_tables() -> MetaData:
    for package in pkgutil.iter_modules(app.__path__):
        if package.ispkg and importlib.util.find_spec(f"app.{package.name}.models") is not None:
            importlib.import_module(f"app.{package.name}.models")
    return SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """A model's table, for Core statements (SQLModel sets `__table__` on every table class; its type
    hints do not say so)."""
    return model.__table__  # type: ignore[attr-defined]
