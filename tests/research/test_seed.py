"""Seeding writes each shipped dataset once, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.seed import seed_research
from aegis.research.tables import disclosures, financials, research_seeds


async def test_seeding_twice_writes_nothing_the_second_time(app_db: AsyncEngine) -> None:
    first = await seed_research(app_db, only=["financials@1", "disclosures@1"])
    assert first["financials@1"] > 2_000 and first["disclosures@1"] > 1_000
    assert await seed_research(app_db, only=["financials@1", "disclosures@1"]) == {}
    async with app_db.connect() as conn:
        n = (await conn.execute(sa.select(sa.func.count()).select_from(financials))).scalar()
        marks = (await conn.execute(sa.select(research_seeds.c.dataset))).scalars().all()
        samsung = (
            await conn.execute(
                sa.select(financials.c.revenue).where(
                    financials.c.symbol == "005930",
                    financials.c.basis == "CFS",
                    financials.c.year == 2023,
                    financials.c.quarter == 0,
                )
            )
        ).scalar()
        reports = (
            await conn.execute(sa.select(sa.func.count()).where(disclosures.c.symbol == "005930"))
        ).scalar()
    assert n == first["financials@1"]
    assert sorted(marks) == ["disclosures@1", "financials@1"]
    assert samsung == 258_935_494_000_000
    assert reports and reports > 0


async def test_a_dataset_being_seeded_elsewhere_is_skipped_without_waiting(
    app_db: AsyncEngine,
) -> None:
    if app_db.dialect.name != "postgresql":
        return  # the advisory lock is PostgreSQL's; embedded SQLite has one process
    import zlib

    key = zlib.crc32(b"aegis.research.seed:disclosures@1")
    async with app_db.begin() as other:  # another process, mid-seed
        await other.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        assert await seed_research(app_db, only=["disclosures@1"]) == {}
    # once it is gone (it failed without writing its marker), the next start seeds it
    assert (await seed_research(app_db, only=["disclosures@1"]))["disclosures@1"] > 1_000


async def test_seeded_rows_are_the_shipped_rows_value_for_value(app_db: AsyncEngine) -> None:
    """Whichever way a backend writes them (SQLite: the driver's executemany), the stored
    valuation and disclosure rows are the dataset's rows, with their types (ints stay ints,
    missing values NULL)."""
    from aegis.research.seed import disclosure_rows, valuation_rows
    from aegis.research.tables import valuations

    await seed_research(app_db, only=["valuations@1", "disclosures@1"])
    for table, rows, key in (
        (valuations, valuation_rows(), ("symbol", "day")),
        (disclosures, disclosure_rows(), ("rcept_no",)),
    ):
        cols = list(rows[0])
        async with app_db.connect() as conn:
            stored = (await conn.execute(sa.select(*(table.c[c] for c in cols)))).all()
        want = sorted((tuple(r[c] for c in cols) for r in rows), key=lambda t: t[: len(key)])
        got = sorted((tuple(r) for r in stored), key=lambda t: t[: len(key)])
        assert got == want
        assert [type(v) for v in got[0]] == [type(v) for v in want[0]]
