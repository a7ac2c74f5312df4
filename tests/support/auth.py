"""A logged-in user for API tests: signs up and logs in through the real endpoints.

    with running_app(tmp_path) as (client, rt, _):
        headers = auth_headers(client)                 # {"Authorization": "Bearer …"}
        admin = auth_headers(client, "boss@example.com", admin=True, runtime=rt)

Works with any client that has ``post(url, json=...)`` returning a response with ``.json()``
(``fastapi.testclient.TestClient`` or ``httpx.Client`` with a ``base_url``)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Protocol

from aegis.services.runtime import Runtime

PASSWORD = "SecurePass123!"
# server mode refuses to start without a strong signing secret: tests that run it use this one
SERVER_AUTH_SECRET = "test-only-signing-secret-4f9c2e7a1b8d6053e"
_seq = itertools.count(1)


class _Client(Protocol):
    def post(self, url: str, *, json: Any = ...) -> Any: ...


def signup(
    client: _Client, email: str | None = None, username: str | None = None, password: str = PASSWORD
) -> tuple[int, str]:
    """Creates a user; returns (userId, email)."""
    n = next(_seq)
    email = email or f"user{n}@example.com"
    username = username or f"user{n}_{email.split('@')[0][:12]}"
    r = client.post(
        "/api/v1/users/signup", json={"email": email, "username": username, "password": password}
    )
    assert r.status_code == 201, r.json()
    return int(r.json()["data"]["userId"]), email


def login(client: _Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Logs in; returns the token data (accessToken, refreshToken, tokenType, expiresIn)."""
    r = client.post("/api/v1/users/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.json()
    data: dict[str, Any] = r.json()["data"]
    return data


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def auth_headers(
    client: _Client,
    email: str | None = None,
    *,
    password: str = PASSWORD,
    admin: bool = False,
    runtime: Runtime | None = None,
) -> dict[str, str]:
    """Signs up a fresh user (or ``email``) and returns its ``Authorization`` header.
    ``admin=True`` needs the ``runtime`` (administrators are made by the CLI, not the API)."""
    _, email = signup(client, email, password=password)
    if admin:
        assert runtime is not None and runtime.accounts is not None, "admin=True needs runtime="
        promote(runtime, email)
    return bearer(login(client, email, password)["accessToken"])


def promote(runtime: Runtime, email: str) -> None:
    """Makes ``email`` an administrator (call from the test thread, not inside a loop)."""
    assert runtime.accounts is not None
    asyncio.run(_promote_with_own_engine(runtime, email))


async def _promote_with_own_engine(runtime: Runtime, email: str) -> None:
    # the app's engine is bound to the app's loop: use a short-lived engine of our own
    from aegis.accounts.service import Accounts
    from aegis.db import create_app_engine

    engine = create_app_engine(runtime.settings.app_db_url)
    try:
        assert runtime.accounts is not None
        await Accounts(engine, runtime.accounts.tokens).set_admin(email)
    finally:
        await engine.dispose()
