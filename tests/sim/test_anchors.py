"""The daily chain starts at each stock's last real daily close: real as far as data exist,
simulated only after."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from aegis.core.config import Settings
from aegis.core.timeutil import kst_midnight_us
from aegis.history.types import DailyBar
from aegis.services.history_seed import real_anchors, seed_sim_history
from aegis.sources.sim.daily import (
    ANCHOR_DAY,
    Anchors,
    DailyChain,
    RealAnchor,
    realized_vol,
    synthesize_daily_history,
    volume_level,
)
from aegis.sources.sim.universe import Universe
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.sim.conftest import small_market, stock_rows

LATER = date(2026, 7, 24)


def test_a_stock_with_later_real_data_starts_from_its_own_last_close(universe: Universe) -> None:
    rows = stock_rows(universe)
    anchors = Anchors.latest(universe, {"005930": RealAnchor(LATER, 250_000)})
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
    anchors = Anchors.latest(universe, {"005930": RealAnchor(date(2023, 12, 22), 78_000)})
    k = stock_rows(universe)["005930"]
    assert anchors.close[k] == universe.anchor_close[k]
    assert anchors.first_day == ANCHOR_DAY


def test_the_index_is_continuous_at_its_own_real_anchor(universe: Universe) -> None:
    anchors = Anchors.latest(universe, {"KOSPI": RealAnchor(date(2026, 4, 3), 600_000)})
    chain = DailyChain(universe, 7, anchors)
    assert chain.day(date(2026, 4, 6)).index_prev["KOSPI"] == 600_000
    assert not chain.index_live("KOSPI", date(2026, 4, 3))
    assert chain.index_live("KOSPI", date(2026, 4, 6))


def test_unlabelled_store_candles_fall_back_to_the_snapshot(tmp_path: Path) -> None:
    """Until the store records each row's source, no stored candle can prove it is real."""
    instruments = small_market()
    settings = Settings(data_dir=tmp_path)
    upgrade_all(settings.store_url, settings.app_db_url)

    async def go() -> tuple[dict[str, RealAnchor], int]:
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


def _real_days(last: date, n: int) -> list[date]:
    """The ``n`` KRX trading days up to ``last``, oldest first."""
    from aegis.sources.sim.calendar import is_trading_day

    out: list[date] = []
    d = last
    while len(out) < n:
        if is_trading_day(d):
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def test_simulated_days_continue_at_the_recent_real_volume_level(tmp_path: Path) -> None:
    """A stock with real daily bars newer than the snapshot (here 000660, trading 3× its
    snapshot-day volume for the last 25 days, one of them a 40× event day) is simulated at
    that level after its last real day; a stock without newer real bars (035420) stays at its
    snapshot level. Through the store, as the runtime does it."""
    instruments = small_market()
    universe = Universe.build(instruments, 7)
    rows = stock_rows(universe)
    hynix, naver = rows["000660"], rows["035420"]
    real_level = 3.0 * float(universe.base_volume[hynix])
    close = int(universe.anchor_close[hynix])
    days = _real_days(LATER, 25)
    volumes = [int(real_level * (0.8 + 0.4 * (j % 5) / 4)) for j in range(len(days))]
    volumes[-3] = int(40 * real_level)  # a block deal: it must not lift the level
    settings = Settings(data_dir=tmp_path)
    upgrade_all(settings.store_url, settings.app_db_url)

    async def go() -> dict[str, list[int]]:
        store = SQLiteStore(settings.sqlite_path)
        await store.start()
        try:
            await store.upsert_instruments(instruments)
            await store.upsert_candles(
                [
                    DailyBar(d, close, close, close, close, v).to_candle("000660", "import")
                    for d, v in zip(days, volumes, strict=True)
                ]
            )
            anchors = await real_anchors(store, [i.symbol for i in instruments])
            await seed_sim_history(store, instruments, 7, date(2027, 1, 29), anchors)
            after = kst_midnight_us(LATER + timedelta(days=1))
            out: dict[str, list[int]] = {}
            for sym in ("000660", "035420"):
                sim = await store.get_candles(sym, "1d", after, None, 1_000)
                assert sim and all(c.source == "sim" for c in sim)
                out[sym] = [c.volume for c in sim]
            return out
        finally:
            await store.close()

    sim = asyncio.run(go())
    assert len(sim["000660"]) > 100  # 2026-07-27 … 2027-01-28
    # the model's median day is ~0.9× its level, the rest is the seed's luck: a wide band,
    # far from the snapshot level it continued at before (~0.3× the real one)
    assert 0.6 * real_level < float(np.median(sim["000660"])) < 1.5 * real_level
    snapshot_level = float(universe.base_volume[naver])
    assert 0.6 * snapshot_level < float(np.median(sim["035420"])) < 1.5 * snapshot_level


def test_the_volume_level_is_the_median_of_the_last_real_days() -> None:
    """20 days at most, none older than 45 days before the last (an older series ends years
    earlier), halted days (no volume) left out; one event day does not move it."""
    last = date(2026, 7, 24)
    days = _real_days(last, 30)
    bars = [(d, 1_000) for d in days]
    assert volume_level(bars) == 1_000.0
    bars[-1] = (last, 50_000)  # an event day
    bars[-2] = (bars[-2][0], 0)  # a halted day
    assert volume_level(bars) == 1_000.0
    older = [(d, 9_000) for d in days[:10]]  # the 10 days before the last 20: not counted
    assert volume_level(older + [(d, 1_000) for d in days[10:]]) == 1_000.0
    stale = [(date(2023, 12, 22 - k), 9_000) for k in range(19, 0, -1)]
    assert volume_level([*stale, (date(2026, 3, 23), 2_000)]) == 2_000.0
    assert volume_level([]) is None
    assert volume_level([(last, 0)]) is None


def test_only_real_bars_newer_than_the_snapshot_set_the_volume_level(universe: Universe) -> None:
    rows = stock_rows(universe)
    anchors = Anchors.latest(
        universe,
        {
            "005930": RealAnchor(LATER, 250_000, 1e8),
            "000660": RealAnchor(ANCHOR_DAY, 1_000_000, 1e8),  # the snapshot day's own bar
            "005380": RealAnchor(LATER, 300_000, None),  # no level known
        },
    )
    assert anchors.volume[rows["005930"]] == 1e8
    for sym in ("000660", "005380", "035420"):
        assert anchors.volume[rows[sym]] == universe.base_volume[rows[sym]]


def test_a_played_day_at_a_real_volume_level_ends_exactly_at_its_chain_volume(
    universe: Universe,
) -> None:
    """The intraday generator steers the day's trades to the chain candle's volume, so the
    ticks of a stock simulated at its real level add up to that level's day."""
    from aegis.domain import krx
    from aegis.sources.sim.session import emit_mask, normal_day
    from tests.sim.conftest import DAY

    rows = stock_rows(universe)
    k = rows["000660"]
    level = 3.0 * float(universe.base_volume[k])
    anchors = Anchors.latest(
        universe, {"000660": RealAnchor(LATER, int(universe.anchor_close[k]), level)}
    )
    chain = DailyChain(universe, 7, anchors)
    day = chain.day(DAY)
    engine = normal_day(universe, chain, 7, DAY, 8.0, emit_mask(universe, None), 60_000_000)
    traded = sum(
        t.volume
        for batch in engine.advance(2**62)
        for t in batch
        if t.symbol == "000660" and not krx.off_hours(t.ts)
    )
    assert traded == day.volume[k]


def _days_after(d: date, n: int) -> list[date]:
    """The ``n`` KRX trading days after ``d``."""
    from aegis.sources.sim.calendar import trading_days_between

    return list(trading_days_between(d + timedelta(days=1), d + timedelta(days=2 * n)))[:n]


def _sim_returns(chain: DailyChain, rows: list[int], after: date, n: int) -> np.ndarray:
    """Daily log returns (days × stocks) of ``rows`` over the ``n`` trading days after
    ``after``, from the anchor close on."""
    bars = [chain.day(d) for d in _days_after(after, n)]
    assert all(b.live[rows].all() for b in bars)
    closes = np.array([chain.anchors.close[rows]] + [b.close[rows] for b in bars], np.float64)
    return np.diff(np.log(closes), axis=0)


def test_simulated_volatility_starts_at_the_recent_real_level_and_reverts_to_the_model(
    universe: Universe,
) -> None:
    """Stocks whose real bars after the snapshot moved 3× the model's daily volatility start
    their simulated days at that level (the candles do not shrink where real turns into
    simulated) and calm down to the model's level at its own persistence; the other stocks'
    days are exactly those of a chain that knows no real volatility."""
    n = universe.n_stocks
    live = np.flatnonzero(~universe.suspended)
    real, others = live[: len(live) // 2], live[len(live) // 2 :]
    model = universe.total_vol()
    target = 3.0 * model
    last = {
        universe.symbols[k]: RealAnchor(
            LATER, int(universe.anchor_close[k]), float(universe.base_volume[k]), float(target[k])
        )
        for k in real
    }
    anchors = Anchors.latest(universe, last)
    # three seeds pooled: one seed's market volatility state alone may sit far from its mean
    chains = [DailyChain(universe, seed, anchors) for seed in (1, 2, 3)]
    r = np.concatenate([_sim_returns(c, list(real), LATER, 250) for c in chains], axis=0)
    r = r.reshape(3, 250, len(real)).transpose(1, 0, 2)  # days × seeds × stocks
    # median absolute returns, robust to the model's news jumps and limit days; each stock's
    # in units of its real volatility, and the late ones in units of the model's
    late = float(np.median(np.abs(r[150:] / model[real])))
    first5 = float(np.median(np.abs(r[:5] / target[real]))) / late
    first20 = float(np.median(np.abs(r[:20] / target[real]))) / late
    # the state decays with a ~10-day half-life: the first 20 days average below the first
    # days' level; without the real start they move at ~1/3 of it
    assert 0.55 < first5 < 1.3
    assert 0.4 < first20 < 1.0
    assert 0.5 < late < 0.8  # back at the model's level (a normal day's median |z| is 0.67)
    # their volume does not jump with the volatility state: within the model's own volume
    # response to the larger moves, the first days trade as they would at the model's state
    plain = {s: a._replace(vol=None) for s, a in last.items()}
    withouts = [DailyChain(universe, seed, Anchors.latest(universe, plain)) for seed in (1, 2, 3)]
    first_days = _days_after(LATER, 20)
    vol_real, vol_plain = (
        float(np.median([c.day(d).volume[real] for c in cs for d in first_days]))
        for cs in (chains, withouts)
    )
    assert 0.85 < vol_real / vol_plain < 1.35  # 1.55 without dividing the excess out

    chain, without = chains[0], withouts[0]
    for d in _days_after(ANCHOR_DAY, 120):
        a, b = chain.day(d), without.day(d)
        for x, y in ((a.open, b.open), (a.high, b.high), (a.low, b.low), (a.close, b.close)):
            assert np.array_equal(x[others], y[others])
        assert np.array_equal(a.volume[others], b.volume[others])
    assert n > len(real) > 20


def test_the_real_volatility_is_the_winsorized_rms_of_the_last_40_returns() -> None:
    """Close-to-close log returns of the last 41 traded days, none older than 90 days before
    the last, halted days left out, an event day counted at 4 robust standard deviations;
    None with fewer than 10 returns or none that moved."""
    last = date(2026, 7, 24)
    days = _real_days(last, 60)
    up = float(np.exp(0.02))
    closes = [int(100_000 * up ** (j % 2)) for j in range(60)]  # ±2 % every day
    bars = [(d, c, 1_000) for d, c in zip(days, closes, strict=True)]
    assert realized_vol(bars) == pytest.approx(0.02, rel=1e-3)
    bars[-1] = (last, closes[-2] * 2, 1_000)  # a +100 % day (a bad print, a split)
    capped = 4 * 1.4826 * 0.02  # 4 robust standard deviations of ±2 % days
    assert realized_vol(bars) == pytest.approx(np.sqrt((39 * 0.02**2 + capped**2) / 40), rel=1e-2)
    halted = [*bars[:-1], (last, 0, 0)]  # no trade on the last day: the day before ends it
    assert realized_vol(halted) == pytest.approx(0.02, rel=1e-3)
    older = [(d, 100_000 + 50_000 * (j % 2), 1_000) for j, d in enumerate(days[:19])]
    assert realized_vol(older + bars[19:-1]) == pytest.approx(0.02, rel=1e-3)  # 41 days only
    stale = [(date(2023, 1, 2) + timedelta(days=k), closes[k], 1_000) for k in range(40)]
    assert realized_vol([*stale, *bars[-5:-1]]) is None  # 4 recent returns: too few
    assert realized_vol([(d, 100_000, 1_000) for d in days]) is None  # never moved
    assert realized_vol([]) is None


def test_real_anchors_carry_the_recent_real_volatility(tmp_path: Path) -> None:
    """Through the store, as the runtime does it: a stock with real bars newer than the
    snapshot gets the volatility of its last real closes."""
    instruments = small_market()
    days = _real_days(LATER, 50)
    up = float(np.exp(0.03))
    closes = [int(200_000 * up ** (j % 2)) for j in range(len(days))]
    settings = Settings(data_dir=tmp_path)
    upgrade_all(settings.store_url, settings.app_db_url)

    async def go() -> dict[str, RealAnchor]:
        store = SQLiteStore(settings.sqlite_path)
        await store.start()
        try:
            await store.upsert_instruments(instruments)
            await store.upsert_candles(
                [
                    DailyBar(d, c, c, c, c, 1_000).to_candle("000660", "import")
                    for d, c in zip(days, closes, strict=True)
                ]
            )
            return await real_anchors(store, [i.symbol for i in instruments])
        finally:
            await store.close()

    anchors = asyncio.run(go())
    assert anchors["000660"].vol == pytest.approx(0.03, rel=1e-2)
