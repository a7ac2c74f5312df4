"""Async engines for the application database, from our URLs (``sqlite:///path``,
``postgresql://…``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def to_async_url(url: str) -> str:
    """``postgresql://`` → ``postgresql+asyncpg://``; ``sqlite:///p`` → ``sqlite+aiosqlite:///p``."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; busy_timeout: concurrent writers wait, not fail;
    # foreign keys: SQLite ignores ON DELETE CASCADE without it.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def create_app_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    async_url = to_async_url(url)
    if async_url.startswith("sqlite"):
        engine = create_async_engine(async_url)
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        async_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
