"""Secrets and exposure: credentials never shown, broker keys never logged, anonymous clients
cannot take the operator's broker budget, browsers held to the allowed origins, and every
response carries the security headers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from aegis.core.config import Settings
from aegis.core.redact import redact_url
from aegis.services.runtime import Runtime
from aegis.store.migrate import upgrade_all
from aegis.store.postgres import PostgresStore
from aegis.store.sqlite import SQLiteStore
from tests.clients.test_hostile_input import INDEX
from tests.support.app import running_app
from tests.support.auth import SERVER_AUTH_SECRET
from tests.support.inloop import serving
from tests.support.sources import ScriptedSource

SECRET = "hunter2-Secret"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://aegis:{SECRET}@127.0.0.1:5432/aegis",
        f"postgresql://aegis:p@{SECRET}@127.0.0.1:5432/aegis",  # an "@" inside the password
        f"postgresql://aegis@127.0.0.1:15432/aegis?password={SECRET}",
        f"postgresql://aegis@h/aegis?sslmode=verify-full&sslpassword={SECRET}&sslkey=/k/{SECRET}",
        f"postgresql+asyncpg://aegis@h/aegis?application_name=x&PASSWORD={SECRET}",
        f"host=h user=aegis password={SECRET} dbname=aegis",
        f"redis://:{SECRET}@127.0.0.1:6379/0",
        f"rediss://default:{SECRET}@cache.example:6380/1",
        f"redis://127.0.0.1:6379/0?password={SECRET}",
    ],
)
def test_credentials_are_redacted_in_every_url_form(url: str) -> None:
    shown = redact_url(url)
    assert SECRET not in shown
    assert "***" in shown


def test_urls_without_credentials_are_shown_as_they_are() -> None:
    for url in ("postgresql://aegis@h:5432/aegis?sslmode=require", "redis://h:6379/0"):
        assert redact_url(url) == url


@pytest.mark.services
async def test_status_never_shows_the_database_password_given_as_a_query_parameter(
    tmp_path: Path, postgres_url: str
) -> None:
    url = f"{postgres_url}?password={SECRET}"  # a valid libpq form (the server trusts loopback)
    settings = Settings(
        data_dir=tmp_path, database_url=url, auth_secret=SecretStr(SERVER_AUTH_SECRET)
    )
    upgrade_all(settings.store_url, settings.app_db_url)
    rt = Runtime(settings, store=PostgresStore(url), sources=[ScriptedSource()])
    async with serving(settings, rt) as addr, httpx.AsyncClient() as http:
        resp = await http.get(f"http://{addr}/api/v1/system/status")
    assert resp.status_code == 200
    assert resp.json()["data"]["store"]["url"].endswith("?password=***")
    assert SECRET not in resp.text


@pytest.fixture
def fixtures_dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    d.mkdir()
    (d / "index.html").write_text(INDEX)
    return d


@pytest.fixture
def client(tmp_path: Path, fixtures_dist: Path) -> Iterator[TestClient]:
    with running_app(tmp_path, web_dist=fixtures_dist) as (client, _, _):
        yield client


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    inline = INDEX.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    for path in ("/", "/stocks/005930", "/api/v1/quotes?symbols=005930", "/api/v1/nope", "/docs"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
        assert h["x-content-type-options"] == "nosniff"
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "strict-origin-when-cross-origin"
    app_csp = client.get("/").headers["content-security-policy"]
    # the dashboard's own inline theme script is allowed by its hash, nothing else inline
    assert f"'sha256-{digest}'" in app_csp
    assert "'unsafe-inline'" not in app_csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "connect-src 'self'" in app_csp


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[str, Settings]]:
    settings = Settings(data_dir=tmp_path, allowed_origins=["https://app.example"])
    upgrade_all(settings.store_url, settings.app_db_url)
    rt = Runtime(settings, store=SQLiteStore(settings.sqlite_path), sources=[ScriptedSource()])
    async with serving(settings, rt) as addr:
        yield addr, settings


async def test_no_server_header(live: tuple[str, Settings]) -> None:
    addr, _ = live
    async with httpx.AsyncClient() as http:
        resp = await http.get(f"http://{addr}/healthz")
    assert resp.status_code == 200
    assert "server" not in resp.headers


async def test_websockets_accept_the_same_origin_listed_origins_and_non_browsers_only(
    live: tuple[str, Settings],
) -> None:
    addr, _ = live
    for origin in (f"http://{addr}", "https://app.example", None):
        ws = await connect(f"ws://{addr}/ws/stocks", origin=origin)  # type: ignore[arg-type]
        await ws.send('{"action":"ping"}')
        async with asyncio.timeout(30):
            assert "pong" in str(await ws.recv())
        await ws.close()
    for origin in ("https://evil.example", "http://127.0.0.1.evil.example", "null"):
        with pytest.raises(InvalidStatus) as err:
            await connect(f"ws://{addr}/ws/stocks", origin=origin)  # type: ignore[arg-type]
        assert err.value.response.status_code == 403


async def test_cors_is_granted_to_listed_origins_only(live: tuple[str, Settings]) -> None:
    addr, _ = live
    async with httpx.AsyncClient() as http:
        ok = await http.get(f"http://{addr}/healthz", headers={"origin": "https://app.example"})
        evil = await http.get(f"http://{addr}/healthz", headers={"origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in evil.headers


def test_without_allowed_origins_a_foreign_browser_is_refused(client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as err:  # noqa: SIM117
        with client.websocket_connect("/ws/stocks", headers={"origin": "https://evil.example"}):
            pass
    assert err.value.code == 1008
    with client.websocket_connect("/ws/stocks", headers={"origin": "http://testserver"}) as ws:
        ws.send_text('{"action":"ping"}')
        assert "pong" in ws.receive_text()
