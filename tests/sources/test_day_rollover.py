"""Cumulative volume, the seq of KIS and Kiwoom trades, restarts every trading day (ACML_VOL,
FID 13): a source that runs into the next day must not take the new day's trades for the
previous day's, as duplicates or as the reference of a gap."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from aegis.core.config import Settings
from aegis.credentials.store import BrokerCredentials
from aegis.sources.kis.parse import kst_instant_us
from aegis.sources.kis.source import KisSource
from aegis.sources.kiwoom import source as kiwoom_source
from aegis.sources.kiwoom.source import KiwoomSource
from tests.fakes.kis import trade_record
from tests.fakes.kiwoom import APP_KEY, SECRET, push
from tests.fakes.market import Trade
from tests.sources.helpers import CollectSink

DAY1, DAY2 = "20250102", "20250103"
# (ts, seq) of the close of DAY1 and the open of DAY2 that each test sends: every one delivered
BOTH_DAYS = [
    (kst_instant_us(DAY1, "152900"), 100),
    (kst_instant_us(DAY1, "153000"), 150),
    (kst_instant_us(DAY2, "090000"), 100),
    (kst_instant_us(DAY2, "090001"), 150),
]


def trade(hhmmss: str, qty: int, acml: int) -> Trade:
    return Trade("005930", hhmmss, 70_000, qty, acml, True, 70_000, 69_900, 0)


def kis_frame(day: str, *trades: Trade) -> str:
    payload = "^".join("^".join(trade_record(t, day)) for t in trades)
    return f"0|H0STCNT0|{len(trades):03d}|{payload}"


async def test_kis_trades_of_the_next_day_are_not_dropped_as_duplicates(
    settings: Settings, kis_creds: BrokerCredentials
) -> None:
    src = KisSource(settings, symbols=["005930"], creds=kis_creds)
    sink = CollectSink()
    await src._on_data(kis_frame(DAY1, trade("152900", 100, 100), trade("153000", 50, 150)), sink)
    await src._on_data(kis_frame(DAY2, trade("090000", 100, 100), trade("090001", 50, 150)), sink)
    assert [(t.ts, t.seq) for t in sink.received] == BOTH_DAYS
    assert src.counts["duplicates"] == 0


async def test_kis_a_gap_on_the_next_day_is_filled_from_that_days_volume(
    settings: Settings, kis_creds: BrokerCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = KisSource(settings, symbols=["005930"], creds=kis_creds)
    fills: list[tuple[str, int]] = []
    monkeypatch.setattr(
        src, "_request_fill", lambda sym, after, *a, **k: fills.append((sym, after))
    )
    sink = CollectSink()
    await src._on_data(kis_frame(DAY1, trade("153000", 500, 5_000)), sink)
    # day 2: 100 shares, then a trade whose cumulative volume shows 250 shares missed between
    await src._on_data(kis_frame(DAY2, trade("090000", 100, 100), trade("090005", 50, 400)), sink)
    assert fills == [("005930", 100)]


class ScriptedWs:
    """Hands the source one message at a time; ``before`` runs just before message i goes."""

    def __init__(self, messages: list[str], before: dict[int, Any]) -> None:
        self.messages, self.before = messages, before
        self.sent: list[str] = []
        self.i = 0

    async def recv(self) -> str:
        if self.i == len(self.messages):
            raise EOFError("script done")
        if self.i in self.before:
            self.before[self.i]()
        self.i += 1
        return self.messages[self.i - 1]

    async def send(self, msg: str) -> None:
        self.sent.append(msg)


async def test_kiwoom_a_connection_open_across_midnight_stamps_and_keeps_the_new_days_trades(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = {"now": kst_instant_us(DAY1, "153000")}
    monkeypatch.setattr(kiwoom_source, "now_us", lambda: clock["now"])
    src = KiwoomSource(settings, symbols=["005930"],
                       creds=BrokerCredentials(SecretStr(APP_KEY), SecretStr(SECRET)))  # fmt: skip

    def real(*trades: Trade) -> str:
        return json.dumps({"trnm": "REAL", "data": [push(t) for t in trades]})

    def next_morning() -> None:
        clock["now"] = kst_instant_us(DAY2, "090001")

    ws = ScriptedWs(
        [real(trade("152900", 100, 100), trade("153000", 50, 150)),
         real(trade("090000", 100, 100), trade("090001", 50, 150))],
        {1: next_morning},
    )  # fmt: skip
    sink = CollectSink()
    with pytest.raises(EOFError):
        await src._read(ws, sink)  # type: ignore[arg-type]
    assert [(t.ts, t.seq) for t in sink.received] == BOTH_DAYS
    assert src.counts["duplicates"] == 0
