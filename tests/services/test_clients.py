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
