"""Builds a ready-to-run ``DayEngine`` for a session day: normal (synthesized from the chain of
days since the real snapshot) or a replay of a real day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
from numpy.typing import NDArray

from aegis.core.errors import InvalidRequest
from aegis.reference.history import bar_on, history_symbols
from aegis.reference.indices import read_index_daily
from aegis.sources.sim import params
from aegis.sources.sim.calendar import cont_end_us, open_us
from aegis.sources.sim.daily import DailyChain, day_rng, synth_day
from aegis.sources.sim.engine import DayEngine, IndexBase
from aegis.sources.sim.intraday import build_plan
from aegis.sources.sim.replay import ReplayTrades, build_replay
from aegis.sources.sim.universe import Universe


def emit_mask(u: Universe, symbols: Sequence[str] | None) -> NDArray[np.bool_]:
    """Which stocks produce ticks: all, or the named subset (unknown names are an error)."""
    if not symbols:
        return np.ones(u.n_stocks, dtype=bool)
    row = u.stock_rows()
    index_names = set(u.symbols[u.n_stocks :])
    unknown = [s for s in symbols if s not in row and s not in index_names]
    if unknown:
        raise InvalidRequest(f"AEGIS_SIM_SYMBOLS: unknown symbols {', '.join(unknown)}")
    mask = np.zeros(u.n_stocks, dtype=bool)
    mask[[row[s] for s in symbols if s in row]] = True
    return mask


def normal_day(
    u: Universe, chain: DailyChain, seed: int, day: date, rate: float, emit: NDArray[np.bool_],
    chunk_us: int = params.CHUNK_US,
) -> DayEngine:  # fmt: skip
    bars = chain.day(day)
    plan = build_plan(u, seed, bars)
    base = {sym: IndexBase(p, v) for sym, (p, v) in bars.index_base.items()}
    return DayEngine(u, plan, seed=seed, rate=rate, emit=emit, index_base=base, chunk_us=chunk_us)


def _index_close_before(symbol: str, day: date) -> int | None:
    rows = [r for r in read_index_daily(symbol) if r.day < day]
    return rows[-1].close if rows else None


def replay_day(
    u: Universe, seed: int, day: date, rate: float, emit: NDArray[np.bool_],
    chunk_us: int = params.CHUNK_US,
) -> DayEngine:  # fmt: skip
    """Stocks with shipped history on ``day`` replay it exactly; only they produce ticks (the
    others' prices would be of another day). The others still move the indices, simulated
    from their snapshot close; indices are anchored at their real close of the day before."""
    row = u.stock_rows()
    bars = synth_day(u, seed, day, u.anchor_close.copy())
    found = {s: pair for s in history_symbols() if s in row and (pair := bar_on(s, day))}
    if not found:
        raise InvalidRequest(
            f"AEGIS_SIM_REPLAY={day}: no shipped daily history has that day "
            "(QuantKang stocks to 2023-12-22, 카카오 to 2022-09-19, weekdays with trading)"
        )
    prev = bars.prev.copy()
    for sym, (before, _) in found.items():
        prev[row[sym]] = before.close
    bars.prev = prev
    plan = build_plan(u, seed, bars)
    w_emit = float(u.activity[emit].sum()) or 1.0
    cont_s = (cont_end_us(day) - open_us(day)) / 1e6
    replays: list[ReplayTrades] = []
    for sym, (before, bar) in found.items():
        k = row[sym]
        rng = day_rng(seed, 5, day, k)
        expected = rate * cont_s * float(u.activity[k]) / w_emit
        r = build_replay(rng, k, before, bar, expected)
        if r is not None:
            replays.append(r)
        else:  # a halt day: the price stays at the previous close, no prints
            plan.open[k] = plan.close[k] = plan.high[k] = plan.low[k] = before.close
            plan.knots[:, k] = np.log(before.close)
    base: dict[str, IndexBase] = {}
    for ix in u.indices:
        real = _index_close_before(ix.symbol, day)
        base[ix.symbol] = IndexBase(prev, real if real is not None else ix.anchor_close)
    replayed = np.zeros(u.n_stocks, dtype=bool)
    replayed[[row[s] for s in found]] = True
    return DayEngine(
        u, plan, seed=seed, rate=rate, emit=emit & replayed, replay=replays, index_base=base,
        chunk_us=chunk_us,
    )  # fmt: skip
