"""Favorites and saved grid layouts through the API: per user, 404 for other users' ids, bad
input refused without changes, and gone with the account."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from aegis.api.deps import get_runtime
from aegis.api.routes.users import FAVORITES_MESSAGE, favorite_out
from aegis.domain.ticks import BUY, Tick
from aegis.services.runtime import Runtime
from tests.api.test_rest import T0, wait_for
from tests.support.app import running_app
from tests.support.auth import PASSWORD, auth_headers

FAV = "/api/v1/users/favorites"
LAYOUTS = "/api/v1/users/me/layouts"
SYMBOLS = ["005930", "000660", "373220", "207940", "005380"]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    with running_app(tmp_path) as (client, rt, _):
        yield client, rt


def company_id(rt: Runtime, symbol: str) -> int:
    assert rt.market is not None
    cid = rt.market.by_symbol[symbol].company_id
    assert cid is not None
    return cid


def test_add_list_delete_favorites(app: tuple[TestClient, Runtime]) -> None:
    client, rt = app
    me = auth_headers(client)
    samsung, hynix = company_id(rt, "005930"), company_id(rt, "000660")
    r = client.post(FAV, json={"companyId": samsung}, headers=me)
    assert r.status_code == 201 and r.json()["status"] == 201
    first = r.json()["data"]
    assert first["companyId"] == samsung and first["company"]["name"] == "삼성전자"
    client.post(FAV, json={"companyId": hynix}, headers=me)
    listed = client.get(FAV, headers=me).json()["data"]
    assert [f["company"]["code"] for f in listed] == ["005930", "000660"]
    r = client.delete(f"{FAV}/{first['favoriteId']}", headers=me)
    assert r.status_code == 200
    assert [f["companyId"] for f in client.get(FAV, headers=me).json()["data"]] == [hynix]


def test_favorites_carry_live_quotes(tmp_path: Path) -> None:
    tick = Tick("005930", T0, 71_000, 10, BUY, 1, "sim")
    with running_app(tmp_path, [[tick]]) as (client, rt, source):
        wait_for(lambda: source.ready.is_set())
        me = auth_headers(client)
        client.post(FAV, json={"companyId": company_id(rt, "005930")}, headers=me)

        def quote() -> dict[str, object] | None:
            q: dict[str, object] | None = client.get(FAV, headers=me).json()["data"][0]["quote"]
            return q

        wait_for(lambda: (quote() or {}).get("price") == 71_000, timeout=30)
        q = quote()
        assert q is not None and q["symbol"] == "005930" and q["source"] == "sim"


def test_favorites_are_private(app: tuple[TestClient, Runtime]) -> None:
    client, rt = app
    alice, bob = auth_headers(client), auth_headers(client)
    fav = client.post(FAV, json={"companyId": company_id(rt, "005930")}, headers=alice).json()
    fav_id = fav["data"]["favoriteId"]
    assert client.get(FAV, headers=bob).json()["data"] == []
    r = client.delete(f"{FAV}/{fav_id}", headers=bob)
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
    assert len(client.get(FAV, headers=alice).json()["data"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "MISSING_FIELD"),
        ({"companyId": "abc"}, 400, "INVALID_REQUEST"),
        ({"companyId": 0}, 400, "INVALID_REQUEST"),
        ({"companyId": 99_999_999}, 404, "NOT_FOUND"),
    ],
)
def test_bad_favorite_requests_change_nothing(
    app: tuple[TestClient, Runtime], body: dict[str, object], status: int, code: str
) -> None:
    client, _ = app
    me = auth_headers(client)
    r = client.post(FAV, json=body, headers=me)
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert client.get(FAV, headers=me).json()["data"] == []


def test_duplicate_favorite_is_409_and_unknown_id_404(app: tuple[TestClient, Runtime]) -> None:
    client, rt = app
    me = auth_headers(client)
    cid = company_id(rt, "005930")
    assert client.post(FAV, json={"companyId": cid}, headers=me).status_code == 201
    r = client.post(FAV, json={"companyId": cid}, headers=me)
    assert (r.status_code, r.json()["code"]) == (409, "ALREADY_EXISTS")
    assert client.delete(f"{FAV}/424242", headers=me).status_code == 404
    assert client.delete(f"{FAV}/abc", headers=me).status_code == 400
    assert len(client.get(FAV, headers=me).json()["data"]) == 1


def test_favorite_endpoints_need_a_login(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    for method, path, body in (
        ("GET", FAV, None),
        ("POST", FAV, {"companyId": 1}),
        ("DELETE", f"{FAV}/1", None),
        ("GET", LAYOUTS, None),
        ("PUT", LAYOUTS, {"current": "a", "layouts": {}}),
    ):
        for headers in ({}, {"Authorization": "Bearer nope"}):
            r = client.request(method, path, json=body, headers=headers)
            assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED"), (method, path)


LAYOUT: dict[str, Any] = {
    "current": "반도체",
    "layouts": {
        "반도체": {
            "size": 2,
            "cells": [{"symbol": "005930", "interval": "1m"}] * 16,
            "crosshairSync": True,
        }
    },
}


def test_layouts_round_trip_per_user(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    alice, bob = auth_headers(client), auth_headers(client)
    assert client.get(LAYOUTS, headers=alice).json()["data"] is None
    r = client.put(LAYOUTS, json=LAYOUT, headers=alice)
    assert r.status_code == 200
    assert client.get(LAYOUTS, headers=alice).json()["data"] == LAYOUT
    assert client.get(LAYOUTS, headers=bob).json()["data"] is None
    changed = {**LAYOUT, "layouts": {"반도체": {**LAYOUT["layouts"]["반도체"], "size": 3}}}
    client.put(LAYOUTS, json=changed, headers=alice)
    assert client.get(LAYOUTS, headers=alice).json()["data"]["layouts"]["반도체"]["size"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {"current": "x", "layouts": {}},  # current names no layout
        {"current": "a", "layouts": {"a": {"size": 5, "cells": []}}},
        {"current": "a", "layouts": {"a": {"size": 2, "cells": [{"symbol": "1"}] * 17}}},
        {"current": "a", "layouts": {f"l{i}": {"size": 1, "cells": []} for i in range(21)}},
        {"current": "a" * 41, "layouts": {}},
        {"layouts": {}},
    ],
)
def test_bad_layouts_are_refused(app: tuple[TestClient, Runtime], body: dict[str, object]) -> None:
    client, _ = app
    me = auth_headers(client)
    client.put(LAYOUTS, json=LAYOUT, headers=me)
    r = client.put(LAYOUTS, json=body, headers=me)
    assert r.status_code == 400 and r.json()["code"] in ("INVALID_REQUEST", "MISSING_FIELD")
    assert client.get(LAYOUTS, headers=me).json()["data"] == LAYOUT


def test_deleting_the_account_removes_favorites_and_layouts(
    app: tuple[TestClient, Runtime],
) -> None:
    client, rt = app
    me = auth_headers(client, "leaving@example.com")
    client.post(FAV, json={"companyId": company_id(rt, "005930")}, headers=me)
    client.put(LAYOUTS, json=LAYOUT, headers=me)
    r = client.request("DELETE", "/api/v1/users/me", json={"password": PASSWORD}, headers=me)
    assert r.status_code == 200
    again = auth_headers(client, "leaving@example.com")
    assert client.get(FAV, headers=again).json()["data"] == []
    assert client.get(LAYOUTS, headers=again).json()["data"] is None


def test_polled_list_is_answered_as_by_the_routed_endpoint(
    app: tuple[TestClient, Runtime],
) -> None:
    """The polled list skips FastAPI's routing (aegis.api.hotpath); any dependency override
    sends it through the route instead: both answers, and every layer's headers, are alike."""
    client, rt = app
    me = auth_headers(client)
    for symbol in ("005930", "000660", "373220", "207940", "005380"):
        client.post(FAV, json={"companyId": company_id(rt, symbol)}, headers=me)
    fast = client.get(FAV, headers=me)
    client.app.dependency_overrides[get_runtime] = get_runtime  # type: ignore[attr-defined]
    try:
        routed = client.get(FAV, headers=me)
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content and len(fast.json()["data"]) == 5
    for name in ("etag", "cache-control", "content-security-policy", "x-frame-options", "vary"):
        assert fast.headers[name] == routed.headers[name], name
    assert fast.headers["x-request-id"] != routed.headers["x-request-id"]
    # conditional GET, gzip and the request id work on the fast path as on any route
    r = client.get(FAV, headers={**me, "If-None-Match": fast.headers["etag"]})
    assert r.status_code == 304 and r.content == b""
    r = client.get(FAV, headers={**me, "Accept-Encoding": "gzip", "X-Request-ID": "poll-1"})
    assert r.headers["content-encoding"] == "gzip" and r.content == fast.content
    assert r.headers["x-request-id"] == "poll-1"


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic abc", "bearer nope", "Token x.y.z"],
)
def test_polled_list_refusals_are_the_routes_401(
    app: tuple[TestClient, Runtime], authorization: str
) -> None:
    client, _ = app
    headers = {"Authorization": authorization, "X-Request-ID": "refused-1"} if authorization else {}
    r = client.get(FAV, headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED")
    if authorization:
        assert r.json()["requestId"] == "refused-1"


def test_polled_list_refuses_a_logged_out_token(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    me = auth_headers(client)
    assert client.get(FAV, headers=me).status_code == 200
    assert client.post("/api/v1/users/logout", headers=me).status_code == 200
    r = client.get(FAV, headers=me)
    assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED")


def test_polled_list_is_the_envelope_of_favorite_out(tmp_path: Path) -> None:
    """The polled list is joined from cached JSON parts: the same bytes as the envelope of
    ``favorite_out`` built afresh, and for a company no longer listed."""
    ticks = [Tick(s, T0 + k, 71_000 + k, 10, BUY, k + 1, "sim") for k, s in enumerate(SYMBOLS[:3])]
    with running_app(tmp_path, [ticks]) as (client, rt, source):
        wait_for(lambda: source.ready.is_set())
        market = rt.market
        assert market is not None
        wait_for(lambda: all(market.quote(s) is not None for s in SYMBOLS[:3]))
        me = auth_headers(client)
        for symbol in SYMBOLS:
            client.post(FAV, json={"companyId": company_id(rt, symbol)}, headers=me)

        def expected() -> bytes:
            assert rt.accounts is not None
            favs = asyncio.run(rt.accounts.favorites_for_token(me["Authorization"][7:]))[1]
            data = [favorite_out(f, market) for f in favs]
            body = {"status": 200, "message": FAVORITES_MESSAGE, "data": data}
            return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)

        for _ in range(2):  # built, then from the caches
            r = client.get(FAV, headers=me)
            assert r.status_code == 200 and r.content == expected()
        gone = market.by_id.pop(company_id(rt, "005930"))
        try:
            r = client.get(FAV, headers=me)
            assert r.content == expected()
            assert r.json()["data"][0]["company"] is None
        finally:
            market.by_id[gone.company_id] = gone  # type: ignore[index]


def test_polled_list_shows_changes_at_once(tmp_path: Path) -> None:
    """Nothing cached hides a change: a new or deleted favorite and a new price show on the
    next poll, a logged-out token is refused on the next poll."""
    tick = Tick("005930", T0, 71_000, 10, BUY, 1, "sim")
    with running_app(tmp_path, [[tick]]) as (client, rt, source):
        wait_for(lambda: source.ready.is_set())
        market = rt.market
        assert market is not None
        wait_for(lambda: market.quote("005930") is not None)
        me = auth_headers(client)
        client.post(FAV, json={"companyId": company_id(rt, "005930")}, headers=me)

        def poll() -> list[dict[str, Any]]:
            r = client.get(FAV, headers=me)
            assert r.status_code == 200
            data: list[dict[str, Any]] = r.json()["data"]
            return data

        assert [f["quote"]["price"] for f in poll()] == [71_000]
        added = client.post(FAV, json={"companyId": company_id(rt, "000660")}, headers=me)
        assert [f["company"]["code"] for f in poll()] == ["005930", "000660"]
        client.delete(f"{FAV}/{added.json()['data']['favoriteId']}", headers=me)
        assert [f["company"]["code"] for f in poll()] == ["005930"]

        source.push_threadsafe([Tick("005930", T0 + 1_000_000, 72_500, 3, BUY, 2, "sim")])
        wait_for(lambda: market.quote("005930").price == 72_500)  # type: ignore[union-attr]
        assert poll()[0]["quote"]["price"] == 72_500  # the first poll after the market has it

        assert client.post("/api/v1/users/logout", headers=me).status_code == 200
        r = client.get(FAV, headers=me)
        assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED")
