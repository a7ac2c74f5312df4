"""News endpoints over the seeded archive: company/industry news, search, keywords, feed status,
and every bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aegis.services.runtime import Runtime
from tests.support.app import running_app

CLOSED = "http://127.0.0.1:9/rss.xml"  # nothing listens on the discard port


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Runtime, int]]:
    tmp: Path = tmp_path_factory.mktemp("news")
    with running_app(tmp, news_poll_seconds=0, news_rss_feeds=f"닫힌 피드|{CLOSED}") as (
        client,
        rt,
        _,
    ):
        cid = client.get("/api/v1/companies?keyword=005930").json()["data"][0]["companyId"]
        yield client, rt, cid


def test_company_news_lists_archived_headlines_newest_first(app) -> None:  # type: ignore[no-untyped-def]
    client, _, cid = app
    r = client.get(f"/api/v1/companies/{cid}/news", params={"limit": 5})
    assert r.status_code == 200
    body = r.json()
    items = body["data"]
    assert len(items) == 5 and body["meta"]["hasMore"] is True
    for it in items:
        assert it["origin"] == "archive"
        assert any(c["code"] == "005930" and c["companyId"] == cid for c in it["companies"])
        assert set(it) == {"newsId", "title", "press", "url", "publishedAt", "origin", "feed",
                           "companies"}  # fmt: skip
    times = [datetime.fromisoformat(it["publishedAt"]) for it in items]
    assert times == sorted(times, reverse=True)
    assert items[0]["publishedAt"].endswith("+09:00")
    page2 = client.get(f"/api/v1/companies/{cid}/news", params={"limit": 5, "offset": 5}).json()
    assert not {i["newsId"] for i in items} & {i["newsId"] for i in page2["data"]}


def test_without_a_reachable_feed_the_meta_says_so(app) -> None:  # type: ignore[no-untyped-def]
    client, rt, cid = app
    client.portal.call(rt.news.collect_once)
    feeds = client.get(f"/api/v1/companies/{cid}/news").json()["meta"]["feeds"]
    assert feeds["live"] is False and feeds["lastSuccessAt"] is None
    assert "뉴스 피드에 연결할 수 없습니다" in feeds["message"]
    assert "닫힌 피드" in feeds["message"] and "아카이브" in feeds["message"]
    status = client.get("/api/v1/news/feeds").json()["data"]
    closed = next(f for f in status if f["name"] == "rss:닫힌 피드")
    assert closed["lastError"] and closed["lastSuccessAt"] is None
    archive = next(f for f in status if f["name"] == "archive")
    assert archive["totalCount"] > 13_000


def test_industry_news_covers_member_companies(app) -> None:  # type: ignore[no-untyped-def]
    client, rt, _ = app
    inds = client.get("/api/v1/industries").json()["data"]
    semis_id = next(i["industryId"] for i in inds if i["name"] == "반도체와반도체장비")
    members = set(rt.research.industries.get(semis_id).symbols)
    r = client.get(f"/api/v1/industries/{semis_id}/news", params={"limit": 20})
    assert r.status_code == 200
    items = r.json()["data"]
    assert items
    for it in items:
        assert any(c["code"] in members for c in it["companies"])


@pytest.mark.parametrize("path", ["/api/v1/industries/0/news", "/api/v1/industries/9999/news",
                                  "/api/v1/companies/99999999/news"])  # fmt: skip
def test_unknown_company_or_industry_is_404(app, path: str) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get(path)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


def test_search_is_korean_aware_and_bounded_by_dates(app) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get("/api/v1/news", params={"q": "반도체", "from": "2025-02-01", "to": "2025-02-10"})
    assert r.status_code == 200
    items = r.json()["data"]
    assert items
    for it in items:
        assert "반도체" in it["title"].replace(" ", "")
        assert "2025-02-01" <= it["publishedAt"][:10] <= "2025-02-10"
    # particles do not matter: "반도체가" headlines are found by "반도체"
    two = client.get("/api/v1/news", params={"q": "삼성전자 반도체", "limit": 50}).json()["data"]
    assert two and all("삼성전자" in i["title"] and "반도체" in i["title"] for i in two)
    none = client.get("/api/v1/news", params={"q": "존재하지않는검색어조합"}).json()
    assert none["data"] == [] and none["meta"]["hasMore"] is False


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"from": "2025-03-01", "to": "2025-02-01"},
        {"q": "!!!"},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"q": "x" * 101},
    ],
)
def test_bad_search_input_is_400(app, params: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get("/api/v1/news", params=params)
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_REQUEST"


def test_keywords_of_the_latest_week_when_offline(app) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get("/api/v1/news/keywords", params={"window": "7d", "limit": 30})
    assert r.status_code == 200
    body = r.json()
    words = [k["word"] for k in body["data"]]
    assert len(words) == 30 and "삼성전자" in words
    counts = [k["count"] for k in body["data"]]
    assert counts == sorted(counts, reverse=True)
    assert not {"기자", "주가", "뉴스"} & set(words)
    meta = body["meta"]
    # the archive ends 2026-08-22: the window ends at its newest headline
    assert meta["to"].startswith("2026-08-2") and meta["headlines"] > 100
    old = client.get("/api/v1/news/keywords", params={"window": "30d", "to": "2025-02-15"}).json()
    assert old["meta"]["to"].startswith("2025-02-16T00:00") and old["data"]


def test_an_epoch_seconds_end_is_that_instant_not_a_day_later(app) -> None:  # type: ignore[no-untyped-def]
    # ten-digit epoch seconds used to be taken for a bare date ("2026-02-10" is ten characters
    # too) and moved a day later, so the window and the search ran a day past `to`
    client, _, _ = app
    end = datetime.fromisoformat("2026-08-20T12:00:00+09:00")
    epoch = str(int(end.timestamp()))
    kw = client.get("/api/v1/news/keywords", params={"window": "7d", "to": epoch}).json()
    assert datetime.fromisoformat(kw["meta"]["to"]) == end
    found = client.get("/api/v1/news", params={"to": epoch, "limit": 5}).json()["data"]
    assert found and all(datetime.fromisoformat(it["publishedAt"]) < end for it in found)


@pytest.mark.parametrize("window", ["abc", "0h", "400d", "7y", "7"])
def test_bad_keyword_window_is_400(app, window: str) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = app
    r = client.get("/api/v1/news/keywords", params={"window": window})
    assert r.status_code == 400
