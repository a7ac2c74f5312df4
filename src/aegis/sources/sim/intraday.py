"""One session's latent price paths: minute knots from the open to the 15:30 close, pinned to
the day's open, high, low and close (a bridge whose excursions are rescaled to reach the high
and the low), with stochastic minute activity that drives both the variance and the trade
intensity, so big moves come with big volume.

Per stock and minute, activity ``A = U(t) · exp(x_t + y_t) · excitation``: ``U`` the U-shaped
intraday profile with the lunch dip (fitted to 005930's June-2025 minute volumes), ``x`` a
per-stock log-AR(1), ``y`` a market-wide one, and a news jump exciting activity that decays over
``JUMP_DECAY_MIN`` minutes. A minute's return variance and its expected number of trades are both
proportional to ``A``; returns are Student-t (fat tails at one minute)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from aegis.sources.sim import params
from aegis.sources.sim.calendar import CONT_END_MIN, US_PER_MIN, open_minute, open_us
from aegis.sources.sim.daily import DayBars, day_rng
from aegis.sources.sim.grid import clip_int, limits, nearest_grid
from aegis.sources.sim.universe import Universe, factor_shocks
from aegis.sources.sim.vi import ViEvents, dynamic_bands, find_vi

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
CALL_MINUTES = 10  # 15:20–15:30 closing call


def _raw_profile(t: F64) -> F64:
    out: F64 = (
        0.62 + 2.3 * np.exp(-t / 22.0) + 0.5 * np.exp(-t / 90.0)
        + 0.8 * np.exp(-(380.0 - t) / 40.0) - 0.17 * np.exp(-(((t - 200.0) / 35.0) ** 2))
    )  # fmt: skip
    return out


_U_MEAN = float(np.mean(_raw_profile(np.arange(380, dtype=np.float64) + 0.5)))


def u_shape(minute: F64) -> F64:
    """Relative activity at ``minute`` after 09:00 of the continuous session (0 … 380): busy
    after the open, a dip over lunch (11:30–13:00), busier into the close. Mean 1 over the
    380 minutes of a normal day."""
    out: F64 = _raw_profile(np.asarray(minute, dtype=np.float64)) / _U_MEAN
    return out


def _ar1(
    rng: np.random.Generator, steps: int, shape: tuple[int, ...], phi: float, eta: float
) -> F64:
    """A stationary Gaussian AR(1) path of ``steps`` rows."""
    out = np.empty((steps, *shape))
    out[0] = rng.normal(size=shape) * eta / np.sqrt(1 - phi * phi)
    eps = rng.normal(size=(steps, *shape)) * eta
    for m in range(1, steps):
        out[m] = phi * out[m - 1] + eps[m]
    return out


@dataclass(slots=True)
class DayPlan:
    day: date
    open_us: int
    minutes: int  # knots after the open: continuous minutes + the 10-minute closing call
    cont_minutes: int
    prev: I64
    lo: I64  # the day's ±30 % limits
    hi: I64
    open: I64  # the opening auction price per stock
    close: I64  # the 15:30 auction price per stock
    high: I64  # the day's high and low: trades stay inside [low, high] and touch both
    low: I64
    high_at: I64  # the instant (µs) of the trade printing the high, and the low
    low_at: I64
    knots: F64  # (minutes + 1) × n_stocks log prices
    activity: F64  # cont_minutes × n_stocks relative trade intensity (mean 1 per stock)
    size_mult: F64  # cont_minutes × n_stocks: busy minutes trade bigger sizes too
    flow: F64  # cont_minutes × n_stocks order-flow imbalance (logit of buying), persistent
    minute_vol: F64  # (minutes × n_stocks) std of log price over each minute: trade-level noise
    volume: F64  # target daily volume (shares), scales trade sizes
    live: NDArray[np.bool_]
    vi: ViEvents  # static and dynamic VI interruptions of the day

    def latent(self, ts: I64, rows: NDArray[np.intp]) -> F64:
        """Log price of stock ``rows[j]`` at ``ts[j]``, linear between minute knots."""
        x = (ts - self.open_us) / US_PER_MIN
        k = np.clip(x.astype(np.intp), 0, self.minutes - 1)
        f = np.clip(x - k, 0.0, 1.0)
        out: F64 = self.knots[k, rows] * (1.0 - f) + self.knots[k + 1, rows] * f
        return out

    def prices_at(self, ts: int) -> I64:
        """Every stock's reference price (grid, within the day's range) at ``ts``."""
        x = (ts - self.open_us) / US_PER_MIN
        if x <= 0:
            return self.open
        if x >= self.minutes:
            return self.close
        k = int(x)
        f = x - k
        lat = self.knots[k] * (1.0 - f) + self.knots[k + 1] * f
        return clip_int(nearest_grid(np.exp(lat)), self.low, self.high)

    def prices_at_many(self, times: Sequence[int]) -> I64:
        """``prices_at`` of each time, a row each, computed at once (the same floating-point
        operations element by element, so the same prices)."""
        out = np.empty((len(times), len(self.open)), np.int64)
        inner: list[int] = []
        for j, ts in enumerate(times):
            x = (ts - self.open_us) / US_PER_MIN
            if x <= 0:
                out[j] = self.open
            elif x >= self.minutes:
                out[j] = self.close
            else:
                inner.append(j)
        if inner:
            xs = np.array([(times[j] - self.open_us) / US_PER_MIN for j in inner])
            k = xs.astype(np.intp)  # int(x): x > 0
            f = (xs - k)[:, None]
            lat = self.knots[k] * (1.0 - f) + self.knots[k + 1] * f
            out[inner] = clip_int(nearest_grid(np.exp(lat)), self.low, self.high)
        return out


def _fit_range(knots: F64, top: F64, bottom: F64, hi: F64, lo: F64) -> F64:
    """Rescale excursions above ``top`` (max of open and close) so the path's maximum is exactly
    ``hi``, and below ``bottom`` so its minimum is exactly ``lo`` (all logs); a path that never
    leaves the body is lifted by a 20-minute bump around its most extreme inner minute. The
    first and last knots (open and close) never move."""
    n_min = knots.shape[0]
    t = np.arange(n_min)[:, None]
    for sign, edge, target in ((1.0, top, hi), (-1.0, bottom, lo)):
        dev = sign * (knots - edge)
        ex = np.maximum(dev, 0.0)
        peak = ex.max(axis=0)
        want = sign * (target - edge)  # ≥ 0
        where = np.argmax(dev[1:-1], axis=0) + 1
        bump = np.maximum(1.0 - np.abs(t - where) / 20.0, 0.0)
        bump[0] = bump[-1] = 0.0
        delta = want - dev[where, np.arange(knots.shape[1])]
        scaled = edge + sign * ex * (want / np.maximum(peak, 1e-12))
        bumped = knots + sign * bump * delta
        fitted = np.where(peak > 1e-12, np.where(dev > 0, scaled, knots), bumped)
        knots = np.where(want > 1e-12, fitted, np.where(dev > 0, edge, knots))
    return knots


def build_plan(u: Universe, seed: int, bars: DayBars) -> DayPlan:
    rng = day_rng(seed, 2, bars.day)
    n = u.n_stocks
    first = open_minute(bars.day)
    cont = CONT_END_MIN - first
    minutes = cont + CALL_MINUTES
    start_min = first - 9 * 60  # 60 on a 10:00 open: the profile's clock starts at 09:00
    prof = u_shape(start_min + np.arange(cont, dtype=np.float64) + 0.5)
    x = _ar1(rng, cont, (n,), params.MIN_ACT_PHI, params.MIN_ACT_ETA)
    y = _ar1(rng, cont, (1,), params.MIN_ACT_PHI, params.MIN_MKT_ACT_ETA)
    act = np.exp(x + y)
    jm = bars.jump_at * cont
    tt = np.arange(cont)[:, None]
    after = tt - jm[None, :]
    decay = np.exp(-np.maximum(after, 0) / params.JUMP_DECAY_MIN)
    excite = np.where((bars.jump_at >= 0) & (after >= 0), params.JUMP_EXCITE * decay, 0.0)
    act *= 1.0 + excite
    act /= act.mean(axis=0, keepdims=True)
    # trade sizes ∝ activity ** SIZE_POWER, normalised so the day's volume is unchanged
    trades = act * prof[:, None]
    size_mult = act**params.SIZE_POWER
    size_mult *= trades.sum(axis=0) / (trades * size_mult).sum(axis=0)
    # variance per minute ∝ profile × activity ** power; the closing call moves little
    var = np.vstack(
        [
            prof[:, None] ** params.PROFILE_VAR_POWER * act**params.MIN_VAR_POWER,
            np.full((CALL_MINUTES, n), 0.05),
        ]
    )
    var /= var.sum(axis=0, keepdims=True)
    t_shocks = rng.standard_t(params.MIN_T_DF, (minutes, n)) / np.sqrt(
        params.MIN_T_DF / (params.MIN_T_DF - 2)
    )
    common = factor_shocks(rng, u, minutes) / np.maximum(u.total_vol(), 1e-9)  # unit scale
    z = 0.5 * common + np.sqrt(0.75) * t_shocks
    scale = u.total_vol() * np.sqrt(1.0 - params.GAP_VAR_SHARE) * bars.vol_scale
    steps = z * np.sqrt(var) * scale
    start = np.log(bars.open.astype(np.float64))
    end = np.log(bars.close.astype(np.float64))
    jumped = bars.jump_at >= 0
    jump = np.where(jumped, 0.8 * (end - start), 0.0)
    steps[np.clip(jm.astype(np.intp), 0, cont - 1), np.arange(n)] += jump
    path = np.vstack([np.zeros(n), np.cumsum(steps, axis=0)]) + start
    w = np.vstack([np.zeros(n), np.cumsum(var, axis=0)])
    knots = path - w * (path[-1] - end)  # bridge in variance time: hits the close exactly
    # transient noise (quotes overshooting and coming back): the negative autocorrelation of
    # minute returns beyond the bid/ask bounce; none on the open and close knots
    noise = rng.normal(size=(minutes + 1, n)) * np.sqrt(np.vstack([var[:1], var])) * scale
    noise[0] = noise[-1] = 0.0
    knots += params.MIN_NOISE * noise
    lo, hi = limits(bars.prev)
    lim = jumped & ((bars.close == hi) | (bars.close == lo))
    jk = np.clip(jm.astype(np.intp) + 1, 1, minutes)
    at_limit = (np.arange(minutes + 1)[:, None] >= jk[None, :]) & lim[None, :]
    knots = np.where(at_limit, end, knots)  # a limit move stays at the limit, queue and all
    lh, ll = np.log(bars.high.astype(np.float64)), np.log(bars.low.astype(np.float64))
    knots = _fit_range(knots, np.maximum(start, end), np.minimum(start, end), lh, ll)
    knots = np.clip(knots, ll, lh)
    o_us = open_us(bars.day)
    hm = np.argmax(knots[1:-1], axis=0) + 1
    lm = np.argmin(knots[1:-1], axis=0) + 1
    hm = np.minimum(hm, cont - 1)
    lm = np.minimum(lm, cont - 1)
    offs = rng.integers(1, US_PER_MIN, size=(2, n))
    high_at = o_us + hm.astype(np.int64) * US_PER_MIN + offs[0]
    low_at = o_us + lm.astype(np.int64) * US_PER_MIN + offs[1]
    cap = u.shares.astype(np.float64) * u.anchor_close
    vi = find_vi(knots, bars.open, bars.low, bars.high, o_us, cont, dynamic_bands(u.market, cap))
    cont_end = o_us + cont * US_PER_MIN
    for at in (high_at, low_at):  # the trade printing the high/low is never inside a VI
        for j in range(len(vi.rows)):
            k = vi.rows[j]
            if vi.start_us[j] <= at[k] < vi.end_us[j]:
                at[k] = vi.end_us[j] + 1 if vi.end_us[j] < cont_end else vi.start_us[j] - 1
    return DayPlan(
        day=bars.day,
        open_us=o_us,
        minutes=minutes,
        cont_minutes=cont,
        prev=bars.prev,
        lo=lo,
        hi=hi,
        open=bars.open,
        close=bars.close,
        high=bars.high,
        low=bars.low,
        high_at=high_at,
        low_at=low_at,
        knots=knots,
        activity=act * prof[:, None],
        size_mult=size_mult,
        flow=_ar1(rng, cont, (n,), params.FLOW_PHI, params.FLOW_ETA),
        minute_vol=np.sqrt(var) * scale,
        volume=bars.volume.astype(np.float64),
        live=bars.live,
        vi=vi,
    )
