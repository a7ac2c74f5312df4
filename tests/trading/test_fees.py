"""The sell tax by market and by settlement (T+2): a sale settling in the new year pays the new
year's rate (shared docs/krx_rules.md §4: the 2025 rate applied to sales executed from
2024-12-27); KONEX pays its own rate."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.domain.calendar import is_trading_day
from aegis.trading.fees import FeeSchedule
from aegis.trading.models import OrderStatus, Side
from aegis.trading.runtime import config_from
from aegis.trading.tradelog import TradeQuery, query_trades
from tests.trading.support import Desk, kst, limit, status


@pytest.mark.parametrize(
    ("trade_day", "rate"),
    [
        # the year-end closing day (12-31, or the last weekday when 12-31 is a weekend: 2022-12-30,
        # 2023-12-29) settles nothing; the first rates run from the first trade settling in 2021
        (date(2020, 12, 29), "0.0023"),  # settles 2021-01-04
        (date(2021, 6, 1), "0.0023"),
        (date(2022, 12, 27), "0.0023"),  # settles 2022-12-29
        (date(2022, 12, 28), "0.0020"),  # settles 2023-01-02
        (date(2022, 12, 29), "0.0020"),
        (date(2023, 12, 26), "0.0020"),  # settles 2023-12-28
        (date(2023, 12, 27), "0.0018"),  # settles 2024-01-02
        (date(2023, 12, 28), "0.0018"),
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


async def test_a_konex_sale_pays_the_konex_tax(app_db: AsyncEngine, tmp_path: Path) -> None:
    """KONEX sales pay 0.10 % (krx_rules.md §4), not the KOSPI/KOSDAQ 0.20 % of 2026."""
    konex = "216050"
    desk = Desk(app_db)
    desk.board.last[konex] = desk.board.prev[konex] = 5_000
    desk.board.markets[konex] = "KONEX"
    await desk.start()
    desk.open_market()
    acc = await desk.service.account_for(1)
    await desk.service.place(acc, limit(Side.BUY, 100, 5_000, konex))
    await desk.trade(konex, 5_000, 100, kst(10, 0, 1))
    sell, _ = await desk.service.place(acc, limit(Side.SELL, 100, 5_000, konex))
    await desk.trade(konex, 5_000, 100, kst(10, 0, 2))
    assert status(sell) is OrderStatus.FILLED
    fills = await query_trades(app_db, acc.account_id, TradeQuery(side="SELL"))
    assert fills[0][0]["tax"] == 500  # 500,000 × 0.10 %
    # the KOSPI sale beside it keeps the general rate
    assert FeeSchedule().tax(500_000, date(2026, 3, 2), "KOSPI") == 1_000
    server = config_from(Settings(data_dir=tmp_path)).fees  # what `aegis serve` charges
    assert server.tax(500_000, date(2026, 3, 2), "KONEX") == 500


def test_a_sale_on_2022_12_28_pays_the_2023_tax_in_whole_won() -> None:
    """Settling on 2023-01-02, it pays 0.20 %, not the 0.23 % of sales settling in 2022."""
    assert FeeSchedule().tax(71_500 * 10, date(2022, 12, 28)) == 1_430


def test_the_krx_calendar_knows_every_trading_day_the_tax_boundaries_count(
    shared_data: Path,
) -> None:
    """Settlement days are counted on the KRX calendar: from 2020 on, a weekday is a holiday
    in it exactly when the KOSPI index has no close that day (the real daily series)."""
    with (shared_data / "kospi_index_daily.csv").open(encoding="utf-8-sig") as f:
        traded = {date.fromisoformat(r["Date"][:10]) for r in csv.DictReader(f)}
    last = max(traded)
    day = date(2020, 1, 1)
    while day <= last:
        if day.weekday() < 5:
            assert is_trading_day(day) == (day in traded), day
        day += timedelta(days=1)
