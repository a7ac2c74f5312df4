"""What only the PostgreSQL store does: connection handling, URLs, concurrent COPY writers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from aegis.core.errors import StoreError
from aegis.core.redact import redact_url as redact
from aegis.domain.ticks import Tick
from aegis.store.migrate import upgrade
from aegis.store.postgres import PostgresStore, asyncpg_dsn
from tests.support.services import free_port

pytestmark = pytest.mark.services

T0 = 1_700_000_000_000_000


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[PostgresStore]:
    upgrade(postgres_url)
    store = PostgresStore(postgres_url)
    await store.start()
    yield store
    await store.close()


def test_sqlalchemy_style_urls_are_accepted_and_passwords_never_shown() -> None:
    assert asyncpg_dsn("postgresql+psycopg://u:p@h/db") == "postgresql://u:p@h/db"
    assert asyncpg_dsn("postgres://u@h/db") == "postgresql://u@h/db"
    assert redact("postgresql://aegis:s3cret@h:5432/db") == "postgresql://aegis:***@h:5432/db"


async def test_start_fails_clearly_when_postgres_is_unreachable() -> None:
    store = PostgresStore(f"postgresql://aegis:s3cret@127.0.0.1:{free_port()}/aegis")

    with pytest.raises(StoreError, match="cannot connect to PostgreSQL") as err:
        await store.start()

    assert "s3cret" not in str(err.value)


async def test_a_driver_qualified_url_works_end_to_end(postgres_url: str) -> None:
    upgrade(postgres_url)
    store = PostgresStore(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    await store.start()
    try:
        assert await store.write_ticks([Tick("005930", T0, 70_000, 1, 1, 0, "sim")]) == 1
    finally:
        await store.close()


async def test_concurrent_writers_of_overlapping_batches_store_each_tick_once(
    pg: PostgresStore,
) -> None:
    ticks = [Tick("005930", T0 + i, 70_000, 1, 1, 0, "sim") for i in range(20_000)]
    batches = [ticks[i * 5_000 : i * 5_000 + 10_000] for i in range(3)] + [ticks]

    counts = await asyncio.gather(*(pg.write_ticks(b) for b in batches))

    assert sum(counts) == 20_000
    assert len(await pg.get_ticks("005930", T0, T0 + 20_000)) == 20_000
    info = pg.describe()
    assert info["ticksWritten"] == 20_000
    assert info["ticksIgnored"] == sum(len(b) for b in batches) - 20_000
    assert info["timescale"] is False  # this test server has no TimescaleDB


async def test_a_store_that_is_not_started_says_so() -> None:
    store = PostgresStore("postgresql://127.0.0.1/none")

    with pytest.raises(StoreError, match="not started"):
        await store.get_ticks("005930", 0, 1)
