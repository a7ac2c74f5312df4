"""모의투자 in real Chromium: log in, buy through the order ticket (confirmation), see the fill
in 보유 종목 and 체결 내역, then the kill switch with its confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_dashboard import shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e
LIVE_TIMEOUT_MS = 60_000


def test_paper_trading_page_buys_and_kills(server: Server, page: Page) -> None:
    email, password = "e2e-trader@example.com", "SecurePass123!"
    r = httpx.post(
        server.url + "/api/v1/users/signup",
        json={"email": email, "username": "e2etrader", "password": password},
        timeout=30,
    )
    assert r.status_code in (201, 409), r.text
    # the app's one login; whatever session another test left in the shared profile is replaced
    page.goto(server.url + "/login?next=/trading")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("submit").click()
    page.wait_for_url(server.url + "/trading")
    page.wait_for_selector("text=총평가", timeout=LIVE_TIMEOUT_MS)
    ticket = page.locator("[data-testid=order-ticket]")
    ticket.locator("select").select_option("MARKET")
    ticket.locator("button.submit").click()
    page.click("[data-testid=ticket-confirm]")
    page.wait_for_selector("text=매수 주문", timeout=LIVE_TIMEOUT_MS)
    # filled by the simulator's next trades: the position and the fill appear
    page.wait_for_selector(
        "section[aria-label='보유 종목'] a[href='/stocks/005930']", timeout=LIVE_TIMEOUT_MS
    )
    page.wait_for_selector(
        "section[aria-label='체결 내역'] td:has-text('매수')", timeout=LIVE_TIMEOUT_MS
    )
    page.on("dialog", lambda d: d.accept())
    page.click("[data-testid=kill-switch]")
    page.wait_for_selector("text=KILL_SWITCH", timeout=LIVE_TIMEOUT_MS)
    assert "꺼짐" in page.locator("section[aria-label='안전장치']").inner_text()
    shot(page, "trading")
