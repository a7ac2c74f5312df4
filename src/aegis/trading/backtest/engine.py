"""The backtest engine. Candles of all symbols are replayed in time order; a strategy's order
placed on a candle's close fills on that symbol's next candle: market orders at its open, limit
orders when its range reaches the limit (at the open when it gapped through), valid for that one
candle. Whole shares; buys are cut to what cash pays for; the same fees, tax (by trade date) and
position accounting as live trading (``aegis.trading.book``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aegis.core.timeutil import iso_z, kst_day
from aegis.domain import krx
from aegis.trading.book import Account
from aegis.trading.eventlog import fill_data
from aegis.trading.fees import FeeSchedule
from aegis.trading.models import Order, OrderStatus, OrderType, Side
from aegis.trading.strategies.base import Bar, Context, FillInfo, Strategy


@dataclass(slots=True)
class _Pending:
    symbol: str
    side: Side
    quantity: int
    limit: int | None


class BacktestContext(Context):
    def __init__(self, engine: Backtest) -> None:
        self.engine = engine
        self.symbols = engine.symbols
        self.params = engine.strategy.params

    def position(self, symbol: str) -> int:
        return self.engine.account.position_qty(symbol)

    def cash(self) -> int:
        return self.engine.account.cash - self.engine.pending_cash()

    def equity(self) -> int:
        return self.engine.equity()

    def buy(self, symbol: str, quantity: int, price: int | None = None) -> None:
        self.engine.submit(symbol, Side.BUY, quantity, price)

    def sell(self, symbol: str, quantity: int, price: int | None = None) -> None:
        self.engine.submit(symbol, Side.SELL, quantity, price)


@dataclass
class SymbolStats:
    fills: int = 0
    round_trips: int = 0
    wins: int = 0
    realized_pnl: int = 0
    commission: int = 0
    tax: int = 0


@dataclass
class Backtest:
    strategy: Strategy
    symbols: list[str]
    initial_cash: int = 10_000_000
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    markets: dict[str, str] = field(default_factory=dict)  # symbol → market (the sell tax)
    account: Account = field(init=False)
    pending: dict[str, list[_Pending]] = field(default_factory=dict)
    last_close: dict[str, int] = field(default_factory=dict)
    curve: list[tuple[int, int]] = field(default_factory=list)
    stats: dict[str, SymbolStats] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    candles: int = 0

    def __post_init__(self) -> None:
        self.account = Account(0, 0, "backtest", self.fees)
        self.account.apply(0, "account.opened", {"cash": self.initial_cash}, 0)
        self.stats = {s: SymbolStats() for s in self.symbols}
        self._ids = 0

    # --- strategy side ----------------------------------------------------------------------
    def submit(self, symbol: str, side: Side, quantity: int, price: int | None) -> None:
        if symbol not in self.stats:
            raise ValueError(f"{symbol} is not part of this backtest")
        if quantity <= 0:
            return
        if price is not None:
            price = krx.round_down(price) if side is Side.BUY else krx.round_up(price)
        self.pending.setdefault(symbol, []).append(_Pending(symbol, side, quantity, price))

    def pending_cash(self) -> int:
        total = 0
        for orders in self.pending.values():
            for p in orders:
                if p.side is Side.BUY:
                    total += p.quantity * (p.limit or self.last_close.get(p.symbol, 0))
        return total

    def equity(self) -> int:
        acc = self.account
        return acc.cash + sum(
            p.quantity * self.last_close.get(s, 0) for s, p in acc.positions.items() if p.quantity
        )

    # --- the replay ---------------------------------------------------------------------------
    def run(self, series: Mapping[str, Sequence[Bar]]) -> None:
        ctx = BacktestContext(self)
        self.strategy.on_start(ctx)
        merged = heapq.merge(
            *(list(bars) for bars in series.values()), key=lambda b: (b.start, b.symbol)
        )
        group_ts: int | None = None
        for bar in merged:
            if group_ts is not None and bar.start != group_ts:
                self.curve.append((group_ts, self.equity()))
            group_ts = bar.start
            self.candles += 1
            orders = self.pending.pop(bar.symbol, None)
            if orders:
                for p in orders:
                    self._execute(ctx, p, bar)
            self.last_close[bar.symbol] = bar.close
            self.strategy.on_candle(ctx, bar)
        if group_ts is not None:
            self.curve.append((group_ts, self.equity()))

    def _execute(self, ctx: Context, p: _Pending, bar: Bar) -> None:
        acc = self.account
        if p.limit is None:
            price = bar.open
        elif p.side is Side.BUY:
            if bar.low > p.limit:
                return
            price = min(bar.open, p.limit)
        else:
            if bar.high < p.limit:
                return
            price = max(bar.open, p.limit)
        qty = p.quantity
        if p.side is Side.BUY:
            while qty > 0 and self.fees.buy_hold(qty * price) > acc.cash:
                qty = min(qty - 1, acc.cash // (price + 1))
        else:
            qty = min(qty, acc.position_qty(p.symbol))
        if qty <= 0:
            return
        self._ids += 1
        order = Order(
            str(self._ids),
            0,
            p.symbol,
            p.side,
            OrderType.MARKET if p.limit is None else OrderType.LIMIT,
            qty,
            p.limit,
            None,
            bar.start,
            self.strategy.name,
            status=OrderStatus.ACCEPTED,
        )
        acc.orders[order.order_id] = order
        fill = acc.fill_for(
            order, qty, price, bar.start, f"{order.order_id}-1", self.markets.get(p.symbol)
        )
        acc.apply(0, "order.fill", fill_data(fill), bar.start)
        del acc.orders[order.order_id]
        st = self.stats[p.symbol]
        st.fills += 1
        st.commission += fill.commission
        st.tax += fill.tax
        if p.side is Side.SELL:
            st.round_trips += 1
            st.wins += fill.realized_pnl > 0
            st.realized_pnl += fill.realized_pnl
        self.fills.append(
            {
                "time": iso_z(bar.start),
                "symbol": p.symbol,
                "side": p.side.value,
                "price": price,
                "quantity": qty,
                "commission": fill.commission,
                "tax": fill.tax,
                "realizedPnl": fill.realized_pnl,
            }
        )
        self.strategy.on_fill(ctx, FillInfo(p.symbol, p.side.value, qty, price, fill.realized_pnl))

    # --- the report ---------------------------------------------------------------------------
    def report(self, meta: dict[str, Any]) -> dict[str, Any]:
        curve = self.curve
        final = curve[-1][1] if curve else self.initial_cash
        total_return = final / self.initial_cash - 1
        mdd = 0.0
        peak = self.initial_cash
        for _, eq in curve:
            peak = max(peak, eq)
            if peak:
                mdd = min(mdd, eq / peak - 1)
        daily: dict[int, tuple[int, int]] = {}
        for ts, eq in curve:
            daily[kst_day(ts).toordinal()] = (ts, eq)
        days = sorted(daily)
        rets = []
        prev = self.initial_cash
        for d in days:
            eq = daily[d][1]
            if prev:
                rets.append(eq / prev - 1)
            prev = eq
        sharpe = None
        if len(rets) > 1:
            mean = sum(rets) / len(rets)
            var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
            if var > 0:
                sharpe = mean / math.sqrt(var) * math.sqrt(252)
        cagr = None
        if len(days) > 1 and final > 0:
            years = (days[-1] - days[0] + 1) / 365.25
            cagr = (final / self.initial_cash) ** (1 / years) - 1
        sells = sum(s.round_trips for s in self.stats.values())
        wins = sum(s.wins for s in self.stats.values())
        return {
            **meta,
            "strategy": self.strategy.name,
            "params": self.strategy.params,
            "symbols": self.symbols,
            "candles": self.candles,
            "initialCash": self.initial_cash,
            "finalEquity": final,
            "totalReturn": round(total_return, 6),
            "cagr": None if cagr is None else round(cagr, 6),
            "maxDrawdown": round(mdd, 6),
            "sharpe": None if sharpe is None else round(sharpe, 4),
            "trades": sum(s.fills for s in self.stats.values()),
            "roundTrips": sells,
            "winRate": round(wins / sells, 4) if sells else None,
            "commission": sum(s.commission for s in self.stats.values()),
            "tax": sum(s.tax for s in self.stats.values()),
            "perSymbol": [
                {
                    "symbol": sym,
                    "trades": s.fills,
                    "roundTrips": s.round_trips,
                    "winRate": round(s.wins / s.round_trips, 4) if s.round_trips else None,
                    "realizedPnl": s.realized_pnl,
                    "commission": s.commission,
                    "tax": s.tax,
                    "position": self.account.position_qty(sym),
                }
                for sym, s in self.stats.items()
            ],
            "equityCurve": [
                {"time": daily[d][0] // 1_000_000, "equity": daily[d][1]} for d in days
            ],
            "fills": self.fills[:1_000],
        }
