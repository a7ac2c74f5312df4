"""How uvicorn serves the app: one set of options for `aegis serve` and the tests, an HTTP
protocol whose malformed-request answer is the API's error envelope, not uvicorn's plain text,
and a WebSocket protocol that does not let one peer hold the event loop or the server's memory.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from aegis.api.envelope import error_body
from aegis.core.config import Settings

WS_MAX_SIZE = 1 << 20
# protocol-level pings a peer may send (the app never sees them, so they are limited here)
PINGS_PER_SECOND = 5.0
PING_BURST = 50
# close codes after which the server does not wait for the peer's closing handshake: the peer
# misbehaved (policy, size, slow consumer), and reading its backlog would only cost time
ABANDON_CODES = frozenset({1008, 1009, 4008})


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
    """uvicorn's WebSocket protocol with three rules for peers that send and do not read:

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
        self._write_blocked = False
        self._ping_tokens = float(PING_BURST)
        self._ping_at = time.monotonic()
        self._pings_over = 0
        self.pongs_skipped = 0

    def pause_writing(self) -> None:
        super().pause_writing()
        self._write_blocked = True
        if not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._write_blocked = False
        if not self.read_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            if not self._write_blocked:  # else resume_writing resumes reading
                self.transport.resume_reading()
        return message

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
            self.transport.close()

    async def send(self, message: Any) -> None:
        closing = message["type"] == "websocket.close" and self.handshake_complete
        if closing and self._write_blocked:
            # the close frame would wait behind everything the peer has not read: drop it
            if not self.close_sent:
                self.close_sent = True
                self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
            self.transport.abort()
            return
        await super().send(message)
        if closing and message.get("code") in ABANDON_CODES:
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "http": EnvelopeHttpProtocol,
        "ws": GuardedWebSocketProtocol,
        "server_header": False,  # no "server: uvicorn": nothing to fingerprint
        "ws_max_size": WS_MAX_SIZE,
        "ws_ping_interval": settings.ws_heartbeat_seconds,
        "ws_ping_timeout": settings.ws_heartbeat_seconds,
        "timeout_graceful_shutdown": 5,
    }
