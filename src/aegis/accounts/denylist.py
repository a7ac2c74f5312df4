"""Revoked access-token ids, kept until the token would have expired anyway: in the
application database, or in Redis (with the key's own expiry) when Redis is configured."""

from __future__ import annotations

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
    def revoked_clause(self, jti: str) -> sa.ColumnElement[bool] | None:
        """A SQL expression "this jti is revoked" when the denylist lives in the application
        database (so that authentication reads user and denylist in one query), else None."""
        ...

    async def close(self) -> None: ...


class DbDenylist:
    def __init__(self, db: AsyncEngine) -> None:
        self.db = db

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

    async def is_revoked(self, jti: str) -> bool:
        async with self.db.connect() as conn:
            row = await conn.scalar(
                sa.select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti)
            )
        return row is not None

    def revoked_clause(self, jti: str) -> sa.ColumnElement[bool] | None:
        return sa.exists().where(revoked_tokens.c.jti == jti)

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

    def revoked_clause(self, jti: str) -> sa.ColumnElement[bool] | None:
        return None

    async def close(self) -> None:
        await self.redis.aclose()
