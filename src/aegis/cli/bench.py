"""``aegis bench``: the speed figures of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

bench_app = typer.Typer(help="Benchmarks (figures go to docs/benchmarks.md)", no_args_is_help=True)
console = Console()


PANDAS_MISSING = (
    "pandas baseline skipped: pandas is not installed (it is not an AEGIS dependency; "
    "`pip install 'aegis[bench]'` or the dev environment has it)"
)


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _when() -> str:
    """When a bench ran, with its zone (figures in docs/benchmarks.md are compared by it)."""
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _load() -> str:
    """The 1-minute load average: elapsed figures on a shared machine mean little without it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


@bench_app.command("ingest")
def ingest(
    ticks: Annotated[int, typer.Option(help="number of ticks")] = 1_000_000,
    seed: int = 1,
    batch: Annotated[int, typer.Option(help="ticks per sink call")] = 5_000,
    pandas: Annotated[bool, typer.Option(help="also time the pandas baseline")] = True,
    rate: Annotated[
        float,
        typer.Option(
            help="market trades per exchange second (0: spread over one whole session, about "
            "one tick per symbol-minute over the whole market: the sparse case)"
        ),
    ] = 2_000,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL server to measure instead of SQLite: the bench creates a scratch "
            "database there (CREATEDB needed) and drops it afterwards"
        ),
    ] = None,
) -> None:
    """Ticks → 1m/5m/15m/1h/1d candles → SQLite (or PostgreSQL), end to end."""
    from aegis.bench import ingest as b
    from aegis.core.redact import redact_url

    console.print(f"generating {ticks:,} simulated ticks …")
    with Progress(console=console) as progress:
        task = progress.add_task("ingest", total=ticks)
        res = b.run(
            ticks,
            seed,
            batch,
            pandas,
            lambda n: progress.advance(task, n),
            rate or None,
            database_url,
        )
    console.print(f"{_when()} · {_machine()} · load {_load()}")
    console.print(
        f"market: {res.ticks:,} ticks over {res.market_seconds:,.0f} s of exchange "
        f"time ({res.ticks / max(res.market_seconds, 1):,.0f} trades/s, "
        f"{res.per_symbol_minute:.2f} ticks per symbol-minute)"
    )
    where = "SQLite" if database_url is None else f"PostgreSQL {redact_url(database_url)}"
    console.print(
        f"AEGIS ingest into {where}: {res.ticks:,} ticks, {res.symbols:,} symbols, "
        f"{res.seconds:.2f} s (CPU {res.cpu_seconds:.2f} s) → [bold]{res.rate:,.0f} ticks/s"
        "[/bold] (dedup + 5 intervals + ticks and candles stored + crash journal)"
    )
    console.print(
        f"the same without the crash journal: {res.seconds_without_journal:.2f} s → "
        f"{res.ticks / res.seconds_without_journal:,.0f} ticks/s"
    )
    how = "INSERT" if database_url is None else "COPY + INSERT … ON CONFLICT DO NOTHING"
    console.print(
        f"tick write path alone ({how}, {b.WRITE_BATCH:,} per call): new "
        f"{res.ticks / res.write_seconds:,.0f} ticks/s ({res.write_seconds:.2f} s), "
        f"all already stored {res.ticks / res.rewrite_seconds:,.0f} ticks/s "
        f"({res.rewrite_seconds:.2f} s)"
    )
    if res.pandas_rate is not None:
        console.print(
            f"pandas resample().ohlc() (5 intervals, no storage): "
            f"{res.pandas_seconds:.2f} s → {res.pandas_rate:,.0f} ticks/s"
        )
    elif pandas:
        console.print(PANDAS_MISSING)


@bench_app.command("import")
def import_(
    ticks: Annotated[int, typer.Option(help="rows in the generated CSV")] = 1_000_000,
    seed: int = 1,
    pandas: Annotated[bool, typer.Option(help="also time the pandas baseline")] = True,
) -> None:
    """`aegis import ticks` on a CSV of 8 stocks over one session, beside pandas read_csv +
    resample().ohlc() (5 intervals) + to_sql into SQLite on the same file."""
    from aegis.bench import importing as b

    res = b.run(ticks, seed, pandas)
    console.print(f"{_when()} · {_machine()} · load {_load()}")
    console.print(
        f"aegis import ticks: {res.ticks:,} rows, {res.symbols} symbols, one session: "
        f"{res.seconds:.2f} s (CPU {res.cpu_seconds:.2f} s) → [bold]{res.rate:,.0f} ticks/s[/bold] "
        f"(checked, deduplicated, 5 intervals, SQLite); the same file again: "
        f"{res.reimport_seconds:.2f} s, nothing new"
    )
    if res.pandas_rate is not None and res.pandas_seconds is not None:
        cpu = res.pandas_cpu_seconds or 0.0
        console.print(
            f"pandas read_csv + resample().ohlc() ×5 + to_sql: {res.pandas_seconds:.2f} s "
            f"(CPU {cpu:.2f} s) → {res.pandas_rate:,.0f} ticks/s; AEGIS/pandas = "
            f"{res.rate / res.pandas_rate:.2f}× by elapsed time, "
            f"{cpu / max(res.cpu_seconds, 1e-9):.2f}× by CPU time"
        )
    elif pandas:
        console.print(PANDAS_MISSING)


@bench_app.command("fanout")
def fanout(
    clients: int = 1000,
    symbols: Annotated[int, typer.Option(help="symbols per client")] = 16,
    rate: Annotated[float, typer.Option(help="market ticks per second")] = 5000,
    seconds: float = 20,
    procs: Annotated[
        int | None, typer.Option(help="client processes (default: one per 2,000 clients)")
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="also run with permessage-deflate on (the old default) first")
    ] = False,
    universe: Annotated[
        int | None,
        typer.Option(help="clients draw from the N most traded symbols (default: all traded)"),
    ] = None,
    connect_rate: Annotated[
        float | None,
        typer.Option(help="market ticks/s while the clients connect (default: --rate)"),
    ] = None,
) -> None:
    """N WebSocket clients × S symbols at R market ticks/s: delivery, latency, memory."""
    from aegis.bench import fanout as b

    console.print(f"{_when()} · {_machine()}")
    for compression in (True, False) if baseline else (False,):
        res = b.run(clients, symbols, rate, seconds, procs, compression, universe, connect_rate)
        label = "baseline: permessage-deflate on" if compression else "permessage-deflate off"
        console.print(
            f"({label}) {clients} clients ({res.connected} connected in {res.connect_s:.0f} s, "
            f"{res.failed} failed to connect"
            + ("" if not connect_rate else f", market at {connect_rate:,.0f} ticks/s meanwhile")
            + f") × {symbols} symbols "
            f"of {res.universe:,} traded, "
            f"market {rate:,.0f} ticks/s for {res.seconds:.1f} s (server ingested "
            f"{res.server_ticks:,} ticks); load average {res.load[0]:.1f} → {res.load[1]:.1f}"
        )
        cpu = res.cpu_us_per_tick()
        per_market = res.cpu_us_per_market_tick()
        console.print(
            f"delivered {res.received:,} ticks ({res.received / res.seconds:,.0f}/s) in "
            f"{res.frames:,} frames, conflated {res.conflated:,}, closed as slow "
            f"{res.closed_slow}; market {res.market_ticks or 0:,} ticks in the window; server CPU "
            + ("unknown" if cpu is None else f"{cpu:.1f} µs per delivered tick")
            + ("" if per_market is None else f", {per_market:.1f} µs per market tick")
        )
        kb = res.kb_per_connection()
        console.print(
            f"tick → client latency p50 {res.pct(50):.1f} ms, p99 {res.pct(99):.1f} ms "
            f"({len(res.latencies_ms):,} samples); server RSS "
            + (
                "unknown"
                if res.server_rss_mb is None or kb is None
                else f"{res.server_rss_mb:.0f} MB at the end; connecting the clients added "
                f"{kb:.1f} KB per connection"
            )
        )


@bench_app.command("api")
def api(candles: int = 10_000, requests: int = 50) -> None:
    """GET /companies/{id}/ohlcv returning 10,000 candles."""
    from aegis.bench import api as b

    res = b.run(candles, requests)
    console.print(f"{_when()} · {_machine()}")
    console.print(
        f"/ohlcv with {res.candles:,} candles ({res.bytes / 1024:.0f} KiB): "
        f"p50 {res.p50_ms:.1f} ms, p99 {res.p99_ms:.1f} ms over {res.requests} requests"
    )


@bench_app.command("research")
def research(rounds: int = 50, companies: int = 20) -> None:
    """/companies?keyword= over the whole listing; company pages' API calls, cold."""
    from aegis.bench import research as b

    res = b.run(rounds, companies)
    local = b.in_process(rounds)
    console.print(f"{_when()} · {_machine()} · load average {_loadavg()}")
    console.print(
        f"Market.search in process ({local.instruments:,} instruments, 20 keywords × {rounds}): "
        f"prebuilt index p50 {local.index_p50_us:.0f} µs, p99 {local.index_p99_us:.0f} µs; "
        f"former linear scan (same run, interleaved) p50 {local.linear_p50_us:.0f} µs, "
        f"p99 {local.linear_p99_us:.0f} µs"
    )
    console.print(
        f"/companies?keyword= ({res.search_requests} requests, 20 keywords): "
        f"p50 {res.search_p50_ms:.2f} ms, p99 {res.search_p99_ms:.2f} ms "
        f"(baseline /healthz p50 {res.baseline_p50_ms:.2f} ms)"
    )
    console.print(
        f"company page, cold ({res.companies} companies, {len(b.PAGE)} calls each): "
        f"p50 {res.page_p50_ms:.1f} ms, max {res.page_max_ms:.1f} ms; "
        f"slowest single call per endpoint (ms): {res.call_max_ms}"
    )


@bench_app.command("sim-realism")
def sim_realism(
    quick: Annotated[bool, typer.Option(help="a ~120-stock market, 30 days, 1 session")] = False,
    seed: int = 42,
    days: Annotated[int, typer.Option(help="simulated trading days (daily facts)")] = 250,
    sessions: Annotated[int, typer.Option(help="simulated sessions (minute facts)")] = 10,
    rate: Annotated[float, typer.Option(help="AEGIS_SIM_TICK_RATE of the whole market")] = 200.0,
    plots: Annotated[str | None, typer.Option(help="folder for the two PNG plots")] = None,
) -> None:
    """The simulator's stylised facts beside the real KRX data, with the target bands."""

    from rich.table import Table

    from aegis.bench import sim_realism as b
    from aegis.reference import load_instruments

    market = b.quick_market() if quick else load_instruments()
    if quick:
        days, sessions = min(days, 30), 1
    res = b.run(
        market, seed=seed, days=days, sessions=sessions, rate=rate,
        rules_rate=rate / 20 if quick else rate, progress=lambda s: console.print(f"… {s}"),
    )  # fmt: skip
    table = Table(title="simulated vs real KRX (median and range over sessions)")
    for col in ("stylised fact", "real", "simulated", "target", "within"):
        table.add_column(col)
    for row in res.rows:
        mark = "—" if row.ok is None else ("[green]yes[/green]" if row.ok else "[red]no[/red]")
        table.add_row(row.fact, row.real, row.sim, row.band, mark)
    console.print(f"{_when()} · {_machine()}")
    Console(width=200).print(table)
    console.print(
        f"{res.stocks:,} stocks, {res.days} days, {res.sessions} sessions, seed {seed}, "
        f"{res.seconds:.0f} s"
    )
    if plots:
        for path in b.plot(res, Path(plots)):
            console.print(f"plot: {path}")


@bench_app.command("sim-catchup")
def sim_catchup(
    quick: Annotated[bool, typer.Option(help="a ~120-stock market")] = False,
    until: Annotated[str, typer.Option(help="KST time the simulator starts at (HH:MM)")] = "13:10",
    seed: int = 42,
    rate: Annotated[float, typer.Option(help="AEGIS_SIM_TICK_RATE of the whole market")] = 200.0,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="time a whole fresh `aegis serve` instead: API ready, today stored, each "
            "previous session stored",
        ),
    ] = False,
    sessions: Annotated[
        int, typer.Option(help="with --fresh: AEGIS_SIM_HISTORY_SESSIONS", min=0, max=20)
    ] = 5,
) -> None:
    """A simulator started mid-session: the day so far stored and visible, bulk vs live path;
    ``--fresh``: the whole start of ``aegis serve`` on an empty data directory, stage by stage."""
    from aegis.bench import sim_catchup as b
    from aegis.bench.sim_realism import quick_market
    from aegis.reference import load_instruments

    hh, _, mm = until.partition(":")
    if not (hh.isdigit() and mm.isdigit() and 9 * 60 < int(hh) * 60 + int(mm) < 15 * 60 + 30):
        # a sim started at the close or later plays the whole day live from 09:00: no catch-up
        raise typer.BadParameter("09:01 to 15:29 (15:29: the whole session)", param_hint="--until")
    market = quick_market() if quick else load_instruments()
    rate = rate / 20 if quick else rate  # the quick market is 1/20 of the whole
    console.print(f"{_when()} · {_machine()} · load {_loadavg()}")
    if fresh:
        f = b.fresh_start(market, seed, rate, until, sessions)
        console.print(
            f"fresh start of {len(market):,} symbols at {rate:g} trades/s, clock {until} KST, "
            f"{sessions} previous sessions (load {f.load_before} → {f.load_after}):"
        )
        for st in f.stages:
            console.print(f"  {st.seconds:6.1f} s (CPU {st.cpu:6.1f} s)  {st.name}")
        console.print(
            f"today {f.ticks:,} ticks; previous sessions {f.history_candles:,} candles; "
            f"[bold]all in {f.stages[-1].seconds:.1f} s[/bold] (CPU {f.stages[-1].cpu:.1f} s, "
            f"+ {f.child_cpu:.1f} s in the child process making previous sessions); "
            f"peak RSS {f.peak_rss_mb:,.0f} MB (child {f.child_rss_mb:,.0f} MB)"
        )
        return
    for r in b.run(market, seed, rate, until):
        console.print(
            f"{r.mode}: 09:00–{until} of {len(market):,} symbols at {rate:g} trades/s: "
            f"{r.ticks:,} ticks and {r.minutes_1m:,} 1-minute candles stored in "
            f"{r.seconds:.1f} s (CPU {r.cpu:.1f} s) → [bold]{r.rate:,.0f} ticks/s[/bold] · "
            f"load at its end {r.load}"
        )


@bench_app.command("trading")
def trading(
    orders: Annotated[int, typer.Option(help="market orders to time")] = 500,
    rate: Annotated[float, typer.Option(help="tape trades per second")] = 5_000,
    symbols: Annotated[int, typer.Option(help="symbols the tape trades")] = 10,
    bt_symbols: Annotated[int, typer.Option(help="backtest symbols")] = 10,
    days: Annotated[int, typer.Option(help="backtest trading days of 1m candles")] = 250,
    rounds: Annotated[int, typer.Option(help="interleaved rounds per event log path")] = 4,
    backtest: Annotated[bool, typer.Option(help="also time the backtest")] = True,
) -> None:
    """Order → paper fill latency with the tape running; backtest speed over 1m candles."""
    from aegis.bench import trading as b

    console.print(f"{_when()} · {_machine()} · simulated data")
    before, lat = b.run_latency_pair(orders, rate, symbols, rounds)
    console.print(
        f"paper fills, tape {lat.rate:,.0f} trades/s over {lat.symbols} symbols "
        f"({before.ticks + lat.ticks:,} trades), {lat.orders} market orders per mode, "
        f"the modes interleaved over {rounds} rounds each; load average {lat.load[0]:.2f} → "
        f"{lat.load[1]:.2f}:"
    )
    for r in (before, lat):
        console.print(f" [bold]{r.mode}[/bold]:")
        console.print(
            f"  trade batch → fill committed: p50 {r.fill_p50_ms:.2f} ms, "
            f"[bold]p99 {r.fill_p99_ms:.2f} ms[/bold], max {r.fill_max_ms:.2f} ms"
        )
        console.print(f"   slowest 1 %: {r.slow}")
        console.print(f"   median: {r.typical}")
        console.print(
            f"   elapsed {r.elapsed_s:.2f} s, process CPU {r.cpu_s:.2f} s, its threads "
            f"waited {r.runq_wait_s:.2f} s for a CPU (the machine's other work)"
        )
        console.print(f"   event loop lag (1 ms ticker): {r.loop_lag}; GC: {r.gc}")
        console.print(f"   WAL checkpoints: {r.checkpoints}")
        console.print(
            f"  event log append (of which): p50 {r.append_p50_ms:.2f} ms, "
            f"p99 {r.append_p99_ms:.2f} ms"
        )
        console.print(
            f"  place() → fill (incl. waiting for the next trade): p50 {r.order_p50_ms:.2f} "
            f"ms, p99 {r.order_p99_ms:.2f} ms"
        )
    console.print(
        f"  baseline, one bare SQLite commit: p50 {lat.commit_p50_ms:.2f} ms, "
        f"p99 {lat.commit_p99_ms:.2f} ms"
    )
    if not backtest:
        return
    res = b.run_backtest(bt_symbols, days)
    console.print(
        f"backtest ma_cross(20,60), {res.symbols} symbols × {days} days of 1m candles = "
        f"{res.candles:,} candles: load {res.load_seconds:.2f} s + replay "
        f"[bold]{res.replay_seconds:.2f} s[/bold] ({res.candles / res.replay_seconds:,.0f} "
        f"candles/s), {res.trades} fills"
    )
    if res.pandas_seconds is not None:
        console.print(
            f"  baseline, pandas rolling-mean crossings only (no fills, no accounting): "
            f"{res.pandas_seconds:.2f} s"
        )


@bench_app.command("newsai")
def newsai(rounds: int = 20, companies: int = 20) -> None:
    """News, AI outlook and indicator calls of company pages (cold, then cached)."""
    from aegis.bench import newsai as b

    res = b.run(rounds, companies)
    console.print(f"{_when()} · {_machine()}")
    console.print(f"archive seeding (first news request): {res.seed_ms:.0f} ms")
    console.print(
        f"{res.companies} companies, cold p50 (max) ms: "
        + ", ".join(f"{k} {v} ({res.cold_max_ms[k]})" for k, v in res.cold_p50_ms.items())
    )
    console.print("warm p50 ms: " + ", ".join(f"{k} {v}" for k, v in res.warm_p50_ms.items()))
    console.print(
        f"/news?q= p50 {res.search_p50_ms} ms, /news/keywords?window=7d p50 "
        f"{res.keywords_p50_ms} ms (baseline /healthz p50 {res.baseline_p50_ms} ms)"
    )


@bench_app.command("favorites")
def favorites(
    users: int = 1000,
    seconds: float = 20,
    per_user: Annotated[int, typer.Option(help="favorites per user")] = 5,
) -> None:
    """N logged-in users each polling GET /users/favorites once a second (baseline: /quotes)."""
    from aegis.bench import favorites as b

    res = b.run(users, seconds, per_user)
    console.print(
        f"{_when()} · {_machine()} · load average "
        f"{res.load_before} (before) → {res.load_after} (after)"
    )
    for label, ph in (
        ("baseline GET /quotes (anonymous, same symbols)", res.baseline),
        ("GET /users/favorites (JWT, cached account, live quotes)", res.favorites),
    ):
        console.print(
            f"{label}: {res.users} clients × 1/s for {res.seconds:.0f} s → "
            f"{len(ph.latencies_ms):,} ok, {ph.errors} errors in {ph.wall_s:.0f} s; "
            f"p50 {ph.pct(50):.1f} ms, p99 {ph.pct(99):.1f} ms; "
            f"server CPU {ph.cpu_ms_per_request:.2f} ms per answered request "
            f"(idle background {ph.idle_cpu_per_s * 100:.0f} % of a core subtracted); "
            f"load generator CPU {ph.client_cpu_ms_per_request:.2f} ms per request"
        )


@bench_app.command("partitions")
def partitions(
    database_url: Annotated[
        str, typer.Option(envvar="AEGIS_DATABASE_URL", help="an EMPTY PostgreSQL database")
    ],
    symbols: int = 300,
    candle_days: Annotated[int, typer.Option(help="KST days of 1m candles")] = 60,
    candles_per_day: int = 39,
    tick_days: Annotated[int, typer.Option(help="KST days of ticks (3…6)")] = 4,
    ticks_per_day: int = 200_000,
    repeat: int = 5,
) -> None:
    """PostgreSQL day partitions beside plain tables: newest candles, charts, retention."""
    from aegis.bench import partitions as b

    res = b.run(
        database_url, symbols, candle_days, candles_per_day, tick_days, ticks_per_day, repeat
    )
    console.print(f"{_when()} · {_machine()} · load {os.getloadavg()[0]:.1f}")
    console.print(
        f"{res.symbols:,} symbols, {res.candles:,} 1m candles over {res.candle_days} days, "
        f"{res.ticks:,} ticks over {res.tick_days} days; {res.partitions} partitions"
    )
    for label, lay in (("day partitions", res.partitioned), ("plain tables (baseline)", res.plain)):
        console.print(
            f"{label}: newest 1m candle of every symbol {lay.latest_ms:.1f} ms; "
            f"newest 500 1m candles of one symbol {lay.chart_ms:.2f} ms; "
            f"retention of one day ({lay.retention_rows:,} ticks) {lay.retention_ms:.0f} ms"
        )
