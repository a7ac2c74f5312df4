"""LLM providers with structured JSON output: any OpenAI-compatible chat-completions endpoint
(OpenAI, a local Ollama or vLLM) and Google Gemini ``generateContent``
(shared/docs/protocols-trading.md §3–4). Every failure is an :class:`LLMError` whose message
never carries the key; the caller falls back to the quant analyst."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

OUTLOOKS = ("긍정", "중립", "부정")

# The answer every provider must give (JSON Schema; Gemini gets the same as responseJsonSchema).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "growthScore": {"type": "integer", "minimum": 0, "maximum": 100},
        "outlook": {"type": "string", "enum": list(OUTLOOKS)},
        "rationale": {"type": "string"},
    },
    "required": ["growthScore", "outlook", "rationale"],
    "additionalProperties": False,
}


class LLMError(Exception):
    """The provider failed (timeout, HTTP error, refusal, unusable output)."""


@dataclass(frozen=True, slots=True)
class LLMAnswer:
    growth_score: int
    outlook: str
    rationale: str
    model: str  # as the provider reports it


def validate(text: str | None, model: str) -> LLMAnswer:
    if not text:
        raise LLMError("empty answer")
    try:
        data = json.loads(text)
    except ValueError:
        raise LLMError("answer is not JSON") from None
    if not isinstance(data, dict):
        raise LLMError("answer is not a JSON object")
    score, outlook, why = data.get("growthScore"), data.get("outlook"), data.get("rationale")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100:
        raise LLMError("growthScore missing or outside 0–100")
    if outlook not in OUTLOOKS:
        raise LLMError(f"outlook must be one of {'/'.join(OUTLOOKS)}")
    if not isinstance(why, str) or not why.strip():
        raise LLMError("rationale missing")
    return LLMAnswer(round(score), outlook, why.strip(), model)


class Provider(Protocol):
    name: str  # "openai" | "gemini"
    model: str

    async def analyse(self, system: str, user: str) -> LLMAnswer: ...


async def _post(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str],
    seconds: float, who: str,
) -> dict[str, Any]:  # fmt: skip
    try:
        resp = await client.post(url, json=body, headers=headers, timeout=seconds)
    except httpx.TimeoutException:
        raise LLMError(f"{who}: timed out after {seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise LLMError(f"{who}: {type(exc).__name__}") from None
    try:
        data = resp.json()
    except ValueError:
        raise LLMError(f"{who}: HTTP {resp.status_code}, not JSON") from None
    if resp.status_code != 200:
        err = data.get("error") if isinstance(data, dict) else None
        detail = ""
        if isinstance(err, dict):
            detail = " ".join(
                str(err[k]) for k in ("code", "status", "message") if err.get(k) is not None
            )
        raise LLMError(f"{who}: HTTP {resp.status_code} {detail}".strip())
    if not isinstance(data, dict):
        raise LLMError(f"{who}: unexpected response")
    return data


class OpenAICompatible:
    """``POST {base}/v1/chat/completions`` with ``response_format: json_schema`` (strict)."""

    name = "openai"

    def __init__(self, base_url: str, api_key: SecretStr | None, model: str, seconds: float,
                 client: httpx.AsyncClient | None = None) -> None:  # fmt: skip
        base = base_url.rstrip("/")
        # compatible servers are often configured with a base already ending in /v1
        self.url = (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"
        self._key = api_key
        self.model = model
        self.seconds = seconds
        self._client = client

    def __repr__(self) -> str:
        return f"OpenAICompatible(url={self.url!r}, model={self.model!r}, key=**********)"

    async def analyse(self, system: str, user: str) -> LLMAnswer:
        body = {
            "model": self.model,
            "temperature": 0.2,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "company_outlook", "strict": True, "schema": SCHEMA},
            },
        }
        headers = {"Authorization": f"Bearer {self._key.get_secret_value()}"} if self._key else {}
        client = self._client or httpx.AsyncClient()
        try:
            data = await _post(client, self.url, body, headers, self.seconds, "LLM")
        finally:
            if self._client is None:
                await client.aclose()
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise LLMError("LLM: no choices")
        choice = choices[0]
        if choice.get("finish_reason") not in (None, "stop"):
            raise LLMError(f"LLM: finish_reason {choice.get('finish_reason')}")
        msg = choice.get("message") or {}
        if msg.get("refusal"):
            raise LLMError("LLM: refused")
        return validate(msg.get("content"), str(data.get("model") or self.model))


class Gemini:
    """``POST {base}/models/{model}:generateContent`` with ``responseMimeType:
    application/json`` and ``responseJsonSchema``."""

    name = "gemini"
    BASE = "https://generativelanguage.googleapis.com/v1beta"

    def __init__(self, api_key: SecretStr, model: str, seconds: float, base_url: str | None = None,
                 client: httpx.AsyncClient | None = None) -> None:  # fmt: skip
        self.url = f"{(base_url or self.BASE).rstrip('/')}/models/{model}:generateContent"
        self._key = api_key
        self.model = model
        self.seconds = seconds
        self._client = client

    def __repr__(self) -> str:
        return f"Gemini(model={self.model!r}, key=**********)"

    async def analyse(self, system: str, user: str) -> LLMAnswer:
        body = {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": "user", "parts": [{"text": user}]}],
            "generationConfig": {
                "temperature": 0.2,
                "responseMimeType": "application/json",
                "responseJsonSchema": SCHEMA,
            },
        }
        headers = {"x-goog-api-key": self._key.get_secret_value()}
        client = self._client or httpx.AsyncClient()
        try:
            data = await _post(client, self.url, body, headers, self.seconds, "Gemini")
        finally:
            if self._client is None:
                await client.aclose()
        cands = data.get("candidates")
        if not isinstance(cands, list) or not cands:
            block = (data.get("promptFeedback") or {}).get("blockReason")
            raise LLMError(f"Gemini: no candidates{f' ({block})' if block else ''}")
        cand = cands[0] if isinstance(cands[0], dict) else {}
        if cand.get("finishReason") not in (None, "STOP"):
            raise LLMError(f"Gemini: finishReason {cand.get('finishReason')}")
        parts = (cand.get("content") or {}).get("parts") or []
        text = "".join(
            str(p.get("text", "")) for p in parts if isinstance(p, dict) and not p.get("thought")
        )
        return validate(text, str(data.get("modelVersion") or self.model))
