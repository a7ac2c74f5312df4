"""`aegis backfill --source krx`: keyless daily history through FinanceDataReader, against a fake
of the Naver daily chart it reads; and a clear message when the optional package is missing."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aegis.cli.app import app
from aegis.core.config import Settings
from aegis.core.errors import SourceError
from aegis.core.timeutil import kst_midnight_us
from aegis.domain.sources import BACKFILL
from aegis.history.krx import KrxHistoryUnavailable, fetch_krx_daily
from aegis.reference.recent import load_recent_history
from aegis.store.sqlite import SQLiteStore
from tests.fakes.http import HttpServer
from tests.fakes.naver_chart import HOST, FakeNaverChart, Row

fdr_naver = pytest.importorskip("FinanceDataReader.naver.data")

SAMSUNG: list[Row] = [
    (b.day, b.open, b.high, b.low, b.close, b.volume) for b in load_recent_history("005930")
]
HALTED: list[Row] = [
    (date(2025, 10, 29), 1_200_000, 1_230_000, 1_190_000, 1_221_000, 80_000),
    (date(2025, 10, 30), 0, 0, 0, 1_221_000, 0),
    (date(2025, 11, 24), 1_797_000, 1_841_000, 1_650_000, 1_789_000, 560_815),
]


@pytest.fixture
async def naver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeNaverChart]:
    fake = FakeNaverChart({"005930": SAMSUNG, "207940": HALTED})
    server = HttpServer(fake.app)
    await server.start()
    real_get: Callable[..., Any] = fdr_naver.requests.get

    def to_fake(url: str, *args: Any, **kwargs: Any) -> Any:
        assert url.startswith(HOST), url  # only Naver's chart is ever asked
        kwargs.setdefault("timeout", 10)
        return real_get(server.url + url[len(HOST) :], *args, **kwargs)

    monkeypatch.setattr(fdr_naver.requests, "get", to_fake)
    yield fake
    await server.stop()


async def test_whole_history_of_a_stock(naver: FakeNaverChart) -> None:
    bars = await asyncio.to_thread(fetch_krx_daily, "005930")
    assert [(b.day, b.open, b.high, b.low, b.close, b.volume) for b in bars] == SAMSUNG
    assert all(b.amount is None for b in bars)  # the chart has no traded value: unknown
    assert naver.requests[0]["symbol"] == "005930"


async def test_range_and_halts(naver: FakeNaverChart) -> None:
    bars = await asyncio.to_thread(fetch_krx_daily, "005930", date(2026, 6, 1), date(2026, 6, 30))
    assert bars[0].day >= date(2026, 6, 1) and bars[-1].day <= date(2026, 6, 30)
    halted = await asyncio.to_thread(fetch_krx_daily, "207940")
    assert (halted[1].open, halted[1].high, halted[1].low, halted[1].volume) == (
        1_221_000,
        1_221_000,
        1_221_000,
        0,
    )


async def test_unknown_code_server_error_and_garbage_are_clear_errors(
    naver: FakeNaverChart,
) -> None:
    with pytest.raises(SourceError, match="no data"):
        await asyncio.to_thread(fetch_krx_daily, "999999")
    with pytest.raises(SourceError, match="not a KRX stock code"):
        await asyncio.to_thread(fetch_krx_daily, "5930")
    naver.garbage = True
    with pytest.raises(SourceError, match=r"unexpected reply|not a whole"):
        await asyncio.to_thread(fetch_krx_daily, "005930")
    naver.garbage = False
    naver.fail_status = 503
    with pytest.raises(SourceError):
        await asyncio.to_thread(fetch_krx_daily, "005930")


async def test_cli_backfill_krx_stores_daily_candles_labelled_backfill(
    naver: FakeNaverChart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AEGIS_SOURCE", "kis")
    r = await asyncio.to_thread(
        CliRunner().invoke, app, ["backfill", "--source", "krx", "--symbol", "005930"]
    )
    assert r.exit_code == 0, r.output
    assert f"일봉 {len(SAMSUNG)}개 저장" in r.output
    store = SQLiteStore(Settings(data_dir=tmp_path, source="kis").sqlite_path)
    await store.start()
    c = await store.get_candle("005930", "1d", kst_midnight_us(date(2024, 1, 2)))
    await store.close()
    assert c is not None and c.source == BACKFILL
    assert (c.open, c.high, c.low, c.close, c.volume) == SAMSUNG[0][1:]


def test_without_the_optional_package_the_message_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "FinanceDataReader", None)  # import fails as if absent
    with pytest.raises(KrxHistoryUnavailable, match=r"pip install 'aegis\[krx\]'"):
        fetch_krx_daily("005930")
