"""Schemathesis sends generated requests for every root field of schema.graphql to a real server
(uvicorn on loopback, a fresh SQLite database with the test organisation): whatever the input,
the answer is never a 5xx and never "Unexpected error." (an unexpected failure the server masks).

A short run is part of the suite (FUZZ_EXAMPLES_DEFAULT examples per operation); `scripts/test
--fuzz` runs this file alone with more (POINTLEDGER_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from tests.client import Credentials
from tests.conftest import POSTGRES_URL
from tests.server import database_with_org, running_server

FUZZ_EXAMPLES_DEFAULT = 20  # about 35 s for the 44 root fields on the 2-core machine
FUZZ_EXAMPLES = int(os.environ.get("POINTLEDGER_FUZZ_EXAMPLES", FUZZ_EXAMPLES_DEFAULT))
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
MASKED = "Unexpected error."

# Strategies for the schema's own scalars: well-formed values and near misses (what a client
# gets wrong: junk, the wrong shape, numbers out of every column's range), as the GraphQL
# literals Schemathesis sends.
_decimal_text = st.one_of(
    st.decimals(min_value=-(10**12), max_value=10**12, places=4).map(str),
    st.sampled_from(["-0", "0.00001", "NaN", "", "abc", "1e1000000", "1e999999999", "-1e26", "9" * 40, "+5", "1_000"]),
    st.text(max_size=12),
)
schemathesis.graphql.scalar("Decimal", _decimal_text.map(nodes.String))
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
        st.sampled_from(["2026-11-25T12:00:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00Z"]),
        st.text(max_size=20),
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Date", st.one_of(st.dates().map(lambda day: day.isoformat()), st.text(max_size=12)).map(nodes.String)
)
schemathesis.graphql.scalar("JSON", st.text(max_size=20).map(nodes.String))
schemathesis.graphql.scalar("Upload", st.text(max_size=20).map(nodes.String))

schema = schemathesis.graphql.from_path(SCHEMA_FILE)


@pytest.fixture(scope="module")
async def fuzz_credentials(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Credentials]:
    """A fresh database with the test organisation: (its URL, the organisation's key)."""
    if POSTGRES_URL:
        pytest.skip("the fuzz run is on SQLite (the issue asks for it there; PostgreSQL runs the suite)")
    return await database_with_org(migrated_template, tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def server(fuzz_credentials: tuple[str, Credentials], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(fuzz_credentials[0], tmp_path_factory.mktemp("fuzz-server")) as base_url:
        yield base_url


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize="POINTLEDGER_FUZZ_EXAMPLES" not in os.environ,  # the suite's run is the same each time
)
def test_no_generated_request_gets_a_server_error_or_an_unexpected_error(
    case: schemathesis.Case, server: str, fuzz_credentials: tuple[str, Credentials]
) -> None:
    _, credentials = fuzz_credentials
    response = case.call(base_url=f"{server}/graphql", headers={"Authorization": credentials.header}, timeout=30)
    assert response.status_code < 500, (case.body, response.text)
    assert MASKED not in response.text, (case.body, response.text)
