"""`aegis import ticks|daily`: files through the live path, all-or-nothing on bad rows."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aegis.aggregator.engine import recompute
from aegis.cli.app import app
from aegis.core.config import Settings
from aegis.domain.candles import Candle
from aegis.domain.intervals import STORED_INTERVALS
from aegis.domain.ticks import Tick
from aegis.store.sqlite import SQLiteStore

runner = CliRunner()
GOOD = """symbol,time,price,volume,side
005930,2026-03-23T09:00:00.100+09:00,199500,10,buy
005930,2026-03-23T09:00:00.100+09:00,199600,5,sell
000660,2026-03-23T09:00:01+09:00,1007000,2,
005930,2026-03-23T09:01:30+09:00,199400,7,buy
005930,2026-03-23T08:59:59+09:00,199000,1,
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AEGIS_SOURCE", "kis")  # the real-data file, not the simulator's
    return tmp_path


def stored(tmp: Path, symbol: str) -> tuple[list[Tick], dict[str, list[Candle]]]:
    async def read() -> tuple[list[Tick], dict[str, list[Candle]]]:
        store = SQLiteStore(Settings(data_dir=tmp, source="kis").sqlite_path)
        await store.start()
        ticks = await store.get_ticks(symbol, -(2**62), 2**62)
        candles = {
            iv.name: list(await store.get_candles(symbol, iv.name, None, None, 1000))
            for iv in STORED_INTERVALS
        }
        await store.close()
        return list(ticks), candles

    return asyncio.run(read())


def test_ticks_import_builds_candles_like_live_and_reimport_adds_nothing(env: Path) -> None:
    f = env / "ticks.csv"
    f.write_text(GOOD)
    r = runner.invoke(app, ["import", "ticks", str(f)])
    assert r.exit_code == 0, r.output
    assert "5 ticks imported" in r.output
    ticks, candles = stored(env, "005930")
    assert len(ticks) == 4
    for iv in STORED_INTERVALS:
        got = [
            (c.start, c.open, c.high, c.low, c.close, c.volume, c.amount) for c in candles[iv.name]
        ]
        want = [
            (c.start, c.open, c.high, c.low, c.close, c.volume, c.amount)
            for c in recompute(ticks, iv)
        ]
        assert got == want, iv.name
    again = runner.invoke(app, ["import", "ticks", str(f)])
    assert again.exit_code == 0, again.output
    assert len(stored(env, "005930")[0]) == 4  # the same file twice counts once


def test_file_with_bad_rows_imports_nothing_and_names_them(env: Path) -> None:
    f = env / "bad.csv"
    f.write_text(
        GOOD + "NOPE12,2026-03-23T09:00:00+09:00,100,1,\n"
        "005930,2026-03-23 09:00:00,100,1,\n"
        "005930,2026-03-23T09:00:00+09:00,abc,1,\n"
        "005930,2026-03-23T09:00:00+09:00,100,1,maybe\n"
    )
    r = runner.invoke(app, ["import", "ticks", str(f)])
    assert r.exit_code != 0
    for fragment in (
        "line 7",
        "unknown symbol",
        "line 8",
        "UTC offset",
        "line 9",
        "line 10",
        "side",
    ):
        assert fragment in r.output, fragment
    assert "4 bad rows; nothing imported" in str(r.exception)
    assert stored(env, "005930")[0] == []


def test_wrong_header_is_refused(env: Path) -> None:
    f = env / "h.csv"
    f.write_text("code,when,px\n005930,x,1\n")
    r = runner.invoke(app, ["import", "ticks", str(f)])
    assert r.exit_code != 0
    assert "header must be symbol,time,price,volume" in str(r.exception)


def test_daily_import_refuses_an_unadjusted_split_unless_told(env: Path, shared_data: Path) -> None:
    kakao = shared_data / "ohlcv_daily_035720_arclien.csv"
    r = runner.invoke(app, ["import", "daily", str(kakao), "--symbol", "035720"])
    assert r.exit_code != 0
    assert "split" in str(r.exception).lower()
    ok = runner.invoke(app, ["import", "daily", str(kakao), "--symbol", "035720", "--adjust"])
    assert ok.exit_code == 0, ok.output
    _, candles = stored(env, "035720")
    days = candles["1d"]
    assert days, "daily candles were stored"
    closes = [c.close for c in days]
    # adjusted: no -78 % day across 2021-04-15
    assert all(b >= a * 0.7 for a, b in pairwise(closes))
