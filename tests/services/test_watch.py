"""Client watch lists reach the sources, most watched first, across processes via the bus."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest

from aegis.bus.base import GAP
from aegis.bus.memory import MemoryBus
from aegis.services import watch
from aegis.services.watch import WATCH, WatchCollector
from aegis.sources.base import Source, TickSink


class RecordingSource(Source):
    name = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.watched: list[list[str]] = []

    async def watch(self, symbols: Sequence[str]) -> None:
        self.watched.append(list(symbols))

    async def run(self, sink: TickSink) -> None:
        await asyncio.Event().wait()


async def test_reports_from_two_processes_are_ranked_by_watchers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(watch, "EVERY_SECONDS", 0.01)
    bus = MemoryBus()
    src = RecordingSource()
    collector = WatchCollector(bus, [src])
    await collector.start()
    await bus.publish(WATCH, orjson.dumps({"proc": "a", "counts": {"000660": 1, "005930": 2}}))
    await bus.publish(WATCH, orjson.dumps({"proc": "b", "counts": {"000660": 5}}))
    await bus.publish(WATCH, b"not json")  # ignored, the collector keeps going
    for _ in range(200):
        if src.watched:
            break
        await asyncio.sleep(0.01)
    await collector.close()
    assert src.watched[-1] == ["000660", "005930"]


def test_one_clients_vote_is_capped() -> None:
    from types import SimpleNamespace
    from typing import cast

    from aegis.services.clients import ClientChannel
    from aegis.services.stream import StreamHub, Subscriber

    def client(symbols: list[str]) -> Subscriber:
        return Subscriber(ClientChannel(), lambda: None, symbols=set(symbols))

    hoarder = client([f"{i:06d}" for i in range(100, 300)])  # 200 symbols on one socket
    dashboards = [client(["005930"]), client(["005930", "000660"])]
    hub = cast(StreamHub, SimpleNamespace(subscribers={hoarder, *dashboards}))
    weights = watch.watch_counts(hub, votes_per_client=10)
    assert sum(w for s, w in weights.items() if s not in ("005930", "000660")) == pytest.approx(10)
    assert weights["005930"] == 2
    assert weights["000660"] == 1
    assert max(w for s, w in weights.items() if s not in ("005930", "000660")) == 0.05


async def test_the_reporter_recounts_only_when_clients_change(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace
    from typing import cast

    from aegis.services.clients import ClientChannel
    from aegis.services.stream import StreamHub, Subscriber

    monkeypatch.setattr(watch, "EVERY_SECONDS", 0.01)
    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.0)
    monkeypatch.setattr(watch, "REFRESH_SECONDS", 0.0)  # a report every round, changed or not
    counted = 0
    real = watch.watch_counts

    def counting(hub: StreamHub, votes_per_client: float = 10.0) -> dict[str, float]:
        nonlocal counted
        counted += 1
        return real(hub, votes_per_client)

    monkeypatch.setattr(watch, "watch_counts", counting)
    sub = Subscriber(ClientChannel(), lambda: None, symbols={"005930"})
    hub = SimpleNamespace(subscribers={sub}, watch_changed=asyncio.Event())
    bus = MemoryBus()
    reports = await bus.subscribe(WATCH)
    reporter = watch.WatchReporter(bus, cast(StreamHub, hub))
    reporter.start()

    async def next_counts() -> dict[str, float]:
        async with asyncio.timeout(10):
            async for payload in reports:
                return dict(orjson.loads(payload)["counts"])
        raise AssertionError("no report")

    try:
        for _ in range(5):  # rounds with nothing changed: the same report, one count
            assert await next_counts() == {"005930": 1.0}
        assert counted == 1
        sub.symbols.add("000660")
        hub.watch_changed.set()
        while (counts := await next_counts()) == {"005930": 1.0}:
            pass  # a report already on its way when the change came
        assert counts == {"005930": 1.0, "000660": 1.0}
        assert counted == 2
    finally:
        await reporter.close()


async def test_a_gap_on_the_bus_is_not_taken_for_a_malformed_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = MemoryBus()
    src = RecordingSource()
    collector = WatchCollector(bus, [src])
    await collector.start()
    await bus.publish(WATCH, GAP)  # what a bus yields when payloads were lost
    await bus.publish(WATCH, orjson.dumps({"proc": "a", "counts": {"005930": 1}}))
    for _ in range(500):
        if "a" in collector.reports:
            break
        await asyncio.sleep(0.01)
    await collector.close()
    assert "a" in collector.reports
    assert "malformed" not in caplog.text
