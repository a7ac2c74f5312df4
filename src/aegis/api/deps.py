"""Annotated dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.errors import StreamUnavailable
from aegis.research.analysis.service import AnalysisService
from aegis.research.news.service import NewsService
from aegis.research.service import Research
from aegis.services.market import Market
from aegis.services.runtime import Runtime
from aegis.services.stream import StreamHub
from aegis.store.base import Store


def get_runtime(request: Request) -> Runtime:
    rt: Runtime | None = getattr(request.app.state, "runtime", None)
    if rt is None or rt.market is None:
        raise StreamUnavailable("the server is starting")
    return rt


def get_market(rt: Annotated[Runtime, Depends(get_runtime)]) -> Market:
    assert rt.market is not None
    return rt.market


def get_hub(rt: Annotated[Runtime, Depends(get_runtime)]) -> StreamHub:
    if rt.hub is None:
        raise StreamUnavailable("the stream hub is not running")
    return rt.hub


def get_store(rt: Annotated[Runtime, Depends(get_runtime)]) -> Store:
    return rt.store


def get_db(rt: Annotated[Runtime, Depends(get_runtime)]) -> AsyncEngine:
    assert rt.db is not None
    return rt.db


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MarketDep = Annotated[Market, Depends(get_market)]
HubDep = Annotated[StreamHub, Depends(get_hub)]
StoreDep = Annotated[Store, Depends(get_store)]
DbDep = Annotated[AsyncEngine, Depends(get_db)]


def get_research(rt: Annotated[Runtime, Depends(get_runtime)]) -> Research:
    if rt.research is None:
        raise StreamUnavailable("the server is starting")
    return rt.research


ResearchDep = Annotated[Research, Depends(get_research)]


# --- news and AI outlook (news-ai) ---------------------------------------------------------
def get_news(rt: Annotated[Runtime, Depends(get_runtime)]) -> NewsService:
    if rt.news is None:
        raise StreamUnavailable("the news service is not running")
    return rt.news


NewsDep = Annotated[NewsService, Depends(get_news)]


def get_analysis(rt: Annotated[Runtime, Depends(get_runtime)]) -> AnalysisService:
    if rt.analysis is None:
        raise StreamUnavailable("the analysis service is not running")
    return rt.analysis


AnalysisDep = Annotated[AnalysisService, Depends(get_analysis)]
