"""A fake Binance spot stream (protocols.md §E): ``/stream?streams=a@trade/b@trade`` combined
events, server pings with a payload (pongs counted), a maximum connection age standing in for
the 24 h cut, ``serverShutdown`` notices, and ``/api/v3/historicalTrades`` for gap fill.

Faults: ``drop()``, ``stall()``, ``malform(n)``, ``announce_shutdown()``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.fakes.http import HttpServer, free_socket


@dataclass(frozen=True, slots=True)
class BTrade:
    symbol: str
    id: int
    price: str
    qty: str
    time_ms: int
    maker: bool


class FakeBinance:
    def __init__(self, symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT"), *, seed: int = 3,
                 rate: float = 1_000.0, total: int = 2_000, ping_interval_s: float = 0.1,
                 max_age_s: float | None = None) -> None:  # fmt: skip
        self.symbols = symbols
        self.rate, self.total = rate, total
        self.ping_interval_s = ping_interval_s
        self.max_age_s = max_age_s
        self._rng = random.Random(seed)
        self._px = {s: 9_651_234_000_000 + i * 1_000_000 for i, s in enumerate(symbols)}
        self.trades: dict[str, list[BTrade]] = {s: [] for s in symbols}
        self.count = 0
        self.done = asyncio.Event()
        self.connections = 0
        self.pings = 0
        self.pongs = 0
        self.closed_for_age = 0
        self.malformed_sent = 0
        self._malform = 0
        self._conns: dict[ServerConnection, dict[str, Any]] = {}
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sock = free_socket()
        self.ws_url = f"ws://127.0.0.1:{self._sock.getsockname()[1]}"
        self.http = HttpServer(Starlette(routes=[Route("/api/v3/historicalTrades", self._hist)]))
        self.rest_url = self.http.url

    async def start(self) -> None:
        await self.http.start()
        self._server = await serve(self._handler, sock=self._sock, ping_interval=None)

    def start_market(self) -> None:
        self._tasks.append(asyncio.create_task(self._market()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.http.stop()

    # faults
    def drop(self) -> None:
        for ws in list(self._conns):
            ws.transport.abort()

    def stall(self) -> None:
        for st in self._conns.values():
            st["stalled"] = True

    def malform(self, n: int) -> None:
        self._malform += n

    def announce_shutdown(self) -> None:
        msg = json.dumps(
            {
                "stream": "!serverShutdown",
                "data": {"e": "serverShutdown", "E": int(time.time() * 1000)},
            }
        )
        for st in self._conns.values():
            st["q"].put_nowait(msg)

    # market
    def _next(self) -> BTrade:
        sym = self.symbols[self._rng.randrange(len(self.symbols))]
        self._px[sym] += self._rng.randint(-50, 50) * 1_000_000
        px = self._px[sym]
        qty = self._rng.randint(1, 500_000)
        tr = BTrade(
            sym,
            len(self.trades[sym]) + 1_000_000,
            f"{px // 10**8}.{px % 10**8:08d}",
            f"0.{qty:08d}",
            1_735_869_600_000 + self.count,
            self._rng.random() < 0.5,
        )
        self.trades[sym].append(tr)
        self.count += 1
        return tr

    async def _market(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while self.count < self.total:
            await asyncio.sleep(0.01)
            due = min(self.total, int((loop.time() - t0) * self.rate)) - self.count
            for _ in range(max(0, due)):
                tr = self._next()
                msg = json.dumps(
                    {
                        "stream": f"{tr.symbol.lower()}@trade",
                        "data": {
                            "e": "trade",
                            "E": tr.time_ms + 2,
                            "s": tr.symbol,
                            "t": tr.id,
                            "p": tr.price,
                            "q": tr.qty,
                            "T": tr.time_ms,
                            "m": tr.maker,
                            "M": True,
                        },
                    }
                )
                for st in self._conns.values():
                    if tr.symbol in st["symbols"] and not st["stalled"]:
                        if self._malform > 0:
                            self._malform -= 1
                            self.malformed_sent += 1
                            msg = msg[: len(msg) // 2]
                        st["q"].put_nowait(msg)
        self.done.set()

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        url = urlsplit(ws.request.path)
        if url.path != "/stream":
            await ws.close(1008, "unknown path")
            return
        streams = parse_qs(url.query).get("streams", [""])[0].split("/")
        symbols = {s.split("@")[0].upper() for s in streams if s.endswith("@trade")}
        self.connections += 1
        q: asyncio.Queue[str] = asyncio.Queue()
        st: dict[str, Any] = {"symbols": symbols, "stalled": False, "q": q}
        self._conns[ws] = st
        tasks = [
            asyncio.create_task(self._writer(ws, q)),
            asyncio.create_task(self._pinger(ws, st)),
        ]
        try:
            if self.max_age_s is not None:
                await asyncio.wait_for(ws.wait_closed(), self.max_age_s)
            else:
                await ws.wait_closed()
        except TimeoutError:
            self.closed_for_age += 1
            await ws.close(1000, "24h")
        finally:
            self._conns.pop(ws, None)
            for t in tasks:
                t.cancel()

    async def _writer(self, ws: ServerConnection, q: asyncio.Queue[str]) -> None:
        try:
            while True:
                await ws.send(await q.get())
        except ConnectionClosed:
            pass

    async def _pinger(self, ws: ServerConnection, st: dict[str, Any]) -> None:
        try:
            while True:
                await asyncio.sleep(self.ping_interval_s)
                if st["stalled"]:
                    continue
                self.pings += 1
                waiter = await ws.ping(f"p{self.pings}".encode())
                asyncio.ensure_future(waiter).add_done_callback(self._on_pong)
        except ConnectionClosed:
            pass

    def _on_pong(self, fut: asyncio.Future[float]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self.pongs += 1

    async def _hist(self, req: Request) -> JSONResponse:
        sym = req.query_params["symbol"]
        from_id = int(req.query_params["fromId"])
        limit = min(1000, int(req.query_params.get("limit", "500")))
        rows = [t for t in self.trades.get(sym, []) if t.id >= from_id][:limit]
        return JSONResponse([{"id": t.id, "price": t.price, "qty": t.qty,
                              "quoteQty": "0", "time": t.time_ms, "isBuyerMaker": t.maker,
                              "isBestMatch": True} for t in rows])  # fmt: skip
