"""The prebuilt search index ranks exactly as the linear scan it replaced, over the whole real
listing (plus indices and crypto), for codes, names, English names, 초성 and substrings."""

from __future__ import annotations

import random

import pytest

from aegis.bench.research import LinearScan, in_process
from aegis.domain.instruments import Instrument
from aegis.reference.hangul import chosung
from aegis.reference.instruments import load_instruments
from aegis.services.market import Market


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(store=None, instruments=load_instruments())  # type: ignore[arg-type]


def _queries(insts: list[Instrument]) -> list[str]:
    rng = random.Random(7)
    fixed = [
        "005930",
        "0059",
        "00",
        "삼성",
        "삼성전자",
        "Samsung",
        "samsung elec",
        "ㅅㅅㅈㅈ",
        "ㅅㅅ",
        "ㅈㅈ",
        "ㅎ",
        "전자",
        "바이오",
        "KOSPI",
        "kospi",
        "btc",
        "a",
        "e",
        "1",
        "9",
        "sk",
        "lg",
        "현대차",
        "Hyundai",
        "에코프로",
        "ㅇㅋㅍㄹ",
        "없는회사이름",
        "zzzz",
        " 삼 성 ",
    ]
    sample = rng.sample(insts, 60)
    for i in sample:
        name = i.name.replace(" ", "")
        fixed += [i.symbol, i.symbol[:3], name, name[: max(1, len(name) // 2)], name[1:3]]
        if i.name_en:
            fixed += [i.name_en[:4], i.name_en.split()[-1]]
        cho = chosung(name)
        fixed += [cho, cho[:2], cho[1:3]]
    return [q for q in fixed if q.strip()]


@pytest.mark.parametrize("limit", [1, 10, 20, 50])
def test_index_ranks_exactly_as_the_linear_scan(market: Market, limit: int) -> None:
    insts = list(market.by_symbol.values())
    scan = LinearScan(insts)
    for q in _queries(insts):
        got = [i.symbol for i in market.search(q, limit)]
        assert got == scan.search(q, limit), q


def test_keys_never_match_across_instruments(market: Market) -> None:
    # a query spanning the end of one name and the start of the next in the joined index
    insts = list(market.by_symbol.values())
    names = [i.name.replace(" ", "").lower() for i in insts]
    q = names[0][-1] + names[1][:1]
    assert [i.symbol for i in market.search(q, 50)] == LinearScan(insts).search(q, 50)
    assert market.search("\x00", 10) == []


def test_in_process_search_bench_runs_small() -> None:
    res = in_process(rounds=1)
    assert res.instruments > 2000
    assert res.index_p50_us > 0 and res.linear_p50_us > 0
