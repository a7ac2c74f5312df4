"""Readers for the shipped research files (``data/``, see ``data/SOURCE.md``). Pure parsing: every
reader returns plain rows in KRW; the seeding and the services decide what to store and serve."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
FS_QUARTERLY_CODES = ("005930", "000660", "005380", "035420", "035720")
ANNUAL_FILE = DATA_DIR / "dart_fs_annual_2020-2025_plus_2026Q1_303cos_hsh2578.csv"
EARNINGS_FILE = DATA_DIR / "earnings_quarterly_2024Q3-2026Q2_61cos_BilBu1127.csv"
DISCLOSURES_FILE = DATA_DIR / "dart_disclosures_2026_BilBu1127.csv"
HOLDERS_FILE = DATA_DIR / "dart_major_holders_5pct_reports_renderer86.csv"
VALUATION_FILE = DATA_DIR / "valuation_daily_per_pbr_mcap_2019-2026-04_hsh2578.csv"
SECTOR_FILE = DATA_DIR / "sector_naver_wics_industry_2026-05-06_miyoo1016.csv"
SECTOR_DAY = "2026-05-06"

# dataset ids carried by every stored row as its ``source``
SRC_OFS_QUARTERLY = "dart-ofs-quarterly:KimTaegwan03"
SRC_ANNUAL = "opendart-annual:hsh2578"
SRC_EARNINGS = "earnings-announcements:BilBu1127"
SRC_DISCLOSURES = "dart-list:BilBu1127"
SRC_HOLDERS = "opendart-majorstock:renderer86"
SRC_VALUATION = "valuation-daily:hsh2578"
SRC_DART_API = "opendart-api"

EOK = 100_000_000  # 억원 → 원


@dataclass(frozen=True, slots=True)
class FinancialRow:
    symbol: str
    basis: str  # CFS | OFS
    year: int
    quarter: int  # 0 = the full fiscal year; 1–4 = that quarter alone
    revenue: int | None
    operating_profit: int | None
    net_income: int | None
    total_assets: int | None
    total_liabilities: int | None
    total_equity: int | None
    source: str
    status: str | None = None  # provisional / final / … where the source says so
    rcept_no: str | None = None


@dataclass(frozen=True, slots=True)
class Disclosure:
    rcept_no: str
    symbol: str
    corp_name: str
    filed_at: str  # ISO date or date-time (KST)
    title: str
    category: str | None
    filer: str | None
    source: str

    @property
    def url(self) -> str:
        return viewer_url(self.rcept_no)


@dataclass(frozen=True, slots=True)
class ValuationDay:
    symbol: str
    day: str
    close: int | None
    per: float | None
    pbr: float | None
    div_yield: float | None  # percent
    market_cap: int | None  # KRW


def viewer_url(rcept_no: str) -> str:
    return f"https://dart.fss.or.kr/dsaf001/main.do?rcpNo={rcept_no}"


def _won(text: str | None, unit: int = 1) -> int | None:
    """'2256322945848', '790987.0' or '' → whole won (or None)."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text) * unit  # the common case, ten times faster than Decimal
    except ValueError:
        return int((Decimal(text) * unit).to_integral_value())


def _float(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def _rows(path: Path) -> Iterator[dict[str, str]]:
    # utf-8-sig: the quarterly statements start with a BOM; newline="" for quoted line breaks
    with path.open(encoding="utf-8-sig", newline="") as f:
        yield from csv.DictReader(f)


def read_ofs_quarterly(code: str) -> list[FinancialRow]:
    """One company's parent-only statements: the quarterly rows as single quarters plus the
    fiscal years they add up to. In the file, Q4 rows are Q4 alone (annual minus Q1–Q3) except
    the first row (2015Q4), which is the whole of 2015: that row becomes the 2015 annual row and
    its quarter keeps only the balance sheet (a point in time, true for either reading)."""
    raw = list(_rows(DATA_DIR / f"fs_quarterly_{code}.csv"))
    quarters: list[FinancialRow] = []
    annual: list[FinancialRow] = []
    first = True
    for r in raw:
        year, q = int(r["연도"]), int(r["분기"].removeprefix("Q"))
        net = _won(r.get("당기순이익")) if r.get("당기순이익") else _won(r.get("당기순이익(손실)"))
        bs = (_won(r["자산총계"]), _won(r["부채총계"]), _won(r["자본총계"]))
        flows = (_won(r["매출액"]), _won(r["영업이익"]), net)
        if first and q == 4:
            annual.append(FinancialRow(code, "OFS", year, 0, *flows, *bs, SRC_OFS_QUARTERLY))
            quarters.append(
                FinancialRow(code, "OFS", year, 4, None, None, None, *bs, SRC_OFS_QUARTERLY)
            )
        else:
            quarters.append(FinancialRow(code, "OFS", year, q, *flows, *bs, SRC_OFS_QUARTERLY))
        first = False
    by_year: dict[int, dict[int, FinancialRow]] = {}
    for row in quarters:
        by_year.setdefault(row.year, {})[row.quarter] = row
    for year, qs in sorted(by_year.items()):
        if any(a.year == year for a in annual) or set(qs) != {1, 2, 3, 4}:
            continue  # 2015 comes whole from its row; a year without all four quarters has no sum
        q4 = qs[4]
        annual.append(
            FinancialRow(
                code,
                "OFS",
                year,
                0,
                _sum(qs[i].revenue for i in range(1, 5)),
                _sum(qs[i].operating_profit for i in range(1, 5)),
                _sum(qs[i].net_income for i in range(1, 5)),
                q4.total_assets,
                q4.total_liabilities,
                q4.total_equity,
                SRC_OFS_QUARTERLY,
            )
        )
    return annual + quarters


def _sum(values: Iterator[int | None]) -> int | None:
    total = 0
    for v in values:
        if v is None:
            return None  # a missing quarter makes the year unknown, not smaller
        total += v
    return total


def read_annual() -> list[FinancialRow]:
    """OpenDART annual income lines (FY2020–2025) plus 2026 Q1 (cumulative = Q1 alone)."""
    out = []
    for r in _rows(ANNUAL_FILE):
        period = r["period"]
        if period.startswith("2026-1Q"):
            year, quarter = 2026, 1
        else:
            year, quarter = int(period), 0
        out.append(
            FinancialRow(
                r["code"],
                r["fs_div"],
                year,
                quarter,
                _won(r["revenue_krw"]),
                _won(r["op_income_krw"]),
                _won(r["net_income_krw"]),
                None,
                None,
                None,
                SRC_ANNUAL,
            )
        )
    return out


def read_earnings() -> list[FinancialRow]:
    """Single-quarter earnings announcements (억원). Rows marked ``separate`` are parent-only;
    the others are consolidated or unspecified (announcements lead with consolidated figures)."""
    out = []
    for r in _rows(EARNINGS_FILE):
        year, q = r["period"].split(" Q")
        basis = "OFS" if r["consolidated_or_separate"] == "separate" else "CFS"
        out.append(
            FinancialRow(
                r["code"],
                basis,
                int(year),
                int(q),
                _won(r["revenue_eok_krw"], EOK),
                _won(r["op_income_eok_krw"], EOK),
                _won(r["net_income_eok_krw"], EOK),
                None,
                None,
                None,
                SRC_EARNINGS,
                r["source_status"] or None,
                r["rcept_no"] or None,
            )
        )
    return out


def read_all_financials() -> list[FinancialRow]:
    rows: list[FinancialRow] = []
    for code in FS_QUARTERLY_CODES:
        rows.extend(read_ofs_quarterly(code))
    rows.extend(read_annual())
    rows.extend(read_earnings())
    return rows


def read_disclosures() -> list[Disclosure]:
    """The 2026 filing list and the 5 % holder reports, one row per receipt number."""
    seen: dict[str, Disclosure] = {}
    for r in _rows(DISCLOSURES_FILE):
        seen[r["rcept_no"]] = Disclosure(
            r["rcept_no"],
            r["code"],
            r["name"],
            r["disclosed_at_kst"],
            r["report_nm"],
            r["category"] or None,
            None,
            SRC_DISCLOSURES,
        )
    for r in _rows(HOLDERS_FILE):
        if r["rcept_no"] in seen:
            continue
        seen[r["rcept_no"]] = Disclosure(
            r["rcept_no"],
            r["code"],
            r["name"],
            r["rcept_dt"],
            f"주식등의대량보유상황보고서({r['report_tp']}) — {r['repror']} {r['stkrt']}%",
            "지분",
            r["repror"] or None,
            SRC_HOLDERS,
        )
    return list(seen.values())


def read_valuation() -> list[ValuationDay]:
    return [
        ValuationDay(
            r["code"],
            r["date"],
            _won(r["close_adj"]),
            _float(r["per"]),
            _float(r["pbr"]),
            _float(r["div_yield_pct"]),
            _won(r["market_cap_eok_krw"], EOK),
        )
        for r in _rows(VALUATION_FILE)
    ]


def read_sector_map() -> dict[str, str]:
    """Code → Naver/WICS industry name (79 names, ``기타`` included)."""
    return {r["code"]: r["sector"] for r in _rows(SECTOR_FILE)}


def read_corp_codes() -> dict[str, str]:
    """Stock code → DART corp_code, from the files that carry both."""
    out: dict[str, str] = {}
    for path in (ANNUAL_FILE, HOLDERS_FILE):
        for r in _rows(path):
            if r["corp_code"]:
                out[r["code"]] = r["corp_code"]
    return out
