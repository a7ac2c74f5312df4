"""A fake Kiwoom REST API (protocols.md §B): ``/oauth2/token`` and the realtime WebSocket
(LOGIN, REG/REMOVE of type 0B, server PING echoed back, REAL pushes keyed by FID).

Faults: ``drop()``, ``stall()``, ``malform(n)``, ``refuse_next_login()`` (token revoked).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.fakes.http import HttpServer, free_socket
from tests.fakes.market import FakeMarket, Trade

APP_KEY = "AxserEsdcredca-fake-kiwoom"
SECRET = "SEefdcwcforehDre2fdvc-fake"


def push(t: Trade) -> dict[str, Any]:
    sign = "+" if t.buy else "-"
    return {
        "type": "0B",
        "name": "주식체결",
        "item": t.symbol,
        "values": {
            "20": t.hhmmss,
            "10": f"+{t.price}",
            "11": "+0",
            "12": "+0.00",
            "27": f"+{t.ask}",
            "28": f"+{t.bid}",
            "15": f"{sign}{t.qty}",
            "13": str(t.acml),
            "14": "0",
            "16": str(t.price),
            "17": str(t.price),
            "18": str(t.price),
            "25": "2",
            "290": "2",
        },
    }


class FakeKiwoom:
    def __init__(
        self, market: FakeMarket, *, ping_interval_s: float = 0.1, ping_first: bool = False
    ) -> None:
        self.market = market
        self.ping_interval_s = ping_interval_s
        # the server PINGs whenever it likes (protocols.md §B.5), also before answering LOGIN
        self.ping_first = ping_first
        self.tokens_issued = 0
        self.token_content_types: list[str] = []  # Content-Type of each token request
        self.logins = 0
        self.refused_logins = 0
        self.pings_echoed = 0
        self.regs: list[list[str]] = []
        self.removes: list[list[str]] = []
        self.malformed_sent = 0
        self._tokens: set[str] = set()
        self._refuse = False
        self._malform = 0
        self._conns: dict[ServerConnection, dict[str, Any]] = {}
        self._server: Server | None = None
        self._sock = free_socket()
        self.ws_url = f"ws://127.0.0.1:{self._sock.getsockname()[1]}/api/dostk/websocket"
        self.http = HttpServer(Starlette(routes=[Route("/oauth2/token", self._token,
                                                       methods=["POST"])]))  # fmt: skip
        self.rest_url = self.http.url

    async def start(self) -> None:
        await self.http.start()
        self._server = await serve(self._handler, sock=self._sock, ping_interval=None)
        self.market.listeners.append(self._on_trades)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.http.stop()

    def drop(self) -> None:
        for ws in list(self._conns):
            ws.transport.abort()

    def stall(self) -> None:
        for st in self._conns.values():
            st["stalled"] = True

    def malform(self, n: int) -> None:
        self._malform += n

    def registered(self) -> set[str]:
        """Items registered on the live connections now."""
        return {i for st in self._conns.values() for i in st["items"]}

    def refuse_next_login(self) -> None:
        self._refuse = True

    async def _token(self, req: Request) -> JSONResponse:
        self.token_content_types.append(req.headers.get("content-type", ""))
        body = await req.json()
        if body.get("appkey") != APP_KEY or body.get("secretkey") != SECRET:
            return JSONResponse({"return_code": 3, "return_msg": "인증 실패"}, 200)
        self.tokens_issued += 1
        tok = f"WQJC-fake-{self.tokens_issued}"
        self._tokens.add(tok)
        return JSONResponse({"expires_dt": "20991231235959", "token_type": "bearer",
                             "token": tok, "return_code": 0,
                             "return_msg": "정상적으로 처리되었습니다"})  # fmt: skip

    async def _handler(self, ws: ServerConnection) -> None:
        q: asyncio.Queue[str] = asyncio.Queue()
        st: dict[str, Any] = {"items": set(), "stalled": False, "q": q, "login": False}
        self._conns[ws] = st
        if self.ping_first:
            q.put_nowait(json.dumps({"trnm": "PING"}))
        tasks = [asyncio.create_task(self._writer(ws, q)), asyncio.create_task(self._pinger(st))]
        try:
            async for raw in ws:
                msg = json.loads(raw)
                trnm = msg.get("trnm")
                if trnm == "LOGIN":
                    ok = msg.get("token") in self._tokens and not self._refuse
                    if self._refuse:
                        self._refuse = False
                        self._tokens.clear()  # the token was revoked
                    self.logins += ok
                    self.refused_logins += not ok
                    st["login"] = ok
                    q.put_nowait(
                        json.dumps(
                            {
                                "trnm": "LOGIN",
                                "return_code": 0 if ok else 1,
                                "return_msg": "" if ok else "토큰 오류",
                            }
                        )
                    )
                elif trnm == "PING":
                    self.pings_echoed += 1
                elif trnm in ("REG", "REMOVE") and st["login"]:
                    items = [i for d in msg["data"] for i in d["item"]]
                    if trnm == "REG":
                        self.regs.append(items)
                        st["items"].update(items)
                    else:
                        self.removes.append(items)
                        st["items"].difference_update(items)
                    q.put_nowait(json.dumps({"trnm": trnm, "return_code": 0, "return_msg": ""}))
        except ConnectionClosed:
            pass
        finally:
            self._conns.pop(ws, None)
            for t in tasks:
                t.cancel()

    def _on_trades(self, batch: list[Trade]) -> None:
        for st in self._conns.values():
            mine = [t for t in batch if t.symbol in st["items"]]
            if st["stalled"] or not mine:
                continue
            for i in range(0, len(mine), 3):
                msg = json.dumps({"trnm": "REAL", "data": [push(t) for t in mine[i : i + 3]]})
                if self._malform > 0:
                    self._malform -= 1
                    self.malformed_sent += 1
                    msg = msg[:20]
                st["q"].put_nowait(msg)

    async def _writer(self, ws: ServerConnection, q: asyncio.Queue[str]) -> None:
        try:
            while True:
                await ws.send(await q.get())
        except ConnectionClosed:
            pass

    async def _pinger(self, st: dict[str, Any]) -> None:
        n = 0
        while True:
            await asyncio.sleep(self.ping_interval_s)
            if not st["stalled"]:
                n += 1
                st["q"].put_nowait(json.dumps({"trnm": "PING", "seq": n}))
