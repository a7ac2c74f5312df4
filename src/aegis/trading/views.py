"""Orders, fills and portfolios as camelCase dicts (the wire shapes; no HTTP here)."""

from __future__ import annotations

from typing import Any

from aegis.core.timeutil import iso_z, kst_day
from aegis.trading.book import Account
from aegis.trading.models import Fill, Order, Side


def order_view(o: Order) -> dict[str, Any]:
    return {
        "orderId": o.order_id,
        "clientOrderId": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "type": o.type.value,
        "quantity": o.quantity,
        "price": o.price,
        "status": o.status.value,
        "filledQuantity": o.filled_quantity,
        "averageFillPrice": o.average_fill_price,
        "createdAt": iso_z(o.created_at),
        "updatedAt": iso_z(o.updated_at or o.created_at),
        "reason": o.reason,
        "strategy": o.strategy,
    }


def fill_view(f: Fill) -> dict[str, Any]:
    return {
        "tradeId": f.trade_id,
        "orderId": f.order_id,
        "symbol": f.symbol,
        "side": f.side.value,
        "price": f.price,
        "quantity": f.quantity,
        "amount": f.amount,
        "commission": f.commission,
        "tax": f.tax,
        "realizedPnl": f.realized_pnl if f.side is Side.SELL else 0,
        "time": iso_z(f.ts),
        "strategy": f.strategy,
    }


class PriceBoard:
    """What the portfolio needs from the market: names, last prices, previous closes."""

    def name(self, symbol: str) -> str:
        return symbol

    def last_price(self, symbol: str) -> int | None:
        return None

    def prev_close(self, symbol: str) -> int | None:
        return None

    def last_trade_time(self, symbol: str) -> int | None:
        """When ``symbol`` last traded (UTC µs); None when unknown."""
        return None

    def market_of(self, symbol: str) -> str | None:
        """KOSPI, KOSDAQ, KONEX … (the sell tax depends on it); None when unknown."""
        return None


def position_view(acc: Account, symbol: str, prices: PriceBoard) -> dict[str, Any] | None:
    p = acc.positions.get(symbol)
    if p is None:
        return None
    mark = prices.last_price(symbol)
    market_value = p.quantity * mark if mark is not None else p.cost
    return {
        "symbol": symbol,
        "name": prices.name(symbol),
        "quantity": p.quantity,
        "averagePrice": p.average_price,
        "marketPrice": mark,
        "marketValue": market_value,
        "unrealizedPnl": market_value - p.cost if p.quantity else 0,
        "realizedPnl": p.realized_pnl,
        "cost": p.cost,
    }


def portfolio_view(acc: Account, prices: PriceBoard, now_us: int) -> dict[str, Any]:
    positions = []
    market_value = unrealized = day_unrealized = 0
    today = kst_day(now_us).toordinal()
    for symbol in sorted(acc.positions):
        v = position_view(acc, symbol, prices)
        p = acc.positions[symbol]
        if v is None or p.quantity == 0:
            continue  # closed positions count in realizedPnl only
        positions.append(v)
        market_value += v["marketValue"]
        unrealized += v["unrealizedPnl"]
        if p.quantity and v["marketPrice"] is not None:
            # the day's move: from the previous close for shares held overnight, from the
            # purchase price for shares bought today
            prev = prices.prev_close(symbol)
            if prev is None:
                ref = p.cost
            else:
                today_held = min(p.quantity, p.day_bought) if p.last_buy_day == today else 0
                today_cost = p.day_bought_cost * today_held // p.day_bought if today_held else 0
                ref = today_cost + prev * (p.quantity - today_held)
            day_unrealized += v["marketValue"] - ref
    realized = acc.realized_total()
    return {
        "accountId": acc.account_id,
        "kind": acc.kind,
        "cash": acc.cash,
        "availableCash": acc.available_cash(),
        "initialCash": acc.initial_cash,
        "marketValue": market_value,
        "totalValue": acc.cash + market_value,
        "realizedPnl": realized,
        "unrealizedPnl": unrealized,
        "dayPnl": acc.realized_by_day.get(today, 0) + day_unrealized,
        "positions": positions,
    }
