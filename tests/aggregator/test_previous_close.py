"""The previous day's close that quotes show beside today's price (``prev_day_close``) equals the
close of the symbol's last day before today recomputed from every tick, however the ticks
arrive: a late trade of yesterday after today's first one, a restart in between, a bulk batch
spanning days. The stream hub's live aggregator folds late ticks without the stored candles
(``add_late(late, {})``), so it must get this right from what it holds."""

from __future__ import annotations

import random
from datetime import date

import pytest

from aegis.aggregator.engine import Aggregator, recompute
from aegis.core.timeutil import kst_midnight_us
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS
from aegis.domain.krx import off_hours
from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick

from .test_sparse_roll import KRX, SYMBOLS, _Ingest, _market

SYM = "005930"
MIN = 60_000_000
MON = kst_midnight_us(date(2026, 3, 23))
TUE = MON + 86_400_000_000
WED = TUE + 86_400_000_000
H10 = 10 * 60 * MIN


def tick(ts: int, price: int, seq: int) -> Tick:
    return Tick(SYM, ts, price, 1, 1, seq, "kis")


def arrive_late(agg: Aggregator, t: Tick) -> None:
    """A tick older than the symbol's newest, folded as the stream hub does (no stored
    candles at hand)."""
    fresh, late = agg.add_fresh([t])
    assert (fresh, late) == ([], [t])
    agg.add_late(late, {})


def test_a_late_last_trade_of_yesterday_moves_the_previous_close() -> None:
    agg = Aggregator()
    agg.add_fresh([tick(MON + H10, 100, 1), tick(MON + H10 + 5 * MIN, 110, 3)])
    agg.add_fresh([tick(TUE + H10, 200, 4)])
    assert agg.prev_day_close(SYM) == 110
    # yesterday's last trade (seq 5, after 110) arrives after today's first
    arrive_late(agg, tick(MON + H10 + 6 * MIN, 120, 5))
    assert agg.prev_day_close(SYM) == 120
    # an earlier trade of yesterday leaves it
    arrive_late(agg, tick(MON + H10 + 2 * MIN, 90, 2))
    assert agg.prev_day_close(SYM) == 120


def test_a_late_trade_of_a_day_between_becomes_the_previous_day() -> None:
    agg = Aggregator()
    agg.add_fresh([tick(MON + H10, 100, 1)])
    agg.add_fresh([tick(WED + H10, 300, 3)])
    assert agg.prev_day_close(SYM) == 100
    arrive_late(agg, tick(TUE + H10, 200, 2))  # Tuesday's only trade, late
    assert agg.prev_day_close(SYM) == 200
    # and an older day's late trade no longer counts
    arrive_late(agg, tick(MON + H10 + MIN, 150, 0))
    assert agg.prev_day_close(SYM) == 200


def test_a_late_trade_of_today_leaves_the_previous_close() -> None:
    agg = Aggregator()
    agg.add_fresh([tick(MON + H10, 100, 1), tick(TUE + H10 + MIN, 200, 3)])
    arrive_late(agg, tick(TUE + H10, 190, 2))
    assert agg.prev_day_close(SYM) == 100
    day = agg.day_candle(SYM)
    assert day is not None and (day.open, day.close) == (190, 200)


def test_the_stored_previous_day_follows_a_late_trade_after_a_restart() -> None:
    stored_mon = Candle(SYM, "1d", MON, 100, 110, 100, 110, 2, 210, 2, MON + H10, 1,
                        MON + H10 + 5 * MIN, 3, "kis")  # fmt: skip
    stored_tue = Candle(SYM, "1d", TUE, 200, 200, 200, 200, 1, 200, 1, TUE + H10, 4,
                        TUE + H10, 4, "kis")  # fmt: skip
    agg = Aggregator()
    agg.restore([stored_tue], {SYM: stored_mon})
    assert agg.prev_day_close(SYM) == 110
    arrive_late(agg, tick(MON + H10 + 6 * MIN, 120, 5))
    assert agg.prev_day_close(SYM) == 120


def test_a_bulk_batch_over_two_days_leaves_its_first_day_as_the_previous() -> None:
    agg = Aggregator()
    agg.add_fresh([tick(MON + H10, 100, 1)])
    batch = [tick(TUE + H10, 200, 2), tick(TUE + H10 + MIN, 210, 3), tick(WED + H10, 300, 4)]
    bulk = agg.split_bulk(TickArrays.from_ticks(batch))
    agg.fold_bulk(bulk)
    agg.apply_bulk(bulk)
    assert agg.prev_day_close(SYM) == 210
    # one day only: the day the batch continued from
    agg2 = Aggregator()
    agg2.add_fresh([tick(MON + H10, 100, 1)])
    bulk = agg2.split_bulk(TickArrays.from_ticks([tick(TUE + H10, 200, 2)]))
    agg2.fold_bulk(bulk)
    agg2.apply_bulk(bulk)
    assert agg2.prev_day_close(SYM) == 100


def _restored_live(ingest: _Ingest) -> Aggregator:
    """What ``MarketService.restore_live`` makes of the store: the newest candle of each
    symbol and interval, and the stored 1d candle before the newest."""
    ingest.flush()
    newest: dict[tuple[str, str], Candle] = {}
    days: dict[str, list[Candle]] = {}
    for row in ingest.candles.values():
        c = Candle(*row)  # type: ignore[arg-type]
        have = newest.get((c.symbol, c.interval))
        if have is None or c.start > have.start:
            newest[(c.symbol, c.interval)] = c
        if c.interval == "1d":
            days.setdefault(c.symbol, []).append(c)
    prev = {}
    for sym, ds in days.items():
        ds.sort(key=lambda c: c.start)
        if len(ds) > 1:
            prev[sym] = ds[-2]
    live = Aggregator(off_hours=KRX)
    live.restore(list(newest.values()), prev)
    live.discard_changes()
    return live


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_hub_previous_close_equals_recomputed_with_late_ticks(seed: int, restart: bool) -> None:
    # the ingester (store as dicts) and, beside it, the hub's live aggregator fed what the
    # ingester accepted, late ticks without stored candles; a restart restores it from the store
    rng = random.Random(seed)
    batches = _market(rng)
    ingest = _Ingest(rng)
    live = Aggregator(off_hours=KRX)
    restart_at = rng.randrange(len(batches)) if restart else -1
    late_seen = 0
    for i, batch in enumerate(batches):
        if i == restart_at:
            ingest.restart()
            live = _restored_live(ingest)
        known = set(ingest.ticks)
        ingest.feed(batch)
        accepted = [
            t for t in batch
            if (t.symbol, t.ts, t.seq) not in known
            and ingest.ticks.get((t.symbol, t.ts, t.seq)) is t
        ]  # fmt: skip
        _, late = live.add_fresh(accepted)
        late_seen += len(late)
        if late:
            live.add_late(late, {})
        live.discard_changes()
    assert late_seen  # the market did deliver late ticks
    ingest.flush()
    in_candles = [t for t in ingest.ticks.values() if not (t.symbol in KRX and off_hours(t.ts))]
    for sym in SYMBOLS:
        days = recompute([t for t in in_candles if t.symbol == sym], STORED_INTERVALS[-1])
        assert len(days) == 2
        assert live.prev_day_close(sym) == days[0].close, sym
