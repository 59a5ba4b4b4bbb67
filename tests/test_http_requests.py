"""Requests the HTTP layer refuses before any GraphQL runs: each gets a 4xx with a JSON error, never
a 500 (issue 12: bodies that are not objects, malformed multipart uploads, job ids past the
database's integers, several Authorization headers, cross-site forms), and the probes: /health (the process lives)
and /ready (the database answers with its schema current), and a 503 when the database is down."""

from __future__ import annotations

import gc

import httpx
import pytest
from sqlalchemy import text

from app.http.app import app_factory, create_app
from app.kernel.settings import Settings
from app.storage import migrate
from app.storage.database import Database
from tests.documents import ADD_TRANSACTION
from tests.snapshots import table_counts

TYPENAME = '{"query": "{ __typename }"}'


def assert_refused(response, message: str, code: str = "BAD_REQUEST") -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": code}}]}


@pytest.mark.parametrize("body", ["null", "5", '"a string"', "true"])
async def test_a_json_body_that_is_not_an_object_is_a_400(api, body):
    response = await api.client.post(
        "/graphql", content=body, headers={"Authorization": api.credentials.header, "Content-Type": "application/json"}
    )

    assert_refused(response, "The request body must be a JSON object.")


@pytest.mark.parametrize(
    ("operations", "files_map", "message"),
    [
        (TYPENAME, "[]", "Malformed multipart request: the map does not fit the operations."),
        (TYPENAME, '{"0": null}', "Malformed multipart request: the map does not fit the operations."),
        ("5", "{}", "The request body must be a JSON object."),
        (
            '{"query": "{ __typename }", "variables": null}',
            '{"0": ["variables.x"]}',
            "Malformed multipart request: the map does not fit the operations.",
        ),
        (
            '{"query": "{ __typename }", "variables": {"a": []}}',
            '{"0": ["variables.a.5"]}',
            "Malformed multipart request: the map does not fit the operations.",
        ),
    ],
)
async def test_a_malformed_multipart_upload_is_a_400(api, operations, files_map, message):
    response = await api.client.post(
        "/graphql",
        headers=api.credentials.upload_headers,
        data={"operations": operations, "map": files_map},
        files={"0": ("points.csv", b"customerprofileid,amount\n", "text/csv")},
    )

    assert_refused(response, message)


@pytest.mark.parametrize("path", ["/imports/{id}", "/imports/{id}/rejects.csv", "/imports/{id}/corrections.csv"])
async def test_an_import_job_id_past_the_databases_integers_is_not_found(api, path):
    response = await api.client.get(
        path.format(id="99999999999999999999999"), headers={"Authorization": api.credentials.header}
    )

    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "IMPORT_JOB_NOT_FOUND", "message": "no such import job", "field": "id"}
    }


@pytest.mark.parametrize("path", ["/graphql", "/imports/1"])
async def test_two_authorization_headers_are_refused_on_every_route(api, path):
    headers = [("Authorization", api.credentials.header), ("Authorization", "Basic b3RoZXI6c2VjcmV0")]

    response = await (
        api.client.post(path, headers=headers, json={"query": ADD_TRANSACTION, "variables": {}})
        if path == "/graphql"
        else api.client.get(path, headers=headers)
    )

    assert_refused(response, "Send one Authorization header, not several.")


# --- Health and readiness ---------------------------------------------------------------------


async def test_ready_says_the_database_answers_with_its_schema_current(api, database):
    ready = await api.client.get("/ready")

    async def set_revision(revision: str | None) -> None:
        async with database.write_engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})

    await set_revision("an_older_one")
    try:
        behind = await api.client.get("/ready")
    finally:  # PostgreSQL's test database outlives the test
        await set_revision(migrate.head_revision())

    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert behind.status_code == 503
    assert behind.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_with_the_database_down_the_api_answers_503_and_health_still_ok(api, clock):
    unreachable = Database("postgresql+asyncpg://pointledger@127.0.0.1:1/nowhere", pool_size=1)
    app = create_app(Settings(database_url=unreachable.url, maintenance_interval_seconds=0), unreachable, clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            health = await client.get("/health")
            ready = await client.get("/ready")
            graphql = await client.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": api.credentials.header}
            )
            job = await client.get("/imports/1", headers={"Authorization": api.credentials.header})
    finally:
        await unreachable.dispose()

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    for response in (ready, graphql, job):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.json() == {
            "errors": [
                {
                    "message": "The database is unavailable; try again shortly.",
                    "extensions": {"code": "SERVICE_UNAVAILABLE"},
                }
            ]
        }


# --- Cross-site requests --------------------------------------------------------------------------


@pytest.mark.parametrize("preflight", [{}, {"X-Pointledger-CSRF": ""}])
async def test_a_multipart_upload_without_a_header_a_form_cannot_send_is_refused(api, database, preflight):
    operations = '{"query": "mutation { importPoints(input: {file: null}) { __typename } }"}'

    response = await api.client.post(
        "/graphql",
        headers={"Authorization": api.credentials.header, **preflight},
        data={"operations": operations, "map": '{"0": ["variables.input.file"]}'},
        files={"0": ("points.csv", b"customerprofileid,amount\nL-1,1\n", "text/csv")},
    )

    assert_refused(response, "A multipart request needs the x-pointledger-csrf header (any value), against CSRF.")
    assert (await table_counts(database))["import_jobs"] == 0


async def test_a_form_encoded_post_is_refused(api):
    response = await api.client.post(
        "/graphql",
        headers={"Authorization": api.credentials.header},
        data={"query": 'mutation { endPromotion(id: "1") { __typename } }'},
    )

    assert_refused(response, "Unsupported content type")


@pytest.mark.parametrize(
    ("settings", "young_allocations"), [({}, 20_000), ({"garbage_young_allocations": 5_000}, 5_000)]
)
def test_the_server_s_app_leaves_what_start_up_built_out_of_the_collector_s_walks(
    monkeypatch, tmp_path, settings, young_allocations
):
    """`pointledger serve` builds its app with `app_factory`: the modules, the schema and its plans
    are frozen out of the garbage collector's sight, so a full collection under load no longer walks
    them (0.35-0.55 ms of a served bill's CPU before), and young collections run every
    `garbage_young_allocations` allocations (0.16 -> 0.06 ms of a bill's CPU at 20,000)."""
    monkeypatch.setattr("app.http.app.configure_logging", lambda *args, **kwargs: None)  # the test's own logs stay
    monkeypatch.setattr(
        "app.http.app.get_settings",
        lambda: Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", **settings),
    )
    threshold = gc.get_threshold()
    gc.unfreeze()
    try:
        app_factory()

        assert gc.get_freeze_count() > 50_000
        assert gc.get_threshold() == (young_allocations, *threshold[1:])
    finally:
        gc.unfreeze()  # the test process collects as before
        gc.set_threshold(*threshold)
