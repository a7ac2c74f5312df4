"""Under uvicorn as `aegis serve` runs it, the hub flushes each batch's messages to a batching
client as one frame written straight to the connection. Every tick arrives once and in order,
whether the client offers compression (not negotiated: off by default) or not, and with
compression switched on the ordinary ASGI path delivers the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from aegis.core.config import Settings
from aegis.domain.ticks import BUY, Tick
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all
from aegis.store.sqlite import SQLiteStore
from tests.clients.test_flood import reply
from tests.support.inloop import serving
from tests.support.sources import ScriptedSource

T0 = 1_773_964_800_000_000  # 2026-03-20 09:00 KST
N = 300


@pytest.fixture(params=[False, True], ids=["plain", "compression-on"])
async def server(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, Runtime, ScriptedSource]]:
    settings = Settings(data_dir=tmp_path, ws_compression=request.param)
    upgrade_all(settings.store_url, settings.app_db_url)
    source = ScriptedSource()
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[source])
    async with serving(settings, rt) as addr:
        await source.ready.wait()
        yield addr, rt, source


async def ticks_of(ws: ClientConnection, n: int) -> tuple[list[int], int]:
    """The volumes of the first ``n`` ticks, and how many frames carried them."""
    volumes: list[int] = []
    frames = 0
    while len(volumes) < n:
        doc: Any = orjson.loads(await ws.recv())
        msgs = doc if isinstance(doc, list) else [doc]
        if any(m["type"] == "tick" for m in msgs):
            frames += 1
        volumes += [m["volume"] for m in msgs if m["type"] == "tick"]
    return volumes, frames


async def test_every_tick_arrives_once_in_order_in_few_frames(
    server: tuple[str, Runtime, ScriptedSource],
) -> None:
    addr, rt, source = server
    async with connect(f"ws://{addr}/ws/stocks?batch=1") as ws:
        await ws.send('{"action":"subscribe","symbols":["005930","000660"]}')
        await reply(ws, "subscribed")
        for b in range(N // 30):  # 10 batches of 30 ticks, two symbols interleaved
            await source.push(
                [
                    Tick(
                        "005930" if i % 2 else "000660",
                        T0 + (b * 30 + i) * 1000,
                        70_000,
                        b * 30 + i + 1,
                        BUY,
                        b * 30 + i,
                        "sim",
                    )
                    for i in range(30)
                ]
            )
        volumes, frames = await ticks_of(ws, N)
        assert rt.hub is not None
        (sub,) = rt.hub.subscribers
        # which path served it: direct frames unless compression was negotiated
        assert (sub.channel.direct is None) == rt.settings.ws_compression
    assert volumes == list(range(1, N + 1))
    assert frames <= N // 2  # batched: never a frame per tick
