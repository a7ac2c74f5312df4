"""WebSocket and SSE: subscriptions, live messages, and bad input that leaves the socket open."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession

from aegis.domain.ticks import BUY, Tick
from tests.api.test_rest import PREV, T0, wait_for
from tests.support.app import running_app


def recv_until(ws: WebSocketTestSession, pred: Any, limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        msg = ws.receive_json()
        items = msg if isinstance(msg, list) else [msg]
        for m in items:
            if pred(m):
                return m  # type: ignore[no-any-return]
    raise AssertionError("expected message not received")


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_app(tmp_path, ws_max_symbols=3) as (client, rt, source):
        wait_for(lambda: source.sink is not None)
        yield client, rt, source


def push(client: Any, source: Any, *ticks: Tick) -> None:
    client.portal.call(source.push, list(ticks))


def test_subscribed_client_gets_ticks_with_change(app) -> None:  # type: ignore[no-untyped-def]
    client, _, source = app
    with client.websocket_connect("/ws/stocks") as ws:
        ws.send_json({"action": "subscribe", "symbols": ["005930"]})
        ack = ws.receive_json()
        assert ack == {"type": "subscribed", "channel": "ticks", "symbols": ["005930"]}
        push(
            client,
            source,
            Tick("005930", T0, 200_000, 7, BUY, 1, "sim"),
            Tick("000660", T0, 1_000_000, 1, BUY, 1, "sim"),
        )
        m = recv_until(ws, lambda m: m["type"] == "tick")
        assert m == {
            "type": "tick",
            "symbol": "005930",
            "price": 200_000,
            "volume": 7,
            "change": 200_000 - PREV,
            "changePercent": round((200_000 - PREV) * 100 / PREV, 2),
            "timestamp": "2026-10-05T00:00:00.000Z",
            "source": "sim",
        }


def test_candle_channel_streams_live_candles(app) -> None:  # type: ignore[no-untyped-def]
    client, _, source = app
    with client.websocket_connect("/ws/stocks?batch=1") as ws:
        ws.send_json(
            {"action": "subscribe", "channel": "candles", "interval": "1m", "symbols": ["005930"]}
        )
        recv_until(ws, lambda m: m["type"] == "subscribed")
        push(
            client,
            source,
            Tick("005930", T0, 200_000, 7, BUY, 1, "sim"),
            Tick("005930", T0 + 1_000_000, 200_500, 3, BUY, 2, "sim"),
        )
        m = recv_until(ws, lambda m: m["type"] == "candle")
        assert m["symbol"] == "005930" and m["interval"] == "1m"
        assert m["time"] == T0 // 1_000_000
        assert (m["open"], m["high"], m["close"], m["volume"]) == (200_000, 200_500, 200_500, 10)


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        ("not json", "INVALID_REQUEST", "not JSON"),
        ("[1,2]", "INVALID_REQUEST", "JSON object"),
        ('{"action":"dance"}', "INVALID_REQUEST", "unknown action"),
        (
            '{"action":"subscribe","channel":"gossip","symbols":["005930"]}',
            "INVALID_REQUEST",
            "unknown channel",
        ),
        ('{"action":"subscribe"}', "INVALID_REQUEST", "symbols"),
        ('{"action":"subscribe","symbols":"005930"}', "INVALID_REQUEST", "list of strings"),
        ('{"action":"subscribe","symbols":["NOPE12"]}', "NOT_FOUND", "unknown symbols"),
        (
            '{"action":"subscribe","channel":"candles","interval":"7m","symbols":["005930"]}',
            "INVALID_REQUEST",
            "does not divide",
        ),
        (
            '{"action":"subscribe","symbols":["005930","000660","035420","035720"]}',
            "INVALID_REQUEST",
            "at most 3 symbols",
        ),
        (
            '{"action":"subscribe","symbols":["' + "x" * 20_000 + '"]}',
            "INVALID_REQUEST",
            "larger than",
        ),
    ],
)
def test_bad_message_gets_error_and_keeps_subscriptions(  # type: ignore[no-untyped-def]
    app, raw: str, code: str, fragment: str
) -> None:
    client, _, source = app
    with client.websocket_connect("/ws/stocks") as ws:
        ws.send_json({"action": "subscribe", "symbols": ["005930"]})
        ws.receive_json()
        ws.send_text(raw)
        err = ws.receive_json()
        assert err["type"] == "error"
        assert err["code"] == code
        assert fragment in err["message"]
        # the connection and its earlier subscription are still there
        push(client, source, Tick("005930", T0 + 5, 200_100, 1, BUY, 9, "sim"))
        assert recv_until(ws, lambda m: m["type"] == "tick")["price"] == 200_100


def test_too_many_symbols_across_messages(app) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    with client.websocket_connect("/ws/stocks") as ws:
        ws.send_json({"action": "subscribe", "symbols": ["005930", "000660"]})
        ws.receive_json()
        ws.send_json({"action": "subscribe", "channel": "candles", "symbols": ["035420", "035720"]})
        err = ws.receive_json()
        assert err["type"] == "error" and "2 subscribed already" in err["message"]


def test_unsubscribe_stops_ticks(app) -> None:  # type: ignore[no-untyped-def]
    client, _, source = app
    with client.websocket_connect("/ws/stocks") as ws:
        ws.send_json({"action": "subscribe", "symbols": ["005930", "000660"]})
        ws.receive_json()
        ws.send_json({"action": "unsubscribe", "symbols": ["005930"]})
        assert ws.receive_json()["type"] == "unsubscribed"
        push(
            client,
            source,
            Tick("005930", T0 + 10, 201_000, 1, BUY, 10, "sim"),
            Tick("000660", T0 + 10, 1_001_000, 1, BUY, 10, "sim"),
        )
        m = recv_until(ws, lambda m: m["type"] == "tick")
        assert m["symbol"] == "000660"
        ws.send_json({"action": "ping"})
        assert recv_until(ws, lambda m: m["type"] in ("pong", "tick")) == {"type": "pong"}


def test_realtime_endpoint_subscribes_on_connect(app) -> None:  # type: ignore[no-untyped-def]
    client, _, source = app
    with client.websocket_connect("/ws/realtime/005930") as ws:
        wait_for(
            lambda: any("005930" in s.symbols for s in client.app.state.runtime.hub.subscribers)
        )
        push(client, source, Tick("005930", T0 + 20, 202_000, 2, BUY, 20, "sim"))
        assert recv_until(ws, lambda m: m["type"] == "tick")["price"] == 202_000


def test_quotes_channel_sends_changed_rows(app) -> None:  # type: ignore[no-untyped-def]
    client, _, source = app
    with client.websocket_connect("/ws/stocks") as ws:
        ws.send_json({"action": "subscribe", "channel": "quotes"})
        assert ws.receive_json() == {"type": "subscribed", "channel": "quotes"}
        push(client, source, Tick("035720", T0 + 30, 50_100, 5, BUY, 30, "sim"))
        m = recv_until(ws, lambda m: m["type"] == "quotes")
        row = next(r for r in m["data"] if r["symbol"] == "035720")
        assert row["price"] == 50_100 and row["name"] == "카카오"


def test_sse_streams_tick_events(app) -> None:  # type: ignore[no-untyped-def]
    client, rt, source = app
    with client.stream("GET", "/api/stream/stocks?symbols=005930") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines) == ": connected"
        push(client, source, Tick("005930", T0 + 40, 203_000, 3, BUY, 40, "sim"))
        for line in lines:
            if line.startswith("data: "):
                data = json.loads(line[6:])
                assert data["price"] == 203_000
                break
        for s in list(rt.hub.subscribers):
            s.channel.close()


def test_sse_rejects_unknown_symbols(app) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get("/api/stream/stocks?symbols=NOPE12")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


# KRX codes may hold letters (preferred shares such as 00104K); REST takes them in lower case
LETTERED = "00104K"


def test_a_lower_case_code_subscribes_as_the_listing_spells_it(  # type: ignore[no-untyped-def]
    app,
) -> None:
    client, _, source = app
    with client.websocket_connect("/ws/stocks?batch=1") as ws:
        ws.send_json({"action": "subscribe", "symbols": [LETTERED.lower()]})
        assert ws.receive_json() == {
            "type": "subscribed",
            "channel": "ticks",
            "symbols": [LETTERED],
        }
        ws.send_json({"action": "subscribe", "channel": "candles", "symbols": [LETTERED.lower()]})
        ack = ws.receive_json()
        assert ack["type"] == "subscribed" and ack["symbols"] == [LETTERED]
        push(client, source, Tick(LETTERED, T0 + 50, 178_500, 4, BUY, 50, "sim"))
        got: dict[str, dict[str, Any]] = {}
        while len(got) < 2:  # the tick and the candle, in one frame or two
            msg = ws.receive_json()
            for m in msg if isinstance(msg, list) else [msg]:
                if m["type"] in ("tick", "candle"):
                    got[m["type"]] = m
        assert got["tick"]["symbol"] == LETTERED and got["tick"]["price"] == 178_500
        assert got["candle"]["symbol"] == LETTERED and got["candle"]["close"] == 178_500
        ws.send_json({"action": "unsubscribe", "symbols": [LETTERED.lower()]})
        assert ws.receive_json()["symbols"] == [LETTERED]
        sub = next(iter(client.app.state.runtime.hub.subscribers))
        assert sub.symbols == set() and sub.candles == {(LETTERED, "1m")}


def test_two_spellings_of_a_code_are_one_symbol_of_the_budget(  # type: ignore[no-untyped-def]
    app,
) -> None:
    client, _, _ = app
    with client.websocket_connect("/ws/stocks") as ws:
        # three symbols (the budget), one of them written twice
        ws.send_json(
            {"action": "subscribe", "symbols": [LETTERED, LETTERED.lower(), "005930", "000660"]}
        )
        assert ws.receive_json() == {
            "type": "subscribed",
            "channel": "ticks",
            "symbols": [LETTERED, "005930", "000660"],
        }
        ws.send_json({"action": "subscribe", "channel": "candles", "symbols": [LETTERED.lower()]})
        assert ws.receive_json()["type"] == "subscribed"  # not a fourth symbol


def test_the_realtime_endpoint_takes_a_lower_case_code(app) -> None:  # type: ignore[no-untyped-def]
    client, _, source = app
    with client.websocket_connect(f"/ws/realtime/{LETTERED.lower()}") as ws:
        wait_for(
            lambda: any(LETTERED in s.symbols for s in client.app.state.runtime.hub.subscribers)
        )
        push(client, source, Tick(LETTERED, T0 + 60, 179_000, 2, BUY, 60, "sim"))
        assert recv_until(ws, lambda m: m["type"] == "tick")["symbol"] == LETTERED


def test_sse_takes_lower_case_codes_once_each(app) -> None:  # type: ignore[no-untyped-def]
    client, rt, source = app
    spellings = f"{LETTERED.lower()},{LETTERED},005930,000660"  # three symbols: the budget
    with client.stream("GET", f"/api/stream/stocks?symbols={spellings}") as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        assert next(lines) == ": connected"
        (sub,) = rt.hub.subscribers
        assert sub.symbols == {LETTERED, "005930", "000660"}
        push(client, source, Tick(LETTERED, T0 + 70, 179_500, 3, BUY, 70, "sim"))
        for line in lines:
            if line.startswith("data: "):
                assert json.loads(line[6:])["symbol"] == LETTERED
                break
        for s in list(rt.hub.subscribers):
            s.channel.close()
