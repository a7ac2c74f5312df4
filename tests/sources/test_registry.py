"""build_sources builds what AEGIS_SOURCE names and refuses unknown names."""

from __future__ import annotations

import pytest

from aegis.core.config import Settings
from aegis.core.errors import InvalidRequest
from aegis.sources.registry import build_sources


def test_builds_named_broker_sources(settings: Settings) -> None:
    s = settings.model_copy(update={"source": "kis,kiwoom,binance"})
    assert [src.name for src in build_sources(s, [])] == ["kis", "kiwoom", "binance"]


def test_unknown_source_is_refused(settings: Settings) -> None:
    with pytest.raises(InvalidRequest, match="unknown source"):
        build_sources(settings.model_copy(update={"source": "upbit"}), [])
