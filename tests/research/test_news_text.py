"""News building blocks: URL keys, company linking, Korean search terms, feed parsing."""

from __future__ import annotations

import pytest

from aegis.research.news.feeds import FeedError, clean_text, parse_date, parse_feed_list, parse_rss
from aegis.research.news.linker import Linker, Listed
from aegis.research.news.text import bigrams, index_terms, nouns, query_terms
from aegis.research.news.urls import normalise_url
from tests.fakes.news import ATOM, RSS


def test_url_keys_ignore_scheme_www_tracking_fragment_and_param_order() -> None:
    a = normalise_url("https://www.Example.com/news/view?b=2&a=1&utm_source=rss#top")
    b = normalise_url("http://example.com/news/view/?a=1&b=2")
    assert a == b == "example.com/news/view?a=1&b=2"


def test_naver_article_links_share_one_key() -> None:
    a = normalise_url("https://n.news.naver.com/mnews/article/001/0015183406?sid=101")
    b = normalise_url("https://m.news.naver.com/mnews/article/001/0015183406")
    c = normalise_url("https://news.naver.com/mnews/article/001/0015183406/")
    assert a == b == c
    assert normalise_url("https://x.kr/view?idxno=1") != normalise_url("https://x.kr/view?idxno=2")


LINKER = Linker(
    [
        Listed("005930", "삼성전자"),
        Listed("005935", "삼성전자우"),
        Listed("003550", "LG"),
        Listed("066570", "LG전자"),
        Listed("001680", "대상"),
        Listed("035720", "카카오"),
        Listed("035420", "NAVER"),
        Listed("000660", "SK하이닉스"),
    ]
)


@pytest.mark.parametrize(
    ("title", "codes"),
    [
        ("삼성전자가 HBM4 양산에 돌입", ["005930"]),
        ("삼성전자우 배당 확대", ["005935"]),  # the longer listed name wins
        ("LG전자, 가전 실적 개선", ["066570"]),  # not LG
        ("LG CNS 상장 첫날", []),  # LG is ambiguous without a stock marker
        ("LG 주가 3% 상승", ["003550"]),
        ("정부, 소상공인 대상 지원 확대", []),  # 대상 as an everyday word
        ("대상(001680) 실적 발표", ["001680"]),
        ("카카오뱅크 신규 서비스", []),  # part of a longer word, not 카카오
        ("카카오의 반격", ["035720"]),  # a particle may follow
        ("네이버·카카오 동반 강세", ["035420", "035720"]),  # press alias
        ("000660 외국인 순매수 1위", ["000660"]),  # code mention
        ("1005930 같은 숫자열은 코드가 아니다", []),
    ],
)
def test_linker_names_and_codes_with_care_for_short_names(title: str, codes: list[str]) -> None:
    assert LINKER.link(title) == codes


def test_bigram_terms_match_inside_words_and_ignore_particles() -> None:
    assert bigrams("반도체가 강세") == ["반도", "도체", "체가", "강세"]
    assert query_terms("반도체") == ["반도", "도체"]
    terms = set(
        index_terms("한미반도체, HBM 장비 수주", ["한미반도체", "HBM", "장비", "수주"]).split()
    )
    assert set(query_terms("반도체")) <= terms
    assert "hbm" in terms and "한미반도체" in terms
    assert query_terms("!!!") == []


def test_kiwi_nouns_join_written_together_names_and_drop_stop_words() -> None:
    got = nouns(["SK하이닉스, HBM4 양산…주가 3% 상승 기자"])[0]
    assert "SK하이닉스" in got and "HBM" in got and "양산" in got
    assert "주가" not in got and "기자" not in got and "상승" not in got


def test_rss_items_keep_title_link_date_only_and_skip_incomplete_ones() -> None:
    items = parse_rss(RSS.encode(), press="가짜")
    assert [i.title for i in items] == [
        "삼성전자, HBM4 양산 돌입…반도체 회복 기대",
        'SK하이닉스 "AI 메모리 수요 견조"',
    ]
    assert items[0].published_at == 1796083800  # 2026-12-01 09:10 KST
    assert items[0].press == "가짜"


def test_atom_entries_are_read() -> None:
    (item,) = parse_rss(ATOM.encode())
    assert item.url == "https://atom.example/a/9"
    assert item.published_at == 1796094000


@pytest.mark.parametrize(
    "body",
    [
        b"<rss><channel><item><title>x</title>",  # truncated
        b"<html><body>not a feed</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss>&a;</rss>',
        b"",
    ],
)
def test_malformed_or_hostile_feeds_raise_feed_error(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_rss(body)


def test_dates_and_html_cleaning() -> None:
    assert parse_date("Fri, 03 Jan 2025 09:58:00 +0900") == 1735865880
    assert parse_date("2025-01-03T00:58:00Z") == 1735865880
    assert parse_date("2025-01-03T09:58:00") == 1735865880  # no zone: KST
    assert parse_date("어제") is None
    assert clean_text("<b>삼성전자</b>, &quot;상승&quot;") == '삼성전자, "상승"'


def test_feed_list_setting() -> None:
    feeds = parse_feed_list("한경|https://a.example/rss, https://b.example/x.xml")
    assert [(f.name, f.url) for f in feeds] == [
        ("한경", "https://a.example/rss"),
        ("https://b.example/x.xml", "https://b.example/x.xml"),
    ]
    with pytest.raises(ValueError):
        parse_feed_list("bad|ftp://x")
