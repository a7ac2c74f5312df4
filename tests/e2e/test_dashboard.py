"""The web dashboard in real Chromium against `aegis serve` with the simulator."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.conftest import SCREENSHOTS, Server, wait_js

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

LIVE_TIMEOUT_MS = 60_000


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def cell_updates(page: Page) -> list[int]:
    return [
        int(v)
        for v in page.eval_on_selector_all(
            "[data-testid=grid-cell]", "els => els.map(e => e.dataset.updates)"
        )
    ]


def test_market_page_shows_indices_movers_and_the_full_ranking(server: Server, page: Page) -> None:
    page.goto(server.url + "/")
    page.wait_for_selector("html[data-ready=market]")
    rows = page.locator("[data-testid=ranking-body] a[data-symbol]")
    rows.first.wait_for()
    assert rows.count() > 10  # virtualized: only the visible window is in the DOM
    assert "종목" in page.locator("[data-testid=ranking] h2").inner_text()
    assert page.locator("[data-testid=top-gainers] li a").count() > 0
    assert page.locator("[data-testid=index-card]").count() == 2
    page.wait_for_selector("[data-testid=index-card] canvas")
    shot(page, "market")


def test_market_ranking_filters_by_market(server: Server, page: Page) -> None:
    page.goto(server.url + "/")
    page.wait_for_selector("html[data-ready=market]")
    page.select_option("[data-testid=filter-market]", "KOSDAQ")
    markets = page.eval_on_selector_all(
        "[data-testid=ranking-body] a[data-symbol] .mkt", "els => els.map(e => e.textContent)"
    )
    assert markets
    assert set(markets) <= {"KOSDAQ", "KOSDAQ GLOBAL"}


def test_grid_shows_sixteen_charts_updating_over_one_websocket(server: Server, page: Page) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(server.url + "/grid?size=4")
    wait_js(page, "document.querySelectorAll('[data-testid=grid-cell] canvas').length >= 16")
    assert page.locator("[data-testid=grid-cell]").count() == 16
    # Each cell's history first (a price appearing then is not a live update; on a slow
    # machine it can come after the canvases)
    wait_js(
        page,
        """[...document.querySelectorAll('[data-testid=grid-cell]')]
            .every(e => e.dataset.status !== 'loading')""",
        timeout_ms=LIVE_TIMEOUT_MS,
    )
    before = page.eval_on_selector_all(
        "[data-testid=last-price]", "els => els.map(e => e.textContent)"
    )
    # Live candles arrive over the WebSocket and are drawn; the shown last prices move.
    wait_js(
        page,
        """(before) => {
          const now = [...document.querySelectorAll('[data-testid=last-price]')]
            .map(e => e.textContent);
          return now.some((t, i) => t !== before[i] && t !== '–');
        }""",
        before,
        timeout_ms=LIVE_TIMEOUT_MS,
    )
    assert sum(1 for n in cell_updates(page) if n > 0) >= 1
    assert len([u for u in sockets if "/ws/stocks" in u]) == 1
    page.wait_for_selector("[data-testid=sim-badge]")
    shot(page, "grid-4x4")


def test_grid_prices_are_coloured_and_signed_against_the_previous_close(
    server: Server, page: Page
) -> None:
    """As on every Korean quote screen: red (the rising colour) above the previous close, blue
    below, with the day's change beside the price. The cells coloured by their latest bar's
    open instead, so a stock down on the day could show red."""
    page.goto(server.url + "/grid?size=2")
    wait_js(page, "() => document.querySelectorAll('[data-testid=last-change]').length >= 4")
    cells = page.eval_on_selector_all(
        "[data-testid=grid-cell]",
        """els => els.map(e => ({
            symbol: e.dataset.symbol,
            price: e.querySelector('[data-testid=last-price]').textContent,
            cls: e.querySelector('[data-testid=last-price]').className,
            pct: e.querySelector('[data-testid=last-change]').textContent,
        }))""",
    )
    symbols = ",".join(c["symbol"] for c in cells)
    quotes = httpx.get(server.url + "/api/v1/quotes", params={"symbols": symbols}, timeout=30)
    prev = {q["symbol"]: q["prevClose"] for q in quotes.json()["data"]}
    for c in cells:
        price, base = int(c["price"].replace(",", "")), prev[c["symbol"]]
        classes = c["cls"].split()
        assert ("up" in classes) == (price > base), c
        assert ("down" in classes) == (price < base), c
        # the page's arithmetic (Math.round: halves up), not Python's round-half-even
        pct = math.floor((price - base) / base * 100 * 100 + 0.5) / 100
        assert c["pct"] == ("0.00%" if pct == 0 else f"{pct:+.2f}%"), (c, base)


def test_stock_page_switches_interval_and_loads_new_candles(server: Server, page: Page) -> None:
    page.goto(server.url + "/stocks/005930")
    page.wait_for_selector("html[data-ready=stock]")
    assert "삼성전자" in page.locator("[data-testid=quote-header] h1").inner_text()
    page.locator("[data-testid=company-profile] dl").wait_for()
    with page.expect_response(
        lambda r: "/api/v1/candles/005930" in r.url and "interval=1w" in r.url
    ) as resp:
        page.click("[data-testid=interval-1w]")
    assert resp.value.ok
    page.wait_for_selector("[data-testid=stock-chart][data-interval='1w']")
    wait_js(
        page, "Number(document.querySelector('[data-testid=bar-count]')?.dataset.bars ?? 0) > 0"
    )
    assert "interval=1w" in page.url
    shot(page, "stock-005930")


def test_search_finds_samsung_from_initial_consonants_by_keyboard(
    server: Server, page: Page
) -> None:
    page.goto(server.url + "/grid")
    page.wait_for_selector("[data-testid=grid-cell]")
    page.locator("body").press("/")
    page.keyboard.type("ㅅㅅㅈㅈ")
    option = page.locator("[role=option]", has_text="삼성전자").first
    option.wait_for()
    shot(page, "search-choseong")
    # Walk down to the 삼성전자 row with the keyboard alone, then open it.
    texts = page.locator("[role=option]").all_inner_texts()
    target = next(i for i, t in enumerate(texts) if "005930" in t)
    for _ in range(target):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/stocks/005930"))
    page.wait_for_selector("html[data-ready=stock]")


def test_unknown_stock_gets_a_friendly_404(server: Server, page: Page) -> None:
    page.goto(server.url + "/stocks/999999")
    page.wait_for_selector("[data-testid=not-found]")
    assert "찾을 수 없습니다" in page.inner_text("[data-testid=not-found]")
    shot(page, "stock-404")


def test_dashboard_survives_a_server_restart(server: Server, page: Page) -> None:
    page.goto(server.url + "/grid?size=2")
    page.wait_for_selector("[data-testid=conn-state][data-state=open]")
    wait_js(
        page,
        """[...document.querySelectorAll('[data-testid=grid-cell]')]
            .some(e => Number(e.dataset.updates) > 0)""",
        timeout_ms=LIVE_TIMEOUT_MS,
    )
    server.stop()
    page.wait_for_selector("[data-testid=conn-banner]")
    shot(page, "restart-banner")
    before = cell_updates(page)
    server.start()
    page.wait_for_selector("[data-testid=conn-banner]", state="detached", timeout=LIVE_TIMEOUT_MS)
    page.wait_for_selector("[data-testid=conn-state][data-state=open]")
    # Re-subscribed: live updates flow again after the restart.
    wait_js(
        page,
        """(before) => [...document.querySelectorAll('[data-testid=grid-cell]')]
            .some((e, i) => Number(e.dataset.updates) > before[i])""",
        before,
        timeout_ms=LIVE_TIMEOUT_MS,
    )


def test_the_security_policy_lets_the_dashboard_run_and_blocks_nothing_it_needs(
    server: Server, page: Page
) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    resp = page.goto(server.url + "/stocks/005930")
    assert resp is not None and "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    page.wait_for_selector("html[data-ready=stock]")
    page.goto(server.url + "/grid?size=2")
    wait_js(page, "() => document.querySelectorAll('[data-testid=grid-cell] canvas').length >= 4")
    wait_js(
        page,
        "() => [...document.querySelectorAll('[data-testid=grid-cell]')]"
        ".some(e => Number(e.dataset.updates) > 0)",
        timeout_ms=LIVE_TIMEOUT_MS,
    )  # live data over the WebSocket: connect-src allows it
    assert violations == []
