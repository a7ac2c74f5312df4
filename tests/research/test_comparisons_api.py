"""Comparisons over HTTP: per-user ownership, validation, normalised lines and the table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.app import running_app
from tests.support.auth import auth_headers


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with running_app(tmp_path_factory.mktemp("cmp")) as (c, _rt, _src):
        yield c, auth_headers(c)


def cid(client: TestClient, code: str) -> int:
    found = client.get("/api/v1/companies", params={"keyword": code}).json()["data"]
    return int(next(c["companyId"] for c in found if c["code"] == code))


def create(
    client: TestClient, headers: dict[str, str], body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    r = client.post("/api/v1/comparisons", json=body, headers=headers)
    assert r.status_code == status, r.text
    out: dict[str, Any] = r.json()
    assert out["status"] == status
    return out


def test_create_list_and_detail(ctx: tuple[TestClient, dict[str, str]]) -> None:
    client, h = ctx
    ids = [cid(client, "005930"), cid(client, "000660")]
    made = create(client, h, {"name": "반도체 기업 비교", "companies": ids})["data"]
    assert made["name"] == "반도체 기업 비교" and made["period"] == "1Y"
    assert [c["symbol"] for c in made["companies"]] == ["005930", "000660"]
    assert [c["companyName"] for c in made["companies"]] == ["삼성전자", "SK하이닉스"]
    listed = client.get("/api/v1/comparisons", headers=h).json()["data"]
    assert made["comparisonId"] in [c["comparisonId"] for c in listed]

    d = client.get(
        f"/api/v1/comparisons/{made['comparisonId']}", headers=h, params={"period": "3M"}
    )
    assert d.status_code == 200
    data = d.json()["data"]
    assert data["period"] == "3M" and data["asOf"]
    for line in data["performance"]:
        assert line["points"], line["reason"]
        assert line["points"][0]["value"] == 100.0
        times = [p["time"] for p in line["points"]]
        assert times == sorted(times) and (times[-1] - times[0]) <= 92 * 86_400
    samsung = data["table"][0]
    assert samsung["symbol"] == "005930"
    assert samsung["per"]["value"] == 44.34 and samsung["per"]["asOf"] == "2026-04-24"
    assert samsung["operatingMargin"]["value"] is not None
    assert samsung["revenueGrowth"]["source"]
    assert samsung["high52w"]["value"] >= samsung["low52w"]["value"]
    assert samsung["price"]["value"] and samsung["price"]["source"]


def test_missing_figures_say_why(ctx: tuple[TestClient, dict[str, str]]) -> None:
    client, h = ctx
    # 000040 has no statements and no valuation rows in the shipped data
    made = create(
        client,
        h,
        {"name": "데이터 없음", "companies": [cid(client, "005930"), cid(client, "000040")]},
    )
    data = client.get(f"/api/v1/comparisons/{made['data']['comparisonId']}", headers=h).json()[
        "data"
    ]
    row = data["table"][1]
    for key in ("per", "pbr", "revenueGrowth", "operatingMargin"):
        assert row[key]["value"] is None and row[key]["reason"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "하나", "companies": [1]},
        {"name": "열하나", "companies": list(range(1, 12))},
        {"name": "중복", "companies": [1, 1]},
        {"name": "", "companies": [1, 2]},
        {"companies": [1, 2]},
        {"name": "기간", "companies": [1, 2], "period": "2W"},
        {"name": "문자", "companies": ["a", "b"]},
    ],
)
def test_bad_bodies_are_400_and_create_nothing(
    ctx: tuple[TestClient, dict[str, str]], body: dict[str, Any]
) -> None:
    client, _ = ctx
    h = auth_headers(client)
    out = create(client, h, body, 400)
    assert out["code"] in ("INVALID_REQUEST", "MISSING_FIELD")
    assert client.get("/api/v1/comparisons", headers=h).json()["data"] == []


def test_unknown_company_is_404(ctx: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = ctx
    h = auth_headers(client)
    out = create(
        client, h, {"name": "없는 회사", "companies": [cid(client, "005930"), 99_999_999]}, 404
    )
    assert out["code"] == "NOT_FOUND"
    assert client.get("/api/v1/comparisons", headers=h).json()["data"] == []


def test_another_users_comparison_is_404(ctx: tuple[TestClient, dict[str, str]]) -> None:
    client, h = ctx
    made = create(
        client, h, {"name": "내 비교", "companies": [cid(client, "005930"), cid(client, "035420")]}
    )
    other = auth_headers(client)
    cmp_id = made["data"]["comparisonId"]
    r = client.get(f"/api/v1/comparisons/{cmp_id}", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    assert client.delete(f"/api/v1/comparisons/{cmp_id}", headers=other).status_code == 404
    assert client.get("/api/v1/comparisons", headers=other).json()["data"] == []
    assert client.get(f"/api/v1/comparisons/{cmp_id}", headers=h).status_code == 200
    assert client.delete(f"/api/v1/comparisons/{cmp_id}", headers=h).status_code == 200
    assert client.get(f"/api/v1/comparisons/{cmp_id}", headers=h).status_code == 404


def test_login_is_required(ctx: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = ctx
    assert client.get("/api/v1/comparisons").status_code == 401
    r = client.post("/api/v1/comparisons", json={"name": "x", "companies": [1, 2]})
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED"
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/v1/comparisons/1", headers=bad).status_code == 401


def test_bad_period_on_detail_is_400(ctx: tuple[TestClient, dict[str, str]]) -> None:
    client, h = ctx
    made = create(
        client, h, {"name": "기간", "companies": [cid(client, "005930"), cid(client, "000660")]}
    )
    r = client.get(
        f"/api/v1/comparisons/{made['data']['comparisonId']}", headers=h, params={"period": "5Y"}
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"


def test_deleting_the_account_removes_its_comparisons(
    ctx: tuple[TestClient, dict[str, str]],
) -> None:
    import sqlite3

    client, _ = ctx
    h = auth_headers(client)
    made = create(
        client,
        h,
        {"name": "삭제될 비교", "companies": [cid(client, "005930"), cid(client, "000660")]},
    )
    cmp_id = made["data"]["comparisonId"]
    r = client.request("DELETE", "/api/v1/users/me", json={"password": "SecurePass123!"}, headers=h)
    assert r.status_code == 200, r.text
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    db = rt.settings.app_db_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM comparisons WHERE id = ?),"
            " (SELECT count(*) FROM comparison_companies WHERE comparison_id = ?)",
            (cmp_id, cmp_id),
        ).fetchone()
    assert left == (0, 0)
