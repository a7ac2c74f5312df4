"""Fixtures of the ingest-service tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aegis.store.base import Store
from aegis.store.migrate import upgrade
from aegis.store.postgres import PostgresStore
from aegis.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens a store of one kind on one migrated database (a process's view of it)."""
    if request.param == "sqlite":
        path = tmp_path / "s.db"
        url = f"sqlite:///{path}"
        build: Callable[[], Store] = lambda: SQLiteStore(path)  # noqa: E731
    else:
        url = request.getfixturevalue("postgres_url")
        build = lambda: PostgresStore(url)  # noqa: E731
    upgrade(url)
    yield build
