"""The FastAPI application: routers, error mapping, lifespan of the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.middleware.gzip import GZipMiddleware

from aegis import __version__
from aegis.api import errors, sse, static, ws
from aegis.api.routes import analysis as analysis_routes
from aegis.api.routes import (
    candles,
    companies,
    comparisons,
    industries,
    quotes,
    research,
    system,
    users,
)
from aegis.api.routes import indicators as indicators_routes
from aegis.api.routes import news as news_routes
from aegis.core.config import Settings, get_settings
from aegis.services.runtime import Runtime


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None, web_dist: Path | None = None
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        await rt.start()
        app.state.runtime = rt
        try:
            yield
        finally:
            await rt.close()

    app = FastAPI(
        title="AEGIS",
        version=__version__,
        description="Korean stock market platform: market data, candles, realtime streams.",
        lifespan=lifespan,
    )
    # level 3: JSON compresses ~40x already; level 9 costs 10x the time for a few % more
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=3)
    errors.install(app)
    api = APIRouter(prefix="/api/v1")
    api.include_router(companies.router)
    api.include_router(candles.router)
    api.include_router(quotes.router)
    api.include_router(system.router)
    api.include_router(research.router)
    api.include_router(industries.router)
    api.include_router(comparisons.router)
    api.include_router(users.router)
    api.include_router(indicators_routes.router)
    api.include_router(news_routes.router)
    api.include_router(analysis_routes.router)
    app.include_router(api)
    app.include_router(system.health_router)
    app.include_router(sse.router)
    app.include_router(ws.router)
    static.mount(app, web_dist if web_dist is not None else static.find_dist())
    return app
