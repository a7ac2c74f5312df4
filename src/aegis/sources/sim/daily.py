"""Synthesized daily bars: each trading day after a stock's last real daily close, derived from
the previous close by the factor model with stochastic volatility, shock days and news jumps.
Deterministic per (seed, anchors, day), so every component (the intraday engine's targets, the
daily chart back-fill) sees the same days.

Per day and stock, the log return is
``beta·market + industry + idiosyncratic − reversion + jumps``, each volatility scaled by a
log-AR(1) state (volatility clusters); market/industry shock days hit many stocks at once; news
jumps (some straight to the ±30 % limit) hit single stocks and raise their volatility for days
after. The return splits into an overnight gap and an open-to-close part in the real proportion.
Volume follows the move: log volume rises with |return|, the volatility state and jumps, plus
market-wide and per-stock persistent components (day-to-day volume variation like KOSPI's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from aegis.history.types import DailyBar
from aegis.reference.listing import SNAPSHOT_DAY
from aegis.sources.sim import params
from aegis.sources.sim.calendar import is_trading_day, trading_days_between
from aegis.sources.sim.grid import ceil_grid, clip_int, floor_grid, limits, nearest_grid
from aegis.sources.sim.universe import Universe, student_t

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]
ANCHOR_DAY = date.fromisoformat(SNAPSHOT_DAY)
NO_JUMP = -1.0
MIN_DAY_VOLUME = 10  # shares a trading stock trades at least in a day
# A stock's recent real volume level: its last VOLUME_LEVEL_DAYS real daily bars, none more
# than VOLUME_LEVEL_SPAN before the last (older series end years earlier: not recent).
VOLUME_LEVEL_DAYS = 20
VOLUME_LEVEL_SPAN = timedelta(days=45)


class RealAnchor(NamedTuple):
    """A symbol's last real daily bar as the chain starts from it: its KST day, its close
    (minor units) and the stock's recent daily volume level (shares; ``volume_level``),
    None where not known."""

    day: date
    close: int
    volume: float | None = None


def volume_level(bars: Sequence[tuple[date, int]]) -> float | None:
    """The daily volume a stock's simulated days continue at, from its last real bars
    (day, volume), oldest first: the median volume of the last ``VOLUME_LEVEL_DAYS`` within
    ``VOLUME_LEVEL_SPAN`` of the last, halted days (no volume) left out; None without any.
    The median, not the mean: daily volume is heavy-tailed, and one event day (a block deal,
    an index rebalance, a limit move at 10× the usual volume) would lift a mean, and every
    simulated day after it, for a month of real days; the median moves with the level only."""
    if not bars:
        return None
    since = bars[-1][0] - VOLUME_LEVEL_SPAN
    recent = [v for d, v in bars[-VOLUME_LEVEL_DAYS:] if d >= since and v > 0]
    return float(np.median(recent)) if recent else None


@dataclass(slots=True)
class DayBars:
    """One day for every stock (won, shares) and index (1/100 points, shares)."""

    day: date
    prev: I64
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64
    index_prev: dict[str, int]
    index_close: dict[str, int]
    live: B  # simulated and trading this day (not suspended, not before its real anchor)
    vol_scale: F64  # the day's volatility relative to the stock's normal one
    jump_at: F64  # fraction of the continuous session when an intraday jump lands, or -1
    index_base: dict[str, tuple[I64, int]] = field(default_factory=dict)


@dataclass(slots=True)
class Anchors:
    """Where each chain starts: every stock's and index's last real daily close and its day,
    and every stock's daily volume level (what its simulated days' volumes scale)."""

    day: NDArray[np.int64]  # ordinal per stock row
    close: I64
    index_day: dict[str, date]
    index_close: dict[str, int]
    volume: F64  # shares per stock row

    @classmethod
    def snapshot(cls, u: Universe) -> Anchors:
        return cls(
            np.full(u.n_stocks, ANCHOR_DAY.toordinal(), np.int64), u.anchor_close.copy(),
            {ix.symbol: ANCHOR_DAY for ix in u.indices},
            {ix.symbol: ix.anchor_close for ix in u.indices}, u.base_volume.copy(),
        )  # fmt: skip

    @classmethod
    def latest(cls, u: Universe, last: Mapping[str, RealAnchor]) -> Anchors:
        """From each symbol's last real bar; symbols missing fall back to the snapshot. A
        real close newer than the snapshot wins, and so does the volume level of real bars
        newer than the snapshot (the snapshot's one day is older, and the real level of a
        stock with months of later data may be several times it)."""
        a = cls.snapshot(u)
        for k, sym in enumerate(u.symbols[: u.n_stocks]):
            if (r := last.get(sym)) is None or r.close <= 0 or r.day < ANCHOR_DAY:
                continue
            a.day[k], a.close[k] = r.day.toordinal(), r.close
            if r.day > ANCHOR_DAY and r.volume is not None and r.volume > 0:
                a.volume[k] = r.volume
        for ix in u.indices:
            if (r := last.get(ix.symbol)) is not None and r.day >= ANCHOR_DAY:
                a.index_day[ix.symbol], a.index_close[ix.symbol] = r.day, r.close
        return a

    @property
    def first_day(self) -> date:
        ix = [d.toordinal() for d in self.index_day.values()]
        return date.fromordinal(int(min(int(self.day.min()), *ix)))


def day_rng(seed: int, kind: int, day: date, *extra: int) -> np.random.Generator:
    return np.random.default_rng([seed, kind, day.toordinal(), *extra])


def _stationary(phi: float, eta: float) -> float:
    return eta * eta / (1.0 - phi * phi)


@dataclass(slots=True)
class ChainState:
    """What carries from one day to the next besides the closes."""

    mkt_logvol: float
    stock_logvol: F64
    mkt_volume: float
    stock_volume: F64

    @classmethod
    def stationary(cls, u: Universe, seed: int) -> ChainState:
        rng = np.random.default_rng([seed, 6])
        n = u.n_stocks
        sd = np.sqrt
        return cls(
            float(rng.normal() * sd(_stationary(params.MKT_LOGVOL_PHI, params.MKT_LOGVOL_ETA))),
            rng.normal(size=n) * sd(_stationary(params.STOCK_LOGVOL_PHI, params.STOCK_LOGVOL_ETA)),
            float(rng.normal() * sd(_stationary(params.VOL_MKT_PHI, params.VOL_MKT_ETA))),
            rng.normal(size=n) * sd(_stationary(params.VOL_STOCK_PHI, params.VOL_STOCK_ETA)),
        )


def _market_shocks(rng: np.random.Generator, mult: float) -> F64:
    """One day's market factor returns for KOSPI, KOSDAQ and KONEX (correlated)."""
    z = student_t(rng, 3)
    k, x = params.KOSDAQ_KOSPI_CORR, params.KONEX_KOSPI_CORR
    out = np.array(
        [z[0], k * z[0] + np.sqrt(1 - k * k) * z[1], x * z[0] + np.sqrt(1 - x * x) * z[2]]
    )
    return out * np.array([params.MARKET_VOL[m] for m in range(3)]) * mult  # type: ignore[no-any-return]


def synth_day(
    u: Universe, seed: int, day: date, prev: I64, state: ChainState | None = None,
    anchor: I64 | None = None, live: B | None = None, level: F64 | None = None,
) -> DayBars:  # fmt: skip
    """The day's bars from ``prev`` (and the chain ``state``, updated in place): all prices on
    the grid inside ±30 % of ``prev``. ``anchor`` is the real level prices revert to; ``live``
    the stocks that trade (the others keep ``prev`` with no volume); ``level`` each stock's
    daily volume level (by default the snapshot's)."""
    rng = day_rng(seed, 1, day)
    n = u.n_stocks
    st = state if state is not None else ChainState.stationary(u, seed)
    live = (~u.suspended) if live is None else live & ~u.suspended
    ref = prev if anchor is None else anchor
    # stochastic volatility: AR(1) log-vol states, normalised so the mean variance is the base
    st.mkt_logvol = params.MKT_LOGVOL_PHI * st.mkt_logvol + params.MKT_LOGVOL_ETA * rng.normal()
    st.stock_logvol = (
        params.STOCK_LOGVOL_PHI * st.stock_logvol + params.STOCK_LOGVOL_ETA * rng.normal(size=n)
    )
    mkt_mult = float(
        np.exp(st.mkt_logvol - _stationary(params.MKT_LOGVOL_PHI, params.MKT_LOGVOL_ETA))
    )
    stock_mult = np.exp(
        st.stock_logvol - _stationary(params.STOCK_LOGVOL_PHI, params.STOCK_LOGVOL_ETA)
    )
    # two draws per day: the overnight gap and the open-to-close move
    g = np.sqrt(np.array([params.GAP_VAR_SHARE, 1.0 - params.GAP_VAR_SHARE]))[:, None]
    mkt = np.stack([_market_shocks(rng, mkt_mult) for _ in range(2)])  # (2, 3)
    ind = student_t(rng, (2, u.n_industries)) * params.INDUSTRY_VOL * np.sqrt(mkt_mult)
    if rng.random() < params.MKT_SHOCK_P:  # a market-wide shock day, more often down
        mkt[1] += rng.normal(-0.3, 1.0) * params.MKT_SHOCK_SIZE
    hit = rng.random(u.n_industries) < params.IND_SHOCK_P
    ind[1] += np.where(hit, rng.normal(0.0, params.IND_SHOCK_SIZE, u.n_industries), 0.0)
    idio = student_t(rng, (2, n)) * u.idio_vol * stock_mult
    parts = mkt[:, u.market] * u.beta + ind[:, u.industry] + idio
    parts *= g
    p = prev.astype(np.float64)
    revert = -params.MEAN_REVERSION * np.log(p / ref.astype(np.float64))
    parts[1] += revert
    # news jumps: small caps more often and larger; some overnight, some during the session
    small = (u.idio_vol - params.IDIO_VOL_LARGE) / (params.IDIO_VOL_SMALL - params.IDIO_VOL_LARGE)
    p_jump = params.JUMP_P_LARGE + (params.JUMP_P_SMALL - params.JUMP_P_LARGE) * small
    jumped = rng.random(n) < p_jump
    size = rng.laplace(0.0, params.JUMP_SCALE, n) * (0.4 + 0.6 * small)
    overnight = rng.random(n) >= params.INTRADAY_JUMP_SHARE
    jump_at = np.where(jumped & ~overnight, rng.uniform(0.02, 0.98, n), NO_JUMP)
    parts[0] += np.where(jumped & overnight, size, 0.0)
    parts[1] += np.where(jumped & ~overnight, size, 0.0)
    lim = rng.random(n)
    up = lim < params.LIMIT_UP_P_SMALL * small
    down = (lim > 1.0 - params.LIMIT_DOWN_P_SMALL * small) & ~up
    to_limit = up | down
    jump_at = np.where(to_limit, rng.uniform(0.05, 0.95, n), jump_at)
    jumped |= to_limit
    lo, hi = limits(prev)
    o = clip_int(nearest_grid(p * np.exp(parts[0])), lo, hi)
    c = clip_int(nearest_grid(p * np.exp(parts[0] + parts[1])), lo, hi)
    o = np.where(to_limit, np.clip(o, lo + 1, hi - 1), o)  # the limit is reached during the day
    c = np.where(up, hi, np.where(down, lo, c))
    base_vol = u.total_vol()
    wick = np.abs(student_t(rng, (2, n))) * base_vol * stock_mult * 0.35
    top = np.maximum(o, c).astype(np.float64)
    bottom = np.minimum(o, c).astype(np.float64)
    h = np.maximum(clip_int(ceil_grid(top * np.exp(wick[0])), lo, hi), np.maximum(o, c))
    low = np.minimum(clip_int(floor_grid(bottom * np.exp(-wick[1])), lo, hi), np.minimum(o, c))
    # volume follows the move
    st.mkt_volume = params.VOL_MKT_PHI * st.mkt_volume + params.VOL_MKT_ETA * rng.normal()
    st.stock_volume = params.VOL_STOCK_PHI * st.stock_volume + params.VOL_STOCK_ETA * rng.normal(
        size=n
    )
    move = np.abs(np.log(c / p)) / base_vol
    log_v = (
        st.mkt_volume + st.stock_volume
        + params.VOL_ABS_RET * (np.minimum(move, params.VOL_MOVE_CAP) - 0.8)
        + params.VOL_LOGVOL * (0.5 * st.mkt_logvol + 0.5 * st.stock_logvol)
        + params.VOL_JUMP * jumped - 0.25
    )  # fmt: skip
    # at least a few shares: a day's open, high, low and close are four prints of ≥ 1 share
    level = u.base_volume if level is None else level
    volume = np.maximum(MIN_DAY_VOLUME, level * np.exp(log_v)).astype(np.int64)
    st.stock_logvol += params.JUMP_LOGVOL_KICK * jumped
    flat = ~live
    o, h, low, c = (np.where(flat, prev, x) for x in (o, h, low, c))
    volume = np.where(flat, 0, volume)
    jump_at = np.where(flat, NO_JUMP, jump_at)
    scale = np.where(flat, 1.0, stock_mult * np.sqrt(mkt_mult))
    return DayBars(day, prev, o, h, low, c, volume, {}, {}, live, scale, jump_at)


class DailyChain:
    """Synthesized days after the anchors (each symbol's last real close), computed once and
    kept. A stock's days up to its anchor are real: it is held at its anchor close until then,
    and its bars are marked not ``live``."""

    def __init__(self, u: Universe, seed: int, anchors: Anchors | None = None) -> None:
        self.u = u
        self.seed = seed
        self.anchors = anchors if anchors is not None else Anchors.snapshot(u)
        self._days: dict[date, DayBars] = {}
        self._last_close = self.anchors.close.copy()
        self._last_day = self.anchors.first_day
        self._state = ChainState.stationary(u, seed)
        self._index_base = {
            ix.symbol: (self._last_close.copy(), self.anchors.index_close[ix.symbol])
            for ix in u.indices
        }

    def _extend(self, to: date) -> None:
        for d in trading_days_between(_after(self._last_day), to):
            before = self.anchors.day >= d.toordinal()
            bars = synth_day(
                self.u, self.seed, d, self._last_close, self._state, self.anchors.close,
                ~before, self.anchors.volume,
            )  # fmt: skip
            for ix in self.u.indices:
                bars.index_base[ix.symbol] = self._index_base[ix.symbol]
                bars.index_prev[ix.symbol] = self.index_at(ix.symbol, self._last_close)
                bars.index_close[ix.symbol] = self.index_at(ix.symbol, bars.close)
                if self.anchors.index_day[ix.symbol] >= d:  # real index up to here: rebase
                    self._index_base[ix.symbol] = (
                        bars.close.copy(), self.anchors.index_close[ix.symbol],
                    )  # fmt: skip
            self._days[d] = bars
            self._last_close = bars.close
            self._last_day = d

    def index_at(self, symbol: str, prices: I64) -> int:
        ix = next(i for i in self.u.indices if i.symbol == symbol)
        base, value = self._index_base[symbol]
        return self.u.index_value(ix, prices, base, value)

    def day(self, d: date) -> DayBars:
        """The synthesized bars of trading day ``d``. A day on or before the chain's first day
        (only asked in tests or replays) is drawn straight from the anchor closes."""
        if d <= self.anchors.first_day:
            bars = synth_day(self.u, self.seed, d, self.anchors.close, level=self.anchors.volume)
            for ix in self.u.indices:
                bars.index_base[ix.symbol] = self._index_base[ix.symbol]
                bars.index_prev[ix.symbol] = self.anchors.index_close[ix.symbol]
                bars.index_close[ix.symbol] = self.index_at(ix.symbol, bars.close)
            return bars
        if not is_trading_day(d):
            raise ValueError(f"{d} is not a KRX trading day")
        if d > self._last_day:
            self._extend(d)
        return self._days[d]

    def index_live(self, symbol: str, d: date) -> bool:
        return d > self.anchors.index_day[symbol]


def _after(d: date) -> date:
    return date.fromordinal(d.toordinal() + 1)


@dataclass(slots=True)
class DailyColumns:
    """Simulated daily bars as columns: each row's symbol is ``u.symbols[code]``, its day the
    ordinal ``day``; rows by code, then day."""

    code: I64
    day: I64
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64


def synthesize_daily_history(
    u: Universe, seed: int, first: date, last: date, anchors: Anchors | None = None
) -> dict[str, list[DailyBar]]:
    """Daily bars (simulated, label them so) for every stock and index on the trading days in
    [first, last] after each one's anchor, chained from its last real close so charts have no
    gap after the last real day. An index's high/low is the index of its members' larger/smaller
    of open and close (an approximation: members do not all peak at once)."""
    cols = synthesize_daily_columns(u, seed, first, last, anchors)
    out: dict[str, list[DailyBar]] = {s: [] for s in u.symbols}
    rows = zip(
        cols.code.tolist(), cols.day.tolist(), cols.open.tolist(), cols.high.tolist(),
        cols.low.tolist(), cols.close.tolist(), cols.volume.tolist(), strict=True,
    )  # fmt: skip
    for k, d, o, h, lo, c, v in rows:
        out[u.symbols[k]].append(DailyBar(date.fromordinal(d), o, h, lo, c, v))
    return out


def synthesize_daily_columns(
    u: Universe, seed: int, first: date, last: date, anchors: Anchors | None = None
) -> DailyColumns:
    """``synthesize_daily_history`` as columns (no object per bar: the whole market's days
    since the snapshot are ~450,000 bars)."""
    chain = DailyChain(u, seed, anchors)
    idx = [(u.symbols.index(ix.symbol), ix) for ix in u.indices]
    blocks: list[tuple[I64, ...]] = []
    for d in trading_days_between(max(first, _after(chain.anchors.first_day)), last):
        b = chain.day(d)
        k = np.flatnonzero(b.live).astype(np.int64)
        rows: list[I64] = [k, np.full(len(k), d.toordinal(), np.int64)]
        blocks.append((*rows, b.open[k], b.high[k], b.low[k], b.close[k], b.volume[k]))
        for code, ix in idx:
            if not chain.index_live(ix.symbol, d):
                continue
            base, value = b.index_base[ix.symbol]
            o = u.index_value(ix, b.open, base, value)
            c = b.index_close[ix.symbol]
            hi = max(o, c, u.index_value(ix, np.maximum(b.open, b.close), base, value))
            lo = min(o, c, u.index_value(ix, np.minimum(b.open, b.close), base, value))
            vol = int(b.volume[ix.members].sum())
            blocks.append(
                tuple(np.array([x], np.int64) for x in (code, d.toordinal(), o, hi, lo, c, vol))
            )
    if not blocks:
        return DailyColumns(*(np.empty(0, np.int64) for _ in range(7)))
    cols = [np.concatenate([blk[j] for blk in blocks]).astype(np.int64) for j in range(7)]
    order = np.lexsort((cols[1], cols[0]))  # by symbol, then day
    return DailyColumns(*(c[order] for c in cols))
