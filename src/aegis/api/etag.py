"""Conditional GETs for the JSON API: a strong ``ETag`` (a hash of the body) on every 200
response to a GET under ``/api/``, ``304 Not Modified`` when the client's ``If-None-Match``
names it, and ``Cache-Control: no-cache`` (always revalidate: market data changes every second,
but an unchanged profile, financials or closed candles then cost a 304 and no body).

Sits inside the gzip middleware, so the tag is of the JSON itself, not of its compression.
Streaming responses (SSE) pass through untouched.
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _if_none_match(scope: Scope) -> list[str]:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"if-none-match":
            return [t.strip() for t in value.decode("latin-1").split(",")]
    return []


class ETagMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith("/api/v1/")
        ):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        parts: list[bytes] = []
        passing = False

        async def wrapped(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                ctype = dict(message.get("headers", [])).get(b"content-type", b"")
                if message["status"] != 200 or not ctype.startswith(b"application/json"):
                    passing = True  # errors, streams, other types: as they are
                    await send(message)
                    return
                start = message
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(parts)
            tag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
            headers: list[tuple[bytes, bytes]] = [
                (k, v)
                for k, v in start.get("headers", [])
                if k not in (b"etag", b"cache-control", b"content-length")
            ]
            headers += [(b"etag", tag.encode()), (b"cache-control", b"no-cache")]
            wanted = _if_none_match(scope)
            if tag in wanted or "*" in wanted:
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)
