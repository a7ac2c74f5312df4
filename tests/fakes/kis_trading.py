"""A local fake of KIS trading (shared docs/protocols-trading.md §1): token, cash orders,
cancel, buyable, balance (paged), daily orders/fills (paged), and the encrypted realtime fill
notice over WebSocket. Tokens follow protocols.md §A.2 per app key: one tokenP a minute (a
second is refused with EGW00133), the same token again within 6 hours. The current-price
quotation is served too: KIS serves market data and trading on one host and counts both
against the app key's per-second limit. Faults on demand: refusals, answers that never come
(after or before the order is taken), partial fills, dropped notice connections."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.server import Server, ServerConnection, serve

from tests.fakes.http import HttpServer, free_socket

APP_KEY = "PSfakeTradingKey000000000000000000000"
APP_SECRET = "fakeTradingSecret" + "t" * 163
CANO, PRODUCT = "50123456", "01"
HTS_ID = "myhtsid"
AES_KEY = "Zx8pQ2rT5vW7yA1bC3dE5fG7hJ9kL1mN"
AES_IV = "a1B2c3D4e5F6g7H8"


def encrypt(plain: str, key: str = AES_KEY, iv: str = AES_IV) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


@dataclass
class FakeOrder:
    odno: str
    symbol: str
    side: str  # "01" sell, "02" buy
    qty: int
    price: int
    time: str
    filled: int = 0
    amount: int = 0
    cancelled: bool = False


class FakeKisTrading:
    def __init__(self, *, page_size: int = 2) -> None:
        self.page_size = page_size
        self.cash = 10_000_000  # D+2 cash
        self.commission_rate = Decimal("0.00015")  # the account's fee plan (0.015 %)
        self.positions: dict[str, tuple[int, int]] = {}  # symbol → (qty, cost)
        self.orders: dict[str, FakeOrder] = {}
        # more accounts of the same customer (CANO + product → D+2 cash, positions), for
        # their balance; orders go to the CANO/PRODUCT account only
        self.other_accounts: dict[str, tuple[int, dict[str, tuple[int, int]]]] = {}
        self.next_odno = 117_000
        # faults
        self.refuse_next: tuple[str, str] | None = None  # (msg_cd, msg1)
        self.hang_next: str | None = None  # "after" (order taken) | "before" (not taken)
        self.hang_seconds = 5.0
        # KIS paper was seen answering the daily inquiry with no rows (protocols-trading §1.5)
        self.daily_rows_hidden = False
        # KIS counts REST calls per app key in one-second windows (paper 2/s, protocols.md):
        # over the limit the call is refused with EGW00201 (HTTP 500), orders included
        self.rate_limit: int | None = None
        self.throttled = 0
        self._calls: deque[float] = deque()
        # what the tests assert on
        self.order_posts = 0
        self.cancel_posts = 0
        self.quotes = 0
        self.notice_subs: list[str] = []
        self.notice_paths: list[str] = []  # the path of each notice connection
        # app key → secret: more keys of the same customer may be added
        self.keys: dict[str, str] = {APP_KEY: APP_SECRET}
        self.token_interval_s = 60.0
        self.token_requests: dict[str, int] = {}  # app key → tokenP answered with a token
        self.token_refusals = 0  # EGW00133
        self.tokens_issued = 0  # distinct tokens
        self._tokens: dict[str, tuple[str, float]] = {}  # app key → (token, issued at)
        self._token_at: dict[str, float] = {}  # app key → last tokenP answered
        self._conns: set[ServerConnection] = set()
        self._ws_server: Server | None = None
        routes = [
            Route("/oauth2/tokenP", self._token_ep, methods=["POST"]),
            Route("/oauth2/Approval", self._approval_ep, methods=["POST"]),
            Route("/uapi/domestic-stock/v1/trading/order-cash", self._order_ep, methods=["POST"]),
            Route(
                "/uapi/domestic-stock/v1/trading/order-rvsecncl", self._cancel_ep, methods=["POST"]
            ),
            Route("/uapi/domestic-stock/v1/trading/inquire-psbl-order", self._buyable_ep),
            Route("/uapi/domestic-stock/v1/trading/inquire-balance", self._balance_ep),
            Route("/uapi/domestic-stock/v1/trading/inquire-daily-ccld", self._daily_ep),
            Route("/uapi/domestic-stock/v1/quotations/inquire-price", self._price_ep),
        ]
        self.http = HttpServer(Starlette(routes=routes))
        self.rest_url = self.http.url
        self._ws_sock = free_socket()
        self.ws_url = f"ws://127.0.0.1:{self._ws_sock.getsockname()[1]}"

    async def start(self) -> None:
        await self.http.start()
        self._ws_server = await serve(self._ws, sock=self._ws_sock, ping_interval=None)

    async def stop(self) -> None:
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
        await self.http.stop()

    # --- the exchange side ------------------------------------------------------------------
    async def fill(self, odno: str, qty: int, price: int, notify: bool = True) -> None:
        """The exchange fills ``qty`` of an order; a notice goes out unless ``notify`` is off
        (a notice lost while the client was away)."""
        o = self.orders[odno]
        qty = min(qty, o.qty - o.filled)
        o.filled += qty
        o.amount += qty * price
        q, cost = self.positions.get(o.symbol, (0, 0))
        amount = qty * price
        commission = int(amount * self.commission_rate)
        if o.side == "02":
            self.cash -= amount + commission
            self.positions[o.symbol] = (q + qty, cost + amount)
        else:
            tax = amount * 20 // 10_000
            self.cash += amount - commission - tax
            self.positions[o.symbol] = (q - qty, cost - cost * qty // q if q else 0)
        if notify:
            await self.notify(self.notice(o, qty, price, fill=True))

    def notice(self, o: FakeOrder, qty: int, price: int, *, fill: bool) -> str:
        f = [
            HTS_ID, CANO + PRODUCT, o.odno, "0000000000", o.side, "0", "00", "0", o.symbol,
            str(qty), str(price), _kst_hhmmss(), "0", "2" if fill else "1",
            "2" if fill else "1", "91252", str(o.qty), "홍길동", "0", "1", "Y", "", "10", "",
            "삼성전자", str(o.price),
        ]  # fmt: skip
        return "^".join(f)

    async def notify(self, plain: str) -> None:
        frame = f"1|H0STCNI9|001|{encrypt(plain)}"
        for ws in list(self._conns):
            with contextlib.suppress(Exception):
                await ws.send(frame)

    async def drop_notices(self) -> None:
        """Close every notice connection (a disconnect)."""
        for ws in list(self._conns):
            await ws.close()

    # --- REST ---------------------------------------------------------------------------------
    def _auth(self, req: Request) -> JSONResponse | None:
        h = req.headers
        key = h.get("appkey", "")
        if key not in self.keys or h.get("appsecret") != self.keys[key]:
            return JSONResponse({"rt_cd": "1", "msg_cd": "EGW00103", "msg1": "bad key"}, 403)
        token = self._tokens.get(key)
        if token is None or h.get("authorization") != f"Bearer {token[0]}":
            return JSONResponse(
                {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."}, 500
            )
        if self.rate_limit is not None:
            now = time.monotonic()
            while self._calls and self._calls[0] <= now - 1.0:
                self._calls.popleft()
            if len(self._calls) >= self.rate_limit:
                self.throttled += 1
                return JSONResponse(
                    {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."},
                    500,
                )
            self._calls.append(now)
        return None

    async def _token_ep(self, req: Request) -> JSONResponse:
        body = await req.json()
        key = str(body.get("appkey", ""))
        if key not in self.keys or body.get("appsecret") != self.keys[key]:
            return JSONResponse({"error_code": "EGW00103"}, 403)
        now = time.monotonic()
        last = self._token_at.get(key)
        if last is not None and now - last < self.token_interval_s:
            self.token_refusals += 1
            return JSONResponse(
                {"error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
                 "error_code": "EGW00133"}, 403)  # fmt: skip
        self._token_at[key] = now
        self.token_requests[key] = self.token_requests.get(key, 0) + 1
        token = self._tokens.get(key)
        if token is None or now - token[1] >= 6 * 3600:
            self.tokens_issued += 1
            token = (f"eyJfake.trading.{self.tokens_issued}.token", now)
            self._tokens[key] = token
        return JSONResponse(
            {"access_token": token[0], "token_type": "Bearer", "expires_in": 86_400}
        )

    async def _approval_ep(self, req: Request) -> JSONResponse:
        return JSONResponse({"approval_key": "approval-fake-trading"})

    async def _order_ep(self, req: Request) -> JSONResponse:
        if (bad := self._auth(req)) is not None:
            return bad
        self.order_posts += 1
        tr_id = req.headers.get("tr_id", "")
        body = await req.json()
        if tr_id not in ("VTTC0012U", "VTTC0011U", "TTTC0012U", "TTTC0011U"):
            return _fail("EGW02006", "모의투자 TR 이 아닙니다.")
        if body.get("CANO") != CANO or body.get("ACNT_PRDT_CD") != PRODUCT:
            return _fail("40240000", "계좌번호 오류")
        if self.refuse_next is not None:
            code, text = self.refuse_next
            self.refuse_next = None
            return _fail(code, text)
        hang, self.hang_next = self.hang_next, None
        if hang == "before":
            await asyncio.sleep(self.hang_seconds)
            return _fail("EGW00000", "late")
        price = int(body["ORD_UNPR"])
        qty = int(body["ORD_QTY"])
        if body["ORD_DVSN"] == "00" and price % 100:
            return _fail("40030000", "모의투자 주문처리가 안되었습니다(호가단위 오류)")
        self.next_odno += 1
        odno = f"{self.next_odno:010d}"
        side = "02" if tr_id.endswith("12U") else "01"
        o = FakeOrder(odno, body["PDNO"], side, qty, price, _kst_hhmmss())
        self.orders[odno] = o
        await self.notify(self.notice(o, qty, price, fill=False))
        if hang == "after":
            await asyncio.sleep(self.hang_seconds)
        return _ok(
            {
                "rt_cd": "0",
                "msg_cd": "40600000" if side == "02" else "40590000",
                "msg1": "모의투자 매수주문이 완료 되었습니다.",
                "output": {"KRX_FWDG_ORD_ORGNO": "91252", "ODNO": odno, "ORD_TMD": o.time},
            }
        )

    async def _cancel_ep(self, req: Request) -> JSONResponse:
        if (bad := self._auth(req)) is not None:
            return bad
        self.cancel_posts += 1
        body = await req.json()
        o = self.orders.get(body["ORGN_ODNO"])
        if o is None or o.cancelled or o.filled >= o.qty:
            return _fail("40330000", "모의투자 정정/취소할 수량이 없습니다.")
        o.cancelled = True
        self.next_odno += 1
        return _ok(
            {
                "rt_cd": "0",
                "msg_cd": "40630000",
                "msg1": "모의투자 취소주문이 완료 되었습니다.",
                "output": {
                    "krx_fwdg_ord_orgno": "91252",
                    "odno": f"{self.next_odno:010d}",
                    "ord_tmd": _kst_hhmmss(),
                },
            }
        )

    async def _buyable_ep(self, req: Request) -> JSONResponse:
        if (bad := self._auth(req)) is not None:
            return bad
        price = int(req.query_params.get("ORD_UNPR") or 71_500)
        return _ok(
            {
                "rt_cd": "0",
                "msg_cd": "20310000",
                "msg1": "조회",
                "output": {
                    "ord_psbl_cash": str(self.cash),
                    "nrcvb_buy_amt": str(self.cash),
                    "nrcvb_buy_qty": str(self.cash // (price + price * 15 // 100_000 + 1)),
                    "max_buy_qty": "0",
                },
            }
        )

    async def _price_ep(self, req: Request) -> JSONResponse:
        if (bad := self._auth(req)) is not None:
            return bad
        self.quotes += 1
        return _ok(
            {
                "rt_cd": "0",
                "msg_cd": "MCA00000",
                "msg1": "정상처리 되었습니다.",
                "output": {"stck_shrn_iscd": req.query_params.get("FID_INPUT_ISCD", ""),
                           "stck_prpr": "71500"},
            }
        )  # fmt: skip

    def _page(self, req: Request, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        start = int(req.query_params.get("CTX_AREA_NK100") or 0)
        page = rows[start : start + self.page_size]
        more = start + self.page_size < len(rows)
        return page, str(start + self.page_size) if more else ""

    async def _balance_ep(self, req: Request) -> JSONResponse:
        if (bad := self._auth(req)) is not None:
            return bad
        q = req.query_params
        account = f"{q.get('CANO')}{q.get('ACNT_PRDT_CD')}"
        cash, positions = self.cash, self.positions
        if account in self.other_accounts:
            cash, positions = self.other_accounts[account]
        elif account != CANO + PRODUCT:
            return _fail("40240000", "계좌번호 오류")  # the order endpoint's refusal, reused
        rows = [
            {
                "pdno": s,
                "prdt_name": s,
                "hldg_qty": str(q),
                "ord_psbl_qty": str(q),
                "pchs_avg_pric": f"{cost / q:.4f}" if q else "0.0000",
                "pchs_amt": str(cost),
            }
            for s, (q, cost) in sorted(positions.items())
        ] + [{"pdno": "000020", "hldg_qty": "0", "pchs_avg_pric": "0"}]  # a sold-out row
        page, nk = self._page(req, rows)
        return _ok(
            {
                "rt_cd": "0",
                "msg_cd": "20310000",
                "msg1": "조회",
                "ctx_area_fk100": "",
                "ctx_area_nk100": nk,
                "output1": page,
                "output2": [{"dnca_tot_amt": "0", "prvs_rcdl_excc_amt": str(cash)}],
            },
            tr_cont="M" if nk else "D",
        )

    async def _daily_ep(self, req: Request) -> JSONResponse:
        if (bad := self._auth(req)) is not None:
            return bad
        q = req.query_params
        side = q.get("SLL_BUY_DVSN_CD") or "00"
        # INQR_DVSN 00 newest first, 01 oldest first (protocols-trading §1.5)
        taken = sorted(self.orders.values(), key=lambda o: (o.time, o.odno))
        if q.get("INQR_DVSN") != "01":
            taken.reverse()
        rows = [
            {
                "odno": o.odno,
                "ord_gno_brno": "91252",
                "pdno": o.symbol,
                "sll_buy_dvsn_cd": o.side,
                "ord_qty": str(o.qty),
                "ord_unpr": str(o.price),
                "ord_tmd": o.time,
                "tot_ccld_qty": str(o.filled),
                "avg_prvs": str(o.amount // o.filled) if o.filled else "0",
                "tot_ccld_amt": str(o.amount),
                "rmn_qty": "0" if o.cancelled else str(o.qty - o.filled),
                "cncl_yn": "Y" if o.cancelled else "N",
                "rjct_qty": "0",
            }
            for o in taken
            if not self.daily_rows_hidden
            and f"{q.get('CANO')}{q.get('ACNT_PRDT_CD')}" == CANO + PRODUCT
            and (not q.get("ODNO") or q["ODNO"] == o.odno)
            and (not q.get("PDNO") or q["PDNO"] == o.symbol)
            and side in ("00", o.side)
        ]
        page, nk = self._page(req, rows)
        return _ok(
            {
                "rt_cd": "0",
                "msg_cd": "20310000",
                "msg1": "조회",
                "ctx_area_fk100": "",
                "ctx_area_nk100": nk,
                "output1": page,
                "output2": {"tot_ord_qty": "0"},
            },
            tr_cont="M" if nk else "D",
        )

    # --- the notice socket ----------------------------------------------------------------
    async def _ws(self, ws: ServerConnection) -> None:
        self.notice_paths.append(ws.request.path if ws.request else "")
        self._conns.add(ws)
        try:
            async for raw in ws:
                msg = orjson.loads(raw)
                header, body = msg.get("header", {}), msg.get("body", {}).get("input", {})
                if header.get("tr_id") == "PINGPONG":
                    continue
                tr_id, key = body.get("tr_id"), body.get("tr_key")
                self.notice_subs.append(str(key))
                reply = {
                    "header": {"tr_id": tr_id, "tr_key": key, "encrypt": "Y"},
                    "body": {
                        "rt_cd": "0",
                        "msg_cd": "OPSP0000",
                        "msg1": "SUBSCRIBE SUCCESS",
                        "output": {"iv": AES_IV, "key": AES_KEY},
                    },
                }
                await ws.send(orjson.dumps(reply).decode())
        except Exception:
            pass
        finally:
            self._conns.discard(ws)


def _ok(body: dict[str, Any], tr_cont: str = "") -> JSONResponse:
    headers = {"tr_cont": tr_cont} if tr_cont else None
    return JSONResponse(body, headers=headers)


def _fail(code: str, text: str) -> JSONResponse:
    return JSONResponse({"rt_cd": "1", "msg_cd": code, "msg1": text})


def _kst_hhmmss() -> str:
    return time.strftime("%H%M%S", time.gmtime(time.time() + 9 * 3600))
