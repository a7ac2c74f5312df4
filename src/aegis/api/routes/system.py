"""Health, status and metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from aegis import __version__
from aegis.api.deps import RuntimeDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.metrics import REGISTRY, update_metrics
from aegis.api.schemas import Envelope, SystemStatus
from aegis.core.timeutil import iso_z
from aegis.services.runtime import Runtime, retention_spares

router = APIRouter(tags=["system"])
health_router = APIRouter(tags=["system"])


@router.get("/system/status", operation_id="getSystemStatus", response_model=Envelope[SystemStatus])
async def system_status(rt: RuntimeDep) -> JSONBytes:
    hub = rt.hub
    sources = [
        {
            "name": s.status.name,
            "state": s.status.state.value,
            "simulated": s.status.simulated,
            "subscriptions": s.status.subscriptions,
            "lastMessageTime": None
            if s.status.last_message_us is None
            else iso_z(s.status.last_message_us),
            "reconnects": s.status.reconnects,
            "messages": s.status.messages,
            "error": s.status.error,
            "details": s.status.details,
        }
        for s in rt.sources
    ]
    ingest = rt.ingest.describe() if rt.ingest else None
    data = {
        "version": __version__,
        "uptimeSeconds": round(time.time() - rt.started, 1),
        "mode": "server" if rt.settings.database_url or rt.settings.redis_url else "embedded",
        "ingesting": rt.ingesting,
        "sources": sources,
        "ticksPerSecond": round(hub.ticks_per_second(), 1) if hub else 0.0,
        "lagMs": round(hub.lag_ms, 1) if hub else 0.0,
        "clients": hub.client_counts() if hub else {"websocket": 0, "sse": 0},
        "store": rt.store.describe(),
        "bus": rt.bus.describe(),
        "ingest": ingest,
        "riseColor": rt.settings.rise_color,
        "retention": await _retention(rt),
    }
    return ok(data, "시스템 상태")


async def _retention(rt: Runtime) -> dict[str, object]:
    settings = rt.settings
    return {
        "tickDays": settings.tick_retention_days,
        "candleDays": settings.candle_retention_days,
        "keptSources": sorted(retention_spares(settings)),
        "lastRun": None if rt.retention_ran is None else iso_z(rt.retention_ran),
        "removed": [
            {"at": iso_z(e.at), "target": e.target, "before": iso_z(e.cutoff), "rows": e.deleted}
            for e in await rt.store.retention_log()
        ],
    }


@health_router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/metrics", operation_id="metrics", response_class=Response)
async def metrics(rt: RuntimeDep) -> Response:
    update_metrics(rt)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
