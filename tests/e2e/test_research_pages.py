"""Research pages in real Chromium: 재무/공시 tabs, industries, rankings, comparisons; also at a
phone viewport (390×844) without sideways scrolling."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.conftest import Server, wait_js
from tests.e2e.test_dashboard import shot

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

pytestmark = pytest.mark.e2e
PHONE: ViewportSize = {"width": 390, "height": 844}


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width  # type: ignore[index]


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_stock_financials_and_disclosures_tabs(
    server: Server, page: Page, viewport: ViewportSize | None
) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(server.url + "/stocks/005930")
    tab = page.locator("[data-testid=financials-tab]")
    tab.locator("svg rect").first.wait_for()
    assert tab.locator("svg").count() == 3  # revenue, operating profit, net income
    assert "2025" in tab.locator("table").inner_text()
    # the shipped consolidated data have no balance sheet: said plainly, not blank cells
    note = tab.locator("[data-testid=balance-sheet-reason]").inner_text()
    assert note.startswith("연결 재무제표 없음")
    assert "연결 재무제표 없음" in tab.locator("table").inner_text()
    assert "2026-04-24" in page.locator("[data-testid=valuation-latest]").inner_text()
    page.get_by_role("button", name="분기").click()
    wait_js(
        page,
        "() => document.querySelector('[data-testid=financials-tab] table')"
        "?.innerText.includes('2Q')",
    )
    shot(page, f"stock-financials-{'phone' if viewport else 'desktop'}")
    page.get_by_role("tab", name="공시").click()
    link = page.locator("[data-testid=reports-tab] a").first
    link.wait_for()
    assert (link.get_attribute("href") or "").startswith(
        "https://dart.fss.or.kr/dsaf001/main.do?rcpNo="
    )
    if viewport:
        no_sideways_scroll(page)
    shot(page, f"stock-reports-{'phone' if viewport else 'desktop'}")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_industries_page_lists_79_and_shows_members(
    server: Server, page: Page, viewport: ViewportSize | None
) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(server.url + "/industries")
    rows = page.locator("[data-testid=industries-page] .list tbody tr")
    rows.first.wait_for()
    assert rows.count() == 79
    page.get_by_role("link", name="반도체와반도체장비").first.click()
    page.locator("[data-testid=company-ranking] tbody tr").first.wait_for()
    assert "삼성전자" in page.locator("[data-testid=company-ranking]").inner_text()
    if viewport:
        no_sideways_scroll(page)
    shot(page, f"industries-{'phone' if viewport else 'desktop'}")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_rankings_page_sorts_by_volume(
    server: Server, page: Page, viewport: ViewportSize | None
) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(server.url + "/rankings")
    first = page.locator("[data-testid=company-ranking] tbody tr").first
    first.wait_for()
    assert "삼성전자" in first.inner_text()
    page.get_by_role("button", name="거래량").click()
    page.get_by_role("button", name="코스닥").click()
    wait_js(
        page,
        "() => !document.querySelector('[data-testid=company-ranking] tbody')"
        "?.innerText.includes('삼성전자')",
    )
    if viewport:
        no_sideways_scroll(page)
    shot(page, f"rankings-{'phone' if viewport else 'desktop'}")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_comparisons_page_logs_in_and_shows_lines_and_table(
    server: Server, page: Page, viewport: ViewportSize | None
) -> None:
    email = f"cmp-{'p' if viewport else 'd'}@example.com"
    with httpx.Client(base_url=server.url) as c:
        c.post(
            "/api/v1/users/signup",
            json={"email": email, "username": email.split("@")[0], "password": "SecurePass123!"},
        )
        token = c.post(
            "/api/v1/users/login", json={"email": email, "password": "SecurePass123!"}
        ).json()["data"]["accessToken"]
        ids = [
            c.get("/api/v1/companies", params={"keyword": code}).json()["data"][0]["companyId"]
            for code in ("005930", "000660", "035420")
        ]
        r = c.post(
            "/api/v1/comparisons",
            json={"name": "대형주 비교", "companies": ids},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201
    if viewport:
        page.set_viewport_size(viewport)
    # the app's one login (whatever session the shared browser context holds is replaced)
    page.goto(server.url + "/login?next=/comparisons")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill("SecurePass123!")
    page.get_by_test_id("submit").click()
    page.wait_for_url(server.url + "/comparisons")
    page.locator("[data-testid=comparisons-page] svg path").first.wait_for()
    assert page.locator("[data-testid=comparisons-page] svg path").count() == 3
    table = page.locator("[data-testid=comparisons-page] table").inner_text()
    assert "PER" in table and "삼성전자" in table
    page.get_by_role("button", name="3M").click()
    wait_js(
        page,
        "() => document.querySelector("
        "'[data-testid=comparisons-page] .seg button[aria-pressed=true]')?.textContent === '3M'",
    )
    if viewport:
        no_sideways_scroll(page)
    shot(page, f"comparisons-{'phone' if viewport else 'desktop'}")
