"""The quant analyst on fixture inputs, and the service: provider named, cached per day, LLM
failures fall back to the quant analyst and say so (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.analysis import quant
from aegis.research.analysis.inputs import Financials, FiscalYear, Headline, Prices, Valuation
from aegis.research.analysis.providers import OpenAICompatible
from aegis.research.analysis.service import AnalysisService, Subject
from tests.fakes.llm import OPENAI_KEY, FakeLLM

FIN = Financials(
    "CFS",
    (FiscalYear(2024, 100_000_000_000_000, 10_000_000_000_000, 8_000_000_000_000),
     FiscalYear(2025, 115_000_000_000_000, 13_800_000_000_000, 9_000_000_000_000)),
    "test-fixture",
)  # fmt: skip
VAL = Valuation("2026-04-24", 10.0, 1.0)
START = date(2025, 6, 2)


def prices(n: int, daily: float) -> Prices:
    days = tuple((START + timedelta(days=i)).isoformat() for i in range(n))
    closes = tuple(10_000 * (1 + daily) ** i * (1.01 if i % 2 else 0.99) for i in range(n))
    return Prices(days, closes, "store", False)


NEWS = [Headline("2026-08-20", "삼성전자 실적 개선 기대"), Headline("2026-08-21", "수주 확대"),
        Headline("2026-08-22", "주가 급락 우려")]  # fmt: skip


def test_quant_components_follow_their_stated_scales() -> None:
    r = quant.analyse("테스트", FIN, VAL, prices(200, 0.001), NEWS)
    by = {c.name: c for c in r.components}
    assert by["growth"].value == pytest.approx(0.15)
    assert by["growth"].score == pytest.approx(70.0)  # −20% → 0, +30% → 100
    assert by["valuation"].score == pytest.approx(
        (quant.scale(-10, -40, -5) + quant.scale(-1, -4, -0.5)) / 2
    )
    mom = 10_000 * 1.001**199 * 1.01 / (10_000 * 1.001**79 * 1.01) - 1
    assert by["momentum"].value == pytest.approx(mom)
    assert by["news"].value == pytest.approx((2 - 1) / (3 + quant.TONE_PRIOR))
    # the score is the weighted mean of the components present
    want = sum(c.score * quant.WEIGHTS[c.name] for c in r.components) / sum(quant.WEIGHTS.values())
    assert r.score == round(want)
    assert r.outlook == quant.outlook_of(r.score)


def test_rationale_cites_numbers_and_dates() -> None:
    r = quant.analyse("테스트", FIN, VAL, prices(200, 0.001), NEWS)
    assert "2025년 매출 115.0조원" in r.rationale and "+15.0%" in r.rationale
    assert "2026-04-24" in r.rationale and "PER 10.0배" in r.rationale
    assert "2026-08-20~2026-08-22" in r.rationale
    assert r.input_dates["financialYears"] == [2024, 2025]
    assert r.input_dates["pricesTo"] == (START + timedelta(days=199)).isoformat()


def test_growth_is_never_measured_across_a_missing_year() -> None:
    # 2024 missing: 2025 over 2023 is a two-year change, once scored and worded as growth over
    # "전년(2023년)"; the score leaves growth and margin trend out and the rationale says why
    gap = Financials(
        "CFS",
        (FiscalYear(2023, 80_000_000_000_000, 4_000_000_000_000, 3_000_000_000_000),
         FiscalYear(2025, 115_000_000_000_000, 13_800_000_000_000, 9_000_000_000_000)),
        "test-fixture",
    )  # fmt: skip
    r = quant.analyse("공백", gap, VAL, None, [])
    assert {c.name for c in r.components} == {"valuation"}
    assert "전년(2023년)" not in r.rationale
    assert "2024년 매출 데이터가 없어" in r.rationale
    assert "데이터가 없어 제외: 매출 성장, 수익성 추세" in r.rationale
    # with the missing year present the newest two adjacent years are compared, and named
    full = Financials("CFS", (gap.years[0], *FIN.years), "test-fixture")
    by = {c.name: c for c in quant.analyse("연속", full, VAL, None, []).components}
    assert by["growth"].value == pytest.approx(0.15)
    assert "전년(2024년" in by["growth"].detail


def test_outlook_thresholds_and_missing_data() -> None:
    assert quant.outlook_of(60) == "긍정" and quant.outlook_of(59) == "중립"
    assert quant.outlook_of(40) == "중립" and quant.outlook_of(39) == "부정"
    empty = quant.analyse("빈회사", None, None, None, [])
    assert (empty.score, empty.outlook, empty.components) == (50, "중립", ())
    assert "근거가 없습니다" in empty.rationale
    loss = quant.analyse("적자", None, Valuation("2026-04-24", -5.0, 2.0), None, [])
    assert loss.score == 20 and loss.outlook == "부정"
    assert "데이터가 없어 제외" in loss.rationale


def test_falling_volatile_prices_score_low() -> None:
    down = quant.analyse("하락", None, None, prices(200, -0.004), [])
    up = quant.analyse("상승", None, None, prices(200, 0.004), [])
    assert down.score < 40 < 60 < up.score
    vol = next(c for c in up.components if c.name == "volatility")
    assert vol.value > 0.1 and not math.isnan(vol.value)


class FixtureInputs:
    def __init__(self) -> None:
        self.calls = 0

    async def financials(self, symbol: str) -> Financials | None:
        self.calls += 1
        return FIN if symbol == "005930" else None

    async def valuation(self, symbol: str) -> Valuation | None:
        return VAL

    async def prices(self, symbol: str) -> Prices | None:
        return prices(200, 0.001)

    async def headlines(self, symbol: str) -> list[Headline]:
        return NEWS


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


SAMSUNG = Subject("company", "005930", "삼성전자", 7)
T0 = 1_796_083_200.0  # 2026-12-01 09:00 KST


async def test_quant_default_names_itself_and_is_cached_per_day(app_db: AsyncEngine) -> None:
    inputs, clock = FixtureInputs(), Clock(T0)
    svc = AnalysisService(app_db, inputs, None, clock)
    first = await svc.company(SAMSUNG)
    assert (first["provider"], first["model"], first["cached"]) == ("quant", quant.MODEL, False)
    assert first["day"] == "2026-12-01"
    assert first["inputs"]["financials"]["years"] == [2024, 2025]
    assert first["inputs"]["valuation"]["day"] == "2026-04-24"
    second = await svc.company(SAMSUNG)
    assert second["cached"] is True and second["growthScore"] == first["growthScore"]
    assert inputs.calls == 1
    clock.t += 86_400  # the next KST day: computed afresh
    assert (await svc.company(SAMSUNG))["day"] == "2026-12-02"
    assert inputs.calls == 2
    reports = await svc.reports(10)
    assert [r["day"] for r in reports] == ["2026-12-02", "2026-12-01"]


async def test_llm_answer_names_provider_and_model(app_db: AsyncEngine, llm: FakeLLM) -> None:
    provider = OpenAICompatible(llm.url, SecretStr(OPENAI_KEY), "gpt-4o-mini", 5.0)
    svc = AnalysisService(app_db, FixtureInputs(), provider, Clock(T0))
    r = await svc.company(SAMSUNG)
    assert (r["provider"], r["model"], r["growthScore"], r["outlook"]) == (
        "openai", "gpt-4o-mini-2026-01-01", 71, "긍정")  # fmt: skip
    assert r["fallback"] is None
    assert r["quant"]["growthScore"] != 71 or r["quant"]["outlook"]  # the baseline is kept
    prompt = llm.requests[-1]["messages"][1]["content"]
    assert "2026-04-24" in prompt and "삼성전자" in prompt  # the model sees numbers and dates
    assert (await svc.company(SAMSUNG))["cached"] is True
    assert len(llm.requests) == 1


async def test_llm_failure_falls_back_to_quant_and_says_so(
    app_db: AsyncEngine, llm: FakeLLM
) -> None:
    provider = OpenAICompatible(llm.url, SecretStr(OPENAI_KEY), "gpt-4o-mini", 0.3)
    clock = Clock(T0)
    svc = AnalysisService(app_db, FixtureInputs(), provider, clock)
    llm.stall()
    r = await svc.company(SAMSUNG)
    assert r["provider"] == "quant" and r["model"] == quant.MODEL
    assert r["fallback"]["provider"] == "openai" and "timed out" in r["fallback"]["reason"]
    assert r["growthScore"] == r["quant"]["growthScore"]
    # within ten minutes the fallback is served from the cache; after, the LLM is asked again
    clock.t += 60
    assert (await svc.company(SAMSUNG))["cached"] is True
    clock.t += 600
    llm._stalled = False
    again = await svc.company(SAMSUNG)
    assert again["provider"] == "openai" and again["fallback"] is None


async def test_industry_is_the_cap_weighted_mean_of_its_members(app_db: AsyncEngine) -> None:
    svc = AnalysisService(app_db, FixtureInputs(), None, Clock(T0))
    a = Subject("company", "005930", "삼성전자", 1)
    b = Subject("company", "000660", "SK하이닉스", 2)
    ind = Subject("industry", "28", "반도체와반도체장비")
    r = await svc.industry(ind, [(a, 300), (b, 100)])
    sa_, sb = (await svc.company(a))["growthScore"], (await svc.company(b))["growthScore"]
    assert r["growthScore"] == round((sa_ * 300 + sb * 100) / 400)
    assert [m["code"] for m in r["members"]] == sorted(["005930", "000660"],
        key=lambda c: -(sa_ if c == "005930" else sb))  # fmt: skip
    assert "삼성전자" in r["rationale"] and r["subject"] == {
        "type": "industry", "industryId": 28, "name": "반도체와반도체장비"}  # fmt: skip


async def test_picks_are_the_highest_scores_with_reasons(app_db: AsyncEngine) -> None:
    svc = AnalysisService(app_db, FixtureInputs(), None, Clock(T0))
    subjects = [SAMSUNG, Subject("company", "000660", "SK하이닉스", 2)]
    got = await svc.picks(subjects, 1)
    assert got["universe"] == 2 and len(got["picks"]) == 1
    pick = got["picks"][0]
    scores = {s.key: (await svc.company(s))["growthScore"] for s in subjects}
    assert scores["005930"] != scores["000660"]  # the fixture gives only 005930 financials
    assert pick["subject"]["code"] == max(scores, key=lambda k: scores[k])
    assert pick["growthScore"] == max(scores.values())
    assert pick["reasons"] and all("점" in r for r in pick["reasons"])
