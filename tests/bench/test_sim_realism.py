"""``aegis bench sim-realism`` at its quick size: it runs, measures every fact against real data,
and the simulated session keeps the KRX rules (0 violations)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from aegis.bench import sim_realism as b
from aegis.cli.app import app


def test_the_realism_table_measures_every_fact_and_finds_no_rule_violation(
    tmp_path: Path,
) -> None:
    res = b.run(b.quick_market(), seed=3, days=25, sessions=1, rate=200.0, rules_rate=10.0)
    facts = [r.fact for r in res.rows]
    assert len(facts) == len(set(facts)) >= 12
    assert all(r.real and r.sim for r in res.rows)
    assert res.violations == 0 and res.rule_ticks > 1000
    # a restarted day too ends at its chain candle, and prints nothing twice
    chain_rows = [r for r in res.rows if "daily-chain candle" in r.fact or "restarted" in r.fact]
    assert [r.ok for r in chain_rows] == [True, True], chain_rows
    assert res.real_profile.shape == res.sim_profile.shape == (b.MINUTES,)
    paths = b.plot(res, tmp_path)
    assert [p.name for p in paths] == ["sim_volume_profile.png", "sim_return_distribution.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_real_minute_facts_match_the_published_figures() -> None:
    days = b.read_real_minutes()
    assert len(days) == 4 and all(len(d.close) == b.MINUTES for d in days)
    facts = [d.facts() for d in days]
    # issue 8: per June-2025 day kurtosis 0.6–1.7, autocorrelation −0.13…−0.31
    assert all(0.6 <= f["kurt"] <= 1.7 for f in facts)
    assert all(-0.31 <= f["ac"] <= -0.12 for f in facts)


def test_rule_check_counts_an_off_grid_trade(tmp_path: Path) -> None:
    from aegis.sources.sim.daily import DailyChain
    from aegis.sources.sim.universe import Universe

    u = Universe.build(b.quick_market(), 3)
    chain = DailyChain(u, 3)
    day = b.simulate_days(u, 3, 1).days[0]
    engine, ticks = b.session_ticks(u, chain, 3, day, [], 5.0)
    assert b.rule_violations(u, engine, ticks) == 0
    k = next(i for i, t in enumerate(ticks) if engine.open_us < t.ts < engine.cont_end_us
             and t.symbol in u.symbols[: u.n_stocks] and t.price > 2_000)  # fmt: skip
    bad = list(ticks)
    t = bad[k]
    bad[k] = type(t)(t.symbol, t.ts, t.price + 1, t.volume, t.side, t.seq, t.source)
    assert b.rule_violations(u, engine, bad) == 1


def test_cli_quick_prints_the_table() -> None:
    result = CliRunner().invoke(app, ["bench", "sim-realism", "--quick", "--days", "5"])
    assert result.exit_code == 0, result.output
    assert "rule violations" in result.output and "lunch share" in result.output


def test_chain_check_counts_a_stock_whose_volume_is_off() -> None:
    from aegis.sources.sim.daily import DailyChain
    from aegis.sources.sim.universe import Universe

    u = Universe.build(b.quick_market(), 3)
    day = b.simulate_days(u, 3, 1).days[0]
    engine, ticks = b.session_ticks(u, DailyChain(u, 3), 3, day, [], 5.0)
    bars = DailyChain(u, 3).day(day)
    same, traded = b.chain_matches(u, bars, ticks)
    assert same == traded == int(engine.emit.sum()) > 10
    k = next(i for i, t in enumerate(ticks) if engine.open_us < t.ts < engine.cont_end_us
             and t.symbol in u.symbols[: u.n_stocks])  # fmt: skip
    bad = list(ticks)
    t = bad[k]
    bad[k] = type(t)(t.symbol, t.ts, t.price, t.volume + 1, t.side, t.seq, t.source)
    assert b.chain_matches(u, bars, bad) == (traded - 1, traded)
