"""The keyless quant analyst: a 0–100 growth score and 긍정/중립/부정 from financial trends,
valuation, momentum, volatility and news tone, with a Korean rationale citing its numbers.

Each component maps one measured figure linearly onto 0–100 between two anchors (stated in
``detail``); components without data are left out and the weights of the others rescaled."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aegis.research.analysis.inputs import Financials, FiscalYear, Headline, Prices, Valuation

MODEL = "aegis-quant-1"
TONE_PRIOR = 4.0
POSITIVE = (
    "상승", "급등", "강세", "호실적", "최대", "신고가", "상향", "성장", "수주", "흑자", "개선",
    "호조", "돌파", "반등", "회복", "승인", "계약", "최고", "순매수", "어닝서프라이즈", "수혜",
)  # fmt: skip
NEGATIVE = (
    "하락", "급락", "약세", "부진", "적자", "감소", "하향", "우려", "손실", "리스크", "소송",
    "악화", "쇼크", "경고", "취소", "순매도", "최저", "신저가", "충격", "둔화", "위기", "제재",
    "파업", "리콜", "어닝쇼크", "횡령", "배임",
)  # fmt: skip
WEIGHTS = {"growth": 0.30, "profit": 0.15, "valuation": 0.15, "momentum": 0.2,
           "volatility": 0.1, "news": 0.1}  # fmt: skip
LABELS = {"growth": "매출 성장", "profit": "수익성 추세", "valuation": "밸류에이션",
          "momentum": "주가 모멘텀", "volatility": "변동성", "news": "뉴스 톤"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    score: float  # 0–100
    value: float  # the measured figure
    detail: str  # Korean: the figure, its dates and the scale used


@dataclass(frozen=True, slots=True)
class QuantResult:
    score: int
    outlook: str  # 긍정 | 중립 | 부정
    rationale: str
    components: tuple[Component, ...]
    input_dates: dict[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # Korean: why an input that is present was not used


def scale(x: float, lo: float, hi: float) -> float:
    """``lo`` → 0, ``hi`` → 100, clipped."""
    return max(0.0, min(100.0, (x - lo) / (hi - lo) * 100.0))


def outlook_of(score: float) -> str:
    return "긍정" if score >= 60 else "부정" if score < 40 else "중립"


def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def _krw(x: int) -> str:
    jo = x / 1e12
    return f"{jo:,.1f}조원" if abs(jo) >= 1 else f"{x / 1e8:,.0f}억원"


def _newest_pair(f: Financials) -> tuple[FiscalYear, FiscalYear] | None:
    """The newest year with revenue and the year right before it, if that one has revenue too."""
    years = [y for y in f.years if y.revenue]
    if not years:
        return None
    b = years[-1]
    a = next((y for y in years if y.year == b.year - 1), None)
    return (a, b) if a is not None else None


def financial_gap(f: Financials) -> str | None:
    """Why growth is left out although older years have revenue: the newest year's previous
    year has none. Comparing across the gap would present a multi-year change as 전년 대비."""
    years = [y.year for y in f.years if y.revenue]
    if len(years) < 2 or _newest_pair(f) is not None:
        return None
    newest = years[-1]
    return (
        f"{newest - 1}년 매출 데이터가 없어 {newest}년의 매출 성장·수익성 추세를 계산하지 "
        f"않았습니다({years[-2]}년과의 비교는 전년 대비가 아닙니다)."
    )


def financial_components(f: Financials) -> list[Component]:
    out: list[Component] = []
    pair = _newest_pair(f)
    if pair is not None:
        a, b = pair
        assert a.revenue and b.revenue
        g = b.revenue / a.revenue - 1
        out.append(Component(
            "growth", scale(g, -0.2, 0.3), g,
            f"{b.year}년 매출 {_krw(b.revenue)}, 전년({a.year}년 {_krw(a.revenue)}) 대비 {_pct(g)} "
            f"(−20%→0점, +30%→100점; {f.basis}, 출처 {f.source})",
        ))  # fmt: skip
        if a.operating_profit is not None and b.operating_profit is not None:
            ma, mb = a.operating_profit / a.revenue, b.operating_profit / b.revenue
            d = mb - ma
            out.append(Component(
                "profit", scale(d, -0.05, 0.05) * 0.5 + scale(mb, -0.05, 0.2) * 0.5, d,
                f"영업이익률 {a.year}년 {ma * 100:.1f}% → {b.year}년 {mb * 100:.1f}% "
                f"({d * 100:+.1f}%p; 변화 ±5%p와 수준 −5%~20%를 반씩 반영)",
            ))  # fmt: skip
    return out


def valuation_component(v: Valuation) -> Component | None:
    if v.per is None and v.pbr is None:
        return None
    if v.per is not None and v.per <= 0:
        return Component("valuation", 20.0, v.per,
                         f"{v.day} PER {v.per:.1f} (적자: 20점)")  # fmt: skip
    parts = []
    score = 50.0
    if v.per is not None:
        # PER 5 → 100점, 40 → 0점
        score = scale(-v.per, -40.0, -5.0)
        parts.append(f"PER {v.per:.1f}배 (5배→100점, 40배→0점)")
    if v.pbr is not None:
        pbr_score = scale(-v.pbr, -4.0, -0.5)
        score = (score + pbr_score) / 2 if v.per is not None else pbr_score
        parts.append(f"PBR {v.pbr:.2f}배 (0.5배→100점, 4배→0점)")
    return Component("valuation", score, v.per if v.per is not None else v.pbr or 0.0,
                     f"{v.day} 기준 " + ", ".join(parts))  # fmt: skip


def price_components(p: Prices) -> list[Component]:
    out: list[Component] = []
    c = p.closes
    if len(c) >= 61:
        back = min(len(c) - 1, 120)  # about six months of sessions
        r = c[-1] / c[-1 - back] - 1
        sim = " (시뮬레이터 모드: 모의 시세 포함)" if p.simulated else ""
        out.append(Component(
            "momentum", scale(r, -0.3, 0.3), r,
            f"{p.days[-1 - back]} 종가 {c[-1 - back]:,.0f}원 → {p.days[-1]} 종가 {c[-1]:,.0f}원, "
            f"{back}거래일 수익률 {_pct(r)}{sim} (−30%→0점, +30%→100점)",
        ))  # fmt: skip
        rets = [math.log(c[i] / c[i - 1]) for i in range(len(c) - 60, len(c)) if c[i - 1] > 0]
        if len(rets) >= 20:
            mean = sum(rets) / len(rets)
            vol = math.sqrt(sum((x - mean) ** 2 for x in rets) / (len(rets) - 1)) * math.sqrt(252)
            out.append(Component(
                "volatility", scale(-vol, -0.7, -0.15), vol,
                f"최근 60거래일({p.days[-60]}~{p.days[-1]}) 연환산 변동성 {vol * 100:.1f}% "
                "(15%→100점, 70%→0점)",
            ))  # fmt: skip
    return out


def tone(headlines: list[Headline]) -> tuple[int, int]:
    pos = sum(any(w in h.title for w in POSITIVE) for h in headlines)
    neg = sum(any(w in h.title for w in NEGATIVE) for h in headlines)
    return pos, neg


def news_component(headlines: list[Headline]) -> Component | None:
    if len(headlines) < 3:
        return None
    pos, neg = tone(headlines)
    # shrunk toward neutral: three cheerful headlines are not a verdict
    t = (pos - neg) / (pos + neg + TONE_PRIOR)
    days = sorted(h.day for h in headlines)
    return Component(
        "news", scale(t, -1.0, 1.0), t,
        f"{days[0]}~{days[-1]} 헤드라인 {len(headlines)}건 중 긍정 표현 {pos}건, 부정 표현 {neg}건 "
        f"(톤 (긍정−부정)/(긍정+부정+{TONE_PRIOR:g}) = {t:+.2f}; −1→0점, +1→100점)",
    )  # fmt: skip


def analyse(
    name: str,
    financials: Financials | None,
    valuation: Valuation | None,
    prices: Prices | None,
    headlines: list[Headline],
) -> QuantResult:
    comps: list[Component] = []
    if financials is not None:
        comps.extend(financial_components(financials))
    if valuation is not None and (vc := valuation_component(valuation)) is not None:
        comps.append(vc)
    if prices is not None:
        comps.extend(price_components(prices))
    if (nc := news_component(headlines)) is not None:
        comps.append(nc)
    notes = tuple(n for n in [financial_gap(financials) if financials else None] if n)
    total_w = sum(WEIGHTS[c.name] for c in comps)
    score = sum(c.score * WEIGHTS[c.name] for c in comps) / total_w if total_w else 50.0
    result_score = round(score)
    outlook = outlook_of(result_score)
    dates: dict[str, object] = {
        "financialYears": [y.year for y in financials.years] if financials else [],
        "valuationDay": valuation.day if valuation else None,
        "pricesFrom": prices.days[0] if prices and prices.days else None,
        "pricesTo": prices.days[-1] if prices and prices.days else None,
        "newsFrom": min((h.day for h in headlines), default=None),
        "newsTo": max((h.day for h in headlines), default=None),
    }
    return QuantResult(result_score, outlook,
                       rationale(name, result_score, outlook, comps, notes),
                       tuple(comps), dates, notes)  # fmt: skip


def rationale(
    name: str, score: int, outlook: str, comps: list[Component], notes: tuple[str, ...] = ()
) -> str:
    if not comps:
        return " ".join((f"{name}: 재무·밸류에이션·시세·뉴스 데이터가 없어 판단 근거가 없습니다. "
                         "점수 50은 정보 없음을 뜻합니다.", *notes))  # fmt: skip
    ranked = sorted(comps, key=lambda c: c.score, reverse=True)
    strong = [c for c in ranked if c.score >= 60]
    weak = [c for c in ranked if c.score < 40]
    lines = [f"{name}의 성장 점수는 {score}점으로 전망은 '{outlook}'입니다."]
    if strong:
        lines.append("강점: " + "; ".join(f"{LABELS[c.name]} {c.score:.0f}점 — {c.detail}"
                                          for c in strong) + ".")  # fmt: skip
    if weak:
        lines.append("약점: " + "; ".join(f"{LABELS[c.name]} {c.score:.0f}점 — {c.detail}"
                                          for c in weak) + ".")  # fmt: skip
    middle = [c for c in ranked if 40 <= c.score < 60]
    if middle:
        lines.append("중립: " + "; ".join(f"{LABELS[c.name]} {c.score:.0f}점 — {c.detail}"
                                          for c in middle) + ".")  # fmt: skip
    missing = [LABELS[k] for k in WEIGHTS if k not in {c.name for c in comps}]
    if missing:
        lines.append("데이터가 없어 제외: " + ", ".join(missing) + ".")
    return " ".join((*lines, *notes))
