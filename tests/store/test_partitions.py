"""Day partitions on a real PostgreSQL (revision 0007, ``aegis.store.partitions``): converting a
populated database, where new rows land, the DEFAULT partition as a safety net, retention by
dropping partitions, and the way back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from aegis.core.timeutil import kst_day, kst_midnight_us, now_us
from aegis.domain.candles import Candle
from aegis.domain.ticks import BUY, Tick
from aegis.store.migrate import alembic_config, sqlalchemy_url, upgrade
from aegis.store.partitions import DAYS_AHEAD
from aegis.store.postgres import PostgresStore

pytestmark = pytest.mark.services

HOUR = 3_600_000_000
DAY = 24 * HOUR
MIN = 60_000_000
D1 = date(2026, 11, 2)  # a Monday
# 08:30 KST is 23:30 UTC the day before: the pre-market belongs to the KST day all the same
PRE_MARKET = kst_midnight_us(D1) + 8 * HOUR + 30 * MIN
LAST_KST_INSTANT = kst_midnight_us(D1 + timedelta(days=1)) - 1

TICK_COLS = "symbol, ts, seq, price, volume, side, source"
CANDLE_COLS = (
    'symbol, "interval", start, open, high, low, close, volume, amount, trades, '
    "first_ts, first_seq, last_ts, last_seq, source"
)


def candle(interval: str, start: int, close: int = 100, source: str = "sim") -> Candle:
    return Candle(
        "005930", interval, start, 100, 100, 100, close, 5, 500, 2, start, 1, start + 1, 2, source
    )


def part(day: date, parent: str = "ticks") -> str:
    return f"{parent}_p{day:%Y%m%d}"


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[PostgresStore]:
    upgrade(postgres_url)
    store = PostgresStore(postgres_url)
    await store.start()
    yield store
    await store.close()


def sync_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def populate_0006(url: str, n_per_day: int = 50) -> None:
    """A database at revision 0006 (plain tables) holding ticks and candles over four KST days."""
    upgrade(url, "0006")
    engine = sa.create_engine(sqlalchemy_url(url))
    days = [D1 + timedelta(days=i) for i in range(4)]
    ticks = [
        {
            "ts": kst_midnight_us(d) + 9 * HOUR + i * MIN,
            "seq": i,
            "src": "import" if i % 7 else "sim",
        }
        for d in days
        for i in range(n_per_day)
    ] + [
        {"ts": PRE_MARKET, "seq": 9_999, "src": "kis"},
        {"ts": LAST_KST_INSTANT, "seq": 0, "src": "kis"},
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO ticks ({TICK_COLS}) VALUES ('005930', :ts, :seq, 70000, 3, 1, :src)"
            ),
            ticks,
        )
        conn.execute(
            sa.text(
                f"INSERT INTO candles ({CANDLE_COLS}) VALUES ('005930', :iv, :start, 1, 2, 1, 2, "
                "9, :amount, 3, :start, 0, :start, 1, 'import')"
            ),
            [
                {"iv": iv, "start": kst_midnight_us(d) + 9 * HOUR + k * MIN, "amount": 18 + k}
                for d in days
                for iv, k in [("1m", 0), ("1m", 1), ("5m", 0), ("1d", 0)]
            ]
            + [{"iv": "1d", "start": kst_midnight_us(date(2001, 5, 2)), "amount": None}],
        )
    engine.dispose()


def test_upgrade_of_a_populated_database_keeps_every_row_in_its_kst_day_partition(
    postgres_url: str,
) -> None:
    populate_0006(postgres_url)
    before_ticks = sync_rows(postgres_url, f"SELECT {TICK_COLS} FROM ticks ORDER BY 1, 2, 3")
    before_candles = sync_rows(postgres_url, f"SELECT {CANDLE_COLS} FROM candles ORDER BY 1, 2, 3")

    upgrade(postgres_url)

    assert (
        sync_rows(postgres_url, f"SELECT {TICK_COLS} FROM ticks ORDER BY 1, 2, 3") == before_ticks
    )
    assert (
        sync_rows(postgres_url, f"SELECT {CANDLE_COLS} FROM candles ORDER BY 1, 2, 3")
        == before_candles
    )
    where = dict(
        sync_rows(postgres_url, "SELECT seq, tableoid::regclass::text FROM ticks WHERE seq >= 9999")
    )
    assert where == {9_999: part(D1)}  # the 08:30 KST pre-market tick, 23:30 UTC the day before
    last = sync_rows(
        postgres_url, f"SELECT tableoid::regclass::text FROM ticks WHERE ts = {LAST_KST_INSTANT}"
    )
    assert last == [(part(D1),)]
    per_part = dict(
        sync_rows(postgres_url, "SELECT tableoid::regclass::text, count(*) FROM ticks GROUP BY 1")
    )
    assert per_part == {
        part(D1): 52,
        part(D1 + timedelta(days=1)): 50,
        part(D1 + timedelta(days=2)): 50,
        part(D1 + timedelta(days=3)): 50,
    }
    candle_parts = dict(
        sync_rows(
            postgres_url,
            'SELECT "interval", array_agg(DISTINCT tableoid::regclass::text) FROM candles '
            "GROUP BY 1",
        )
    )
    assert candle_parts["1m"] == [part(D1 + timedelta(days=i), "candles_1m") for i in range(4)]
    assert candle_parts["5m"] == candle_parts["1d"] == ["candles_rest"]
    today = kst_day(now_us())
    ahead = {r[0] for r in sync_rows(postgres_url, "SELECT relname FROM pg_class")}
    for i in range(DAYS_AHEAD + 1):
        assert part(today + timedelta(days=i)) in ahead
        assert part(today + timedelta(days=i), "candles_1m") in ahead


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

    rows = await pg.pool.fetch("SELECT ts, tableoid::regclass::text FROM ticks ORDER BY ts")
    assert [(r[0], r[1]) for r in rows] == [
        (now, part(kst_day(now))),
        (later, part(kst_day(later))),
    ]
    c = await pg.pool.fetch("SELECT close, tableoid::regclass::text FROM candles")
    assert [(r[0], r[1]) for r in c] == [(105, part(kst_day(now), "candles_1m"))]


async def test_a_row_for_a_day_without_partition_is_stored_in_default_then_moved_to_its_own(
    pg: PostgresStore,
) -> None:
    old = kst_midnight_us(date(2019, 3, 4)) + 10 * HOUR
    far = kst_midnight_us(date(9999, 12, 31)) + HOUR  # no next day: stays in the DEFAULT
    ticks = [Tick("005930", old + i, 70_000, 1, BUY, 0, "import") for i in range(3)]
    ticks.append(Tick("005930", far, 1, 1, BUY, 0, "import"))
    assert await pg.write_ticks(ticks) == 4
    await pg.upsert_candles([candle("1m", old, source="import")])
    default = "SELECT count(*) FROM ticks_default"
    assert await pg.pool.fetchval(default) == 4

    await pg.apply_retention(now_us(), None, {"1m": None})

    where = await pg.pool.fetch("SELECT ts, tableoid::regclass::text FROM ticks ORDER BY ts")
    assert [r[1] for r in where] == [part(date(2019, 3, 4))] * 3 + ["ticks_default"]
    c = await pg.pool.fetchval("SELECT tableoid::regclass::text FROM candles")
    assert c == part(date(2019, 3, 4), "candles_1m")
    assert await pg.pool.fetchval("SELECT count(*) FROM candles_1m_default") == 0
    assert await pg.write_ticks(ticks) == 0  # still one copy of each
    assert len(await pg.get_ticks("005930", 0, 2**62)) == 4


async def test_retention_drops_expired_partitions_and_keeps_those_holding_history(
    pg: PostgresStore,
) -> None:
    now = kst_midnight_us(D1 + timedelta(days=30)) + 12 * HOUR
    live_day, mixed_day, recent = D1, D1 + timedelta(days=1), D1 + timedelta(days=28)
    noon = 12 * HOUR
    await pg.write_ticks(
        [
            Tick("005930", kst_midnight_us(live_day) + noon, 1, 1, BUY, 0, "kis"),
            Tick("005930", kst_midnight_us(live_day) + noon, 1, 1, BUY, 1, "sim"),
            Tick("005930", kst_midnight_us(mixed_day) + noon, 1, 1, BUY, 0, "kis"),
            Tick("005930", kst_midnight_us(mixed_day) + noon, 1, 1, BUY, 1, "backfill"),
            Tick("005930", kst_midnight_us(recent) + noon, 1, 1, BUY, 0, "kis"),
        ]
    )
    await pg.upsert_candles(
        [
            candle("1m", kst_midnight_us(live_day) + noon),
            candle("1m", kst_midnight_us(mixed_day) + noon, source="import"),
            candle("1d", kst_midnight_us(live_day)),
        ]
    )

    deleted = await pg.apply_retention(now, 7, {"1m": 7, "1d": None}, {"import", "backfill"})

    tables = {r[0] for r in await pg.pool.fetch("SELECT relname FROM pg_class")}
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
    assert log == [
        ("candles_1m", 1, now - 7 * DAY),
        ("ticks", 1, now - 7 * DAY),
        ("ticks", 2, now - 7 * DAY),
    ]

    # AEGIS_RETENTION_KEEPS_HISTORY=false: history goes the same way, whole partitions at once
    deleted = await pg.apply_retention(now, 7, {"1m": 7}, frozenset())

    assert (deleted["ticks_partitions"], deleted["ticks"]) == (1, 1)
    assert (deleted["candles_1m_partitions"], deleted["candles_1m"]) == (1, 1)
    assert [t.source for t in await pg.get_ticks("005930", 0, 2**62)] == ["kis"]


async def test_retention_deletes_the_expired_part_of_the_partition_holding_the_cutoff(
    pg: PostgresStore,
) -> None:
    now = kst_midnight_us(D1 + timedelta(days=10)) + 12 * HOUR
    cutoff = now - 7 * DAY
    await pg.write_ticks(
        [
            Tick("005930", cutoff - 1, 1, 1, BUY, 0, "kis"),
            Tick("005930", cutoff, 1, 1, BUY, 0, "kis"),
        ]
    )

    deleted = await pg.apply_retention(now, 7, {}, frozenset())

    assert (deleted["ticks_partitions"], deleted["ticks"]) == (0, 1)
    assert [t.ts for t in await pg.get_ticks("005930", 0, 2**62)] == [cutoff]
    assert part(kst_day(cutoff)) in {
        r[0] for r in await pg.pool.fetch("SELECT relname FROM pg_class")
    }


async def test_downgrade_restores_plain_tables_with_every_row_and_upgrade_partitions_again(
    postgres_url: str,
) -> None:
    populate_0006(postgres_url, n_per_day=5)
    upgrade(postgres_url)
    store = PostgresStore(postgres_url)
    await store.start()
    try:
        assert [t.parent for t in store.partitioned] == ["ticks", "candles_1m"]
        await store.write_ticks([Tick("005930", now_us(), 1, 1, BUY, 0, "kis")])
    finally:
        await store.close()
    ticks = sync_rows(postgres_url, f"SELECT {TICK_COLS} FROM ticks ORDER BY 1, 2, 3")
    candles = sync_rows(postgres_url, f"SELECT {CANDLE_COLS} FROM candles ORDER BY 1, 2, 3")
    kinds = "SELECT relname, relkind FROM pg_class WHERE relname IN ('ticks', 'candles') ORDER BY 1"

    command.downgrade(alembic_config(postgres_url), "0006")

    assert sync_rows(postgres_url, kinds) == [("candles", "r"), ("ticks", "r")]
    assert sync_rows(postgres_url, f"SELECT {TICK_COLS} FROM ticks ORDER BY 1, 2, 3") == ticks
    assert sync_rows(postgres_url, f"SELECT {CANDLE_COLS} FROM candles ORDER BY 1, 2, 3") == candles
    assert sync_rows(
        postgres_url,
        "SELECT count(*) FROM pg_class "
        "WHERE relname ~ '^(ticks|candles_1m|candles)_(p[0-9]|default|rest|1m)'",
    ) == [(0,)]
    keys = sync_rows(
        postgres_url,
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid IN "
        "('ticks'::regclass, 'candles'::regclass) ORDER BY 1",
    )
    assert keys == [("candles_pkey",), ("ticks_pkey",), ("ticks_ts_idx",)]

    upgrade(postgres_url)

    assert sync_rows(postgres_url, kinds) == [("candles", "p"), ("ticks", "p")]
    assert sync_rows(postgres_url, f"SELECT {TICK_COLS} FROM ticks ORDER BY 1, 2, 3") == ticks
    assert sync_rows(postgres_url, f"SELECT {CANDLE_COLS} FROM candles ORDER BY 1, 2, 3") == candles
