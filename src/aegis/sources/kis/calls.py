"""The KIS REST call both KIS clients make (market data in ``sources.kis.rest``, trading in
``trading.brokers.kis``): the headers with the access token, a rate-limit slot, retries with
backoff on the gateway's rate limit (EGW00201, with HTTP 500 or 200) and one token refresh on
an expired token (EGW00123). Errors are raised as the caller's own error classes; transport
errors (``httpx.TransportError``) pass through for the caller to classify.

KIS counts REST calls per app key, whichever client makes them: ``kis_limiter`` hands every
client of one app key in this process the same token bucket."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import httpx

from aegis.core.errors import AegisError
from aegis.credentials.store import BrokerCredentials
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.ratelimit import TokenBucket
from aegis.sources.kis.auth import KisAuth, key_id

log = logging.getLogger("aegis.sources.kis")

# the hosts (protocols.md §A.1): a paper (모의투자) app key works only on the paper ones
REAL_REST = "https://openapi.koreainvestment.com:9443"
PAPER_REST = "https://openapivts.koreainvestment.com:29443"
REAL_WS = "ws://ops.koreainvestment.com:21000"
PAPER_WS = "ws://ops.koreainvestment.com:31000"

RATE_LIMITED = "EGW00201"
TOKEN_EXPIRED = "EGW00123"
# calls per second per app key (shared docs/protocols.md, "Rate limits")
REAL_RATE, PAPER_RATE = 20.0, 2.0

# per event loop (a bucket's lock belongs to one loop), per app key and domain
_limiters: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, bool], TokenBucket]
] = weakref.WeakKeyDictionary()


def kis_hosts(paper: bool, rest: str | None = None, ws: str | None = None) -> tuple[str, str]:
    """The REST base and WebSocket URL of the paper or real hosts, or the given ones (a proxy,
    the tests' fakes). A WebSocket URL without a path takes the official samples' ``/tryitout``
    (market data and the fill notices alike)."""
    rest = rest or (PAPER_REST if paper else REAL_REST)
    ws = ws or (PAPER_WS if paper else REAL_WS)
    if ws.rstrip("/").count("/") <= 2:
        ws = ws.rstrip("/") + "/tryitout"
    return rest.rstrip("/"), ws


def kis_rate(paper: bool) -> float:
    return PAPER_RATE if paper else REAL_RATE


def kis_limiter(creds: BrokerCredentials, rate: float | None = None) -> TokenBucket:
    """The one limiter of ``creds``' app key: market data and trading on the same key share
    KIS's per-second budget, so two buckets of their own would together exceed it
    (EGW00201, and order POSTs are never retried). A caller asking for a lower rate lowers it
    for all. Outside an event loop: a bucket of its own."""
    want = TokenBucket(rate or kis_rate(creds.paper))
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return want
    buckets = _limiters.setdefault(loop, {})
    key = (key_id(creds), creds.paper)
    bucket = buckets.get(key)
    if bucket is None:
        buckets[key] = bucket = want
    else:
        bucket.rate = min(bucket.rate, want.rate)
    return bucket


class KisCalls:
    def __init__(
        self,
        http: httpx.AsyncClient,
        creds: BrokerCredentials,
        auth: KisAuth,
        *,
        error: type[AegisError],
        refused: type[AegisError] | None = None,
        limiter: TokenBucket | None = None,
        max_retries: int = 4,
        retry_backoff: Backoff | None = None,
        urgent: bool = False,
    ) -> None:
        """``error``: a bad body or rate limiting that outlasts the retries; ``refused``:
        an answer with ``rt_cd != "0"`` (defaults to ``error``); ``urgent``: this client's
        calls go before others waiting for the shared limiter (trading before market data)."""
        self.http = http
        self._creds = creds
        self.auth = auth
        self._error = error
        self._refused = refused or error
        self.limiter = limiter
        self.urgent = urgent
        self.max_retries = max_retries
        self.backoff = retry_backoff or Backoff(0.5, 8.0)
        self.rate_limited = 0  # EGW00201 answers received

    def __repr__(self) -> str:
        return "KisCalls(<redacted>)"

    async def headers(self, tr_id: str, tr_cont: str = "") -> tuple[dict[str, str], str]:
        """The request headers and the token they carry (an EGW00123 answer names it to
        ``KisAuth.invalidate``)."""
        token = await self.auth.access_token()
        return {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token}",
            "appkey": self._creds.app_key.get_secret_value(),
            "appsecret": self._creds.app_secret.get_secret_value(),
            "tr_id": tr_id,
            "custtype": "P",
            "tr_cont": tr_cont,
        }, token

    def body(self, resp: httpx.Response, tr_id: str) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._error(f"KIS {tr_id}: HTTP {resp.status_code}, body is not JSON")
        return data

    async def get(
        self, path: str, tr_id: str, params: dict[str, str], tr_cont: str = ""
    ) -> tuple[dict[str, Any], httpx.Response]:
        """An inquiry, retried on rate limits and refreshed once on an expired token.
        Returns the body and the response (its ``tr_cont`` header pages)."""
        backoff = Backoff(self.backoff.initial, self.backoff.maximum)
        refreshed = False
        for attempt in range(self.max_retries + 1):
            headers, token = await self.headers(tr_id, tr_cont)
            if self.limiter is not None:
                await self.limiter.acquire(urgent=self.urgent)
            resp = await self.http.get(path, params=params, headers=headers)
            data = self.body(resp, tr_id)
            msg_cd = str(data.get("msg_cd", ""))
            # EGW00201 comes with HTTP 500 (sometimes 200): look at msg_cd whatever the status
            if msg_cd == RATE_LIMITED:
                self.rate_limited += 1
                delay = backoff.next_delay()
                log.warning(
                    "kis: rate limited by server (EGW00201) on %s; retry %d/%d in %.2fs",
                    tr_id,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if msg_cd == TOKEN_EXPIRED and not refreshed:
                log.warning("kis: access token expired (EGW00123); requesting a new one")
                self.auth.invalidate(token)
                refreshed = True
                continue
            if data.get("rt_cd") != "0":
                raise self._refused(
                    f"KIS {tr_id} failed: {msg_cd or resp.status_code} {data.get('msg1', '')}"
                )
            return data, resp
        raise self._error(f"KIS {tr_id}: still rate limited after {self.max_retries} retries")
