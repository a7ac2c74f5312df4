"""The FastAPI application: routers, error mapping, lifespan of the runtime."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp

from aegis import __version__
from aegis.api import errors, openapi, security, sse, static, ws
from aegis.api.etag import ETagMiddleware
from aegis.api.hotpath import FavoritesFastPath
from aegis.api.httpstats import HttpStats, HttpStatsMiddleware
from aegis.api.metrics import make_registry
from aegis.api.ratelimit import RateLimitMiddleware, RateLimits
from aegis.api.requestid import RequestIdMiddleware
from aegis.api.routes import (
    alerts,
    backtests,
    candles,
    companies,
    comparisons,
    industries,
    orders,
    portfolio,
    quotes,
    research,
    strategies,
    system,
    trades,
    trading_live,
    trading_system,
    trading_ws,
    users,
)
from aegis.api.routes import analysis as analysis_routes
from aegis.api.routes import indicators as indicators_routes
from aegis.api.routes import news as news_routes
from aegis.core.config import Settings, get_settings
from aegis.core.errors import AegisError
from aegis.services.runtime import Runtime


def _user_of(rt: Runtime) -> Callable[[str], str | None]:
    """Token → user id for the rate limiter: a signature check only (no database), so a forged
    or expired token counts as anonymous."""

    def identify(token: str) -> str | None:
        if rt.accounts is None:
            return None
        try:
            return str(rt.accounts.tokens.decode_access(token).user_id)
        except AegisError:
            return None

    return identify


class AegisApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # outermost: the stream's WebSocket connections skip the middleware stack, which each
        # open connection would otherwise keep alive (``ws.StreamFastPath``)
        return ws.StreamFastPath(super().build_middleware_stack())


def create_app(
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    web_dist: Path | None = None,
    *,
    freeze_heap: bool = False,
) -> FastAPI:
    """``freeze_heap`` (``aegis serve``): once the runtime has started, what it built (the
    listing, daily bars, caches: ~0.5 M objects) moves out of the cyclic GC's reach. Measured
    with the market at 5,000 ticks/s: each full collection re-scanned it, 300–650 ms with the
    event loop stopped, every 3–5 s (docs/benchmarks.md, ``aegis bench trading``). Frozen
    objects are still freed by reference counting; only cycles among them would stay. Off in
    tests, where apps start many times in one process."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        limits = RateLimits(
            settings.rate_limit_anon,
            settings.rate_limit_user,
            settings.rate_limit_ws,
            settings.redis_url,
        )
        await rt.start()
        if freeze_heap:
            gc.collect()  # garbage from startup is not frozen with the rest
            gc.freeze()
            # Young collections every 10,000 new containers instead of 700: the live path makes
            # short-lived ones by the thousand (tick tuples, candle snapshots, lists), which die
            # before a collection sees them instead of being promoted and re-scanned, and full
            # collections become rare (fanout bench, docs/benchmarks.md: 38.3 -> 33.5 µs of CPU
            # per delivered tick, no full collection in 20 s).
            gc.set_threshold(10_000, 10, 10)
        app.state.runtime = rt
        app.state.rate_limits = limits
        app.state.identify_user = _user_of(rt)
        try:
            yield
        finally:
            await limits.close()
            await rt.close()

    app = AegisApp(
        title="AEGIS",
        version=__version__,
        description="Korean stock market platform: market data, candles, realtime streams.",
        lifespan=lifespan,
        # no OpenTelemetry SDK here (metrics are on /metrics): skips FastAPI's per-request check
        # for configured providers
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # level 3: JSON compresses ~40x already; level 9 costs 10x the time for a few % more
    # innermost: the polled favorites list skips routing; every layer below still applies
    app.add_middleware(FavoritesFastPath)
    app.add_middleware(ETagMiddleware)  # tags the JSON before gzip
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=3)
    app.add_middleware(RateLimitMiddleware)
    dist = web_dist if web_dist is not None else static.find_dist()
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["*"],
        )
    app.add_middleware(
        security.SecurityHeaders,
        script_hashes=security.inline_script_hashes(dist / "index.html" if dist else None),
    )
    http_stats = HttpStats()  # per app: requests by status and their latency, on /metrics
    app.add_middleware(HttpStatsMiddleware, stats=http_stats)
    app.add_middleware(RequestIdMiddleware)  # outermost: every response and log line has an id
    app.state.favorite_rows = users.FavoriteRows()  # per app: the polled list's cached JSON parts
    app.state.metrics_registry = make_registry(
        lambda: getattr(app.state, "runtime", None),
        lambda: getattr(app.state, "rate_limits", None),
        http_stats,
    )
    errors.install(app)
    openapi.install(app)
    api = APIRouter(prefix="/api/v1")
    api.include_router(companies.router)
    api.include_router(candles.router)
    api.include_router(quotes.router)
    api.include_router(system.router)
    api.include_router(research.router)
    api.include_router(industries.router)
    api.include_router(comparisons.router)
    api.include_router(users.router)
    trading_routers = (orders, portfolio, trades, trading_system, backtests, alerts, strategies)
    api.include_router(trading_live.router)  # before /system/trading's own paths
    for trading_router in trading_routers:
        api.include_router(trading_router.router)
    api.include_router(indicators_routes.router)
    api.include_router(news_routes.router)
    api.include_router(analysis_routes.router)
    app.include_router(api)
    app.include_router(system.health_router)
    app.include_router(sse.router)
    app.include_router(ws.router)
    app.include_router(trading_ws.router)
    static.mount(app, dist)
    return app
