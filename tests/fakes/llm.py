"""A fake OpenAI-compatible chat-completions server and a fake Gemini ``generateContent``
(shared/docs/protocols-trading.md §3–4), with fault modes: ``force(status, body)`` for the next
answer, ``content`` (what the model "writes"), ``finish`` reason, ``stall()`` (never answers)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.http import HttpServer

OPENAI_KEY = "sk-fake-openai-key"
GEMINI_KEY = "fake-gemini-key"
GOOD = {"growthScore": 71, "outlook": "긍정", "rationale": "2025년 매출 +10.9% 성장 (테스트)."}


class FakeLLM:
    def __init__(self) -> None:
        self.content: str = json.dumps(GOOD, ensure_ascii=False)
        self.finish: str = "stop"
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._forced: tuple[int, Any] | None = None
        self._stalled = False
        self._release = asyncio.Event()
        self.server = HttpServer(
            Starlette(
                routes=[
                    Route("/v1/chat/completions", self._chat, methods=["POST"]),
                    Route("/v1beta/models/{model}:generateContent", self._gemini,
                          methods=["POST"]),
                ]
            )
        )  # fmt: skip

    @property
    def url(self) -> str:
        return self.server.url

    def force(self, status: int, body: Any) -> None:
        self._forced = (status, body)

    def stall(self) -> None:
        self._stalled = True

    async def _common(self, request: Request) -> Response | None:
        self.headers.append(dict(request.headers))
        self.requests.append(await request.json())
        if self._stalled:
            await self._release.wait()
        if self._forced is not None:
            status, body = self._forced
            self._forced = None
            if isinstance(body, str):
                return Response(body, status_code=status, media_type="text/plain")
            return JSONResponse(body, status_code=status)
        return None

    async def _chat(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {OPENAI_KEY}":
            return JSONResponse(
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                           "param": None, "code": "invalid_api_key"}},
                status_code=401,
            )  # fmt: skip
        forced = await self._common(request)
        if forced is not None:
            return forced
        body = self.requests[-1]
        return JSONResponse({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600,
            "model": body["model"] + "-2026-01-01",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": self.content,
                                                 "refusal": None},
                         "finish_reason": self.finish}],
            "usage": {"prompt_tokens": 85, "completion_tokens": 6, "total_tokens": 91},
        })  # fmt: skip

    async def _gemini(self, request: Request) -> Response:
        if request.headers.get("x-goog-api-key") != GEMINI_KEY:
            return JSONResponse(
                {"error": {"code": 400, "message": "API key not valid.",
                           "status": "INVALID_ARGUMENT"}},
                status_code=400,
            )  # fmt: skip
        forced = await self._common(request)
        if forced is not None:
            return forced
        model = request.path_params["model"]
        finish = "STOP" if self.finish == "stop" else self.finish
        return JSONResponse({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "thinking…", "thought": True}, {"text": self.content}]},
                "finishReason": finish, "index": 0}],
            "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 8,
                              "totalTokenCount": 150},
            "modelVersion": model + "-001",
        })  # fmt: skip

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        self._release.set()
        await self.server.stop()
