"""KIS token handling against the fake: encrypted cache, one token per minute, expiry."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.sources.common.ratelimit import TokenBucket
from aegis.sources.kis.auth import KisAuth, key_id
from aegis.sources.kis.rest import KisRest
from tests.fakes.kis import FakeKis


def store_for(settings: Settings) -> CredentialStore:
    return CredentialStore.from_settings(settings)


async def test_token_is_cached_encrypted_and_reused_across_instances(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    async def token() -> str:
        async with httpx.AsyncClient(base_url=fake_kis.rest_url) as http:
            return await KisAuth(http, kis_creds, store_for(settings)).access_token()

    first = await token()
    # a new process (its own event loop shares nothing in memory): fresh objects, same data dir
    second = await asyncio.to_thread(asyncio.run, token())
    assert first == second
    assert fake_kis.tokens_issued == 1
    # one cache per app key (its fingerprint) and host, whichever client asked
    path = Path(settings.data_dir) / "tokens" / f"kis-real-{key_id(kis_creds)}.enc"
    assert first.encode() not in path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_cached_token_of_another_app_key_is_not_used(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    fake_kis.token_interval_s = 0.0
    async with httpx.AsyncClient(base_url=fake_kis.rest_url) as http:
        await KisAuth(http, kis_creds, store_for(settings)).access_token()
        other = BrokerCredentials(SecretStr("PSother"), kis_creds.app_secret)
        with pytest.raises(Exception, match="rejected the app key"):
            await KisAuth(http, other, store_for(settings), min_token_interval_s=0).access_token()
    assert fake_kis.tokens_issued == 1


async def test_client_never_asks_twice_within_the_interval(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "aegis.sources.kis")
    # an interval no loaded machine overruns between the two requests: the second must wait
    fake_kis.token_interval_s = 3.0
    async with httpx.AsyncClient(base_url=fake_kis.rest_url) as http:
        auth = KisAuth(http, kis_creds, store_for(settings), min_token_interval_s=3.0)
        await auth.access_token()
        auth.invalidate()  # as after EGW00123
        await KisAuth(http, kis_creds, store_for(settings), min_token_interval_s=3.0).access_token()
    assert fake_kis.tokens_issued == 2
    assert fake_kis.token_refusals == 0
    assert any("waiting" in r.message and "1 per minute" in r.message for r in caplog.records)


async def test_refused_token_is_retried_after_the_interval(
    settings: Settings,
    fake_kis: FakeKis,
    kis_creds: BrokerCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # an interval no loaded machine overruns between "issued just now" and the first request
    fake_kis.token_interval_s = 3.0
    fake_kis.issued_token_recently()
    async with httpx.AsyncClient(base_url=fake_kis.rest_url) as http:
        token = await KisAuth(
            http, kis_creds, store_for(settings), min_token_interval_s=3.0
        ).access_token()
    assert token
    assert fake_kis.token_refusals == 1
    assert fake_kis.tokens_issued == 1
    assert any("EGW00133" in r.message for r in caplog.records)


async def test_expired_token_is_replaced_and_the_request_retried(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    fake_kis.token_interval_s = 0.1
    async with httpx.AsyncClient(base_url=fake_kis.rest_url) as http:
        auth = KisAuth(http, kis_creds, store_for(settings), min_token_interval_s=0.1)
        rest = KisRest(http, kis_creds, auth, TokenBucket(20))
        await rest.current_price("005930")
        fake_kis._token = "rotated-by-server"  # the server considers ours expired
        out = await rest.current_price("005930")
    assert out["stck_shrn_iscd"] == "005930"
    assert fake_kis.tokens_issued == 2


async def test_the_approval_key_is_reused_within_a_day_and_renewed_after(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    """The approval key is valid 24 h (§A.3): a reconnect a day later must not subscribe with
    the old one, which the server would refuse while PINGPONG keeps the session open."""
    now = {"t": 1_767_225_600.0}
    async with httpx.AsyncClient(base_url=fake_kis.rest_url) as http:
        auth = KisAuth(http, kis_creds, store_for(settings), clock=lambda: now["t"])
        first = await auth.approval_key()
        now["t"] += 3_600.0
        assert await auth.approval_key() == first
        now["t"] += 86_400.0 - 3_600.0
        second = await auth.approval_key()
    assert second != first
    assert fake_kis.approvals == 2


class _HoldOneAnswer(httpx.AsyncBaseTransport):
    """The real transport, but once armed the next GET's answer is held until released."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.armed = False
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await self._inner.handle_async_request(request)
        if self.armed and request.method == "GET":
            self.armed = False
            body = await resp.aread()
            self.holding.set()
            await self.release.wait()
            return httpx.Response(resp.status_code, headers=resp.headers, content=body)
        return resp

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_late_expired_answer_does_not_drop_the_token_another_call_renewed(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    """Two calls sent with a token the server has let expire both come back EGW00123. The
    first renews it; the second, answered later, dropped the renewed token and asked for a
    third within the minute (a minute's wait, or EGW00133). Now it retries with the renewed
    one. With one token per app key (market data and trading), such pairs are common."""
    fake_kis.token_interval_s = 0.0  # the old behaviour then shows as a third token at once
    transport = _HoldOneAnswer()
    async with httpx.AsyncClient(base_url=fake_kis.rest_url, transport=transport) as http:
        auth = KisAuth(http, kis_creds, store_for(settings), min_token_interval_s=0.0)
        rest = KisRest(http, kis_creds, auth, TokenBucket(20))
        await rest.current_price("005930")
        fake_kis._token = "rotated-by-server"  # ours has expired at the server
        transport.armed = True
        late = asyncio.create_task(rest.current_price("000660"))
        await transport.holding.wait()  # its EGW00123 is on the way
        await rest.current_price("005930")  # EGW00123, renewed
        assert fake_kis.tokens_issued == 2
        transport.release.set()
        out = await late
    assert out["stck_shrn_iscd"] == "000660"
    assert fake_kis.tokens_issued == 2
