"""Company research, industries, rankings and indices over HTTP: shapes, sources, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.app import running_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("research")
    with running_app(tmp) as (c, _rt, _src):
        yield c


def company_id(client: TestClient, code: str) -> int:
    found = client.get("/api/v1/companies", params={"keyword": code}).json()["data"]
    return int(next(c["companyId"] for c in found if c["code"] == code))


def get(client: TestClient, path: str, status: int = 200, **params: Any) -> dict[str, Any]:
    r = client.get(f"/api/v1{path}", params=params)
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def test_company_profile_has_listing_fields_and_industry(client: TestClient) -> None:
    d = get(client, f"/companies/{company_id(client, '005930')}")["data"]
    assert d["representative"] and d["region"] == "경기도"
    assert d["homepage"].startswith("http")
    assert d["listingDate"] == "1975-06-11"
    assert d["industryName"] == "반도체와반도체장비" and d["industryId"] >= 1
    assert d["profileSource"] == "krx-listing:2026-03-22"


def test_financials_default_to_consolidated_annual(client: TestClient) -> None:
    d = get(client, f"/companies/{company_id(client, '005930')}/financials")["data"]
    assert d["basis"] == "CFS" and d["period"] == "annual" and d["currency"] == "KRW"
    assert d["availableBases"] == ["CFS", "OFS"]
    by_year = {r["year"]: r for r in d["rows"]}
    assert by_year[2022]["revenue"] == 302_231_360_000_000
    assert by_year[2024]["operatingProfit"] == 32_725_961_000_000
    assert all(r["quarter"] is None for r in d["rows"])
    assert {s["id"] for s in d["sources"]} == {r["source"] for r in d["rows"]}
    assert d["dart"]["configured"] is False


def test_consolidated_rows_without_a_balance_sheet_say_so(client: TestClient) -> None:
    """The shipped consolidated data hold income lines only: the response says 연결 재무제표
    없음 instead of silently null assets, and points to the parent-only balance sheet."""
    cid = company_id(client, "005930")
    d = get(client, f"/companies/{cid}/financials")["data"]
    assert all(r["totalAssets"] is None for r in d["rows"])
    assert d["balanceSheetReason"].startswith("연결 재무제표 없음")
    assert "basis=OFS" in d["balanceSheetReason"]
    # parent-only quarters have balance sheets: no reason there
    ofs = get(client, f"/companies/{cid}/financials", period="quarterly", basis="OFS")["data"]
    assert ofs["balanceSheetReason"] is None
    # a company without any statement: the rows' reason, no balance-sheet note
    none = get(client, f"/companies/{company_id(client, '000040')}/financials")["data"]
    assert none["balanceSheetReason"] is None


def test_company_profile_without_dart_says_why(client: TestClient) -> None:
    d = get(client, f"/companies/{company_id(client, '005930')}")["data"]
    assert d["dartProfile"] is None and "AEGIS_DART_API_KEY" in d["dartProfileReason"]


def test_financials_parent_only_quarterly_with_balance_sheet(client: TestClient) -> None:
    cid = company_id(client, "005930")
    d = get(client, f"/companies/{cid}/financials", period="quarterly", basis="OFS")["data"]
    assert d["basis"] == "OFS"
    rows = {(r["year"], r["quarter"]): r for r in d["rows"]}
    assert rows[(2016, 1)]["totalAssets"] is not None
    assert rows[(2015, 4)]["revenue"] is None  # that row of the file is the whole year
    annual = get(client, f"/companies/{cid}/financials", basis="OFS")["data"]["rows"]
    y2022 = next(r for r in annual if r["year"] == 2022)
    assert y2022["revenue"] == sum(rows[(2022, q)]["revenue"] for q in range(1, 5))


def test_financials_consolidated_quarterly_from_announcements(client: TestClient) -> None:
    cid = company_id(client, "000660")
    rows = get(client, f"/companies/{cid}/financials", period="quarterly")["data"]["rows"]
    q = {(r["year"], r["quarter"]): r for r in rows}
    assert q[(2024, 3)]["revenue"] == 17_573_100_000_000
    assert (2026, 2) in q


def test_company_without_statements_says_why(client: TestClient) -> None:
    d = get(client, f"/companies/{company_id(client, '000040')}/financials")["data"]
    assert d["rows"] == [] and d["availableBases"] == []
    assert "재무 데이터가 없습니다" in d["reason"]


@pytest.mark.parametrize(
    "params",
    [{"period": "monthly"}, {"basis": "IFRS"}, {"period": ""}],
)
def test_bad_period_or_basis_is_400(client: TestClient, params: dict[str, str]) -> None:
    body = get(client, f"/companies/{company_id(client, '005930')}/financials", 400, **params)
    assert body["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("tail", ["", "/financials", "/reports", "/valuation"])
def test_unknown_company_is_404(client: TestClient, tail: str) -> None:
    assert get(client, f"/companies/99999999{tail}", 404)["code"] == "NOT_FOUND"


def test_reports_newest_first_with_viewer_links(client: TestClient) -> None:
    d = get(client, f"/companies/{company_id(client, '005930')}/reports", limit=5)["data"]
    assert d["total"] >= len(d["reports"]) > 0
    dates = [r["filedAt"] for r in d["reports"]]
    assert dates == sorted(dates, reverse=True)
    r = d["reports"][0]
    assert r["url"] == f"https://dart.fss.or.kr/dsaf001/main.do?rcpNo={r['rceptNo']}"
    get(client, f"/companies/{company_id(client, '005930')}/reports", 400, limit=0)


@pytest.mark.parametrize("offset", [2**31, 10**20])
def test_reports_offset_beyond_any_page_is_400_not_a_server_error(
    client: TestClient, offset: int
) -> None:
    # an offset past the database's integer range used to reach SQL and fail with a 500
    body = get(client, f"/companies/{company_id(client, '005930')}/reports", 400, offset=offset)
    assert body["code"] == "INVALID_REQUEST"


def test_valuation_history_in_range(client: TestClient) -> None:
    cid = company_id(client, "005930")
    d = get(client, f"/companies/{cid}/valuation", start="2026-04-01", end="2026-04-30")["data"]
    last = d["rows"][-1]
    assert last == {
        "date": "2026-04-24",
        "close": 219_500,
        "per": 44.34,
        "pbr": 3.79,
        "dividendYield": last["dividendYield"],
        "marketCap": 1_283_258_200_000_000,
    }
    assert all("2026-04-01" <= r["date"] <= "2026-04-30" for r in d["rows"])
    get(client, f"/companies/{cid}/valuation", 400, start="yesterday")
    get(client, f"/companies/{cid}/valuation", 400, start="2026-05-01", end="2026-04-01")


def test_industries_cover_the_wics_map(client: TestClient) -> None:
    rows = get(client, "/industries")["data"]
    assert len(rows) == 79
    semi = next(r for r in rows if r["name"] == "반도체와반도체장비")
    assert semi["memberCount"] > 100 and semi["marketCap"] > 0
    assert semi["sources"] and semi["asOf"]
    assert get(client, f"/industries/{semi['industryId']}")["data"]["name"] == semi["name"]
    assert get(client, "/industries/0", 404)["code"] == "NOT_FOUND"


def test_company_rankings_by_each_key(client: TestClient) -> None:
    for by, field in [("marketCap", "marketCap"), ("volume", "volume"), ("amount", "amount")]:
        rows = get(client, "/rankings/companies", by=by, market="KOSPI", limit=20)["data"]
        values = [r[field] for r in rows]
        assert values == sorted(values, reverse=True) and len(rows) == 20
        assert all(r["market"] == "KOSPI" and r["source"] and r["asOf"] for r in rows)
    top = get(client, "/rankings/companies", limit=1)["data"][0]
    assert top["code"] == "005930" and top["rank"] == 1
    kosdaq = get(client, "/rankings/companies", market="kosdaq", limit=50)["data"]
    assert {r["market"] for r in kosdaq} <= {"KOSDAQ", "KOSDAQ GLOBAL"}
    get(client, "/rankings/companies", 400, by="price")
    get(client, "/rankings/companies", 400, market="NYSE")
    get(client, "/rankings/companies", 400, limit=0)


def test_industry_rankings_and_members(client: TestClient) -> None:
    rows = get(client, "/rankings/industries")["data"]
    caps = [r["marketCap"] for r in rows]
    assert caps == sorted(caps, reverse=True) and rows[0]["rank"] == 1
    members = get(client, f"/rankings/industries/{rows[0]['industryId']}/companies")["data"]
    assert members and all(m["industryId"] == rows[0]["industryId"] for m in members)
    get(client, "/rankings/industries", 400, by="name")
    get(client, "/rankings/industries/999/companies", 404)


def test_indices_history_and_live_value(client: TestClient) -> None:
    d = get(client, "/indices/kospi", interval="1d", limit=5)["data"]
    assert d["symbol"] == "KOSPI" and d["name"] == "코스피" and len(d["candles"]) == 5
    assert d["price"] is not None and d["source"]
    weekly = get(client, "/indices/kosdaq", interval="1w", limit=3)["data"]
    assert weekly["interval"] == "1w" and len(weekly["candles"]) == 3
    get(client, "/indices/nikkei", 404)
    get(client, "/indices/kospi", 400, interval="7x")


def test_valuation_limit_keeps_the_newest_days(client: TestClient) -> None:
    cid = company_id(client, "005930")
    rows = get(client, f"/companies/{cid}/valuation", limit=3)["data"]["rows"]
    assert [r["date"] for r in rows][-1] == "2026-04-24" and len(rows) == 3
    assert rows == sorted(rows, key=lambda r: r["date"])
    get(client, f"/companies/{cid}/valuation", 400, limit=0)


def test_repeated_research_reads_are_served_from_the_cache(client: TestClient) -> None:
    cid = company_id(client, "000660")
    first = get(client, f"/companies/{cid}/financials", period="quarterly")
    metrics = client.get("/metrics").text
    second = get(client, f"/companies/{cid}/financials", period="quarterly")
    assert first == second
    after = client.get("/metrics").text

    def hits(text: str) -> float:
        line = next(
            x
            for x in text.splitlines()
            if x.startswith('aegis_cache_requests_total{cache="research",result="hit"}')
        )
        return float(line.split()[-1])

    assert hits(after) == hits(metrics) + 1
