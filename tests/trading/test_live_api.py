"""The administrator's live-account endpoint on a running app, against the KIS fake (run in its
own thread: the app's test client blocks)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.kis_trading import APP_KEY, APP_SECRET, HTS_ID, FakeKisTrading
from tests.support.app import running_app
from tests.support.auth import auth_headers

URL = "/api/v1/system/trading/live"
BODY = {
    "appKey": APP_KEY,
    "appSecret": APP_SECRET,
    "accountNumber": "50123456-01",
    "htsId": HTS_ID,
    "mode": "paper",
}


@pytest.fixture
def fake() -> Iterator[tuple[FakeKisTrading, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    f = FakeKisTrading()
    asyncio.run_coroutine_threadsafe(f.start(), loop).result(20)
    try:
        yield f, loop
    finally:
        asyncio.run_coroutine_threadsafe(f.stop(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(20)
        loop.close()


def test_admin_connects_live_account_through_the_api(
    tmp_path: Path, fake: tuple[FakeKisTrading, asyncio.AbstractEventLoop]
) -> None:
    kis, loop = fake
    with running_app(
        tmp_path, kis_trading_rest_url=kis.rest_url, kis_trading_ws_url=kis.ws_url
    ) as (client, rt, _):
        user = auth_headers(client)
        admin = auth_headers(client, "boss@example.com", admin=True, runtime=rt)
        assert client.post(URL, headers=user, json=BODY).status_code == 403
        assert client.get(URL, headers=user).status_code == 403
        assert client.post(URL, json=BODY).status_code == 401
        assert client.get(URL, headers=admin).json()["data"]["stored"] is False

        # bad input: clear 400s, nothing sent to KIS, nothing stored
        for bad, code in (
            ({**BODY, "accountNumber": "1234"}, "INVALID_REQUEST"),
            ({**BODY, "mode": "demo"}, "INVALID_REQUEST"),
            ({k: v for k, v in BODY.items() if k != "appKey"}, "MISSING_FIELD"),
            ({**BODY, "htsId": " "}, "INVALID_REQUEST"),
        ):
            r = client.post(URL, headers=admin, json=bad)
            assert (r.status_code, r.json()["code"]) == (400, code), r.json()
            assert APP_SECRET not in r.text
        r = client.post(URL, headers=admin, json={**BODY, "appSecret": "wrong"})
        assert (r.status_code, r.json()["code"]) == (400, "BROKER_KEY_REJECTED")
        assert "app key/secret" in r.json()["message"]
        assert client.get(URL, headers=admin).json()["data"]["stored"] is False

        r = client.post(URL, headers=admin, json=BODY)
        assert r.status_code == 200, r.json()
        data = r.json()["data"]
        assert data["connected"] and data["mode"] == "paper" and data["account"] == "5012****-01"
        for secret in (APP_KEY, APP_SECRET, "50123456"):
            assert secret not in r.text
            assert secret not in client.get(URL, headers=admin).text
        # the live account trades under ?account=live, its books from the broker's balance
        p = client.get("/api/v1/portfolio?account=live", headers=admin).json()["data"]
        assert p["cash"] == kis.cash

        # KIS down: a clear 502, the stored connection is untouched
        asyncio.run_coroutine_threadsafe(kis.http.stop(), loop).result(20)
        r = client.post(URL, headers=admin, json={**BODY, "appSecret": APP_SECRET})
        assert (r.status_code, r.json()["code"]) == (502, "BROKER_UNREACHABLE"), r.json()
        assert "did not answer" in r.json()["message"]
        assert client.get(URL, headers=admin).json()["data"]["connected"] is True

        r = client.delete(URL, headers=admin)
        assert r.status_code == 200 and r.json()["data"]["stored"] is False
        assert client.delete(URL, headers=admin).status_code == 404
