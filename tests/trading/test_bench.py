"""The trading bench scenarios run at a tiny size (figures are in docs/benchmarks.md)."""

from __future__ import annotations

from aegis.bench.trading import run_backtest, run_latency, run_latency_pair


def test_latency_scenario_fills_every_order() -> None:
    res = run_latency(orders=5, rate=500, symbols=2)
    assert res.orders == 5 and res.ticks > 0
    assert res.order_p99_ms >= res.order_p50_ms > 0


def test_backtest_scenario_replays_every_candle() -> None:
    res = run_backtest(symbols=2, days=3, pandas=False)
    assert res.candles == 2 * 3 * 390


def test_latency_pair_measures_both_event_log_paths() -> None:
    before, after = run_latency_pair(orders=4, rate=500, symbols=2, rounds=2)
    assert (before.mode, after.mode) == ("aiosqlite (before)", "writer thread")
    for r in (before, after):
        assert r.orders == 4 and r.ticks > 0
        assert r.append_p99_ms >= r.append_p50_ms > 0
        assert r.fill_max_ms >= r.fill_p99_ms and r.cpu_s > 0 and r.elapsed_s > 0
    # where the slow fills went: the writer thread's steps are measured, not inferred
    assert "SQLite txn" in after.slow and "SQLite txn" not in before.slow
    assert "append → listener" in before.slow
