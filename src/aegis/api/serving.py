"""How uvicorn serves the app: one set of options for `aegis serve` and the tests, and an HTTP
protocol whose malformed-request answer is the API's error envelope, not uvicorn's plain text."""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from aegis.api.envelope import error_body
from aegis.core.config import Settings

WS_MAX_SIZE = 1 << 20


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


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "http": EnvelopeHttpProtocol,
        "server_header": False,  # no "server: uvicorn": nothing to fingerprint
        "ws_max_size": WS_MAX_SIZE,
        "ws_ping_interval": settings.ws_heartbeat_seconds,
        "ws_ping_timeout": settings.ws_heartbeat_seconds,
        "timeout_graceful_shutdown": 5,
    }
