"""Accounts over HTTP (PRD §4.1): sign-up, login, token refresh, logout, profile, password,
account deletion, favorites and saved dashboard layouts. Thin: the rules live in
``aegis.accounts``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, Request
from pydantic import ConfigDict, Field, StringConstraints

from aegis.accounts.models import Favorite, Profile, TokenPair
from aegis.accounts.service import Accounts
from aegis.api.deps import (
    AccountsDep,
    BearerTokenDep,
    CurrentUserDep,
    MarketDep,
    SessionDep,
)
from aegis.api.envelope import JSONBytes, ok
from aegis.api.routes.companies import summary
from aegis.api.schemas import CompanySummary, Envelope, ErrorBody, QuoteOut, Wire
from aegis.core.errors import InvalidRequest
from aegis.domain.instruments import Instrument
from aegis.services.market import Market, quote_row

router = APIRouter(prefix="/users", tags=["users"])

_E = {"model": ErrorBody}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_E, "description": "Invalid request / missing field"},
    401: {**_E, "description": "Missing, expired, revoked or invalid access token"},
}
EMAIL_EX = "user@example.com"
PASSWORD_EX = "SecurePass123!"


class SignupIn(Wire):
    email: str = Field(max_length=254, examples=[EMAIL_EX])
    username: str = Field(max_length=30, examples=["주식왕"])
    password: str = Field(max_length=1024, examples=[PASSWORD_EX])


class SignupOut(Wire):
    user_id: int


class LoginIn(Wire):
    email: str = Field(max_length=254, examples=[EMAIL_EX])
    password: str = Field(max_length=1024, examples=[PASSWORD_EX])


class RefreshIn(Wire):
    refresh_token: str = Field(max_length=256)


class TokenOut(Wire):
    access_token: str = Field(examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."])
    refresh_token: str = Field(examples=["tW1Vn1b5t2kq3Zr7...."])
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(examples=[900], description="seconds until the access token expires")


class UserOut(Wire):
    user_id: int
    email: str
    username: str
    is_admin: bool
    created_at: str


class ProfilePatch(Wire):
    model_config = ConfigDict(extra="forbid")  # e.g. {"isAdmin": true} is refused, not ignored
    email: str | None = Field(default=None, max_length=254)
    username: str | None = Field(default=None, max_length=30)


class PasswordChangeIn(Wire):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024, examples=["NewSecure456#"])


class PasswordIn(Wire):
    password: str = Field(max_length=1024)


class Done(Wire):
    done: bool


def client_ip(request: Request) -> str | None:
    # the direct peer: X-Forwarded-For is client-controlled unless a trusted proxy sets it
    return request.client.host if request.client else None


def tokens_out(pair: TokenPair) -> dict[str, object]:
    return {
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "tokenType": pair.token_type,
        "expiresIn": pair.expires_in,
    }


def user_out(p: Profile) -> dict[str, object]:
    return {
        "userId": p.user.id,
        "email": p.user.email,
        "username": p.user.username,
        "isAdmin": p.user.is_admin,
        "createdAt": p.created_at.isoformat(),
    }


@router.post(
    "/signup",
    operation_id="signup",
    status_code=201,
    response_model=Envelope[SignupOut],
    responses={
        400: {**_E, "description": "MISSING_FIELD, INVALID_PASSWORD or INVALID_REQUEST"},
        409: {**_E, "description": "ALREADY_EXISTS: email or username taken"},
    },
)
async def signup(body: SignupIn, accounts: AccountsDep) -> JSONBytes:
    user = await accounts.signup(body.email, body.username, body.password)
    return ok({"userId": user.id}, "회원가입이 완료되었습니다.", status=201)


@router.post(
    "/login",
    operation_id="login",
    response_model=Envelope[TokenOut],
    responses={
        400: {**_E, "description": "Invalid request"},
        401: {**_E, "description": "Wrong email or password"},
        429: {**_E, "description": "Too many failed logins (Retry-After header)"},
    },
)
async def login(body: LoginIn, request: Request, accounts: AccountsDep) -> JSONBytes:
    pair = await accounts.login(body.email, body.password, client_ip(request))
    return ok(tokens_out(pair), "로그인 성공")


@router.post(
    "/refresh",
    operation_id="refreshToken",
    response_model=Envelope[TokenOut],
    responses={400: AUTH_ERRORS[400], 401: {**_E, "description": "Invalid, spent or expired"}},
)
async def refresh(body: RefreshIn, accounts: AccountsDep) -> JSONBytes:
    return ok(tokens_out(await accounts.refresh(body.refresh_token)), "토큰을 갱신하였습니다.")


@router.post("/logout", operation_id="logout", response_model=Envelope[Done], responses=AUTH_ERRORS)
async def logout(session: SessionDep, accounts: AccountsDep) -> JSONBytes:
    await accounts.logout(session[1])
    return ok({"done": True}, "로그아웃 되었습니다.")


@router.get("/me", operation_id="getMe", response_model=Envelope[UserOut], responses=AUTH_ERRORS)
async def get_me(user: CurrentUserDep, accounts: AccountsDep) -> JSONBytes:
    return ok(user_out(await accounts.profile(user.id)), "사용자 정보를 조회하였습니다.")


@router.patch(
    "/me",
    operation_id="updateMe",
    response_model=Envelope[UserOut],
    responses={**AUTH_ERRORS, 409: {**_E, "description": "email or username taken"}},
)
async def update_me(body: ProfilePatch, user: CurrentUserDep, accounts: AccountsDep) -> JSONBytes:
    p = await accounts.update_profile(user, email=body.email, username=body.username)
    return ok(user_out(p), "사용자 정보를 수정하였습니다.")


@router.post(
    "/me/password",
    operation_id="changePassword",
    response_model=Envelope[TokenOut],
    responses={**AUTH_ERRORS, 429: {**_E, "description": "Too many wrong passwords"}},
)
async def change_password(
    body: PasswordChangeIn, request: Request, user: CurrentUserDep, accounts: AccountsDep
) -> JSONBytes:
    pair = await accounts.change_password(
        user, body.current_password, body.new_password, client_ip(request)
    )
    return ok(tokens_out(pair), "비밀번호를 변경하였습니다. 다른 기기는 다시 로그인해야 합니다.")


@router.delete(
    "/me",
    operation_id="deleteMe",
    response_model=Envelope[Done],
    responses={**AUTH_ERRORS, 429: {**_E, "description": "Too many wrong passwords"}},
)
async def delete_me(
    body: Annotated[PasswordIn, Body()],
    request: Request,
    user: CurrentUserDep,
    accounts: AccountsDep,
) -> JSONBytes:
    await accounts.delete_account(user, body.password, client_ip(request))
    return ok({"done": True}, "계정과 모든 데이터를 삭제하였습니다.")


# --- favorites (PRD §4.1) ---------------------------------------------------------------------
class FavoriteIn(Wire):
    company_id: int = Field(ge=1, examples=[1])


class FavoriteOut(Wire):
    favorite_id: int
    company_id: int
    created_at: str
    company: CompanySummary | None = Field(description="null when no longer listed")
    quote: QuoteOut | None = Field(description="last price; null before the first trade")


def favorite_out(f: Favorite, market: Market) -> dict[str, object]:
    inst = market.by_id.get(f.company_id)
    q = market.quote(inst.symbol) if inst is not None else None
    return {
        "favoriteId": f.id,
        "companyId": f.company_id,
        "createdAt": f.created_at.isoformat(),
        "company": summary(inst) if inst is not None else None,
        "quote": quote_row(q) if q is not None else None,
    }


FAVORITES_MESSAGE = "즐겨찾기 목록을 조회하였습니다."
# the envelope around the list, as ``ok`` writes it (orjson: compact, keys in this order)
_LIST_HEAD = b'{"status":200,"message":' + orjson.dumps(FAVORITES_MESSAGE) + b',"data":['
_LIST_TAIL = b"]}"


class FavoriteRows:
    """The polled favorites list as JSON, from cached parts (one per app: ``create_app`` puts it
    on ``app.state.favorite_rows``). Each favorite's JSON object up to its quote is kept with the
    instrument it was built from: both change far less often than the quotes (a favorite never
    changes; an instrument is replaced, not changed in place)."""

    MAX = 100_000

    def __init__(self) -> None:
        self._heads: dict[Favorite, tuple[Instrument | None, bytes]] = {}

    def json(self, f: Favorite, market: Market) -> bytes:
        """``favorite_out`` as JSON: the favorite's own fields and company, then the quote row
        as the market last built it (``Market.quote_json``)."""
        inst = market.by_id.get(f.company_id)
        known = self._heads.get(f)
        if known is not None and known[0] is inst:
            head = known[1]
        else:
            whole = orjson.dumps(
                {
                    "favoriteId": f.id,
                    "companyId": f.company_id,
                    "createdAt": f.created_at.isoformat(),
                    "company": summary(inst) if inst is not None else None,
                    "quote": None,
                }
            )
            head = whole[: -len(b"null}")]
            if len(self._heads) >= self.MAX:
                self._heads.clear()
            self._heads[f] = (inst, head)
        return head + (b"null" if inst is None else market.quote_json(inst)) + b"}"

    async def response(self, token: str, accounts: Accounts, market: Market) -> JSONBytes:
        """The polled endpoint's answer: authentication and the list from the cached account
        (same 401s as elsewhere), the same bytes as ``ok([favorite_out(f, market) ...], ...)``.
        Also served by ``aegis.api.hotpath`` without FastAPI's routing."""
        _, favs = await accounts.favorites_for_token(token)
        body = _LIST_HEAD + b",".join([self.json(f, market) for f in favs]) + _LIST_TAIL
        return JSONBytes(body)


def get_favorite_rows(request: Request) -> FavoriteRows:
    rows: FavoriteRows = request.app.state.favorite_rows
    return rows


FavoriteRowsDep = Annotated[FavoriteRows, Depends(get_favorite_rows)]


@router.get(
    "/favorites",
    operation_id="listFavorites",
    response_model=Envelope[list[FavoriteOut]],
    responses=AUTH_ERRORS,
)
async def list_favorites(
    token: BearerTokenDep, accounts: AccountsDep, market: MarketDep, rows: FavoriteRowsDep
) -> JSONBytes:
    return await rows.response(token, accounts, market)


@router.post(
    "/favorites",
    operation_id="addFavorite",
    status_code=201,
    response_model=Envelope[FavoriteOut],
    responses={
        **AUTH_ERRORS,
        404: {**_E, "description": "No company with this id"},
        409: {**_E, "description": "Already a favorite"},
    },
)
async def add_favorite(
    body: FavoriteIn, user: CurrentUserDep, accounts: AccountsDep, market: MarketDep
) -> JSONBytes:
    market.company(body.company_id)  # 404 for an unknown company
    fav = await accounts.favorites.add(user.id, body.company_id)
    return ok(favorite_out(fav, market), "즐겨찾기에 추가하였습니다.", status=201)


@router.delete(
    "/favorites/{favorite_id}",
    operation_id="deleteFavorite",
    response_model=Envelope[Done],
    responses={**AUTH_ERRORS, 404: {**_E, "description": "No such favorite of this user"}},
)
async def delete_favorite(
    favorite_id: int, user: CurrentUserDep, accounts: AccountsDep
) -> JSONBytes:
    await accounts.favorites.remove(user.id, favorite_id)
    return ok({"done": True}, "즐겨찾기에서 삭제하였습니다.")


# --- dashboard layouts ------------------------------------------------------------------------
class GridCell(Wire):
    symbol: str = Field(min_length=1, max_length=20)
    interval: str = Field(min_length=1, max_length=5)


class GridLayout(Wire):
    size: Literal[1, 2, 3, 4]
    cells: list[GridCell] = Field(max_length=16)
    crosshair_sync: bool = False


class Layouts(Wire):
    current: str = Field(min_length=1, max_length=40, examples=["기본"])
    layouts: dict[Annotated[str, StringConstraints(min_length=1, max_length=40)], GridLayout] = (
        Field(max_length=20)
    )


@router.get(
    "/me/layouts",
    operation_id="getLayouts",
    response_model=Envelope[Layouts | None],
    responses=AUTH_ERRORS,
)
async def get_layouts(user: CurrentUserDep, accounts: AccountsDep) -> JSONBytes:
    """The saved chart-grid layouts; ``data: null`` before the first save."""
    return ok(await accounts.layouts.get(user.id), "화면 배치를 조회하였습니다.")


@router.put(
    "/me/layouts",
    operation_id="putLayouts",
    response_model=Envelope[Layouts],
    responses=AUTH_ERRORS,
)
async def put_layouts(body: Layouts, user: CurrentUserDep, accounts: AccountsDep) -> JSONBytes:
    if body.current not in body.layouts:
        raise InvalidRequest("current must name one of the layouts")
    doc = body.model_dump(by_alias=True)
    await accounts.layouts.put(user.id, doc)
    return ok(doc, "화면 배치를 저장하였습니다.")
