"""What a merge moves besides the customers' own rows (identifiers, balances, purchases, user
groups): the rows that the domains above customers keep of a customer (loyalty cards, leads,
segment memberships, interactions, behavioural events). They move inside the merge's write
transaction, so the victim keeps none of them.

Those domains import customers, so customers must not import them back: like the table registry
(app/storage/tables.py) finds every domain's models, this finds every `app.<package>.merge`
module and runs its `move_to_survivor(connection, move)`. A new domain that keeps rows of a
customer adds a `merge.py`, and merges move its rows.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

import app
from app.organizations.config import OrgConfig


@dataclass(frozen=True)
class MergeMove:
    """One merge, as the domains' steps are given it: move the victim's rows to the survivor."""

    org: OrgConfig
    survivor_id: int
    victim_id: int
    now: datetime

    def parameters(self) -> dict[str, int]:
        """The parameters of app.storage.customer_rows.move_to_survivor_statement."""
        return {"org_id": self.org.id, "survivor_id": self.survivor_id, "victim_id": self.victim_id}


# Returns what moved, for the survivor's COMBINE history row (its `details`); {} when nothing did.
MoveStep = Callable[[AsyncConnection, MergeMove], Awaitable[dict[str, Any]]]


@cache
def move_steps() -> tuple[MoveStep, ...]:
    """Every domain's step, in package name order: every merge touches the tables in one order."""
    steps: list[MoveStep] = []
    for package in sorted(pkgutil.iter_modules(app.__path__), key=lambda found: found.name):
        name = f"app.{package.name}.merge"
        if package.ispkg and importlib.util.find_spec(name) is not None:
            steps.append(importlib.import_module(name).move_to_survivor)
    return tuple(steps)


async def move_records(connection: AsyncConnection, move: MergeMove) -> dict[str, Any]:
    """Each domain's rows of the victim moved to the survivor: what moved, by kind (kinds of
    which nothing moved are left out)."""
    moved: dict[str, Any] = {}
    for step in move_steps():
        moved.update(await step(connection, move))
    return moved
