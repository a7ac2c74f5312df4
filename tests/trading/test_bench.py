"""The trading bench scenarios run at a tiny size (figures are in docs/benchmarks.md)."""

from __future__ import annotations

from aegis.bench.trading import run_backtest, run_latency


def test_latency_scenario_fills_every_order() -> None:
    res = run_latency(orders=5, rate=500, symbols=2)
    assert res.orders == 5 and res.ticks > 0
    assert res.order_p99_ms >= res.order_p50_ms > 0


def test_backtest_scenario_replays_every_candle() -> None:
    res = run_backtest(symbols=2, days=3, pandas=False)
    assert res.candles == 2 * 3 * 390
