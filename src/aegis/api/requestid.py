"""Request ids: taken from an incoming ``X-Request-ID`` (when it is a short, safe token, e.g. set
by nginx) or made here; echoed in the response header, attached to every log line of the request
and to error envelopes (``requestId``), so a user's error report finds its log lines."""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aegis.core.logs import request_id

_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEADER = b"x-request-id"


def _incoming(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == HEADER:
            text = value.decode("latin-1")
            return text if _SAFE.fullmatch(text) else None
    return None


def new_request_id(scope: Scope) -> str:
    """The request's id: the incoming one when safe, else a new one."""
    return _incoming(scope) or os.urandom(16).hex()  # as uuid4().hex, without a UUID object


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = new_request_id(scope)
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
