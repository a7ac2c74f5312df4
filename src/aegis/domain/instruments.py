"""Instruments: listed stocks, market indices and crypto pairs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Kind = Literal["stock", "index", "crypto"]


@dataclass(slots=True)
class Instrument:
    symbol: str  # KRX short code ("005930", "00104K"), "KOSPI", "KOSDAQ" or "BTCUSDT"
    name: str
    market: str  # KOSPI, KOSDAQ, KOSDAQ GLOBAL, KONEX, INDEX, BINANCE
    kind: Kind = "stock"
    name_en: str | None = None
    industry: str | None = None
    shares: int | None = None  # shares outstanding, for market cap
    price_scale: int = 0  # decimal places of ``Tick.price``
    qty_scale: int = 0  # decimal places of ``Tick.volume``
    prev_close: int | None = None  # in price minor units
    listing_date: str | None = None
    products: str | None = None
    company_id: int | None = None  # stable numeric id assigned by the store

    def price_value(self, minor: int) -> int | float:
        """Minor units → a JSON number: exact int for won, float otherwise."""
        if self.price_scale == 0:
            return minor
        return float(Decimal(minor).scaleb(-self.price_scale))

    def qty_value(self, minor: int) -> int | float:
        if self.qty_scale == 0:
            return minor
        return float(Decimal(minor).scaleb(-self.qty_scale))

    def amount_value(self, minor: int | None) -> int | float | None:
        """Traded value as a JSON number; None (unknown) stays None."""
        if minor is None:
            return None
        scale = self.price_scale + self.qty_scale
        if scale == 0:
            return minor
        return float(Decimal(minor).scaleb(-scale))

    def to_minor_price(self, value: Decimal | int | str) -> int:
        d = Decimal(value).scaleb(self.price_scale)
        if d != d.to_integral_value():
            raise ValueError(f"{value} has more than {self.price_scale} decimal places")
        return int(d)
