"""Accounts in real Chromium at a phone's viewport (390×844): sign-up, login errors, a favorite
star, the favorites page with live prices, and grid layouts that follow the account."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import Server, wait_js
from tests.e2e.test_dashboard import LIVE_TIMEOUT_MS, shot

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

pytestmark = pytest.mark.e2e
PHONE: ViewportSize = {"width": 390, "height": 844}
PASSWORD = "SecurePass123!"
_n = itertools.count(1)


@pytest.fixture
def phone(page: Page, server: Server) -> Iterator[Page]:
    page.set_viewport_size(PHONE)
    page.goto(f"{server.url}/")
    page.evaluate("localStorage.clear()")
    try:
        yield page
    finally:
        # the browser context is shared by the e2e tests: leave no session behind
        page.evaluate("localStorage.clear()")
        page.set_viewport_size({"width": 1600, "height": 1000})


def fits_the_screen(page: Page) -> bool:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width <= PHONE["width"]


def saved_grid_size(page: Page) -> int | None:
    """The current layout's size as the server has it (through the page's own session)."""
    size: int | None = page.evaluate(
        """async () => {
            const s = JSON.parse(localStorage.getItem("aegis.auth.session"));
            const r = await fetch("/api/v1/users/me/layouts",
                                  {headers: {Authorization: "Bearer " + s.accessToken}});
            const d = (await r.json()).data;
            return d ? d.layouts[d.current].size : null;
        }"""
    )
    return size


def sign_up(page: Page, server: Server, next_path: str = "/") -> str:
    n = next(_n)
    email = f"e2e{n}@example.com"
    page.goto(f"{server.url}/signup?next={next_path}")
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("username").fill(f"투자자{n}")
    page.get_by_test_id("password").fill("weak")
    assert "필요" in page.get_by_test_id("password-hint").inner_text()
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("submit").click()
    page.wait_for_url(f"{server.url}{next_path}")
    page.get_by_test_id("nav-account").wait_for()
    return email


def test_sign_up_star_a_stock_and_see_it_live_on_favorites(server: Server, phone: Page) -> None:
    page = phone
    page.goto(f"{server.url}/signup")
    assert fits_the_screen(page)
    shot(page, "accounts-signup-390")
    sign_up(page, server)
    page.goto(f"{server.url}/stocks/005930")
    star = page.get_by_test_id("star-005930").first
    star.click()
    page.wait_for_selector("[data-testid=star-005930][aria-pressed=true]")
    page.goto(f"{server.url}/favorites")
    item = page.get_by_test_id("favorite-005930")
    item.wait_for()
    assert "삼성전자" in item.inner_text()
    # the price is live: it changes while the simulator trades
    price = item.get_by_test_id("fav-price")
    wait_js(
        page,
        "() => (document.querySelector('[data-testid=fav-price]')?.textContent ?? '–').trim()"
        " !== '–'",
        timeout_ms=LIVE_TIMEOUT_MS,
    )
    first = price.inner_text()
    wait_js(
        page,
        f"() => document.querySelector('[data-testid=fav-price]').textContent !== {first!r}",
        timeout_ms=LIVE_TIMEOUT_MS,
    )
    assert fits_the_screen(page)
    shot(page, "accounts-favorites-390")
    # un-star from the favorites page
    item.get_by_test_id("star-005930").click()
    page.get_by_test_id("favorites-empty").wait_for()


def test_wrong_password_shows_a_korean_error(server: Server, phone: Page) -> None:
    page = phone
    page.goto(f"{server.url}/login")
    page.get_by_test_id("email").fill("nobody@example.com")
    page.get_by_test_id("password").fill("Wrong123!x")
    page.get_by_test_id("submit").click()
    err = page.get_by_test_id("auth-error")
    err.wait_for()
    assert "이메일 또는 비밀번호가 올바르지 않습니다" in err.inner_text()
    assert fits_the_screen(page)
    shot(page, "accounts-login-error-390")


def test_star_when_logged_out_leads_to_login(server: Server, phone: Page) -> None:
    page = phone
    page.goto(f"{server.url}/stocks/000660")
    page.get_by_test_id("star-000660").first.click()
    page.wait_for_url("**/login?next=*")
    page.get_by_test_id("login-page").wait_for()


def test_grid_layout_follows_the_account(server: Server, phone: Page) -> None:
    page = phone
    sign_up(page, server, "/grid")
    page.get_by_test_id("size-1").click()
    deadline = time.monotonic() + 30
    while saved_grid_size(page) != 1:
        assert time.monotonic() < deadline, "the layout never reached the server"
        page.wait_for_timeout(200)
    # a new device: nothing local but the session. Leave the grid first: a save it still has
    # pending would otherwise run against the emptied storage and put the default back.
    page.goto(f"{server.url}/rankings")
    page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('aegis.grid'))"
        ".forEach(k => localStorage.removeItem(k))"
    )
    page.goto(f"{server.url}/grid")
    # the grid page is loaded on demand: it may not be in the document yet
    wait_js(page, "() => document.querySelector('[data-testid=grid]')?.dataset.size === '1'")
