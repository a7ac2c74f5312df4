"""The application database on both back ends: ``app_db`` runs a test once on a migrated SQLite
file and once on a fresh PostgreSQL database (skipped without the server unless
``AEGIS_REQUIRE_SERVICES=1``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.db import create_app_engine
from aegis.store.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgres"])
async def app_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'aegis-app.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    engine = create_app_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
