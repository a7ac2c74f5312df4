"""Rate windows of ingest and the hub stay bounded however long nobody reads the status."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from aegis.bus.memory import MemoryBus
from aegis.core import rate
from aegis.core.rate import RateWindow
from aegis.domain.ticks import BUY, Tick
from aegis.reference import load_instruments
from aegis.services import stream
from aegis.services.ingest import IngestService
from aegis.services.market import Market
from aegis.services.stream import StreamHub
from aegis.store.sqlite import SQLiteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_rate_counts_the_last_seconds_and_drops_older_entries_on_add() -> None:
    w = RateWindow(5.0)
    for i in range(100):
        w.add(10, now=float(i))
    assert len(w) <= 6
    assert w.per_second(now=99.0) == pytest.approx(6 * 10 / 5.0)
    assert w.per_second(now=200.0) == 0.0


def _tick(i: int) -> Tick:
    return Tick("005930", 1_700_000_000_000_000 + i * 1000, 70_000, 1, BUY, 0, "sim")


async def test_ingest_window_is_bounded_without_status_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clock = Clock()
    monkeypatch.setattr(rate, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    ingest = IngestService(SQLiteStore(tmp_path / "unused.db"), MemoryBus())
    for i in range(2_000):  # one batch a second for over half an hour, never flushed
        await ingest.ticks([_tick(i)])
        clock.now += 1.0
    assert len(ingest._rate_window) <= 6


def test_hub_window_is_bounded_without_status_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clock = Clock()
    monkeypatch.setattr(stream, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    market = Market(SQLiteStore(tmp_path / "unused.db"), load_instruments())
    hub = StreamHub(MemoryBus(), market)
    for i in range(2_000):
        hub.on_ticks([_tick(i)])
        clock.now += 1.0
    assert len(hub._rate) <= 6
