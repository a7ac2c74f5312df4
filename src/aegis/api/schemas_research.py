"""Wire schemas of the research endpoints (financials, reports, valuation, industries, rankings,
indices, comparisons). camelCase like the rest of the API; examples are real responses."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from aegis.api.schemas import Company, Wire


class DartProfile(Wire):
    """OpenDART 기업개황 (company.json) as stored by the last DART refresh."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "corpCode": "00126380",
                "corpName": "삼성전자(주)",
                "corpNameEng": "SAMSUNG ELECTRONICS CO,.LTD",
                "ceo": "전영현",
                "homepage": "http://www.samsung.com/sec",
                "irUrl": None,
                "address": "경기도 수원시 영통구 삼성로 129 (매탄동)",
                "phone": "031-200-1114",
                "industryCode": "264",
                "establishedOn": "1969-01-13",
                "fiscalMonth": 12,
                "corpClass": "Y",
                "source": "opendart:company.json",
                "asOf": "2026-12-02T06:00:00+00:00",
            }
        }
    )
    corp_code: str
    corp_name: str
    corp_name_eng: str | None
    ceo: str | None
    homepage: str | None
    ir_url: str | None
    address: str | None
    phone: str | None
    industry_code: str | None = Field(description="KSIC code (induty_code)")
    established_on: str | None = Field(description="YYYY-MM-DD (est_dt)")
    fiscal_month: int | None = Field(description="fiscal year-end month (acc_mt)")
    corp_class: str | None = Field(description="Y 유가증권, K 코스닥, N 코넥스, E 기타")
    source: str
    as_of: str = Field(description="when the refresh fetched it (UTC, ISO 8601)")


class CompanyProfile(Company):
    representative: str | None
    homepage: str | None
    region: str | None
    settle_month: str | None
    industry_id: int | None = Field(description="Naver/WICS industry id (GET /industries)")
    industry_name: str | None
    profile_source: str | None
    dart_profile: DartProfile | None = Field(
        description="OpenDART 기업개황 stored by the DART refresh; null before the first one"
    )
    dart_profile_reason: str | None = Field(description="why dartProfile is null, in Korean")


class FinancialRow(Wire):
    year: int
    quarter: int | None = Field(description="1–4 for one quarter alone; null for the fiscal year")
    revenue: int | None
    operating_profit: int | None
    net_income: int | None
    total_assets: int | None
    total_liabilities: int | None
    total_equity: int | None
    source: str
    status: str | None = Field(description="provisional/final where the source says so")


class DartError(Wire):
    code: str
    message: str
    at: str | None


class DartStatus(Wire):
    configured: bool = Field(description="AEGIS_DART_API_KEY is set")
    last_run: str | None
    last_success: str | None
    last_error: DartError | None = Field(description="why the last refresh failed; data stale")


class SourceNote(Wire):
    id: str
    description: str


class Financials(Wire):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "companyId": 1,
                "code": "005930",
                "period": "annual",
                "basis": "CFS",
                "currency": "KRW",
                "availableBases": ["CFS", "OFS"],
                "rows": [
                    {
                        "year": 2024,
                        "quarter": None,
                        "revenue": 300870903000000,
                        "operatingProfit": 32725961000000,
                        "netIncome": 34451351000000,
                        "totalAssets": None,
                        "totalLiabilities": None,
                        "totalEquity": None,
                        "source": "opendart-annual:hsh2578",
                        "status": None,
                    }
                ],
                "sources": [{"id": "opendart-annual:hsh2578", "description": "OpenDART …"}],
                "reason": None,
                "balanceSheetReason": "연결 재무제표 없음: 연결(CFS) 재무상태표(자산·부채·자본) "
                "자료가 없습니다 …",
                "dart": {"configured": False},
            }
        }
    )
    company_id: int
    code: str
    period: str
    basis: str
    currency: str
    available_bases: list[str]
    rows: list[FinancialRow]
    sources: list[SourceNote]
    reason: str | None = Field(description="why rows is empty, in Korean")
    balance_sheet_reason: str | None = Field(
        description="why totalAssets/totalLiabilities/totalEquity are null in every row "
        "(e.g. 연결 재무제표 없음: no consolidated balance sheet in the data), in Korean"
    )
    dart: DartStatus


class Report(Wire):
    rcept_no: str
    title: str
    filed_at: str
    category: str | None
    filer: str | None
    url: str = Field(description="DART viewer link")
    source: str


class Reports(Wire):
    company_id: int
    code: str
    total: int
    reports: list[Report]
    dart: DartStatus


class ValuationDay(Wire):
    date: str
    close: int | None
    per: float | None
    pbr: float | None
    dividend_yield: float | None = Field(description="percent")
    market_cap: int | None = Field(description="KRW")


class Valuation(Wire):
    company_id: int
    code: str
    source: str
    description: str
    rows: list[ValuationDay]
    reason: str | None


class IndustryOut(Wire):
    industry_id: int
    name: str
    member_count: int
    market_cap: int
    change_percent: float | None = Field(description="cap-weighted day change of the members")
    sources: list[str] = Field(description="quote sources: sim = simulator, krx-snapshot, …")
    as_of: str | None
    classification: str


class RankedCompany(Wire):
    rank: int
    company_id: int | None
    code: str
    name: str
    market: str
    industry_id: int | None
    industry: str | None
    price: int | None
    change_percent: float | None
    volume: int | None
    amount: int | None
    market_cap: int | None
    source: str
    as_of: str


class IndexCandle(Wire):
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    amount: float


class IndexOut(Wire):
    symbol: str
    name: str
    interval: str
    price: float | None
    change: float | None
    change_percent: float | None
    as_of: str | None
    source: str
    candles: list[IndexCandle]


class ComparisonCompany(Wire):
    company_id: int
    company_name: str
    symbol: str


class ComparisonCreate(Wire):
    model_config = ConfigDict(
        json_schema_extra={"example": {"name": "반도체 기업 비교", "companies": [1, 2]}}
    )
    name: str = Field(min_length=1, max_length=100)
    companies: list[int] = Field(min_length=2, max_length=10)
    period: str = Field("1Y", description="1M, 3M, 6M, 1Y or 3Y")


class ComparisonSummary(Wire):
    comparison_id: int
    name: str
    period: str
    companies: list[ComparisonCompany]
    created_at: str


class PerformancePoint(Wire):
    time: int
    value: float


class PerformanceLine(Wire):
    company_id: int
    symbol: str
    start_date: str | None
    points: list[PerformancePoint]
    reason: str | None


class Metric(Wire):
    value: float | None
    reason: str | None = None
    as_of: str | None = None
    source: str | None = None


class ComparisonRow(Wire):
    company_id: int
    symbol: str
    name: str
    price: Metric
    market_cap: Metric
    per: Metric
    pbr: Metric
    revenue_growth: Metric
    operating_margin: Metric
    high52w: Metric = Field(alias="high52w")
    low52w: Metric = Field(alias="low52w")


class ComparisonDetail(ComparisonSummary):
    as_of: str | None = Field(description="the newest stored day: the period ends there")
    performance: list[PerformanceLine]
    table: list[ComparisonRow]
