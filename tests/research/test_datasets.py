"""The shipped research files are read with their quirks handled."""

from __future__ import annotations

from aegis.research import datasets
from aegis.research.seed import financial_rows

TRILLION_MILLION = 1_000_000  # million KRW → KRW


def _by_key(rows: list[datasets.FinancialRow]) -> dict[tuple[str, int, int], datasets.FinancialRow]:
    return {(r.basis, r.year, r.quarter): r for r in rows}


def test_parent_only_annual_is_the_sum_of_four_single_quarters() -> None:
    rows = _by_key(datasets.read_ofs_quarterly("005930"))
    # DART's published parent-only revenue: 2022 211,867,483 and 2023 170,374,090 million KRW
    assert rows[("OFS", 2022, 0)].revenue == 211_867_483 * TRILLION_MILLION
    assert rows[("OFS", 2023, 0)].revenue == 170_374_090 * TRILLION_MILLION
    q = [rows[("OFS", 2023, i)].operating_profit for i in range(1, 5)]
    assert rows[("OFS", 2023, 0)].operating_profit == sum(x for x in q if x is not None)
    # balance sheet of the year = the Q4 row's (a point in time)
    assert rows[("OFS", 2023, 0)].total_assets == rows[("OFS", 2023, 4)].total_assets


def test_2015q4_row_is_the_whole_year_not_a_quarter() -> None:
    rows = _by_key(datasets.read_ofs_quarterly("005930"))
    assert rows[("OFS", 2015, 0)].revenue == 135_205_045_000_000  # 135.2 조: a full year
    q4 = rows[("OFS", 2015, 4)]
    assert q4.revenue is None and q4.operating_profit is None
    assert q4.total_assets == rows[("OFS", 2015, 0)].total_assets


def test_a_year_without_all_four_quarters_has_no_annual_row() -> None:
    rows = _by_key(datasets.read_ofs_quarterly("005930"))
    assert ("OFS", 2024, 3) in rows
    assert ("OFS", 2024, 0) not in rows  # the file ends at 2024Q3


def test_missing_quarter_makes_the_annual_figure_unknown() -> None:
    rows = _by_key(datasets.read_ofs_quarterly("035720"))  # Kakao: revenue empty in many rows
    for (basis, year, quarter), row in rows.items():
        if quarter == 0 and year > 2015:
            parts = [rows[(basis, year, i)].revenue for i in range(1, 5)]
            if any(p is None for p in parts):
                assert row.revenue is None


def test_consolidated_annual_matches_darts_published_figures() -> None:
    rows = {(r.symbol, r.year, r.quarter): r for r in datasets.read_annual() if r.basis == "CFS"}
    assert rows[("005930", 2023, 0)].revenue == 258_935_494 * TRILLION_MILLION
    assert rows[("005930", 2023, 0)].operating_profit == 6_566_976 * TRILLION_MILLION
    assert ("005930", 2026, 1) in rows  # 2026 Q1 cumulative = the first quarter alone


def test_earnings_in_eok_become_won() -> None:
    rows = {(r.symbol, r.year, r.quarter): r for r in datasets.read_earnings()}
    # SK hynix 2024 Q3: revenue 175,731 억, operating profit 70,300 억
    assert rows[("000660", 2024, 3)].revenue == 175_731 * 100_000_000
    assert rows[("000660", 2024, 3)].operating_profit == 70_300 * 100_000_000


def test_one_row_per_key_and_opendart_wins_over_announcements() -> None:
    rows = financial_rows()
    keys = [(r["symbol"], r["basis"], r["year"], r["quarter"]) for r in rows]
    assert len(keys) == len(set(keys))
    q1 = next(
        r
        for r in rows
        if (r["symbol"], r["basis"], r["year"], r["quarter"]) == ("000660", "CFS", 2026, 1)
    )
    assert q1["source"] == datasets.SRC_ANNUAL


def test_disclosures_and_holder_reports_have_viewer_links() -> None:
    ds = datasets.read_disclosures()
    assert len({d.rcept_no for d in ds}) == len(ds)
    assert {d.source for d in ds} == {datasets.SRC_DISCLOSURES, datasets.SRC_HOLDERS}
    d = ds[0]
    assert d.url == f"https://dart.fss.or.kr/dsaf001/main.do?rcpNo={d.rcept_no}"


def test_sector_map_has_79_industries() -> None:
    m = datasets.read_sector_map()
    assert len(set(m.values())) == 79
    assert m["005930"] == "반도체와반도체장비"
