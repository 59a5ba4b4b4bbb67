"""Downloads of member-care lists as CSV or xlsx, with the API-key authentication of the API:

    GET /downloads/<list>.csv|.xlsx?customer=VALUE[&customerType=USER_ID|MOBILE|EMAIL|EXTERNAL_ID|CARD_NUMBER]
        [&<the list's GraphQL filters>]

The key needs one of the roles of the list's GraphQL query (OPERATION_ROLES lists each route).
Before the first byte, everything that can be refused is: the key, the parameters, the customer
(in the caller's organisation), and the first page. Errors are JSON as for imports: 401, 403,
404 (no such customer, tracker or format), 422 (a parameter that does not read).

Memory stays flat for any length: the rows are read in keyset pages of READ_PAGE_SIZE_MAX, each
in its own short read (no snapshot is held while a slow client reads; new rows have higher ids,
so a list read newest first below a cursor does not shift under it). CSV goes out page by page.
XlsxWriter cannot write to a socket (an xlsx is a zip whose directory comes last): the workbook
is written in constant-memory mode to a temporary file, then streamed and deleted.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.customers.errors import CustomerNotFoundError
from app.customers.service import find_customer_id
from app.graphql.customers.inputs import CustomerLookupInput
from app.graphql.customers.types import CustomerLookupType
from app.http.downloads.lists import LISTS, DownloadList, PageRequest
from app.http.downloads.params import Params
from app.http.downloads.sheets import XlsxFile, csv_chunk, csv_header, headers, typed_rows
from app.http.imports import error_response, request_caller
from app.kernel.errors import DomainError, NotFoundError, ValidationError
from app.ledger.service import READ_PAGE_SIZE_MAX
from app.organizations.config import OrgConfig
from app.storage.database import Database

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CUSTOMER_PARAMETERS = frozenset({"customer", "customerType"})
FILE_CHUNK_BYTES = 64 * 1024


def routes() -> list[Route]:
    return [Route(f"/downloads/{listing.name}.{{format}}", _endpoint(listing), methods=["GET"]) for listing in LISTS]


def _endpoint(listing: DownloadList[Any]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await download(request, listing)

    endpoint.__name__ = f"download_{listing.name.replace('-', '_')}"
    return endpoint


class Pages:
    """The list's pages for one customer, the first already read."""

    def __init__(
        self,
        database: Database,
        listing: DownloadList[Any],
        org: OrgConfig,
        customer_id: int,
        filters: Any,
        now: datetime,
    ) -> None:
        self.database, self.listing = database, listing
        self.org, self.customer_id, self.filters, self.now = org, customer_id, filters, now
        self.first: tuple[list[Any], bool] = ([], False)

    async def read(self, after_id: int | None) -> tuple[list[Any], bool]:
        async with self.database.read() as connection:
            return await self.listing.fetch(
                PageRequest(
                    connection, self.org, self.customer_id, self.filters, self.now, READ_PAGE_SIZE_MAX, after_id
                )
            )

    async def __aiter__(self) -> AsyncIterator[list[Any]]:
        rows, has_next_page = self.first
        while True:
            yield rows
            if not (has_next_page and rows):
                return
            rows, has_next_page = await self.read(self.listing.cursor(rows[-1]))


async def download(request: Request, listing: DownloadList[Any]) -> Response:
    caller = await request_caller(request)
    if isinstance(caller, Response):
        return caller
    services = request.app.state.services
    org: OrgConfig = caller.org
    file_format = request.path_params["format"]
    try:
        if file_format not in MEDIA_TYPES:
            raise NotFoundError(f"no download {request.url.path}: ask for .csv or .xlsx")
        params = Params(request.query_params)
        params.refuse_unknown(CUSTOMER_PARAMETERS | listing.parameters)
        now = services.clock.now()
        filters = listing.filters(params, org, now)
        pages = Pages(services.database, listing, org, await _customer_id(services.database, org, params), filters, now)
        pages.first = await pages.read(None)
    except DomainError as error:
        return error_response(error)
    file_name = f"{listing.name}-{pages.customer_id}.{file_format}"
    disposition = {"content-disposition": f'attachment; filename="{file_name}"'}
    if file_format == "csv":
        return StreamingResponse(_csv(listing, pages), media_type=MEDIA_TYPES["csv"], headers=disposition)
    directory = Path(tempfile.mkdtemp(prefix="pointledger-download-"))
    try:
        path = await _xlsx(listing, pages, directory / file_name)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return StreamingResponse(_file_chunks(path, directory), media_type=MEDIA_TYPES["xlsx"], headers=disposition)


async def _customer_id(database: Database, org: OrgConfig, params: Params) -> int:
    value = params.one("customer")
    if value is None:
        raise ValidationError("is required: the customer whose list to download", field="customer")
    lookup = CustomerLookupInput(
        type=params.enum("customerType", CustomerLookupType) or CustomerLookupType.USER_ID, value=value
    )
    named = lookup.to_domain()
    async with database.read() as connection:
        customer_id = await find_customer_id(connection, org, named.kind, named.value, "customer")
    if customer_id is None:
        raise CustomerNotFoundError(f"no customer with {lookup.type.value} {value!r}", field="customer")
    return customer_id


async def _csv(listing: DownloadList[Any], pages: Pages) -> AsyncIterator[bytes]:
    time_zone = pages.org.time_zone
    kinds = [column.kind for column in listing.columns]
    yield csv_header(headers(listing.columns, time_zone))
    async for rows in pages:
        if rows:  # writing a page is CPU work: off the event loop, as the xlsx's
            yield await asyncio.to_thread(csv_chunk, kinds, typed_rows(listing.columns, rows, time_zone))


async def _xlsx(listing: DownloadList[Any], pages: Pages, path: Path) -> Path:
    time_zone = pages.org.time_zone
    kinds = [column.kind for column in listing.columns]
    sheet = await asyncio.to_thread(XlsxFile, str(path), headers(listing.columns, time_zone), kinds, listing.name)
    try:
        async for rows in pages:
            await asyncio.to_thread(sheet.write_rows, typed_rows(listing.columns, rows, time_zone))
    finally:
        await asyncio.to_thread(sheet.close)  # also on failure: the worksheet's temporary file is closed
    return path


async def _file_chunks(path: Path, directory: Path) -> AsyncIterator[bytes]:
    """The file, then its directory removed (also when the client goes away mid-way)."""
    try:
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        shutil.rmtree(directory, ignore_errors=True)
