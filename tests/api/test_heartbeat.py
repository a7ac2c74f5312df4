"""Dead peers are found by the WebSocket heartbeat and their subscriptions released."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import time
from pathlib import Path

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from aegis.domain.ticks import Tick
from tests.support.server import live_server

# after every real daily bar shipped (to 2026-10-02): the pushed ticks are new, not late
T0 = 1_793_577_600_000_000


def test_peer_that_never_answers_pings_is_dropped(tmp_path: Path) -> None:
    with live_server(tmp_path, ping=0.3) as (addr, rt, _):
        host, port = addr.split(":")
        sock = socket.create_connection((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws/stocks HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert b"101" in sock.recv(1024).split(b"\r\n")[0]
        assert rt.hub is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not rt.hub.subscribers:
            time.sleep(0.02)
        assert len(rt.hub.subscribers) == 1
        # this peer reads nothing and answers no ping: the server must give up on it
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and rt.hub.subscribers:
            time.sleep(0.05)
        assert not rt.hub.subscribers
        sock.close()


def test_client_that_stops_reading_is_conflated_then_closed_4008(tmp_path: Path) -> None:
    settings = {
        "ws_queue_size": 20,
        "ws_drop_after_seconds": 0.5,
        "ws_max_symbols": 500,
        "ws_anonymous_max_symbols": 500,
    }
    with live_server(tmp_path, **settings) as (addr, rt, source):
        assert rt.market is not None and rt.hub is not None
        hub = rt.hub
        symbols = [s for s, i in rt.market.by_symbol.items() if i.kind == "stock"][:200]
        with (
            connect(f"ws://{addr}/ws/stocks?batch=1", max_size=None) as fast,
            connect(f"ws://{addr}/ws/stocks", max_size=None) as slow,
        ):
            for ws in (fast, slow):
                ws.send(orjson.dumps({"action": "subscribe", "symbols": symbols}).decode())
                assert orjson.loads(ws.recv(5))["type"] == "subscribed"
            deadline = time.monotonic() + 120  # a bound for slow machines, not a speed claim
            while source.loop is None:
                time.sleep(0.02)
            fast_got = 0
            seq = 0
            # the slow client never reads while the market runs; the fast one keeps up
            while time.monotonic() < deadline and len(hub.subscribers) == 2:
                seq += 1
                source.push_threadsafe(
                    [Tick(s, T0 + seq, 10_000 + seq % 50, 1, 1, seq, "sim") for s in symbols]
                )
                with contextlib.suppress(TimeoutError):
                    while True:
                        fast_got += len(orjson.loads(fast.recv(0)))
            assert len(hub.subscribers) == 1, "the slow client was not dropped"
            assert fast_got > 0
            # reading now, the slow client finds the close code after what was buffered
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    slow.recv(30)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4008
