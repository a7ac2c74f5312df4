"""Dead peers are found by the WebSocket heartbeat and their subscriptions released."""

from __future__ import annotations

import base64
import os
import socket
import time
from pathlib import Path

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from aegis.core.timeutil import iso_z
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
    # The non-reader is found slow only once the loopback socket buffers (megabytes) are full:
    # on a slow machine that can take longer than a protocol ping's timeout, which would end
    # it first (without a 4008), so the server's protocol pings are out of the way here.
    with live_server(tmp_path, ping=3600, **settings) as (addr, rt, source):
        assert rt.market is not None and rt.hub is not None
        hub = rt.hub
        symbols = [s for s, i in rt.market.by_symbol.items() if i.kind == "stock"][:200]
        with (
            # no client-side keepalive: a non-reader's own pings would time out on a slow
            # machine and close it (1011) before the server does
            connect(f"ws://{addr}/ws/stocks?batch=1", max_size=None, ping_interval=None) as fast,
            connect(f"ws://{addr}/ws/stocks", max_size=None, ping_interval=None) as slow,
        ):
            for ws in (fast, slow):
                ws.send(orjson.dumps({"action": "subscribe", "symbols": symbols}).decode())
                assert orjson.loads(ws.recv(5))["type"] == "subscribed"
            deadline = time.monotonic() + 300  # a bound for slow machines, not a speed claim
            while source.loop is None:
                time.sleep(0.02)
            fast_got = 0
            seq = 0
            last = symbols[-1]
            # The slow client never reads while the market runs. The fast one reads each batch
            # to its end before the next is pushed (lockstep): its queue is never left full, so
            # however slow the machine, only the non-reader can be found slow.
            while time.monotonic() < deadline and len(hub.subscribers) == 2:
                seq += 1
                ts = T0 + seq * 1000
                source.push_threadsafe(
                    [Tick(s, ts, 10_000 + seq % 50, 1, 1, seq, "sim") for s in symbols]
                )
                end = {"symbol": last, "timestamp": iso_z(ts)}
                while True:
                    got = orjson.loads(fast.recv(60))
                    batch = got if isinstance(got, list) else [got]
                    fast_got += len(batch)
                    if any(
                        m.get("symbol") == end["symbol"] and m.get("timestamp") == end["timestamp"]
                        for m in batch
                    ):
                        break
            assert len(hub.subscribers) == 1, "the slow client was not dropped"
            assert fast_got > 0
            # reading now, the slow client finds the close code after what was buffered
            with pytest.raises(ConnectionClosed) as closed:
                while time.monotonic() < deadline + 60:
                    slow.recv(60)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4008
