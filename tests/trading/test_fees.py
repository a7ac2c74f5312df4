"""The sell tax follows settlement (T+2): a sale settling in the new year pays the new year's
rate (shared docs/krx_rules.md §4: the 2025 rate applied to sales executed from 2024-12-27)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from aegis.core.config import Settings
from aegis.trading.fees import FeeSchedule
from aegis.trading.runtime import config_from


@pytest.mark.parametrize(
    ("trade_day", "rate"),
    [
        (date(2024, 12, 26), "0.0018"),  # settles 2024-12-30
        (date(2024, 12, 27), "0.0015"),  # settles 2025-01-02 (12-31 is the year-end closing)
        (date(2024, 12, 30), "0.0015"),
        (date(2025, 12, 26), "0.0015"),  # settles 2025-12-30
        (date(2025, 12, 29), "0.0020"),  # settles 2026-01-02
        (date(2026, 3, 2), "0.0020"),
    ],
)
def test_sell_tax_rate_is_the_one_of_the_settlement_year(
    trade_day: date, rate: str, tmp_path: Path
) -> None:
    server = config_from(Settings(data_dir=tmp_path)).fees  # what `aegis serve` charges
    for fees in (FeeSchedule(), server):
        assert fees.tax_rate(trade_day) == Decimal(rate)


def test_a_sale_on_2024_12_27_pays_the_2025_tax_in_whole_won() -> None:
    assert FeeSchedule().tax(71_500 * 10, date(2024, 12, 27)) == 1_072  # 0.15 %, truncated
