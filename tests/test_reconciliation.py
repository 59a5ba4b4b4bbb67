"""The reconciliation query (admin API keys only) and the `pointledger reconcile` command."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.graphql.core.scalars import serialize_decimal
from app.kernel.enums import PointsCategory
from app.ledger.models import PointAccount
from app.organizations.models import Program
from app.organizations.roles import ALL_ROLES, Role
from tests.client import Credentials, buy, earn, merge, transfer
from tests.conftest import make_key, make_org
from tests.factories import by_mobile, new_mobile, org_spec, transferable_spec

accounts = PointAccount.__table__
programs = Program.__table__

RECONCILIATION = """
query Reconciliation {
  reconciliation {
    __typename
    ... on Reconciliation {
      checkedAccounts
      discrepancies { accountId customerId programCode category check stored computed }
    }
    ... on Error { code message field }
  }
}
"""

ACCOUNTS_PER_CUSTOMER = 6  # 2 programs x 3 points categories


@pytest.fixture
async def org(database):
    return await make_org(database, transferable_spec())


async def admin_key(database, org_id: int) -> Credentials:
    return await make_key(database, org_id, frozenset({Role.ADMIN}), "auditor")


async def reconciliation(api, credentials: Credentials) -> dict:
    return (await api.data(RECONCILIATION, credentials=credentials))["reconciliation"]


async def some_activity(api) -> list[str]:
    """Purchases in two programs, a transfer, an explicit merge and a merge by a bill's identifiers:
    four customers registered, two of them merged away."""
    mobiles = [new_mobile() for _ in range(4)]
    user_ids = [await earn(api, mobile, "10000") for mobile in mobiles]
    await buy(api, mobiles[0], "1000", till="till-cafe")
    moved = await transfer(api, by_mobile(mobiles[0]), by_mobile(mobiles[1]), "25")
    assert moved["__typename"] == "PointsTransferred"
    merged = await merge(api, by_mobile(mobiles[1]), by_mobile(mobiles[2]))
    assert merged["__typename"] == "CustomersMerged"
    await earn(api, mobiles[3], "100", email="x@example.com")
    await earn(api, mobiles[0], "100", email="x@example.com")  # merges the fourth into the first
    return user_ids


async def main_regular_account(database, user_id: str):
    async with database.read() as connection:
        return (
            await connection.execute(
                select(accounts.c.id, accounts.c.balance, accounts.c.earned)
                .join(programs, programs.c.id == accounts.c.program_id)
                .where(
                    accounts.c.customer_id == int(user_id),
                    programs.c.code == "main",
                    accounts.c.category == PointsCategory.REGULAR.value,
                )
            )
        ).one()


async def test_an_admin_key_sees_every_account_of_its_org_agree_after_a_mix_of_activity(api, database, org):
    other_org = await make_org(database, org_spec("other"))
    await earn(api, new_mobile(), "1000", credentials=other_org)  # not this org's accounts
    await some_activity(api)

    report = await reconciliation(api, await admin_key(database, org.org_id))

    assert report == {"__typename": "Reconciliation", "checkedAccounts": 4 * ACCOUNTS_PER_CUSTOMER, "discrepancies": []}


async def test_a_key_without_the_admin_role_is_forbidden(api, database, org):
    await some_activity(api)
    till_app_and_member_care = await make_key(database, org.org_id, ALL_ROLES - {Role.ADMIN})

    refused = await api.post(RECONCILIATION, credentials=till_app_and_member_care)

    assert refused == {
        "data": None,
        "errors": [
            {
                "message": "reconciliation needs an API key with the role admin",
                "locations": [{"line": 3, "column": 3}],
                "path": ["reconciliation"],
                "extensions": {"code": "FORBIDDEN", "roles": ["admin"]},
            }
        ],
    }


async def test_a_corrupted_balance_is_reported_to_the_admin_of_its_org_only(api, database, org):
    user_ids = await some_activity(api)
    account = await main_regular_account(database, user_ids[1])
    other_org = await make_org(database, org_spec("other"))

    async def corrupt(connection):
        # Test-only: the API never writes a balance without its entry; this is what reconciliation is for.
        await connection.execute(
            update(accounts).where(accounts.c.id == account.id).values(balance=accounts.c.balance + 7)
        )

    await database.run_write(corrupt)
    report = await reconciliation(api, await admin_key(database, org.org_id))
    other_report = await reconciliation(api, await admin_key(database, other_org.org_id))

    stored, computed = serialize_decimal(account.balance + 7), serialize_decimal(account.balance)
    found = {"accountId": str(account.id), "customerId": user_ids[1], "programCode": "main", "category": "REGULAR"}
    assert report == {
        "__typename": "Reconciliation",
        "checkedAccounts": 4 * ACCOUNTS_PER_CUSTOMER,
        "discrepancies": [
            {**found, "check": "balance", "stored": stored, "computed": computed},
            {**found, "check": "last_balance_after", "stored": stored, "computed": computed},
            # The lots still hold the true balance: the stored figure here is the lots' total.
            {**found, "check": "lots_total", "stored": computed, "computed": stored},
        ],
    }
    assert other_report == {"__typename": "Reconciliation", "checkedAccounts": 0, "discrepancies": []}


# --- The command line -------------------------------------------------------------------------


async def pointledger(database, *arguments: str) -> tuple[int, str]:
    """Run the `pointledger` command against the test database; returns (exit code, output)."""
    executable = Path(sys.executable).parent / "pointledger"
    environment = {**os.environ, "POINTLEDGER_DATABASE_URL": database.url, "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        str(executable), *arguments, env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode()


async def test_the_cli_creates_an_admin_key_and_reconcile_exits_non_zero_on_a_discrepancy(api, database, org):
    user_ids = await some_activity(api)

    created_code, created = await pointledger(
        database, "apikey", "create", "acme", "--role", "admin", "--name", "auditor"
    )
    clean_code, clean = await pointledger(database, "reconcile", "--org", "acme")
    account = await main_regular_account(database, user_ids[0])

    async def corrupt(connection):
        await connection.execute(
            update(accounts).where(accounts.c.id == account.id).values(earned=accounts.c.earned - 1)
        )

    await database.run_write(corrupt)
    broken_code, broken = await pointledger(database, "reconcile", "--org", "acme")

    assert created_code == 0, created
    key_id = re.search(r"key id: (\S+)", created).group(1)
    secret = re.search(r"secret: (\S+)", created).group(1)
    report = await reconciliation(api, Credentials(org.org_id, key_id, secret))
    assert (clean_code, clean.strip()) == (0, "0 discrepancies")
    assert broken_code == 1
    # The key the command made is an admin key: it sees the same discrepancy.
    assert report == {
        "__typename": "Reconciliation",
        "checkedAccounts": 4 * ACCOUNTS_PER_CUSTOMER,
        "discrepancies": [
            {
                "accountId": str(account.id),
                "customerId": user_ids[0],
                "programCode": "main",
                "category": "REGULAR",
                "check": "earned",
                "stored": serialize_decimal(account.earned - 1),
                "computed": serialize_decimal(account.earned),
            },
        ],
    }
    assert f"account {account.id} (REGULAR, customer {user_ids[0]}): earned" in broken
    assert broken.strip().endswith("1 discrepancies")
