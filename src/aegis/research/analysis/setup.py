"""The analysis service wired from settings: which provider (if any LLM) and live inputs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.core.config import Settings
from aegis.research.analysis.live import LiveInputs
from aegis.research.analysis.providers import Gemini, OpenAICompatible, Provider
from aegis.research.analysis.service import AnalysisService
from aegis.research.news.service import NewsService
from aegis.services.market import Market

OPENAI_URL = "https://api.openai.com"


def build_provider(settings: Settings) -> Provider | None:
    """``AEGIS_LLM_PROVIDER``: quant (none), openai, gemini, or auto — an OpenAI-compatible
    endpoint when ``AEGIS_LLM_BASE_URL`` is set, else Gemini when its key is set, else none."""
    choice = settings.llm_provider
    if choice == "auto":
        if settings.llm_base_url:
            choice = "openai"
        elif settings.gemini_api_key is not None:
            choice = "gemini"
        else:
            return None
    if choice == "openai":
        return OpenAICompatible(
            settings.llm_base_url or OPENAI_URL,
            settings.llm_api_key,
            settings.llm_model,
            settings.llm_timeout_seconds,
        )
    if choice == "gemini" and settings.gemini_api_key is not None:
        return Gemini(
            settings.gemini_api_key,
            settings.gemini_model,
            settings.llm_timeout_seconds,
            settings.gemini_base_url,
        )
    return None


def build_analysis(
    settings: Settings, engine: AsyncEngine, market: Market, news: NewsService
) -> AnalysisService:
    inputs = LiveInputs(engine, market, news, simulated="sim" in settings.sources)
    return AnalysisService(engine, inputs, build_provider(settings))
