"""How uvicorn serves the app: one set of options for `aegis serve` and the tests, an HTTP
protocol whose malformed-request answer is the API's error envelope, not uvicorn's plain text,
and a WebSocket protocol that does not let one peer hold the event loop or the server's memory.
"""

from __future__ import annotations

import contextlib
import struct
import time
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from aegis.api.envelope import error_body
from aegis.core.config import Settings
from aegis.core.lean import LeanEvent, LeanQueue

WS_MAX_SIZE = 1 << 20
PARSE_CHUNK = 16 * 1024  # bytes of incoming WebSocket data parsed per event-loop turn
# how long a peer closed without a handshake has to take its close frame: an abuser (policy,
# size) briefly, a merely slow reader (4008 and others) long enough to read what it was sent
ABUSER_GRACE_SECONDS = 5.0
SLOW_GRACE_SECONDS = 30.0
ABUSE_CODES = frozenset({1008, 1009})
# protocol-level pings a peer may send (the app never sees them, so they are limited here)
PINGS_PER_SECOND = 5.0
PING_BURST = 50
# close codes after which the server does not wait for the peer's closing handshake: the peer
# misbehaved (policy, size, slow consumer), and reading its backlog would only cost time
ABANDON_CODES = frozenset({1008, 1009, 4008})
# the scope extension under which a WebSocket connection offers ``send_text_frames``
FRAMES_EXTENSION = "aegis.frames"


_SHORT_HEADS = [bytes((0x81, n)) for n in range(126)]
_HEAD16 = struct.Struct("!BBH").pack
_HEAD64 = struct.Struct("!BBQ").pack


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented text frame (RFC 6455 §5.2) around UTF-8 ``payload``."""
    n = len(payload)
    if n < 126:
        return _SHORT_HEADS[n] + payload
    if n < 1 << 16:
        return _HEAD16(0x81, 126, n) + payload
    return _HEAD64(0x81, 127, n) + payload


class EnvelopeHttpProtocol(HttpToolsProtocol):
    """A request the parser rejects (a URL over the parser's limit, bad bytes) is answered 400
    with the envelope, like every other bad input."""

    def send_400_response(self, msg: str) -> None:
        body = orjson.dumps(error_body(400, "INVALID_REQUEST", f"malformed HTTP request: {msg}"))
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"connection: close\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with rules for peers that flood or do not read:

    * what arrives is parsed ``PARSE_CHUNK`` bytes per event-loop turn, and only while the app
      has taken the messages parsed before: a burst of tiny frames costs the loop a bounded
      slice at a time, and the queue to the app stays short;
    * while the peer is not taking what the server writes (the transport is above its high-water
      mark), the server stops reading from it too: its frames wait in its own TCP buffers, not in
      the server's memory or event loop;
    * protocol pings are limited (``PINGS_PER_SECOND``, bursts of ``PING_BURST``): past the
      limit pongs are skipped (RFC 6455 allows answering only the latest ping), and a peer that
      keeps on is closed with 1008;
    * after a close for misbehaviour (``ABANDON_CODES``) the connection ends at once instead of
      reading the peer's backlog for the closing handshake; if the peer does not even take the
      close frame, the connection is dropped.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # one of each per connection: without the deques of asyncio's (see aegis.core.lean)
        self.queue = LeanQueue()  # type: ignore[assignment]
        self.writable = LeanEvent()  # type: ignore[assignment]
        self.writable.set()
        self._write_blocked = False
        self._discarding = False
        self._eof_sent = False
        self._unparsed = b""
        self._pump_scheduled = False
        self._ping_tokens = float(PING_BURST)
        self._ping_at = time.monotonic()
        self._pings_over = 0
        self.pongs_skipped = 0

    # --- writing: the stream's frames straight to the transport ---------------------------
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and scope.get("type") == "websocket":
            scope["extensions"][FRAMES_EXTENSION] = self

    @property
    def frames_direct(self) -> bool:
        """Frames can be written as they are: no extension (compression) was negotiated."""
        return self.handshake_complete and not self.conn.extensions

    def try_send_text_frame(self, payload: bytes) -> bool:
        """``payload`` as one text frame now, if the peer is reading (else False: nothing
        written, the caller keeps it)."""
        # ``_write_blocked`` is ``not self.writable.is_set()`` without a Python call: this runs
        # once per client per batch
        if self._write_blocked or self.close_sent or self.disconnected:
            return False
        transport = self.transport
        if transport.is_closing():
            return False
        transport.write(text_frame(payload))
        return True

    async def send_text_frames(self, payloads: list[bytes]) -> bool:
        """One text frame per payload (already UTF-8 JSON), all in one write: no ASGI message,
        no text re-encoding, one system call for the lot. Waits while the peer is not reading
        (flow control, as ``send``). False once the connection is closing."""
        if not self.writable.is_set():
            await self.writable.wait()
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return False
        self.transport.write(b"".join([text_frame(p) for p in payloads]))
        return True

    # --- reading: in slices, and only when the app and the peer keep up -------------------
    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        self._unparsed += data
        self._pump()

    def _pump(self) -> None:
        self._pump_scheduled = False
        if self._unparsed and not self.read_paused and not self.transport.is_closing():
            head, self._unparsed = self._unparsed[:PARSE_CHUNK], self._unparsed[PARSE_CHUNK:]
            super().data_received(head)
            if self._unparsed and not self._pump_scheduled:
                self._pump_scheduled = True
                self.loop.call_soon(self._pump)
        self._sync_reading()

    def _sync_reading(self) -> None:
        if self.transport.is_closing() or self._discarding:
            return
        if self.read_paused or self._write_blocked or self._unparsed:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            self._pump()
        return message

    def pause_writing(self) -> None:
        super().pause_writing()
        self._write_blocked = True
        self._sync_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._write_blocked = False
        self._sync_reading()

    # --- pings ---------------------------------------------------------------------------
    def handle_ping(self) -> None:
        now = time.monotonic()
        self._ping_tokens = min(
            float(PING_BURST), self._ping_tokens + (now - self._ping_at) * PINGS_PER_SECOND
        )
        self._ping_at = now
        if self._ping_tokens >= 1.0:
            self._ping_tokens -= 1.0
            self._pings_over = 0
            super().handle_ping()
            return
        self.conn.data_to_send()  # the pong the protocol prepared: skipped
        self.pongs_skipped += 1
        self._pings_over += 1
        if self._pings_over > PING_BURST and not self.close_sent:
            self.conn.send_close(1008, "too many pings")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1008})
            self._abandon(1008)

    # --- closing -------------------------------------------------------------------------
    async def send(self, message: Any) -> None:
        closing = message["type"] == "websocket.close" and self.handshake_complete
        if closing and self._write_blocked and not self.close_sent:
            # the peer is not reading: the close frame goes behind what it has not read yet
            # (bounded by the high-water mark), without waiting for room
            code = message.get("code", 1000)
            with contextlib.suppress(InvalidState):
                self.conn.send_close(code, message.get("reason") or "")
                self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.queue.put_nowait({"type": "websocket.disconnect", "code": code})
            self._abandon(code)
            return
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # the handshake's request and response (their headers: ≈ 4 KB) are not read again
            # (the app has its scope); the request stays referenced from the websockets parser's
            # frame for the connection's life, so its headers are emptied, not only dropped here
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]
        if not closing:
            return
        if message.get("code") in ABANDON_CODES:
            self._abandon(message["code"])
        else:
            self._pump()  # read on to the peer's closing handshake

    def _abandon(self, code: int) -> None:
        """No closing handshake: what the peer sends from now on is dropped unparsed; what was
        written (the close frame last) is flushed and followed by a FIN; the connection ends
        when the peer closes its side, or is dropped after its grace period. Reading goes on
        meanwhile, cheaply: closing a socket with unread input resets it, and the peer would
        lose the close frame (and what came before it) that it has not read yet."""
        if self.close_timer is not None:
            self.close_timer.cancel()
        self._discarding = True
        self._unparsed = b""
        if not self.transport.is_closing():
            self.transport.resume_reading()
        grace = ABUSER_GRACE_SECONDS if code in ABUSE_CODES else SLOW_GRACE_SECONDS
        self._finish(self.loop.time() + grace)

    def _finish(self, deadline: float) -> None:
        self.close_timer = None
        if self.transport.is_closing():
            return
        if self.loop.time() > deadline:
            self.transport.abort()
            return
        if self.transport.get_write_buffer_size() == 0 and not self._eof_sent:
            self._eof_sent = True
            if self.transport.can_write_eof():
                self.transport.write_eof()
            else:
                self.transport.close()
                return
        self.close_timer = self.loop.call_later(0.05, self._finish, deadline)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "http": EnvelopeHttpProtocol,
        "ws": GuardedWebSocketProtocol,
        "server_header": False,  # no "server: uvicorn": nothing to fingerprint
        "ws_max_size": WS_MAX_SIZE,
        "ws_per_message_deflate": settings.ws_compression,
        "ws_ping_interval": settings.ws_heartbeat_seconds,
        "ws_ping_timeout": settings.ws_heartbeat_seconds,
        "timeout_graceful_shutdown": 5,
    }
