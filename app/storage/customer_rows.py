"""The one statement a merge runs on every domain table that keeps rows of a customer: the
victim's rows become the survivor's (customer_id rewritten, nothing else)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, update


def move_to_survivor_statement(table: Table, *returning: Any) -> Any:
    """UPDATE `table` SET customer_id = survivor WHERE org_id = org AND customer_id = victim
    (RETURNING `returning` when given), for a repository to build once; run it with
    `move_parameters`."""
    statement = (
        update(table)
        .where(table.c.org_id == bindparam("move_org_id"), table.c.customer_id == bindparam("move_victim_id"))
        .values(customer_id=bindparam("move_survivor_id"))
    )
    return statement.returning(*returning) if returning else statement


def move_parameters(*, org_id: int, survivor_id: int, victim_id: int) -> dict[str, int]:
    return {"move_org_id": org_id, "move_survivor_id": survivor_id, "move_victim_id": victim_id}
