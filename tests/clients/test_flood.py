"""A hostile WebSocket client that floods and never reads: the server holds a bounded amount for
it, throttles it, closes it with 1008 (policy violation), and serves everyone else meanwhile.
Asserted on queue sizes, counters and the close code: never on timing or process memory
(`python scripts/ws_flood.py` shows the memory figure)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aegis.core.config import Settings
from aegis.domain.ticks import BUY, Tick
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.support.inloop import serving
from tests.support.sources import ScriptedSource

CONTROL_MAX = 16


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, Runtime, ScriptedSource]]:
    settings = Settings(data_dir=tmp_path, ws_control_queue_size=CONTROL_MAX)
    upgrade_all(settings.store_url, settings.app_db_url)
    source = ScriptedSource()
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[source])
    async with serving(settings, rt) as addr:
        await source.ready.wait()
        yield addr, rt, source


async def reply(ws: ClientConnection, kind: str) -> dict[str, object]:
    async with asyncio.timeout(30):
        while True:
            msg = orjson.loads(await ws.recv())
            if msg.get("type") == kind:
                return dict(msg)


async def flood(ws: ClientConnection, frame: str, n: int) -> int:
    sent = 0
    with contextlib.suppress(ConnectionClosed):
        for _ in range(n):
            await ws.send(frame)
            sent += 1
    return sent


@pytest.mark.parametrize("frame", ["x", '{"action":"ping"}'], ids=["garbage", "app-ping"])
async def test_a_flooding_non_reader_is_bounded_throttled_and_closed_while_others_are_served(
    server: tuple[str, Runtime, ScriptedSource], frame: str
) -> None:
    addr, rt, source = server
    assert rt.hub is not None
    hub = rt.hub
    other = await connect(f"ws://{addr}/ws/stocks")
    await other.send('{"action":"subscribe","symbols":["005930"]}')
    await reply(other, "subscribed")
    # max_queue=1: the abuser's client library stops reading after one frame, like a client
    # that never calls recv
    abuser = await connect(f"ws://{addr}/ws/stocks", max_queue=1)
    await abuser.send('{"action":"subscribe","symbols":["000660"]}')
    await asyncio.sleep(0)
    backlog_peak = 0
    sent = 0
    for _ in range(40):
        sent += await flood(abuser, frame, 250)
        backlog_peak = max([backlog_peak] + [s.channel.backlog for s in hub.subscribers])
        if sent < 250 * (_ + 1):
            break
    # the server held at most a fixed number of replies for the abuser, however many it sent
    assert backlog_peak <= CONTROL_MAX
    # and closed it as a policy violation
    async with asyncio.timeout(30):
        with contextlib.suppress(ConnectionClosed):
            while True:
                await abuser.recv()
    assert abuser.close_code == 1008
    async with asyncio.timeout(30):  # the server lets go of the abuser as it closes
        while len(hub.subscribers) > 1:  # noqa: ASYNC110 - hub state, no event to wait on
            await asyncio.sleep(0.02)
    # the other client was served throughout and still is
    await other.send('{"action":"ping"}')
    await reply(other, "pong")
    await source.push([Tick("005930", 1_767_225_600_000_000, 7_000_000, 1, BUY, 1, "scripted")])
    tick = await reply(other, "tick")
    assert tick["symbol"] == "005930"
    await other.close()


async def test_a_client_within_the_rate_is_never_throttled(
    server: tuple[str, Runtime, ScriptedSource],
) -> None:
    addr, _, _ = server
    ws = await connect(f"ws://{addr}/ws/stocks")
    for _ in range(50):  # a burst the default allows (100)
        await ws.send('{"action":"ping"}')
        await reply(ws, "pong")
    await ws.close()


async def test_a_protocol_ping_flood_is_closed_with_1008_and_others_are_served(
    server: tuple[str, Runtime, ScriptedSource],
) -> None:
    addr, rt, _ = server
    assert rt.hub is not None
    other = await connect(f"ws://{addr}/ws/stocks")
    abuser = await connect(f"ws://{addr}/ws/stocks", max_queue=1)
    with contextlib.suppress(ConnectionClosed):
        for i in range(5_000):  # protocol pings: the app never sees them
            await abuser.ping(i.to_bytes(4, "big"))
    async with asyncio.timeout(30):
        with contextlib.suppress(ConnectionClosed):
            while True:
                await abuser.recv()
    assert abuser.close_code == 1008
    await other.send('{"action":"ping"}')
    await reply(other, "pong")
    await other.close()
