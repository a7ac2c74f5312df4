"""The server fixtures skip without binaries, except in CI, where they must fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.services import find_pg_bin, unavailable


def test_missing_server_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AEGIS_REQUIRE_SERVICES", raising=False)

    with pytest.raises(pytest.skip.Exception, match="redis-server not found"):
        unavailable("redis-server not found")


def test_missing_server_fails_when_services_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_REQUIRE_SERVICES", "1")

    with pytest.raises(pytest.fail.Exception, match="AEGIS_REQUIRE_SERVICES=1 but initdb"):
        unavailable("initdb not found")


def test_postgres_binaries_are_looked_up_where_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AEGIS_PG_BIN", str(tmp_path))
    assert find_pg_bin() is None

    for name in ("initdb", "pg_ctl"):
        (tmp_path / name).write_text("")
    assert find_pg_bin() == tmp_path
