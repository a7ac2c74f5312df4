"""Write the shipped research files into the application database, once per dataset version.

Each dataset is seeded in one transaction that first inserts its ``research_seeds`` marker: a
second process starting at the same time waits on that row and then skips (unique key), and a
restart finds the marker and does nothing. Rows refreshed later from the DART API are never
overwritten by a seed, because a seeded dataset is never seeded again."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aegis.research import datasets
from aegis.research.tables import dart_corps, disclosures, financials, research_seeds, valuations

log = logging.getLogger(__name__)
CHUNK = 2_000


def financial_rows() -> list[dict[str, Any]]:
    """All statement rows, one per (symbol, basis, year, quarter): the first dataset wins a key
    (parent-only statements, then OpenDART annual figures, then earnings announcements)."""
    now = datetime.now(UTC)
    out: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for r in datasets.read_all_financials():
        key = (r.symbol, r.basis, r.year, r.quarter)
        if key in out:
            continue
        out[key] = {
            "symbol": r.symbol,
            "basis": r.basis,
            "year": r.year,
            "quarter": r.quarter,
            "revenue": r.revenue,
            "operating_profit": r.operating_profit,
            "net_income": r.net_income,
            "total_assets": r.total_assets,
            "total_liabilities": r.total_liabilities,
            "total_equity": r.total_equity,
            "source": r.source,
            "status": r.status,
            "rcept_no": r.rcept_no,
            "updated_at": now,
        }
    return list(out.values())


def disclosure_rows() -> list[dict[str, Any]]:
    return [
        {
            "rcept_no": d.rcept_no,
            "symbol": d.symbol,
            "corp_name": d.corp_name,
            "filed_at": d.filed_at,
            "title": d.title,
            "category": d.category,
            "filer": d.filer,
            "source": d.source,
        }
        for d in datasets.read_disclosures()
    ]


def valuation_rows() -> list[dict[str, Any]]:
    return [
        {
            "symbol": v.symbol,
            "day": v.day,
            "close": v.close,
            "per": v.per,
            "pbr": v.pbr,
            "div_yield": v.div_yield,
            "market_cap": v.market_cap,
            "source": datasets.SRC_VALUATION,
        }
        for v in datasets.read_valuation()
    ]


def corp_rows() -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {"symbol": s, "corp_code": c, "corp_name": None, "updated_at": now}
        for s, c in datasets.read_corp_codes().items()
    ]


# dataset@version → (table, rows); bump the version to re-seed a corrected file
DATASETS: dict[str, tuple[sa.Table, Callable[[], list[dict[str, Any]]]]] = {
    "financials@1": (financials, financial_rows),
    "disclosures@1": (disclosures, disclosure_rows),
    "valuations@1": (valuations, valuation_rows),
    "dart_corps@1": (dart_corps, corp_rows),
}


async def seed_research(engine: AsyncEngine, only: Sequence[str] | None = None) -> dict[str, int]:
    """Seed every dataset not yet in the database; returns rows written per dataset."""
    written: dict[str, int] = {}
    async with engine.connect() as conn:
        done = set((await conn.execute(sa.select(research_seeds.c.dataset))).scalars())
    for name, (table, build) in DATASETS.items():
        if name in done or (only is not None and name not in only):
            continue
        rows = build()
        try:
            async with engine.begin() as conn:
                if not await _claim(conn, name):
                    log.info("research dataset %s is being seeded by another process", name)
                    continue
                await conn.execute(
                    research_seeds.insert().values(
                        dataset=name, rows=len(rows), seeded_at=datetime.now(UTC)
                    )
                )
                await _insert(conn, table, rows)
        except IntegrityError:
            # another process seeded it first: nothing to do
            log.info("research dataset %s already seeded", name)
            continue
        written[name] = len(rows)
        log.info("seeded %s: %d rows", name, len(rows))
    return written


async def _claim(conn: AsyncConnection, name: str) -> bool:
    """PostgreSQL: a transaction-scoped advisory lock per dataset, taken without waiting, so a
    process starting beside a seeding one goes on serving instead of queueing behind it.
    SQLite (one embedded process) needs none."""
    if conn.dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"aegis.research.seed:{name}".encode())
    got = await conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key)))
    return bool(got.scalar())


async def _insert(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    postgres = conn.dialect.name == "postgresql"
    if postgres or (conn.dialect.name == "sqlite" and _plain(table)):
        # the driver itself, rows as tuples: PostgreSQL's COPY (60,718 valuation rows in well
        # under a second instead of ~10 s of INSERTs), SQLite's executemany (SQLAlchemy's
        # processing of each row's parameters took ~0.75 s of a fresh start)
        cols = list(rows[0])
        records = [tuple(r[c] for c in cols) for r in rows]
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        if postgres:
            await driver.copy_records_to_table(table.name, records=records, columns=cols)
        else:
            quote = conn.dialect.identifier_preparer.quote
            await driver.executemany(
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})",
                records,
            )
        return
    for i in range(0, len(rows), CHUNK):
        await conn.execute(table.insert(), rows[i : i + CHUNK])


def _plain(table: sa.Table) -> bool:
    """Columns whose values the SQLite driver stores as SQLAlchemy would (text, integers,
    floats): no date or time to convert."""
    return all(isinstance(c.type, sa.String | sa.Integer | sa.Float) for c in table.columns)
