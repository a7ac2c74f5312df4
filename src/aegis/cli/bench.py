"""``aegis bench``: the speed figures of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
from datetime import datetime
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


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


@bench_app.command("ingest")
def ingest(
    ticks: Annotated[int, typer.Option(help="number of ticks")] = 1_000_000,
    seed: int = 1,
    batch: Annotated[int, typer.Option(help="ticks per sink call")] = 5_000,
    pandas: Annotated[bool, typer.Option(help="also time the pandas baseline")] = True,
    rate: Annotated[
        float,
        typer.Option(help="market trades per exchange second (0: spread over one whole session)"),
    ] = 2_000,
) -> None:
    """Ticks → 1m/5m/15m/1h/1d candles → SQLite, end to end."""
    from aegis.bench import ingest as b

    console.print(f"generating {ticks:,} simulated ticks …")
    with Progress(console=console) as progress:
        task = progress.add_task("ingest", total=ticks)
        res = b.run(ticks, seed, batch, pandas, lambda n: progress.advance(task, n), rate or None)
    console.print(f"{datetime.now():%Y-%m-%d %H:%M} · {_machine()}")
    console.print(
        f"market: {res.ticks:,} ticks over {res.market_seconds:,.0f} s of exchange "
        f"time ({res.ticks / max(res.market_seconds, 1):,.0f} trades/s)"
    )
    console.print(
        f"AEGIS ingest: {res.ticks:,} ticks, {res.symbols:,} symbols, "
        f"{res.seconds:.2f} s → [bold]{res.rate:,.0f} ticks/s[/bold] "
        "(dedup + 5 intervals + SQLite ticks and candles)"
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
    console.print(f"{datetime.now():%Y-%m-%d %H:%M} · {_machine()}")
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
) -> None:
    """N WebSocket clients × S symbols at R market ticks/s: delivery, latency, memory."""
    from aegis.bench import fanout as b

    res = b.run(clients, symbols, rate, seconds)
    console.print(f"{datetime.now():%Y-%m-%d %H:%M} · {_machine()}")
    console.print(
        f"{clients} clients × {symbols} symbols, market {rate:,.0f} ticks/s for "
        f"{res.seconds:.1f} s (server ingested {res.server_ticks:,} ticks)"
    )
    console.print(
        f"delivered {res.received:,} ticks ({res.received / res.seconds:,.0f}/s), "
        f"conflated {res.conflated:,}, closed as slow {res.closed_slow}"
    )
    console.print(
        f"tick → client latency p50 {res.pct(50):.1f} ms, p99 {res.pct(99):.1f} ms "
        f"({len(res.latencies_ms):,} samples); server RSS "
        + ("unknown" if res.server_rss_mb is None else f"{res.server_rss_mb:.0f} MB")
    )


@bench_app.command("api")
def api(candles: int = 10_000, requests: int = 50) -> None:
    """GET /companies/{id}/ohlcv returning 10,000 candles."""
    from aegis.bench import api as b

    res = b.run(candles, requests)
    console.print(f"{datetime.now():%Y-%m-%d %H:%M} · {_machine()}")
    console.print(
        f"/ohlcv with {res.candles:,} candles ({res.bytes / 1024:.0f} KiB): "
        f"p50 {res.p50_ms:.1f} ms, p99 {res.p99_ms:.1f} ms over {res.requests} requests"
    )
