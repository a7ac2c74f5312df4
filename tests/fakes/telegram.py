"""A local fake of the Telegram Bot API ``sendMessage`` (shared docs/protocols-trading.md §2):
429 with ``parameters.retry_after`` and a ``Retry-After`` header on demand, 400 for unknown
chats, 401 for a wrong token, 404 for other paths."""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.http import HttpServer

TOKEN = "123456:FAKE-bot-token"


class FakeTelegram:
    def __init__(self, chats: set[int] | None = None) -> None:
        self.chats = chats or {123456789}
        self.limit_next = 0  # answer this many requests with 429
        self.retry_after = 1
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self.http = HttpServer(
            Starlette(routes=[Route("/{path:path}", self._ep, methods=["POST", "GET"])])
        )
        self.url = self.http.url

    async def start(self) -> None:
        await self.http.start()

    async def stop(self) -> None:
        await self.http.stop()

    async def _ep(self, req: Request) -> JSONResponse:
        self.requests += 1
        parts = req.url.path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        if parts[0][3:] != TOKEN:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        if parts[1].lower() != "sendmessage":
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        if self.limit_next > 0:
            self.limit_next -= 1
            n = self.retry_after
            return JSONResponse(
                {"ok": False, "error_code": 429,
                 "description": f"Too Many Requests: retry after {n}",
                 "parameters": {"retry_after": n}},
                429, headers={"Retry-After": str(n)},
            )  # fmt: skip
        body = await req.json()
        text = body.get("text", "")
        if body.get("chat_id") not in self.chats:
            return JSONResponse(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, 400
            )
        if not 1 <= len(text) <= 4096:
            return JSONResponse(
                {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
                400,
            )
        self.messages.append(body)
        return JSONResponse(
            {"ok": True, "result": {"message_id": len(self.messages), "date": int(time.time()),
                                    "chat": {"id": body["chat_id"], "type": "private"},
                                    "text": text}}
        )  # fmt: skip
