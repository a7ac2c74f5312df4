"""``GET /api/v1/users/favorites`` without FastAPI's routing and dependency solving.

Every logged-in client polls it once a second. Routing (a linear walk over every included
router's routes), dependency solving (bearer, runtime, accounts, market) and the route's own
exception and exit-stack layers cost more server CPU than the answer itself (issue #9: 1,000 users
polling on one core). This layer sits innermost among the app's middlewares, so request ids,
stats, security headers, rate limits, gzip and ETag/304 apply as to any route, and serves the
successful case only, with the route's own function (``FavoriteRows.response``). Anything else
(no or malformed ``Authorization``, a token the accounts refuse, the server starting, a database
error, dependency overrides) is passed on to the routed endpoint, which answers it exactly as
before: the outcome of a request does not depend on which of the two served it.
"""

from __future__ import annotations

from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Receive, Scope, Send

from aegis.api.routes.users import FavoriteRows
from aegis.services.runtime import Runtime

FAVORITES_PATH = "/api/v1/users/favorites"


def bearer(scope: Scope) -> str | None:
    """The token as FastAPI's ``HTTPBearer`` reads it (first ``Authorization`` header, scheme
    ``Bearer`` in any case, the rest stripped), or None where it would find none."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"authorization":
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if token and scheme.lower() == "bearer" else None
    return None


class FavoritesFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == FAVORITES_PATH and scope["method"] == "GET":
            app = scope["app"]
            rt: Runtime | None = getattr(app.state, "runtime", None)
            rows: FavoriteRows | None = getattr(app.state, "favorite_rows", None)
            token = bearer(scope)
            if (
                token is not None
                and rt is not None
                and rt.market is not None
                and rt.accounts is not None
                and rows is not None
                and not app.dependency_overrides
            ):
                try:
                    response = await rows.response(token, rt.accounts, rt.market)
                except Exception:  # the routed endpoint meets it again and answers it
                    pass
                else:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
