"""Daily CSV readers against the real files in shared/data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aegis.core.errors import ImportFormatError
from aegis.history.csv_daily import read_daily

# ``shared_data`` (tests/support/shared.py): the data beside the checkout; required in CI


def test_header_format_with_yyyymmdd_dates(shared_data: Path) -> None:
    f = read_daily(shared_data / "ohlcv_daily_005930_quantkang.csv")
    assert f.symbol == "005930" and f.price_scale == 0
    assert len(f.bars) == 8_343
    first = f.bars[0]
    assert (first.day, first.open, first.close, first.volume) == (
        date(1990, 9, 11),
        364,
        364,
        471_921,
    )
    assert not f.splits, "an adjusted series has no split step"


def test_headerless_file_drops_holiday_rows_and_keeps_halts(shared_data: Path) -> None:
    f = read_daily(shared_data / "ohlcv_daily_005930_arclien.csv")
    assert f.holidays_skipped == 920
    assert len(f.bars) == 1_898
    halt = next(b for b in f.bars if b.day == date(2018, 5, 2))
    assert (halt.open, halt.high, halt.low, halt.close, halt.volume) == (53_000,) * 4 + (0,)
    assert f.halts == 3


def test_unadjusted_split_is_reported_not_loaded_silently(shared_data: Path) -> None:
    with pytest.raises(ImportFormatError, match=r"2021-04-15 ×5"):
        read_daily(shared_data / "ohlcv_daily_035720_arclien.csv")


def test_unadjusted_split_can_be_back_adjusted_or_kept(shared_data: Path) -> None:
    adj = read_daily(shared_data / "ohlcv_daily_035720_arclien.csv", on_split="adjust")
    before = next(b for b in adj.bars if b.day == date(2021, 4, 9))
    assert before.close == 558_000 // 5 and before.volume == 770_289 * 5
    kept = read_daily(shared_data / "ohlcv_daily_035720_arclien.csv", on_split="keep")
    assert next(b for b in kept.bars if b.day == date(2021, 4, 9)).close == 558_000
    assert [s.day for s in kept.splits] == [date(2021, 4, 15)]


def test_index_file_uses_hundredths_of_a_point(shared_data: Path) -> None:
    f = read_daily(shared_data / "kospi200_index_daily.csv", symbol="KOSPI200")
    assert f.price_scale == 2
    first = f.bars[0]
    assert (first.close, first.open, first.high) == (10_000, 10_000, 10_000)  # close only


def test_garbage_is_refused_with_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("date,open,high,low,close,volume\n20240102,1,2,1,x,5\n")
    with pytest.raises(ImportFormatError, match="line 2"):
        read_daily(p, symbol="005930")
