"""Fixtures shared by the news and analysis tests: a running fake LLM server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.llm import FakeLLM


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    f = FakeLLM()
    await f.start()
    yield f
    await f.stop()
