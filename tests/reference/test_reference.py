"""The shipped KRX reference data: listing, indices, daily history, 초성."""

from __future__ import annotations

from datetime import date

from aegis.reference import chosung, history_symbols, load_daily_history, load_instruments
from aegis.reference.hangul import is_chosung_query


def test_every_listed_company_and_both_indices_load() -> None:
    instruments = load_instruments()
    stocks = [i for i in instruments if i.kind == "stock"]
    assert len(stocks) == 2879
    assert len({i.symbol for i in instruments}) == len(instruments)
    assert all(len(i.symbol) == 6 and i.shares and i.prev_close for i in stocks)
    assert {i.market for i in stocks} == {"KOSPI", "KOSDAQ", "KOSDAQ GLOBAL", "KONEX"}


def test_samsung_has_name_market_industry_shares_and_previous_close() -> None:
    s = next(i for i in load_instruments() if i.symbol == "005930")
    assert (s.name, s.market, s.shares, s.prev_close) == ("삼성전자", "KOSPI", 5919637922, 199400)
    assert s.industry == "통신 및 방송 장비 제조업"
    assert s.listing_date == "1975-06-11"
    assert s.name_en is None  # the listing has no English names; none are invented


def test_non_digit_codes_are_kept_as_strings() -> None:
    codes = {i.symbol for i in load_instruments() if i.kind == "stock"}
    odd = {c for c in codes if not c.isdigit()}
    assert len(odd) == 60
    assert {"00104K", "0126Z0"} <= odd


def test_kospi_and_kosdaq_are_index_instruments_in_hundredths() -> None:
    by = {i.symbol: i for i in load_instruments() if i.kind == "index"}
    assert by["KOSPI"].prev_close == 578120  # 5,781.20 on 2026-03-20
    assert by["KOSDAQ"].prev_close == 116152
    assert all(i.market == "INDEX" and i.price_scale == 2 for i in by.values())
    assert by["KOSPI"].price_value(578120) == 5781.2


def test_callers_get_fresh_copies() -> None:
    first = load_instruments()
    first[0].company_id = 99
    assert load_instruments()[0].company_id is None


def test_daily_history_of_the_shipped_stocks() -> None:
    assert history_symbols() == ["000660", "005380", "005930", "035420", "035720"]
    samsung = load_daily_history("005930")
    assert len(samsung) == 8343 and samsung[-1].day == date(2023, 12, 22)
    kakao = load_daily_history("035720")
    assert len(kakao) == 1898 and all(b.close > 0 for b in kakao)
    halt = next(b for b in kakao if b.day == date(2021, 4, 12))
    assert (halt.open, halt.high, halt.low, halt.close, halt.volume) == (558000,) * 4 + (0,)
    assert load_daily_history("123456") == []


def test_chosung_of_korean_names() -> None:
    assert chosung("삼성전자") == "ㅅㅅㅈㅈ"
    assert chosung("SK하이닉스") == "SKㅎㅇㄴㅅ"
    assert chosung("쌍용C&E") == "ㅆㅇC&E"
    assert is_chosung_query("ㅅㅅㅈㅈ") and not is_chosung_query("삼성")
