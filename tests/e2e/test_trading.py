"""모의투자 in real Chromium: log in, buy through the order ticket (confirmation), see the fill
in 보유 종목 and 체결 내역, then the kill switch with its confirmation; a backtest and a paper
strategy run started and stopped from the 전략 panel."""

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
    page.wait_for_selector(
        "section[aria-label='안전장치'] li:has-text('긴급 정지')", timeout=LIVE_TIMEOUT_MS
    )
    assert "꺼짐" in page.locator("section[aria-label='안전장치']").inner_text()
    shot(page, "trading")


def test_a_backtest_and_a_paper_strategy_run_start_from_the_trading_page(
    server: Server, page: Page
) -> None:
    email, password = "e2e-strategist@example.com", "SecurePass123!"
    r = httpx.post(
        server.url + "/api/v1/users/signup",
        json={"email": email, "username": "e2estrategist", "password": password},
        timeout=30,
    )
    assert r.status_code in (201, 409), r.text
    page.goto(server.url + "/login?next=/trading")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("submit").click()
    page.wait_for_url(server.url + "/trading")
    panel = page.locator("[data-testid=strategy-panel]")
    panel.get_by_test_id("strategy-name").select_option("ma_cross")
    page.get_by_test_id("strategy-param-fast").fill("3")
    page.get_by_test_id("strategy-symbols").fill("005930, 000660")
    # a bad parameter is refused in the form: nothing is sent
    page.get_by_test_id("strategy-param-slow").fill("2.5")
    page.get_by_test_id("backtest-run").click()
    assert "slow: 정수" in page.get_by_test_id("strategy-message").inner_text()
    page.get_by_test_id("strategy-param-slow").fill("10")
    page.get_by_test_id("backtest-run").click()
    page.wait_for_selector("text=/백테스트 #\\d+ 완료/", timeout=LIVE_TIMEOUT_MS)
    # the report is the server's: the stored backtest with the parameters typed in
    listed = httpx.get(
        server.url + "/api/v1/backtests",
        headers={"Authorization": f"Bearer {_token(server, email, password)}"},
        timeout=30,
    ).json()["data"]
    assert listed[0]["strategy"] == "ma_cross"
    assert listed[0]["params"] == {"fast": 3, "slow": 10}
    page.wait_for_selector("img[alt='백테스트 자산 곡선']", timeout=LIVE_TIMEOUT_MS)

    page.on("dialog", lambda d: d.accept())
    page.get_by_test_id("strategy-interval").select_option("1m")
    page.get_by_test_id("strategy-start").click()
    row = page.locator("[data-testid=strategy-run]")
    row.wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "005930, 000660" in row.inner_text()
    row.get_by_role("button", name="멈추기").click()
    page.wait_for_selector("text=실행 중인 전략이 없습니다", timeout=LIVE_TIMEOUT_MS)
    shot(page, "trading-strategy")


def _token(server: Server, email: str, password: str) -> str:
    r = httpx.post(
        server.url + "/api/v1/users/login",
        json={"email": email, "password": password},
        timeout=30,
    )
    r.raise_for_status()
    token: str = r.json()["data"]["accessToken"]
    return token


def test_limits_alerts_reset_and_telegram_are_set_from_the_pages(
    server: Server, page: Page
) -> None:
    email, password = "e2e-guarded@example.com", "SecurePass123!"
    r = httpx.post(
        server.url + "/api/v1/users/signup",
        json={"email": email, "username": "e2eguarded", "password": password},
        timeout=30,
    )
    assert r.status_code in (201, 409), r.text
    page.goto(server.url + "/login?next=/trading")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("submit").click()
    page.wait_for_url(server.url + "/trading")
    page.on("dialog", lambda d: d.accept())

    # a 1-won order limit: the ticket's market buy of a share is refused for it
    page.get_by_test_id("limit-maxOrderValue").fill("1")
    page.get_by_test_id("limits-save").click()
    page.wait_for_selector("text=한도를 저장했습니다", timeout=LIVE_TIMEOUT_MS)
    auth = {"Authorization": f"Bearer {_token(server, email, password)}"}
    status = httpx.get(server.url + "/api/v1/system/trading", headers=auth, timeout=30).json()
    assert status["data"]["limits"]["maxOrderValue"] == 1
    ticket = page.locator("[data-testid=order-ticket]")
    ticket.locator("select").select_option("MARKET")
    ticket.locator("button.submit").click()
    page.click("[data-testid=ticket-confirm]")
    page.wait_for_selector("text=주문금액 한도 초과", timeout=LIVE_TIMEOUT_MS)

    # a price alert: added, listed, deleted
    panel = page.locator("[data-testid=alerts-panel]")
    panel.get_by_test_id("alert-symbol").fill("005930")
    panel.get_by_test_id("alert-kind").select_option("ABOVE")
    panel.get_by_test_id("alert-value").fill("9,990,000")
    panel.get_by_test_id("alert-add").click()
    row = panel.locator("[data-testid=alert-row]")
    row.wait_for(timeout=LIVE_TIMEOUT_MS)
    assert "가격 이상 9,990,000원" in row.inner_text() and "대기 중" in row.inner_text()
    alerts = httpx.get(server.url + "/api/v1/alerts", headers=auth, timeout=30).json()["data"]
    assert [(a["symbol"], a["kind"], a["value"]) for a in alerts] == [
        ("005930", "ABOVE", 9_990_000)
    ]
    row.get_by_role("button", name="알림 삭제").click()
    panel.locator("text=등록한 알림이 없습니다").wait_for(timeout=LIVE_TIMEOUT_MS)

    # the paper account reset (confirmed): fresh cash
    page.get_by_test_id("portfolio-reset").click()
    page.wait_for_selector("text=계좌를 초기화했습니다", timeout=LIVE_TIMEOUT_MS)

    # Telegram opt-in on 내 계정
    page.goto(server.url + "/account")
    page.get_by_test_id("telegram-chat").fill("123456789")
    page.get_by_test_id("telegram-on").check()
    page.locator("[data-testid=telegram-form] button[type=submit]").click()
    page.wait_for_selector("text=텔레그램 알림을 켰습니다", timeout=LIVE_TIMEOUT_MS)
    tg = httpx.get(server.url + "/api/v1/notifications/telegram", headers=auth, timeout=30)
    assert tg.json()["data"] == {"chatId": "123456789", "enabled": True}
