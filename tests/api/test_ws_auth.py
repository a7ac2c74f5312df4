"""WebSocket authentication: a token on connect (``?token=``) or an ``auth`` message raises the
symbol budget; anonymous clients keep public data with the smaller one; bad tokens close 4401."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from aegis.services.runtime import Runtime
from tests.support.app import running_app
from tests.support.auth import login, signup

ANON, FULL = 2, 4


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime, list[str]]]:
    with running_app(tmp_path, ws_max_symbols=FULL, ws_anonymous_max_symbols=ANON) as (
        client,
        rt,
        _,
    ):
        assert rt.market is not None
        stocks = [s for s, i in rt.market.by_symbol.items() if i.kind == "stock"][:FULL]
        yield client, rt, stocks


def token(client: TestClient) -> str:
    _, email = signup(client)
    access: str = login(client, email)["accessToken"]
    return access


def subscribe(ws: object, symbols: list[str]) -> dict[str, object]:
    ws.send_json({"action": "subscribe", "symbols": symbols})  # type: ignore[attr-defined]
    reply: dict[str, object] = ws.receive_json()  # type: ignore[attr-defined]
    return reply


def test_anonymous_clients_get_public_data_with_the_smaller_budget(
    app: tuple[TestClient, Runtime, list[str]],
) -> None:
    client, _, stocks = app
    with client.websocket_connect("/ws/stocks") as ws:
        assert subscribe(ws, stocks[:ANON])["type"] == "subscribed"
        refused = subscribe(ws, stocks[ANON : ANON + 1])
        assert refused["type"] == "error" and refused["code"] == "INVALID_REQUEST"
        assert f"at most {ANON}" in str(refused["message"])


def test_token_on_connect_raises_the_budget(app: tuple[TestClient, Runtime, list[str]]) -> None:
    client, _, stocks = app
    with client.websocket_connect(f"/ws/stocks?token={token(client)}") as ws:
        assert subscribe(ws, stocks[:FULL])["type"] == "subscribed"


def test_auth_message_raises_the_budget(app: tuple[TestClient, Runtime, list[str]]) -> None:
    client, _, stocks = app
    with client.websocket_connect("/ws/stocks") as ws:
        ws.send_json({"action": "auth", "token": token(client)})
        ack = ws.receive_json()
        assert ack["type"] == "authenticated" and ack["maxSymbols"] == FULL
        assert subscribe(ws, stocks[:FULL])["type"] == "subscribed"


@pytest.mark.parametrize("bad", ["garbage", "a.b.c", ""])
def test_bad_token_on_connect_closes_4401(
    app: tuple[TestClient, Runtime, list[str]], bad: str
) -> None:
    client, _, _ = app
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"/ws/stocks?token={bad}") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4401


@pytest.mark.parametrize("bad", ["garbage", None, 5, "revoked"])
def test_bad_auth_message_closes_4401(
    app: tuple[TestClient, Runtime, list[str]], bad: object
) -> None:
    client, _, _ = app
    if bad == "revoked":
        bad = token(client)
        client.post("/api/v1/users/logout", headers={"Authorization": f"Bearer {bad}"})
    with client.websocket_connect("/ws/stocks") as ws:
        ws.send_json({"action": "auth", "token": bad})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def reply(ws: object) -> dict[str, object]:
    """The next message that is not the server's heartbeat ping."""
    while True:
        msg: dict[str, object] = ws.receive_json()  # type: ignore[attr-defined]
        if msg.get("type") != "ping":
            return msg


def test_auth_messages_are_rate_limited_like_any_other(tmp_path: Path) -> None:
    burst = 5
    with running_app(tmp_path, ws_messages_per_second=0.001, ws_message_burst=burst) as (
        client,
        _,
        _,
    ):
        access = token(client)
        with client.websocket_connect("/ws/stocks") as ws:
            # a valid token, again and again: each would cost a session lookup
            for _ in range(burst + 1):
                ws.send_json({"action": "auth", "token": access})
            replies = [reply(ws) for _ in range(burst + 1)]
            assert [r["type"] for r in replies[:burst]] == ["authenticated"] * burst
            assert replies[burst]["type"] == "error"
            assert replies[burst]["code"] == "TOO_MANY_MESSAGES"
            # past a burst more without pause, the flood ends the connection (1008)
            with pytest.raises(WebSocketDisconnect) as closed:
                for _ in range(burst + 1):
                    ws.send_json({"action": "auth", "token": access})
                while True:
                    ws.receive_json()
        assert closed.value.code == 1008
