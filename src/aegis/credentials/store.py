"""Broker keys and cached tokens, encrypted at rest.

``credentials.enc`` holds the keys of every broker; ``tokens/<name>.enc`` holds a cached access
token. Values are ``SecretStr`` in memory so that repr, logs and status never show them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from aegis.core.config import Settings
from aegis.credentials.crypto import (
    CredentialError,
    key_from_passphrase,
    load_or_create_key_file,
    seal,
    unseal,
)

Broker = Literal["kis", "kiwoom", "binance", "naver"]
# naver: the news search API's client id / secret (stored as app key / secret)
BROKERS: tuple[Broker, ...] = ("kis", "kiwoom", "binance", "naver")


@dataclass(frozen=True, slots=True)
class BrokerCredentials:
    """An app key and its secret. SecretStr keeps both out of repr and logs."""

    app_key: SecretStr
    app_secret: SecretStr
    paper: bool = False

    def __repr__(self) -> str:
        return f"BrokerCredentials(app_key=**********, app_secret=**********, paper={self.paper})"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # atomic: a crash never leaves half a file


class CredentialStore:
    FILE = "credentials.enc"

    def __init__(self, data_dir: Path, secret_key: str | None = None) -> None:
        self.data_dir = data_dir
        self._secret_key = secret_key
        self._key: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialStore:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        return cls(settings.data_dir, secret)

    def __repr__(self) -> str:
        return f"CredentialStore(data_dir={str(self.data_dir)!r})"

    def _master(self) -> bytes:
        if self._key is None:
            self._key = (
                key_from_passphrase(self._secret_key)
                if self._secret_key
                else load_or_create_key_file(self.data_dir)
            )
        return self._key

    # --- generic sealed JSON blobs -------------------------------------------------------
    def _read(self, path: Path, aad: bytes) -> dict[str, Any]:
        if not path.exists():
            return {}
        data = json.loads(unseal(self._master(), path.read_bytes(), aad))
        if not isinstance(data, dict):
            raise CredentialError(f"{path.name}: unexpected content")
        return data

    def _write(self, path: Path, aad: bytes, data: dict[str, Any]) -> None:
        _write_private(path, seal(self._master(), json.dumps(data).encode(), aad))

    # --- broker keys ---------------------------------------------------------------------
    def set(self, broker: Broker, creds: BrokerCredentials) -> None:
        path = self.data_dir / self.FILE
        data = self._read(path, b"credentials")
        data[broker] = {
            "app_key": creds.app_key.get_secret_value(),
            "app_secret": creds.app_secret.get_secret_value(),
            "paper": creds.paper,
        }
        self._write(path, b"credentials", data)

    def get(self, broker: Broker) -> BrokerCredentials | None:
        entry = self._read(self.data_dir / self.FILE, b"credentials").get(broker)
        if not entry:
            return None
        return BrokerCredentials(
            SecretStr(str(entry["app_key"])),
            SecretStr(str(entry["app_secret"])),
            bool(entry.get("paper", False)),
        )

    def brokers(self) -> list[str]:
        return sorted(self._read(self.data_dir / self.FILE, b"credentials"))

    # --- sealed records kept elsewhere (the app DB) ------------------------------------------
    def seal_record(self, aad: bytes, data: dict[str, Any]) -> bytes:
        """A JSON record sealed with the master key, bound to ``aad`` (its owner)."""
        return seal(self._master(), json.dumps(data).encode(), aad)

    def unseal_record(self, aad: bytes, blob: bytes) -> dict[str, Any]:
        data = json.loads(unseal(self._master(), blob, aad))
        if not isinstance(data, dict):
            raise CredentialError("sealed record: unexpected content")
        return data

    def fingerprint(self, label: str, secret: str) -> str:
        """A stable, keyed fingerprint of ``secret`` (an account number): tells two apart
        without storing one; without the master key it cannot be guessed back."""
        mac = hmac.new(self._master(), f"{label}:{secret}".encode(), hashlib.sha256)
        return mac.hexdigest()[:24]

    # --- cached tokens -------------------------------------------------------------------
    def load_token(self, name: str) -> dict[str, Any]:
        try:
            return self._read(self.data_dir / "tokens" / f"{name}.enc", b"token:" + name.encode())
        except (CredentialError, ValueError):
            return {}  # a damaged cache only costs one token request

    def save_token(self, name: str, data: dict[str, Any]) -> None:
        self._write(self.data_dir / "tokens" / f"{name}.enc", b"token:" + name.encode(), data)


def resolve(
    settings: Settings, broker: Broker, store: CredentialStore | None = None
) -> BrokerCredentials | None:
    """Keys for a broker: environment (``AEGIS_KIS_APP_KEY`` …) first, then the store."""
    env: tuple[SecretStr | None, SecretStr | None] = (None, None)
    if broker == "kis":
        env = (settings.kis_app_key, settings.kis_app_secret)
    elif broker == "kiwoom":
        env = (settings.kiwoom_app_key, settings.kiwoom_secret_key)
    elif broker == "naver":
        env = (settings.naver_client_id, settings.naver_client_secret)
    if env[0] is not None and env[1] is not None:
        return BrokerCredentials(env[0], env[1], settings.kis_paper if broker == "kis" else False)
    store = store or CredentialStore.from_settings(settings)
    return store.get(broker)
