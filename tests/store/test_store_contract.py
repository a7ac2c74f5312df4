"""One contract, two stores: every test here runs against SQLite and against a real PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest

from aegis.core.errors import StoreError
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.ticks import BUY, SELL, UNKNOWN_SIDE, Tick
from aegis.store.base import Store, TickColumns
from aegis.store.migrate import upgrade
from aegis.store.postgres import PostgresStore
from aegis.store.sqlite import SQLiteStore

T0 = 1_700_000_000_000_000  # an arbitrary UTC µs instant
MIN = 60_000_000
DAY = 86_400_000_000


class Stores:
    """Opens stores of one kind on one database, migrated or not; closes what is left open."""

    def __init__(self, url: str, build: Callable[[], Store]) -> None:
        self.url = url
        self.build = build
        self.migrated = False
        self.opened: list[Store] = []

    async def open(self, migrate: bool = True) -> Store:
        if migrate and not self.migrated:
            upgrade(self.url)
            self.migrated = True
        store = self.build()
        await store.start()
        self.opened.append(store)
        return store

    async def close(self, store: Store) -> None:
        self.opened.remove(store)
        await store.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "sqlite":
        path = tmp_path / "aegis.db"
        made = Stores(f"sqlite:///{path}", lambda: SQLiteStore(path))
    else:
        url = request.getfixturevalue("postgres_url")
        made = Stores(url, lambda: PostgresStore(url))
    yield made
    for store in list(made.opened):
        await made.close(store)


@pytest.fixture
async def store(stores: Stores) -> Store:
    return await stores.open()


def tick(
    symbol: str, ts: int, seq: int, price: int = 70_000, volume: int = 10, side: int = BUY
) -> Tick:
    return Tick(symbol, ts, price, volume, side, seq, "sim")


def candle(
    symbol: str,
    interval: str,
    start: int,
    close: int = 100,
    *,
    amount: int | None = 500,
    source: str = "sim",
) -> Candle:
    return Candle(
        symbol,
        interval,
        start,
        100,
        max(100, close),
        min(100, close),
        close,
        5,
        amount,
        2,
        start,
        1,
        start + 1,
        2,
        source,
    )


def instrument(symbol: str, name: str, **kw: object) -> Instrument:
    return Instrument(symbol=symbol, name=name, market="KOSPI", **kw)  # type: ignore[arg-type]


# --- ticks -------------------------------------------------------------------------------


async def test_ticks_read_back_for_one_symbol_in_time_then_sequence_order(store: Store) -> None:
    ticks = [
        tick(
            "005930", T0 + i // 3 * 1000, i % 3, 70_000 + i, i + 1, (BUY, SELL, UNKNOWN_SIDE)[i % 3]
        )
        for i in range(30)
    ]
    other = [tick("000660", T0 + i, i) for i in range(5)]
    shuffled = ticks + other
    random.Random(1).shuffle(shuffled)

    assert await store.write_ticks(shuffled) == 35

    assert await store.get_ticks("005930", T0, T0 + 10_000) == ticks
    assert await store.get_ticks("000660", T0, T0 + 10_000) == other


async def test_tick_range_includes_start_and_excludes_end(store: Store) -> None:
    await store.write_ticks([tick("005930", T0 + i, 0) for i in range(10)])

    got = await store.get_ticks("005930", T0 + 2, T0 + 5)

    assert [t.ts for t in got] == [T0 + 2, T0 + 3, T0 + 4]
    assert await store.get_ticks("005930", T0 + 20, T0 + 30) == []
    assert await store.get_ticks("999999", T0, T0 + 10) == []


async def test_replayed_ticks_are_stored_once_and_not_counted_again(store: Store) -> None:
    first = [tick("005930", T0 + i, 0) for i in range(10)]
    assert await store.write_ticks(first) == 10

    replay = first[5:] + [tick("005930", T0 + 100 + i, 0) for i in range(4)]
    assert await store.write_ticks(replay) == 4

    # Same (symbol, ts) but another seq is a distinct trade; the same key twice in one batch
    # is one trade.
    same_ts = [tick("005930", T0, 1), tick("005930", T0, 1, price=1)]
    assert await store.write_ticks(same_ts) == 1

    stored = await store.get_ticks("005930", T0, T0 + 1000)
    assert len(stored) == 15
    assert len({(t.ts, t.seq) for t in stored}) == 15
    # The first write wins: a replay never alters a stored trade.
    assert next(t for t in stored if (t.ts, t.seq) == (T0, 1)).price == 70_000


async def test_empty_batches_are_accepted_and_change_nothing(store: Store) -> None:
    assert await store.write_ticks([]) == 0
    await store.upsert_candles([])
    await store.upsert_candles(iter(()))
    await store.upsert_instruments([])

    assert await store.get_ticks("005930", 0, 2**62) == []
    assert await store.get_candles("005930", "1m", None, None, 10) == []
    assert await store.list_instruments() == []


async def test_hundred_thousand_ticks_in_one_batch_are_all_stored(store: Store) -> None:
    symbols = ["005930", "000660", "035420", "00104K"]
    ticks = [
        tick(symbols[i % 4], T0 + i * 10, i, 50_000 + i % 97, 1 + i % 13) for i in range(100_000)
    ]

    assert await store.write_ticks(ticks) == 100_000
    assert await store.write_ticks(ticks[-1000:]) == 0

    got = await store.get_ticks("00104K", T0, T0 + 10 * 100_000)
    assert got == [t for t in ticks if t.symbol == "00104K"]


async def test_bulk_import_stores_new_ticks_and_candles_and_counts_only_new(store: Store) -> None:
    stored = [tick("005930", T0 + i, 0) for i in range(0, 30, 3)]
    await store.write_ticks(stored)
    rows = [("005930", T0 + i) for i in range(30)] + [("000660", T0 + i) for i in range(5)]
    cols = TickColumns(
        [s for s, _ in rows], [t for _, t in rows], [70_000] * 35, [10] * 35, [BUY] * 35,
        [0] * 35, "import",
    )  # fmt: skip
    day = candle("005930", "1d", T0, close=70_000, source="import")
    seen: list[int] = []

    new = await store.import_ticks(cols, [day], seen.append, chunk=8)

    assert new == 35 - len(stored)  # keys already stored are ignored, as in write_ticks
    assert sum(seen) == 35 and max(seen) == 8  # progress told per chunk
    got = await store.get_ticks("005930", T0, T0 + 30)
    assert [t.ts for t in got] == [T0 + i for i in range(30)]
    assert {t.source for t in got if (t.ts - T0) % 3} == {"import"}
    assert {t.source for t in got if (t.ts - T0) % 3 == 0} == {"sim"}  # stored rows kept
    assert await store.get_candle("005930", "1d", T0) == day


async def test_a_flush_stores_what_write_ticks_and_upsert_candles_store(store: Store) -> None:
    # the live ingest path: new and already stored ticks, candles in no particular order, one
    # of them twice (its later state wins) and one replacing a stored candle
    await store.write_ticks([tick("005930", T0, 0)])
    await store.upsert_candles([candle("005930", "1m", T0, close=90)])
    ticks = [tick(s, T0 + i * MIN, 0) for i in range(5) for s in ("005930", "000660", "00104K")]
    candles = [
        candle(s, iv, T0 + i * MIN, close=100 + i)
        for i in range(5)
        for s in ("00104K", "005930", "000660")
        for iv in ("5m", "1m")
    ]
    random.Random(7).shuffle(candles)
    candles.append(candle("000660", "1m", T0, close=77))

    new = await store.write_flush(ticks, candles)

    assert new == len(ticks) - 1
    for s in ("005930", "000660", "00104K"):
        assert await store.get_ticks(s, T0, T0 + 5 * MIN) == [t for t in ticks if t.symbol == s]
        for iv in ("1m", "5m"):
            got = await store.get_candles(s, iv, None, None, 100)
            want = {c.start: c for c in candles if c.symbol == s and c.interval == iv}
            assert got == sorted(want.values(), key=lambda c: c.start)
    assert await store.get_candle("000660", "1m", T0) == candle("000660", "1m", T0, close=77)
    assert await store.write_flush(ticks, []) == 0
    fresh = [tick("035420", T0, 0), tick("035420", T0, 1)]
    assert await store.write_flush(fresh, []) == 2
    twice = [tick("035720", T0, 0, price=1), tick("035720", T0, 0, price=2)]
    assert await store.write_flush(twice, []) == 1  # a key twice in one flush: the first wins
    assert await store.get_ticks("035420", T0, T0 + 1) == fresh
    assert await store.get_ticks("035720", T0, T0 + 1) == twice[:1]


async def test_flushes_replace_candles_another_store_wrote_meanwhile(stores: Stores) -> None:
    # PostgreSQL inserts candles newer than what it knows stored without ON CONFLICT: a
    # second writer on the same database makes that knowledge stale, and nothing may be lost
    mine = await stores.open()
    other = await stores.open()
    await mine.write_flush([], [candle("005930", "1m", T0, close=101)])
    await mine.write_flush([], [candle("005930", "1m", T0 + MIN, close=102)])
    assert len(await mine.latest_candles("5m")) == 0  # read: nothing known stored for 5m
    await other.upsert_candles(
        [candle("005930", "1m", T0 + 2 * MIN, close=1), candle("005930", "5m", T0, close=2)]
    )
    flush = [
        candle("005930", "1m", T0 + MIN, close=103),  # stored by mine: replaced
        candle("005930", "1m", T0 + 2 * MIN, close=104),  # "new" to mine, stored by other
        candle("005930", "1m", T0 + 3 * MIN, close=105),  # new
        candle("005930", "5m", T0, close=106),  # stored by other
    ]
    await mine.write_flush([], flush)
    got = await mine.get_candles("005930", "1m", None, None, 10)
    assert got == [candle("005930", "1m", T0, close=101), *flush[:3]]
    assert await other.get_candle("005930", "5m", T0) == flush[3]
    # and again, with what mine learnt from that flush: all of these are stored now
    again = [candle("005930", "1m", T0 + i * MIN, close=110 + i) for i in range(1, 5)]
    await mine.write_flush([], again)
    assert await mine.get_candles("005930", "1m", T0 + MIN, None, 10) == again


async def test_tick_keys_are_those_of_the_stored_ticks_in_the_range(store: Store) -> None:
    await store.write_ticks(
        [tick("005930", T0, 0), tick("005930", T0, 1), tick("005930", T0 + 5, 0)]
    )
    await store.write_ticks([tick("000660", T0, 7)])

    assert await store.tick_keys("005930", T0, T0 + 5) == {(T0, 0), (T0, 1)}
    assert await store.tick_keys("005930", T0 + 6, T0 + 9) == set()


# --- candles -----------------------------------------------------------------------------


async def test_upserted_candle_replaces_the_stored_one(store: Store) -> None:
    await store.upsert_candles([candle("005930", "1m", T0, close=100)])
    await store.upsert_candles([candle("005930", "1m", T0, close=120)])

    got = await store.get_candle("005930", "1m", T0)

    assert got == candle("005930", "1m", T0, close=120)


async def test_last_state_wins_when_a_batch_holds_one_candle_twice(store: Store) -> None:
    await store.upsert_candles(
        [candle("005930", "1m", T0, close=101), candle("005930", "1m", T0, close=99)]
    )

    assert await store.get_candle("005930", "1m", T0) == candle("005930", "1m", T0, close=99)


async def test_candle_amount_beyond_int64_round_trips_exactly(store: Store) -> None:
    huge = 123_456_789_012_345_678_901_234_567  # crypto: price 1e-8 × qty 1e-8 units
    await store.upsert_candles([candle("BTCUSDT", "1m", T0, amount=huge)])

    got = await store.get_candle("BTCUSDT", "1m", T0)

    assert got is not None
    assert got.amount == huge
    assert type(got.amount) is int


async def test_a_flush_stores_amounts_at_and_beyond_int64_and_unknown_ones(store: Store) -> None:
    # PostgreSQL stages a flush's candles with a bigint amount unless one does not fit
    amounts = [2**63 - 1, 2**63, None, 0, 500]
    for n in (1, len(amounts)):  # ones that all fit, then with one that does not
        candles = [candle("BTCUSDT", "1m", T0 + i * MIN, amount=a) for i, a in enumerate(amounts)]
        await store.write_flush([], candles[:n])
        await store.upsert_candles(candles[:n])  # the same rows again, through the other path
        got = await store.get_candles("BTCUSDT", "1m", None, None, 100)
        assert got == candles[:n]
        assert [type(c.amount) for c in got] == [type(a) for a in amounts[:n]]


async def test_store_built_json_gives_amounts_beyond_int64_exactly(store: Store) -> None:
    # BTCUSDT (prices and quantities to 8 places): 1.5 BTC at 90,000 is 1.35e21 minor units
    btc = Instrument("BTCUSDT", "BTCUSDT", "BINANCE", "crypto", price_scale=8, qty_scale=8)
    amounts = [135_000 * 10**16, 2**63 - 1, 2**63, 10**16 + 7, 5, None]
    candles = [candle("BTCUSDT", "1m", T0 + i * MIN, amount=a) for i, a in enumerate(amounts)]
    await store.upsert_candles(candles)
    for scale in (0, 8):  # one instrument in whole units, one with 8 + 8 decimals
        raw = await store.candles_json("BTCUSDT", "1m", None, None, 10, scale, scale)
        if raw is None:  # this store has no fast path
            return
        inst = btc if scale else Instrument("BTCUSDT", "BTCUSDT", "BINANCE", "crypto")
        got = [row["amount"] for row in orjson.loads(raw)]
        assert got == [inst.amount_value(a) for a in amounts]


async def test_each_candle_keeps_its_own_source(store: Store) -> None:
    await store.upsert_candles(
        [
            candle("005930", "1d", T0, source="import"),
            candle("005930", "1d", T0 + DAY, source="kis"),
            candle("005930", "1d", T0 + 2 * DAY, source="backfill"),
        ]
    )
    await store.upsert_candles([candle("005930", "1d", T0 + DAY, source="kiwoom")])

    got = await store.get_candles("005930", "1d", None, None, 10)

    assert [c.source for c in got] == ["import", "kiwoom", "backfill"]
    newest = await store.latest_candles("1d", ["005930"])
    assert [c.source for c in newest] == ["backfill"]


async def test_unknown_amount_is_stored_and_served_as_null(store: Store) -> None:
    await store.upsert_candles([candle("KOSPI", "1d", T0, amount=None, source="import")])

    got = await store.get_candle("KOSPI", "1d", T0)
    as_json = await store.candles_json("KOSPI", "1d", None, None, 10, 2, 0)

    assert got is not None and got.amount is None
    if as_json is not None:  # stores with a fast path build the same fields
        row = orjson.loads(as_json)[0]
        assert row["amount"] is None
        assert row["source"] == "import"


async def test_get_candle_of_another_interval_symbol_or_start_is_none(store: Store) -> None:
    await store.upsert_candles([candle("005930", "1m", T0)])

    assert await store.get_candle("005930", "5m", T0) is None
    assert await store.get_candle("000660", "1m", T0) is None
    assert await store.get_candle("005930", "1m", T0 + MIN) is None


async def test_candle_range_returns_the_latest_limit_in_ascending_order(store: Store) -> None:
    await store.upsert_candles([candle("005930", "1m", T0 + i * MIN) for i in range(10)])
    await store.upsert_candles([candle("005930", "5m", T0), candle("000660", "1m", T0 + MIN)])

    starts = [
        c.start for c in await store.get_candles("005930", "1m", T0 + 2 * MIN, T0 + 8 * MIN, 3)
    ]
    assert starts == [T0 + 5 * MIN, T0 + 6 * MIN, T0 + 7 * MIN]

    all_in_range = await store.get_candles("005930", "1m", T0 + 2 * MIN, T0 + 8 * MIN, 100)
    assert [c.start for c in all_in_range] == [T0 + i * MIN for i in range(2, 8)]

    open_start = await store.get_candles("005930", "1m", None, T0 + 3 * MIN, 100)
    assert [c.start for c in open_start] == [T0, T0 + MIN, T0 + 2 * MIN]

    open_end = await store.get_candles("005930", "1m", T0 + 8 * MIN, None, 100)
    assert [c.start for c in open_end] == [T0 + 8 * MIN, T0 + 9 * MIN]

    latest_two = await store.get_candles("005930", "1m", None, None, 2)
    assert [c.start for c in latest_two] == [T0 + 8 * MIN, T0 + 9 * MIN]

    assert await store.get_candles("005930", "1m", T0 + 20 * MIN, None, 10) == []


async def test_latest_candles_gives_the_newest_per_symbol(store: Store) -> None:
    await store.upsert_instruments(
        [
            instrument("005930", "삼성전자"),
            instrument("000660", "SK하이닉스"),
            instrument("035420", "NAVER"),
        ]
    )
    await store.upsert_candles(
        [candle("005930", "1m", T0 + i * MIN, close=100 + i) for i in range(5)]
        + [candle("000660", "1m", T0 + i * MIN, close=200 + i) for i in range(3)]
        + [candle("005930", "5m", T0 + 10 * 5 * MIN)]
    )

    latest = {c.symbol: c for c in await store.latest_candles("1m")}
    assert set(latest) == {"005930", "000660"}  # NAVER has none
    assert (latest["005930"].start, latest["005930"].close) == (T0 + 4 * MIN, 104)
    assert (latest["000660"].start, latest["000660"].close) == (T0 + 2 * MIN, 202)

    only = await store.latest_candles("1m", ["000660", "035420"])
    assert [(c.symbol, c.start) for c in only] == [("000660", T0 + 2 * MIN)]

    # the one before the newest (the previous day's close for quotes, at start-up)
    before = {c.symbol: c for c in await store.latest_candles("1m", skip=1)}
    assert {s: (c.start, c.close) for s, c in before.items()} == {
        "005930": (T0 + 3 * MIN, 103), "000660": (T0 + MIN, 201),
    }  # fmt: skip
    assert await store.latest_candles("5m", skip=1) == []  # a symbol with one candle: none


# --- instruments -------------------------------------------------------------------------


async def test_instrument_upsert_keeps_company_id_and_updates_fields(stores: Stores) -> None:
    store = await stores.open()
    await store.upsert_instruments(
        [
            instrument("005930", "삼성전자", shares=5_969_782_550, industry="전기전자"),
            instrument("00104K", "CJ4우(전환)"),
        ]
    )
    ids = {i.symbol: i.company_id for i in await store.list_instruments()}
    assert all(isinstance(v, int) for v in ids.values())
    assert ids["005930"] != ids["00104K"]

    await store.upsert_instruments(
        [
            instrument("00104K", "CJ4우(전환)", prev_close=45_000),
            instrument("KOSPI", "코스피", kind="index", price_scale=2),
            instrument("005930", "삼성전자", shares=5_919_637_922, industry="전기전자"),
        ]
    )
    await stores.close(store)
    reopened = await stores.open()  # ids survive a restart too
    after = {i.symbol: i for i in await reopened.list_instruments()}

    assert after["005930"].company_id == ids["005930"]
    assert after["00104K"].company_id == ids["00104K"]
    assert after["KOSPI"].company_id not in ids.values()
    assert after["005930"].shares == 5_919_637_922
    assert after["00104K"].prev_close == 45_000
    assert (after["KOSPI"].kind, after["KOSPI"].price_scale) == ("index", 2)


async def test_instrument_fields_round_trip(store: Store) -> None:
    full = Instrument(
        symbol="BTCUSDT",
        name="비트코인",
        market="BINANCE",
        kind="crypto",
        name_en="Bitcoin",
        industry="crypto",
        shares=None,
        price_scale=8,
        qty_scale=8,
        prev_close=9_000_000_000_000,
        listing_date="2017-07-14",
        products="spot",
    )
    await store.upsert_instruments([full])

    [got] = await store.list_instruments()

    assert got.company_id is not None
    got.company_id = None
    assert got == full


# --- retention and start-up --------------------------------------------------------------


async def test_retention_deletes_only_what_is_older_than_each_limit(store: Store) -> None:
    now = T0 + 30 * DAY
    await store.upsert_instruments([instrument("005930", "삼성전자")])
    await store.write_ticks([tick("005930", now - 8 * DAY, 0), tick("005930", now - 6 * DAY, 0)])
    await store.upsert_candles(
        [
            candle("005930", "1m", now - 91 * DAY),
            candle("005930", "1m", now - DAY),
            candle("005930", "1d", now - 900 * DAY),
            candle("005930", "5m", now - 400 * DAY),
        ]
    )

    deleted = await store.apply_retention(now, 7, {"1m": 90, "5m": None, "1d": None})

    assert deleted["ticks"] == 1
    assert deleted["candles_1m"] == 1
    assert [t.ts for t in await store.get_ticks("005930", 0, 2**62)] == [now - 6 * DAY]
    assert [c.start for c in await store.get_candles("005930", "1m", None, None, 10)] == [now - DAY]
    assert len(await store.get_candles("005930", "1d", None, None, 10)) == 1
    assert len(await store.get_candles("005930", "5m", None, None, 10)) == 1


async def test_retention_spares_kept_sources_and_logs_what_it_removed(store: Store) -> None:
    now = T0 + 1000 * DAY
    await store.upsert_instruments([instrument("005930", "삼성전자")])
    old = now - 400 * DAY
    await store.write_ticks(
        [
            tick("005930", old, 0),  # live (sim): goes
            Tick("005930", old, 1, 1, BUY, 1, "import"),
            Tick("005930", old, 1, 1, BUY, 2, "backfill"),
        ]
    )
    await store.upsert_candles(
        [
            candle("005930", "1m", old, source="sim"),
            candle("005930", "1m", old + MIN, source="import"),
            candle("005930", "5m", old, source="backfill"),
        ]
    )

    deleted = await store.apply_retention(now, 7, {"1m": 90, "5m": 365}, {"import", "backfill"})

    assert (deleted["ticks"], deleted["candles_1m"], deleted["candles_5m"]) == (1, 1, 0)
    kept = await store.get_ticks("005930", 0, 2**62)
    assert sorted(t.source for t in kept) == ["backfill", "import"]
    assert [c.source for c in await store.get_candles("005930", "1m", None, None, 10)] == ["import"]
    assert len(await store.get_candles("005930", "5m", None, None, 10)) == 1
    log = await store.retention_log()
    assert sorted((e.target, e.deleted, e.at) for e in log) == [
        ("candles_1m", 1, now),
        ("ticks", 1, now),
    ]
    assert {e.target: e.cutoff for e in log} == {
        "ticks": now - 7 * DAY,
        "candles_1m": now - 90 * DAY,
    }


async def test_retention_with_no_limits_keeps_everything(store: Store) -> None:
    await store.upsert_instruments([instrument("005930", "삼성전자")])
    await store.write_ticks([tick("005930", T0, 0)])

    deleted = await store.apply_retention(T0 + 1000 * DAY, None, {"1m": None})

    assert sum(deleted.values()) == 0
    assert len(await store.get_ticks("005930", 0, 2**62)) == 1


async def test_start_refuses_a_database_that_was_never_migrated(stores: Stores) -> None:
    with pytest.raises(StoreError, match="aegis db upgrade"):
        await stores.open(migrate=False)


async def test_describe_names_the_kind(store: Store) -> None:
    await store.write_ticks([tick("005930", T0, 0)])

    info = store.describe()

    assert info["kind"] == store.kind
    assert info.get("ticksWritten") == 1


async def test_last_real_day_per_symbol_skips_simulated_days(store: Store) -> None:
    from datetime import date

    from aegis.core.timeutil import kst_midnight_us

    inst = [Instrument("005930", "삼성전자", "KOSPI"), Instrument("000660", "SK하이닉스", "KOSPI")]
    await store.upsert_instruments(inst)
    d = [kst_midnight_us(date(2026, 7, n)) for n in (22, 23, 24, 27)]
    await store.upsert_candles(
        [
            candle("005930", "1d", d[0], source="import"),
            candle("005930", "1d", d[1], source="backfill"),
            candle("005930", "1d", d[2], source="sim"),
            candle("005930", "1m", d[3], source="kis"),  # not a daily candle
            candle("000660", "1d", d[0], source="sim"),  # only simulated
        ]
    )
    assert await store.last_real_days() == {"005930": date(2026, 7, 23)}
    assert await store.last_real_days(["000660", "005930"]) == {"005930": date(2026, 7, 23)}


async def test_an_import_that_fails_midway_leaves_nothing_in_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite imports ticks and candles in one transaction: no ticks without their candles."""
    import sqlite3

    import aegis.store.sqlite as sqlite_store

    path = tmp_path / "aegis.db"
    upgrade(f"sqlite:///{path}")
    store = SQLiteStore(path)
    await store.start()

    def broken(conn: sqlite3.Connection, flat: list[object]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_store, "_write_candles", broken)
    ts = [T0, T0 + 1, T0 + 2]
    cols = TickColumns(["005930"] * 3, ts, [1] * 3, [1] * 3, [0] * 3, [0] * 3, "import")
    try:
        with pytest.raises(StoreError):
            await store.import_ticks(cols, [candle("005930", "1m", T0)])
        assert await store.get_ticks("005930", T0, T0 + 3) == []
    finally:
        await store.close()
