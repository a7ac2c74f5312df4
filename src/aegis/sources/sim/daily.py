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
# A stock's recent real volatility: the close-to-close returns of its last VOL_LEVEL_DAYS real
# daily bars, none more than VOL_LEVEL_SPAN before the last. 40: the model's volatility
# half-life is ~10 days (STOCK_LOGVOL_PHI), so older days say little about the next ones,
# and 20 returns of a heavy-tailed series are too noisy (one day moves it by a third).
VOL_LEVEL_DAYS = 40
VOL_LEVEL_SPAN = timedelta(days=90)
# a return beyond this many robust standard deviations counts at that size (a limit move, a
# news jump, an unadjusted split: the model adds its own jumps on top of its volatility)
VOL_WINSOR = 4.0
# the start state of a stock's log-volatility stays within this many stationary standard
# deviations: its first simulated day's idiosyncratic volatility ~0.25x to ~3.7x the model's
# (real levels measured in the shipped data reach 3.6x its total; wider would follow bad data)
VOL_START_SDS = 5.0


class RealAnchor(NamedTuple):
    """A symbol's last real daily bar as the chain starts from it: its KST day, its close
    (minor units), the stock's recent daily volume level (shares; ``volume_level``) and its
    recent daily return volatility (``realized_vol``), None where not known."""

    day: date
    close: int
    volume: float | None = None
    vol: float | None = None


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


def realized_vol(bars: Sequence[tuple[date, int, int]]) -> float | None:
    """The daily log-return volatility a stock's simulated days start at, from its last real
    bars (day, close, volume), oldest first: the root mean square of the close-to-close log
    returns of the last ``VOL_LEVEL_DAYS`` traded bars within ``VOL_LEVEL_SPAN`` of the last
    (halted days, no volume, left out), each winsorized at ``VOL_WINSOR`` robust standard
    deviations (1.4826 x the median absolute return). None with fewer than 10 returns or
    none that moved. Close-to-close, not the high-low range (Parkinson): the model's variance
    is close-to-close, 45 % of it in the overnight gap a day's range does not see."""
    if not bars:
        return None
    since = bars[-1][0] - VOL_LEVEL_SPAN
    traded = [c for d, c, v in bars if d >= since and v > 0 and c > 0][-(VOL_LEVEL_DAYS + 1) :]
    if len(traded) < 11:
        return None
    r = np.diff(np.log(np.asarray(traded, np.float64)))
    robust = 1.4826 * float(np.median(np.abs(r)))
    if robust > 0:
        r = np.clip(r, -VOL_WINSOR * robust, VOL_WINSOR * robust)
    vol = float(np.sqrt(np.mean(r * r)))
    return vol if vol > 0 else None


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
    and every stock's daily volume level (what its simulated days' volumes scale) and
    recent real volatility (what its first simulated day's volatility is; NaN: the model's)."""

    day: NDArray[np.int64]  # ordinal per stock row
    close: I64
    index_day: dict[str, date]
    index_close: dict[str, int]
    volume: F64  # shares per stock row
    vol: F64  # daily log-return standard deviation per stock row, NaN where not known

    @classmethod
    def snapshot(cls, u: Universe) -> Anchors:
        return cls(
            np.full(u.n_stocks, ANCHOR_DAY.toordinal(), np.int64), u.anchor_close.copy(),
            {ix.symbol: ANCHOR_DAY for ix in u.indices},
            {ix.symbol: ix.anchor_close for ix in u.indices}, u.base_volume.copy(),
            np.full(u.n_stocks, np.nan),
        )  # fmt: skip

    @classmethod
    def latest(cls, u: Universe, last: Mapping[str, RealAnchor]) -> Anchors:
        """From each symbol's last real bar; symbols missing fall back to the snapshot. A
        real close newer than the snapshot wins, and so do the volume level and volatility of
        real bars newer than the snapshot (the snapshot's one day is older, and the real level
        of a stock with months of later data may be several times it)."""
        a = cls.snapshot(u)
        for k, sym in enumerate(u.symbols[: u.n_stocks]):
            if (r := last.get(sym)) is None or r.close <= 0 or r.day < ANCHOR_DAY:
                continue
            a.day[k], a.close[k] = r.day.toordinal(), r.close
            if r.day > ANCHOR_DAY and r.volume is not None and r.volume > 0:
                a.volume[k] = r.volume
            if r.day > ANCHOR_DAY and r.vol is not None and np.isfinite(r.vol) and r.vol > 0:
                a.vol[k] = r.vol
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


def start_logvol(u: Universe, mkt_logvol: float, vol: F64) -> F64:
    """Each stock's log-volatility state the day before its first simulated day such that
    that day's expected return variance (market and industry factors at the chain's market
    state ``mkt_logvol``, their shock days, and the idiosyncratic part; not the news jumps,
    which ``realized_vol`` winsorizes away) is ``vol``², within ``VOL_START_SDS`` stationary
    standard deviations. Only the stock's own state moves: the market state is one for all
    stocks, most of them simulated since the snapshot, and it is not the stock's to reset.
    From there the state reverts to the model's level at ``STOCK_LOGVOL_PHI``."""
    phi_m, eta_m = params.MKT_LOGVOL_PHI, params.MKT_LOGVOL_ETA
    phi_s, eta_s = params.STOCK_LOGVOL_PHI, params.STOCK_LOGVOL_ETA
    v_m, v_s = _stationary(phi_m, eta_m), _stationary(phi_s, eta_s)
    # E[mkt_mult²] and E[mkt_mult] over the first day's AR step (log-normal moments)
    m2 = np.exp(2 * phi_m * mkt_logvol + 2 * eta_m * eta_m - 2 * v_m)
    m1 = np.exp(phi_m * mkt_logvol + 0.5 * eta_m * eta_m - v_m)
    mkt = np.array([params.MARKET_VOL[m] for m in range(3)])[u.market]
    shocks = (1.0 - params.GAP_VAR_SHARE) * (
        params.MKT_SHOCK_P * params.MKT_SHOCK_SIZE**2 * 1.09 * u.beta**2  # N(-0.3, 1): E = 1.09
        + params.IND_SHOCK_P * params.IND_SHOCK_SIZE**2
    )
    systematic = (u.beta * mkt) ** 2 * m2 + params.INDUSTRY_VOL**2 * m1 + shocks
    idio = np.maximum(vol * vol - systematic, 1e-12)
    # E[stock_mult²] after the step = exp(2·phi·s + 2·eta² − 2·v_s) = idio / idio_vol²
    s = (0.5 * np.log(idio / u.idio_vol**2) + v_s - eta_s * eta_s) / phi_s
    lim = VOL_START_SDS * np.sqrt(v_s)
    return np.clip(s, -lim, lim)  # type: ignore[no-any-return]


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
        # each stock's expected log-vol excess from its real start (``_start_real_vol``)
        self._excess: F64 | None = None
        self._index_base = {
            ix.symbol: (self._last_close.copy(), self.anchors.index_close[ix.symbol])
            for ix in u.indices
        }

    def _extend(self, to: date) -> None:
        for d in trading_days_between(_after(self._last_day), to):
            before = self.anchors.day >= d.toordinal()
            self._start_real_vol(d)
            level = self.anchors.volume
            if self._excess is not None:
                self._excess *= params.STOCK_LOGVOL_PHI
                level = level * np.exp(-0.5 * params.VOL_LOGVOL * self._excess)
            bars = synth_day(
                self.u, self.seed, d, self._last_close, self._state, self.anchors.close,
                ~before, level,
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

    def _start_real_vol(self, d: date) -> None:
        """Stocks whose first simulated day is ``d`` and whose recent real volatility is
        known start their volatility state there (``start_logvol``); until then it ran
        untouched, so stocks without it keep the model's path. The real volume level was
        traded at that volatility, and the model's volume rises with the state
        (``VOL_LOGVOL``): the state's expected excess, decaying as the state does, is divided
        out of the level, so the first days trade at the real level, not above it, and the
        later ones stay there (as for a stock without it)."""
        a = self.anchors
        first = (a.day >= self._last_day.toordinal()) & (a.day < d.toordinal()) & ~np.isnan(a.vol)
        if not first.any():
            return
        s = start_logvol(self.u, self._state.mkt_logvol, a.vol)[first]
        self._state.stock_logvol[first] = s
        if self._excess is None:
            self._excess = np.zeros(self.u.n_stocks)
        self._excess[first] = s

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
