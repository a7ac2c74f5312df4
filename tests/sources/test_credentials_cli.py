"""Encrypted key store, the credentials CLI, and KIS daily-chart backfill paging."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import httpx
import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from aegis.cli.sources import credentials_app
from aegis.core.config import Settings
from aegis.credentials.crypto import CredentialError
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.sources.common.ratelimit import TokenBucket
from aegis.sources.kis.auth import KisAuth
from aegis.sources.kis.rest import KisRest
from tests.fakes.kis import FakeKis


def test_keys_are_encrypted_at_rest_with_a_generated_0600_key(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.set("kis", BrokerCredentials(SecretStr("PSkey-123"), SecretStr("very-secret"), True))
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    blob = (tmp_path / "credentials.enc").read_bytes()
    assert b"very-secret" not in blob and b"PSkey-123" not in blob
    got = CredentialStore(tmp_path).get("kis")
    assert got is not None and got.app_secret.get_secret_value() == "very-secret" and got.paper
    assert "very-secret" not in repr(got)


def test_wrong_master_key_fails_clearly(tmp_path: Path) -> None:
    CredentialStore(tmp_path, "first").set(
        "kiwoom", BrokerCredentials(SecretStr("a"), SecretStr("b"))
    )
    with pytest.raises(CredentialError, match="wrong AEGIS_SECRET_KEY"):
        CredentialStore(tmp_path, "second").get("kiwoom")


def test_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    CredentialStore(tmp_path).set("kis", BrokerCredentials(SecretStr("a"), SecretStr("b")))
    os.chmod(tmp_path / "secret.key", 0o644)
    with pytest.raises(CredentialError, match="chmod 600"):
        CredentialStore(tmp_path).get("kis")


def test_cli_prompts_hidden_and_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AEGIS_SECRET_KEY", "cli-test-key")
    app = typer.Typer()
    app.add_typer(credentials_app, name="credentials")
    result = CliRunner().invoke(
        app, ["credentials", "set", "kis"], input="PSmy-app-key\nmy-app-secret-xyz\n"
    )
    assert result.exit_code == 0, result.output
    assert "my-app-secret-xyz" not in result.output and "PSmy-app-key" not in result.output
    assert all("my-app-secret-xyz" not in r.getMessage() for r in caplog.records)
    creds = CredentialStore(tmp_path, "cli-test-key").get("kis")
    assert creds is not None and creds.app_key.get_secret_value() == "PSmy-app-key"


async def test_daily_backfill_pages_backwards_with_progress(
    settings: Settings, fake_kis: FakeKis, kis_creds: BrokerCredentials
) -> None:
    fake_kis.add_daily("005930", date(2024, 1, 2), 250)
    calls: list[tuple[int, date]] = []
    async with httpx.AsyncClient(base_url=fake_kis.rest_url) as http:
        auth = KisAuth(http, kis_creds, CredentialStore.from_settings(settings))
        rest = KisRest(http, kis_creds, auth, TokenBucket(20))
        bars = await rest.daily_chart(
            "005930",
            date(2024, 1, 1),
            date(2024, 12, 31),
            progress=lambda n, d: calls.append((n, d)),
        )
    assert len(bars) == 250
    assert [b.day for b in bars] == sorted(b.day for b in bars)
    assert len(calls) == 3 and calls[-1][0] == 250  # 100 + 100 + 50 rows
    assert fake_kis.violations == 0
