"""Outlooks for companies, industries and today's picks: the quant analyst always, an LLM when
configured (falling back to the quant analyst, and saying so); cached per subject per KST day."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.research.analysis import quant
from aegis.research.analysis.inputs import AnalysisInputs
from aegis.research.analysis.providers import LLMError, Provider
from aegis.research.analysis.tables import cache

log = logging.getLogger(__name__)
KST = timezone(timedelta(hours=9))
RETRY_FALLBACK_AFTER = 600  # s: a fallback result is recomputed (LLM retried) after this
DISCLAIMER = (
    "투자 권유가 아닌 참고용 분석입니다. 수치와 날짜는 입력 데이터 그대로이며, "
    "판단은 본인의 책임입니다."
)
SYSTEM_PROMPT = (
    "당신은 한국 주식시장 애널리스트입니다. 주어진 수치와 헤드라인만 근거로 삼고, 새로운 사실을 "
    "지어내지 마세요. 성장 점수(0~100)와 전망(긍정/중립/부정)을 정하고, 근거(rationale)는 "
    "한국어 3~5문장으로 쓰되 사용한 수치와 그 날짜를 그대로 인용하세요. JSON만 반환하세요."
)


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # company | industry
    key: str  # stock code or industry id
    name: str
    company_id: int | None = None

    @property
    def cache_key(self) -> str:
        return f"{self.kind}:{self.key}"

    def wire(self) -> dict[str, object]:
        if self.kind == "company":
            return {"type": "company", "companyId": self.company_id, "code": self.key,
                    "name": self.name}  # fmt: skip
        return {"type": "industry", "industryId": int(self.key), "name": self.name}


def _weighted(rows: Sequence[tuple[Subject, int, dict[str, Any]]]) -> int:
    """Market-cap weighted mean growth score (a plain mean when no cap is known)."""
    if not rows:
        return 50
    total = sum(cap for _, cap, _ in rows)
    if total <= 0:
        return round(sum(float(r["growthScore"]) for *_, r in rows) / len(rows))
    return round(sum(float(r["growthScore"]) * cap for _, cap, r in rows) / total)


def kst_today(now: float) -> str:
    return datetime.fromtimestamp(now, KST).date().isoformat()


class AnalysisService:
    def __init__(
        self,
        engine: AsyncEngine,
        inputs: AnalysisInputs,
        provider: Provider | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.inputs = inputs
        self.provider = provider
        self.clock = clock

    @property
    def provider_name(self) -> str:
        return self.provider.name if self.provider else "quant"

    # --- cache -----------------------------------------------------------------------------
    async def _cached(self, subject: str, day: str, provider: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(cache.c.result, cache.c.created_at).where(
                        cache.c.subject == subject, cache.c.day == day, cache.c.provider == provider
                    )
                )
            ).first()
        if row is None:
            return None
        result: dict[str, Any] = json.loads(row.result)
        if result.get("fallback") and self.clock() - row.created_at > RETRY_FALLBACK_AFTER:
            return None
        result["cached"] = True
        return result

    async def _store(self, subject: str, day: str, provider: str, result: dict[str, Any]) -> None:
        values = {"result": json.dumps(result, ensure_ascii=False), "created_at": int(self.clock())}
        key = (cache.c.subject == subject, cache.c.day == day, cache.c.provider == provider)
        async with self.engine.begin() as conn:
            done = await conn.execute(cache.update().where(*key).values(**values))
            if done.rowcount == 0:
                # another worker may have stored the same day's result first
                with contextlib.suppress(IntegrityError):
                    await conn.execute(
                        cache.insert().values(subject=subject, day=day, provider=provider, **values)
                    )

    # --- companies -------------------------------------------------------------------------
    async def company(self, subject: Subject, *, use_llm: bool = True) -> dict[str, Any]:
        provider = self.provider if use_llm else None
        pname = provider.name if provider else "quant"
        day = kst_today(self.clock())
        hit = await self._cached(subject.cache_key, day, pname)
        if hit is not None:
            return hit
        sym = subject.key
        f = await self.inputs.financials(sym)
        v = await self.inputs.valuation(sym)
        p = await self.inputs.prices(sym)
        h = await self.inputs.headlines(sym)
        q = quant.analyse(subject.name, f, v, p, h)
        pos, neg = quant.tone(h)
        inputs = {
            "financials": None
            if f is None
            else {"basis": f.basis, "years": [y.year for y in f.years], "source": f.source},
            "valuation": None if v is None else {"day": v.day, "per": v.per, "pbr": v.pbr},
            "prices": None
            if p is None
            else {
                "from": p.days[0],
                "to": p.days[-1],
                "sessions": len(p.days),
                "source": p.source,
                "simulated": p.simulated,
            },
            "news": {
                "from": q.input_dates["newsFrom"],
                "to": q.input_dates["newsTo"],
                "headlines": len(h),
                "positive": pos,
                "negative": neg,
            },
        }
        result = self._result(subject, day, q, inputs)
        if provider is not None:
            facts = {"company": subject.name, "code": sym, "quantScore": q.score,
                     "components": [c.detail for c in q.components], "notes": list(q.notes),
                     "headlines": [f"{x.day} {x.title}" for x in h[:20]]}  # fmt: skip
            result = await self._ask(provider, result, q, facts)
        await self._store(subject.cache_key, day, pname, result)
        return result

    def _result(
        self, subject: Subject, day: str, q: quant.QuantResult, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "subject": subject.wire(),
            "day": day,
            "provider": "quant",
            "model": quant.MODEL,
            "growthScore": q.score,
            "outlook": q.outlook,
            "rationale": q.rationale,
            "components": [
                {
                    "name": c.name,
                    "label": quant.LABELS[c.name],
                    "score": round(c.score, 1),
                    "weight": quant.WEIGHTS[c.name],
                    "value": round(c.value, 4),
                    "detail": c.detail,
                }
                for c in q.components
            ],
            "inputs": inputs,
            "quant": {"growthScore": q.score, "outlook": q.outlook},
            "fallback": None,
            "generatedAt": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "cached": False,
            "disclaimer": DISCLAIMER,
        }

    async def _ask(
        self, provider: Provider, base: dict[str, Any], q: quant.QuantResult, facts: dict[str, Any]
    ) -> dict[str, Any]:
        user = "다음 입력만으로 전망을 작성하세요. 입력(JSON):\n" + json.dumps(
            {**facts, "inputs": base["inputs"]}, ensure_ascii=False
        )
        try:
            ans = await provider.analyse(SYSTEM_PROMPT, user)
        except LLMError as exc:
            log.warning("LLM %s failed, quant fallback: %s", provider.name, exc)
            return {**base, "fallback": {"provider": provider.name, "model": provider.model,
                                         "reason": str(exc)}}  # fmt: skip
        return {
            **base,
            "provider": provider.name,
            "model": ans.model,
            "growthScore": ans.growth_score,
            "outlook": ans.outlook,
            "rationale": ans.rationale,
        }

    # --- industries ------------------------------------------------------------------------
    async def industry(
        self, subject: Subject, members: Sequence[tuple[Subject, int]]
    ) -> dict[str, Any]:
        """``members``: (company subject, market cap) of the largest member companies."""
        pname = self.provider_name
        day = kst_today(self.clock())
        hit = await self._cached(subject.cache_key, day, pname)
        if hit is not None:
            return hit
        rows = []
        for m, cap in members:
            r = await self.company(m, use_llm=False)
            rows.append((m, cap, r))
        score = _weighted(rows)
        outlook = quant.outlook_of(score)
        ranked = sorted(rows, key=lambda x: x[2]["growthScore"], reverse=True)
        parts = [f"{m.name} {r['growthScore']}점({r['outlook']})" for m, _, r in ranked]
        why = (
            f"{subject.name} 산업의 시가총액 가중 성장 점수는 {score}점으로 "
            f"전망은 '{outlook}'입니다. 시가총액 상위 {len(rows)}개 기업의 퀀트 점수: "
            + ", ".join(parts)
            + "."
            if rows
            else f"{subject.name} 산업에 분석할 수 있는 상장 기업이 없습니다."
        )
        result = {
            "subject": subject.wire(),
            "day": day,
            "provider": "quant",
            "model": quant.MODEL,
            "growthScore": score,
            "outlook": outlook,
            "rationale": why,
            "components": [],
            "members": [
                {
                    **m.wire(),
                    "marketCap": cap,
                    "growthScore": r["growthScore"],
                    "outlook": r["outlook"],
                }
                for m, cap, r in ranked
            ],
            "inputs": {
                "companies": len(rows),
                "pricesTo": max(
                    (r["inputs"]["prices"]["to"] for *_, r in rows if r["inputs"]["prices"]),
                    default=None,
                ),
                "newsTo": max(
                    (r["inputs"]["news"]["to"] for *_, r in rows if r["inputs"]["news"]["to"]),
                    default=None,
                ),
            },
            "quant": {"growthScore": score, "outlook": outlook},
            "fallback": None,
            "generatedAt": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "cached": False,
            "disclaimer": DISCLAIMER,
        }
        if self.provider is not None:
            facts = {"industry": subject.name, "quantScore": score,
                     "companies": [{"name": m.name, "score": r["growthScore"],
                                    "reasons": [c["detail"] for c in r["components"]]}
                                   for m, _, r in ranked]}  # fmt: skip
            q = quant.QuantResult(score, outlook, why, ())
            result = await self._ask(self.provider, result, q, facts)
        await self._store(subject.cache_key, day, pname, result)
        return result

    # --- picks and reports -----------------------------------------------------------------
    async def picks(self, candidates: Sequence[Subject], limit: int) -> dict[str, Any]:
        """Today's picks: the highest quant growth scores among ``candidates`` (the largest
        companies), each with its reasons."""
        day = kst_today(self.clock())
        scored = []
        for s in candidates:
            r = await self.company(s, use_llm=False)
            scored.append(r)
        scored.sort(key=lambda r: (-r["growthScore"], r["subject"]["code"]))
        picks = []
        for r in scored[:limit]:
            strong = sorted(r["components"], key=lambda c: -c["score"])[:2]
            picks.append(
                {
                    "subject": r["subject"],
                    "growthScore": r["growthScore"],
                    "outlook": r["outlook"],
                    "reasons": [f"{c['label']} {c['score']:.0f}점: {c['detail']}" for c in strong],
                    "inputs": r["inputs"],
                }
            )
        return {
            "day": day,
            "provider": "quant",
            "model": quant.MODEL,
            "universe": len(candidates),
            "picks": picks,
            "method": (
                f"시가총액 상위 {len(candidates)}개 기업의 퀀트 성장 점수 상위 {limit}개 "
                "(재무 추세·밸류에이션·모멘텀·변동성·뉴스 톤)"
            ),
            "disclaimer": DISCLAIMER,
        }

    async def reports(self, limit: int) -> list[dict[str, Any]]:
        """The most recent stored analyses (companies and industries), newest first."""
        q = (
            sa.select(cache.c.result, cache.c.provider, cache.c.created_at)
            .order_by(cache.c.created_at.desc(), cache.c.subject)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        out = []
        for row in rows:
            r = json.loads(row.result)
            out.append(
                {
                    "subject": r["subject"],
                    "day": r["day"],
                    "provider": r["provider"],
                    "model": r["model"],
                    "growthScore": r["growthScore"],
                    "outlook": r["outlook"],
                    "rationale": r["rationale"],
                    "fallback": r.get("fallback"),
                    "generatedAt": r["generatedAt"],
                }
            )
        return out
