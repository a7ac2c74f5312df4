"""Failed-login throttling with the ``limits`` library: at most N failures in a moving window per
email and per client IP; in process (embedded) or in Redis (shared by every API process)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from aegis.core.errors import LoginThrottled

log = logging.getLogger(__name__)


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
        self.storage_errors = 0

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
            try:
                if await self.limiter.test(self.item, kind, value):
                    continue
                stats = await self.limiter.get_window_stats(self.item, kind, value)
            except (RedisError, OSError) as exc:
                # like the request rate limits: an unreachable counter (Redis restarting) lets
                # logins through (passwords are still checked) rather than locking everyone out
                self._unreachable(exc)
                return
            retry = max(1, math.ceil(stats.reset_time - time.time()))
            raise LoginThrottled(
                "로그인 실패가 너무 많습니다. 잠시 후 다시 시도하세요.", retry_after=retry
            )

    async def failed(self, email: str, ip: str | None) -> None:
        try:
            for kind, value in self._keys(email, ip):
                await self.limiter.hit(self.item, kind, value)
        except (RedisError, OSError) as exc:
            self._unreachable(exc)

    async def succeeded(self, email: str) -> None:
        # the account owner got in: their own earlier typos no longer count (the IP's do)
        try:
            await self.limiter.clear(self.item, "email", email.strip().lower())
        except (RedisError, OSError) as exc:
            self._unreachable(exc)

    def _unreachable(self, exc: BaseException) -> None:
        self.storage_errors += 1
        if self.storage_errors == 1 or self.storage_errors % 1000 == 0:
            log.warning("login throttling not enforced: storage unreachable (%s)", exc)
