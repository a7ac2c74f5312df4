"""Revoked access-token ids, kept until the token would have expired anyway: in the
application database, or in Redis (with the key's own expiry) when Redis is configured."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.tables import revoked_tokens
from aegis.core.errors import NotReady


class Denylist(Protocol):
    async def revoke(self, jti: str, expires_at: int) -> None: ...
    async def is_revoked(self, jti: str) -> bool: ...
    async def close(self) -> None: ...


class DbDenylist:
    """The denylist in the application database (embedded mode), mirrored in memory: every
    authenticated request asks, so the table (small: unexpired revocations only) is read at
    most once per ``refresh_seconds``; this process's own revocations count at once, another
    process's within ``refresh_seconds`` (several API processes use Redis instead)."""

    def __init__(self, db: AsyncEngine, refresh_seconds: float = 5.0) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self._revoked: dict[str, int] = {}  # jti → expires_at (epoch seconds)
        self._own: dict[str, int] = {}  # revoked here: kept across a read that began before
        self._read_at: float | None = None  # monotonic time of the last table read
        self._reading: asyncio.Lock = asyncio.Lock()

    async def revoke(self, jti: str, expires_at: int) -> None:
        now = int(time.time())
        async with self.db.begin() as conn:
            # expired entries can never match a valid token again: drop them on the way
            await conn.execute(sa.delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))
        try:
            async with self.db.begin() as conn:
                await conn.execute(revoked_tokens.insert().values(jti=jti, expires_at=expires_at))
        except sa.exc.IntegrityError:
            pass  # revoked already (a second logout with the same token)
        self._own[jti] = self._revoked[jti] = expires_at

    async def is_revoked(self, jti: str) -> bool:
        read_at = self._read_at
        if read_at is None or time.monotonic() - read_at >= self.refresh_seconds:
            await self._read()
        return jti in self._revoked

    async def _read(self) -> None:
        async with self._reading:  # concurrent requests share one read
            if (
                self._read_at is not None
                and time.monotonic() - self._read_at < self.refresh_seconds
            ):
                return  # read meanwhile by the request this one waited for
            started, now = time.monotonic(), int(time.time())
            async with self.db.connect() as conn:
                rows = await conn.execute(
                    sa.select(revoked_tokens.c.jti, revoked_tokens.c.expires_at).where(
                        revoked_tokens.c.expires_at >= now
                    )
                )
                table = {r.jti: r.expires_at for r in rows}
            self._own = {j: exp for j, exp in self._own.items() if exp >= now}
            self._revoked = table | self._own
            self._read_at = started

    async def close(self) -> None:
        return None


class RedisDenylist:
    PREFIX = "aegis:revoked:"

    def __init__(self, url: str) -> None:
        self.redis: Redis = Redis.from_url(url)

    async def revoke(self, jti: str, expires_at: int) -> None:
        if expires_at > int(time.time()):
            try:
                await self.redis.set(self.PREFIX + jti, b"1", exat=expires_at)
            except (RedisError, OSError) as exc:
                raise NotReady("로그아웃을 기록할 수 없습니다 (Redis 연결 없음)") from exc

    async def is_revoked(self, jti: str) -> bool:
        # Unreachable Redis: a revoked token cannot be told from a good one, so refuse (503)
        # rather than let a logged-out token in.
        try:
            return bool(await self.redis.exists(self.PREFIX + jti))
        except (RedisError, OSError) as exc:
            raise NotReady("세션을 확인할 수 없습니다 (Redis 연결 없음)") from exc

    async def close(self) -> None:
        await self.redis.aclose()
