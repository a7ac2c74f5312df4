"""Daily history a fresh store needs so that charts reach back and change % means something:
the real index series and daily OHLCV shipped in ``aegis.reference``, the real snapshot day, and,
for the simulator, its simulated days from the snapshot up to the day it plays."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from aegis.aggregator.batch import CandleTable, IntervalCandles
from aegis.core.timeutil import EPOCH_ORDINAL, KST_OFFSET_US, US_PER_DAY, kst_midnight_us
from aegis.domain.candles import Candle
from aegis.domain.instruments import Instrument
from aegis.domain.sources import IMPORT, SIM
from aegis.history.types import DailyBar
from aegis.store.base import Store

if TYPE_CHECKING:
    from aegis.sources.sim.daily import RealAnchor

log = logging.getLogger(__name__)
# Kakao's shipped series is not adjusted for its 2021 5:1 split; seeding it would show a false
# -78 % day. The others are split-adjusted.
_UNADJUSTED = {"035720"}


def _index_bars(symbol: str) -> list[Candle]:
    from aegis.reference.indices import INDEX_PRICE_SCALE, read_index_daily

    # An index's traded value is won, not points × shares: stored in the candle's minor units
    # (× 10^price_scale) so the API's scaling serves the file's won exactly.
    unit = 10**INDEX_PRICE_SCALE
    return [
        DailyBar(
            d.day, d.open, d.high, d.low, d.close, d.volume,
            None if d.amount is None else d.amount * unit,
        ).to_candle(symbol, IMPORT)
        for d in read_index_daily(symbol)
    ]  # fmt: skip


def _snapshot_bars(known: set[str]) -> list[Candle]:
    from aegis.reference.listing import SNAPSHOT_DAY, read_listing

    day = date.fromisoformat(SNAPSHOT_DAY)
    return [
        DailyBar(day, s.open, s.high, s.low, s.close, s.volume, s.amount).to_candle(s.code, IMPORT)
        for s in read_listing()
        if s.code in known and s.volume > 0  # suspended that day: no trade, no bar
    ]


async def seed_real_history(
    store: Store, instruments: list[Instrument], *, before: date | None = None
) -> int:
    """The shipped real daily series, as 1d candles labelled ``import``: the older series once
    per store, the recent ones (2024 → 2026) once too, also into stores seeded before they
    shipped. Cheap when done: one probe each. Only days before ``before`` when given: a
    replay's store ends the day before the replayed day."""
    known = {i.symbol for i in instruments}
    older = await _seed_older_history(store, known, before)
    return older + await seed_recent_history(store, known, before)


async def seed_recent_history(store: Store, known: set[str], before: date | None = None) -> int:
    """Real daily bars 2024-01-02 → 2026-07-24 (36 largest stocks, 005930 → 2026-10-02) and
    2025-02-12 → 2026-05-05 (200 largest), joined without a seam (see ``reference.recent``).
    They fill days the store lacks and replace simulated ones; a day the user imported or
    backfilled, or that came live, is kept; the KRX snapshot day keeps its official bar (which
    also has the traded value)."""
    from aegis.core.timeutil import kst_midnight_us
    from aegis.reference.listing import SNAPSHOT_DAY
    from aegis.reference.recent import PROBE, load_recent_history, recent_symbols

    probe, probe_day = PROBE
    if probe in known:  # one index probe, before reading the files
        done = await store.get_candle(probe, "1d", kst_midnight_us(probe_day))
        if done is not None and done.source == IMPORT:
            return 0
    symbols = [s for s in recent_symbols() if s in known]
    if not symbols:
        return 0
    snapshot_day = date.fromisoformat(SNAPSHOT_DAY)
    in_snapshot = {c.symbol for c in _snapshot_bars(known)}
    candles: list[Candle] = []
    for sym in symbols:
        bars = load_recent_history(sym)
        first, last = bars[0].to_candle(sym, IMPORT), bars[-1].to_candle(sym, IMPORT)
        stored = await store.get_candles(sym, "1d", first.start, last.start + 1, len(bars) * 2)
        # data the user imported, backfilled or received live stay; simulated days give way
        keep = {c.start for c in stored if c.source != SIM}
        for b in bars:
            if before is not None and b.day >= before:
                break
            c = b.to_candle(sym, IMPORT)
            if c.start not in keep and not (b.day == snapshot_day and sym in in_snapshot):
                candles.append(c)
    await store.upsert_candles(candles)
    log.info("seeded %d recent real daily candles for %d stocks", len(candles), len(symbols))
    return len(candles)


async def _seed_older_history(store: Store, known: set[str], before: date | None) -> int:
    from aegis.reference import history_symbols, load_daily_history

    if await store.get_candles("KOSPI", "1d", None, None, 1):
        return 0
    candles: list[Candle] = []
    for sym in ("KOSPI", "KOSDAQ"):
        if sym in known:
            candles.extend(_index_bars(sym))
    for sym in history_symbols():
        if sym in known and sym not in _UNADJUSTED:
            candles.extend(b.to_candle(sym, IMPORT) for b in load_daily_history(sym))
    candles.extend(_snapshot_bars(known))
    if before is not None:
        end = kst_midnight_us(before)
        candles = [c for c in candles if c.start < end]
    await store.upsert_candles(candles)
    log.info("seeded %d real daily candles", len(candles))
    return len(candles)


def _source(c: Candle) -> str | None:
    """A stored candle's source; None where it is not known (rows from before sources were
    stored per row): such a row cannot prove it is real."""
    return None if c.source == "unknown" else c.source


async def real_anchors(store: Store, symbols: list[str]) -> dict[str, RealAnchor]:
    """Each symbol's newest non-simulated daily candle in the store: its KST day and close,
    and, where it is newer than the snapshot, the stock's volume level and volatility over
    its last real days (``sources.sim.daily.volume_level``, ``realized_vol``). The
    simulator's daily chain starts there, so charts are real as far as data exist and its
    volumes and volatility continue at the real level."""
    from aegis.core.timeutil import kst_day
    from aegis.reference.listing import SNAPSHOT_DAY
    from aegis.sources.sim.daily import (
        VOL_LEVEL_DAYS,
        VOLUME_LEVEL_DAYS,
        RealAnchor,
        realized_vol,
        volume_level,
    )

    snapshot_day = date.fromisoformat(SNAPSHOT_DAY)
    out: dict[str, RealAnchor] = {}
    for c in await store.latest_candles("1d", symbols):
        if _source(c) is None:
            continue
        rows = [c]
        if _source(c) == "sim":  # walk back past the simulated days
            rows = await store.get_candles(c.symbol, "1d", None, c.start, 1000)
        real = [r for r in rows if _source(r) not in (None, "sim")]
        if not real:
            continue
        found = real[-1]
        day = kst_day(found.start)
        level = vol = None
        if day > snapshot_day:
            want = max(VOLUME_LEVEL_DAYS, VOL_LEVEL_DAYS + 1)
            if len(real) < want:  # the newest was real: read the days before it
                before = await store.get_candles(c.symbol, "1d", None, found.start + 1, want)
                real = [r for r in before if _source(r) not in (None, "sim")]
            level = volume_level([(kst_day(r.start), r.volume) for r in real])
            vol = realized_vol([(kst_day(r.start), r.close, r.volume) for r in real])
        out[found.symbol] = RealAnchor(day, found.close, level, vol)
    return out


async def seed_sim_history(
    store: Store,
    instruments: list[Instrument],
    seed: int,
    session_day: date,
    anchors: Mapping[str, RealAnchor] | None = None,
) -> int:
    """The simulator's own days between the last stored day and the day it plays (exclusive),
    each stock's starting after its last real close (``anchors``, by default the shipped
    snapshot) at its recent real volume level, so daily charts have no gap. These are
    simulated values (the API labels the source)."""
    from aegis.sources.sim.daily import Anchors, synthesize_daily_columns
    from aegis.sources.sim.universe import Universe

    last = await store.get_candles("KOSPI", "1d", None, None, 1)
    first = date(2026, 3, 21)
    if last:
        from aegis.core.timeutil import kst_day

        first = max(first, kst_day(last[-1].start) + timedelta(days=1))
    end = session_day - timedelta(days=1)
    if first > end:
        return 0
    u = Universe.build(instruments, seed)
    chain_anchors = Anchors.latest(u, anchors or {})
    bars = synthesize_daily_columns(u, seed, first, end, chain_anchors)
    # a simulated day never replaces a real one (the simulator continues after them)
    real_until = await store.last_real_days()
    real = np.array([real_until[s].toordinal() if s in real_until else 0 for s in u.symbols])
    keep = bars.day > real[bars.code]
    # 1d candles as ``DailyBar.to_candle`` makes them, as columns (~450,000 on a fresh store)
    start = (bars.day[keep] - EPOCH_ORDINAL) * US_PER_DAY - KST_OFFSET_US
    n = len(start)
    zeros = np.zeros(n, np.int64)
    table = CandleTable(
        [
            IntervalCandles(
                u.symbols, "1d", SIM, bars.code[keep], start, bars.open[keep], bars.high[keep],
                bars.low[keep], bars.close[keep], bars.volume[keep], np.full(n, None, object),
                zeros, start, zeros, start, zeros,
            )
        ]
    )  # fmt: skip
    await store.upsert_candles(table)
    log.info("seeded %d simulated daily candles (%s … %s)", n, first, end)
    return n


async def sessions_without_minutes(store: Store, session_day: date, count: int) -> list[date]:
    """Of the ``count`` trading days before ``session_day``, those without 1-minute candles
    of KOSPI (the simulator generates them at full resolution: ``sources.sim.history``)."""
    from aegis.sources.sim.calendar import prev_trading_day
    from aegis.sources.sim.history import MARK

    out: list[date] = []
    day = session_day
    for _ in range(count):
        day = prev_trading_day(day)
        start = kst_midnight_us(day)
        if not await store.get_candles(*MARK, start, start + 86_400_000_000, 1):
            out.append(day)
    return out
