"""The KIS realtime source: WebSocket trades and books, reconnect with REST gap fill."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aegis.core.config import Settings
from aegis.core.errors import SourceError
from aegis.core.timeutil import KST_OFFSET_US, US_PER_S, kst_day, now_us
from aegis.credentials.store import BrokerCredentials, CredentialStore, resolve
from aegis.domain.ticks import Tick
from aegis.sources.base import Source, SourceState, TickSink, after_cumulative, resumable
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.dedup import Deduper
from aegis.sources.common.reconnect import run_forever
from aegis.sources.common.wirelog import wire_logger
from aegis.sources.kis.auth import KisAuth
from aegis.sources.kis.budget import MAX_SUBSCRIPTIONS, Sub, allot
from aegis.sources.kis.calls import kis_hosts, kis_limiter, kis_rate
from aegis.sources.kis.fields import BOOK_TR, TRADE_TR
from aegis.sources.kis.parse import MalformedFrame, parse_books, parse_trades, split_frame
from aegis.sources.kis.rest import KisRest

log = logging.getLogger("aegis.sources.kis")

_CLOCK_MARGIN_US = 120 * US_PER_S  # gap-fill walks back from a little after "now"


def kis_urls(settings: Settings, paper: bool) -> tuple[str, str]:
    return kis_hosts(paper, settings.kis_rest_url, settings.kis_ws_url)


@contextlib.asynccontextmanager
async def open_kis_rest(
    settings: Settings,
    creds: BrokerCredentials,
    store: CredentialStore,
    *,
    rate: float | None = None,
    min_token_interval_s: float = 60.0,
    retry_backoff: Backoff | None = None,
) -> AsyncIterator[KisRest]:
    """A REST client on its own (``aegis backfill``)."""
    rest_url, _ = kis_urls(settings, creds.paper)
    async with httpx.AsyncClient(base_url=rest_url, timeout=15.0) as http:
        auth = KisAuth(http, creds, store, min_token_interval_s=min_token_interval_s)
        yield KisRest(http, creds, auth, kis_limiter(creds, rate), retry_backoff=retry_backoff)


def _hhmmss(ts_us: int) -> str:
    s = (ts_us + KST_OFFSET_US) // US_PER_S % 86_400
    return f"{s // 3600:02d}{s % 3600 // 60:02d}{s % 60:02d}"


class KisSource(Source):
    name = "kis"

    def __init__(
        self,
        settings: Settings,
        *,
        symbols: Sequence[str] = (),
        creds: BrokerCredentials | None = None,
        store: CredentialStore | None = None,
        rest_rate: float | None = None,
        backoff: Backoff | None = None,
        retry_backoff: Backoff | None = None,
        stall_timeout_s: float = 90.0,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
        book_symbols: int = 5,
        min_token_interval_s: float = 60.0,
        healthy_after_s: float = 5.0,
        quiet_fill_after_s: float = 5.0,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._store = store or CredentialStore.from_settings(settings)
        self._creds = creds
        self._configured = list(symbols)
        self._watched: list[str] = []
        self._rest_rate = rest_rate
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._retry_backoff = retry_backoff
        self._stall_timeout = stall_timeout_s
        self._max_subs = max_subscriptions
        self._book_symbols = book_symbols
        self._min_token_interval = min_token_interval_s
        self._healthy_after = healthy_after_s
        self._quiet_fill_after = quiet_fill_after_s
        self._awaiting: dict[str, int] = {}  # followed symbols with no tick since reconnect
        self._dedup = Deduper()
        self._last_seq: dict[str, int] = {}
        self._sent: list[Sub] = []
        self._active: set[Sub] = set()
        self._resub = asyncio.Event()
        self._trading_day = kst_day(now_us()).strftime("%Y%m%d")
        self._clock_ts = 0  # latest exchange time seen …
        self._clock_mono = 0.0  # … and when (monotonic), to estimate the exchange clock now
        self._backfills: dict[str, asyncio.Task[None]] = {}
        self._pending: dict[str, tuple[int, str]] = {}
        self._running: dict[str, tuple[int, str]] = {}
        self.rest: KisRest | None = None
        self.auth: KisAuth | None = None
        self.init_counts("ticks", "duplicates", "backfilled", "malformed", "gaps", "books")

    def __repr__(self) -> str:
        return f"KisSource(state={self.status.state.value}, subscriptions={len(self._active)})"

    # --- public --------------------------------------------------------------------------
    async def watch(self, symbols: Sequence[str]) -> None:
        self._watched = list(symbols)
        self._resub.set()

    def resume_after(self, recent: Mapping[str, Sequence[Tick]], now: int | None = None) -> None:
        # the first trade of each symbol then reveals the gap since the stored one (its
        # cumulative volume), and quiet symbols are filled after a while, as after a reconnect
        resumed = resumable(recent, now or now_us(), after_cumulative, same_kst_day=True)
        self._last_seq.update(resumed)
        days = [kst_day(t.ts) for s, seq in resumed.items() for t in recent[s] if t.seq == seq]
        if days:  # a quiet fill asks REST for the stored trades' day before any live trade
            self._trading_day = max(days).strftime("%Y%m%d")

    def desired(self) -> list[Sub]:
        followed = [key for tr_id, key in self._sent if tr_id == TRADE_TR]
        return allot(
            self._configured,
            self._watched,
            followed,
            limit=self._max_subs,
            book_symbols=self._book_symbols,
        )

    async def run(self, sink: TickSink) -> None:
        creds = self._creds or resolve(self._settings, "kis", self._store)
        if creds is None:
            msg = "no KIS app key: run `aegis credentials set kis` or set AEGIS_KIS_APP_KEY"
            log.error("kis: %s", msg)
            self.set_state(SourceState.FAILED, msg)
            return
        rest_url, ws_url = kis_urls(self._settings, creds.paper)
        # one budget with the trading client of the same app key (``kis_limiter``)
        rate = self._rest_rate or kis_rate(creds.paper)
        limiter = kis_limiter(creds, rate)
        self.status.details.update(rest_rate=rate, paper=creds.paper)
        async with httpx.AsyncClient(base_url=rest_url, timeout=15.0) as http:
            self.auth = KisAuth(
                http, creds, self._store, min_token_interval_s=self._min_token_interval
            )
            self.rest = KisRest(http, creds, self.auth, limiter, retry_backoff=self._retry_backoff)
            try:
                await run_forever(
                    self,
                    lambda: self._session(ws_url, sink),
                    self._backoff,
                    log,
                    healthy_after_s=self._healthy_after,
                )
            finally:
                for task in self._backfills.values():
                    task.cancel()
                await asyncio.gather(*self._backfills.values(), return_exceptions=True)

    # --- one connection ------------------------------------------------------------------
    async def _session(self, ws_url: str, sink: TickSink) -> None:
        assert self.auth is not None
        approval = await self.auth.approval_key()
        self._sent, self._active = [], set()
        self.status.subscriptions = 0
        try:
            async with connect(
                ws_url,
                ping_interval=None,
                open_timeout=10,
                close_timeout=1,
                max_size=2**22,
                logger=wire_logger("kis"),
            ) as ws:
                log.info("kis: connected to %s", ws_url)
                await self._sync(ws, approval)
                self.set_state(SourceState.LIVE)
                quiet = self._fill_after_reconnect(sink)
                resync = asyncio.create_task(self._resync_loop(ws, approval))
                try:
                    await self._read(ws, sink)
                finally:
                    for task in (resync, quiet):
                        if task is not None:
                            task.cancel()
                            await asyncio.gather(task, return_exceptions=True)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else "none"
            raise SourceError(f"connection lost (close code {code})") from None
        finally:
            self._active.clear()
            self.status.subscriptions = 0

    async def _read(self, ws: ClientConnection, sink: TickSink) -> None:
        while True:
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                async with asyncio.timeout(self._stall_timeout):
                    msg = await ws.recv()
            except TimeoutError:
                raise SourceError(
                    f"no message for {self._stall_timeout:g}s: connection stalled"
                ) from None
            self.status.last_message_us = now_us()
            self.status.messages += 1
            if isinstance(msg, bytes):
                msg = msg.decode("utf-8", "replace")
            if msg[:1] in ("0", "1"):
                await self._on_data(msg, sink)
            else:
                await self._on_control(ws, msg)

    async def _on_data(self, msg: str, sink: TickSink) -> None:
        try:
            enc, tr_id, count, payload = split_frame(msg)
            if enc == "1":
                return  # encrypted pushes are order notices (H0STCNI0), not market data
            if tr_id == TRADE_TR:
                ticks = parse_trades(payload, count)
                if ticks:
                    self._roll_day(ticks[0].ts)
                    self._note_clock(ticks[-1].ts)
                    self._check_gaps(ticks, sink)
                    await self._deliver(sink, ticks)
            elif tr_id == BOOK_TR:
                for book in parse_books(payload, count, self._trading_day):
                    self.count("books")
                    await sink.book(book)
        except MalformedFrame as exc:
            n = self.count("malformed")
            self.status.error = f"malformed frame dropped ({n} so far): {exc.message}"
            log.warning("kis: malformed frame dropped (%d so far): %s", n, exc.message)

    async def _on_control(self, ws: ClientConnection, msg: str) -> None:
        try:
            data = json.loads(msg)
            header = data["header"]
        except (ValueError, KeyError, TypeError):
            n = self.count("malformed")
            self.status.error = f"malformed control message dropped ({n} so far)"
            log.warning("kis: malformed control message dropped (%d so far): %.60r", n, msg)
            return
        tr_id = header.get("tr_id")
        body = data.get("body")
        if tr_id == "PINGPONG" and not body:
            await ws.send(msg)  # echo as text, as python-kis does (protocols.md §A.5)
            return
        if not isinstance(body, dict):
            return
        sub = (str(tr_id), str(header.get("tr_key", "")))
        rt_cd, msg_cd, text = (
            body.get("rt_cd"),
            str(body.get("msg_cd", "")),
            str(body.get("msg1", "")),
        )
        self.status.details["last_opsp"] = f"{msg_cd} {text}".strip()
        if rt_cd == "0":
            if text.upper().startswith("UNSUB") or msg_cd == "OPSP0001":
                self._active.discard(sub)
            else:
                self._active.add(sub)
        elif msg_cd == "OPSP0002":  # already subscribed: still active
            self._active.add(sub)
        else:
            log.warning("kis: subscription %s/%s refused: %s %s", sub[0], sub[1], msg_cd, text)
            self.status.error = f"subscription {sub[0]}/{sub[1]} refused: {msg_cd} {text}"
            if msg_cd == "OPSP8996" and self.auth is not None:
                self.auth.forget_approval()
                raise SourceError("approval key in use by another session (OPSP8996)")
        self.status.subscriptions = len(self._active)

    # --- subscriptions -------------------------------------------------------------------
    async def _resync_loop(self, ws: ClientConnection, approval: str) -> None:
        while True:
            await self._resub.wait()
            self._resub.clear()
            await self._sync(ws, approval)

    async def _sync(self, ws: ClientConnection, approval: str) -> None:
        want = self.desired()
        want_set = set(want)
        drop = [s for s in self._sent if s not in want_set]
        add = [s for s in want if s not in set(self._sent)]
        for tr_id, key in drop:
            await ws.send(_sub_msg(approval, "2", tr_id, key))
            if tr_id == TRADE_TR:
                self._last_seq.pop(key, None)  # not followed any more: no gap to fill later
        for tr_id, key in add:
            await ws.send(_sub_msg(approval, "1", tr_id, key))
        self._sent = want
        self.status.details["requested"] = len(want)
        if drop or add:
            log.info("kis: subscriptions %d (+%d −%d)", len(want), len(add), len(drop))

    # --- ticks, dedup and gap fill -------------------------------------------------------
    async def _deliver(self, sink: TickSink, ticks: Sequence[Tick]) -> None:
        fresh = [t for t in ticks if self._dedup.is_new(t.symbol, t.seq)]
        self.counts["duplicates"] = self._dedup.dropped
        self.status.details["duplicates"] = self._dedup.dropped
        if fresh:
            self.count("ticks", len(fresh))
            await sink.ticks(fresh)

    def _roll_day(self, ts: int) -> None:
        """ACML_VOL, our seq, restarts every trading day: on the first trade of a new day the
        previous day's seqs are forgotten, or the new day's trades would pass for duplicates
        and its gaps be measured against the previous day's volume."""
        day = kst_day(ts)
        if self._dedup.roll_day(day):
            log.info("kis: new trading day %s: cumulative volumes restart", day.isoformat())
            self._last_seq.clear()

    def _note_clock(self, ts: int) -> None:
        if ts > self._clock_ts:
            self._clock_ts = ts
            self._clock_mono = time.monotonic()
            day = kst_day(ts).strftime("%Y%m%d")
            if day != self._trading_day:
                self._trading_day = day

    def _exchange_now_hhmmss(self) -> str:
        if not self._clock_ts:
            return "235959"
        est = self._clock_ts + int((time.monotonic() - self._clock_mono) * US_PER_S)
        est += _CLOCK_MARGIN_US
        if kst_day(est) != kst_day(self._clock_ts):
            return "235959"
        return _hhmmss(est)

    def _check_gaps(self, ticks: Sequence[Tick], sink: TickSink) -> None:
        last = self._last_seq
        for t in ticks:
            if self._awaiting:
                self._awaiting.pop(t.symbol, None)
            prev = last.get(t.symbol)
            if prev is not None and t.seq - t.volume > prev:
                self._request_fill(t.symbol, prev, _hhmmss(t.ts), sink, reason="sequence gap")
            if prev is None or t.seq > prev:
                last[t.symbol] = t.seq

    def _fill_after_reconnect(self, sink: TickSink) -> asyncio.Task[None] | None:
        """After a reconnect the first trade of each symbol reveals its gap exactly (its seq
        minus its volume is the previous trade's seq) and ``_check_gaps`` fills it from that
        trade's time. Symbols that stay quiet are filled from an estimate of the exchange
        clock after ``quiet_fill_after_s``, so trades missed just before a lull are not lost."""
        followed = {key for tr_id, key in self._sent if tr_id == TRADE_TR}
        self._awaiting = {s: q for s, q in self._last_seq.items() if s in followed}
        if not self._awaiting:
            return None
        return asyncio.create_task(self._fill_quiet(sink))

    async def _fill_quiet(self, sink: TickSink) -> None:
        await asyncio.sleep(self._quiet_fill_after)
        hour = self._exchange_now_hhmmss()
        for sym, seq in list(self._awaiting.items()):
            self._request_fill(sym, seq, hour, sink, reason="reconnect, symbol quiet")
        self._awaiting.clear()

    def _request_fill(
        self, sym: str, after: int, hour: str, sink: TickSink, *, reason: str
    ) -> None:
        running = self._running.get(sym)
        if running is not None and running[0] <= after and running[1] >= hour:
            return  # a fill in flight already covers this range
        pend = self._pending.get(sym)
        self._pending[sym] = (min(after, pend[0]), max(hour, pend[1])) if pend else (after, hour)
        self.count("gaps")
        log.info(
            "kis: %s: filling trades after cumulative volume %d via REST (%s)", sym, after, reason
        )
        task = self._backfills.get(sym)
        if task is None or task.done():
            self._backfills[sym] = asyncio.create_task(self._fill(sym, sink))

    async def _fill(self, sym: str, sink: TickSink) -> None:
        assert self.rest is not None
        while sym in self._pending:
            after, hour = self._pending.pop(sym)
            self._running[sym] = (after, hour)
            try:
                ticks = await self.rest.trades_back_to(sym, after, hour, self._trading_day)
            except SourceError as exc:
                log.warning("kis: %s: gap fill failed: %s", sym, exc.message)
                self.status.error = f"{sym}: gap fill failed: {exc.message}"
                return
            except httpx.HTTPError as exc:
                log.warning("kis: %s: gap fill failed: %s", sym, type(exc).__name__)
                self.status.error = f"{sym}: gap fill failed: {type(exc).__name__}"
                return
            finally:
                self._running.pop(sym, None)
            ticks.sort(key=lambda t: (t.ts, t.seq))
            before = self.counts["ticks"]
            await self._deliver(sink, ticks)
            added = self.counts["ticks"] - before
            self.count("backfilled", added)
            if ticks and ticks[-1].seq > self._last_seq.get(sym, -1):
                self._last_seq[sym] = ticks[-1].seq
            log.info("kis: %s: gap fill delivered %d missed trades", sym, added)


def _sub_msg(approval: str, tr_type: str, tr_id: str, key: str) -> str:
    payload: dict[str, Any] = {
        "header": {"approval_key": approval, "custtype": "P", "tr_type": tr_type,
                   "content-type": "utf-8"},
        "body": {"input": {"tr_id": tr_id, "tr_key": key}},
    }  # fmt: skip
    return json.dumps(payload)
