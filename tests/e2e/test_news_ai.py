"""The news and AI outlook pages and the chart studies in real Chromium (desktop and phone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import Server, wait_js
from tests.e2e.test_dashboard import shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e


def test_stock_studies_and_news_and_analysis_tabs(server: Server, page: Page) -> None:
    page.goto(server.url + "/stocks/005930")
    page.wait_for_selector("html[data-ready=stock]")
    for study in ("bb", "rsi", "macd"):
        page.check(f"[data-testid=study-{study}]")
    # BB: 3 lines; RSI: 1; MACD: histogram + 2 lines
    page.wait_for_selector("[data-testid=stock-chart][data-studies='7']")
    page.uncheck("[data-testid=study-macd]")
    page.wait_for_selector("[data-testid=stock-chart][data-studies='4']")
    page.check("[data-testid=study-macd]")
    page.click("[data-testid=tab-news]")
    news = page.locator("[data-testid=news-list] li")
    news.first.wait_for()
    assert news.count() >= 5
    assert "삼성전자" in page.locator("[data-testid=news-list]").inner_text()
    # no feed is reachable here: the page says so, and that the rows are the archive
    notice = page.locator("[data-testid=feed-notice]").inner_text()
    assert "아카이브" in notice
    shot(page, "stock-005930-news-studies")
    page.click("[data-testid=tab-analysis]")
    page.wait_for_selector("[data-testid=growth-score]")
    score = int(page.locator("[data-testid=growth-score]").inner_text())
    assert 0 <= score <= 100
    assert page.locator("[data-testid=outlook]").inner_text() in (
        "전망 긍정",
        "전망 중립",
        "전망 부정",
    )
    assert "퀀트" in page.locator("[data-testid=provider]").inner_text()
    assert "점" in page.locator("[data-testid=rationale]").inner_text()
    shot(page, "stock-005930-analysis")


def test_news_page_keyword_cloud_and_search(server: Server, page: Page) -> None:
    page.goto(server.url + "/news")
    words = page.locator("[data-testid=keyword-cloud] .word")
    words.first.wait_for()
    assert words.count() >= 20
    page.fill("[data-testid=news-search]", "반도체")
    page.click("form[role=search] button[type=submit]")
    wait_js(
        page,
        "[...document.querySelectorAll('[data-testid=news-list] .title')]"
        ".every(a => a.textContent.replaceAll(' ', '').includes('반도체'))",
    )
    assert "q=%EB%B0%98%EB%8F%84%EC%B2%B4" in page.url
    shot(page, "news-search-cloud")


def test_news_and_analysis_on_a_phone(server: Server, page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/news")
    page.locator("[data-testid=keyword-cloud] .word").first.wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    shot(page, "news-phone")
    page.goto(server.url + "/stocks/000660")
    page.wait_for_selector("html[data-ready=stock]")
    page.click("[data-testid=tab-analysis]")
    page.wait_for_selector("[data-testid=growth-score]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "stock-000660-analysis-phone")
