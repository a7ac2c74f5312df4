"""Commission and securities transaction tax, exact and truncated to whole won.

Rates are decimals (0.00015 = 0.015 %); amount × rate is exact in :class:`~decimal.Decimal` and
then truncated. The sell tax depends on the trade date (shared docs/krx_rules.md §4); the table
maps an effective trade date to the rate from that day on. The built-in table's dates are the
first trades settling in the year of each change (T+2 on the KRX calendar).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from aegis.domain.calendar import is_trading_day, next_trading_day, prev_trading_day

DEFAULT_COMMISSION = Decimal("0.00015")
# a live account's cash may differ from ours by its broker's own commission (another fee plan,
# rounding per order rather than per fill): up to this share of what traded since the books
# last agreed is taken as commission; online plans charge 0.015–0.25 % (krx_rules.md §4)
FEE_TOLERANCE = Decimal("0.0025")
SETTLEMENT_DAYS = 2  # T+2, KRX trading days


def first_trade_settling_in(year: int) -> date:
    """The first trade date whose T+2 settlement falls in ``year``: a tax rate changed from
    1 January applies to sales settling from then on (krx_rules.md §4). Counted on the KRX
    calendar, where the year-end closing day settles nothing (2024 → 2024-12-27)."""
    day = date(year, 1, 1)
    if not is_trading_day(day):
        day = next_trading_day(day)
    for _ in range(SETTLEMENT_DAYS):
        day = prev_trading_day(day)
    return day


# the sell tax of KOSPI/KOSDAQ sales settling in a year (krx_rules.md §4): 0.23 % (2021–2022),
# 0.20 % (2023), 0.18 % (2024), 0.15 % (2025), 0.20 % (2026) → keyed by the first trade date
# paying it (2020-12-29, 2022-12-28, 2023-12-27, 2024-12-27, 2025-12-29)
_TAX_BY_SETTLEMENT_YEAR = {
    2021: "0.0023",
    2023: "0.0020",
    2024: "0.0018",
    2025: "0.0015",
    2026: "0.0020",
}
DEFAULT_TAX_RATES: dict[str, str] = {
    first_trade_settling_in(year).isoformat(): rate
    for year, rate in _TAX_BY_SETTLEMENT_YEAR.items()
}
# KONEX sales pay 0.10 % (krx_rules.md §4, 2024–2026), from the first date of the table above
DEFAULT_KONEX_TAX_RATES: dict[str, str] = {"2021-01-01": "0.0010"}
KONEX = "KONEX"


def _truncate(amount: int, rate: Decimal) -> int:
    return int(Decimal(amount) * rate)  # int() truncates toward zero; amounts are ≥ 0


@dataclass(frozen=True)
class FeeSchedule:
    commission_rate: Decimal = DEFAULT_COMMISSION
    tax_rates: tuple[tuple[date, Decimal], ...] = field(
        default_factory=lambda: parse_tax_rates(DEFAULT_TAX_RATES)
    )
    konex_tax_rates: tuple[tuple[date, Decimal], ...] = field(
        default_factory=lambda: parse_tax_rates(DEFAULT_KONEX_TAX_RATES)
    )

    def commission(self, amount: int) -> int:
        return _truncate(amount, self.commission_rate)

    def tax_rate(self, day: date, market: str | None = None) -> Decimal:
        """The sell tax of ``market`` (KOSPI/KOSDAQ when unknown) on trade date ``day``."""
        table = self.konex_tax_rates if market == KONEX else self.tax_rates
        days = [d for d, _ in table]
        i = bisect_right(days, day) - 1
        return table[i][1] if i >= 0 else Decimal(0)

    def tax(self, amount: int, day: date, market: str | None = None) -> int:
        return _truncate(amount, self.tax_rate(day, market))

    def buy_hold(self, amount: int) -> int:
        """Cash a buy of ``amount`` needs: the amount plus its commission."""
        return amount + self.commission(amount)


def parse_tax_rates(table: dict[str, str]) -> tuple[tuple[date, Decimal], ...]:
    return tuple(sorted((date.fromisoformat(k), Decimal(v)) for k, v in table.items()))
