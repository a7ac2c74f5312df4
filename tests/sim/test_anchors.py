"""The daily chain starts at each stock's last real daily close: real as far as data exist,
simulated only after."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from aegis.core.config import Settings
from aegis.history.types import DailyBar
from aegis.services.history_seed import real_anchors, seed_sim_history
from aegis.sources.sim.daily import ANCHOR_DAY, Anchors, DailyChain, synthesize_daily_history
from aegis.sources.sim.universe import Universe
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.sim.conftest import small_market, stock_rows

LATER = date(2026, 7, 24)


def test_a_stock_with_later_real_data_starts_from_its_own_last_close(universe: Universe) -> None:
    rows = stock_rows(universe)
    anchors = Anchors.latest(universe, {"005930": (LATER, 250_000)})
    chain = DailyChain(universe, 7, anchors)
    early = chain.day(date(2026, 5, 6))
    assert not early.live[rows["005930"]] and early.live[rows["000660"]]
    assert early.close[rows["005930"]] == 250_000  # held at its real close, not simulated
    first_sim = chain.day(date(2026, 7, 27))
    assert first_sim.prev[rows["005930"]] == 250_000 and first_sim.live[rows["005930"]]
    bars = synthesize_daily_history(universe, 7, date(2026, 3, 23), date(2026, 7, 31), anchors)
    assert [b.day for b in bars["005930"]] == [date(2026, 7, 27), date(2026, 7, 28),
        date(2026, 7, 29), date(2026, 7, 30), date(2026, 7, 31)]  # fmt: skip
    assert bars["000660"][0].day == date(2026, 3, 23)


def test_a_real_close_older_than_the_snapshot_does_not_move_the_anchor(universe: Universe) -> None:
    anchors = Anchors.latest(universe, {"005930": (date(2023, 12, 22), 78_000)})
    k = stock_rows(universe)["005930"]
    assert anchors.close[k] == universe.anchor_close[k]
    assert anchors.first_day == ANCHOR_DAY


def test_the_index_is_continuous_at_its_own_real_anchor(universe: Universe) -> None:
    anchors = Anchors.latest(universe, {"KOSPI": (date(2026, 4, 3), 600_000)})
    chain = DailyChain(universe, 7, anchors)
    assert chain.day(date(2026, 4, 6)).index_prev["KOSPI"] == 600_000
    assert not chain.index_live("KOSPI", date(2026, 4, 3))
    assert chain.index_live("KOSPI", date(2026, 4, 6))


def test_unlabelled_store_candles_fall_back_to_the_snapshot(tmp_path: Path) -> None:
    """Until the store records each row's source, no stored candle can prove it is real."""
    instruments = small_market()
    settings = Settings(data_dir=tmp_path)
    upgrade_all(settings.store_url, settings.app_db_url)

    async def go() -> tuple[dict[str, tuple[date, int]], int]:
        store = SQLiteStore(settings.sqlite_path)
        await store.start()
        try:
            await store.upsert_instruments(instruments)
            await store.upsert_candles(
                [DailyBar(LATER, 1, 1, 1, 1, 1).to_candle("005930", "unknown")]
            )
            anchors = await real_anchors(store, [i.symbol for i in instruments])
            n = await seed_sim_history(store, instruments, 7, date(2026, 3, 27), anchors)
            return anchors, n
        finally:
            await store.close()

    anchors, n = asyncio.run(go())
    assert anchors == {}
    assert n > 0  # 2026-03-23 … 03-26 were seeded from the snapshot
