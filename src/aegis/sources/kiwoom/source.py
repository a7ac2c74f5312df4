"""The Kiwoom realtime source: token → WebSocket LOGIN → REG 0B; PING echoed; a refused LOGIN
drops the cached token and re-authenticates on the next attempt."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aegis.core.config import Settings
from aegis.core.errors import SourceError
from aegis.core.timeutil import kst_day, now_us
from aegis.credentials.store import BrokerCredentials, CredentialStore, resolve
from aegis.domain.ticks import Tick
from aegis.sources.base import Source, SourceState, TickSink, after_cumulative, resumable
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.dedup import Deduper
from aegis.sources.common.reconnect import run_forever
from aegis.sources.common.watchlist import prioritize
from aegis.sources.common.wirelog import wire_logger
from aegis.sources.kiwoom.auth import KiwoomAuth
from aegis.sources.kiwoom.parse import MalformedPush, trade_tick

log = logging.getLogger("aegis.sources.kiwoom")

REAL_REST = "https://api.kiwoom.com"
REAL_WS = "wss://api.kiwoom.com:10000/api/dostk/websocket"
PAPER_REST = "https://mockapi.kiwoom.com"
PAPER_WS = "wss://mockapi.kiwoom.com:10000/api/dostk/websocket"
MAX_ITEMS = 100  # per REG data entry
MAX_SYMBOLS = 100  # followed at once (Kiwoom documents no number: one REG entry's worth)


def kiwoom_urls(settings: Settings, paper: bool) -> tuple[str, str]:
    """REST base and WebSocket URL: the configured ones, else the real or the paper (모의투자)
    domain (protocols.md §B.1); paper keys are refused by the real domain."""
    rest = settings.kiwoom_rest_url or (PAPER_REST if paper else REAL_REST)
    ws = settings.kiwoom_ws_url or (PAPER_WS if paper else REAL_WS)
    return rest.rstrip("/"), ws


class KiwoomSource(Source):
    name = "kiwoom"

    def __init__(self, settings: Settings, *, symbols: Sequence[str] = (),
                 creds: BrokerCredentials | None = None, store: CredentialStore | None = None,
                 backoff: Backoff | None = None, stall_timeout_s: float = 90.0,
                 healthy_after_s: float = 5.0, max_symbols: int = MAX_SYMBOLS) -> None:  # fmt: skip
        super().__init__()
        self._settings = settings
        self._store = store or CredentialStore.from_settings(settings)
        self._creds = creds
        self._configured = list(symbols)
        self._watched: list[str] = []
        self._registered: list[str] = []
        self._resub = asyncio.Event()
        self._max_symbols = max_symbols
        self._ws = ""  # known once the keys (real or paper) are
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._stall = stall_timeout_s
        self._healthy_after = healthy_after_s
        self._dedup = Deduper()
        self._last_seq: dict[str, int] = {}
        self.auth: KiwoomAuth | None = None
        self.init_counts("ticks", "duplicates", "malformed", "gaps")

    def __repr__(self) -> str:
        return f"KiwoomSource(state={self.status.state.value})"

    def symbols(self) -> list[str]:
        return prioritize(self._configured, self._watched, self._registered, self._max_symbols)

    def resume_after(self, recent: Mapping[str, Sequence[Tick]], now: int | None = None) -> None:
        # Kiwoom documents no trade history to fill from: trades missed while no ingester ran
        # are reported as a gap (cumulative volume) instead of passing unnoticed
        self._last_seq.update(
            resumable(recent, now or now_us(), after_cumulative, same_kst_day=True)
        )

    async def watch(self, symbols: Sequence[str]) -> None:
        self._watched = list(symbols)
        self._resub.set()

    async def run(self, sink: TickSink) -> None:
        creds = self._creds or resolve(self._settings, "kiwoom", self._store)
        if creds is None:
            msg = "no Kiwoom app key: run `aegis credentials set kiwoom`"
            log.error("kiwoom: %s", msg)
            self.set_state(SourceState.FAILED, msg)
            return
        rest, self._ws = kiwoom_urls(self._settings, creds.paper)
        self.status.details.update(paper=creds.paper)
        async with httpx.AsyncClient(base_url=rest, timeout=15.0) as http:
            self.auth = KiwoomAuth(http, creds, self._store)
            await run_forever(
                self,
                lambda: self._session(sink),
                self._backoff,
                log,
                healthy_after_s=self._healthy_after,
            )

    async def _session(self, sink: TickSink) -> None:
        assert self.auth is not None
        token = await self.auth.token()
        try:
            async with connect(self._ws, ping_interval=None, open_timeout=10, close_timeout=1,
                               compression=None, logger=wire_logger("kiwoom")) as ws:  # fmt: skip
                await ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
                async with asyncio.timeout(10):
                    reply = await self._login_reply(ws)
                if reply.get("return_code") != 0:
                    self.auth.invalidate()  # re-authenticate on the next attempt
                    raise SourceError(
                        f"LOGIN refused ({reply.get('return_code')}); "
                        "token dropped, re-authenticating"
                    )
                log.info("kiwoom: logged in")
                await self._sync(ws, [])  # a new connection holds nothing yet
                self.set_state(SourceState.LIVE)
                resync = asyncio.create_task(self._resync_loop(ws))
                try:
                    await self._read(ws, sink)
                finally:
                    resync.cancel()
                    await asyncio.gather(resync, return_exceptions=True)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else "none"
            raise SourceError(f"connection lost (close code {code})") from None
        finally:
            self.status.subscriptions = 0

    async def _login_reply(self, ws: ClientConnection) -> dict[str, Any]:
        """The LOGIN answer. The server may PING (or send a notice) before it answers: PINGs
        are echoed, anything else that is not the answer is skipped (protocols.md §B.5)."""
        while True:
            raw = await ws.recv()
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("trnm") == "LOGIN":
                return msg
            if msg.get("trnm") == "PING":
                await ws.send(raw)

    async def _resync_loop(self, ws: ClientConnection) -> None:
        while True:
            await self._resub.wait()
            self._resub.clear()
            await self._sync(ws, self._registered)

    async def _sync(self, ws: ClientConnection, held: list[str]) -> None:
        """REG what is newly wanted, REMOVE what lost its place (protocols.md §B.3)."""
        want = self.symbols()
        drop = [s for s in held if s not in set(want)]
        add = [s for s in want if s not in set(held)]
        for trnm, items in (("REMOVE", drop), ("REG", add)):
            for i in range(0, len(items), MAX_ITEMS):
                chunk = items[i : i + MAX_ITEMS]
                msg: dict[str, Any] = {
                    "trnm": trnm,
                    "grp_no": "1",
                    "data": [{"item": chunk, "type": ["0B"]}],
                }
                if trnm == "REG":
                    msg["refresh"] = "1"  # keep what is registered already
                await ws.send(json.dumps(msg))
        for s in drop:
            self._last_seq.pop(s, None)  # not followed any more: no gap to report later
        self._registered = want
        self.status.subscriptions = len(want)
        if drop or add:
            log.info("kiwoom: following %d symbols (+%d −%d)", len(want), len(add), len(drop))

    async def _read(self, ws: ClientConnection, sink: TickSink) -> None:
        while True:
            try:
                async with asyncio.timeout(self._stall):
                    raw = await ws.recv()
            except TimeoutError:
                raise SourceError(f"no message for {self._stall:g}s: connection stalled") from None
            self.status.last_message_us = now_us()
            self.status.messages += 1
            try:
                msg: dict[str, Any] = json.loads(raw)
                trnm = msg["trnm"]
            except (ValueError, KeyError, TypeError):
                self._malformed("not a JSON message with trnm")
                continue
            if trnm == "PING":
                await ws.send(raw)  # echo verbatim, as the official sample does
            elif trnm == "REAL":
                # 0B carries a time only: the day is the clock's, read per message since a
                # connection may stay open into the next day
                await self._on_real(msg, kst_day(now_us()), sink)
            elif trnm in ("REG", "REMOVE") and msg.get("return_code") != 0:
                log.warning("kiwoom: %s refused: %s", trnm, msg.get("return_msg"))
                self.status.error = f"{trnm} refused: {msg.get('return_msg')}"

    async def _on_real(self, msg: dict[str, Any], today: date, sink: TickSink) -> None:
        if self._dedup.roll_day(today):  # FID 13, our seq, restarts every trading day
            log.info("kiwoom: new trading day %s: cumulative volumes restart", today.isoformat())
            self._last_seq.clear()
        day = today.strftime("%Y%m%d")
        batch = []
        for entry in msg.get("data") or []:
            if not isinstance(entry, dict) or entry.get("type") != "0B":
                continue
            try:
                t = trade_tick(entry, day)
            except MalformedPush as exc:
                self._malformed(exc.message)
                continue
            prev = self._last_seq.get(t.symbol)
            if prev is not None and t.seq - t.volume > prev:
                # no documented REST replay for Kiwoom: report the hole instead of hiding it
                n = self.count("gaps")
                log.warning(
                    "kiwoom: %s: %d shares missed (gap #%d)", t.symbol, t.seq - t.volume - prev, n
                )
                self.status.error = f"{t.symbol}: trades missed during an outage"
            if prev is None or t.seq > prev:
                self._last_seq[t.symbol] = t.seq
            if self._dedup.is_new(t.symbol, t.seq):
                batch.append(t)
        self.counts["duplicates"] = self.status.details["duplicates"] = self._dedup.dropped
        if batch:
            self.count("ticks", len(batch))
            await sink.ticks(batch)

    def _malformed(self, why: str) -> None:
        n = self.count("malformed")
        self.status.error = f"malformed message dropped ({n} so far): {why}"
        log.warning("kiwoom: malformed message dropped (%d so far): %s", n, why)
