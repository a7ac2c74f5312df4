"""The application database opens and migrates on both back ends."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.db import to_async_url


def test_urls_select_async_drivers() -> None:
    assert to_async_url("sqlite:///var/a.db") == "sqlite+aiosqlite:///var/a.db"
    assert to_async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"


async def test_migrated_app_db_answers_queries(app_db: AsyncEngine) -> None:
    async with app_db.connect() as conn:
        version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
    assert version is not None
