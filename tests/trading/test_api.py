"""The trading API end to end on a running app: a paper round trip with real requests, every
refusal as an envelope, the safety switches, the streams, backtests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aegis.services.runtime import Runtime
from tests.support.app import running_app
from tests.support.auth import auth_headers
from tests.support.sources import ScriptedSource
from tests.trading.support import kst, tick

DAY = date(2026, 12, 1)  # a Tuesday; the shipped history ends before it (prev close 199,400)
SAMSUNG = "005930"

App = tuple[TestClient, Runtime, ScriptedSource]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with running_app(tmp_path, [[tick(SAMSUNG, 199_400, 1, kst(9, 30, day=DAY))]]) as a:
        until(lambda: a[1].trading is not None and a[1].trading.paper.clock > 0, "the tape")
        yield a


def until(cond: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def trade(app: App, price: int, volume: int, ts: int) -> None:
    _, rt, source = app
    source.push_threadsafe([tick(SAMSUNG, price, volume, ts)])
    assert rt.trading is not None
    until(lambda: rt.trading is not None and rt.trading.paper.clock >= ts, "the trade")


def order(client: TestClient, headers: dict[str, str], order_id: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert r.status_code == 200
    data: dict[str, Any] = r.json()["data"]
    return data


def test_paper_round_trip(app: App) -> None:
    client, _, _ = app
    h = auth_headers(client)
    r = client.post(
        "/api/v1/orders",
        headers=h,
        json={"symbol": SAMSUNG, "side": "BUY", "type": "LIMIT", "quantity": 10,
              "price": 199_000, "clientOrderId": "rt-1"},
    )  # fmt: skip
    assert r.status_code == r.json()["status"] == 201, r.json()  # the envelope says 201 too
    buy = r.json()["data"]
    assert buy["status"] == "ACCEPTED" and buy["filledQuantity"] == 0
    trade(app, 199_000, 3, kst(10, 0, 1, day=DAY))
    until(lambda: order(client, h, buy["orderId"])["filledQuantity"] == 3, "partial fill")
    assert order(client, h, buy["orderId"])["status"] == "PARTIALLY_FILLED"
    trade(app, 198_900, 100, kst(10, 0, 2, day=DAY))
    until(lambda: order(client, h, buy["orderId"])["status"] == "FILLED", "fill")
    assert order(client, h, buy["orderId"])["averageFillPrice"] == 199_000

    r = client.post(
        "/api/v1/orders", headers=h,
        json={"symbol": SAMSUNG, "side": "SELL", "type": "MARKET", "quantity": 10},
    )  # fmt: skip
    sell = r.json()["data"]
    trade(app, 200_000, 50, kst(10, 1, day=DAY))
    until(lambda: order(client, h, sell["orderId"])["status"] == "FILLED", "sell fill")

    p = client.get("/api/v1/portfolio", headers=h).json()["data"]
    # buy commissions 89 + 208; sell: commission 300, tax 0.20 % = 4,000
    assert p["realizedPnl"] == 2_000_000 - 1_990_000 - 89 - 208 - 300 - 4_000 == 5_403
    assert p["cash"] == p["totalValue"] == 10_005_403 and p["positions"] == []
    t = client.get("/api/v1/trades?page=1&pageSize=2", headers=h).json()
    assert t["meta"] == {"total": 3, "page": 1, "pageSize": 2, "totalPages": 2}
    assert t["data"][0]["side"] == "SELL" and t["data"][0]["tax"] == 4_000
    assert t["data"][0]["realizedPnl"] == 5_403
    sells = client.get("/api/v1/trades?side=SELL", headers=h).json()
    assert sells["meta"]["total"] == 1
    today = client.get("/api/v1/trades/today", headers=h).json()["data"]
    assert len(today) == 3


def test_refusals_are_envelopes_and_change_nothing(app: App) -> None:
    client, _, _ = app
    h = auth_headers(client)

    def post(body: dict[str, Any], headers: dict[str, str] = h) -> Any:
        return client.post("/api/v1/orders", headers=headers, json=body)

    base = {"symbol": SAMSUNG, "side": "BUY", "type": "LIMIT", "quantity": 1, "price": 199_000}
    cases = [
        ({**base, "price": 199_050}, 400, "ORDER_REJECTED", "TICK_SIZE"),
        ({**base, "price": 990_000}, 400, "ORDER_REJECTED", "PRICE_LIMIT"),  # far past +30 %
        ({**base, "quantity": 60}, 400, "ORDER_REJECTED", "INSUFFICIENT_CASH"),
        ({**base, "side": "SELL"}, 400, "ORDER_REJECTED", "INSUFFICIENT_POSITION"),
        ({**base, "quantity": 0}, 400, "INVALID_REQUEST", None),
        ({**base, "quantity": -1}, 400, "INVALID_REQUEST", None),
        ({**base, "quantity": 1.5}, 400, "INVALID_REQUEST", None),
        ({**base, "symbol": "999999"}, 400, "INVALID_REQUEST", None),
        ({**base, "side": "HOLD"}, 400, "INVALID_REQUEST", None),
        ({k: v for k, v in base.items() if k != "quantity"}, 400, "MISSING_FIELD", None),
    ]
    for body, status, code, reason in cases:
        r = post(body)
        assert r.status_code == status, (body, r.json())
        assert r.json()["code"] == code, (body, r.json())
        if reason:
            assert r.json()["details"]["reason"] == reason
    assert post(base, {}).status_code == 401
    assert client.get("/api/v1/orders", headers=h).json()["data"] == []
    p = client.get("/api/v1/portfolio", headers=h).json()["data"]
    assert p["cash"] == p["availableCash"] == 10_000_000

    mine = post({**base, "clientOrderId": "c-1"})
    assert mine.status_code == 201
    again = post({**base, "clientOrderId": "c-1"})
    assert again.status_code == 200 and again.json()["data"] == mine.json()["data"]
    other = auth_headers(client)
    oid = mine.json()["data"]["orderId"]
    assert client.get(f"/api/v1/orders/{oid}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/orders/{oid}", headers=other).status_code == 404
    r = client.delete(f"/api/v1/orders/{oid}", headers=h)
    assert r.status_code == 200 and r.json()["data"]["status"] == "CANCELLED"
    r = client.delete(f"/api/v1/orders/{oid}", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "ORDER_STATE"
    opened = client.get("/api/v1/orders?status=OPEN", headers=h).json()["data"]
    assert opened == []
    assert client.get("/api/v1/orders?status=BOGUS", headers=h).status_code == 400


def test_safety_switches(app: App) -> None:
    client, _, _ = app
    h = auth_headers(client)
    base = {"symbol": SAMSUNG, "side": "BUY", "type": "LIMIT", "quantity": 1, "price": 199_000}
    open_order = client.post("/api/v1/orders", headers=h, json=base).json()["data"]
    r = client.post("/api/v1/system/trading/kill", headers=h)
    assert r.status_code == 200
    status = r.json()["data"]
    assert status["enabled"] is False and status["openOrders"] == 0
    assert status["triggers"][0]["kind"] == "KILL_SWITCH"
    assert order(client, h, open_order["orderId"])["status"] == "CANCELLED"
    r = client.post("/api/v1/orders", headers=h, json={**base, "price": 198_000})
    assert r.json()["details"]["reason"] == "TRADING_OFF"
    client.post("/api/v1/system/trading/on", headers=h)
    r = client.put("/api/v1/system/trading/limits", headers=h, json={"maxOrderValue": 100_000})
    assert r.json()["data"]["limits"]["maxOrderValue"] == 100_000
    r = client.post("/api/v1/orders", headers=h, json=base)
    assert r.json()["details"]["reason"] == "MAX_ORDER_VALUE"
    r = client.put("/api/v1/system/trading/limits", headers=h, json={"maxOrderValue": -5})
    assert r.status_code == 400
    r = client.post("/api/v1/system/trading/state", headers=h, json={"state": "HALTED"})
    assert r.json()["data"]["state"] == "HALTED"
    assert client.post("/api/v1/system/trading/off?all=true", headers=h).status_code == 403
    assert client.get("/api/v1/portfolio?account=live", headers=h).status_code == 403


def test_admin_switches_every_account(app: App) -> None:
    client, rt, _ = app
    user = auth_headers(client)
    client.get("/api/v1/portfolio", headers=user)  # opens the user's paper account
    admin = auth_headers(client, "boss@example.com", admin=True, runtime=rt)
    r = client.post("/api/v1/system/trading/off?all=true", headers=admin)
    assert r.status_code == 200
    assert client.get("/api/v1/system/trading", headers=user).json()["data"]["enabled"] is False


def test_event_and_portfolio_streams(app: App) -> None:
    client, _, _ = app
    h = auth_headers(client)
    token = h["Authorization"].split()[1]
    with client.websocket_connect(f"/ws/events?token={token}") as events:
        assert events.receive_json()["type"] == "hello"
        body = {"symbol": SAMSUNG, "side": "BUY", "type": "MARKET", "quantity": 2}
        client.post("/api/v1/orders", headers=h, json=body)
        kinds = [events.receive_json() for _ in range(2)]
        assert [k["status"] for k in kinds] == ["NEW", "ACCEPTED"]
        trade(app, 199_500, 10, kst(10, 5, day=DAY))
        msgs = [events.receive_json() for _ in range(2)]
        fill = next(m for m in msgs if m["type"] == "fill")
        assert fill["quantity"] == 2 and fill["price"] == 199_500
    with client.websocket_connect(f"/ws/portfolio?token={token}") as ws:
        first = ws.receive_json()
        assert first["type"] == "portfolio" and first["positions"][0]["quantity"] == 2
        trade(app, 200_500, 1, kst(10, 6, day=DAY))
        moved = ws.receive_json()
        assert moved["positions"][0]["marketPrice"] == 200_500
    with (
        pytest.raises(Exception),  # noqa: B017 - closed with 4401 before any message
        client.websocket_connect("/ws/events?token=bad") as ws,
    ):
        ws.receive_json()


def test_backtest_over_the_shipped_history(app: App) -> None:
    client, _, _ = app
    h = auth_headers(client)
    body = {"strategy": "ma_cross", "symbols": [SAMSUNG], "from": "2023-01-01",
            "to": "2025-01-01", "interval": "1d", "params": {"fast": 5, "slow": 20}}  # fmt: skip
    r = client.post("/api/v1/backtests", headers=h, json=body)
    assert r.status_code == r.json()["status"] == 201, r.json()
    rep = r.json()["data"]
    assert rep["candles"] > 200 and rep["trades"] > 0
    assert rep["finalEquity"] == rep["equityCurve"][-1]["equity"]
    got = client.get(f"/api/v1/backtests/{rep['id']}", headers=h).json()["data"]
    assert got["totalReturn"] == rep["totalReturn"]
    png = client.get(f"/api/v1/backtests/{rep['id']}/equity.png", headers=h)
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    other = auth_headers(client)
    assert client.get(f"/api/v1/backtests/{rep['id']}", headers=other).status_code == 404
    bad = client.post("/api/v1/backtests", headers=h, json={**body, "strategy": "nope"})
    assert bad.status_code == 404
    bad = client.post("/api/v1/backtests", headers=h, json={**body, "params": {"fast": 50}})
    assert bad.status_code == 400


def test_strategy_runs_start_list_stop(app: App) -> None:
    client, _, _ = app
    h = auth_headers(client)
    names = [s["name"] for s in client.get("/api/v1/strategies", headers=h).json()["data"]]
    assert {"ma_cross", "breakout", "rsi"} <= set(names)
    body = {"strategy": "rsi", "symbols": [SAMSUNG], "interval": "1m", "params": {"period": 5}}
    r = client.post("/api/v1/strategies/runs", headers=h, json=body)
    assert r.status_code == r.json()["status"] == 201, r.json()
    run = r.json()["data"]
    assert run["params"]["period"] == 5
    runs = client.get("/api/v1/strategies/runs", headers=h).json()["data"]
    assert [x["runnerId"] for x in runs] == [run["runnerId"]]
    other = auth_headers(client)
    assert (
        client.delete(f"/api/v1/strategies/runs/{run['runnerId']}", headers=other).status_code
        == 404
    )
    assert client.delete(f"/api/v1/strategies/runs/{run['runnerId']}", headers=h).status_code == 200
    bad = client.post("/api/v1/strategies/runs", headers=h, json={**body, "symbols": ["999999"]})
    assert bad.status_code == 400
    bad = client.post("/api/v1/strategies/runs", headers=h, json={**body, "strategy": "nope"})
    assert bad.status_code == 404


def test_strategy_run_survives_a_runtime_restart(tmp_path: Path) -> None:
    """A whole runtime stops and a new one starts over the same data directory: the run is
    running again under its id, a stopped one is not."""
    from tests.support.auth import bearer, login, signup

    first = [[tick(SAMSUNG, 199_400, 1, kst(9, 30, day=DAY))]]
    body = {"strategy": "rsi", "symbols": [SAMSUNG], "interval": "1m", "params": {"period": 5}}
    with running_app(tmp_path, first) as (client, _, _):
        _, email = signup(client)
        h = bearer(login(client, email)["accessToken"])
        kept = client.post("/api/v1/strategies/runs", headers=h, json=body).json()["data"]
        gone = client.post("/api/v1/strategies/runs", headers=h, json=body).json()["data"]
        assert client.delete(f"/api/v1/strategies/runs/{gone['runnerId']}", headers=h).is_success
    with running_app(tmp_path, first) as (client, rt, _):
        until(lambda: rt.trading is not None, "trading")
        h = bearer(login(client, email)["accessToken"])
        runs = client.get("/api/v1/strategies/runs", headers=h).json()["data"]
        assert [(r["runnerId"], r["resumed"]) for r in runs] == [(kept["runnerId"], True)]
        assert runs[0]["params"]["period"] == 5


def test_non_finite_alert_values_are_refused_and_nothing_is_stored(app: App) -> None:
    """JSON bodies may carry NaN/Infinity (Python's parser takes them): an alert at NaN was a
    500 (NOT NULL), one at Infinity was stored and could never fire, and Infinity as a
    strategy parameter was a 500 (int(inf)) for a backtest or a run."""
    client, _, _ = app
    h = {**auth_headers(client), "content-type": "application/json"}
    for value in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"symbol": "{SAMSUNG}", "kind": "CHANGE_PCT", "value": {value}}}'
        r = client.post("/api/v1/alerts", headers=h, content=body)
        assert r.status_code == 400, (value, r.json())
        assert r.json()["code"] == "INVALID_REQUEST"
        params = f'"params": {{"fast": {value}}}'
        run = f'{{"strategy": "ma_cross", "symbols": ["{SAMSUNG}"], {params}}}'
        r = client.post("/api/v1/strategies/runs", headers=h, content=run)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST", r.json()
        bt = (
            f'{{"strategy": "ma_cross", "symbols": ["{SAMSUNG}"], "from": "2024-01-01", '
            f'"to": "2025-01-01", {params}}}'
        )
        r = client.post("/api/v1/backtests", headers=h, content=bt)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST", r.json()
    assert client.get("/api/v1/alerts", headers=h).json()["data"] == []
    assert client.get("/api/v1/strategies/runs", headers=h).json()["data"] == []
    assert client.get("/api/v1/backtests", headers=h).json()["data"] == []


@pytest.mark.parametrize("huge", [2**31, 2**63, 10**20])
def test_ids_past_the_id_columns_range_are_not_found_not_a_server_error(
    app: App, huge: int
) -> None:
    # such an id reached SQL and overflowed the driver's integer (500 INTERNAL_ERROR)
    client, _, _ = app
    h = auth_headers(client)
    for method, path in (
        ("DELETE", f"/api/v1/alerts/{huge}"),
        ("GET", f"/api/v1/backtests/{huge}"),
        ("GET", f"/api/v1/backtests/{huge}/equity.png"),
    ):
        r = client.request(method, path, headers=h)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "NOT_FOUND"


def test_every_trading_figure_is_the_same_after_a_runtime_restart(tmp_path: Path) -> None:
    """A partial fill, a sale with tax, a cancel, a reset; after each whole-runtime restart
    (the books rebuilt from the event log, the market clock from the stored candles) every
    GET of the trading API answers as before."""
    from tests.support.auth import bearer, login, signup

    first = [[tick(SAMSUNG, 199_400, 1, kst(9, 30, day=DAY))]]

    def answers(client: TestClient, h: dict[str, str]) -> dict[str, Any]:
        paths = [
            "/api/v1/portfolio",
            f"/api/v1/portfolio/{SAMSUNG}",
            "/api/v1/orders",
            "/api/v1/orders?status=OPEN",
            "/api/v1/trades?pageSize=500",
            "/api/v1/trades/today",
            "/api/v1/system/trading",
        ]
        out = {}
        for path in paths:
            r = client.get(path, headers=h)
            body = r.json()
            out[path] = r.status_code, body.get("data"), body.get("meta"), body.get("message")
        return out

    with running_app(tmp_path, first) as app:
        client, rt, _ = app
        until(lambda: rt.trading is not None and rt.trading.paper.clock > 0, "the tape")
        _, email = signup(client)
        h = bearer(login(client, email)["accessToken"])
        body = {"symbol": SAMSUNG, "side": "BUY", "type": "LIMIT", "quantity": 10,
                "price": 199_000}  # fmt: skip
        buy = client.post("/api/v1/orders", headers=h, json=body).json()["data"]
        trade(app, 199_000, 3, kst(10, 0, day=DAY))
        until(lambda: order(client, h, buy["orderId"])["filledQuantity"] == 3, "partial fill")
        sell = {**body, "side": "SELL", "quantity": 2, "price": 200_000}
        sold = client.post("/api/v1/orders", headers=h, json=sell).json()["data"]
        trade(app, 200_000, 2, kst(10, 1, day=DAY))
        until(lambda: order(client, h, sold["orderId"])["status"] == "FILLED", "the sale")
        gone = client.post("/api/v1/orders", headers=h, json={**body, "price": 198_000})
        client.delete(f"/api/v1/orders/{gone.json()['data']['orderId']}", headers=h)
        before = answers(client, h)
        assert before["/api/v1/trades/today"][1][0]["tax"] == 800  # 400,000 × 0.20 %
        assert before[f"/api/v1/portfolio/{SAMSUNG}"][1]["quantity"] == 1
    with running_app(tmp_path) as (client, rt, _):
        until(lambda: rt.trading is not None and rt.trading.paper.clock > 0, "trading")
        h = bearer(login(client, email)["accessToken"])
        assert answers(client, h) == before
        assert client.post("/api/v1/portfolio/reset", headers=h).status_code == 200
        before = answers(client, h)
        assert before[f"/api/v1/portfolio/{SAMSUNG}"][0] == 404
    with running_app(tmp_path) as (client, rt, _):
        until(lambda: rt.trading is not None and rt.trading.paper.clock > 0, "trading")
        h = bearer(login(client, email)["accessToken"])
        assert answers(client, h) == before
