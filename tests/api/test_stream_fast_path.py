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
