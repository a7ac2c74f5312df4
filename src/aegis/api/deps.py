"""Annotated dependency aliases for routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.models import AccessClaims, User
from aegis.accounts.service import Accounts
from aegis.core.errors import Forbidden, InvalidToken, StreamUnavailable
from aegis.research.analysis.service import AnalysisService
from aegis.research.news.service import NewsService
from aegis.research.service import Research
from aegis.services.market import Market
from aegis.services.runtime import Runtime
from aegis.services.stream import StreamHub
from aegis.store.base import Store


async def get_runtime(request: Request) -> Runtime:
    rt: Runtime | None = getattr(request.app.state, "runtime", None)
    if rt is None or rt.market is None:
        raise StreamUnavailable("the server is starting")
    return rt


async def get_market(rt: Annotated[Runtime, Depends(get_runtime)]) -> Market:
    assert rt.market is not None
    return rt.market


async def get_hub(rt: Annotated[Runtime, Depends(get_runtime)]) -> StreamHub:
    if rt.hub is None:
        raise StreamUnavailable("the stream hub is not running")
    return rt.hub


async def get_store(rt: Annotated[Runtime, Depends(get_runtime)]) -> Store:
    return rt.store


async def get_db(rt: Annotated[Runtime, Depends(get_runtime)]) -> AsyncEngine:
    assert rt.db is not None
    return rt.db


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MarketDep = Annotated[Market, Depends(get_market)]
HubDep = Annotated[StreamHub, Depends(get_hub)]
StoreDep = Annotated[Store, Depends(get_store)]
DbDep = Annotated[AsyncEngine, Depends(get_db)]


async def get_research(rt: Annotated[Runtime, Depends(get_runtime)]) -> Research:
    if rt.research is None:
        raise StreamUnavailable("the server is starting")
    return rt.research


ResearchDep = Annotated[Research, Depends(get_research)]


# --- accounts ------------------------------------------------------------------------------
# auto_error=False: a missing header becomes our 401 envelope, not FastAPI's 403
_bearer = HTTPBearer(auto_error=False, description="access token from POST /api/v1/users/login")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def get_accounts(rt: RuntimeDep) -> Accounts:
    assert rt.accounts is not None
    return rt.accounts


AccountsDep = Annotated[Accounts, Depends(get_accounts)]


async def bearer_token(bearer: BearerDep) -> str:
    if bearer is None:
        raise InvalidToken("login required: send Authorization: Bearer <accessToken>")
    return bearer.credentials


BearerTokenDep = Annotated[str, Depends(bearer_token)]


async def current_session(
    token: BearerTokenDep, accounts: AccountsDep
) -> tuple[User, AccessClaims]:
    return await accounts.authenticate(token)


async def current_user(
    session: Annotated[tuple[User, AccessClaims], Depends(current_session)],
) -> User:
    return session[0]


async def optional_user(bearer: BearerDep, accounts: AccountsDep) -> User | None:
    """Anonymous without a header; a header with a bad token is still 401 (never silently
    anonymous, so a client notices that its session ended)."""
    if bearer is None:
        return None
    user, _ = await accounts.authenticate(bearer.credentials)
    return user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise Forbidden("administrator only")
    return user


SessionDep = Annotated[tuple[User, AccessClaims], Depends(current_session)]
CurrentUserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]
AdminUserDep = Annotated[User, Depends(admin_user)]


# --- news and AI outlook (news-ai) ---------------------------------------------------------
async def get_news(rt: Annotated[Runtime, Depends(get_runtime)]) -> NewsService:
    if rt.news is None:
        raise StreamUnavailable("the news service is not running")
    return rt.news


NewsDep = Annotated[NewsService, Depends(get_news)]


async def get_analysis(rt: Annotated[Runtime, Depends(get_runtime)]) -> AnalysisService:
    if rt.analysis is None:
        raise StreamUnavailable("the analysis service is not running")
    return rt.analysis


AnalysisDep = Annotated[AnalysisService, Depends(get_analysis)]
