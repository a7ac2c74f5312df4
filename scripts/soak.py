"""Soak test (seed 001: a 24-hour memory-stable run on a mini server), compressed in time.

Starts ``aegis serve`` with the simulator at ``--speed 24`` (an hour = a simulated day), connects
``--ws`` WebSocket clients (16 symbols each) and ``--sse`` SSE clients, and every 10 s samples the
server's RSS, open file descriptors and threads, the hub's lag and rate, and the clients' ping
round trips. Passes when memory is flat over the second half (every sample within ±10 % of the
half's mean) and descriptors do not grow. Writes ``soak.csv``, ``soak.json`` and ``soak.png``.

    uv run python scripts/soak.py --minutes 60 --out docs/soak
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import psutil
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Load:
    ws_messages: int = 0
    sse_events: int = 0
    rtts_ms: list[float] = field(default_factory=list)
    disconnects: int = 0


async def ws_client(port: int, symbols: list[str], load: Load, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with connect(f"ws://127.0.0.1:{port}/ws/stocks?batch=1", max_size=None) as ws:
                await ws.send(orjson.dumps({"action": "subscribe", "symbols": symbols}).decode())
                next_ping = time.monotonic() + random.uniform(0, 10)
                sent_at: float | None = None
                while not stop.is_set():
                    if sent_at is None and time.monotonic() >= next_ping:
                        sent_at = time.monotonic()
                        await ws.send('{"action":"ping"}')
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        continue
                    load.ws_messages += 1
                    if sent_at is not None and '"pong"' in str(raw)[:200]:
                        load.rtts_ms.append((time.monotonic() - sent_at) * 1000)
                        sent_at = None
                        next_ping = time.monotonic() + 10
        except Exception:
            load.disconnects += 1
            await asyncio.sleep(1)


async def sse_client(port: int, symbols: list[str], load: Load, stop: asyncio.Event) -> None:
    url = f"http://127.0.0.1:{port}/api/stream/stocks"
    while not stop.is_set():
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(30)) as client,
                client.stream("GET", url, params={"symbols": ",".join(symbols)}) as r,
            ):
                async for line in r.aiter_lines():
                    if line.startswith("data:"):
                        load.sse_events += 1
                    if stop.is_set():
                        return
        except Exception:
            load.disconnects += 1
            await asyncio.sleep(1)


def server_sample(proc: psutil.Process) -> dict[str, float]:
    procs = [proc, *proc.children(recursive=True)]
    rss = fds = threads = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            rss += p.memory_info().rss
            fds += p.num_fds()
            threads += p.num_threads()
    return {"rssMb": rss / 2**20, "fds": fds, "threads": threads}


def plot(rows: list[dict[str, float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["minute"] for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    axes[0].plot(t, [r["rssMb"] for r in rows], color="tab:red")
    axes[0].set_ylabel("server RSS (MB)")
    axes[1].plot(t, [r["fds"] for r in rows], label="open fds")
    axes[1].plot(t, [r["threads"] for r in rows], label="threads")
    axes[1].legend()
    axes[2].plot(t, [r["pingP50Ms"] for r in rows], label="ping p50")
    axes[2].plot(t, [r["pingP99Ms"] for r in rows], label="ping p99")
    axes[2].set_ylabel("ms")
    axes[2].legend()
    axes[3].plot(t, [r["hubLagMs"] for r in rows], label="hub lag (ms)")
    axes[3].plot(t, [r["storeLagMs"] for r in rows], label="store lag (ms)")
    axes[3].plot(t, [r["ingestPending"] for r in rows], label="ticks pending store")
    axes[3].set_xlabel("minutes")
    axes[3].legend()
    fig.suptitle("AEGIS soak: simulator ×24, WebSocket + SSE clients")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--ws", type=int, default=200)
    ap.add_argument("--sse", type=int, default=20)
    ap.add_argument("--speed", type=float, default=24)
    ap.add_argument("--every", type=float, default=10, help="seconds between samples")
    ap.add_argument("--out", type=Path, default=Path("soak-out"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="aegis-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_")}
    env.update(
        AEGIS_SIM_SPEED=str(args.speed),
        AEGIS_DATA_DIR=str(data),
        AEGIS_PORT=str(port),
        # hundreds of clients from one address: measure the server, not the rate limits
        AEGIS_RATE_LIMIT_ANON="off",
        AEGIS_RATE_LIMIT_WS="off",
    )
    log = (args.out / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, not waited on here
        [sys.executable, "-m", "aegis", "serve"], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 300
        async with httpx.AsyncClient() as http:
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    print("server did not start; see server.log", file=sys.stderr)
                    return 2
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.5)
        from aegis.reference import load_instruments

        codes = [i.symbol for i in load_instruments() if i.kind == "stock"][:400]
        rng = random.Random(7)
        load = Load()
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(ws_client(port, rng.sample(codes, 16), load, stop))
            for _ in range(args.ws)
        ] + [
            asyncio.create_task(sse_client(port, rng.sample(codes, 16), load, stop))
            for _ in range(args.sse)
        ]
        proc = psutil.Process(server.pid)
        rows: list[dict[str, float]] = []
        started = time.monotonic()
        end = started + args.minutes * 60
        async with httpx.AsyncClient() as http:
            while time.monotonic() < end:
                await asyncio.sleep(args.every)
                try:  # a loaded server may answer slowly: a missed sample, not a failed soak
                    status = (
                        await http.get(f"http://127.0.0.1:{port}/api/v1/system/status", timeout=30)
                    ).json()
                except httpx.HTTPError:
                    continue
                rtts, load.rtts_ms = sorted(load.rtts_ms), []
                row = {
                    "minute": round((time.monotonic() - started) / 60, 2),
                    **server_sample(proc),
                    "wsMessages": load.ws_messages,
                    "sseEvents": load.sse_events,
                    "disconnects": load.disconnects,
                    "ticksPerSecond": status["data"]["ticksPerSecond"],
                    "hubLagMs": status["data"]["lagMs"],
                    # queue depths: ticks accepted but not yet stored, and the store lag
                    "ingestPending": (status["data"]["ingest"] or {}).get("pending", 0),
                    "storeLagMs": (status["data"]["ingest"] or {}).get("lagMs", 0.0),
                    "wsClients": status["data"]["clients"]["websocket"],
                    "sseClients": status["data"]["clients"]["sse"],
                    "load1": os.getloadavg()[0],  # the machine is shared: context for the figures
                    "pingP50Ms": statistics.median(rtts) if rtts else float("nan"),
                    "pingP99Ms": rtts[int(len(rtts) * 0.99)] if rtts else float("nan"),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(30)
        log.close()

    second_half = [r for r in rows if r["minute"] >= args.minutes / 2]
    mean_rss = statistics.fmean(r["rssMb"] for r in second_half)
    worst = max(abs(r["rssMb"] - mean_rss) / mean_rss for r in second_half)
    fd_growth = second_half[-1]["fds"] - second_half[0]["fds"]
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
        "minutes": args.minutes,
        "ws": args.ws,
        "sse": args.sse,
        "speed": args.speed,
        "rssMbFirst": rows[0]["rssMb"],
        "rssMbLast": rows[-1]["rssMb"],
        "rssSecondHalfMean": mean_rss,
        "rssSecondHalfWorstDeviation": worst,
        "fdGrowthSecondHalf": fd_growth,
        "pingP99MsMedian": statistics.median(
            r["pingP99Ms"]
            for r in rows
            if r["pingP99Ms"] == r["pingP99Ms"]  # not NaN
        ),
        "wsMessages": rows[-1]["wsMessages"],
        "sseEvents": rows[-1]["sseEvents"],
        "disconnects": rows[-1]["disconnects"],
        "ingestPendingMax": max(r["ingestPending"] for r in rows),
        "hubLagMsMax": max(r["hubLagMs"] for r in rows),
        "loadAverage": os.getloadavg(),
        "passed": worst <= 0.10 and fd_growth <= 5,
    }
    with (args.out / "soak.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (args.out / "soak.json").write_text(json.dumps(summary, indent=2))
    plot(rows, args.out / "soak.png")
    print(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
