"""``aegis backtest``: a strategy over stored candles, the report printed, saved and charted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aegis.core.config import Settings

console = Console()


def backtest(
    strategy: Annotated[str, typer.Argument(help="ma_cross | breakout | rsi | a user strategy")],
    symbols: Annotated[str, typer.Option(help="comma-separated codes, e.g. 005930,000660")],
    start: Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD, KST) or ISO")],
    end: Annotated[str, typer.Option("--to", help="end, exclusive (YYYY-MM-DD or ISO)")],
    interval: Annotated[str, typer.Option(help="candle interval: 1m 5m 15m 1h 1d …")] = "1d",
    cash: Annotated[int, typer.Option(help="starting cash, won")] = 10_000_000,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="strategy parameter name=value")
    ] = None,
    png: Annotated[Path | None, typer.Option(help="write the equity curve PNG here")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the report JSON")] = None,
) -> None:
    """Backtest STRATEGY over stored candles (signals on a candle's close fill at the next
    candle's open; commission, tax by trade date, whole shares)."""
    from aegis.core.errors import AegisError
    from aegis.core.timeutil import parse_instant
    from aegis.db import create_app_engine
    from aegis.services.runtime import make_store
    from aegis.store.migrate import upgrade_all
    from aegis.trading.backtest.runner import equity_png, run_backtest, save_report
    from aegis.trading.runtime import config_from
    from aegis.trading.strategies.loader import load

    settings = Settings()
    params: dict[str, object] = {}
    for p in param or []:
        name, _, value = p.partition("=")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value

    async def main() -> None:
        upgrade_all(settings.store_url, settings.app_db_url)
        store = make_store(settings)
        db = create_app_engine(settings.app_db_url)
        await store.start()
        try:
            strat = load(strategy, settings.trading_strategies_dir, **params)
            report = await run_backtest(
                store,
                strat,
                [s.strip() for s in symbols.split(",") if s.strip()],
                interval,
                parse_instant(start),
                parse_instant(end),
                cash=cash,
                fees=config_from(settings).fees,
            )
            image = equity_png(report)
            report_id = await save_report(db, report, image, None)
        finally:
            await store.close()
            await db.dispose()
        _print(report, report_id)
        if png is not None:
            png.write_bytes(image)
            console.print(f"equity curve: {png}")
        if json_out is not None:
            json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1))

    try:
        asyncio.run(main())
    except AegisError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from exc


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.2f} %"


def _print(r: dict[str, object], report_id: int) -> None:
    console.print(
        f"backtest #{report_id}: {r['strategy']} {r['params']} · {r['interval']} "
        f"{r['from']} → {r['to']} · {r['candles']:,} candles in {r['elapsedSeconds']} s"
    )
    t = Table("metric", "value")
    t.add_row("initial cash", f"{r['initialCash']:,} 원")
    t.add_row("final equity", f"{r['finalEquity']:,} 원")
    t.add_row("total return", _pct(r["totalReturn"]))  # type: ignore[arg-type]
    t.add_row("CAGR", _pct(r["cagr"]))  # type: ignore[arg-type]
    t.add_row("max drawdown", _pct(r["maxDrawdown"]))  # type: ignore[arg-type]
    t.add_row("Sharpe", "–" if r["sharpe"] is None else f"{r['sharpe']:.2f}")
    t.add_row("trades (fills)", str(r["trades"]))
    t.add_row("win rate", _pct(r["winRate"]))  # type: ignore[arg-type]
    t.add_row("commission / tax", f"{r['commission']:,} / {r['tax']:,} 원")
    console.print(t)
    ps = Table("symbol", "trades", "round trips", "win rate", "realized P&L", "position")
    for row in r["perSymbol"]:  # type: ignore[attr-defined]
        ps.add_row(
            row["symbol"],
            str(row["trades"]),
            str(row["roundTrips"]),
            _pct(row["winRate"]),
            f"{row['realizedPnl']:,}",
            str(row["position"]),
        )
    console.print(ps)
