"""Shared data is looked up beside the checkout, and its absence fails CI instead of skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.shared import REPO, require_shared_data, shared_data_dir


def test_default_is_beside_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AEGIS_SHARED_DATA", raising=False)
    assert shared_data_dir() == REPO.parent / "shared" / "data"


def test_missing_data_skips_locally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AEGIS_SHARED_DATA", str(tmp_path / "nowhere"))
    monkeypatch.delenv("AEGIS_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="shared data not found"):
        require_shared_data()


def test_missing_data_fails_when_required(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AEGIS_SHARED_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("AEGIS_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="AEGIS_REQUIRE_SERVICES=1 but shared data"):
        require_shared_data()
