"""``aegis users create [--admin] EMAIL``: the first administrator from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from aegis.accounts.tables import users
from aegis.cli.app import app
from aegis.core.config import Settings
from aegis.db import create_app_engine

runner = CliRunner()


def rows(tmp_path: Path) -> list[tuple[str, str, bool]]:
    async def read() -> list[tuple[str, str, bool]]:
        engine = create_app_engine(Settings(data_dir=tmp_path).app_db_url)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(
                    sa.select(users.c.email, users.c.username, users.c.is_admin).order_by(
                        users.c.id
                    )
                )
                return [(r.email, r.username, bool(r.is_admin)) for r in result]
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("AEGIS_DATABASE_URL", raising=False)


def test_create_admin_with_password_on_stdin(tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        ["users", "create", "--admin", "Boss@Example.com", "--password-stdin"],
        input="SecurePass123!\n",
    )
    assert r.exit_code == 0, r.output
    assert "created administrator boss@example.com" in r.output
    assert rows(tmp_path) == [("boss@example.com", "boss", True)]


def test_create_prompts_twice_and_refuses_a_weak_password(tmp_path: Path) -> None:
    r = runner.invoke(app, ["users", "create", "ab@example.com"], input="weak\nweak\n")
    assert r.exit_code == 1 and "INVALID_PASSWORD" in r.output
    assert rows(tmp_path) == []
    r = runner.invoke(
        app, ["users", "create", "ab@example.com"], input="SecurePass123!\nSecurePass123!\n"
    )
    assert r.exit_code == 0, r.output
    assert rows(tmp_path) == [("ab@example.com", "ab", False)]


def test_admin_flag_promotes_an_existing_user(tmp_path: Path) -> None:
    runner.invoke(
        app, ["users", "create", "ab@example.com", "--password-stdin"], input="Secure123!x\n"
    )
    r = runner.invoke(app, ["users", "create", "ab@example.com"])
    assert r.exit_code == 1 and "already registered" in r.output
    r = runner.invoke(app, ["users", "create", "--admin", "ab@example.com"])
    assert r.exit_code == 0 and "now an administrator" in r.output
    assert rows(tmp_path) == [("ab@example.com", "ab", True)]


def test_serve_refuses_server_mode_without_a_strong_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_DATABASE_URL", "postgresql://aegis@127.0.0.1:1/aegis")
    monkeypatch.delenv("AEGIS_AUTH_SECRET", raising=False)
    r = runner.invoke(app, ["serve"])
    assert r.exit_code == 2 and "AEGIS_AUTH_SECRET" in r.output
    monkeypatch.setenv("AEGIS_AUTH_SECRET", "changeme")
    r = runner.invoke(app, ["serve"])
    assert r.exit_code == 2 and "too weak" in r.output
