"""One login for the whole web app, and stale sessions: a token left in localStorage by an
earlier login (logged out, expired, another server's) used to make 모의투자 answer "internal error"
and the comparisons page keep a second, separate login. Now every page either works with the
shared session or drops the stale one and shows the logged-out state with a link to /login."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.conftest import Server, wait_js

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e
PASSWORD = "SecurePass123!"
LIVE_TIMEOUT_MS = 60_000


def _account(server: Server, email: str) -> dict[str, object]:
    """Sign up and log in through the API: the token pair of a real earlier session."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post(
            "/api/v1/users/signup",
            json={"email": email, "username": email.split("@")[0], "password": PASSWORD},
        )
        assert r.status_code in (201, 409), r.text
        r = c.post("/api/v1/users/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        data: dict[str, object] = r.json()["data"]
        return data


def _plant_stale_session(page: Page, server: Server, tokens: dict[str, object]) -> None:
    """What an earlier login leaves behind: the shared session (far from expiry by the clock)
    and the token keys the old per-page logins used."""
    session = {
        "accessToken": tokens["accessToken"],
        "refreshToken": tokens["refreshToken"],
        "expiresAt": 4_102_444_800_000,  # 2100: only the server can tell that it is stale
    }
    page.goto(server.url + "/")
    page.evaluate(
        """([s, legacy]) => {
            localStorage.clear();
            localStorage.setItem("aegis.auth.session", s);
            localStorage.setItem("aegis.accessToken", legacy);
        }""",
        [json.dumps(session), str(tokens["accessToken"])],
    )


def _no_error_shown(page: Page) -> None:
    text = page.locator("body").inner_text()
    assert "internal error" not in text.lower(), text[:2000]
    assert "INTERNAL_ERROR" not in text, text[:2000]


def test_a_logged_out_session_left_in_storage_shows_the_shared_login(
    server: Server, page: Page
) -> None:
    stale = _account(server, "stale-owner@example.com")
    with httpx.Client(base_url=server.url, timeout=30) as c:  # that session ended elsewhere
        r = c.post(
            "/api/v1/users/logout",
            json={"refreshToken": stale["refreshToken"]},
            headers={"Authorization": f"Bearer {stale['accessToken']}"},
        )
        assert r.status_code == 200, r.text
    _plant_stale_session(page, server, stale)

    for path in ("/trading", "/comparisons"):
        page.goto(server.url + path)
        # refreshed once (refused: revoked), then dropped: the logged-out state, no error
        page.get_by_test_id("login-required").wait_for()
        wait_js(page, "() => localStorage.getItem('aegis.auth.session') === null")
        assert page.evaluate("localStorage.getItem('aegis.accessToken')") is None
        _no_error_shown(page)
        assert page.locator("input[type=password]").count() == 0  # no second login form

    # the link leads to the one login page, which comes back to 모의투자 logged in
    page.goto(server.url + "/trading")
    page.get_by_test_id("login-link").click()
    page.wait_for_url("**/login?next=*")
    _account(server, "fresh-trader@example.com")
    page.get_by_test_id("email").fill("fresh-trader@example.com")
    page.get_by_test_id("password").fill(PASSWORD)
    page.get_by_test_id("submit").click()
    page.wait_for_url(server.url + "/trading")
    page.wait_for_selector("text=총평가", timeout=LIVE_TIMEOUT_MS)
    _no_error_shown(page)
    # the same session serves the comparisons page: no login there
    page.goto(server.url + "/comparisons")
    page.get_by_text("저장된 비교가 없습니다").wait_for()
    assert page.get_by_test_id("login-required").count() == 0
    _no_error_shown(page)
    page.evaluate("localStorage.clear()")  # the browser context is shared by the e2e tests


def test_a_session_whose_access_token_is_refused_is_renewed_once(
    server: Server, page: Page
) -> None:
    tokens = _account(server, "renewed@example.com")
    # the access token is unknown to the server (as after a secret rotation); the refresh
    # token is still good: the page renews it once and works, the user stays logged in
    _plant_stale_session(
        page, server, {"accessToken": "not-a-token", "refreshToken": tokens["refreshToken"]}
    )
    page.goto(server.url + "/trading")
    page.wait_for_selector("text=총평가", timeout=LIVE_TIMEOUT_MS)
    wait_js(
        page,
        "() => JSON.parse(localStorage.getItem('aegis.auth.session') || 'null')?.accessToken"
        " !== 'not-a-token'",
    )
    _no_error_shown(page)
    page.goto(server.url + "/comparisons")
    page.get_by_text("저장된 비교가 없습니다").wait_for()
    _no_error_shown(page)
    page.evaluate("localStorage.clear()")
