"""CSV as a client sends it: a file that is not valid CSV (a quote left open, text after a closing
quote) is refused whole, in every CSV the product reads, and nothing of it is stored."""

from __future__ import annotations

import pytest

from tests.import_checks import finished, post_csv
from tests.snapshots import table_counts
from tests.test_promotions import UPLOAD, create_promotion

MALFORMED = [
    ('code\nGOOD-1\n"OPEN-1\nGOOD-2\n', "line 3 is not valid CSV: unexpected end of data"),
    ('code\nGOOD-1\n"OPEN-1', "line 3 is not valid CSV: unexpected end of data"),
    ('code\n"CLOSED"-1\nGOOD-2\n', "line 2 is not valid CSV: ',' expected after '\"'"),
]


@pytest.mark.parametrize("policy", ["REJECT_ALL", "SKIP_INVALID"])
@pytest.mark.parametrize(("csv_text", "message"), MALFORMED)
async def test_a_code_upload_that_is_not_valid_csv_is_refused_whole(api, database, policy, csv_text, message):
    promotion = await create_promotion(api, commonCode="TAKEN-1")
    before = await table_counts(database)

    result = (
        await api.data(UPLOAD, {"input": {"promotionId": promotion["id"], "csv": csv_text, "errorPolicy": policy}})
    )["uploadPromoCodes"]

    assert result == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": message,
        "field": "input.csv",
    }
    assert await table_counts(database) == before


async def test_an_import_file_with_a_quote_left_open_fails_and_imports_nothing(client_api, database):
    before = await table_counts(database)

    job = await finished(
        client_api, str((await post_csv(client_api, b'CustomerProfileId,Amount\r\nA-1,"10\r\n')).json()["job"]["id"])
    )

    assert (job["status"], job["errorCode"], job["rowsImported"]) == ("FAILED", "MALFORMED_CSV", 0)
    after = await table_counts(database)
    written = {table: after[table] - count for table, count in before.items() if not table.startswith("import")}
    # Only the job's own rows and its import_job.finished event (status FAILED) for subscribers.
    assert {table: count for table, count in written.items() if count} == {"outbox_events": 1, "outbox_deliveries": 1}
