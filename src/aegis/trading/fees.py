"""Commission and securities transaction tax, exact and truncated to whole won.

Rates are decimals (0.00015 = 0.015 %); amount × rate is exact in :class:`~decimal.Decimal` and
then truncated. The sell tax depends on the trade date (shared docs/krx_rules.md §4); the table
maps an effective trade date to the rate from that day on.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

DEFAULT_COMMISSION = Decimal("0.00015")
# trade date from which a rate applies → rate (KOSPI/KOSDAQ; 2025/2026 per krx_rules.md §4).
# The rate is the settlement year's (T+2, the year-end closing day 12-31 not settling): the
# 2025 rate from sales of 2024-12-27, the 2026 rate from sales of 2025-12-29.
DEFAULT_TAX_RATES: dict[str, str] = {
    "2021-01-01": "0.0023",
    "2023-01-01": "0.0020",
    "2024-01-01": "0.0018",
    "2024-12-27": "0.0015",
    "2025-12-29": "0.0020",
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
