"""Day partitions on a real PostgreSQL (revision 0007, ``aegis.store.partitions``): converting a
populated database, where new rows land, catch-all partitions as the safety net, retention by
dropping partitions, and the way back."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command

from aegis.core.timeutil import kst_day, kst_midnight_us, now_us
from aegis.domain.candles import Candle
from aegis.domain.ticks import BUY, Tick
from aegis.store.migrate import alembic_config, sqlalchemy_url, upgrade
from aegis.store.partitions import (
    CANDLES_1M,
    DAYS_AHEAD,
    TICKS,
    DayPartitioned,
    Partition,
    layout,
    partitions_of,
)
from aegis.store.postgres import PostgresStore

HOUR = 3_600_000_000
DAY = 24 * HOUR
MIN = 60_000_000


def today() -> date:
    """Today's KST date when a test runs, not when the module was imported (a run can cross
    midnight)."""
    return kst_day(now_us())


TICK_COLS = "symbol, ts, seq, price, volume, side, source"
CANDLE_COLS = (
    'symbol, "interval", start, open, high, low, close, volume, amount, trades, '
    "first_ts, first_seq, last_ts, last_seq, source"
)


def at(day: date, hours: float = 12) -> int:
    return kst_midnight_us(day) + int(hours * HOUR)


def candle(interval: str, start: int, close: int = 100, source: str = "sim") -> Candle:
    return Candle(
        "005930", interval, start, 100, 100, 100, close, 5, 500, 2, start, 1, start + 1, 2, source
    )


def part(day: date, parent: str = "ticks") -> str:
    return f"{parent}_p{day:%Y%m%d}"


def sync_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


async def assert_everything_covered(conn: asyncpg.Connection, table: DayPartitioned) -> None:
    """The partitions cover every value once: no insert can fail for want of a partition."""
    parts = await partitions_of(conn, table)
    assert parts[0].lo is None and parts[-1].hi is None
    assert all(a.hi == b.lo for a, b in itertools.pairwise(parts))


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[PostgresStore]:
    upgrade(postgres_url)
    store = PostgresStore(postgres_url)
    await store.start()
    yield store
    await store.close()


async def parts(pg: PostgresStore, table: DayPartitioned) -> list[Partition]:
    async with pg.pool.acquire() as conn:
        return await partitions_of(conn, table)


async def where(pg: PostgresStore, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await pg.pool.fetch(sql)]


def test_layout_covers_every_value_with_day_partitions_and_catch_alls_between() -> None:
    d1, d3 = date(2026, 11, 2), date(2026, 11, 4)

    parts = layout(TICKS, [d3, d1, d3])

    assert parts == [
        Partition("ticks_from_min", None, kst_midnight_us(d1), catch_all=True),
        Partition("ticks_p20261102", kst_midnight_us(d1), kst_midnight_us(d1) + DAY, False),
        Partition("ticks_from_20261103", kst_midnight_us(d1) + DAY, kst_midnight_us(d3), True),
        Partition("ticks_p20261104", kst_midnight_us(d3), kst_midnight_us(d3) + DAY, False),
        Partition("ticks_from_20261105", kst_midnight_us(d3) + DAY, None, catch_all=True),
    ]
    assert layout(TICKS, []) == [Partition("ticks_from_min", None, None, catch_all=True)]


@pytest.mark.services
async def test_upgrade_of_a_populated_database_keeps_every_row_in_its_kst_day_partition(
    postgres_url: str,
) -> None:
    upgrade(postgres_url, "0006")
    days = [today() - timedelta(days=i) for i in range(4)]
    old = today() - timedelta(days=30)  # beyond the 7-day tick window, inside the 1m one (90)
    pre_market = at(days[2], 8.5)  # 08:30 KST: 23:30 UTC the day before
    last_instant = kst_midnight_us(days[2] + timedelta(days=1)) - 1
    ticks = [
        {"ts": at(d, 9) + i * MIN, "seq": i, "src": "import" if i % 7 else "sim"}
        for d in [*days, old]
        for i in range(50)
    ] + [
        {"ts": pre_market, "seq": 9_999, "src": "kis"},
        {"ts": last_instant, "seq": 0, "src": "kis"},
    ]
    candles = [
        {"iv": iv, "start": at(d, 9) + k * MIN, "amount": 18 + k}
        for d in [*days, old]
        for iv, k in [("1m", 0), ("1m", 1), ("5m", 0), ("1d", 0)]
    ] + [{"iv": "1d", "start": kst_midnight_us(date(2001, 5, 2)), "amount": None}]
    engine = sa.create_engine(sqlalchemy_url(postgres_url))
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO ticks ({TICK_COLS}) VALUES ('005930', :ts, :seq, 7, 3, 1, :src)"),
            ticks,
        )
        conn.execute(
            sa.text(
                f"INSERT INTO candles ({CANDLE_COLS}) VALUES ('005930', :iv, :start, 1, 2, 1, 2, "
                "9, :amount, 3, :start, 0, :start, 1, 'import')"
            ),
            candles,
        )
    engine.dispose()
    tick_sql = f"SELECT {TICK_COLS} FROM ticks ORDER BY 1, 2, 3"
    candle_sql = f"SELECT {CANDLE_COLS} FROM candles ORDER BY 1, 2, 3"
    before = sync_rows(postgres_url, tick_sql), sync_rows(postgres_url, candle_sql)

    upgrade(postgres_url)

    assert (sync_rows(postgres_url, tick_sql), sync_rows(postgres_url, candle_sql)) == before
    per_part = dict(
        sync_rows(postgres_url, "SELECT tableoid::regclass::text, count(*) FROM ticks GROUP BY 1")
    )
    assert per_part == {
        part(days[0]): 50,
        part(days[1]): 50,
        part(days[2]): 52,  # with the pre-market tick and the day's last instant
        part(days[3]): 50,
        "ticks_from_min": 50,  # the old day: retention deletes it row by row, as before
    }
    candle_parts = dict(
        sync_rows(
            postgres_url,
            'SELECT "interval", array_agg(DISTINCT tableoid::regclass::text) FROM candles '
            "GROUP BY 1",
        )
    )
    assert candle_parts["1m"] == sorted(part(d, "candles_1m") for d in [*days, old])
    assert candle_parts["5m"] == candle_parts["1d"] == ["candles_rest"]
    conn = await asyncpg.connect(postgres_url)
    try:
        for table in (TICKS, CANDLES_1M):
            await assert_everything_covered(conn, table)
            names = {p.name for p in await partitions_of(conn, table)}
            assert {table.name(today() + timedelta(days=i)) for i in range(DAYS_AHEAD + 1)} <= names
    finally:
        await conn.close()


@pytest.mark.services
async def test_upserts_for_today_land_in_the_partition_made_ahead_and_still_conflict(
    pg: PostgresStore,
) -> None:
    now = now_us()
    later = now + 3 * DAY
    t = [
        Tick("005930", now, 70_000, 1, BUY, 0, "kis"),
        Tick("005930", later, 70_100, 1, BUY, 0, "kis"),
    ]

    assert await pg.write_ticks(t) == 2
    assert await pg.write_ticks(t) == 0  # ON CONFLICT on the partitioned key
    await pg.upsert_candles([candle("1m", now - now % MIN, close=100)])
    await pg.upsert_candles([candle("1m", now - now % MIN, close=105)])

    rows = await where(pg, "SELECT ts, tableoid::regclass::text FROM ticks ORDER BY ts")
    assert rows == [(now, part(kst_day(now))), (later, part(kst_day(later)))]
    c = await where(pg, "SELECT close, tableoid::regclass::text FROM candles")
    assert c == [(105, part(kst_day(now), "candles_1m"))]


@pytest.mark.services
async def test_a_row_without_its_day_partition_lands_in_a_catch_all_then_moves_to_its_day(
    pg: PostgresStore,
) -> None:
    recent = today() - timedelta(days=3)  # inside the window, no partition yet (empty database)
    old = at(date(2019, 3, 4))  # beyond the window: stays in the catch-all
    far = at(date(9999, 12, 31))  # no next day to bound a partition: stays too
    later = recent + timedelta(days=2)  # a day between stays without partition
    ticks = [Tick("005930", at(recent) + i, 70_000, 1, BUY, 0, "import") for i in range(3)]
    ticks += [Tick("005930", at(later), 1, 1, BUY, 0, "kis")]
    ticks += [Tick("005930", old, 1, 1, BUY, 0, "import"), Tick("005930", far, 1, 1, BUY, 0, "kis")]
    assert await pg.write_ticks(ticks) == 6
    await pg.upsert_candles([candle("1m", at(recent), source="import")])
    last = f"ticks_from_{today() + timedelta(days=DAYS_AHEAD + 1):%Y%m%d}"
    sql = "SELECT tableoid::regclass::text FROM ticks ORDER BY ts"
    assert await where(pg, sql) == [("ticks_from_min",)] * 5 + [(last,)]

    await pg.apply_retention(now_us(), 7, {"1m": 90}, {"import", "backfill"})

    assert await where(pg, sql) == [
        ("ticks_from_min",),
        *[(part(recent),)] * 3,
        (part(later),),
        (last,),
    ]
    assert part(recent + timedelta(days=1)) not in {p.name for p in await parts(pg, TICKS)}
    c = await where(pg, "SELECT tableoid::regclass::text FROM candles")
    assert c == [(part(recent, "candles_1m"),)]
    assert await pg.write_ticks(ticks) == 0  # still one copy of each
    assert len(await pg.get_ticks("005930", 0, 2**62)) == 6
    async with pg.pool.acquire() as conn:
        await assert_everything_covered(conn, TICKS)
        await assert_everything_covered(conn, CANDLES_1M)


@pytest.mark.services
async def test_retention_drops_expired_partitions_and_keeps_those_holding_history(
    pg: PostgresStore,
) -> None:
    live_day = today() - timedelta(days=40)
    mixed_day, recent = live_day + timedelta(days=1), live_day + timedelta(days=5)
    await pg.apply_retention(at(live_day), None, {})  # that day's housekeeping made its partitions
    await pg.write_ticks(
        [
            Tick("005930", at(live_day), 1, 1, BUY, 0, "kis"),
            Tick("005930", at(live_day), 1, 1, BUY, 1, "sim"),
            Tick("005930", at(mixed_day), 1, 1, BUY, 0, "kis"),
            Tick("005930", at(mixed_day), 1, 1, BUY, 1, "backfill"),
            Tick("005930", at(recent), 1, 1, BUY, 0, "kis"),
        ]
    )
    await pg.upsert_candles(
        [
            candle("1m", at(live_day)),
            candle("1m", at(mixed_day), source="import"),
            candle("1d", kst_midnight_us(live_day)),
        ]
    )
    now = at(live_day + timedelta(days=9))
    cutoff = now - 7 * DAY  # noon of live_day + 2

    deleted = await pg.apply_retention(now, 7, {"1m": 7, "1d": None}, {"import", "backfill"})

    tables = {r[0] for r in await where(pg, "SELECT relname FROM pg_class")}
    assert part(live_day) not in tables and part(live_day, "candles_1m") not in tables
    assert part(mixed_day) in tables and part(mixed_day, "candles_1m") in tables
    assert part(recent) in tables
    assert (deleted["ticks_partitions"], deleted["ticks"]) == (1, 3)  # 2 dropped, 1 deleted
    assert (deleted["candles_1m_partitions"], deleted["candles_1m"]) == (1, 1)
    left = await pg.get_ticks("005930", 0, 2**62)
    assert [(kst_day(t.ts), t.source) for t in left] == [(mixed_day, "backfill"), (recent, "kis")]
    assert [c.source for c in await pg.get_candles("005930", "1m", None, None, 10)] == ["import"]
    assert len(await pg.get_candles("005930", "1d", None, None, 10)) == 1
    log = sorted((e.target, e.deleted, e.cutoff) for e in await pg.retention_log())
    assert log == [("candles_1m", 1, cutoff), ("ticks", 1, cutoff), ("ticks", 2, cutoff)]
    async with pg.pool.acquire() as conn:
        await assert_everything_covered(conn, TICKS)
        await assert_everything_covered(conn, CANDLES_1M)
    # a late tick of the dropped day is stored (in a catch-all); the next pass deletes it
    assert await pg.write_ticks([Tick("005930", at(live_day), 1, 1, BUY, 2, "kis")]) == 1

    # AEGIS_RETENTION_KEEPS_HISTORY=false: history goes the same way, whole partitions at once
    deleted = await pg.apply_retention(now, 7, {"1m": 7}, frozenset())

    assert (deleted["ticks_partitions"], deleted["ticks"]) == (1, 2)  # backfill + the late tick
    assert (deleted["candles_1m_partitions"], deleted["candles_1m"]) == (1, 1)
    assert [t.source for t in await pg.get_ticks("005930", 0, 2**62)] == ["kis"]
    tables = {r[0] for r in await where(pg, "SELECT relname FROM pg_class")}
    assert part(mixed_day) not in tables and part(recent) in tables
    async with pg.pool.acquire() as conn:
        await assert_everything_covered(conn, TICKS)


@pytest.mark.services
async def test_retention_deletes_the_expired_part_of_the_day_holding_the_cutoff(
    pg: PostgresStore,
) -> None:
    day = today() - timedelta(days=20)
    cutoff = at(day)
    await pg.apply_retention(cutoff, None, {})  # makes the day's partition
    await pg.write_ticks(
        [
            Tick("005930", cutoff - 1, 1, 1, BUY, 0, "kis"),
            Tick("005930", cutoff, 1, 1, BUY, 0, "kis"),
        ]
    )

    deleted = await pg.apply_retention(cutoff + 7 * DAY, 7, {}, frozenset())

    assert (deleted["ticks_partitions"], deleted["ticks"]) == (0, 1)
    assert [t.ts for t in await pg.get_ticks("005930", 0, 2**62)] == [cutoff]
    assert await where(pg, "SELECT tableoid::regclass::text FROM ticks") == [(part(day),)]


@pytest.mark.services
async def test_downgrade_restores_plain_tables_with_every_row_and_upgrade_partitions_again(
    postgres_url: str,
) -> None:
    upgrade(postgres_url)
    store = PostgresStore(postgres_url)
    await store.start()
    try:
        assert [t.parent for t in store.partitioned] == ["ticks", "candles_1m"]
        await store.write_ticks(
            [Tick("005930", now_us() - i * HOUR, 1, 1, BUY, 0, "kis") for i in range(100)]
        )
        await store.upsert_candles([candle("1m", now_us() - i * MIN) for i in range(50)])
        await store.upsert_candles([candle("1d", kst_midnight_us(today()))])
    finally:
        await store.close()
    tick_sql = f"SELECT {TICK_COLS} FROM ticks ORDER BY 1, 2, 3"
    candle_sql = f"SELECT {CANDLE_COLS} FROM candles ORDER BY 1, 2, 3"
    ticks, candles = sync_rows(postgres_url, tick_sql), sync_rows(postgres_url, candle_sql)
    kinds = "SELECT relname, relkind FROM pg_class WHERE relname IN ('ticks', 'candles') ORDER BY 1"

    command.downgrade(alembic_config(postgres_url), "0006")

    assert sync_rows(postgres_url, kinds) == [("candles", "r"), ("ticks", "r")]
    assert sync_rows(postgres_url, tick_sql) == ticks
    assert sync_rows(postgres_url, candle_sql) == candles
    leftovers = sync_rows(
        postgres_url,
        "SELECT relname FROM pg_class WHERE relname ~ '^(ticks|candles)_(p[0-9]|from_|rest|1m)'",
    )
    assert leftovers == []
    keys = sync_rows(
        postgres_url,
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid IN "
        "('ticks'::regclass, 'candles'::regclass) ORDER BY 1",
    )
    assert keys == [("candles_pkey",), ("ticks_pkey",), ("ticks_ts_idx",)]

    upgrade(postgres_url)

    assert sync_rows(postgres_url, kinds) == [("candles", "p"), ("ticks", "p")]
    assert sync_rows(postgres_url, tick_sql) == ticks
    assert sync_rows(postgres_url, candle_sql) == candles


@pytest.mark.services
async def test_writes_during_housekeeping_never_fail_and_every_row_is_stored_once(
    postgres_url: str,
) -> None:
    upgrade(postgres_url)
    store = PostgresStore(postgres_url, max_size=4)
    await store.start()
    try:
        # days inside the window without partitions, so that every pass carves while rows come
        days = [today() - timedelta(days=d) for d in range(1, 7)]
        batches = [
            [Tick("005930", at(day) + b * 1_000 + i, 1, 1, BUY, 0, "kis") for i in range(200)]
            for b in range(5)
            for day in days
        ]

        async def housekeeping() -> None:
            for _ in days:
                await store.apply_retention(now_us(), 30, {"1m": 90})

        passes = asyncio.create_task(housekeeping())
        written = await asyncio.gather(*(store.write_ticks(batch) for batch in batches))
        await passes

        assert sum(written) == 200 * len(batches)
        await store.apply_retention(now_us(), 30, {"1m": 90})
        stored = await store.get_ticks("005930", 0, 2**62)
        assert len(stored) == len({t.ts for t in stored}) == 200 * len(batches)
        where_ = await store.pool.fetch(
            "SELECT DISTINCT tableoid::regclass::text FROM ticks ORDER BY 1"
        )
        assert [r[0] for r in where_] == sorted(part(d) for d in days)
        async with store.pool.acquire() as conn:
            await assert_everything_covered(conn, TICKS)
    finally:
        await store.close()
