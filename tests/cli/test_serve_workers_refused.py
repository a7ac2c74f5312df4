"""``aegis serve --workers N`` needs server mode and ``--no-ingest``: anywhere else it refuses
with a message instead of starting processes that would share no bus or ingest twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aegis.cli.app import app
from tests.support.auth import SERVER_AUTH_SECRET


def test_workers_in_embedded_mode_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AEGIS_DATABASE_URL", raising=False)
    monkeypatch.delenv("AEGIS_REDIS_URL", raising=False)
    out = CliRunner().invoke(app, ["serve", "--workers", "2", "--no-ingest"])
    assert out.exit_code == 2
    assert "needs server mode" in out.output


def test_workers_with_ingest_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AEGIS_DATABASE_URL", "postgresql://aegis@127.0.0.1:1/aegis")
    monkeypatch.setenv("AEGIS_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("AEGIS_AUTH_SECRET", SERVER_AUTH_SECRET)
    out = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert out.exit_code == 2
    assert "--no-ingest" in out.output
