"""One session day of ticks, produced chunk by chunk (a chunk = ``chunk_us`` of session time).

Each chunk draws from its own random stream seeded by (seed, day, chunk number), and sequence
numbers are (chunk + 1) × 1,000,000 + position (the 09:00 auction prints: 0, 1, …), so a sim
that joins the day late, or restarts, emits exactly the ticks a sim running since 09:00 would
have emitted from that point: replayed ticks are recognized downstream, never counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aegis.domain.tick_arrays import TickArrays
from aegis.domain.ticks import Tick
from aegis.sources.sim import params
from aegis.sources.sim.calendar import US_PER_MIN, close_us, cont_end_us
from aegis.sources.sim.daily import day_rng
from aegis.sources.sim.grid import ceil_grid, clip_int, floor_grid
from aegis.sources.sim.intraday import DayPlan
from aegis.sources.sim.offhours import OffHoursTrades, build_off_hours
from aegis.sources.sim.offhours import end_us as off_hours_end_us
from aegis.sources.sim.phases import phase_at
from aegis.sources.sim.replay import CLOSE_PRINT, CONTINUOUS, OPEN_PRINT, ReplayTrades
from aegis.sources.sim.universe import IndexDef, Universe

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
SOURCE = "sim"
SEQ_PER_CHUNK = 1_000_000
CATCH_UP_SEQ0 = 10**12
CATCH_UP_SEQ_PER_SPAN = 10**7
OFF_HOURS_SEQ0 = 10**15  # above every chunk's and catch-up span's numbers
_RANK_PRINT, _RANK_TRADE, _RANK_INDEX = 0, 1, 2


@dataclass(slots=True)
class TickColumns:
    """A session's ticks as columns (time order): what history needs, without Tick objects."""

    code: I64  # index into the engine's ``names``
    ts: I64
    seq: I64
    price: I64
    volume: I64


@dataclass(slots=True)
class IndexBase:
    """Index = value × Σ shares·price / Σ shares·prices (market-cap weighted, fixed base)."""

    prices: I64
    value: int


@dataclass(slots=True)
class _Part:
    rows: NDArray[np.intp]
    ts: I64
    price: I64
    volume: I64
    side: I64
    rank: int
    # trades drawn but not printed (volume 0 here): they keep their sequence numbers, so the
    # others are numbered as in any run of the day, steered or not (``DayEngine._steer``)
    dropped: NDArray[np.bool_] | None = None


class DayEngine:
    def __init__(
        self,
        u: Universe,
        plan: DayPlan,
        *,
        seed: int,
        rate: float,
        emit: NDArray[np.bool_],
        replay: Sequence[ReplayTrades] = (),
        index_base: dict[str, IndexBase] | None = None,
        chunk_us: int = params.CHUNK_US,
        index_every_us: int = params.INDEX_EVERY_US,
    ) -> None:
        self.u, self.plan, self.seed = u, plan, seed
        self.day = plan.day
        self.open_us, self.cont_end_us, self.close_us = (
            plan.open_us, cont_end_us(plan.day), close_us(plan.day),
        )  # fmt: skip
        self.chunk_us, self.index_every_us = chunk_us, index_every_us
        self.next_chunk = 0
        self.opened = False
        self.done = False
        # a restarted day: what is at or before this time is stored already (``resume_after``)
        self._stored_through = -(2**62)
        self.replay = {r.row: r for r in replay}
        is_replay = np.zeros(u.n_stocks, dtype=bool)
        is_replay[list(self.replay)] = True
        self.emit = emit & (plan.live | is_replay)  # suspended stocks do not trade
        pool = self.emit & ~is_replay
        self.pool_rows = np.flatnonzero(pool)
        # the off-hours sessions (to 18:00) of the simulated stocks; a replay ends at 15:30
        self.off: OffHoursTrades | None = None
        self.end_us = self.close_us
        if len(self.pool_rows):
            self.off = build_off_hours(
                plan.day, seed, self.pool_rows, plan.prev, plan.close, plan.lo, plan.hi,
                plan.volume,
            )  # fmt: skip
            self.end_us = off_hours_end_us(plan.day)
        self.n_chunks = -(-(self.end_us - self.open_us) // chunk_us)
        w_emit = float(u.activity[self.emit].sum()) or 1.0
        # Trade intensity per (minute, stock): static activity × the plan's minute activity.
        # ``rate`` is the mean number of continuous-session trades per simulated second over
        # the emitted stocks (replayed ones included), so it means exactly what it says.
        weights = u.activity[self.pool_rows][None, :] * plan.activity[:, self.pool_rows]
        self.pool_cum = np.cumsum(weights, axis=1)
        total = float(self.pool_cum[:, -1].sum()) if len(self.pool_rows) else 0.0
        cont_seconds = (self.cont_end_us - self.open_us) / 1e6
        pool_day = rate * cont_seconds * float(u.activity[pool].sum()) / w_emit
        # expected trades in each whole minute of the pool, and per stock over the day
        self.minute_lam = self.pool_cum[:, -1] * (pool_day / total) if total else np.zeros(0)
        per_stock = np.zeros(u.n_stocks)
        if total:
            per_stock[self.pool_rows] = weights.sum(axis=0) * (pool_day / total)
        continuous_share = 1.0 - params.OPEN_AUCTION_SHARE - params.CLOSE_AUCTION_SHARE
        self.avg_size = np.maximum(plan.volume * continuous_share / np.maximum(per_stock, 1.0), 1.0)
        rng = day_rng(seed, 3, plan.day)
        floor = params.AUCTION_MIN_TRADES * self.avg_size
        cap = np.maximum(plan.volume * 0.2, 1.0)  # auctions of a thin day stay a minor part
        self.open_vol = np.minimum(
            self._auction_volume(rng, plan.volume * params.OPEN_AUCTION_SHARE, floor), cap
        ).astype(np.int64)
        self.close_vol = np.minimum(
            self._auction_volume(rng, plan.volume * params.CLOSE_AUCTION_SHARE, floor), cap
        ).astype(np.int64)
        # forced prints: the trades printing each stock's high and low (so the day's candle is
        # exact) and the static-VI auction prints (side 0, a larger size)
        vi = plan.vi
        vi_mask = pool[vi.rows] & (vi.end_us < self.cont_end_us)
        vi_rows = vi.rows[vi_mask]
        f_rows = np.concatenate([self.pool_rows, self.pool_rows, vi_rows])
        f_ts = np.concatenate(
            [plan.high_at[self.pool_rows], plan.low_at[self.pool_rows], vi.end_us[vi_mask]]
        )
        f_px = np.concatenate(
            [plan.high[self.pool_rows], plan.low[self.pool_rows], vi.price[vi_mask]]
        )
        f_vol = np.concatenate(
            [self.avg_size[self.pool_rows], self.avg_size[self.pool_rows],
             self.avg_size[vi_rows] * params.VI_AUCTION_TRADES]
        )  # fmt: skip
        f_auction = np.concatenate(
            [np.zeros(2 * len(self.pool_rows), bool), np.ones(len(vi_rows), bool)]
        )
        order = np.argsort(f_ts, kind="stable")
        self._forced = (f_ts[order], f_rows[order], f_px[order])
        self._forced_vol = np.maximum(np.rint(f_vol[order]), 1).astype(np.int64)
        self._forced_auction = f_auction[order]
        self._steer_to_volume(weights, pool_day / total if total else 0.0)
        self.sym = np.array(u.symbols, dtype=object)
        self.names = tuple(u.symbols)
        self.index_base = index_base or {
            ix.symbol: IndexBase(u.anchor_close, ix.anchor_close) for ix in u.indices
        }
        self._member: list[NDArray[np.bool_]] = []
        for ix in u.indices:
            m = np.zeros(len(u.symbols), dtype=bool)
            m[ix.members] = True
            self._member.append(m)
        self._pending = [0] * len(u.indices)
        emitted_replay = [r for r in replay if emit[r.row]]
        cont = [(r, r.phase == CONTINUOUS) for r in emitted_replay]
        rt = np.concatenate([r.ts[m] for r, m in cont]) if cont else np.empty(0, np.int64)
        order = np.argsort(rt, kind="stable")
        self._replay_ts = rt[order]
        self._replay_rows = (
            np.concatenate([np.full(int(m.sum()), r.row, np.intp) for r, m in cont])[order]
            if cont
            else np.empty(0, np.intp)
        )
        self._replay_cols = {
            name: (np.concatenate([getattr(r, name)[m] for r, m in cont])[order] if cont
                   else np.empty(0, np.int64))
            for name in ("price", "volume", "side")
        }  # fmt: skip
        self._emitted_replay = emitted_replay

    def _steer_to_volume(self, weights: F64, lam_per_weight: float) -> None:
        """Set up the volume steering that makes a day played from its open end exactly at
        its daily-chain candle's volume: the random continuous trades are steered toward what
        the opening print, the forced prints and the planned closing print leave (``_steer``),
        and the closing print takes the remainder. Trade counts and sizes are random, so
        without it a day's volume missed the chain's by a few percent (thin stocks by tens)."""
        n, plan, pool = self.u.n_stocks, self.plan, self.pool_rows
        self.steering = len(pool) > 0
        day_volume = np.rint(plan.volume).astype(np.int64)
        rows = self._forced[1]
        forced = np.bincount(rows, weights=self._forced_vol, minlength=n)
        room = np.maximum(day_volume - self.open_vol - 1, 0)  # the closing print keeps a share
        for k in np.flatnonzero(forced > room):
            # a day of a few shares: its high/low/VI prints shrink to fit, a share each and the
            # rest in proportion (rare: a few stock-days a month)
            at = np.flatnonzero(rows == k)
            want = self._forced_vol[at].astype(np.float64)
            extra = max(int(room[k]) - len(at), 0)
            self._forced_vol[at] = 1 + np.floor((want - 1) * extra / max(want.sum() - len(at), 1))
            forced[k] = self._forced_vol[at].sum()
        fixed = self.open_vol + np.rint(forced).astype(np.int64)
        # what the random trades may reach at most (the closing print keeps at least half its
        # planned size) and what they aim at (the closing print as planned)
        self._random_cap = day_volume - fixed - np.maximum(self.close_vol // 2, 1)
        self._random_target = np.maximum(day_volume - fixed - self.close_vol, 0).astype(np.float64)
        self._random_done = np.zeros(n, np.int64)
        self._day_volume = day_volume
        self._fixed_volume = fixed
        # expected random volume of each pool stock from the start of each minute to the end
        # of the continuous session (row ``cont_minutes`` is 0)
        per_minute = (
            weights * lam_per_weight * self.avg_size[pool][None, :] * plan.size_mult[:, pool]
        )
        after = np.zeros((plan.cont_minutes + 1, len(pool)))
        after[:-1] = np.cumsum(per_minute[::-1], axis=0)[::-1]
        self._expected_after = after
        self._pool_col = np.full(n, -1, np.intp)
        self._pool_col[pool] = np.arange(len(pool))

    def _steer(
        self, rows: NDArray[np.intp], ts: I64, size: F64, a: int
    ) -> tuple[I64, NDArray[np.bool_]]:
        """Integer volumes of random continuous trades starting in a span at ``a``, and which
        to keep. Each stock's sizes are scaled by (volume still wanted) / (volume still
        expected), bounded to [½, 2], so a stock ahead of its day trades smaller and one
        behind larger, spread over the rest of the day. The trade that reaches the cap prints
        what is left, those after it are dropped: a thin day whose shares run out stops
        trading."""
        # a restarted day: trades at or before the last stored tick are drawn (so every other
        # one is drawn and numbered as in any run of the day) but not printed again
        keep = ts > self._stored_through
        if not self.steering or not len(rows):
            return np.maximum(np.rint(size), 1).astype(np.int64), keep
        plan = self.plan
        x = (a - self.open_us) / US_PER_MIN
        m = min(int(x), plan.cont_minutes - 1)
        left_frac = 1.0 - min(max(x - m, 0.0), 1.0)
        cols = self._pool_col[rows]
        after = self._expected_after
        left = after[m + 1, cols] + (after[m, cols] - after[m + 1, cols]) * left_frac
        want = self._random_target[rows] - self._random_done[rows]
        gain = np.where(left > 1.0, np.clip(want / np.maximum(left, 1.0), 0.5, 2.0), 1.0)
        vol = np.maximum(np.rint(size * gain), 1).astype(np.int64)
        vol[~keep] = 0
        done = self._random_done
        n = self.u.n_stocks
        total = np.bincount(rows, weights=vol, minlength=n)
        if np.any(done + total > self._random_cap):
            # per stock in time order: the trade reaching the cap prints what is left, the
            # ones after it are left out
            order = np.lexsort((ts, rows))
            r, v = rows[order], vol[order]
            cum = np.cumsum(v)
            first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
            before = cum - v - np.repeat(cum[first] - v[first], np.diff(np.r_[first, len(r)]))
            fit = np.clip(self._random_cap[r] - done[r] - before, 0, v)
            vol[order] = fit
            keep[order] &= fit > 0
            total = np.bincount(rows, weights=vol, minlength=n)
        done += np.rint(total).astype(np.int64)
        return vol, keep

    def _closing_volume(self) -> I64:
        """The closing print of each stock: the remainder of the day's volume on a day played
        from its open, else as planned."""
        if not self.steering:
            return self.close_vol
        rest = self._day_volume - self._fixed_volume - self._random_done
        return np.where(self._pool_col >= 0, np.maximum(rest, 1), self.close_vol)

    @staticmethod
    def _auction_volume(rng: np.random.Generator, target: F64, floor: F64) -> I64:
        v = np.maximum(target, floor) * rng.lognormal(0.0, 0.3, len(target))
        return np.maximum(v, 1.0).astype(np.int64)

    # ----- clock -------------------------------------------------------------------------
    def chunk_end(self, k: int) -> int:
        return min(self.open_us + (k + 1) * self.chunk_us, self.end_us)

    def join_at(self, session_us: int) -> None:
        """Start emitting from the chunk holding ``session_us`` (the opening auction prints come
        first all the same, so the day has its open)."""
        self._seek(session_us)
        if self.next_chunk:  # what came before is unknown here: nothing to steer toward
            self.steering = False

    def _seek(self, session_us: int) -> None:
        k = max(0, (session_us - self.open_us) // self.chunk_us)
        self.next_chunk = min(int(k), self.n_chunks)

    def resume_after(self, ts_us: int, day_volume: I64) -> None:
        """Continue a day whose ticks are stored up to ``ts_us`` (a restart): from the chunk
        holding it, the downtime included (so the day has no hole). That chunk is drawn whole
        and what falls at or before ``ts_us`` left out, so the ticks after it are numbered as
        in any run drawing the chunk. ``day_volume`` is each stock's stored volume of the
        day's regular session (its 1d candle's, by universe row): the volume steering takes up
        from it, so the day still ends exactly at its chain candle, whatever the run before
        drew."""
        if ts_us < self.open_us:
            self.join_at(self.open_us)
            return
        self._seek(ts_us)
        self.opened = True  # the opening prints (and 08:30-08:40) came with the first chunk
        self._stored_through = ts_us
        if not self.steering:
            return
        f_ts, f_rows, _ = self._forced
        emitted = f_ts <= ts_us
        forced = np.bincount(
            f_rows[emitted], weights=self._forced_vol[emitted], minlength=self.u.n_stocks
        )
        done = day_volume - self.open_vol - np.rint(forced).astype(np.int64)
        self._random_done = np.maximum(done, 0)

    @property
    def session_us(self) -> int:
        """Session time reached: the end of the last emitted chunk."""
        if self.next_chunk == 0 and not self.opened:
            return self.open_us
        return self.chunk_end(self.next_chunk - 1) if self.next_chunk else self.open_us

    def phase(self) -> str:
        if self.done:
            return "closed"
        if self.session_us < self.cont_end_us:
            return "continuous"
        if self.session_us < self.close_us:
            return "closing_auction"
        return phase_at(self.session_us)

    def has_due(self, target_us: int) -> bool:
        """A chunk ending at or before ``target_us`` is still to be emitted."""
        return not self.done and self.chunk_end(self.next_chunk) <= target_us

    def advance(self, target_us: int, max_chunks: int | None = None) -> list[list[Tick]]:
        """Chunks whose end is ≤ ``target_us`` (at most ``max_chunks``), one batch each; empty
        chunks give no batch."""
        out: list[list[Tick]] = []
        budget = self.n_chunks if max_chunks is None else max_chunks
        while budget > 0 and self.has_due(target_us):
            budget -= 1
            batch = self._chunk(self.next_chunk)
            self.next_chunk += 1
            if self.next_chunk >= self.n_chunks:
                self.done = True
            if batch:
                out.append(batch)
        return out

    # ----- one chunk ---------------------------------------------------------------------
    def reference_prices(self, ts: int) -> I64:
        """Every stock's price at ``ts`` as the index sees it: the latent path on the grid, or
        for replayed stocks their last print."""
        p = self.plan.prices_at(ts)
        if self.replay:
            p = p.copy()
            for row, r in self.replay.items():
                p[row] = r.price_at(ts)
        return p

    def _index_part(self, times: list[int], trades: list[_Part]) -> _Part:
        rows, ts, price, vol = [], [], [], []
        all_rows = np.concatenate([t.rows for t in trades]) if trades else np.empty(0, np.intp)
        all_ts = np.concatenate([t.ts for t in trades]) if trades else np.empty(0, np.int64)
        all_vol = np.concatenate([t.volume for t in trades]) if trades else np.empty(0, np.int64)
        refs = self._reference_prices_many(times) if self.u.indices else None
        at = np.array(times, np.int64)
        for j, ix in enumerate(self.u.indices):
            assert refs is not None
            values = self._index_values(ix, refs)
            m = self._member[j][all_rows]
            its, ivol = all_ts[m], all_vol[m]
            order = np.argsort(its, kind="stable")
            its, cum = its[order], np.concatenate([[0], np.cumsum(ivol[order])])
            # each print's volume: its members' trades since the print before (the first
            # also those pending from the span before); all at once, not a search per print
            upto = np.searchsorted(its, at, side="right")
            since = np.zeros_like(upto)
            since[1:] = upto[:-1]
            v = cum[upto] - cum[since]
            if len(v):
                v[0] += self._pending[j]
                self._pending[j] = int(cum[-1] - cum[upto[-1]])
            else:
                self._pending[j] += int(cum[-1])
            rows.append(np.full(len(at), self.u.n_stocks + j, np.intp))
            ts.append(at)
            price.append(np.array(values, np.int64))
            vol.append(v.astype(np.int64))
        n = len(self.u.indices) * len(at)
        if not rows:
            return _Part(
                np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.int64),
                np.empty(0, np.int64), np.zeros(0, np.int64), _RANK_INDEX,
            )  # fmt: skip
        return _Part(
            np.concatenate(rows), np.concatenate(ts), np.concatenate(price),
            np.concatenate(vol), np.zeros(n, np.int64), _RANK_INDEX,
        )  # fmt: skip

    def _reference_prices_many(self, times: list[int]) -> I64:
        """``reference_prices`` of each time, a row each (the index every 2 s of a span at
        once: the same prices, without a pass over every stock per time)."""
        p = self.plan.prices_at_many(times)
        for row, r in self.replay.items():
            p[:, row] = [r.price_at(t) for t in times]
        return p

    def _index_values(self, ix: IndexDef, prices: I64) -> list[int]:
        """``_index_value`` of each row of ``prices``: the same exact integer arithmetic."""
        base = self.index_base[ix.symbol]
        shares = self.u.shares[ix.members]
        caps: list[int] = (prices[:, ix.members] @ shares).tolist()
        b = int(np.dot(shares, base.prices[ix.members]))
        return [(2 * cap * base.value + b) // (2 * b) for cap in caps]

    def _index_value(self, ix: IndexDef, prices: I64) -> int:
        base = self.index_base[ix.symbol]
        return self.u.index_value(ix, prices, base.prices, base.value)

    def _prints(self, at: int, prices: I64, vols: I64, phase: int) -> _Part:
        rows = self.pool_rows
        parts_rows = [rows]
        parts_price = [prices[rows]]
        parts_vol = [vols[rows]]
        for r in self._emitted_replay:
            m = r.phase == phase
            parts_rows.append(np.full(int(m.sum()), r.row, np.intp))
            parts_price.append(r.price[m])
            parts_vol.append(r.volume[m])
        rows_all = np.concatenate(parts_rows)
        return _Part(
            rows_all, np.full(len(rows_all), at, np.int64), np.concatenate(parts_price),
            np.concatenate(parts_vol), np.zeros(len(rows_all), np.int64), _RANK_PRINT,
        )  # fmt: skip

    def _continuous(self, rng: np.random.Generator, a: int, b: int) -> _Part:
        plan = self.plan
        rows_l, ts_l = [], []
        if len(self.pool_rows):
            m0 = (a - self.open_us) // US_PER_MIN
            m1 = min((b - 1 - self.open_us) // US_PER_MIN, plan.cont_minutes - 1)
            for m in range(int(m0), int(m1) + 1):
                s0 = max(a, self.open_us + m * US_PER_MIN)
                s1 = min(b, self.open_us + (m + 1) * US_PER_MIN)
                lam = float(self.minute_lam[m]) * (s1 - s0) / US_PER_MIN
                n = int(rng.poisson(lam))
                if n:
                    cum = self.pool_cum[m]
                    pick = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
                    rows_l.append(self.pool_rows[np.minimum(pick, len(cum) - 1)])
                    ts_l.append(s0 + rng.integers(0, s1 - s0, size=n))
        rows = np.concatenate(rows_l) if rows_l else np.empty(0, np.intp)
        ts = np.concatenate(ts_l).astype(np.int64) if ts_l else np.empty(0, np.int64)
        trading = ~plan.vi.halted(rows, ts)  # a stock in a VI auction has no continuous trades
        rows, ts = rows[trading], ts[trading]
        n = len(rows)
        frac = ((ts - self.open_us) % US_PER_MIN) / US_PER_MIN
        minute = np.minimum((ts - self.open_us) // US_PER_MIN, plan.cont_minutes - 1)
        sd = plan.minute_vol[minute, rows]
        noise = rng.standard_normal(n) * sd * np.sqrt(frac * (1 - frac))
        ref = np.exp(plan.latent(ts, rows) + noise)
        bid, ask = floor_grid(ref), ceil_grid(ref)
        # the latent price sits between bid and ask: the nearer side trades far more often
        # (a quiet minute prints one price, a busy one crosses ticks), some bounce remains
        pos = np.where(ask > bid, (ref - bid) / np.maximum(ask - bid, 1e-9), 0.5)
        # ... and persistent order flow decides between two nearly equidistant sides
        pos = np.clip(pos, 1e-6, 1 - 1e-6)
        logit = params.SIDE_SHARPNESS * np.log(pos / (1.0 - pos)) + plan.flow[minute, rows]
        p_ask = 1.0 / (1.0 + np.exp(-logit))
        buy = rng.random(n) < p_ask
        side = np.where(buy, 1, -1).astype(np.int64)
        price = clip_int(np.where(buy, ask, bid), plan.low[rows], plan.high[rows])
        sigma = params.TRADE_SIZE_SIGMA
        size = self.avg_size[rows] * plan.size_mult[minute, rows]
        size *= rng.lognormal(-sigma * sigma / 2, sigma, n)
        vol, keep = self._steer(rows, ts, size, a)
        dropped = None if keep.all() else ~keep
        if dropped is not None:
            vol[dropped] = 0
        f_ts, f_rows, f_px = self._forced
        fa = int(np.searchsorted(f_ts, a, side="left"))
        fb = int(np.searchsorted(f_ts, b, side="left"))
        if fb > fa:
            fr = f_rows[fa:fb]
            rows = np.concatenate([rows, fr])
            ts = np.concatenate([ts, f_ts[fa:fb]])
            price = np.concatenate([price, f_px[fa:fb]])
            vol = np.concatenate([vol, self._forced_vol[fa:fb]])
            f_side = np.where(f_px[fa:fb] >= plan.close[fr], 1, -1)
            side = np.concatenate([side, np.where(self._forced_auction[fa:fb], 0, f_side)])
        lo_i = int(np.searchsorted(self._replay_ts, a, side="right"))
        hi_i = int(np.searchsorted(self._replay_ts, b, side="right"))
        if hi_i > lo_i:
            rows = np.concatenate([rows, self._replay_rows[lo_i:hi_i]])
            ts = np.concatenate([ts, self._replay_ts[lo_i:hi_i]])
            price = np.concatenate([price, self._replay_cols["price"][lo_i:hi_i]])
            vol = np.concatenate([vol, self._replay_cols["volume"][lo_i:hi_i]])
            side = np.concatenate([side, self._replay_cols["side"][lo_i:hi_i]])
        if dropped is not None:
            dropped = np.concatenate([dropped, np.zeros(len(rows) - len(dropped), bool)])
        return _Part(rows, ts, price, vol, side, _RANK_TRADE, dropped)

    def catch_up(self, until_us: int) -> list[Tick] | None:
        """One span (up to ``CATCH_UP_SPAN_US``) of the session between what was emitted and
        the chunk holding ``until_us``, drawn in one go from its own random stream: how a sim
        that joins a day late fills the morning at once. None when caught up. Sequence numbers
        live above every chunk's, so catch-up ticks never collide with live ones."""
        cols = self.catch_up_columns(until_us)
        return None if cols is None else cols.ticks()

    def catch_up_columns(self, until_us: int) -> TickArrays | None:
        """``catch_up`` as columns (the same ticks, in the same order), without a ``Tick``
        per trade: what a bulk sink stores."""
        span = self._catch_up_span(until_us)
        if span is None:
            return None
        cols = [c for seq0, parts in span if (c := self._columns(seq0, parts)) is not None]
        if not cols:
            return TickArrays.empty(self.names, SOURCE)
        code, ts, price, vol, side, seq = (np.concatenate([c[j] for c in cols]) for j in range(6))
        return TickArrays(
            self.names, code.astype(np.int64, copy=False), ts, price, vol, side, seq, SOURCE
        )

    def session_columns(self) -> TickColumns:
        """The whole session at once as columns, for history: the spans ``catch_up`` draws,
        without building a ``Tick`` per trade."""
        self.join_at(self.open_us)
        cols = [
            c
            for span in iter(lambda: self._catch_up_span(self.end_us), None)
            for seq0, parts in span
            if (c := self._columns(seq0, parts)) is not None
        ]
        if not cols:
            return TickColumns(*(np.empty(0, np.int64) for _ in range(5)))
        return TickColumns(
            np.concatenate([c[0] for c in cols]).astype(np.int64, copy=False),
            *(np.concatenate([c[j] for c in cols]) for j in (1, 5, 2, 3)),
        )

    def _catch_up_span(self, until_us: int) -> list[tuple[int, list[_Part]]] | None:
        last = min(max(0, (until_us - self.open_us) // self.chunk_us), self.n_chunks)
        if self.done or self.next_chunk >= last:
            return None
        a = self.open_us + self.next_chunk * self.chunk_us
        b = min(a + params.CATCH_UP_SPAN_US, self.open_us + int(last) * self.chunk_us)
        b = min(b, self.end_us)
        rng = np.random.default_rng([self.seed, 7, self.day.toordinal(), self.next_chunk])
        seq0 = CATCH_UP_SEQ0 + self.next_chunk * CATCH_UP_SEQ_PER_SPAN
        out = self._span_parts(rng, a, b, seq0)
        self.next_chunk = int(-(-(b - self.open_us) // self.chunk_us))
        if self.next_chunk >= self.n_chunks:
            self.done = True
        return out

    def _chunk(self, k: int) -> list[Tick]:
        rng = np.random.default_rng([self.seed, 4, self.day.toordinal(), k])
        span = self._span_parts(
            rng, self.open_us + k * self.chunk_us, self.chunk_end(k), (k + 1) * SEQ_PER_CHUNK
        )
        return [t for seq0, parts in span for t in self._to_ticks(seq0, parts)]

    def _span_parts(
        self, rng: np.random.Generator, a: int, b: int, seq0: int
    ) -> list[tuple[int, list[_Part]]]:
        """The parts of session time [a, b), each group with its first sequence number (the
        opening auction prints first, numbered from 0)."""
        out: list[tuple[int, list[_Part]]] = []
        if not self.opened:
            self.opened = True
            if self.off is not None:  # 장전 시간외 종가, before the opening match
                out.append(self._off_part(self.off.between(-(2**62), self.open_us)))
            prints = self._prints(self.open_us, self.plan.open, self.open_vol, OPEN_PRINT)
            out.append((0, [prints, self._index_part([self.open_us], [prints])]))
        parts: list[_Part] = []
        trades: list[_Part] = []
        if a < self.cont_end_us:
            trades.append(self._continuous(rng, a, min(b, self.cont_end_us)))
        first = (a - self.open_us) // self.index_every_us + 1
        times = [
            t
            for m in range(int(first), int((b - self.open_us) // self.index_every_us) + 1)
            if (t := self.open_us + m * self.index_every_us) <= self.cont_end_us
        ]
        parts += trades
        if times or trades:
            parts.append(self._index_part(times, trades))
        if a < self.close_us <= b:
            closing = self._closing_volume()
            prints = self._prints(self.close_us, self.plan.close, closing, CLOSE_PRINT)
            parts += [prints, self._index_part([self.close_us], [prints])]
        out.append((seq0, parts))
        if self.off is not None and b > self.close_us:
            out.append(self._off_part(self.off.between(max(a, self.close_us), b)))
        return out

    def _off_part(self, sl: slice) -> tuple[int, list[_Part]]:
        """Off-hours prints (their sequence numbers follow their place in the day, so any
        chunking numbers them alike)."""
        off = self.off
        assert off is not None
        n = sl.stop - sl.start
        part = _Part(
            off.rows[sl], off.ts[sl], off.price[sl], off.volume[sl], np.zeros(n, np.int64),
            _RANK_PRINT,
        )  # fmt: skip
        return OFF_HOURS_SEQ0 + sl.start, [part]

    def _columns(
        self, seq0: int, parts: list[_Part]
    ) -> tuple[NDArray[np.intp], I64, I64, I64, I64, I64] | None:
        """(rows, ts, price, volume, side, seq) in time order, or None when empty."""
        parts = [p for p in parts if len(p.rows)]
        if not parts:
            return None
        ts = np.concatenate([p.ts for p in parts])
        rank = np.concatenate([np.full(len(p.rows), p.rank, np.int64) for p in parts])
        order = np.lexsort((rank, ts))
        rows = np.concatenate([p.rows for p in parts])[order]
        price = np.concatenate([p.price for p in parts])[order]
        vol = np.concatenate([p.volume for p in parts])[order]
        side = np.concatenate([p.side for p in parts])[order]
        seq = np.arange(seq0, seq0 + len(order), dtype=np.int64)
        ts = ts[order]
        stored = ts[0] <= self._stored_through  # a restarted day: printed before (``resume_after``)
        if stored or any(p.dropped is not None for p in parts):
            drop = np.concatenate(
                [np.zeros(len(p.rows), bool) if p.dropped is None else p.dropped for p in parts]
            )[order]
            if stored:
                drop |= ts <= self._stored_through
            k = ~drop
            return rows[k], ts[k], price[k], vol[k], side[k], seq[k]
        return rows, ts, price, vol, side, seq

    def _to_ticks(self, seq0: int, parts: list[_Part]) -> list[Tick]:
        cols = self._columns(seq0, parts)
        if cols is None:
            return []
        rows, ts, price, vol, side, seq = cols
        n = len(rows)
        return list(
            map(
                Tick, self.sym[rows].tolist(), ts.tolist(), price.tolist(),
                vol.tolist(), side.tolist(), seq.tolist(), [SOURCE] * n,
            )
        )  # fmt: skip
