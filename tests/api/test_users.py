"""Accounts through the API: sign-up, login, refresh rotation, logout, profile, password change,
deletion, throttling, and 401 for every bad token on every endpoint that needs one."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import orjson
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from aegis.api.deps import AdminUserDep, OptionalUserDep
from aegis.services.runtime import Runtime
from tests.support.app import running_app
from tests.support.auth import PASSWORD, auth_headers, bearer, login, signup

API = "/api/v1/users"

# (method, path, body) of every endpoint that needs a login
PROTECTED: list[tuple[str, str, dict[str, object] | None]] = [
    ("POST", f"{API}/logout", None),
    ("GET", f"{API}/me", None),
    ("PATCH", f"{API}/me", {"username": "someone"}),
    ("POST", f"{API}/me/password", {"currentPassword": PASSWORD, "newPassword": "Other456#x"}),
    ("DELETE", f"{API}/me", {"password": PASSWORD}),
    ("GET", f"{API}/favorites", None),
    ("POST", f"{API}/favorites", {"companyId": 1}),
    ("DELETE", f"{API}/favorites/1", None),
    ("GET", f"{API}/me/layouts", None),
    ("PUT", f"{API}/me/layouts", {"current": "a", "layouts": {}}),
]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    with running_app(tmp_path) as (client, rt, _):
        yield client, rt


def call(
    client: TestClient,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, object]]:
    r = client.request(
        method,
        path,
        content=None if body is None else orjson.dumps(body),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    return r.status_code, r.json()


def test_signup_returns_201_and_user_id(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    r = client.post(
        f"{API}/signup",
        json={"email": "Kim@Example.com", "username": "김투자", "password": PASSWORD},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == 201 and body["message"] == "회원가입이 완료되었습니다."
    assert isinstance(body["data"]["userId"], int)
    # the email is normalised: login works in any case
    assert login(client, "kim@example.COM")["tokenType"] == "Bearer"


@pytest.mark.parametrize(
    "password",
    ["Short1!", "NoDigitsHere!", "NoSpecial123", "12345678!@#", "", "A1!" + "x" * 200],
)
def test_signup_rejects_weak_passwords(app: tuple[TestClient, Runtime], password: str) -> None:
    client, _ = app
    status, body = call(
        client,
        "POST",
        f"{API}/signup",
        {"email": "a@example.com", "username": "alice", "password": password},
    )
    assert (status, body["code"]) == (400, "INVALID_PASSWORD")
    # nothing was created: the same email signs up fine with a good password
    signup(client, "a@example.com", "alice")


@pytest.mark.parametrize("missing", ["email", "username", "password"])
def test_signup_missing_field(app: tuple[TestClient, Runtime], missing: str) -> None:
    client, _ = app
    body = {"email": "a@example.com", "username": "alice", "password": PASSWORD}
    del body[missing]
    status, out = call(client, "POST", f"{API}/signup", body)
    assert (status, out["code"]) == (400, "MISSING_FIELD")
    assert missing in str(out["message"])


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "username": "alice", "password": PASSWORD},
        {"email": "a@example.com", "username": "a b", "password": PASSWORD},
        {"email": "a@example.com", "username": "x" * 31, "password": PASSWORD},
        {"email": "a@example.com", "username": 5, "password": PASSWORD},
        {"email": "a" * 300 + "@example.com", "username": "alice", "password": PASSWORD},
    ],
)
def test_signup_invalid_input(app: tuple[TestClient, Runtime], body: dict[str, object]) -> None:
    client, _ = app
    status, out = call(client, "POST", f"{API}/signup", body)
    assert (status, out["code"]) == (400, "INVALID_REQUEST")


def test_signup_malformed_json_is_400(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    r = client.post(
        f"{API}/signup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"


def test_duplicate_email_or_username_is_409(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    signup(client, "a@example.com", "alice")
    for body in (
        {"email": "A@example.com", "username": "other", "password": PASSWORD},
        {"email": "b@example.com", "username": "alice", "password": PASSWORD},
    ):
        status, out = call(client, "POST", f"{API}/signup", body)
        assert (status, out["code"]) == (409, "ALREADY_EXISTS")


def test_login_returns_token_pair(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    signup(client, "a@example.com", "alice")
    r = client.post(f"{API}/login", json={"email": "a@example.com", "password": PASSWORD})
    body = r.json()
    assert r.status_code == 200 and body["message"] == "로그인 성공"
    data = body["data"]
    assert set(data) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert data["tokenType"] == "Bearer" and data["expiresIn"] == 900
    header = jwt.get_unverified_header(data["accessToken"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(data["accessToken"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "password": "WrongPass123!"},
        {"email": "nobody@example.com", "password": PASSWORD},
    ],
)
def test_wrong_login_is_401_without_saying_which(
    app: tuple[TestClient, Runtime], body: dict[str, str]
) -> None:
    client, _ = app
    signup(client, "a@example.com", "alice")
    status, out = call(client, "POST", f"{API}/login", body)
    assert (status, out["code"]) == (401, "UNAUTHORIZED")
    assert out["message"] == "이메일 또는 비밀번호가 올바르지 않습니다."


def test_me_with_token(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    headers = auth_headers(client, "me@example.com")
    r = client.get(f"{API}/me", headers=headers)
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["email"] == "me@example.com" and data["isAdmin"] is False
    assert "password" not in str(data).lower()


# --- 401 for every protected endpoint with every kind of bad token ---------------------------
def _forge(claims: dict[str, object], key: bytes, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def _none_alg(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})

    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(d)).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def _tampered(token: str) -> str:
    head, _payload, sig = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "999"
    forged = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


def bad_tokens(client: TestClient, rt: Runtime) -> dict[str, dict[str, str]]:
    _, email = signup(client)
    good = login(client, email)["accessToken"]
    revoked = login(client, email)["accessToken"]
    assert client.post(f"{API}/logout", headers=bearer(revoked)).status_code == 200
    claims = jwt.decode(good, options={"verify_signature": False})
    assert rt.accounts is not None
    secret = rt.accounts.tokens._secret
    expired = _forge(
        {**claims, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 60}, secret
    )
    return {
        "none": {},
        "empty": {"Authorization": "Bearer "},
        "not-bearer": {"Authorization": f"Basic {good}"},
        "garbage": bearer("abc.def.ghi"),
        "expired": bearer(expired),
        "revoked": bearer(revoked),
        "tampered": bearer(_tampered(good)),
        "alg-none": bearer(_none_alg(good)),
        "other-key": bearer(_forge(claims, b"another-secret-of-sufficient-length-000")),
        "hs512": bearer(_forge(claims, secret, "HS512")),
    }


def test_every_protected_endpoint_answers_401_to_bad_tokens(
    app: tuple[TestClient, Runtime],
) -> None:
    client, rt = app
    for kind, headers in bad_tokens(client, rt).items():
        for method, path, body in PROTECTED:
            r = client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (kind, method, path, r.json())
            assert r.json()["code"] == "UNAUTHORIZED"
            assert r.headers["www-authenticate"] == "Bearer"


# --- refresh rotation, reuse detection, logout -----------------------------------------------
def test_refresh_rotates_and_detects_reuse(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    _, email = signup(client)
    first = login(client, email)
    r = client.post(f"{API}/refresh", json={"refreshToken": first["refreshToken"]})
    assert r.status_code == 200
    second = r.json()["data"]
    assert second["refreshToken"] != first["refreshToken"]
    assert client.get(f"{API}/me", headers=bearer(second["accessToken"])).status_code == 200
    # the spent token again: reuse → 401, and the whole session (the new token too) is revoked
    status, out = call(client, "POST", f"{API}/refresh", {"refreshToken": first["refreshToken"]})
    assert (status, out["code"]) == (401, "UNAUTHORIZED") and "reuse" in str(out["message"])
    status, _ = call(client, "POST", f"{API}/refresh", {"refreshToken": second["refreshToken"]})
    assert status == 401
    # another login of the same user is untouched
    other = login(client, email)
    r = client.post(f"{API}/refresh", json={"refreshToken": other["refreshToken"]})
    assert r.status_code == 200


@pytest.mark.parametrize("token", ["", "unknown-token", "x" * 257])
def test_refresh_with_bad_token(app: tuple[TestClient, Runtime], token: str) -> None:
    client, _ = app
    status, out = call(client, "POST", f"{API}/refresh", {"refreshToken": token})
    assert status in (400, 401)
    assert out["code"] == ("INVALID_REQUEST" if len(token) > 256 else "UNAUTHORIZED")


def test_refresh_missing_field(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    status, out = call(client, "POST", f"{API}/refresh", {})
    assert (status, out["code"]) == (400, "MISSING_FIELD")


def test_logout_revokes_access_and_refresh_token(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    _, email = signup(client)
    pair = login(client, email)
    assert client.post(f"{API}/logout", headers=bearer(pair["accessToken"])).status_code == 200
    assert client.get(f"{API}/me", headers=bearer(pair["accessToken"])).status_code == 401
    r = client.post(f"{API}/refresh", json={"refreshToken": pair["refreshToken"]})
    assert r.status_code == 401
    # a second logout with the same token is refused, not an error
    assert client.post(f"{API}/logout", headers=bearer(pair["accessToken"])).status_code == 401


# --- profile, password, deletion ---------------------------------------------------------------
def test_patch_me_updates_and_refuses_duplicates_and_unknown_fields(
    app: tuple[TestClient, Runtime],
) -> None:
    client, _ = app
    signup(client, "taken@example.com", "taken")
    headers = auth_headers(client, "me@example.com")
    status, out = call(client, "PATCH", f"{API}/me", {"username": "새이름"}, headers)
    assert status == 200 and out["data"]["username"] == "새이름"  # type: ignore[index]
    for body, code in (
        ({"username": "taken"}, (409, "ALREADY_EXISTS")),
        ({"email": "TAKEN@example.com"}, (409, "ALREADY_EXISTS")),
        ({"isAdmin": True}, (400, "INVALID_REQUEST")),
        ({"email": "bad"}, (400, "INVALID_REQUEST")),
    ):
        status, out = call(client, "PATCH", f"{API}/me", body, headers)
        assert (status, out["code"]) == code, body
    me = client.get(f"{API}/me", headers=headers).json()["data"]
    assert me["username"] == "새이름" and me["email"] == "me@example.com" and not me["isAdmin"]


def test_password_change_invalidates_old_tokens(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    _, email = signup(client)
    other_device = login(client, email)
    pair = login(client, email)
    new = "NewSecure456#"

    def change(current: str, new_password: str) -> tuple[int, dict[str, object]]:
        body = {"currentPassword": current, "newPassword": new_password}
        return call(client, "POST", f"{API}/me/password", body, bearer(pair["accessToken"]))

    status, out = change("Wrong123!x", new)
    assert (status, out["code"]) == (400, "INVALID_PASSWORD")
    status, out = change(PASSWORD, "weak")
    assert (status, out["code"]) == (400, "INVALID_PASSWORD")
    status, out = change(PASSWORD, new)
    assert status == 200
    fresh = out["data"]
    assert client.get(f"{API}/me", headers=bearer(fresh["accessToken"])).status_code == 200  # type: ignore[index]
    for old in (pair, other_device):
        assert client.get(f"{API}/me", headers=bearer(old["accessToken"])).status_code == 401
        r = client.post(f"{API}/refresh", json={"refreshToken": old["refreshToken"]})
        assert r.status_code == 401
    status, _ = call(client, "POST", f"{API}/login", {"email": email, "password": PASSWORD})
    assert status == 401
    assert login(client, email, new)["accessToken"]


def test_delete_account_requires_password_and_removes_user(
    app: tuple[TestClient, Runtime],
) -> None:
    client, _ = app
    _, email = signup(client, "gone@example.com", "gone")
    pair = login(client, email)
    headers = bearer(pair["accessToken"])
    status, out = call(client, "DELETE", f"{API}/me", {"password": "Wrong123!x"}, headers)
    assert (status, out["code"]) == (400, "INVALID_PASSWORD")
    status, out = call(client, "DELETE", f"{API}/me", {}, headers)
    assert (status, out["code"]) == (400, "MISSING_FIELD")
    status, _ = call(client, "DELETE", f"{API}/me", {"password": PASSWORD}, headers)
    assert status == 200
    assert client.get(f"{API}/me", headers=headers).status_code == 401
    assert (
        client.post(f"{API}/refresh", json={"refreshToken": pair["refreshToken"]}).status_code
        == 401
    )
    # the email is free again
    signup(client, "gone@example.com", "gone")


# --- throttling ----------------------------------------------------------------------------
def test_ten_failed_logins_for_one_email_give_429_with_retry_after(tmp_path: Path) -> None:
    with running_app(tmp_path, auth_login_failures=3) as (client, _, _src):
        _, email = signup(client)
        for _ in range(3):
            status, _ = call(
                client, "POST", f"{API}/login", {"email": email, "password": "Nope123!x"}
            )
            assert status == 401
        r = client.post(f"{API}/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 429 and r.json()["code"] == "TOO_MANY_REQUESTS"
        retry = int(r.headers["retry-after"])
        assert 1 <= retry <= 300
        assert r.json()["details"]["retryAfter"] == retry


def test_failed_logins_from_one_ip_are_throttled_across_emails(tmp_path: Path) -> None:
    with running_app(tmp_path, auth_login_failures=3) as (client, _, _src):
        for i in range(3):
            status, _ = call(
                client, "POST", f"{API}/login", {"email": f"x{i}@example.com", "password": "a"}
            )
            assert status == 401
        status, out = call(
            client, "POST", f"{API}/login", {"email": "fresh@example.com", "password": "a"}
        )
        assert (status, out["code"]) == (429, "TOO_MANY_REQUESTS")


probe = APIRouter()


@probe.get("/api/v1/test-admin")
async def only_admin(user: AdminUserDep) -> dict[str, object]:
    return {"id": user.id}


@probe.get("/api/v1/test-optional")
async def optional(user: OptionalUserDep) -> dict[str, object]:
    return {"id": user.id if user else None}


def test_admin_dependency(tmp_path: Path) -> None:
    """AdminUserDep: 401 without a token, 403 for a user, passes for an administrator."""
    with running_app(tmp_path) as (client, rt, _):
        # ahead of the web app's catch-all route
        client.app.router.routes[:0] = probe.routes  # type: ignore[attr-defined]
        user = auth_headers(client)
        admin = auth_headers(client, "boss@example.com", admin=True, runtime=rt)
        assert client.get("/api/v1/test-admin").status_code == 401
        r = client.get("/api/v1/test-admin", headers=user)
        assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")
        assert client.get("/api/v1/test-admin", headers=admin).status_code == 200
        assert client.get("/api/v1/test-optional").json() == {"id": None}
        assert client.get("/api/v1/test-optional", headers=user).json()["id"] is not None
        bad = client.get("/api/v1/test-optional", headers=bearer("x.y.z"))
        assert bad.status_code == 401
