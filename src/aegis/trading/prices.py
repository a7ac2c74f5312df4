"""The portfolio's and order guards' view of the market, from the running market service."""

from __future__ import annotations

from aegis.services.market import Market
from aegis.trading.views import PriceBoard


class MarketPrices(PriceBoard):
    def __init__(self, market: Market) -> None:
        self.market = market

    def tradable(self, symbol: str) -> bool:
        i = self.market.by_symbol.get(symbol)
        return i is not None and i.kind == "stock" and i.price_scale == 0

    def name(self, symbol: str) -> str:
        i = self.market.by_symbol.get(symbol)
        return i.name if i else symbol

    def last_price(self, symbol: str) -> int | None:
        if symbol not in self.market.by_symbol:
            return None
        day = self.market.live.day_candle(symbol)
        return None if day is None else day.close

    def last_trade_time(self, symbol: str) -> int | None:
        if symbol not in self.market.by_symbol:
            return None
        day = self.market.live.day_candle(symbol)
        return None if day is None else day.last_ts

    def market_of(self, symbol: str) -> str | None:
        i = self.market.by_symbol.get(symbol)
        return None if i is None else i.market

    def prev_close(self, symbol: str) -> int | None:
        prev = self.market.live.prev_day_close(symbol)
        if prev is not None:
            return prev
        i = self.market.by_symbol.get(symbol)
        return None if i is None else i.prev_close
