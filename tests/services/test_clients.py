"""Client queues: bounded, conflating per key, and a client that cannot keep up is marked slow."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from aegis.services.clients import ClientChannel


async def test_full_queue_conflates_to_latest_per_symbol() -> None:
    ch = ClientChannel(maxsize=3, drop_after=60)
    for i in range(3):
        ch.offer("A", f"a{i}".encode())
    for i in range(5):
        ch.offer("A", f"a{3 + i}".encode())
        ch.offer("B", f"b{i}".encode())
    out = await ch.drain()
    assert out[:3] == [b"a0", b"a1", b"a2"]
    notice = orjson.loads(out[3])
    assert notice == {"type": "conflated", "count": 8}
    assert out[4:] == [b"a7", b"b4"]  # only the latest of each symbol
    assert not ch.slow


async def test_client_full_for_longer_than_limit_is_marked_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ch = ClientChannel(maxsize=1, drop_after=5)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    ch.offer("A", b"1")
    ch.offer("A", b"2")  # full: conflating from now
    clock[0] += 4
    ch.offer("A", b"3")
    assert not ch.slow
    clock[0] += 2
    ch.offer("A", b"4")
    assert ch.slow


async def test_drain_resets_conflation_and_control_messages_are_never_conflated_away() -> None:
    ch = ClientChannel(maxsize=1, drop_after=60)
    ch.offer("A", b"1")
    ch.offer("A", b"2")
    ch.control(b"err")
    out = await ch.drain()
    assert b"err" in out and b"2" in out
    ch.offer("A", b"3")
    assert await ch.drain() == [b"3"]


async def test_drain_waits_until_something_arrives() -> None:
    ch = ClientChannel()
    task = asyncio.create_task(ch.drain())
    await asyncio.sleep(0.01)
    assert not task.done()
    ch.offer("A", b"x")
    assert await asyncio.wait_for(task, 1) == [b"x"]
    ch.close()
    assert await ch.drain() == []


async def test_control_replies_to_a_non_reader_are_bounded_and_conflated_by_key() -> None:
    ch = ClientChannel(maxsize=10, drop_after=60, control_max=8)
    for _ in range(10_000):
        ch.control(b'{"type":"pong"}', key="pong")
    assert ch.backlog == 1  # one pending pong, however many pings arrived
    accepted = sum(ch.control(b'{"type":"error"}') for _ in range(10_000))
    assert accepted == 7 and ch.control_dropped == 10_000 - 7
    assert ch.backlog == 8
    out = await ch.drain()
    assert out[0] == b'{"type":"pong"}' and len(out) == 8


def _direct_channel(window: float) -> tuple[ClientChannel, list[ClientChannel], list[bytes]]:
    written: list[bytes] = []
    dirty: list[ClientChannel] = []
    ch = ClientChannel()
    ch.window = window
    ch.dirty = dirty

    def direct(payload: bytes) -> bool:
        written.append(payload)
        return True

    ch.direct = direct
    return ch, dirty, written


def test_a_burst_of_batches_waits_for_one_frame_instead_of_waking_the_writer() -> None:
    ch, dirty, written = _direct_channel(window=0.02)
    ch.offer("A", b"1")
    assert dirty == [ch]
    assert ch.flush_direct(100.0) is None  # the first batch: written at once
    assert written == [b"1"]
    ch.offer("A", b"2")
    wait = ch.flush_direct(100.004)  # the next batch 4 ms later: too soon
    assert wait is not None
    assert wait == pytest.approx(0.006)
    ch.offer("B", b"3")  # a third batch joins the waiting frame
    assert written == [b"1"]
    assert not ch._wake.is_set()  # no writer task woken for it
    assert ch.flush_direct(100.004 + wait) is None
    assert written == [b"1", b"[2,3]"]
    assert ch.backlog == 0


async def test_the_hub_flushes_a_burst_on_one_timer() -> None:
    from typing import cast

    from aegis.bus.memory import MemoryBus
    from aegis.domain.ticks import BUY, Tick
    from aegis.services.market import Market
    from aegis.services.stream import StreamHub, Subscriber

    class _Live:  # the hub's live candles: not what this test is about
        def add_fresh(self, ticks: list[Tick]) -> tuple[list[Tick], list[Tick]]:
            return list(ticks), []

        def discard_changes(self) -> None:
            pass

        def prev_day_close(self, symbol: str) -> None:
            return None

    class _Market:
        def __init__(self) -> None:
            from aegis.reference import load_instruments

            self.by_symbol = {i.symbol: i for i in load_instruments() if i.symbol == "005930"}
            self.live = _Live()
            self.last_source: dict[str, str] = {}

    hub = StreamHub(MemoryBus(), cast(Market, _Market()))
    ch, _dirty, written = _direct_channel(window=10.0)  # long: the timer surely does the flush
    sub = Subscriber(ch, lambda: None)
    hub.add(sub)
    hub.subscribe_ticks(sub, ["005930"])
    t0 = 1_764_640_800_000_000
    hub.on_ticks([Tick("005930", t0, 70_000, 1, BUY, 1, "sim")])
    assert len(written) == 1
    hub.on_ticks([Tick("005930", t0 + 1, 70_100, 1, BUY, 2, "sim")])
    hub.on_ticks([Tick("005930", t0 + 2, 70_200, 1, BUY, 3, "sim")])
    assert len(written) == 1 and ch.backlog == 2  # waiting for the window, together
    assert hub._later_timer is not None
    ch._flushed_at -= 10.0  # as if the window had passed, without waiting for it
    hub._later_timer.cancel()
    hub._flush_later()
    assert [[m["price"] for m in orjson.loads(w)] for w in written[1:]] == [[70_100, 70_200]]
    assert hub._later_timer is None
    await hub.close()
