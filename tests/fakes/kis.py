"""A fake KIS Open API (protocols.md §A): tokenP / Approval, quotations REST with a per-app-key
rate limit counted here, and the realtime WebSocket (H0STCNT0, H0STASP0, PINGPONG).

Fault modes: ``drop()`` (abort connections mid-stream, no close frame), ``stall()`` (keep
connections open, send nothing), ``malform(n)`` (garble the next n data frames),
``force_rate_limit(n)`` (answer the next n quotation requests with EGW00201), and the normal
protocol rule that a second token within ``token_interval_s`` is refused (EGW00133).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from datetime import date, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.fakes.http import HttpServer, free_socket
from tests.fakes.market import FakeMarket, Trade

APP_KEY = "PSfakeAppKey0000000000000000000000000"
APP_SECRET = "fakeSecret" + "s" * 170
MAX_SUBS = 40
PAGE = 30  # rows per inquire-time-itemconclusion call


def trade_record(t: Trade, day: str) -> list[str]:
    f = ["0"] * 46
    f[0], f[1], f[2] = t.symbol, t.hhmmss, str(t.price)
    f[3], f[4], f[5] = "2", "0", "0.00"
    f[6] = f"{t.price}.00"
    f[7] = f[8] = f[9] = str(t.price)
    f[10], f[11] = str(t.ask), str(t.bid)
    f[12], f[13] = str(t.qty), str(t.acml)
    f[21] = "1" if t.buy else "5"
    f[24] = f[27] = f[30] = "090000"
    f[33], f[34], f[35] = day, "20", "N"
    f[43] = "0"
    return f


def book_record(t: Trade) -> list[str]:
    f = ["0"] * 59
    f[0], f[1], f[2] = t.symbol, t.hhmmss, "0"
    step = max(1, t.ask - t.bid)
    for k in range(10):
        f[3 + k] = str(t.ask + k * step)
        f[13 + k] = str(t.bid - k * step)
        f[23 + k] = str(100 * (k + 1))
        f[33 + k] = str(110 * (k + 1))
    f[53] = str(t.acml)
    f[58] = "00"
    return f


class FakeKis:
    def __init__(
        self,
        market: FakeMarket,
        *,
        rate_limit: int = 20,
        token_interval_s: float = 60.0,
        token_lifetime_s: float = 86_400.0,
        ping_interval_s: float = 0.5,
        records_per_frame: int = 4,
    ) -> None:
        self.market = market
        self.rate_limit = rate_limit
        self.token_interval_s = token_interval_s
        self.token_lifetime_s = token_lifetime_s
        self.ping_interval_s = ping_interval_s
        self.records_per_frame = records_per_frame
        # counters the tests assert on
        self.requests = 0
        self.violations = 0  # requests beyond the limit in a one-second window
        self.forced = 0
        self.tokens_issued = 0
        self.token_refusals = 0
        self.approvals = 0
        self.connections = 0
        self.max_subs_seen = 0
        self.sub_requests: list[tuple[str, str, str]] = []  # (tr_type, tr_id, tr_key)
        self.pongs = 0
        self.frames_sent = 0
        self.malformed_sent = 0
        # state
        self._window: deque[float] = deque()
        self._token: str | None = None
        self._token_at = 0.0
        self._approval_keys: set[str] = set()
        self._force_limit = 0
        self._malform = 0
        self._conns: dict[ServerConnection, dict[str, Any]] = {}
        self._ws_server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        routes = [
            Route("/oauth2/tokenP", self._token_ep, methods=["POST"]),
            Route("/oauth2/Approval", self._approval_ep, methods=["POST"]),
            Route("/uapi/domestic-stock/v1/quotations/inquire-price", self._price_ep),
            Route("/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice",
                  self._daily_ep),
            Route("/uapi/domestic-stock/v1/quotations/inquire-time-itemconclusion",
                  self._trades_ep),
        ]  # fmt: skip
        self.http = HttpServer(Starlette(routes=routes))
        self.rest_url = self.http.url
        self._ws_sock = free_socket()
        self.ws_url = f"ws://127.0.0.1:{self._ws_sock.getsockname()[1]}"
        self.daily: dict[str, list[dict[str, str]]] = {}  # symbol → rows newest first

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await self.http.start()
        self._ws_server = await serve(self._ws_handler, sock=self._ws_sock, ping_interval=None)
        self.market.listeners.append(self._on_trades)
        self._tasks.append(asyncio.create_task(self._pinger()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
        await self.http.stop()

    # --- faults --------------------------------------------------------------------------
    def drop(self) -> int:
        """Abort every connection without a close frame, as a network cut does."""
        n = 0
        for ws in list(self._conns):
            ws.transport.abort()
            n += 1
        return n

    def stall(self) -> None:
        """Stop sending anything on the open connections (new ones work)."""
        for st in self._conns.values():
            st["stalled"] = True

    def malform(self, frames: int) -> None:
        self._malform += frames

    def force_rate_limit(self, n: int) -> None:
        self._force_limit += n

    def issued_token_recently(self) -> None:
        """As if another process of this app key had just taken a token."""
        self._token_at = time.monotonic()

    # --- REST ----------------------------------------------------------------------------
    async def _token_ep(self, req: Request) -> JSONResponse:
        body = await req.json()
        if body.get("appkey") != APP_KEY or body.get("appsecret") != APP_SECRET:
            return JSONResponse({"error_code": "EGW00103", "error_description": "invalid"}, 403)
        now = time.monotonic()
        if self._token_at and now - self._token_at < self.token_interval_s:
            self.token_refusals += 1
            return JSONResponse(
                {"error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
                 "error_code": "EGW00133"}, 403)  # fmt: skip
        self._token_at = now
        self.tokens_issued += 1
        self._token = f"eyJfake.{self.tokens_issued}.token"
        exp = time.time() + self.token_lifetime_s
        return JSONResponse({
            "access_token": self._token, "token_type": "Bearer",
            "expires_in": int(self.token_lifetime_s),
            "access_token_token_expired": time.strftime(
                "%Y-%m-%d %H:%M:%S", time.gmtime(exp + 9 * 3600)),
        })  # fmt: skip

    async def _approval_ep(self, req: Request) -> JSONResponse:
        body = await req.json()
        if body.get("appkey") != APP_KEY or body.get("secretkey") != APP_SECRET:
            return JSONResponse({"error_code": "EGW00103"}, 403)
        self.approvals += 1
        key = f"approval-{self.approvals:04d}-0000-0000"
        self._approval_keys.add(key)
        return JSONResponse({"approval_key": key})

    def _gate(self, req: Request) -> JSONResponse | None:
        """Auth and the per-second limit, counted the way KIS counts: every request in the
        last second, including refused ones."""
        self.requests += 1
        now = time.monotonic()
        w = self._window
        w.append(now)
        while w and w[0] <= now - 1.0:
            w.popleft()
        if req.headers.get("appkey") != APP_KEY or req.headers.get("appsecret") != APP_SECRET:
            return JSONResponse({"rt_cd": "1", "msg_cd": "EGW00103", "msg1": "bad key"}, 403)
        if req.headers.get("authorization") != f"Bearer {self._token}":
            return JSONResponse({"rt_cd": "1", "msg_cd": "EGW00123",
                                 "msg1": "기간이 만료된 token 입니다."}, 500)  # fmt: skip
        if len(w) > self.rate_limit:
            self.violations += 1
            return _rate_limited()
        if self._force_limit > 0:
            self._force_limit -= 1
            self.forced += 1
            return _rate_limited()
        return None

    async def _price_ep(self, req: Request) -> JSONResponse:
        if (bad := self._gate(req)) is not None:
            return bad
        sym = _param(req, "FID_INPUT_ISCD")
        trades = self.market.trades.get(sym) or []
        last = trades[-1] if trades else None
        out = {
            "stck_prpr": str(last.price if last else 0),
            "acml_vol": str(last.acml if last else 0),
            "stck_shrn_iscd": sym,
        }
        return _ok({"output": out})

    async def _daily_ep(self, req: Request) -> JSONResponse:
        if (bad := self._gate(req)) is not None:
            return bad
        sym = _param(req, "FID_INPUT_ISCD")
        d1, d2 = _param(req, "FID_INPUT_DATE_1"), _param(req, "FID_INPUT_DATE_2")
        rows = [r for r in self.daily.get(sym, []) if d1 <= r["stck_bsop_date"] <= d2][:100]
        return _ok({"output1": {"stck_shrn_iscd": sym}, "output2": rows})

    async def _trades_ep(self, req: Request) -> JSONResponse:
        if (bad := self._gate(req)) is not None:
            return bad
        sym = _param(req, "FID_INPUT_ISCD")
        hour = _param(req, "FID_INPUT_HOUR_1")
        rows: list[dict[str, str]] = []
        for t in reversed(self.market.trades.get(sym) or []):
            if t.hhmmss <= hour:
                rows.append({"stck_cntg_hour": t.hhmmss, "stck_pbpr": str(t.price),
                             "prdy_vrss": "0", "prdy_vrss_sign": "3", "prdy_ctrt": "0.00",
                             "askp": str(t.ask), "bidp": str(t.bid), "tday_rltv": "100.00",
                             "acml_vol": str(t.acml), "cnqn": str(t.qty)})  # fmt: skip
                if len(rows) == PAGE:
                    break
        return _ok({"output1": {"stck_prpr": "0"}, "output2": rows})

    # --- WebSocket -----------------------------------------------------------------------
    async def _ws_handler(self, ws: ServerConnection) -> None:
        if not ws.request or not ws.request.path.startswith("/tryitout"):
            await ws.close(1008, "unknown path")
            return
        self.connections += 1
        queue: asyncio.Queue[str] = asyncio.Queue()
        st: dict[str, Any] = {"subs": set(), "stalled": False, "q": queue}
        self._conns[ws] = st
        writer = asyncio.create_task(_writer(ws, queue))
        try:
            async for msg in ws:
                if isinstance(msg, bytes):
                    continue
                data = json.loads(msg)
                header = data.get("header", {})
                if header.get("tr_id") == "PINGPONG":
                    self.pongs += 1
                    continue
                await self._on_sub(ws, st, data)
        except ConnectionClosed:
            pass
        finally:
            self._conns.pop(ws, None)
            writer.cancel()

    async def _on_sub(self, ws: ServerConnection, st: dict[str, Any], data: dict[str, Any]) -> None:
        header = data["header"]
        inp = data["body"]["input"]
        tr_id, key, tr_type = inp["tr_id"], inp["tr_key"], header["tr_type"]
        self.sub_requests.append((tr_type, tr_id, key))
        subs: set[tuple[str, str]] = st["subs"]

        def reply(rt: str, code: str, text: str) -> str:
            return json.dumps({"header": {"tr_id": tr_id, "tr_key": key, "encrypt": "N"},
                               "body": {"rt_cd": rt, "msg_cd": code, "msg1": text,
                                        "output": {"iv": "0123456789abcdef",
                                                   "key": "k" * 32}}})  # fmt: skip

        if header.get("approval_key") not in self._approval_keys:
            self._send(ws, reply("1", "OPSP0011", "invalid approval : NOT FOUND"))
            return
        if tr_type == "2":
            if (tr_id, key) in subs:
                subs.discard((tr_id, key))
                self._send(ws, reply("0", "OPSP0001", "UNSUBSCRIBE SUCCESS"))
            else:
                self._send(ws, reply("1", "OPSP0003", "UNSUBSCRIBE ERROR(not found!)"))
            return
        if (tr_id, key) in subs:
            self._send(ws, reply("1", "OPSP0002", "ALREADY IN SUBSCRIBE"))
            return
        if len(subs) >= MAX_SUBS:
            self._send(ws, reply("1", "OPSP0008", "MAX SUBSCRIBE OVER"))
            return
        subs.add((tr_id, key))
        self.max_subs_seen = max(self.max_subs_seen, len(subs))
        self._send(ws, reply("0", "OPSP0000", "SUBSCRIBE SUCCESS"))

    def _on_trades(self, batch: list[Trade]) -> None:
        for ws, st in list(self._conns.items()):
            if st["stalled"]:
                continue
            subs: set[tuple[str, str]] = st["subs"]
            mine = [t for t in batch if ("H0STCNT0", t.symbol) in subs]
            for i in range(0, len(mine), self.records_per_frame):
                chunk = mine[i : i + self.records_per_frame]
                payload = "^".join("^".join(trade_record(t, self.market.day)) for t in chunk)
                frame = f"0|H0STCNT0|{len(chunk):03d}|{payload}"
                if self._malform > 0:
                    self._malform -= 1
                    self.malformed_sent += 1
                    frame = frame[: len(frame) // 2]  # cut mid-record: field count is wrong
                self._send(ws, frame)
            books = {t.symbol: t for t in batch if ("H0STASP0", t.symbol) in subs}
            for t in books.values():
                self._send(ws, f"0|H0STASP0|001|{'^'.join(book_record(t))}")

    def _send(self, ws: ServerConnection, frame: str) -> None:
        st = self._conns.get(ws)
        if st is not None:
            self.frames_sent += 1
            st["q"].put_nowait(frame)

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            msg = json.dumps({"header": {"tr_id": "PINGPONG", "datetime": "20250103093000"}})
            for _ws, st in list(self._conns.items()):
                if not st["stalled"]:
                    st["q"].put_nowait(msg)

    def add_daily(self, symbol: str, start: date, days: int, price: int = 70_000) -> None:
        rows = []
        d = start
        for i in range(days):
            while d.weekday() >= 5:
                d += timedelta(days=1)
            p = price + 100 * (i % 7)
            rows.append({"stck_bsop_date": d.strftime("%Y%m%d"), "stck_oprc": str(p),
                         "stck_hgpr": str(p + 500), "stck_lwpr": str(p - 500),
                         "stck_clpr": str(p + 100), "acml_vol": str(1_000_000 + i),
                         "acml_tr_pbmn": str((p + 100) * (1_000_000 + i)),
                         "flng_cls_code": "00", "prtt_rate": "0.00", "mod_yn": "N"})  # fmt: skip
            d += timedelta(days=1)
        self.daily[symbol] = list(reversed(rows))


async def _writer(ws: ServerConnection, queue: asyncio.Queue[str]) -> None:
    """One writer per connection keeps frames in order."""
    try:
        while True:
            await ws.send(await queue.get())
    except ConnectionClosed:
        pass


def _param(req: Request, name: str) -> str:
    # KIS appears to accept query names in any case (protocols.md §A.8)
    for k, v in req.query_params.items():
        if k.upper() == name:
            return v
    return ""


def _ok(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        {**body, "rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다."}
    )


def _rate_limited() -> JSONResponse:
    return JSONResponse(
        {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."}, 500
    )
