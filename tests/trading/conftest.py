"""Fixtures shared by the trading tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.kis_trading import FakeKisTrading


@pytest.fixture
async def fake() -> AsyncIterator[FakeKisTrading]:
    """The KIS trading fake on loopback (answers that hang wait 3 s)."""
    f = FakeKisTrading(page_size=2)
    f.hang_seconds = 3.0
    await f.start()
    try:
        yield f
    finally:
        await f.stop()
