"""Collectors against local fakes, on SQLite and PostgreSQL: dedup by URL, failures recorded
per feed (timeouts, malformed feeds, HTTP errors, wrong keys), archive seeded once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.news import tables as t
from aegis.research.news.feeds import Feed, NaverKeys
from aegis.research.news.linker import Linker, Listed
from aegis.research.news.models import Incoming
from aegis.research.news.service import NewsConfig, NewsService
from aegis.research.news.store import NewsStore
from tests.fakes.news import NAVER_ID, NAVER_SECRET, FakeNaver, FakePress, naver_item

COMPANIES = [
    Listed("005930", "삼성전자"),
    Listed("000660", "SK하이닉스"),
    Listed("035720", "카카오"),
]
KEYS = NaverKeys(SecretStr(NAVER_ID), SecretStr(NAVER_SECRET))


@pytest.fixture
async def press() -> AsyncIterator[FakePress]:
    p = FakePress()
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def naver() -> AsyncIterator[FakeNaver]:
    n = FakeNaver()
    await n.start()
    yield n
    await n.stop()


def service(db: AsyncEngine, feeds: list[Feed], **kw: object) -> NewsService:
    svc = NewsService(db, COMPANIES, NewsConfig(feeds=tuple(feeds), timeout=2.0, **kw))  # type: ignore[arg-type]
    svc._seeded = True  # the archive is tested on its own below; keep these fast
    return svc


async def count(db: AsyncEngine, table: sa.Table) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_rss_collect_stores_links_and_deduplicates(
    app_db: AsyncEngine, press: FakePress
) -> None:
    svc = service(
        app_db, [Feed("가짜 증권", press.url + "/ok.xml"), Feed("Atom", press.url + "/atom.xml")]
    )
    first = await svc.collect_once()
    assert first == {"rss:가짜 증권": 2, "rss:Atom": 1}
    again = await svc.collect_once()
    assert again == {"rss:가짜 증권": 0, "rss:Atom": 0}  # same URLs: nothing new
    assert await count(app_db, t.articles) == 3
    news = await svc.for_symbols(["005930"], 10)
    assert [a.title for a in news] == ["삼성전자, HBM4 양산 돌입…반도체 회복 기대"]
    assert news[0].url == "https://press.example/article/1?utm_source=rss"
    assert news[0].origin == "rss:가짜 증권"
    found = await svc.search("반도체", None, None, 10)
    assert [a.id for a in found] == [news[0].id]
    assert await svc.search("메모리", None, None, 10)  # inside '메모리' of the second title
    assert await svc.search("반도체 메모리", None, None, 10) == []  # every term must match


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/broken.xml", "malformed feed"),
        ("/html", "not an RSS/Atom document"),
        ("/500", "HTTP 500"),
        ("/slow.xml", "timed out"),
    ],
)
async def test_failing_feeds_are_recorded_and_do_not_stop_the_others(
    app_db: AsyncEngine, press: FakePress, path: str, error: str
) -> None:
    svc = service(app_db, [Feed("망가진", press.url + path), Feed("정상", press.url + "/ok.xml")])
    got = await svc.collect_once()
    assert error in str(got["rss:망가진"])
    assert got["rss:정상"] == 2
    summary = await svc.summary()
    status = {f.name: f for f in summary.feeds}
    assert error in (status["rss:망가진"].last_error or "")
    assert status["rss:망가진"].last_success_at is None
    assert status["rss:정상"].last_error is None and status["rss:정상"].total_count == 2
    assert summary.live


async def test_unreachable_feeds_say_so_plainly(app_db: AsyncEngine) -> None:
    svc = service(app_db, [Feed("닫힌 포트", "http://127.0.0.1:9/rss.xml")])
    await svc.collect_once()
    summary = await svc.summary()
    assert not summary.live
    assert "연결할 수 없습니다" in summary.message and "닫힌 포트" in summary.message
    assert "aegis credentials set naver" in summary.message
    assert await count(app_db, t.articles) == 0  # nothing made up


async def test_naver_articles_dedup_against_rss_by_either_link(
    app_db: AsyncEngine, press: FakePress, naver: FakeNaver
) -> None:
    naver.items["삼성전자"] = [
        naver_item("<b>삼성전자</b> &quot;파운드리&quot; 수주", 1),
        naver_item("<b>삼성전자</b> 반도체", 2),
    ]
    # the RSS article 1 is also found by Naver under its publisher link
    naver.items["삼성전자"].append(
        {
            **naver_item("삼성전자, HBM4 양산 돌입", 3),
            "originallink": "https://press.example/article/1",
        }
    )
    svc = service(
        app_db, [Feed("가짜 증권", press.url + "/ok.xml")],
        naver_keys=lambda: KEYS, naver_url=naver.url, naver_queries=("삼성전자",),
    )  # fmt: skip
    got = await svc.collect_once()
    assert got["naver"] == 2 and got["rss:가짜 증권"] == 2
    assert naver.queries == ["삼성전자"]
    titles = [a.title for a in await svc.for_symbols(["005930"], 10)]
    assert '삼성전자 "파운드리" 수주' in titles  # <b> and entities cleaned
    assert len(titles) == 3
    # the Naver link of article 3 now also points at the RSS article: a second round adds nothing
    assert (await svc.collect_once())["naver"] == 0


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            429,
            {"errorMessage": "Your query request count is over the limit", "errorCode": "010"},
            "HTTP 429 010",
        ),
        (500, {"errorMessage": "System Error", "errorCode": "SE99"}, "SE99"),
        (200, {"unexpected": True}, "without items"),
    ],
)
async def test_naver_errors_are_recorded(
    app_db: AsyncEngine, naver: FakeNaver, status: int, body: dict[str, object], error: str
) -> None:
    naver.force(status, body)
    svc = service(
        app_db, [], naver_keys=lambda: KEYS, naver_url=naver.url, naver_queries=("삼성전자",)
    )
    got = await svc.collect_once()
    assert error in str(got["naver"])
    (feed,) = (await svc.summary()).feeds
    assert feed.name == "naver" and error in (feed.last_error or "")


async def test_naver_wrong_keys_hint_at_the_credentials_command(
    app_db: AsyncEngine, naver: FakeNaver
) -> None:
    bad = NaverKeys(SecretStr("wrong"), SecretStr("wrong"))
    svc = service(
        app_db, [], naver_keys=lambda: bad, naver_url=naver.url, naver_queries=("카카오",)
    )
    got = str((await svc.collect_once())["naver"])
    assert "HTTP 401 024" in got and "aegis credentials set naver" in got
    assert "wrong" not in got  # keys never in messages


async def test_naver_refusal_without_a_json_body_still_says_which_and_hints_at_the_keys(
    app_db: AsyncEngine, naver: FakeNaver
) -> None:
    """The 401/429 bodies are not documented (§D): the HTTP status alone must tell."""
    naver.force(401, "Unauthorized")
    svc = service(
        app_db, [], naver_keys=lambda: KEYS, naver_url=naver.url, naver_queries=("카카오",)
    )
    got = str((await svc.collect_once())["naver"])
    assert "HTTP 401" in got and "aegis credentials set naver" in got


async def test_naver_timeout(app_db: AsyncEngine, naver: FakeNaver) -> None:
    naver.stall()
    svc = service(
        app_db, [], naver_keys=lambda: KEYS, naver_url=naver.url, naver_queries=("카카오",)
    )
    svc.config = NewsConfig(feeds=(), naver_keys=lambda: KEYS, naver_url=naver.url,
                            naver_queries=("카카오",), timeout=0.3)  # fmt: skip
    assert "timed out" in str((await svc.collect_once())["naver"])


async def test_without_naver_keys_naver_is_not_called(
    app_db: AsyncEngine, naver: FakeNaver
) -> None:
    svc = service(app_db, [], naver_url=naver.url, naver_queries=("카카오",))
    assert await svc.collect_once() == {}
    assert naver.queries == []
    assert not (await svc.summary()).naver_configured


async def test_archive_is_seeded_once_with_company_links(app_db: AsyncEngine) -> None:
    svc = NewsService(app_db, COMPANIES, NewsConfig(feeds=()))
    await svc.ensure_seeded()
    n = await count(app_db, t.articles)
    assert n > 13_000
    other = NewsService(app_db, COMPANIES, NewsConfig(feeds=()))
    await other.ensure_seeded()  # another process: the claim row stops a second seed
    assert await count(app_db, t.articles) == n
    samsung = await svc.for_symbols(["005930"], 5)
    assert len(samsung) == 5 and all("005930" in a.symbols for a in samsung)
    assert all(a.origin == "archive" for a in samsung)
    dates = [a.published_at for a in samsung]
    assert dates == sorted(dates, reverse=True)
    # a collected article after the seed gets the next id (PostgreSQL's sequence was moved)
    added = await svc.store.add(
        [Incoming("카카오 신규 기사", "https://new.example/1", 1796083800)], "rss:x", svc.linker
    )
    assert added == 1


async def test_archive_seed_interrupted_by_a_crash_resumes_without_duplicates(
    app_db: AsyncEngine,
) -> None:
    from aegis.research.news.archive import load_archive
    from aegis.research.news.store import SEED_CHUNK, SEED_STALE_S

    items = load_archive()[: SEED_CHUNK * 2 + 7]
    svc = NewsService(app_db, COMPANIES, NewsConfig(feeds=()))
    # a crash after the claim and the first chunk: rows stored, claim never completed
    first = items[:SEED_CHUNK]
    assert await svc.store.bulk_seed(first, "archive", svc.linker) == len(first)
    async with app_db.begin() as conn:
        await conn.execute(
            t.feeds.update()
            .where(t.feeds.c.name == "archive")
            .values(last_success_at=None, last_attempt_at=int(time.time()))
        )
    # a fresh incomplete claim belongs to a process still seeding: left alone
    assert await svc.store.bulk_seed(items, "archive", svc.linker) == 0
    async with app_db.begin() as conn:
        await conn.execute(
            t.feeds.update()
            .where(t.feeds.c.name == "archive")
            .values(last_attempt_at=int(time.time()) - SEED_STALE_S - 1)
        )
    # a stale one is taken over: only the missing headlines are added
    assert await svc.store.bulk_seed(items, "archive", svc.linker) == len(items) - len(first)
    assert await count(app_db, t.articles) == len(items)
    assert await svc.store.bulk_seed(items, "archive", svc.linker) == 0  # complete now
    async with app_db.connect() as conn:
        done = (
            await conn.execute(
                sa.select(t.feeds.c.last_success_at).where(t.feeds.c.name == "archive")
            )
        ).scalar()
    assert done is not None


async def test_keywords_with_equal_counts_come_in_word_order(app_db: AsyncEngine) -> None:
    # equal counts used to keep the order rows were read in (and a headline's words came in
    # hash order), so which of the tied words made the top `limit` changed between processes
    store = NewsStore(app_db)
    words = ["하", "다", "나", "가"]  # each its own headline, stored in reverse word order
    items = [
        Incoming(f"{w}{w}", f"https://example.com/{i}", 1_000 + i, nouns=(f"{w}{w}",))
        for i, w in enumerate(words)
    ]
    assert await store.add(items, "test", Linker([])) == 4
    top, headlines = await store.keywords(0, 2_000, 2)
    assert headlines == 4
    assert [(k.word, k.count) for k in top] == [("가가", 1), ("나나", 1)]
