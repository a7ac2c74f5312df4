"""The KIS broker (shared docs/protocols-trading.md §1): cash orders, cancel, buyable amount,
balance, daily orders/fills, and the realtime fill notice (H0STCNI0 real / H0STCNI9 paper,
AES-256-CBC encrypted).

Orders are POSTed once and never retried: a timeout or a broken connection raises
``BrokerTimeout`` and the order stays UNKNOWN until the daily-fills inquiry says what happened.
Inquiries (GET) are retried on the gateway's rate limit (EGW00201) and a stale token
(EGW00123). Business refusals come as HTTP 200 with ``rt_cd != "0"``: ``BrokerRejected`` with
``msg_cd`` and ``msg1``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from aegis.core.errors import BrokerError
from aegis.core.timeutil import kst_day, now_us
from aegis.credentials.store import BrokerCredentials
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.ratelimit import TokenBucket
from aegis.sources.kis.auth import KisAuth
from aegis.sources.kis.calls import TOKEN_EXPIRED, KisCalls, kis_limiter
from aegis.trading.brokers.base import (
    Broker,
    BrokerBalance,
    BrokerOrderView,
    BrokerPosition,
    BrokerRejected,
    BrokerTimeout,
    broker_key,
)
from aegis.trading.models import Order, OrderStatus, OrderType, Side
from aegis.trading.session import day_order_close

log = logging.getLogger("aegis.trading.kis")

ORDER_PATH = "/uapi/domestic-stock/v1/trading/order-cash"
CANCEL_PATH = "/uapi/domestic-stock/v1/trading/order-rvsecncl"
BUYABLE_PATH = "/uapi/domestic-stock/v1/trading/inquire-psbl-order"
BALANCE_PATH = "/uapi/domestic-stock/v1/trading/inquire-balance"
DAILY_PATH = "/uapi/domestic-stock/v1/trading/inquire-daily-ccld"
MAX_PAGES = 10
# the balance is read to its last page: one cut short would miss positions, and the
# reconciliation would take them for sold (a false mismatch halts the account). Only a server
# that never says "last page" meets this bound (25,000 positions real, 10,000 paper)
BALANCE_PAGES = 500
# a lost answer's look-up pages newest first and stops at the first row older than the send:
# many pages only when that many orders of the same symbol and side came after ours
LOOKUP_PAGES = 100


class InquiryRefused(BrokerError):
    """KIS answered an inquiry with a refusal (``rt_cd != "0"``), e.g. an unknown account."""


def tr(real_id: str, paper: bool) -> str:
    """Paper TR ids swap the leading T for V (TTTC0012U → VTTC0012U)."""
    return "V" + real_id[1:] if paper else real_id


@dataclass(frozen=True, slots=True)
class KisAccount:
    cano: str  # 8 digits
    product: str  # 2 digits

    @classmethod
    def parse(cls, text: str) -> KisAccount:
        digits = text.replace("-", "")
        if len(digits) != 10 or not digits.isdigit():
            raise ValueError("a KIS account is 8 + 2 digits, e.g. 50123456-01")
        return cls(digits[:8], digits[8:])


@dataclass(frozen=True, slots=True)
class DailyRow:
    odno: str
    orgno: str
    symbol: str
    side: Side
    quantity: int
    price: int
    order_time: str  # HHMMSS
    filled: int
    average_price: int
    amount: int
    remaining: int
    cancelled: bool
    rejected: int


class KisTrading:
    """The trading REST calls."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        creds: BrokerCredentials,
        auth: KisAuth,
        account: KisAccount,
        *,
        max_retries: int = 4,
        retry_backoff: Backoff | None = None,
        limiter: TokenBucket | None = None,
    ) -> None:
        # KIS refuses calls over its per-second limit (EGW00201) and order POSTs are never
        # retried: every call, orders and cancels included, waits for its slot in the app
        # key's one bucket (shared with market data on the same key)
        self._calls = KisCalls(
            http,
            creds,
            auth,
            error=BrokerError,
            refused=InquiryRefused,
            limiter=limiter or kis_limiter(creds),
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            urgent=True,  # orders and their inquiries run on a timeout: before market data
        )
        self.account = account
        self.paper = creds.paper

    def __repr__(self) -> str:
        return "KisTrading(<redacted>)"

    async def post_once(self, path: str, tr_id: str, body: dict[str, str]) -> dict[str, Any]:
        """An order-changing POST: sent exactly once, whatever happens."""
        headers, token = await self._calls.headers(tr_id)
        if self._calls.limiter is not None:
            await self._calls.limiter.acquire(urgent=True)
        try:
            resp = await self._calls.http.post(path, json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise BrokerTimeout(f"KIS {tr_id}: no answer") from exc
        except httpx.TransportError as exc:
            # the request may or may not have reached KIS: the same as no answer
            raise BrokerTimeout(f"KIS {tr_id}: connection lost ({type(exc).__name__})") from exc
        data = self._calls.body(resp, tr_id)
        msg_cd = str(data.get("msg_cd", ""))
        if msg_cd == TOKEN_EXPIRED:
            self._calls.auth.invalidate(token)
        if data.get("rt_cd") != "0":
            raise BrokerRejected(msg_cd or str(resp.status_code), str(data.get("msg1", "")))
        return data

    async def get(
        self, path: str, tr_id: str, params: dict[str, str], tr_cont: str = ""
    ) -> tuple[dict[str, Any], str]:
        """An inquiry (retried on rate limits and an expired token, ``KisCalls``). Returns
        the body and the response's ``tr_cont`` header (paging)."""
        try:
            data, resp = await self._calls.get(path, tr_id, params, tr_cont)
        except httpx.TransportError as exc:
            raise BrokerError(f"KIS {tr_id}: {type(exc).__name__}") from exc
        return data, resp.headers.get("tr_cont", "")

    async def _pages(
        self,
        path: str,
        tr_id: str,
        params: dict[str, str],
        rows_key: str,
        *,
        max_pages: int = MAX_PAGES,
        enough: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
        """The rows of up to ``max_pages`` pages, or fewer once ``enough(page)``; the last
        body; and whether the rows are complete (no page left unread)."""
        rows: list[dict[str, Any]] = []
        params = {**params, "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""}
        cont = ""
        last: dict[str, Any] = {}
        for _ in range(max_pages):
            last, more = await self.get(path, tr_id, params, cont)
            page = [r for r in last.get(rows_key) or [] if isinstance(r, dict)]
            rows.extend(page)
            if more not in ("M", "F") or (enough is not None and enough(page)):
                return rows, last, True
            cont = "N"
            params["CTX_AREA_FK100"] = str(last.get("ctx_area_fk100", ""))
            params["CTX_AREA_NK100"] = str(last.get("ctx_area_nk100", ""))
        return rows, last, False

    # --- the calls --------------------------------------------------------------------------
    async def order_cash(self, order: Order) -> tuple[str, str]:
        """Returns (KRX_FWDG_ORD_ORGNO, ODNO)."""
        tr_id = tr("TTTC0012U" if order.side is Side.BUY else "TTTC0011U", self.paper)
        body = {
            "CANO": self.account.cano,
            "ACNT_PRDT_CD": self.account.product,
            "PDNO": order.symbol,
            "ORD_DVSN": "00" if order.type is OrderType.LIMIT else "01",
            "ORD_QTY": str(order.quantity),
            "ORD_UNPR": str(order.price if order.type is OrderType.LIMIT else 0),
            "EXCG_ID_DVSN_CD": "KRX",
        }
        if order.side is Side.SELL:
            body["SLL_TYPE"] = "01"
        data = await self.post_once(ORDER_PATH, tr_id, body)
        out = _upper(data.get("output") or {})
        odno, orgno = str(out.get("ODNO", "")), str(out.get("KRX_FWDG_ORD_ORGNO", ""))
        if not odno:
            raise BrokerError(f"KIS {tr_id}: accepted without an order number")
        return orgno, odno

    async def _rvsecncl(self, orgno: str, odno: str, code: str, qty: int, price: int) -> str:
        data = await self.post_once(
            CANCEL_PATH,
            tr("TTTC0013U", self.paper),
            {
                "CANO": self.account.cano,
                "ACNT_PRDT_CD": self.account.product,
                "KRX_FWDG_ORD_ORGNO": orgno,
                "ORGN_ODNO": odno,
                "ORD_DVSN": "00",
                "RVSE_CNCL_DVSN_CD": code,
                "ORD_QTY": str(qty),
                "ORD_UNPR": str(price),
                "QTY_ALL_ORD_YN": "Y" if qty == 0 else "N",
                "EXCG_ID_DVSN_CD": "KRX",
            },
        )
        return str(_upper(data.get("output") or {}).get("ODNO", ""))

    async def cancel(self, orgno: str, odno: str) -> str:
        """Cancel all that is left (quantity 0 + QTY_ALL_ORD_YN Y)."""
        return await self._rvsecncl(orgno, odno, "02", 0, 0)

    async def modify(self, orgno: str, odno: str, quantity: int, price: int) -> str:
        """Change the price (and quantity; 0 = all that is left); returns the new order
        number."""
        return await self._rvsecncl(orgno, odno, "01", quantity, price)

    async def buyable(self, symbol: str, price: int | None = None) -> tuple[int, int]:
        """(cash available for orders, shares buyable without 미수) at ``price``."""
        data, _ = await self.get(
            BUYABLE_PATH,
            tr("TTTC8908R", self.paper),
            {
                "CANO": self.account.cano,
                "ACNT_PRDT_CD": self.account.product,
                "PDNO": symbol,
                "ORD_UNPR": "" if price is None else str(price),
                "ORD_DVSN": "01" if price is None else "00",
                "CMA_EVLU_AMT_ICLD_YN": "N",
                "OVRS_ICLD_YN": "N",
            },
        )
        out = data.get("output") or {}
        return _int(out.get("ord_psbl_cash")), _int(out.get("nrcvb_buy_qty"))

    async def balance(self) -> BrokerBalance:
        tr_id = tr("TTTC8434R", self.paper)
        rows, last, complete = await self._pages(
            BALANCE_PATH,
            tr_id,
            {
                "CANO": self.account.cano,
                "ACNT_PRDT_CD": self.account.product,
                "AFHR_FLPR_YN": "N",
                "OFL_YN": "",
                "INQR_DVSN": "02",
                "UNPR_DVSN": "01",
                "FUND_STTL_ICLD_YN": "N",
                "FNCG_AMT_AUTO_RDPT_YN": "N",
                "PRCS_DVSN": "00",
            },
            "output1",
            max_pages=BALANCE_PAGES,
        )
        if not complete:
            raise BrokerError(
                f"KIS {tr_id}: the balance runs past {BALANCE_PAGES} pages; not read to its end"
            )
        positions = {}
        for r in rows:
            qty = _int(r.get("hldg_qty"))
            if qty <= 0:
                continue  # sold-out rows linger until settlement
            sym = str(r.get("pdno"))
            positions[sym] = BrokerPosition(sym, qty, float(r.get("pchs_avg_pric") or 0))
        summary = last.get("output2") or [{}]
        s = summary[0] if isinstance(summary, list) and summary else {}
        # D+2 cash: today's trades included, as our books count them
        return BrokerBalance(_int(s.get("prvs_rcdl_excc_amt")), positions)

    async def daily_orders(
        self,
        day: date,
        odno: str = "",
        *,
        symbol: str = "",
        side: Side | None = None,
        since: str | None = None,
        max_pages: int = MAX_PAGES,
    ) -> tuple[list[DailyRow], bool]:
        """The day's orders (filtered by order number, symbol, side), and whether the list is
        complete. ``since`` (HHMMSS): only orders placed at or after it are wanted, so they
        are asked for newest first and paging stops at the first older row."""
        ymd = day.strftime("%Y%m%d")
        enough = None
        if since is not None:

            def enough(page: list[dict[str, Any]]) -> bool:
                return any(str(r.get("ord_tmd", "")) < since for r in page)

        rows, _, complete = await self._pages(
            DAILY_PATH,
            tr("TTTC0081R", self.paper),
            {
                "CANO": self.account.cano,
                "ACNT_PRDT_CD": self.account.product,
                "INQR_STRT_DT": ymd,
                "INQR_END_DT": ymd,
                "SLL_BUY_DVSN_CD": {None: "00", Side.SELL: "01", Side.BUY: "02"}[side],
                "PDNO": symbol,
                "ORD_GNO_BRNO": "",
                "ODNO": odno,
                "CCLD_DVSN": "00",
                "INQR_DVSN": "00" if since is not None else "01",  # 00 newest first
                "INQR_DVSN_1": "",
                "INQR_DVSN_3": "00",
                "EXCG_ID_DVSN_CD": "KRX",
            },
            "output1",
            max_pages=max_pages,
            enough=enough,
        )
        return [
            DailyRow(
                str(r.get("odno", "")),
                str(r.get("ord_gno_brno", "")),
                str(r.get("pdno", "")),
                Side.SELL if r.get("sll_buy_dvsn_cd") == "01" else Side.BUY,
                _int(r.get("ord_qty")),
                _int(r.get("ord_unpr")),
                str(r.get("ord_tmd", "")),
                _int(r.get("tot_ccld_qty")),
                int(float(r.get("avg_prvs") or 0)),
                _int(r.get("tot_ccld_amt")),
                _int(r.get("rmn_qty")),
                r.get("cncl_yn") == "Y",
                _int(r.get("rjct_qty")),
            )
            for r in rows
        ], complete


# a day order's remainder is dead after the closing auction (15:30); fills of the auction may
# reach the daily inquiry a little later, and are booked before the order is closed
EXPIRY_GRACE_US = 5 * 60_000_000


class KisBroker(Broker):
    name = "kis"

    def __init__(self, client: KisTrading, clock: Callable[[], int] = now_us) -> None:
        self.client = client
        self.clock = clock  # wall time, UTC µs: KIS trades in real time

    async def submit(self, order: Order) -> str:
        orgno, odno = await self.client.order_cash(order)
        return f"{orgno}:{odno}"

    async def cancel(self, order: Order) -> None:
        if not order.broker_order_id:
            raise BrokerRejected("NO_ORDER_NUMBER", "the broker never confirmed this order")
        orgno, _, odno = order.broker_order_id.partition(":")
        await self.client.cancel(orgno, odno)

    async def lookup(self, order: Order, taken: Collection[str] = ()) -> BrokerOrderView | None:
        day = kst_day(order.created_at)
        row = None
        if order.broker_order_id:
            # asked for by its number: an unfiltered day can run past the pages read
            odno = order.broker_order_id.rsplit(":", 1)[-1]
            key = broker_key(order.broker_order_id)
            rows, _ = await self.client.daily_orders(day, odno)
            row = next((r for r in rows if r.odno.lstrip("0") == key), None)
        else:
            # the answer was lost: our order is the oldest with the same content placed at or
            # after our send time (KST HHMMSS) that is not already another order of ours. It
            # is among the day's newest: those of its symbol and side, newest first, back to
            # our send time (oldest first, a busy day's first pages ended before it)
            sent = _kst_hhmmss(order.created_at)
            rows, complete = await self.client.daily_orders(
                day, symbol=order.symbol, side=order.side, since=sent, max_pages=LOOKUP_PAGES
            )
            matches = [
                r
                for r in rows
                if r.odno.lstrip("0") not in taken
                and r.symbol == order.symbol
                and r.side is order.side
                and r.quantity == order.quantity
                and (order.type is OrderType.MARKET or r.price == order.price)
                and r.order_time >= sent
            ]
            row = min(matches, key=lambda r: (r.order_time, r.odno)) if matches else None
            if row is None and not complete:
                # pages left unread may hold it: not being seen is not "not there"
                raise BrokerTimeout("KIS daily inquiry: too many orders to tell")
        if row is None:
            return None
        if row.rejected and not row.filled:
            status = OrderStatus.REJECTED
        elif row.filled >= row.quantity:
            status = OrderStatus.FILLED
        elif row.cancelled or row.remaining == 0:
            status = OrderStatus.CANCELLED
        elif self.clock() > day_order_close(order.created_at) + EXPIRY_GRACE_US:
            status = OrderStatus.EXPIRED  # a day order: what was left ended with the session
        else:
            status = OrderStatus.ACCEPTED
        return BrokerOrderView(
            f"{row.orgno}:{row.odno}", status, row.filled, row.average_price, row.amount
        )


# --- the realtime fill notice ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FillNotice:
    odno: str
    orgno: str
    side: Side
    symbol: str
    quantity: int  # fill qty (acceptance notices: order qty)
    price: int  # fill price (acceptance notices: order price)
    time: str  # HHMMSS
    is_fill: bool  # CNTG_YN == "2"
    rejected: bool  # RFUS_YN == "1"
    correction: str  # RCTF_CLS 0 normal, 1 modify, 2 cancel


def decrypt(b64: str, key: str, iv: str) -> str:
    """base64 → AES-256-CBC (key/iv as UTF-8) → PKCS#7 unpad → UTF-8."""
    cipher = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode()))
    dec = cipher.decryptor()
    raw = dec.update(base64.b64decode(b64)) + dec.finalize()
    unpad = padding.PKCS7(128).unpadder()
    return (unpad.update(raw) + unpad.finalize()).decode("utf-8")


def parse_notice(plain: str) -> list[FillNotice]:
    """One or more ``^``-separated records (26 fields, or the older 23)."""
    fields = plain.split("^")
    for width in (26, 23):
        if len(fields) % width == 0:
            break
    else:
        raise ValueError(f"fill notice with {len(fields)} fields")
    out = []
    for i in range(0, len(fields), width):
        f = fields[i : i + width]
        out.append(
            FillNotice(
                odno=f[2],
                orgno=f[15],
                side=Side.SELL if f[4] == "01" else Side.BUY,
                symbol=f[8],
                quantity=_int(f[9]),
                price=_int(f[10]),
                time=f[11],
                is_fill=f[13] == "2",
                rejected=f[12] == "1",
                correction=f[5],
            )
        )
    return out


class FillNoticeDecoder:
    """Frames of the notice stream: the subscribe reply carries the AES key and iv; data
    frames ``1|H0STCNI0|001|<b64>`` are encrypted (``0|…`` plain)."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.iv: str | None = None

    def feed(self, frame: str) -> list[FillNotice]:
        if frame[:1] in ("0", "1"):
            parts = frame.split("|", 3)
            if len(parts) != 4 or parts[1] not in ("H0STCNI0", "H0STCNI9"):
                return []
            body = parts[3]
            if parts[0] == "1":
                if self.key is None or self.iv is None:
                    raise ValueError("encrypted notice before the subscribe reply")
                body = decrypt(body, self.key, self.iv)
            return parse_notice(body)
        msg = orjson.loads(frame)
        out = (msg.get("body") or {}).get("output") or {}
        if out.get("key") and out.get("iv"):
            self.key, self.iv = str(out["key"]), str(out["iv"])
        return []


NoticeHandler = Callable[[FillNotice], Awaitable[None]]


class KisNoticeStream:
    """The realtime fill-notice connection with reconnects. ``on_connected`` runs after each
    (re)subscription: the place to reconcile what was missed while away."""

    def __init__(
        self,
        ws_url: str,
        auth: KisAuth,
        hts_id: str,
        paper: bool,
        handler: NoticeHandler,
        on_connected: Callable[[], Awaitable[None]] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.ws_url = ws_url
        self.auth = auth
        self.hts_id = hts_id
        self.tr_id = "H0STCNI9" if paper else "H0STCNI0"
        self.handler = handler
        self.on_connected = on_connected
        self.backoff = backoff or Backoff(0.5, 30.0)
        self.connections = 0
        self.notices = 0
        self.error: str | None = None

    async def run(self) -> None:
        while True:
            try:
                await self._session()
                self.error = "closed by server"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect whatever went wrong; say what it was
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("kis notices: %s; reconnecting", self.error)
            await asyncio.sleep(self.backoff.next_delay())

    async def _session(self) -> None:
        from websockets.asyncio.client import connect

        key = await self.auth.approval_key()
        async with connect(self.ws_url, ping_interval=None) as ws:
            decoder = FillNoticeDecoder()
            sub = {
                "header": {
                    "approval_key": key,
                    "custtype": "P",
                    "tr_type": "1",
                    "content-type": "utf-8",
                },
                "body": {"input": {"tr_id": self.tr_id, "tr_key": self.hts_id}},
            }
            await ws.send(orjson.dumps(sub).decode())
            subscribed = False
            async for raw in ws:
                frame = raw if isinstance(raw, str) else raw.decode()
                if not frame:
                    continue
                if frame[:1] not in ("0", "1"):
                    msg = orjson.loads(frame)
                    if (msg.get("header") or {}).get("tr_id") == "PINGPONG":
                        await ws.send(frame)
                        continue
                for notice in decoder.feed(frame):
                    self.notices += 1
                    await self.handler(notice)
                if not subscribed and decoder.key is not None:
                    subscribed = True
                    self.connections += 1
                    self.backoff.reset()
                    self.error = None
                    if self.on_connected is not None:
                        await self.on_connected()


def _kst_hhmmss(us: int) -> str:
    from aegis.core.timeutil import KST_OFFSET_US, US_PER_DAY

    s = ((us + KST_OFFSET_US) % US_PER_DAY) // 1_000_000
    return f"{s // 3600:02d}{s % 3600 // 60:02d}{s % 60:02d}"


def _upper(d: dict[str, Any]) -> dict[str, Any]:
    """The cancel output's keys are printed lower-case in the docs, upper-case by clients."""
    return {str(k).upper(): v for k, v in d.items()}


def _int(v: object) -> int:
    try:
        return int(float(str(v))) if v not in (None, "") else 0
    except ValueError:
        return 0
