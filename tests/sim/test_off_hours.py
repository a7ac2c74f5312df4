"""The off-hours sessions are traded per krx_rules.md §3: 08:30–08:40 at the previous close,
15:40–16:00 at the close, 16:00–18:00 single-price matches every 10 minutes within ±10 % of the
close; candles leave them out (KRX's official prices do), the ticks are stored all the same."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from aegis.aggregator.engine import Aggregator, recompute
from aegis.core.timeutil import KST, kst_midnight_us, to_us
from aegis.domain import krx
from aegis.domain.intervals import STORED_INTERVALS
from aegis.domain.ticks import Tick
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.universe import Universe
from tests.sim.conftest import DAY, stock_rows

Day = tuple[DayEngine, list[Tick]]
MIN = 60_000_000


def _at(h: int, m: int) -> int:
    return to_us(datetime(DAY.year, DAY.month, DAY.day, h, m, tzinfo=KST))


def test_off_hours_prints_follow_the_krx_sessions(universe: Universe, full_day: Day) -> None:
    engine, ticks = full_day
    rows = stock_rows(universe)
    plan = engine.plan
    pre = [t for t in ticks if _at(8, 30) <= t.ts < _at(8, 40)]
    post = [t for t in ticks if _at(15, 40) <= t.ts < _at(16, 0)]
    single = [t for t in ticks if _at(16, 0) <= t.ts <= _at(18, 0)]
    assert pre and post and single
    assert all(t.price == plan.prev[rows[t.symbol]] for t in pre)  # the previous close
    assert all(t.price == plan.close[rows[t.symbol]] for t in post)  # the day's close
    matches = {_at(16, 0) + k * 10 * MIN for k in range(1, 13)}  # 16:10 … 18:00
    assert {t.ts for t in single} <= matches and len({t.ts for t in single}) > 6
    per_match = Counter((t.symbol, t.ts) for t in single)
    assert set(per_match.values()) == {1}  # one single price per stock and match
    for t in single:
        close = int(plan.close[rows[t.symbol]])
        assert close * 0.9 <= t.price <= close * 1.1
        assert krx.on_grid(t.price)
        prev = int(plan.prev[rows[t.symbol]])
        assert krx.lower_limit(prev) <= t.price <= krx.upper_limit(prev)
    assert all(t.side == 0 and t.volume > 0 for t in pre + post + single)
    # nothing else outside the regular session, nothing from a stock that does not trade
    regular = [t for t in ticks if not krx.off_hours(t.ts)]
    assert all(engine.open_us <= t.ts <= engine.close_us for t in regular)
    assert {t.symbol for t in pre + post + single} <= {t.symbol for t in regular}
    assert all(krx.off_hours(t.ts) for t in pre + post + single)
    assert max(t.ts for t in ticks) == _at(18, 0)


def test_candles_leave_the_off_hours_trades_out_and_pass_them_through(
    universe: Universe, full_day: Day
) -> None:
    _, ticks = full_day
    agg = Aggregator(off_hours=frozenset(universe.symbols))
    fresh, late = agg.add_fresh(ticks)
    assert fresh == ticks and not late  # passed through: stored and streamed
    got: dict[tuple[str, str, int], tuple[int, ...]] = {}
    for c in agg.take_dirty():
        got[(c.symbol, c.interval, c.start)] = (c.open, c.high, c.low, c.close, c.volume)
    regular = [t for t in ticks if not krx.off_hours(t.ts)]
    want = {
        (c.symbol, c.interval, c.start): (c.open, c.high, c.low, c.close, c.volume)
        for iv in STORED_INTERVALS
        for c in recompute(regular, iv)
    }
    assert got == want
    day = kst_midnight_us(DAY)
    assert all(start == day for (_s, iv, start) in got if iv == "1d")
    # without the KRX rule (a 24-hour market) the same ticks would move the day's candle
    plain = Aggregator()
    plain.add_fresh(ticks)
    changed: defaultdict[str, int] = defaultdict(int)
    for c in plain.take_dirty():
        if c.interval == "1d" and got[(c.symbol, "1d", c.start)] != (
            c.open, c.high, c.low, c.close, c.volume
        ):  # fmt: skip
            changed[c.symbol] += 1
    assert changed


def test_the_session_clock_reports_the_off_hours_phases(universe: Universe, full_day: Day) -> None:
    engine, _ = full_day
    assert engine.done and engine.phase() == "closed"
    from aegis.sources.sim.phases import phase_at

    assert phase_at(_at(8, 35)) == "pre_off_hours"
    assert phase_at(_at(15, 45)) == "post_off_hours"
    assert phase_at(_at(17, 0)) == "after_hours_single_price"
