"""Server-sent events: the tick stream for browsers and tools that cannot use WebSockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from aegis.api.deps import HubDep, RuntimeDep
from aegis.api.schemas import ERROR_RESPONSES
from aegis.core.errors import InvalidRequest
from aegis.services.clients import ClientChannel
from aegis.services.stream import StreamHub, Subscriber

router = APIRouter(tags=["streams"])


@router.get(
    "/api/stream/stocks",
    operation_id="streamStocks",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`event: tick` messages, as on the WebSocket (`data:` one JSON each); "
            "after a gap on the server's bus `event: backfill` (the missed ticks of a symbol) "
            "and `event: resynced`",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **ERROR_RESPONSES,
    },
)
async def stream_stocks(
    request: Request, rt: RuntimeDep, hub: HubDep, symbols: str
) -> StreamingResponse:
    settings = rt.settings
    codes = [s.strip() for s in symbols.split(",") if s.strip()]
    if not codes:
        raise InvalidRequest("symbols is empty")
    wanted = hub.market.resolve(codes)  # as the WebSocket: lower case too, each symbol once
    if len(wanted) > settings.ws_max_symbols:
        raise InvalidRequest(f"at most {settings.ws_max_symbols} symbols per connection")
    channel = ClientChannel(settings.ws_queue_size, settings.ws_drop_after_seconds)
    sub = Subscriber(channel, channel.close, kind="sse")
    hub.add(sub)
    hub.subscribe_ticks(sub, wanted)
    return StreamingResponse(
        _events(request, hub, sub),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


_EVENTS = (b"tick", b"backfill", b"resynced")


def _event(message: bytes) -> bytes:
    for name in _EVENTS:
        if message.startswith(b'{"type":"%s"' % name):
            return name
    return b"message"


async def _events(request: Request, hub: StreamHub, sub: Subscriber) -> AsyncIterator[bytes]:
    try:
        yield b": connected\n\n"
        while not sub.channel.closed:
            msgs = await sub.channel.drain()
            if not msgs:
                break
            parts = []
            for m in msgs:
                parts.append(b"event: " + _event(m) + b"\ndata: " + m + b"\n\n")
            yield b"".join(parts)
    finally:
        hub.remove(sub)
