"""The stream's WebSocket paths skip the middleware stack (``StreamFastPath``): exactly the paths
the router would give to the stream's endpoints, and no other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match

from aegis.api.app import create_app
from aegis.api.ws import _stream_route, ws_realtime, ws_stocks
from aegis.core.config import Settings


def routed_to(
    routes: Sequence[BaseRoute], path: str
) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """The endpoint and path parameters the router gives a WebSocket scope on ``path``
    (FastAPI's included routers walked with their prefixes)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            prefix: str = route.include_context.prefix  # type: ignore[attr-defined]
            if path.startswith(prefix):
                found = routed_to(included.routes, path[len(prefix) :])
                if found is not None:
                    return found
            continue
        scope = {"type": "websocket", "path": path, "root_path": "", "headers": []}
        match, child = route.matches(scope)
        if match is Match.FULL:
            return getattr(route, "endpoint", None), child.get("path_params", {})  # type: ignore[return-value]
    return None


@pytest.mark.parametrize(
    "path",
    [
        "/ws/stocks",
        "/ws/stocks/",
        "/ws/stocksx",
        "/ws/realtime/005930",
        "/ws/realtime/00104K",
        "/ws/realtime/",
        "/ws/realtime/005930/x",
        "/ws/realtime",
        "/ws/trading",
        "/api/v1/system/status",
    ],
)
def test_the_fast_path_takes_the_paths_the_router_gives_the_stream(
    path: str, tmp_path: object
) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    routed = routed_to(app.router.routes, path)
    if path in ("/ws/stocks", "/ws/realtime/005930", "/ws/realtime/00104K"):
        assert routed is not None and routed[0] in (ws_stocks, ws_realtime)  # the walk finds them
    matched, initial = _stream_route(path)
    if routed is not None and routed[0] in (ws_stocks, ws_realtime):
        assert matched
        assert initial == ([routed[1]["code"]] if routed[0] is ws_realtime else None)
    else:
        assert not matched


async def test_every_middleware_that_acts_on_a_websocket_is_one_the_fast_path_applies(
    tmp_path: object,
) -> None:
    # ``StreamFastPath`` repeats what the middlewares acting on WebSocket scopes do (request id,
    # connection rate limit). A middleware added later that changes a WebSocket's scope, receive
    # or send would be skipped on the stream's paths without a word: this names it.
    from aegis.api.ratelimit import RateLimitMiddleware
    from aegis.api.requestid import RequestIdMiddleware

    app = create_app(Settings(data_dir=tmp_path, allowed_origins=["https://example.test"]))
    applied_by_fast_path = {RateLimitMiddleware, RequestIdMiddleware}
    acting: set[type] = set()
    for cls, args, kwargs in app.user_middleware:
        seen: list[tuple[object, object, object]] = []

        async def inner(scope: Any, receive: Any, send: Any, seen: list[Any] = seen) -> None:
            seen.append((scope, receive, send))

        async def receive() -> dict[str, Any]:
            return {"type": "websocket.connect"}

        async def send(message: Any) -> None:
            pass

        scope = {
            "type": "websocket", "path": "/ws/stocks", "raw_path": b"/ws/stocks",
            "root_path": "", "query_string": b"", "headers": [], "client": ("127.0.0.1", 1),
            "app": app, "state": {},
        }  # fmt: skip
        if cls in applied_by_fast_path:
            acting.add(cls)
            continue
        before = dict(scope)
        await cls(inner, *args, **kwargs)(scope, receive, send)
        if seen != [(scope, receive, send)] or scope != before:
            acting.add(cls)
    assert acting == applied_by_fast_path
