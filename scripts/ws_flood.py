"""Flood: one anonymous WebSocket client that sends as fast as it can and never reads, against a
real `aegis serve` (simulator), while a well-behaved client pings. Prints the server's memory
(RSS from /proc) before, at its peak and after, whether and how the abuser was closed, and the
well-behaved client's ping → pong round trips before and during the flood.

    uv run python scripts/ws_flood.py --seconds 30 --mode garbage   # 1-byte "x" frames
    uv run python scripts/ws_flood.py --seconds 30 --mode app-ping  # {"action":"ping"}
    uv run python scripts/ws_flood.py --seconds 30 --mode proto-ping  # protocol ping frames

The abuser speaks raw WebSocket over a socket and never calls recv, so nothing on its side drains
what the server sends (a library client would keep reading in the background).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect

FRAMES = {"garbage": (0x1, b"x"), "app-ping": (0x1, b'{"action":"ping"}'), "proto-ping": (0x9, b"")}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def abuser(port: int, opcode: int, payload: bytes, seconds: float) -> tuple[int, str, float]:
    """Send frames without ever reading; returns (frames sent, how it ended)."""
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        f"GET /ws/stocks HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    time.sleep(0.5)  # the 101 answer stays unread in the socket buffer, like everything after
    chunk = frame(opcode, payload) * 64
    t0 = time.monotonic()
    sent, end = 0, t0 + seconds
    s.settimeout(5)
    how = "still open at the end"
    try:
        while time.monotonic() < end:
            s.sendall(chunk)
            sent += 64
    except (BrokenPipeError, ConnectionResetError):
        how = "closed by the server"
    except TimeoutError:
        how = "server stopped reading (send blocked 5 s)"
    finally:
        s.close()
    return sent, how, time.monotonic() - t0


async def pings(port: int, stop: asyncio.Event, out: list[float]) -> None:
    async with connect(f"ws://127.0.0.1:{port}/ws/stocks") as ws:
        while not stop.is_set():
            t0 = time.perf_counter()
            await ws.send('{"action":"ping"}')
            while orjson.loads(await ws.recv()).get("type") != "pong":
                pass
            out.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[int(q) - 1] if len(xs) >= 2 else float("nan")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--mode", choices=sorted(FRAMES), default="garbage")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="aegis-flood-")
    env = {**os.environ, "AEGIS_DATA_DIR": data, "AEGIS_SIM_SYMBOLS": "005930,000660",
           "AEGIS_PORT": str(args.port), "AEGIS_LOG_LEVEL": "WARNING"}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "aegis", "serve"], env=env)
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                try:
                    if (await http.get(f"http://127.0.0.1:{args.port}/healthz")).is_success:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        before_rtt: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(pings(args.port, stop, before_rtt))
        await asyncio.sleep(3)
        stop.set()
        await task
        base = rss_mb(server.pid)
        during_rtt: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(pings(args.port, stop, during_rtt))
        opcode, payload = FRAMES[args.mode]
        flood = asyncio.create_task(
            asyncio.to_thread(abuser, args.port, opcode, payload, args.seconds)
        )
        peak = base
        while not flood.done():
            peak = max(peak, rss_mb(server.pid))
            await asyncio.sleep(0.2)
        sent, how, took = await flood
        stop.set()
        await task
        await asyncio.sleep(2)
        after = rss_mb(server.pid)
        print(f"mode {args.mode}, up to {args.seconds:g} s: abuser sent {sent:,} frames "
              f"in {took:.1f} s, {how}")  # fmt: skip
        print(f"server RSS: {base:.0f} MB before, {peak:.0f} MB peak (+{peak - base:.0f}), "
              f"{after:.0f} MB after")  # fmt: skip
        print(f"other client ping→pong: before p50 {pct(before_rtt, 50):.1f} ms "
              f"p99 {pct(before_rtt, 99):.1f} ms; during p50 {pct(during_rtt, 50):.1f} ms "
              f"p99 {pct(during_rtt, 99):.1f} ms ({len(during_rtt)} round trips)")  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    asyncio.run(main())
