"""The sparse market (about one tick per symbol-minute over many symbols) takes the roll-over of
``Aggregator.add_fresh`` at nearly every tick: a new minute that finishes the old one and
cascades into 5m/15m/1h/1d, across hour, session and day boundaries. The candles it hands to
the store (``take_dirty``, the last state of each key winning, as the store's upsert does), with
late and duplicate ticks through ``add_late`` as ``IngestService`` does, a restart from the
stored newest candles in the middle (eager levels) and KRX off-hours trades passed through,
equal the candles recomputed from the stored ticks."""

from __future__ import annotations

import random

import pytest

from aegis.aggregator.engine import Aggregator, recompute
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS
from aegis.domain.krx import off_hours
from aegis.domain.ticks import Tick

MINUTE = 60_000_000
HOUR = 60 * MINUTE
# 2026-03-23 15:00 KST: the regular session's last half hour, the evening, the next morning
T0 = 1_774_224_000_000_000 + 6 * HOUR
SYMBOLS = [f"{i:06d}" for i in range(1, 41)]
KRX = frozenset(SYMBOLS[:10])  # their off-hours trades are in no candle

CandleKey = tuple[str, str, int]


def _row(c: Candle) -> tuple[object, ...]:
    return (
        c.symbol, c.interval, c.start, c.open, c.high, c.low, c.close, c.volume, c.amount,
        c.trades, c.first_ts, c.first_seq, c.last_ts, c.last_seq, c.source,
    )  # fmt: skip


def _market(rng: random.Random, disorder: bool = True) -> list[list[Tick]]:
    """Batches of a sparse market over about 20 hours: each symbol trades about once every
    one to three minutes; with ``disorder``, some ticks repeated (replays), some held back and
    delivered later (late), some out of order within their batch."""
    ticks: list[Tick] = []
    seq = 0
    for sym in SYMBOLS:
        ts = T0 + rng.randrange(MINUTE)
        while ts < T0 + 20 * HOUR:
            seq += 1
            ticks.append(
                Tick(sym, ts, rng.randrange(1_000, 2_000), rng.randrange(0, 50),
                     rng.choice((-1, 0, 1)), seq, rng.choice(("sim", "kis")))
            )  # fmt: skip
            ts += rng.randrange(MINUTE // 2, 3 * MINUTE)
    ticks.sort(key=lambda t: t.ts)
    arrivals: list[Tick] = []
    held: list[Tick] = []
    for t in ticks:
        r = rng.random() if disorder else 1.0
        if r < 0.02:
            held.append(t)  # arrives a few batches later
            continue
        arrivals.append(t)
        if r < 0.04:  # the same trade again, other values: the first one stored wins
            arrivals.append(t._replace(price=t.price + 1, volume=t.volume + 1))
        if held and disorder and rng.random() < 0.05:
            arrivals.append(held.pop(0))
    arrivals.extend(held)
    batches: list[list[Tick]] = []
    i = 0
    while i < len(arrivals):
        n = rng.choice((1, 7, 200, 1500))
        batch = arrivals[i : i + n]
        if disorder and rng.random() < 0.2 and len(batch) > 2:
            a, b = rng.sample(range(len(batch)), 2)
            batch[a], batch[b] = batch[b], batch[a]
        batches.append(batch)
        i += n
    return batches


class _Ingest:
    """What ``IngestService`` does with an aggregator and a store, the store as dicts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ticks: dict[tuple[str, int, int], Tick] = {}
        self.candles: dict[CandleKey, tuple[object, ...]] = {}
        self.agg = Aggregator(off_hours=KRX)

    def _store(self, candles: list[Candle]) -> None:
        for c in candles:  # a later state of a key replaces the earlier (an upsert)
            self.candles[(c.symbol, c.interval, c.start)] = _row(c)

    def feed(self, batch: list[Tick]) -> None:
        fresh, late = self.agg.add_fresh(batch)
        for t in fresh:
            assert self.ticks.setdefault((t.symbol, t.ts, t.seq), t) is t
        if self.rng.random() < 0.3 or late:
            self.flush()
        if late:
            new = []
            for t in late:
                if (t.symbol, t.ts, t.seq) not in self.ticks:
                    self.ticks[(t.symbol, t.ts, t.seq)] = t
                    new.append(t)
            need = self.agg.late_buckets(new)
            stored = {}
            for key in need:
                row = self.candles.get(key)
                if row is not None:
                    stored[key] = Candle(*row)  # type: ignore[arg-type]
            self._store(self.agg.add_late(new, stored))

    def flush(self) -> None:
        self._store(self.agg.take_dirty())

    def restart(self) -> None:
        """A new aggregator restored from the newest stored candle of each symbol and interval."""
        self.flush()
        newest: dict[tuple[str, str], tuple[object, ...]] = {}
        for (sym, iv, start), row in self.candles.items():
            have = newest.get((sym, iv))
            if have is None or start > have[2]:  # type: ignore[operator]
                newest[(sym, iv)] = row
        self.agg = Aggregator(off_hours=KRX)
        self.agg.restore([Candle(*row) for row in newest.values()])  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(6))
def test_sparse_market_candles_equal_recomputed(seed: int) -> None:
    rng = random.Random(seed)
    batches = _market(rng)
    ingest = _Ingest(rng)
    restart_at = rng.randrange(len(batches))
    for i, batch in enumerate(batches):
        if i == restart_at:
            ingest.restart()
        ingest.feed(batch)
    ingest.flush()
    stored = list(ingest.ticks.values())
    in_candles = [t for t in stored if not (t.symbol in KRX and off_hours(t.ts))]
    assert len(in_candles) < len(stored)  # off-hours trades were among them
    rolls = sum(1 for k in ingest.candles if k[1] == "1m")
    assert rolls > len(stored) / 3  # sparse: many minutes hold one or two ticks
    expected = {
        (c.symbol, c.interval, c.start): _row(c)
        for iv in STORED_INTERVALS
        for c in recompute(in_candles, iv)
    }
    assert ingest.candles == expected


@pytest.mark.parametrize("seed", range(2))
def test_sparse_market_previous_day_close(seed: int) -> None:
    # in order, no restart: the day candle rolls over in add_fresh and leaves its close for quotes
    rng = random.Random(seed)
    ingest = _Ingest(rng)
    for batch in _market(rng, disorder=False):
        ingest.feed(batch)
    stored = list(ingest.ticks.values())
    in_candles = [t for t in stored if not (t.symbol in KRX and off_hours(t.ts))]
    for sym in SYMBOLS:
        days = recompute([t for t in in_candles if t.symbol == sym], STORED_INTERVALS[-1])
        assert len(days) == 2
        assert ingest.agg.prev_day_close(sym) == days[0].close
