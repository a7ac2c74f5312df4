"""Accounts over HTTP (PRD §4.1): sign-up, login, token refresh, logout, profile, password,
account deletion. Thin: the rules live in ``aegis.accounts``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import ConfigDict, Field

from aegis.accounts.models import Profile, TokenPair
from aegis.api.deps import AccountsDep, CurrentUserDep, SessionDep
from aegis.api.envelope import JSONBytes, ok
from aegis.api.schemas import Envelope, ErrorBody, Wire

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
    return JSONBytes(
        {"status": 201, "message": "회원가입이 완료되었습니다.", "data": {"userId": user.id}},
        status_code=201,
    )


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
