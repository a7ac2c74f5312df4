"""Analysis endpoints on real shipped data (statements, valuations, headlines), the LLM
fallback through the API, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aegis.services.runtime import Runtime
from tests.support.app import running_app

DEAD_LLM = "http://127.0.0.1:9"  # nothing listens: every LLM call fails at once


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Runtime, int]]:
    tmp: Path = tmp_path_factory.mktemp("analysis")
    with running_app(tmp, news_poll_seconds=0, llm_base_url=DEAD_LLM, llm_model="llama3") as (
        client,
        rt,
        _,
    ):
        cid = client.get("/api/v1/companies?keyword=005930").json()["data"][0]["companyId"]
        yield client, rt, cid


def test_company_outlook_on_real_data_with_llm_fallback(app) -> None:  # type: ignore[no-untyped-def]
    client, _, cid = app
    r = client.get(f"/api/v1/companies/{cid}/analysis")
    assert r.status_code == 200
    d = r.json()["data"]
    assert d["subject"] == {
        "type": "company",
        "companyId": cid,
        "code": "005930",
        "name": "삼성전자",
    }
    # the configured LLM is unreachable: the quant analyst answered and says so
    assert d["provider"] == "quant" and d["model"] == "aegis-quant-1"
    assert d["fallback"]["provider"] == "openai" and d["fallback"]["model"] == "llama3"
    assert "ConnectError" in d["fallback"]["reason"]
    assert 0 <= d["growthScore"] <= 100 and d["outlook"] in ("긍정", "중립", "부정")
    # real inputs: DART statements (2025 revenue 333.6조), valuations, archived headlines
    assert "333.6조원" in d["rationale"]
    assert d["inputs"]["financials"]["basis"] == "CFS"
    assert 2025 in d["inputs"]["financials"]["years"]
    assert d["inputs"]["valuation"]["day"].startswith("2026-")
    assert d["inputs"]["news"]["headlines"] > 0 and d["inputs"]["news"]["to"].startswith("2026-08")
    names = {c["name"] for c in d["components"]}
    assert {"growth", "profit", "valuation", "news"} <= names
    again = client.get(f"/api/v1/companies/{cid}/analysis").json()["data"]
    assert again["cached"] is True and again["growthScore"] == d["growthScore"]


def test_industry_outlook(app) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    inds = client.get("/api/v1/industries").json()["data"]
    semis = next(i["industryId"] for i in inds if i["name"] == "반도체와반도체장비")
    r = client.get(f"/api/v1/industries/{semis}/analysis")
    assert r.status_code == 200
    d = r.json()["data"]
    assert d["subject"]["industryId"] == semis and d["members"]
    assert {m["code"] for m in d["members"]} >= {"005930", "000660"}
    assert "반도체와반도체장비" in d["rationale"]


def test_picks_and_reports(app) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get("/api/v1/analysis/picks", params={"limit": 3})
    assert r.status_code == 200
    d = r.json()["data"]
    assert len(d["picks"]) == 3 and d["universe"] == 30
    scores = [p["growthScore"] for p in d["picks"]]
    assert scores == sorted(scores, reverse=True)
    assert all(p["reasons"] for p in d["picks"])
    reports = client.get("/api/v1/analysis/reports", params={"limit": 5}).json()["data"]
    assert len(reports) == 5
    assert all(r["provider"] in ("quant", "openai", "gemini") and r["model"] for r in reports)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/companies/99999999/analysis", 404),
        ("/api/v1/industries/0/analysis", 404),
        ("/api/v1/industries/99999/analysis", 404),
        ("/api/v1/analysis/picks?limit=0", 400),
        ("/api/v1/analysis/picks?limit=21", 400),
        ("/api/v1/analysis/reports?limit=abc", 400),
        ("/api/v1/companies/abc/analysis", 400),
    ],
)
def test_bad_input(app, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get(path)
    assert r.status_code == status
    assert r.json()["status"] == status


def test_index_has_no_company_outlook(app) -> None:  # type: ignore[no-untyped-def]
    client, rt, _ = app
    kospi = rt.market.by_symbol["KOSPI"].company_id
    r = client.get(f"/api/v1/companies/{kospi}/analysis")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"
