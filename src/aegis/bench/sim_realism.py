"""``aegis bench sim-realism``: the simulator's stylised facts beside the real market's.

Real side: the shipped reference data (005930 1-minute bars of June 2025, daily bars of four
large caps 2021–2023, KOSPI daily since 1995, the 2026-03-20 whole-market snapshot).
Simulated side: the daily chain over a simulated year of the whole market (daily facts) and
simulated sessions of 005930 at its whole-market trade intensity (``AEGIS_SIM_TICK_RATE`` ×
its share of market activity, exactly what it gets in a whole-market run), measured like the
real minute bars (09:00–14:59, the opening print in the first minute). The rules (tick grid,
±30 % limits, no trade in the closing call, auction prints) are checked on one whole-market
session. Targets are the bands of issue 8; nothing here is asserted, it is measured.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from aegis.core.timeutil import kst_midnight_us
from aegis.domain import krx
from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick
from aegis.reference.history import load_daily_history
from aegis.reference.indices import read_index_daily
from aegis.reference.listing import SNAPSHOT_FILE
from aegis.sources.sim.calendar import US_PER_MIN, next_trading_day
from aegis.sources.sim.daily import ANCHOR_DAY, DailyChain, DayBars
from aegis.sources.sim.engine import DayEngine
from aegis.sources.sim.session import emit_mask, normal_day
from aegis.sources.sim.universe import Universe

F64 = NDArray[np.float64]
DATA = Path(__file__).resolve().parent.parent / "reference" / "data"
INTRADAY_FILES = ("intraday_1m_005930_2025-06-13.csv", "intraday_1m_005930_2025-06-16_to_18.csv")
LARGE_CAPS = ("005930", "000660", "005380", "035420")
MINUTES = 360  # 09:00–14:59, the span of the real minute bars
LUNCH = slice(150, 240)  # 11:30–12:59
PROFILE_BIN = 10  # minutes per bar of the intraday volume profile plot
DEFAULT_RATE = 200.0


@dataclass(slots=True)
class Row:
    fact: str
    real: str
    sim: str
    band: str
    ok: bool | None  # None: shown for reference, no band


@dataclass(slots=True)
class Result:
    rows: list[Row]
    sessions: int
    days: int
    stocks: int
    violations: int
    rule_ticks: int
    seconds: float = 0.0
    real_profile: F64 = field(default_factory=lambda: np.zeros(0))
    sim_profile: F64 = field(default_factory=lambda: np.zeros(0))
    real_returns: F64 = field(default_factory=lambda: np.zeros(0))
    sim_returns: F64 = field(default_factory=lambda: np.zeros(0))
    real_daily: F64 = field(default_factory=lambda: np.zeros(0))
    sim_daily: F64 = field(default_factory=lambda: np.zeros(0))


# ----- statistics ----------------------------------------------------------------------------
def excess_kurtosis(x: F64) -> float:
    x = x - x.mean()
    v = float(np.mean(x * x))
    return float(np.mean(x**4) / (v * v) - 3.0) if v > 0 else 0.0


def lag1(x: F64) -> float:
    return _corr(x[:-1], x[1:])


def _corr(a: F64, b: F64) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(slots=True)
class MinuteDay:
    close: F64
    high: F64
    low: F64
    volume: F64

    def returns(self) -> F64:
        out: F64 = np.diff(np.log(self.close))
        return out

    def facts(self) -> dict[str, float]:
        r = self.returns()
        rng = (self.high - self.low) / self.close
        return {
            "kurt": excess_kurtosis(r),
            "ac": lag1(r),
            "std": float(r.std()),
            "corr": _corr(rng[1:], self.volume[1:]),  # the first minute holds the auction
            "lunch": float(self.volume[LUNCH].sum() / self.volume.sum()),
        }


def read_real_minutes() -> list[MinuteDay]:
    days: dict[str, list[dict[str, str]]] = {}
    for name in INTRADAY_FILES:
        with (DATA / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                days.setdefault(row["Datetime"][:10], []).append(row)
    out = []
    for rows in days.values():
        col = {k: np.array([float(r[k]) for r in rows]) for k in ("Close", "High", "Low", "Volume")}
        out.append(MinuteDay(col["Close"], col["High"], col["Low"], col["Volume"]))
    return out


def minute_bars(ticks: Sequence[Tick], day: date) -> MinuteDay:
    """One symbol's 09:00–14:59 minute bars from its ticks (an empty minute repeats the last
    close with no range and no volume)."""
    t0 = kst_midnight_us(day) + 9 * 60 * US_PER_MIN
    close = np.full(MINUTES, np.nan)
    high = np.full(MINUTES, -np.inf)
    low = np.full(MINUTES, np.inf)
    vol = np.zeros(MINUTES)
    for t in ticks:
        m = (t.ts - t0) // US_PER_MIN
        if 0 <= m < MINUTES:
            close[m] = t.price
            high[m] = max(high[m], t.price)
            low[m] = min(low[m], t.price)
            vol[m] += t.volume
    last = float(ticks[0].price)
    for m in range(MINUTES):
        if math.isnan(close[m]):
            close[m] = high[m] = low[m] = last
        last = close[m]
    return MinuteDay(close, high, low, vol)


def _daily_facts_real() -> dict[str, object]:
    lo, hi = date(2021, 1, 1), date(2023, 12, 31)
    corrs = []
    for sym in LARGE_CAPS:
        bars = [b for b in load_daily_history(sym) if lo <= b.day <= hi and b.volume > 0]
        c = np.array([b.close for b in bars], float)
        v = np.array([b.volume for b in bars], float)
        corrs.append(_corr(np.abs(np.diff(np.log(c))), np.log(v[1:])))
    sam = [b for b in load_daily_history("005930") if lo <= b.day <= hi and b.volume > 0]
    o = np.array([b.open for b in sam], float)
    c = np.array([b.close for b in sam], float)
    gap = np.log(o[1:] / c[:-1])
    oc = np.log(c[1:] / o[1:])
    kospi = [d for d in read_index_daily("KOSPI") if d.close > 0]
    kc = np.array([d.close for d in kospi], float)
    kr = np.diff(np.log(kc))
    years: dict[int, list[float]] = {}
    for d, r in zip(kospi[1:], kr, strict=True):
        years.setdefault(d.day.year, []).append(float(r))
    per_year = [excess_kurtosis(np.array(v)) for y, v in years.items() if len(v) > 200]
    recent = np.array([d.volume for d in kospi[-750:]], float)
    return {
        "corr": corrs,
        "gap": float(gap.std()),
        "oc": float(oc.std()),
        "kurt_all": excess_kurtosis(kr),
        "kurt_year": float(np.median(per_year)),
        "vol_cv": float(recent.std() / recent.mean()),
        "returns": kr,
    }


def _snapshot_moves() -> tuple[int, int, int, int]:
    """Stocks beyond ±10 %, ±20 % and closing at the upper limit on the real snapshot day."""
    b10 = b20 = up = n = 0
    with SNAPSHOT_FILE.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            close, change = int(row["Close"]), int(row["Changes"])
            prev = close - change
            if int(row["Volume"]) == 0 or prev <= 0 or row["Market"] == "KONEX":
                continue
            n += 1
            r = change / prev
            b10 += abs(r) > 0.10
            b20 += abs(r) > 0.20
            up += close == krx.upper_limit(prev)
    return b10, b20, up, n


# ----- the simulated side ----------------------------------------------------------------------
def quick_market() -> list[Instrument]:
    """A small market for ``--quick``: the four large caps, every 25th stock, both indices."""
    from aegis.reference import load_instruments

    everything = load_instruments()
    stocks = [i for i in everything if i.kind == "stock"]
    keep = [i for i in stocks if i.symbol in LARGE_CAPS]
    keep += [i for i in stocks[::25] if i.symbol not in LARGE_CAPS]
    return keep + [i for i in everything if i.kind == "index"]


@dataclass(slots=True)
class SimDaily:
    days: list[date]
    open: F64  # days × stocks
    close: F64
    prev: F64
    volume: F64
    live: NDArray[np.bool_]
    limit_up: NDArray[np.bool_]
    kospi: F64
    kospi_volume: F64


def simulate_days(u: Universe, seed: int, n_days: int) -> SimDaily:
    chain = DailyChain(u, seed)
    days, d = [], ANCHOR_DAY
    for _ in range(n_days):
        d = next_trading_day(d)
        days.append(d)
    bars = [chain.day(x) for x in days]
    kospi_ix = next(ix for ix in u.indices if ix.symbol == "KOSPI")
    prev = np.array([b.prev for b in bars], float)
    return SimDaily(
        days=days,
        open=np.array([b.open for b in bars], float),
        close=np.array([b.close for b in bars], float),
        prev=prev,
        volume=np.array([b.volume for b in bars], float),
        live=np.array([b.live for b in bars]),
        limit_up=np.array([b.close == krx_upper(b.prev) for b in bars]),
        kospi=np.array(
            [bars[0].index_prev["KOSPI"]] + [b.index_close["KOSPI"] for b in bars], float
        ),
        kospi_volume=np.array([b.volume[kospi_ix.members].sum() for b in bars], float),
    )


def krx_upper(prev: NDArray[np.int64]) -> NDArray[np.int64]:
    from aegis.sources.sim.grid import limits

    return limits(prev)[1]


def session_ticks(
    u: Universe, chain: DailyChain, seed: int, day: date, symbols: Sequence[str], rate: float
) -> tuple[DayEngine, list[Tick]]:
    """A full session of ``symbols`` at the intensity they get in a whole-market run at
    ``rate`` trades per second."""
    emit = emit_mask(u, symbols)
    live = ~u.suspended
    share = float(u.activity[emit & live].sum() / u.activity[live].sum())
    engine = normal_day(u, chain, seed, day, rate * share, emit, chunk_us=60_000_000)
    return engine, [t for batch in engine.advance(2**62) for t in batch]


def restarted_session_ticks(
    u: Universe, chain: DailyChain, seed: int, day: date, rate: float,
    stop: int = 11 * 60 + 1, again: int = 15 * 60 + 29,
) -> list[Tick]:  # fmt: skip
    """The whole market's session as a store holds it at the close when the simulator was
    stopped at ``stop`` and started again at ``again`` (minutes after KST midnight): the
    restart catches up the time it was down and steers from the stored day volume
    (``DayEngine.resume_after``)."""
    emit = emit_mask(u, [])
    first = normal_day(u, chain, seed, day, rate, emit, chunk_us=60_000_000)
    midnight = kst_midnight_us(day)
    ticks = [t for batch in first.advance(midnight + stop * US_PER_MIN) for t in batch]
    # what the restart reads from the store: the newest trade in a candle, the day's volumes
    in_candles = [t for t in ticks if not krx.off_hours(t.ts)]
    rows = u.stock_rows()
    volume = np.zeros(u.n_stocks, np.int64)
    for t in in_candles:
        if (k := rows.get(t.symbol)) is not None:
            volume[k] += t.volume
    resumed = normal_day(u, chain, seed, day, rate, emit, chunk_us=60_000_000)
    resumed.resume_after(max(t.ts for t in in_candles), volume)
    while (cols := resumed.catch_up_columns(midnight + again * US_PER_MIN)) is not None:
        ticks += cols.ticks()
    ticks += [t for batch in resumed.advance(2**62) for t in batch]
    return ticks


def rule_violations(u: Universe, engine: DayEngine, ticks: Sequence[Tick]) -> int:
    """Ticks breaking a KRX rule: off the tick grid, outside ±30 % of the previous close, a trade
    inside the closing call, a trade without volume, a stock without exactly one print at the
    open and at the close, time going backwards, an off-hours print at the wrong price or time,
    a trade outside the sessions."""
    row = u.stock_rows()
    bad = 0
    last_ts = 0
    opens: dict[str, int] = {}
    closes: dict[str, int] = {}
    for t in ticks:
        bad += t.ts < last_ts
        last_ts = t.ts
        k = row.get(t.symbol)
        if k is None:  # an index tick: its volume may be 0 (no member traded in 2 s)
            continue
        bad += t.volume <= 0
        prev = int(engine.plan.prev[k])
        bad += not krx.on_grid(t.price)
        bad += not krx.lower_limit(prev) <= t.price <= krx.upper_limit(prev)
        bad += engine.cont_end_us < t.ts < engine.close_us
        if krx.off_hours(t.ts):  # 08:30–08:40 at the previous close, 15:40–16:00 at the close,
            close = int(engine.plan.close[k])  # then single prices every 10 min within ±10 %
            minute = (t.ts - engine.close_us) // 60_000_000 + 15 * 60 + 30
            bad += t.ts < engine.open_us and t.price != prev
            bad += 15 * 60 + 40 <= minute < 16 * 60 and t.price != close
            bad += minute >= 16 * 60 and (
                (t.ts - engine.close_us) % 600_000_000 != 0 or abs(t.price - close) > close // 10
            )
            continue
        bad += not engine.open_us <= t.ts <= engine.close_us
        if t.ts == engine.open_us:
            opens[t.symbol] = opens.get(t.symbol, 0) + 1
        if t.ts == engine.close_us:
            closes[t.symbol] = closes.get(t.symbol, 0) + 1
    trading = {s for s, k in row.items() if engine.emit[k]}
    bad += sum(opens.get(s, 0) != 1 for s in trading) + sum(closes.get(s, 0) != 1 for s in trading)
    return bad


def chain_matches(u: Universe, bars: DayBars, ticks: Sequence[Tick]) -> tuple[int, int]:
    """(stocks whose regular-session open, high, low, close and volume equal their daily-chain
    candle's, stocks that traded): a played day ends exactly at its chain candle."""
    row = u.stock_rows()
    seen: dict[int, list[int]] = {}
    for t in ticks:
        k = row.get(t.symbol)
        if k is None or krx.off_hours(t.ts):
            continue
        o = seen.setdefault(k, [t.price, t.price, t.price, t.price, 0])
        o[1], o[2], o[3] = max(o[1], t.price), min(o[2], t.price), t.price
        o[4] += t.volume
    fields = (bars.open, bars.high, bars.low, bars.close, bars.volume)
    same = sum(got == [int(f[k]) for f in fields] for k, got in seen.items())
    return same, len(seen)


def _fmt_range(values: Sequence[float], digits: int = 2) -> str:
    lo, hi = min(values), max(values)
    med = float(np.median(values))
    return f"{med:+.{digits}f} ({lo:+.{digits}f}…{hi:+.{digits}f})"


def run(
    instruments: Sequence[Instrument],
    *,
    seed: int = 42,
    days: int = 250,
    sessions: int = 10,
    rate: float = DEFAULT_RATE,
    rules_market: Sequence[Instrument] | None = None,
    rules_rate: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Result:
    """The realism table. ``instruments`` is the simulated market (the whole listing for the
    real figures); ``rules_market`` and ``rules_rate`` the market and trade rate of the
    rule-check session (default: the same)."""
    import time

    t0 = time.perf_counter()
    u = Universe.build(instruments, seed)
    progress("real reference data")
    real_days = read_real_minutes()
    real = [d.facts() for d in real_days]
    rd = _daily_facts_real()
    b10, b20, up, n_real = _snapshot_moves()

    progress(f"daily chain: {days} trading days × {u.n_stocks:,} stocks")
    sd = simulate_days(u, seed, days)
    rows = u.stock_rows()
    ret = np.log(sd.close / sd.prev)
    live = sd.live
    scale = (~u.suspended).sum() / max(n_real, 1)  # per-day counts relative to the real market
    beyond10 = (np.abs(ret) > np.log(1.10)) & live
    beyond20 = (np.abs(ret) > np.log(1.20)) & live
    lim_up = sd.limit_up & live
    caps = [k for s in LARGE_CAPS if (k := rows.get(s)) is not None]
    sim_corr = [_corr(np.abs(ret[:, k]), np.log(np.maximum(sd.volume[:, k], 1.0))) for k in caps]
    k_sam = rows.get("005930", caps[0] if caps else 0)
    gap = np.log(sd.open[:, k_sam] / sd.prev[:, k_sam])
    oc = np.log(sd.close[:, k_sam] / sd.open[:, k_sam])
    kospi_r = np.diff(np.log(sd.kospi))

    progress(f"{sessions} sessions of 005930 at its share of {rate:g} trades/s")
    chain = DailyChain(u, seed)
    picks = [sd.days[int(i)] for i in np.linspace(0, len(sd.days) - 1, sessions)]
    sim_min: list[MinuteDay] = []
    sym = u.symbols[k_sam]
    for day in picks:
        _, ticks = session_ticks(u, chain, seed, day, [sym], rate)
        sim_min.append(minute_bars([t for t in ticks if t.symbol == sym], day))
    sim = [d.facts() for d in sim_min]

    progress("rules: one whole-market session")
    ru = Universe.build(rules_market, seed) if rules_market is not None else u
    rchain = chain if rules_market is None else DailyChain(ru, seed)
    engine, rticks = session_ticks(ru, rchain, seed, picks[0], [], rules_rate or rate)
    violations = rule_violations(ru, engine, rticks)
    same, traded = chain_matches(ru, rchain.day(picks[0]), rticks)
    rule_ticks = len(rticks)
    del engine, rticks  # a whole session of Tick objects: ~1 GB

    progress("the same session stopped at 11:01 and restarted at 15:29")
    back = restarted_session_ticks(ru, rchain, seed, picks[0], rules_rate or rate)
    same_back, traded_back = chain_matches(ru, rchain.day(picks[0]), back)
    twice = len(back) - len({(t.symbol, t.ts, t.seq) for t in back})
    del back

    real_std = float(np.mean([f["std"] for f in real]))

    def band(x: float, lo: float, hi: float) -> bool:
        return lo <= x <= hi

    def med(x: Sequence[float]) -> float:
        return float(np.median(x))

    kurt_s = [f["kurt"] for f in sim]
    ac_s = [f["ac"] for f in sim]
    std_ratio = [f["std"] / real_std for f in sim]
    corr_s = [f["corr"] for f in sim]
    lunch_s = [f["lunch"] for f in sim]
    per_day10 = float(beyond10.sum(axis=1).mean() / scale)
    per_day20 = float(beyond20.sum(axis=1).mean() / scale)
    per_day_up = float(lim_up.sum(axis=1).mean() / scale)
    up_days = float((lim_up.sum(axis=1) > 0).mean())
    kospi_k = excess_kurtosis(kospi_r)
    vol_cv = float(sd.kospi_volume.std() / sd.kospi_volume.mean())
    real_corr = rd["corr"]
    assert isinstance(real_corr, list)
    table = [
        Row("1-minute excess kurtosis (005930), per session", _fmt_range([f["kurt"] for f in real]),
            _fmt_range(kurt_s), "0.5 … 6", band(med(kurt_s), 0.5, 6.0)),
        Row("1-minute lag-1 autocorrelation", _fmt_range([f["ac"] for f in real]),
            _fmt_range(ac_s), "−0.35 … −0.08", band(med(ac_s), -0.35, -0.08)),
        Row("1-minute return std vs real", "1× (" + f"{real_std:.3%})",
            _fmt_range(std_ratio), "0.7 … 1.4×", band(med(std_ratio), 0.7, 1.4)),
        Row("corr(1-minute high−low, volume)", _fmt_range([f["corr"] for f in real]),
            _fmt_range(corr_s), "≥ 0.45", med(corr_s) >= 0.45),
        Row("corr(|daily return|, log volume), 4 large caps",
            f"{min(real_corr):.2f} … {max(real_corr):.2f}",
            f"{min(sim_corr):.2f} … {max(sim_corr):.2f}", "≥ 0.35", min(sim_corr) >= 0.35),
        Row(f"KOSPI daily excess kurtosis ({days} days)",
            f"{rd['kurt_all']:.1f} (1995–2026; median year {rd['kurt_year']:.1f})",
            f"{kospi_k:.1f}", "≥ 3", kospi_k >= 3.0),
        Row("KOSPI daily volume coefficient of variation", f"{rd['vol_cv']:.2f} (last 750 days)",
            f"{vol_cv:.2f}", "—", None),
        Row("stocks per day beyond ±10 %", f"{b10} (2026-03-20)", f"{per_day10:.0f}",
            "40 … 300", band(per_day10, 40, 300)),
        Row("stocks per day beyond ±20 %", f"{b20}", f"{per_day20:.1f}", "—", None),
        Row("stocks per day closing limit-up", f"{up}", f"{per_day_up:.1f}", "—", None),
        Row("days with at least one limit-up close", "—", f"{up_days:.0%}", "most (> 50 %)",
            up_days > 0.5),
        Row("lunch share (11:30–12:59 of 09:00–14:59 volume)",
            _fmt_range([f["lunch"] for f in real], 3), _fmt_range(lunch_s, 3), "0.10 … 0.17",
            band(med(lunch_s), 0.10, 0.17)),
        Row("overnight gap std / open-to-close std (005930)",
            f"{rd['gap']:.2%} / {rd['oc']:.2%}", f"{gap.std():.2%} / {oc.std():.2%}", "—", None),
        Row("rule violations (grid, limits, closing call, prints, order)", "0",
            f"{violations} in {rule_ticks:,} ticks", "0", violations == 0),
        Row("the day's candle (O/H/L/C/volume) equals its daily-chain candle", "—",
            f"{same:,} of {traded:,} stocks", "all", same == traded > 0),
        Row("… on that day stopped at 11:01 and restarted at 15:29", "—",
            f"{same_back:,} of {traded_back:,} stocks; {twice} ticks twice", "all; 0",
            same_back == traded_back > 0 and twice == 0),
    ]  # fmt: skip
    real_prof = np.mean([d.volume / d.volume.sum() for d in real_days], axis=0)
    sim_prof = np.mean([d.volume / d.volume.sum() for d in sim_min], axis=0)
    real_kr = rd["returns"]
    assert isinstance(real_kr, np.ndarray)
    return Result(
        rows=table, sessions=sessions, days=days, stocks=u.n_stocks, violations=violations,
        rule_ticks=rule_ticks, seconds=time.perf_counter() - t0,
        real_profile=real_prof, sim_profile=sim_prof,
        real_returns=np.concatenate([d.returns() for d in real_days]),
        sim_returns=np.concatenate([d.returns() for d in sim_min]),
        real_daily=real_kr, sim_daily=kospi_r,
    )  # fmt: skip


def plot(result: Result, out_dir: Path) -> list[Path]:
    """Two PNGs: the intraday volume profile and the return distributions, real vs simulated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    bins = MINUTES // PROFILE_BIN
    x = np.arange(bins) * PROFILE_BIN
    for prof, label, color in (
        (result.real_profile, "real 005930, June 2025 (4 days)", "#444444"),
        (result.sim_profile, f"simulated 005930 ({result.sessions} sessions)", "#d62728"),
    ):
        ax.step(
            x, prof.reshape(bins, PROFILE_BIN).sum(axis=1), where="post", label=label, color=color
        )
    ax.axvspan(150, 240, color="#1f77b4", alpha=0.08, label="lunch 11:30–13:00")
    ax.set_xticks(range(0, MINUTES + 1, 60), [f"{9 + h}:00" for h in range(7)])
    ax.set_ylabel("share of 09:00–14:59 volume per 10 min")
    ax.set_title("Intraday volume profile")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "sim_volume_profile.png")
    fig.savefig(paths[-1])
    plt.close(fig)

    # tails as the share of returns beyond x standard deviations (minute returns are whole
    # ticks, so a histogram would show the grid, not the shape)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    for ax, real, sim, title in (
        (axes[0], result.real_returns, result.sim_returns, "005930 1-minute returns"),
        (axes[1], result.real_daily, result.sim_daily, "KOSPI daily returns"),
    ):
        for data, label, color in ((real, "real", "#444444"), (sim, "simulated", "#d62728")):
            z = np.sort(np.abs((data - data.mean()) / data.std()))
            share = 1.0 - np.arange(len(z)) / len(z)
            ax.semilogy(z, share, drawstyle="steps-post", label=label, color=color)
        g = np.linspace(0, 6, 200)
        ax.semilogy(
            g, [math.erfc(x / math.sqrt(2)) for x in g], "--", color="#888888", label="normal"
        )
        ax.set_xlim(0, 8)
        ax.set_ylim(1e-4, 1.05)
        ax.set_xlabel("|return| / its std")
        ax.set_ylabel("share of returns beyond")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out_dir / "sim_return_distribution.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths
