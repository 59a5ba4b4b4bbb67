"""The member-care console (/console) in a real headless Chromium, against a real server.

The server is uvicorn serving the app on a loopback port, in the test's own event loop, over the
test's database (SQLite or PostgreSQL) and clock (2026-11-25 12:00 in Asia/Kolkata). The browser
is Debian's `chromium` driven by Playwright for Python (`scripts/test` installs the package where
it can; Playwright's own browser download is never used). The tests take screenshots of the main
screens; POINTLEDGER_SCREENSHOTS_DIR=docs/screenshots refreshes the README's copies.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import uvicorn

from app.http.app import create_app
from app.kernel.settings import Settings
from app.organizations.roles import MEMBER_CARE
from tests.client import Credentials, buy
from tests.conftest import TEST_NOW, make_key, stop_background_work
from tests.factories import by_mobile, new_mobile, org_spec
from tests.test_customer_coupons import customer_with_each_status, uploaded_code

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every run takes the screenshots; the README's copies in docs/screenshots/ are refreshed only when
# asked (POINTLEDGER_SCREENSHOTS_DIR=docs/screenshots), so a test run leaves the checkout clean.
SCREENSHOTS = Path(
    os.environ.get("POINTLEDGER_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "pointledger-screenshots"
)
TIMEOUT_MS = 20_000  # a loaded 2-core machine

playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed")
expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it as root)"
)

LEDGER_COUNTS = """
query Count($customer: CustomerLookupInput!, $filter: LedgerFilterInput, $after: String) {
  ledgerEntries(customer: $customer, filter: $filter, first: 100, after: $after) {
    ... on LedgerEntryPage { entries { id points balanceAfter } pageInfo { hasNextPage } }
  }
  ledgerClosingBalance(customer: $customer, filter: $filter) { ... on LedgerClosingBalance { balance } }
}
"""
MAIN_POINTS = """
query Points($customer: CustomerLookupInput!) {
  customer(lookup: $customer) { ... on Customer { userId pointsSummaries { programCode loyaltyPoints } } }
}
"""


def local(instant: Any) -> str:
    return instant.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
async def console_url(database: Any, clock: Any) -> AsyncIterator[str]:
    """The app served by uvicorn on a free loopback port, in this event loop."""
    application = create_app(Settings(database_url=database.url, maintenance_interval_seconds=0), database, clock)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started or serving.done():
            break
        await asyncio.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving
    await stop_background_work(application)


script_errors: list[str] = []


@pytest.fixture(autouse=True)
def no_script_errors() -> Any:
    """Every test fails on an uncaught error in the console's scripts or a refusal of its policy."""
    script_errors.clear()
    yield
    assert script_errors == []


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGUMENTS
        )
        yield launched
        await launched.close()


async def new_page(browser: Any, console_url: str, *, width: int = 1280, height: int = 900) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on(  # what the Content-Security-Policy refused (an inline style or script would be)
        "console",
        lambda message: script_errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    await page.goto(f"{console_url}/console/")
    return page


async def sign_in(page: Any, credentials: Credentials) -> None:
    await page.get_by_label("API key id").fill(credentials.key_id)
    await page.get_by_label("Secret").fill(credentials.secret)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Find a customer").wait_for()


async def open_customer(page: Any, mobile: str) -> None:
    await page.get_by_label("Search by").select_option("mobile")
    await page.get_by_role("searchbox").fill(mobile)
    await page.locator("#results a").filter(has_text=mobile).click()
    await page.locator(".profile h1").wait_for()


async def shoot(page: Any, name: str, *, full_page: bool = True) -> None:
    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


async def member_care_key(api: Any) -> Credentials:
    """A key holding only the member-care role, as a support agent has."""
    return await make_key(api.database, api.credentials.org_id, frozenset({MEMBER_CARE}), name="care")


async def customer_with_purchases(api: Any, main_bills: int, cafe_bills: int) -> tuple[str, str]:
    """A customer with `main_bills` bills of 1,000 at till-1 (10 main points each) and
    `cafe_bills` of 100 at till-cafe (5 cafe points each): (mobile, user id)."""
    mobile = new_mobile()
    for _ in range(main_bills):
        answer = await buy(api, mobile, "1000", firstname="Asha", lastname="Rao")
    for _ in range(cafe_bills):
        await buy(api, mobile, "100", till="till-cafe")
    return mobile, answer["transaction"]["customer"]["userId"]


async def ledger_view(api: Any, mobile: str, ledger_filter: dict | None = None) -> tuple[int, str]:
    """(entries in the view, its closing balance), read through the API."""
    data = await api.data(LEDGER_COUNTS, {"customer": by_mobile(mobile), "filter": ledger_filter})
    assert not data["ledgerEntries"]["pageInfo"]["hasNextPage"]
    return len(data["ledgerEntries"]["entries"]), data["ledgerClosingBalance"]["balance"]


async def main_points(api: Any, mobile: str) -> str:
    customer = (await api.data(MAIN_POINTS, {"customer": by_mobile(mobile)}))["customer"]
    return next(summary["loyaltyPoints"] for summary in customer["pointsSummaries"] if summary["programCode"] == "main")


async def test_the_console_is_served_with_its_security_headers_and_the_api_is_never_stored(org, console_url, browser):
    page = await new_page(browser, console_url)
    response = await page.request.get(f"{console_url}/console/")
    query = {"query": "{ __typename }"}
    api_response = await page.request.post(f"{console_url}/graphql", data=query, headers={"Authorization": org.header})
    refused = await page.request.post(f"{console_url}/graphql", data=query)

    assert response.status == 200
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )
    assert (response.headers["x-content-type-options"], response.headers["x-frame-options"]) == ("nosniff", "DENY")
    assert (api_response.status, api_response.headers["cache-control"]) == (200, "no-store")
    assert (refused.status, refused.headers["cache-control"]) == (401, "no-store")
    page_text = await response.text()
    assert "<script>" not in page_text
    assert " style=" not in page_text
    await page.get_by_role("heading", name="Sign in").wait_for()
    await shoot(page, "sign-in")


async def test_an_agent_signs_in_searches_opens_a_customer_and_walks_three_ledger_pages(api, console_url, browser):
    key = await member_care_key(api)
    mobile, user_id = await customer_with_purchases(api, main_bills=24, cafe_bills=3)
    entries, balance = await ledger_view(api, mobile)
    assert entries > 20  # three pages of 10
    page = await new_page(browser, console_url)

    await sign_in(page, key)
    await page.get_by_label("Search by").select_option("mobile")
    await page.get_by_role("searchbox").fill(mobile)
    result = page.locator("#results a").filter(has_text=mobile)
    await result.wait_for()
    await shoot(page, "search")
    await result.click()
    await page.locator(".profile h1").wait_for()
    await page.get_by_role("tab", name="Ledger").click()
    ledger = page.locator('[data-list="ledger"]')
    rows = ledger.locator("tbody tr:not(.skeleton)")
    await expect(rows).to_have_count(10)
    first_page = await rows.count()
    for shown in (20, min(entries, 30)):  # the next page comes as the end of the list scrolls into view
        await page.mouse.wheel(0, -100_000)
        await ledger.locator(".list-end").scroll_into_view_if_needed()
        await expect(rows).to_have_count(shown)
        await expect(ledger).not_to_have_attribute("aria-busy", "true")

    assert await page.locator("#customer-name").inner_text() == "Asha Rao"
    main_balance = page.locator('.summaries tr[data-program="main"] td.points')
    assert await main_balance.inner_text() == await main_points(api, mobile)
    assert first_page == 10
    assert await rows.count() == min(entries, 30)
    assert await page.locator(".closing-balance").inner_text() == balance
    assert await rows.nth(0).locator('td[data-label="At"]').inner_text() == local(TEST_NOW)
    assert await page.locator("#organization").inner_text() == "Acme Retail · times in Asia/Kolkata"
    await shoot(page, "ledger")
    assert user_id


async def test_a_ledger_filter_shows_only_its_entries_and_its_closing_balance(api, console_url, browser):
    key = await member_care_key(api)
    mobile, _ = await customer_with_purchases(api, main_bills=2, cafe_bills=3)
    cafe_entries, cafe_balance = await ledger_view(api, mobile, {"programCodes": ["cafe"]})
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)
    await page.get_by_role("tab", name="Ledger").click()
    ledger = page.locator('[data-list="ledger"]')
    await expect(ledger.locator("tbody tr:not(.skeleton)")).not_to_have_count(0)

    await page.locator("form.filters").get_by_label("Program").select_option("cafe")
    await expect(ledger.locator('tbody td[data-label="Program"]')).to_have_count(cafe_entries)
    await expect(ledger).not_to_have_attribute("aria-busy", "true")
    await expect(page.locator(".closing-balance")).not_to_have_text("…")

    programs = await page.locator('[data-list="ledger"] tbody td[data-label="Program"]').all_inner_texts()
    assert programs == ["cafe"] * cafe_entries
    assert await page.locator(".closing-balance").inner_text() == cafe_balance == "15"


async def test_an_adjustment_is_confirmed_with_the_balance_after_and_the_new_balance_shows(api, console_url, browser):
    key = await member_care_key(api)
    mobile, _ = await customer_with_purchases(api, main_bills=3, cafe_bills=0)
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)

    await page.get_by_text("Adjust points", exact=True).first.click()
    form = page.locator("form.adjust")
    await form.get_by_label("Points").fill("12")
    await form.get_by_label("Reason").select_option("GOODWILL")
    await form.get_by_label("Note").fill("Late delivery of order 1042")
    await form.get_by_role("button", name="Adjust points").click()
    dialog = page.locator("dialog.confirm")
    await dialog.wait_for()
    confirmation = await dialog.inner_text()
    await shoot(page, "adjust-confirm")
    await dialog.get_by_role("button", name="Confirm").click()
    await page.locator("form.adjust .outcome").filter(has_text="Balance after").wait_for()

    assert "Credit 12 points in main (GOODWILL)." in confirmation
    assert "Balance now: 30. Balance after: 42." in confirmation
    assert await form.locator(".outcome").inner_text() == "Adjusted: CREDIT 12 in main. Balance after: 42."
    await expect(page.locator('.summaries tr[data-program="main"] td.points')).to_have_text("42")
    assert await main_points(api, mobile) == "42"
    await shoot(page, "customer")


async def test_a_typed_error_shows_at_the_field_it_names_and_nothing_changes(api, console_url, browser):
    key = await member_care_key(api)
    mobile, _ = await customer_with_purchases(api, main_bills=1, cafe_bills=0)
    before = await ledger_view(api, mobile)
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)

    await page.get_by_text("Adjust points", exact=True).first.click()
    form = page.locator("form.adjust")
    await form.get_by_label("Credit or debit").select_option("DEBIT")
    await form.get_by_label("Points").fill("11")
    await form.get_by_label("Reason").select_option("ERROR_CORRECTION")
    await form.get_by_label("Note").fill("Double entry")
    await form.get_by_role("button", name="Adjust points").click()
    await page.locator("dialog.confirm").get_by_role("button", name="Confirm").click()
    points = form.get_by_label("Points")
    error = form.locator('.field-error[data-error-for="input.points"]')
    await error.filter(has_text="fewer than 11").wait_for()

    assert await error.inner_text() == "the customer has 10 spendable points in program main, fewer than 11"
    assert await points.get_attribute("aria-invalid") == "true"
    assert await points.get_attribute("aria-describedby") == await error.get_attribute("id")
    assert await form.locator(".form-error").inner_text() == ""
    assert await ledger_view(api, mobile) == before
    assert await main_points(api, mobile) == "10"
    await shoot(page, "typed-error")


async def test_a_download_button_gives_the_tab_as_an_excel_file(api, console_url, browser, tmp_path):
    key = await member_care_key(api)
    mobile, user_id = await customer_with_purchases(api, main_bills=4, cafe_bills=1)
    entries, _ = await ledger_view(api, mobile)
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)
    await page.get_by_role("tab", name="Ledger").click()

    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Download Excel").click()
    downloaded = await waiting.value
    path = tmp_path / downloaded.suggested_filename
    await downloaded.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))

    assert downloaded.suggested_filename == f"ledger-entries-{user_id}.xlsx"
    assert len(rows) == 1 + entries
    assert "Created at (Asia/Kolkata)" in rows[0]


async def test_another_organisations_key_cannot_see_the_customer(api, org_api, console_url, browser):
    mobile, user_id = await customer_with_purchases(api, main_bills=1, cafe_bills=0)
    other = await org_api(org_spec("other"))
    page = await new_page(browser, console_url)
    await sign_in(page, other.credentials)

    await page.get_by_label("Search by").select_option("mobile")
    await page.get_by_role("searchbox").fill(mobile)
    await page.locator("#results .none").wait_for()
    await page.goto(f"{console_url}/console/#/customer/{user_id}")
    await page.locator(".profile-slot .field-error").wait_for()

    assert await page.locator("#results").count() == 0
    assert await page.locator(".profile-slot .field-error").inner_text() == f"no customer with USER_ID '{user_id}'"
    assert await page.locator(".profile h1").count() == 0
    assert await page.locator('[role="tab"]').count() == 0


async def test_at_360_pixels_nothing_scrolls_sideways(api, console_url, browser):
    key = await member_care_key(api)
    mobile, _ = await customer_with_purchases(api, main_bills=3, cafe_bills=1)
    page = await new_page(browser, console_url, width=360, height=740)
    await sign_in(page, key)
    search_width = await page.evaluate("document.documentElement.scrollWidth")
    await open_customer(page, mobile)
    await page.get_by_role("tab", name="Ledger").click()
    await expect(page.locator('[data-list="ledger"] tbody tr:not(.skeleton)')).not_to_have_count(0)

    assert search_width == 360
    assert await page.evaluate("document.documentElement.scrollWidth") == 360
    await page.mouse.wheel(0, -100_000)
    await shoot(page, "customer-360px", full_page=False)


async def test_the_tabs_answer_the_keyboard_and_a_change_of_tab_keeps_the_profile(api, console_url, browser):
    key = await member_care_key(api)
    mobile, _ = await customer_with_purchases(api, main_bills=2, cafe_bills=0)
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)
    profile = await page.locator(".profile").element_handle()

    await page.get_by_role("tab", name="Points", exact=True).focus()
    await page.keyboard.press("ArrowRight")
    ledger_tab = page.get_by_role("tab", name="Ledger")
    await expect(ledger_tab).to_have_attribute("aria-selected", "true")
    await expect(page.locator('[data-list="ledger"] tbody tr:not(.skeleton)')).not_to_have_count(0)

    assert await ledger_tab.evaluate("tab => tab === document.activeElement")
    assert await profile.evaluate("element => element.isConnected")
    assert page.url.endswith("#/customer/" + (await page.locator('[data-fact="User id"]').inner_text()) + "/ledger")


SUB_TABS = [
    ("points", ["redemptions", "expiry", "expired", "slabs", "promotions", "tracker", "transfers"]),
    ("transactions", ["all", "returns"]),
    ("coupons", ["issued", "redeemed", "linked"]),
    ("interactions", ["all", "sms", "email", "wechat", "webengage", "surveys"]),
    ("events", ["events"]),
    ("leads", ["leads"]),
    ("segments", ["current", "history"]),
    ("identifiers", ["identifiers"]),
]
EMPTY_LISTS = {"Nothing yet.", "No points are due to expire.", "No code is linked."}


async def test_every_tab_answers_without_an_error(api, console_url, browser):
    key = await member_care_key(api)
    mobile, user_id = await customer_with_purchases(api, main_bills=2, cafe_bills=1)
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)
    statuses = {}
    rows = {}

    for tab, subs in SUB_TABS:
        for sub in subs:
            await page.goto(f"{console_url}/console/#/customer/{user_id}/{tab}/{sub}")
            listing = page.locator(f'[data-list="{sub}"]')
            await listing.wait_for()
            await expect(listing).not_to_have_attribute("aria-busy", "true")
            statuses[tab, sub] = await listing.locator(".list-status").inner_text()
            rows[tab, sub] = await listing.locator("tbody tr:not(.skeleton)").count()

    assert set(statuses.values()) <= {"", *EMPTY_LISTS}, statuses
    assert rows["points", "expiry"] == 2  # main's lots (end of November 2027) and cafe's (90 days)
    assert rows["transactions", "all"] == 3
    assert rows["transactions", "returns"] == 0
    await page.goto(f"{console_url}/console/#/customer/{user_id}/transactions/all")
    await expect(page.locator('[data-list="all"] tbody td[data-label="Amount"]')).to_have_text(["100", "1000", "1000"])


async def test_an_identifier_is_changed_and_one_another_holds_is_refused_at_its_field(api, console_url, browser):
    key = await member_care_key(api)
    mobile, _ = await customer_with_purchases(api, main_bills=1, cafe_bills=0)
    other_mobile, other_user_id = await customer_with_purchases(api, main_bills=1, cafe_bills=0)
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)
    await page.get_by_text("Change identifier", exact=True).first.click()
    form = page.locator("form.change-identifier")

    await form.get_by_label("Identifier").select_option("EMAIL")
    await form.get_by_label("Add").fill("asha@example.com")
    await form.get_by_role("button", name="Change identifier").click()
    await form.locator(".outcome").filter(has_text="asha@example.com").wait_for()
    await form.get_by_label("Identifier").select_option("MOBILE")
    await form.get_by_label("Add").fill(other_mobile)
    await form.get_by_role("button", name="Change identifier").click()
    error = form.locator('.field-error[data-error-for="input.add"]')
    await expect(error).not_to_have_text("")
    await page.get_by_role("tab", name="Identifier history").click()
    history = page.locator('[data-list="identifiers"] tbody tr:not(.skeleton)')
    await expect(history).to_have_count(1)

    taken = f"customer {other_user_id} owns MOBILE '91{other_mobile}'; ask to merge to take it"
    assert await error.inner_text() == taken
    assert await form.get_by_label("Add").get_attribute("aria-invalid") == "true"
    assert await page.locator('[data-fact="Email"]').inner_text() == "asha@example.com"
    assert await history.locator("td").all_inner_texts() == [
        local(TEST_NOW),
        "INSTORE",
        "",
        "EMAIL",
        "asha@example.com",
        "ADD",
        "",
    ]


async def test_points_are_added_as_exact_decimals_in_the_browser(console_url, browser):
    page = await new_page(browser, console_url)

    sums = await page.evaluate(
        """async () => {
            const { addDecimals } = await import("/console/format.js");
            return [addDecimals("0.1", "0.2"), addDecimals("10", "-10.25"), addDecimals("9007199254740993", "1"),
                    addDecimals("-3.5", "1.5"), addDecimals("0", "0.0001")];
        }"""
    )

    assert sums == ["0.3", "-0.25", "9007199254740994", "-2", "0.0001"]


async def test_a_coupon_is_resent_and_a_promo_code_linked_with_an_unknown_code_refused_at_its_field(
    api, database, org, console_url, browser
):
    key = await member_care_key(api)
    mobile, user_id, _, _, _ = await customer_with_each_status(api, database, org)
    await uploaded_code(api, database, org, "CARE-LINK", name="care coupon")
    page = await new_page(browser, console_url)
    await sign_in(page, key)
    await open_customer(page, mobile)
    await page.get_by_role("tab", name="Coupons").click()
    issued = page.locator('[data-list="issued"] tbody tr:not(.skeleton)')
    await expect(issued).not_to_have_count(0)
    codes = await issued.locator('td[data-label="Code"]').all_inner_texts()
    statuses = await issued.locator('td[data-label="Status"]').all_inner_texts()
    resend_buttons = await issued.get_by_role("button", name="Resend").count()

    active = issued.filter(has_text="PAPER-ACTIVE")
    await active.get_by_role("button", name="Resend").click()
    await expect(active.locator(".outcome")).to_have_text(f"Resent {local(api.clock.now())}")
    await page.get_by_text("Link promo code", exact=True).first.click()
    form = page.locator("form.link-code")
    await form.get_by_label("Promo code").fill("NO-SUCH-CODE")
    await form.get_by_role("button", name="Link promo code").click()
    refused = form.locator('.field-error[data-error-for="input.code"]')
    await expect(refused).not_to_have_text("")
    refusal = await refused.inner_text()
    await form.get_by_label("Promo code").fill("CARE-LINK")
    await form.get_by_role("button", name="Link promo code").click()
    await expect(form.locator(".outcome")).to_contain_text("Linked CARE-LINK (care coupon)")
    await page.goto(f"{console_url}/console/#/customer/{user_id}/coupons/linked")
    linked = page.locator('[data-list="linked"] tbody td[data-label="Code"]')
    await expect(linked.filter(has_text="CARE-LINK")).to_have_count(1)

    assert sorted(zip(codes, statuses, strict=True)) == [
        ("NAMED5", "REDEEMED"),
        ("PAPER-ACTIVE", "ACTIVE"),
        ("PAPER-SHORT", "EXPIRED"),
        ("PAPER-USED", "REDEEMED"),
        ("SOON10", "NOT_YET_ACTIVE"),
    ]
    assert resend_buttons == 1  # only an active coupon is resent
    assert refusal == "no promo code 'NO-SUCH-CODE'"
    assert await form.get_by_label("Promo code").get_attribute("aria-invalid") is None  # cleared by the success
