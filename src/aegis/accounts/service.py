"""Accounts service: sign-up, login, refresh-token rotation with reuse detection, logout, profile,
password change and account deletion. Transport-free: raises ``AegisError``s only."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aegis.accounts.denylist import DbDenylist, Denylist, RedisDenylist
from aegis.accounts.favorites import Favorites
from aegis.accounts.layouts import Layouts
from aegis.accounts.models import AccessClaims, Favorite, Profile, TokenPair, User
from aegis.accounts.passwords import Passwords, check_rules
from aegis.accounts.tables import as_utc, favorites, refresh_tokens, users
from aegis.accounts.throttle import LoginThrottle
from aegis.accounts.tokens import (
    TokenIssuer,
    digest,
    load_secret,
    new_refresh_token,
    new_token_id,
)
from aegis.cache.tiered import TieredCache
from aegis.core.config import Settings
from aegis.core.errors import (
    AlreadyExists,
    InvalidPassword,
    InvalidRequest,
    InvalidToken,
    NotFound,
    Unauthorized,
)

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
USERNAME = re.compile(r"^[\w.\-]{2,30}$")  # \w: letters of any script (한글 included), digits, _
WRONG_LOGIN = "이메일 또는 비밀번호가 올바르지 않습니다."
# How long a process may serve a user's row and favorites from memory. Changes made through
# this service drop the entry at once in every process (bus); the TTL bounds what reaches the
# database any other way (e.g. `aegis users create --admin` from another process).
SESSION_TTL_SECONDS = 30.0
# an account read in its last 10 s is reloaded in the background (with the others due then, in
# one query): a polling user's account never expires under the poll
SESSION_REFRESH_AHEAD = 10.0


# Built once: every user's cached account is reloaded every SESSION_TTL_SECONDS, and building the
# statement cost a third of a reload's CPU (SQLAlchemy caches its compiled form either way).
# Several users at once (``_AccountLoader``): their rows and favorites in one query.
_ACCOUNT_QUERY = (
    sa.select(
        users,
        favorites.c.id.label("fav_id"),
        favorites.c.company_id.label("fav_company_id"),
        favorites.c.created_at.label("fav_created_at"),
    )
    .select_from(users.outerjoin(favorites, favorites.c.user_id == users.c.id))
    .where(users.c.id.in_(sa.bindparam("user_ids", expanding=True)))
    .order_by(users.c.id, favorites.c.id)
)
# users per query: well under SQLite's limit on bound parameters
ACCOUNT_BATCH = 500


@dataclass(frozen=True, slots=True)
class _Account:
    """What authenticating a request needs, read in one query and cached per user."""

    user: User
    token_version: int
    favorites: tuple[Favorite, ...]


class _AccountLoader:
    """Loads accounts for many users in few queries: a load asked for while another is running
    waits and goes with every other one asked for meanwhile, in the next query. When 1,000
    users' cached accounts are cold (start-up) or expire together (every SESSION_TTL_SECONDS),
    a query per user held the event loop for seconds (a round trip through the database
    thread each); one query for hundreds of users costs little more than one for a single."""

    def __init__(self, load_many: Callable[[list[int]], Awaitable[dict[int, _Account]]]) -> None:
        self._load_many = load_many
        self._waiting: dict[int, list[asyncio.Future[_Account | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def load(self, user_id: int) -> _Account | None:
        future: asyncio.Future[_Account | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(user_id, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            ids = list(self._waiting)[:ACCOUNT_BATCH]
            batch = {uid: self._waiting.pop(uid) for uid in ids}
            try:
                loaded = await self._load_many(ids)
            except BaseException as exc:
                for futures in batch.values():
                    for f in futures:
                        if not f.done():
                            f.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise  # cancelled: the waiting ones were told
                continue
            for uid, futures in batch.items():
                for f in futures:
                    if not f.done():  # a request that gave up (client gone)
                        f.set_result(loaded.get(uid))


def normalize_email(email: str) -> str:
    e = email.strip().lower()
    if len(e) > 254 or not EMAIL.match(e):
        raise InvalidRequest("email is not a valid address", details={"field": "email"})
    return e


def check_username(username: str) -> str:
    u = username.strip()
    if not USERNAME.match(u):
        raise InvalidRequest(
            "username must be 2–30 letters, digits, '_', '.' or '-'", details={"field": "username"}
        )
    return u


def _user(row: Any) -> User:
    return User(id=row.id, email=row.email, username=row.username, is_admin=bool(row.is_admin))


class Accounts:
    def __init__(
        self,
        db: AsyncEngine,
        tokens: TokenIssuer,
        *,
        denylist: Denylist | None = None,
        throttle: LoginThrottle | None = None,
        passwords: Passwords | None = None,
        refresh_ttl_seconds: int = 30 * 86400,
        cache: TieredCache | None = None,
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.denylist: Denylist = denylist or DbDenylist(db)
        self.throttle = throttle or LoginThrottle(10, 300)
        self.passwords = passwords or Passwords()
        self.refresh_ttl = refresh_ttl_seconds
        # user id → _Account (None: no such user); L1 only: cheap to load, not JSON
        self.cache = (  # an empty cache is falsy (it has a length): no `cache or …`
            cache
            if cache is not None
            else TieredCache(
                "accounts",
                ttl_seconds=SESSION_TTL_SECONDS,
                max_entries=20_000,
                refresh_ahead=SESSION_REFRESH_AHEAD,
            )
        )
        self.favorites = Favorites(db, on_change=self.cache.drop)
        self._accounts = _AccountLoader(self._load_accounts)
        self.layouts = Layouts(db)

    @classmethod
    def from_settings(
        cls, settings: Settings, db: AsyncEngine, cache: TieredCache | None = None
    ) -> Accounts:
        redis_url = settings.redis_url
        return cls(
            db,
            TokenIssuer(load_secret(settings), settings.auth_access_ttl_seconds),
            denylist=RedisDenylist(redis_url) if redis_url else DbDenylist(db),
            throttle=LoginThrottle(
                settings.auth_login_failures, settings.auth_login_window_seconds, redis_url
            ),
            refresh_ttl_seconds=settings.auth_refresh_ttl_days * 86400,
            cache=cache,
        )

    async def close(self) -> None:
        await self.denylist.close()
        await self.throttle.close()

    # --- users ----------------------------------------------------------------------------
    async def signup(
        self, email: str, username: str, password: str, *, is_admin: bool = False
    ) -> User:
        email = normalize_email(email)
        username = check_username(username)
        check_rules(password)
        hashed = await self.passwords.hash(password)
        async with self.db.begin() as conn:
            await self._check_unique(conn, email, username, None)
            try:
                user_id = await conn.scalar(
                    users.insert()
                    .values(
                        email=email,
                        username=username,
                        password_hash=hashed,
                        is_admin=is_admin,
                        # a random start, not 0: SQLite gives a deleted highest id to the next
                        # account, and the deleted one's unexpired access tokens (same id, same
                        # version) must not open it
                        token_version=secrets.randbelow(2**30),
                        created_at=datetime.now(UTC),
                    )
                    .returning(users.c.id)
                )
            except sa.exc.IntegrityError as exc:  # a concurrent sign-up won the race
                raise AlreadyExists("email or username is already registered") from exc
        assert user_id is not None
        return User(id=user_id, email=email, username=username, is_admin=is_admin)

    async def _check_unique(
        self, conn: AsyncConnection, email: str | None, username: str | None, me: int | None
    ) -> None:
        for col, value, label in (
            (users.c.email, email, "email"),
            (users.c.username, username, "username"),
        ):
            if value is None:
                continue
            q = sa.select(users.c.id).where(col == value)
            if me is not None:
                q = q.where(users.c.id != me)
            if await conn.scalar(q) is not None:
                raise AlreadyExists(f"{label} is already registered", details={"field": label})

    async def profile(self, user_id: int) -> Profile:
        async with self.db.connect() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).first()
        if row is None:
            raise NotFound("no such user")
        return Profile(_user(row), as_utc(row.created_at))

    async def update_profile(
        self, user: User, *, email: str | None = None, username: str | None = None
    ) -> Profile:
        values: dict[str, str] = {}
        if email is not None:
            values["email"] = normalize_email(email)
        if username is not None:
            values["username"] = check_username(username)
        if values:
            async with self.db.begin() as conn:
                await self._check_unique(conn, values.get("email"), values.get("username"), user.id)
                try:
                    await conn.execute(users.update().where(users.c.id == user.id).values(**values))
                except sa.exc.IntegrityError as exc:
                    raise AlreadyExists("email or username is already registered") from exc
            await self.cache.drop(user.id)
        return await self.profile(user.id)

    async def set_admin(self, email: str, is_admin: bool = True) -> User:
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    users.update()
                    .where(users.c.email == normalize_email(email))
                    .values(is_admin=is_admin)
                    .returning(users)
                )
            ).first()
        if row is None:
            raise NotFound(f"no user with email {email}")
        await self.cache.drop(row.id)
        return _user(row)

    # --- sessions -------------------------------------------------------------------------
    async def login(self, email: str, password: str, ip: str | None) -> TokenPair:
        await self.throttle.check(email, ip)
        try:
            key = normalize_email(email)
        except InvalidRequest:
            key = None
        row = None
        if key is not None:
            async with self.db.connect() as conn:
                row = (await conn.execute(sa.select(users).where(users.c.email == key))).first()
        good = await self.passwords.verify(password, row.password_hash if row else None)
        if row is None or not good:
            await self.throttle.failed(email, ip)
            raise Unauthorized(WRONG_LOGIN)
        await self.throttle.succeeded(email)
        async with self.db.begin() as conn:
            return await self._new_session(conn, row.id, row.token_version, new_token_id())

    async def _new_session(
        self, conn: AsyncConnection, user_id: int, version: int, family: str
    ) -> TokenPair:
        refresh = new_refresh_token()
        now = int(time.time())
        await conn.execute(
            refresh_tokens.insert().values(
                user_id=user_id,
                family=family,
                token_hash=digest(refresh),
                expires_at=now + self.refresh_ttl,
                created_at=now,
            )
        )
        access, _ = self.tokens.issue_access(user_id, version, family)
        return TokenPair(access, refresh, self.tokens.access_ttl)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and a new one issued in the same family. A
        spent or revoked token presented again means it leaked: the whole family is revoked."""
        now = int(time.time())
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(refresh_tokens, users.c.token_version)
                    .join(users, users.c.id == refresh_tokens.c.user_id)
                    .where(refresh_tokens.c.token_hash == digest(refresh_token))
                )
            ).first()
            if row is None:
                raise InvalidToken("invalid refresh token")
            if row.used_at is not None or row.revoked_at is not None:
                await self._revoke_family(conn, row.family, now)
                reuse = True
            elif row.expires_at <= now:
                raise InvalidToken("refresh token expired")
            else:
                # only one of two concurrent refreshes with the same token may spend it
                spent = await conn.execute(
                    refresh_tokens.update()
                    .where(
                        refresh_tokens.c.id == row.id,
                        refresh_tokens.c.used_at.is_(None),
                        refresh_tokens.c.revoked_at.is_(None),
                    )
                    .values(used_at=now)
                )
                reuse = spent.rowcount != 1
                if not reuse:
                    return await self._new_session(conn, row.user_id, row.token_version, row.family)
                await self._revoke_family(conn, row.family, now)
        assert reuse
        raise InvalidToken("refresh token reuse detected: this login session was revoked")

    @staticmethod
    async def _revoke_family(conn: AsyncConnection, family: str, now: int) -> None:
        await conn.execute(
            refresh_tokens.update()
            .where(refresh_tokens.c.family == family, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def authenticate(self, access_token: str) -> tuple[User, AccessClaims]:
        account, claims = await self._authenticate(access_token)
        return account.user, claims

    async def favorites_for_token(self, access_token: str) -> tuple[User, list[Favorite]]:
        """Authenticate and list the user's favorites: ``GET /users/favorites`` is polled every
        second by every client, and both come from the cached account (no database read)."""
        account, _ = await self._authenticate(access_token)
        return account.user, list(account.favorites)

    async def _authenticate(self, access_token: str) -> tuple[_Account, AccessClaims]:
        claims = self.tokens.decode_access(access_token)
        uid = claims.user_id
        account: _Account | None = await self.cache.get(uid, lambda: self._load_account(uid))
        if account is None:
            raise InvalidToken("the account no longer exists")
        if account.token_version != claims.version:
            raise InvalidToken("access token revoked (password changed)")
        if await self.denylist.is_revoked(claims.jti):
            raise InvalidToken("access token revoked")
        return account, claims

    async def _load_account(self, user_id: int) -> _Account | None:
        """The user row and their favorites (None: no such user), loaded with other users'."""
        return await self._accounts.load(user_id)

    async def _load_accounts(self, user_ids: list[int]) -> dict[int, _Account]:
        """The user rows and their favorites in one query."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(_ACCOUNT_QUERY, {"user_ids": user_ids})).all()
        out: dict[int, _Account] = {}
        for uid, group in itertools.groupby(rows, key=lambda r: r.id):
            user_rows = list(group)
            favs = tuple(
                Favorite(r.fav_id, r.fav_company_id, as_utc(r.fav_created_at))
                for r in user_rows
                if r.fav_id is not None
            )
            out[uid] = _Account(_user(user_rows[0]), user_rows[0].token_version, favs)
        return out

    async def logout(self, claims: AccessClaims) -> None:
        await self.denylist.revoke(claims.jti, claims.expires_at)
        async with self.db.begin() as conn:
            await self._revoke_family(conn, claims.family, int(time.time()))

    async def _check_password(self, user: User, password: str, ip: str | None) -> None:
        # a stolen access token must not allow guessing the password: same throttle as login
        await self.throttle.check(user.email, ip)
        async with self.db.connect() as conn:
            hashed = await conn.scalar(
                sa.select(users.c.password_hash).where(users.c.id == user.id)
            )
        if hashed is None:
            raise InvalidToken("the account no longer exists")
        if not await self.passwords.verify(password, hashed):
            await self.throttle.failed(user.email, ip)
            raise InvalidPassword(
                "현재 비밀번호가 올바르지 않습니다.", details={"field": "currentPassword"}
            )

    async def change_password(
        self, user: User, current: str, new: str, ip: str | None
    ) -> TokenPair:
        """Every earlier access and refresh token stops working; a fresh pair is returned."""
        check_rules(new)
        await self._check_password(user, current, ip)
        hashed = await self.passwords.hash(new)
        now = int(time.time())
        async with self.db.begin() as conn:
            version = await conn.scalar(
                users.update()
                .where(users.c.id == user.id)
                .values(password_hash=hashed, token_version=users.c.token_version + 1)
                .returning(users.c.token_version)
            )
            await conn.execute(
                refresh_tokens.update()
                .where(refresh_tokens.c.user_id == user.id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            assert version is not None
            pair = await self._new_session(conn, user.id, version, new_token_id())
        await self.cache.drop(user.id)
        return pair

    async def delete_account(self, user: User, password: str, ip: str | None) -> None:
        """Removes the user and, through ON DELETE CASCADE, every row that belongs to them."""
        await self._check_password(user, password, ip)
        async with self.db.begin() as conn:
            await conn.execute(users.delete().where(users.c.id == user.id))
        await self.cache.drop(user.id)
