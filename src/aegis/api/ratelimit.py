"""Request rate limits (seed 002 §5.2) with the ``limits`` library: per client IP for anonymous
API requests, per user for authenticated ones, and per IP for WebSocket connection attempts.
Moving windows, in process (embedded) or in Redis (server mode: one budget across every API
process). Over the limit: 429 ``TOO_MANY_REQUESTS`` in the envelope with ``Retry-After``, or a
WebSocket refused at the handshake (close code 4429 for ASGI clients, HTTP 403 on the wire).
``/healthz``, ``/readyz``, ``/metrics`` and the dashboard's files are not limited.

Behind a proxy the client IP is the one uvicorn takes from ``X-Forwarded-For`` (it trusts the
proxy addresses in ``--forwarded-allow-ips``, loopback by default).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import parse_qs

import orjson
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from aegis.api.envelope import error_body
from aegis.core.errors import InvalidRequest, TooManyRequests

OFF = ("", "0", "off", "none")
log = logging.getLogger(__name__)


def parse_limit(name: str, value: str) -> RateLimitItem | None:
    if value.strip().lower() in OFF:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise InvalidRequest(f"{name}: '{value}' is not a rate like '300/minute'") from exc


class LocalWindows:
    """Moving windows in this process's memory (embedded mode): per limit and key, the times of
    the hits still inside the window, oldest first. The same rule as ``limits``' moving window
    (a hit is allowed while fewer than ``amount`` hits are less than a window old), without its
    ``MemoryStorage`` expiry task, which walks every key with a thread hop per key, again and
    again while requests come in: with 1,000 users polling that was a quarter of the server's
    CPU. Keys whose hits have all expired are dropped once per ``SWEEP_SECONDS``."""

    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._hits: dict[tuple[object, ...], deque[float]] = {}
        self._swept = time.monotonic()
        self._longest = 0.0  # the longest window counted so far

    def hit(self, item: RateLimitItem, *key: str) -> bool:
        now = time.monotonic()
        window = item.get_expiry()
        if now - self._swept >= self.SWEEP_SECONDS:
            self._sweep(now)
        self._longest = max(self._longest, window)
        k = (item.amount, window, *key)
        hits = self._hits.get(k)
        if hits is None:
            hits = self._hits[k] = deque()
        cutoff = now - window
        while hits and hits[0] < cutoff:
            hits.popleft()
        if len(hits) >= item.amount:
            return False
        hits.append(now)
        return True

    def retry_after(self, item: RateLimitItem, *key: str) -> float:
        """Seconds until the oldest hit in the window leaves it (and a new one is allowed)."""
        window = item.get_expiry()
        hits = self._hits.get((item.amount, window, *key))
        return hits[0] + window - time.monotonic() if hits else 0.0

    def _sweep(self, now: float) -> None:
        self._swept = now
        cutoff = now - self._longest  # the newest hit of such a key is outside any window
        for k in [k for k, hits in self._hits.items() if not hits or hits[-1] < cutoff]:
            del self._hits[k]


class RateLimits:
    def __init__(self, anon: str, user: str, ws: str, redis_url: str | None = None) -> None:
        self.anon = parse_limit("AEGIS_RATE_LIMIT_ANON", anon)
        self.user = parse_limit("AEGIS_RATE_LIMIT_USER", user)
        self.ws = parse_limit("AEGIS_RATE_LIMIT_WS", ws)
        self._pool = ConnectionPool.from_url(redis_url) if redis_url else None
        options: dict[str, Any] = {"connection_pool": self._pool}
        # server mode: one budget across every API process, in Redis; embedded mode: counted
        # in this process (LocalWindows, not ``limits``' MemoryStorage)
        self.limiter = (
            MovingWindowRateLimiter(
                RedisStorage(
                    "async+" + str(redis_url),
                    implementation="redispy",
                    key_prefix="aegis-rate",
                    **options,
                )
            )
            if self._pool is not None
            else None
        )
        self.local = LocalWindows() if self.limiter is None else None
        self.limited = 0
        self.storage_errors = 0

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def check(self, item: RateLimitItem | None, *key: str) -> None:
        """Count one request; raise 429 (with the seconds to wait) when over the limit."""
        if item is None:
            return
        local = self.local
        if local is not None:
            if local.hit(item, *key):
                return
            self.limited += 1
            self._refuse(item, local.retry_after(item, *key))
        assert self.limiter is not None
        try:
            if await self.limiter.hit(item, *key):
                return
        except (RedisError, OSError) as exc:
            # the shared counter is unreachable (Redis restarting): serve rather than fail
            self.storage_errors += 1
            if self.storage_errors == 1 or self.storage_errors % 1000 == 0:
                log.warning("rate limits not enforced: storage unreachable (%s)", exc)
            return
        self.limited += 1
        stats = await self.limiter.get_window_stats(item, *key)
        self._refuse(item, stats.reset_time - time.time())

    @staticmethod
    def _refuse(item: RateLimitItem, wait: float) -> NoReturn:
        retry = max(1, math.ceil(wait))
        raise TooManyRequests(
            "요청이 너무 많습니다. 잠시 후 다시 시도하세요.",
            details={"limit": str(item), "retryAfter": retry},
        )


def _token(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token:
                return token.strip()
    if scope["type"] == "websocket":
        query: bytes = scope.get("query_string", b"")
        tokens = parse_qs(query.decode("latin-1")).get("token")
        if tokens:
            return tokens[0]
    return None


class RateLimitMiddleware:
    """Pure ASGI: no per-request task or body buffering. Reads the limits from
    ``app.state.rate_limits`` and the token → user function from ``app.state.identify_user``
    (both set in the lifespan), so tests and processes without them pass everything."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path: str = scope.get("path", "")
        if kind not in ("http", "websocket") or not (
            path.startswith("/api/") or path.startswith("/ws/")
        ):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        limits: RateLimits | None = getattr(state, "rate_limits", None)
        if limits is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        if kind == "websocket":
            if await refuse_websocket(limits, ip, receive, send):
                return
            await self.app(scope, receive, send)
            return
        identify: Callable[[str], str | None] | None = getattr(state, "identify_user", None)
        token = _token(scope)
        user = identify(token) if identify is not None and token else None
        try:
            if user is not None:
                await limits.check(limits.user, "user", user)
            else:
                await limits.check(limits.anon, "ip", ip)
        except TooManyRequests as exc:
            retry = int(exc.details["retryAfter"])
            body = orjson.dumps(error_body(exc.status, exc.code, exc.message, exc.details))
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(retry).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def refuse_websocket(limits: RateLimits, ip: str, receive: Receive, send: Send) -> bool:
    """A WebSocket connection attempt over the per-IP limit is refused before the handshake
    completes (the server answers HTTP 403; an ASGI client sees the close code 4429): True."""
    try:
        await limits.check(limits.ws, "ws", ip)
    except TooManyRequests as exc:
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": exc.ws_close_code, "reason": "rate"})
        return True
    return False


async def websocket_refused(scope: Scope, receive: Receive, send: Send) -> bool:
    """``RateLimitMiddleware``'s rule for a WebSocket scope, for a path that skips the
    middlewares (``aegis.api.ws.StreamFastPath``)."""
    limits: RateLimits | None = getattr(scope["app"].state, "rate_limits", None)
    if limits is None:
        return False
    client = scope.get("client")
    return await refuse_websocket(limits, client[0] if client else "unknown", receive, send)
