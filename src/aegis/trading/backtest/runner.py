"""Running a backtest over the store: load candles, replay, report, chart, save."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.aggregator.downsample import downsample
from aegis.core.errors import InvalidRequest, NotFound
from aegis.core.timeutil import iso_z, now_us
from aegis.db.metadata import is_integer_id
from aegis.domain.intervals import parse_interval
from aegis.store.base import Store
from aegis.trading import tables
from aegis.trading.backtest.engine import Backtest
from aegis.trading.fees import FeeSchedule
from aegis.trading.strategies.base import Bar, Strategy

MAX_CANDLES = 5_000_000


async def load_bars(store: Store, symbol: str, interval: str, start: int, end: int) -> list[Bar]:
    iv = parse_interval(interval)
    if iv.stored:
        # the store builds the rows itself when it can: no Candle object per row
        raw = await store.candles_json(symbol, iv.name, start, end, MAX_CANDLES, 0, 0)
        if raw is not None:
            return [
                Bar(symbol, r["time"] * 1_000_000, r["open"], r["high"], r["low"], r["close"],
                    r["volume"])
                for r in orjson.loads(raw)
            ]  # fmt: skip
    base = iv.name if iv.stored else iv.base
    candles = await store.get_candles(symbol, base, start, end, MAX_CANDLES)
    if not iv.stored:
        candles = downsample(candles, iv)
    return [Bar(c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume) for c in candles]


async def run_backtest(
    store: Store,
    strategy: Strategy,
    symbols: list[str],
    interval: str,
    start: int,
    end: int,
    *,
    cash: int = 10_000_000,
    fees: FeeSchedule | None = None,
) -> dict[str, Any]:
    if not symbols:
        raise InvalidRequest("give at least one symbol")
    if start >= end:
        raise InvalidRequest("from must be before to")
    try:
        parse_interval(interval)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    series = {s: await load_bars(store, s, interval, start, end) for s in symbols}
    if not any(series.values()):
        raise NotFound(f"no {interval} candles stored for {', '.join(symbols)} in that range")
    wanted = set(symbols)
    markets = {i.symbol: i.market for i in await store.list_instruments() if i.symbol in wanted}
    bt = Backtest(strategy, symbols, cash, fees or FeeSchedule(), markets)
    t0 = time.perf_counter()
    # the replay is pure CPU: off the event loop
    try:
        await asyncio.to_thread(bt.run, series)
    except ValueError as exc:  # bad parameters, found when the strategy starts
        raise InvalidRequest(f"strategy {strategy.name}: {exc}") from exc
    elapsed = time.perf_counter() - t0
    return bt.report(
        {
            "interval": interval,
            "from": iso_z(start),
            "to": iso_z(end),
            "elapsedSeconds": round(elapsed, 3),
        }
    )


def equity_png(report: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = report["equityCurve"]
    # matplotlib day numbers (days since 1970-01-01), so the axis can be formatted as dates
    xs = [p["time"] / 86_400 for p in points]
    ys = [p["equity"] for p in points]
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    ax.plot(xs, ys, color="#d60000", linewidth=1.2)
    ax.axhline(report["initialCash"], color="#888888", linewidth=0.8, linestyle="--")
    ax.set_title(
        f"{report['strategy']} {','.join(report['symbols'])} {report['interval']} "
        f"return {report['totalReturn'] * 100:.2f}%  MDD {report['maxDrawdown'] * 100:.2f}%"
    )
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis_date()
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


async def save_report(
    db: AsyncEngine, report: dict[str, Any], png: bytes | None, user_id: int | None
) -> int:
    async with db.begin() as conn:
        res = await conn.execute(
            tables.backtests.insert().values(
                user_id=user_id,
                strategy=report["strategy"],
                params=orjson.dumps(report["params"]).decode(),
                report=orjson.dumps(report).decode(),
                png=png,
                created_at=now_us(),
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        return int(pk[0])


async def get_report(
    db: AsyncEngine, backtest_id: int
) -> tuple[dict[str, Any], bytes | None, int | None]:
    if not is_integer_id(backtest_id):  # names no row; passed to the driver it would overflow
        raise NotFound(f"no backtest {backtest_id}")
    async with db.connect() as conn:
        row = (
            await conn.execute(
                sa.select(tables.backtests).where(tables.backtests.c.id == backtest_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"no backtest {backtest_id}")
    report = orjson.loads(row.report)
    report["id"] = row.id
    return report, row.png, row.user_id


async def list_reports(
    db: AsyncEngine, user_id: int | None, limit: int = 50
) -> list[dict[str, Any]]:
    q = (
        sa.select(
            tables.backtests.c.id,
            tables.backtests.c.strategy,
            tables.backtests.c.params,
            tables.backtests.c.created_at,
            tables.backtests.c.user_id,
        )
        .order_by(tables.backtests.c.id.desc())
        .limit(limit)
    )
    if user_id is not None:
        q = q.where(
            sa.or_(tables.backtests.c.user_id == user_id, tables.backtests.c.user_id.is_(None))
        )
    async with db.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [
        {
            "id": r.id,
            "strategy": r.strategy,
            "params": orjson.loads(r.params),
            "createdAt": iso_z(r.created_at),
        }
        for r in rows
    ]
