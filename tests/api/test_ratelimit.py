"""Rate limits: anonymous requests per IP, authenticated ones per user, WebSocket connection
attempts per IP; over the limit → 429 in the envelope with Retry-After (or close 4429); health
and metrics never limited; a bad limit setting is refused clearly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.websockets import WebSocketDisconnect

from aegis.api.ratelimit import LocalWindows, RateLimits, parse_limit
from aegis.core.errors import InvalidRequest
from tests.support.app import running_app


def test_anonymous_requests_over_the_limit_get_429_with_retry_after(tmp_path: Path) -> None:
    with running_app(tmp_path, rate_limit_anon="3/minute") as (client, _, _):
        codes = [
            client.get("/api/v1/companies", params={"keyword": "삼성"}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        r = client.get("/api/v1/companies", params={"keyword": "삼성"})
        body = r.json()
        assert body["code"] == "TOO_MANY_REQUESTS"
        assert body["status"] == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # health, metrics and the dashboard are not limited
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_a_user_has_a_budget_of_its_own(tmp_path: Path) -> None:
    with running_app(tmp_path, rate_limit_anon="2/minute", rate_limit_user="5/minute") as (
        client,
        _,
        _,
    ):
        client.app.state.identify_user = lambda token: "7" if token == "good" else None  # type: ignore[attr-defined]
        auth = {"Authorization": "Bearer good"}
        codes = [client.get("/api/v1/system/status", headers=auth).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        # an unknown token counts as anonymous, whose budget is still whole
        bad = {"Authorization": "Bearer forged"}
        assert client.get("/api/v1/system/status", headers=bad).status_code == 200


def test_websocket_connection_attempts_over_the_limit_are_refused_with_4429(
    tmp_path: Path,
) -> None:
    with running_app(tmp_path, rate_limit_ws="2/minute") as (client, _, _):
        for _ in range(2):
            with client.websocket_connect("/ws/stocks") as ws:
                ws.send_json({"action": "ping"})
                ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as e, client.websocket_connect("/ws/stocks"):
            pass
        assert e.value.code == 4429


def test_off_disables_a_limit_and_nonsense_is_refused() -> None:
    assert parse_limit("X", "off") is None
    with pytest.raises(InvalidRequest, match="300/minute"):
        RateLimits("lots", "1200/minute", "60/minute")


async def test_an_unreachable_shared_counter_serves_rather_than_fails() -> None:
    from tests.support.services import free_port

    limits = RateLimits("1/minute", "1/minute", "1/minute", f"redis://127.0.0.1:{free_port()}/0")
    try:
        for _ in range(3):  # over the limit, but nothing can count: every request is served
            await limits.check(limits.anon, "ip", "203.0.113.9")
        assert limits.storage_errors == 3
        assert limits.limited == 0
    finally:
        await limits.close()


def test_local_windows_move(monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedded mode counts in memory: a moving window (a hit is allowed again once the oldest
    leaves it), per limit and key, with the wait until then; expired keys are swept."""
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    windows = LocalWindows()
    three = parse_limit("X", "3/minute")
    assert three is not None
    for t in (0.0, 10.0, 20.0):
        now[0] = 1000.0 + t
        assert windows.hit(three, "user", "7")
    assert not windows.hit(three, "user", "7")  # 3 in the last minute
    assert windows.retry_after(three, "user", "7") == pytest.approx(40.0)
    assert windows.hit(three, "user", "8")  # another key, its own budget
    now[0] = 1060.5  # the first hit left the window, the others did not
    assert windows.hit(three, "user", "7")
    assert not windows.hit(three, "user", "7")
    now[0] = 1000.0 + 60 * 10  # much later: a sweep drops every expired key
    assert windows.hit(three, "ip", "203.0.113.9")
    assert list(windows._hits) == [(3, 60, "ip", "203.0.113.9")]
