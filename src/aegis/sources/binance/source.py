"""The Binance source: one combined trade stream, replaced before Binance's 24-hour cut with
an overlap (both connections read until the new one delivers; trade ids drop the doubles),
and gaps after an unplanned disconnect filled from ``/api/v3/historicalTrades`` by trade id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from aegis.core.config import Settings
from aegis.core.errors import SourceError
from aegis.core.timeutil import now_us
from aegis.domain.instruments import Instrument
from aegis.domain.ticks import Tick
from aegis.sources.base import Source, SourceState, TickSink, after_trade_id, resumable
from aegis.sources.binance.parse import SCALE, MalformedEvent, trade_tick
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.dedup import Deduper
from aegis.sources.common.ratelimit import TokenBucket
from aegis.sources.common.reconnect import run_forever

log = logging.getLogger("aegis.sources.binance")

DEFAULT_WS = "wss://stream.binance.com:9443"
DEFAULT_REST = "https://api.binance.com"
MAX_AGE_S = 23.5 * 3600  # Binance cuts every connection at 24 h
FILL_LIMIT = 1000


class _PingedConnection(ClientConnection):
    """Notes when the server last pinged: Binance pings every 20 s (protocols.md §E), so a
    connection that pings but carries no trade (a quiet symbol) is alive, not stalled."""

    last_ping = 0.0

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.last_ping = self.loop.time()
        super().process_event(event)


class BinanceSource(Source):
    name = "binance"

    def __init__(
        self,
        settings: Settings,
        *,
        symbols: Sequence[str] | None = None,
        rest_url: str | None = None,
        backoff: Backoff | None = None,
        stall_timeout_s: float = 120.0,
        max_age_s: float = MAX_AGE_S,
        overlap_timeout_s: float = 30.0,
        rest_rate: float = 5.0,
        healthy_after_s: float = 5.0,
    ) -> None:
        super().__init__()
        raw = symbols if symbols is not None else settings.binance_symbols.split(",")
        self.symbols = [s.strip().upper() for s in raw if s.strip()]
        self._ws_base = (settings.binance_ws_url or DEFAULT_WS).rstrip("/")
        self._rest_url = (rest_url or settings.binance_rest_url
                          or DEFAULT_REST).rstrip("/")  # fmt: skip
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._stall = stall_timeout_s
        self._max_age = max_age_s
        self._overlap_timeout = overlap_timeout_s
        self._limiter = TokenBucket(rest_rate)
        self._healthy_after = healthy_after_s
        self._dedup = Deduper()
        self._last_id: dict[str, int] = {}
        self._fills: dict[str, asyncio.Task[None]] = {}
        self._http: httpx.AsyncClient | None = None
        self.init_counts("ticks", "duplicates", "malformed", "replacements", "backfilled", "gaps")

    def __repr__(self) -> str:
        return f"BinanceSource(symbols={self.symbols}, state={self.status.state.value})"

    def instruments(self) -> list[Instrument]:
        return [Instrument(s, s, "BINANCE", "crypto", price_scale=SCALE, qty_scale=SCALE)
                for s in self.symbols]  # fmt: skip

    def stream_url(self) -> str:
        streams = "/".join(f"{s.lower()}@trade" for s in self.symbols)
        return f"{self._ws_base}/stream?streams={streams}"

    async def run(self, sink: TickSink) -> None:
        if not self.symbols:
            self.set_state(SourceState.FAILED, "no Binance symbols configured")
            return
        async with httpx.AsyncClient(base_url=self._rest_url, timeout=10.0) as http:
            self._http = http
            try:
                await run_forever(
                    self,
                    lambda: self._session(sink),
                    self._backoff,
                    log,
                    healthy_after_s=self._healthy_after,
                )
            finally:
                for t in self._fills.values():
                    t.cancel()
                await asyncio.gather(*self._fills.values(), return_exceptions=True)

    async def _open(self) -> ClientConnection:
        # websockets answers server pings with a pong carrying the same payload (§E)
        ws = await connect(self.stream_url(), ping_interval=None, open_timeout=10,
                           close_timeout=1, max_size=2**20,
                           create_connection=_PingedConnection)  # fmt: skip
        log.info("binance: connected (%d streams)", len(self.symbols))
        return ws

    async def _session(self, sink: TickSink) -> None:
        ws = await self._open()
        self.status.subscriptions = len(self.symbols)
        self.set_state(SourceState.LIVE)
        for sym, last in self._last_id.items():
            self._request_fill(sym, last, sink, "reconnect")
        shutdown = asyncio.Event()
        loop = asyncio.get_running_loop()
        opened = loop.time()
        reader = asyncio.create_task(self._read(ws, sink, None, shutdown))
        try:
            while True:
                wait_shutdown = asyncio.create_task(shutdown.wait())
                # the age counts from when this connection opened, not from the last loop
                remaining = max(0.0, self._max_age - (loop.time() - opened))
                done, _ = await asyncio.wait(
                    {reader, wait_shutdown}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                wait_shutdown.cancel()
                await asyncio.gather(wait_shutdown, return_exceptions=True)
                if reader in done:
                    reader.result()  # raises the reason the connection ended
                    raise SourceError("connection closed by server")
                why = "server shutdown notice" if shutdown.is_set() else "24h limit ahead"
                shutdown.clear()
                opened = loop.time()
                ws, reader = await self._replace(ws, reader, sink, shutdown, why)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await ws.close()
            self.status.subscriptions = 0

    async def _replace(
        self,
        old: ClientConnection,
        old_reader: asyncio.Task[None],
        sink: TickSink,
        shutdown: asyncio.Event,
        why: str,
    ) -> tuple[ClientConnection, asyncio.Task[None]]:
        """Open the successor while the old connection still streams; switch once the new
        one has delivered a trade (or the overlap times out)."""
        log.info("binance: replacing connection (%s) with overlap", why)
        self.count("replacements")
        new = await self._open()
        first = asyncio.Event()
        reader = asyncio.create_task(self._read(new, sink, first, shutdown))
        try:
            waiter = asyncio.create_task(first.wait())
            # switch when the new connection delivers, or the old one dies, or time is up
            await asyncio.wait(
                {waiter, reader, old_reader},
                timeout=self._overlap_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
        except BaseException:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await new.close()
            raise
        old_reader.cancel()
        await asyncio.gather(old_reader, return_exceptions=True)
        await old.close()
        return new, reader

    async def _read(
        self,
        ws: ClientConnection,
        sink: TickSink,
        first: asyncio.Event | None,
        shutdown: asyncio.Event,
    ) -> None:
        try:
            while True:
                try:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                    async with asyncio.timeout(self._stall):
                        msg = await ws.recv()
                except TimeoutError:
                    last_ping = getattr(ws, "last_ping", 0.0)
                    if asyncio.get_running_loop().time() - last_ping < self._stall:
                        continue  # no trade, but the server pings: a quiet market
                    raise SourceError(
                        f"no message or ping for {self._stall:g}s: connection stalled"
                    ) from None
                self.status.last_message_us = now_us()
                self.status.messages += 1
                try:
                    event = orjson.loads(msg)
                    data = event["data"]
                    kind = data.get("e")
                except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                    self._malformed("not a combined-stream event")
                    continue
                if kind == "trade":
                    try:
                        tick = trade_tick(data)
                    except MalformedEvent as exc:
                        self._malformed(exc.message)
                        continue
                    self._check_gap(tick, sink)
                    await self._deliver(sink, [tick])
                    if first is not None:
                        first.set()
                elif kind == "serverShutdown":
                    log.warning("binance: server announced shutdown; replacing connection")
                    shutdown.set()
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else "none"
            raise SourceError(f"connection lost (close code {code})") from None

    def _malformed(self, why: str) -> None:
        n = self.count("malformed")
        self.status.error = f"malformed message dropped ({n} so far): {why}"
        log.warning("binance: malformed message dropped (%d so far): %s", n, why)

    async def _deliver(self, sink: TickSink, ticks: Sequence[Tick]) -> int:
        fresh = [t for t in ticks if self._dedup.is_new(t.symbol, t.seq)]
        self.counts["duplicates"] = self.status.details["duplicates"] = self._dedup.dropped
        if fresh:
            self.count("ticks", len(fresh))
            await sink.ticks(fresh)
        return len(fresh)

    def resume_after(self, recent: Mapping[str, Sequence[Tick]], now: int | None = None) -> None:
        # trade ids never restart: the first trade after the start fills from the stored id
        self._last_id.update(resumable(recent, now or now_us(), after_trade_id, same_kst_day=False))

    def _check_gap(self, t: Tick, sink: TickSink) -> None:
        last = self._last_id.get(t.symbol)
        if last is not None and t.seq > last + 1:
            self._request_fill(t.symbol, last, sink, "trade id gap")
        if last is None or t.seq > last:
            self._last_id[t.symbol] = t.seq

    def _request_fill(self, sym: str, after: int, sink: TickSink, reason: str) -> None:
        task = self._fills.get(sym)
        if task is not None and not task.done():
            return  # the running fill walks forward to the newest trade anyway
        self.count("gaps")
        log.info("binance: %s: filling trades after id %d via REST (%s)", sym, after, reason)
        self._fills[sym] = asyncio.create_task(self._fill(sym, after, sink))

    async def _fill(self, sym: str, after: int, sink: TickSink) -> None:
        assert self._http is not None
        from_id = after + 1
        added = 0
        try:
            while True:
                await self._limiter.acquire()
                resp = await self._http.get("/api/v3/historicalTrades",
                                            params={"symbol": sym, "fromId": from_id,
                                                    "limit": FILL_LIMIT})  # fmt: skip
                if resp.status_code != 200:
                    raise SourceError(f"historicalTrades HTTP {resp.status_code}")
                rows: list[dict[str, Any]] = resp.json()
                ticks = [
                    trade_tick(
                        {
                            "s": sym,
                            "T": r["time"],
                            "p": r["price"],
                            "q": r["qty"],
                            "m": r["isBuyerMaker"],
                            "t": r["id"],
                        }
                    )
                    for r in rows
                ]
                added += await self._deliver(sink, ticks)
                if len(rows) < FILL_LIMIT:
                    break
                from_id = int(rows[-1]["id"]) + 1
        except (SourceError, httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("binance: %s: gap fill failed: %s", sym, type(exc).__name__)
            self.status.error = f"{sym}: gap fill failed"
        self.count("backfilled", added)
        log.info("binance: %s: gap fill delivered %d missed trades", sym, added)
