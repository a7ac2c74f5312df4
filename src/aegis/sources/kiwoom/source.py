"""The Kiwoom realtime source: token → WebSocket LOGIN → REG 0B; PING echoed; a refused LOGIN
drops the cached token and re-authenticates on the next attempt."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from aegis.core.config import Settings
from aegis.core.errors import SourceError
from aegis.core.timeutil import kst_day, now_us
from aegis.credentials.store import BrokerCredentials, CredentialStore, resolve
from aegis.sources.base import Source, SourceState, TickSink
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.dedup import Deduper
from aegis.sources.common.reconnect import run_forever
from aegis.sources.kiwoom.auth import KiwoomAuth
from aegis.sources.kiwoom.parse import MalformedPush, trade_tick

log = logging.getLogger("aegis.sources.kiwoom")

REAL_REST = "https://api.kiwoom.com"
REAL_WS = "wss://api.kiwoom.com:10000/api/dostk/websocket"
MAX_ITEMS = 100  # per REG data entry


class KiwoomSource(Source):
    name = "kiwoom"

    def __init__(self, settings: Settings, *, symbols: Sequence[str] = (),
                 creds: BrokerCredentials | None = None, store: CredentialStore | None = None,
                 backoff: Backoff | None = None, stall_timeout_s: float = 90.0,
                 healthy_after_s: float = 5.0) -> None:  # fmt: skip
        super().__init__()
        self._settings = settings
        self._store = store or CredentialStore.from_settings(settings)
        self._creds = creds
        self._configured = list(symbols)
        self._watched: list[str] = []
        self._rest = (settings.kiwoom_rest_url or REAL_REST).rstrip("/")
        self._ws = settings.kiwoom_ws_url or REAL_WS
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
        return list(dict.fromkeys([*self._watched, *self._configured]))

    async def watch(self, symbols: Sequence[str]) -> None:
        self._watched = list(symbols)  # applied at the next (re)connect

    async def run(self, sink: TickSink) -> None:
        creds = self._creds or resolve(self._settings, "kiwoom", self._store)
        if creds is None:
            msg = "no Kiwoom app key: run `aegis credentials set kiwoom`"
            log.error("kiwoom: %s", msg)
            self.set_state(SourceState.FAILED, msg)
            return
        async with httpx.AsyncClient(base_url=self._rest, timeout=15.0) as http:
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
                               compression=None) as ws:  # fmt: skip
                await ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
                async with asyncio.timeout(10):
                    reply = json.loads(await ws.recv())
                if reply.get("trnm") != "LOGIN" or reply.get("return_code") != 0:
                    self.auth.invalidate()  # re-authenticate on the next attempt
                    raise SourceError(
                        f"LOGIN refused ({reply.get('return_code')}); "
                        "token dropped, re-authenticating"
                    )
                log.info("kiwoom: logged in")
                syms = self.symbols()
                for i in range(0, len(syms), MAX_ITEMS):
                    await ws.send(json.dumps({"trnm": "REG", "grp_no": "1", "refresh": "1",
                        "data": [{"item": syms[i:i + MAX_ITEMS], "type": ["0B"]}]}))  # fmt: skip
                self.status.subscriptions = len(syms)
                self.set_state(SourceState.LIVE)
                await self._read(ws, sink)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else "none"
            raise SourceError(f"connection lost (close code {code})") from None
        finally:
            self.status.subscriptions = 0

    async def _read(self, ws: ClientConnection, sink: TickSink) -> None:
        day = kst_day(now_us()).strftime("%Y%m%d")
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
                await self._on_real(msg, day, sink)
            elif trnm in ("REG", "REMOVE") and msg.get("return_code") != 0:
                log.warning("kiwoom: %s refused: %s", trnm, msg.get("return_msg"))
                self.status.error = f"{trnm} refused: {msg.get('return_msg')}"

    async def _on_real(self, msg: dict[str, Any], day: str, sink: TickSink) -> None:
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
