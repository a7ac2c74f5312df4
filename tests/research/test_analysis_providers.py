"""LLM providers against local fakes: structured JSON requests, answers validated, every
failure an LLMError without the key in it."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from aegis.research.analysis.providers import Gemini, LLMError, OpenAICompatible, Provider
from tests.fakes.llm import GEMINI_KEY, OPENAI_KEY, FakeLLM


def openai(
    llm: FakeLLM, *, key: str = OPENAI_KEY, base: str | None = None, seconds: float = 5.0
) -> OpenAICompatible:
    return OpenAICompatible(base or llm.url, SecretStr(key), "gpt-4o-mini", seconds)  # fmt: skip


def gemini(llm: FakeLLM, *, key: str = GEMINI_KEY, seconds: float = 5.0) -> Gemini:
    return Gemini(SecretStr(key), "gemini-2.5-flash", seconds, llm.url + "/v1beta")


async def test_openai_compatible_sends_a_strict_json_schema_and_reads_the_answer(
    llm: FakeLLM,
) -> None:
    ans = await openai(llm).analyse("sys", "user")
    assert (ans.growth_score, ans.outlook) == (71, "긍정")
    assert ans.model == "gpt-4o-mini-2026-01-01"  # the model the server reports
    req = llm.requests[-1]
    assert req["response_format"]["type"] == "json_schema"
    assert req["response_format"]["json_schema"]["strict"] is True
    assert req["messages"][0] == {"role": "system", "content": "sys"}


async def test_openai_base_url_with_or_without_v1(llm: FakeLLM) -> None:
    assert (await openai(llm, base=llm.url + "/v1/").analyse("s", "u")).growth_score == 71
    assert (await openai(llm, base=llm.url).analyse("s", "u")).growth_score == 71


async def test_gemini_sends_json_mime_and_schema_and_skips_thoughts(llm: FakeLLM) -> None:
    ans = await gemini(llm).analyse("sys", "user")
    assert (ans.growth_score, ans.outlook, ans.model) == (71, "긍정", "gemini-2.5-flash-001")
    req = llm.requests[-1]
    assert req["generationConfig"]["responseMimeType"] == "application/json"
    assert req["generationConfig"]["responseJsonSchema"]["required"] == [
        "growthScore", "outlook", "rationale"]  # fmt: skip
    assert req["systemInstruction"]["parts"][0]["text"] == "sys"
    assert llm.headers[-1]["x-goog-api-key"] == GEMINI_KEY


@pytest.mark.parametrize("kind", ["openai", "gemini"])
@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("not json", "not JSON"),
        (json.dumps({"growthScore": 120, "outlook": "긍정", "rationale": "x"}), "0–100"),
        (json.dumps({"growthScore": 50, "outlook": "매수", "rationale": "x"}), "outlook"),
        (json.dumps({"growthScore": 50, "outlook": "중립", "rationale": " "}), "rationale"),
        (json.dumps([1, 2]), "not a JSON object"),
    ],
)
async def test_unusable_answers_are_errors(
    llm: FakeLLM, kind: str, content: str, error: str
) -> None:
    llm.content = content
    p: Provider = openai(llm) if kind == "openai" else gemini(llm)
    with pytest.raises(LLMError, match=error):
        await p.analyse("s", "u")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, {"error": {"message": "Rate limit reached", "type": "requests", "param": None,
                         "code": "rate_limit_exceeded"}}, "HTTP 429 rate_limit_exceeded"),
        (500, {"error": {"message": "boom", "type": "server_error"}}, "HTTP 500"),
        (502, "<html>bad gateway</html>", "not JSON"),
        (200, {"choices": []}, "no choices"),
    ],
)  # fmt: skip
async def test_openai_http_errors(llm: FakeLLM, status: int, body: object, error: str) -> None:
    llm.force(status, body)
    with pytest.raises(LLMError, match=error):
        await openai(llm).analyse("s", "u")


async def test_openai_length_and_refusal_are_failures(llm: FakeLLM) -> None:
    llm.finish = "length"
    with pytest.raises(LLMError, match="finish_reason length"):
        await openai(llm).analyse("s", "u")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, {"error": {"code": 429, "message": "You exceeded your current quota",
                         "status": "RESOURCE_EXHAUSTED", "details": [
                             {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                              "retryDelay": "27s"}]}}, "RESOURCE_EXHAUSTED"),
        (503, {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}},
         "UNAVAILABLE"),
        (200, {"promptFeedback": {"blockReason": "SAFETY"}}, "no candidates \\(SAFETY\\)"),
        (200, {"candidates": [{"finishReason": "MAX_TOKENS", "index": 0}]}, "MAX_TOKENS"),
    ],
)  # fmt: skip
async def test_gemini_errors(llm: FakeLLM, status: int, body: object, error: str) -> None:
    llm.force(status, body)
    with pytest.raises(LLMError, match=error):
        await gemini(llm).analyse("s", "u")


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_wrong_keys_fail_without_showing_the_key(llm: FakeLLM, kind: str) -> None:
    p: Provider = openai(llm, key="sk-secret-wrong") if kind == "openai" else gemini(
        llm, key="sk-secret-wrong")  # fmt: skip
    with pytest.raises(LLMError) as err:
        await p.analyse("s", "u")
    assert "sk-secret-wrong" not in str(err.value)
    assert "sk-secret-wrong" not in repr(p)


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_timeouts(llm: FakeLLM, kind: str) -> None:
    llm.stall()
    p: Provider = openai(llm, seconds=0.3) if kind == "openai" else gemini(llm, seconds=0.3)
    with pytest.raises(LLMError, match="timed out"):
        await p.analyse("s", "u")


async def test_unreachable_endpoint() -> None:
    p = OpenAICompatible("http://127.0.0.1:9", None, "llama3", 2.0)
    with pytest.raises(LLMError, match="ConnectError"):
        await p.analyse("s", "u")
