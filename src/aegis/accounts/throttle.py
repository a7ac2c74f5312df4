"""Failed-login throttling with the ``limits`` library: at most N failures in a moving window per
email and per client IP; in process (embedded) or in Redis (shared by every API process)."""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from aegis.core.errors import LoginThrottled


class LoginThrottle:
    def __init__(self, failures: int, window_seconds: int, redis_url: str | None = None) -> None:
        self.item = RateLimitItemPerSecond(failures, window_seconds)
        # our own pool, so that close() can release its connections
        self._pool = ConnectionPool.from_url(redis_url) if redis_url else None
        pool: dict[str, Any] = {"connection_pool": self._pool}  # typed as str options upstream
        self.storage: Storage = (
            RedisStorage(
                "async+" + str(redis_url),
                implementation="redispy",
                key_prefix="aegis-login",
                **pool,
            )
            if self._pool is not None
            else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    @staticmethod
    def _keys(email: str, ip: str | None) -> list[tuple[str, str]]:
        keys = [("email", email.strip().lower())]
        if ip:
            keys.append(("ip", ip))
        return keys

    async def check(self, email: str, ip: str | None) -> None:
        """Raise 429 with Retry-After while either key has used up its failures."""
        for kind, value in self._keys(email, ip):
            if not await self.limiter.test(self.item, kind, value):
                stats = await self.limiter.get_window_stats(self.item, kind, value)
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                raise LoginThrottled(
                    "로그인 실패가 너무 많습니다. 잠시 후 다시 시도하세요.", retry_after=retry
                )

    async def failed(self, email: str, ip: str | None) -> None:
        for kind, value in self._keys(email, ip):
            await self.limiter.hit(self.item, kind, value)

    async def succeeded(self, email: str) -> None:
        # the account owner got in: their own earlier typos no longer count (the IP's do)
        await self.limiter.clear(self.item, "email", email.strip().lower())
