"""The accounts service on both back ends (``app_db``: SQLite and PostgreSQL), the secret,
the Redis denylist and throttle."""

from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.denylist import DbDenylist, RedisDenylist
from aegis.accounts.favorites import Favorites
from aegis.accounts.passwords import Passwords, check_rules
from aegis.accounts.service import Accounts
from aegis.accounts.tables import favorites, layouts, refresh_tokens, users
from aegis.accounts.throttle import LoginThrottle
from aegis.accounts.tokens import SECRET_FILE, TokenIssuer, load_secret
from aegis.bus.memory import MemoryBus
from aegis.cache import CacheRegistry
from aegis.core.config import Settings
from aegis.core.errors import (
    AlreadyExists,
    InsecureConfiguration,
    InvalidPassword,
    InvalidRequest,
    InvalidToken,
    LoginThrottled,
    NotFound,
    NotReady,
    Unauthorized,
)
from tests.support.services import free_port

PW = "SecurePass123!"
SECRET = b"test-secret-0123456789-abcdefghijklmnop"


def make(db: AsyncEngine, **kw: object) -> Accounts:
    # cheap argon2 parameters: the tests prove behaviour, not hashing cost
    return Accounts(
        db,
        TokenIssuer(SECRET),
        passwords=Passwords(Argon2Hasher(time_cost=1, memory_cost=1024)),
        **kw,  # type: ignore[arg-type]
    )


async def test_signup_login_authenticate(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    user = await acc.signup(" Lee@Example.com ", "이순신", PW)
    assert user.email == "lee@example.com" and not user.is_admin
    pair = await acc.login("LEE@example.com", PW, "10.0.0.1")
    who, claims = await acc.authenticate(pair.access_token)
    assert who == user and claims.user_id == user.id
    profile = await acc.profile(user.id)
    assert profile.created_at.tzinfo is not None
    async with app_db.connect() as conn:
        stored = await conn.scalar(sa.select(users.c.password_hash))
    assert stored is not None and stored.startswith("$argon2id$") and PW not in stored


async def test_duplicates_are_refused(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    await acc.signup("a@example.com", "alice", PW)
    with pytest.raises(AlreadyExists):
        await acc.signup("A@EXAMPLE.COM", "bob", PW)
    with pytest.raises(AlreadyExists):
        await acc.signup("b@example.com", "alice", PW)


async def test_concurrent_signups_with_one_email_create_one_user(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    results = await asyncio.gather(
        *(acc.signup("same@example.com", f"name{i}", PW) for i in range(4)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AlreadyExists) for r in results if isinstance(r, BaseException))


async def test_refresh_token_stored_hashed_and_rotated(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    await acc.signup("a@example.com", "alice", PW)
    pair = await acc.login("a@example.com", PW, None)
    async with app_db.connect() as conn:
        hashes = (await conn.execute(sa.select(refresh_tokens.c.token_hash))).scalars().all()
    assert pair.refresh_token not in hashes and len(hashes[0]) == 64
    new = await acc.refresh(pair.refresh_token)
    with pytest.raises(InvalidToken, match="reuse"):
        await acc.refresh(pair.refresh_token)
    with pytest.raises(InvalidToken):
        await acc.refresh(new.refresh_token)  # the family went with the reuse


async def test_concurrent_refreshes_with_one_token_issue_at_most_one(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    await acc.signup("a@example.com", "alice", PW)
    pair = await acc.login("a@example.com", PW, None)
    results = await asyncio.gather(
        *(acc.refresh(pair.refresh_token) for _ in range(3)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) <= 1


async def test_logout_denylists_the_access_token(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    await acc.signup("a@example.com", "alice", PW)
    pair = await acc.login("a@example.com", PW, None)
    _, claims = await acc.authenticate(pair.access_token)
    await acc.logout(claims)
    await acc.logout(claims)  # twice is harmless
    with pytest.raises(InvalidToken, match="revoked"):
        await acc.authenticate(pair.access_token)
    with pytest.raises(InvalidToken):
        await acc.refresh(pair.refresh_token)


async def test_deleting_a_user_cascades_to_their_rows(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    keep = await acc.signup("keep@example.com", "keep", PW)
    gone = await acc.signup("gone@example.com", "gone", PW)
    for u in (keep, gone):
        await acc.login(u.email, PW, None)
        async with app_db.begin() as conn:
            now = datetime.now(UTC)
            await conn.execute(
                favorites.insert().values(user_id=u.id, company_id=1, created_at=now)
            )
            await conn.execute(layouts.insert().values(user_id=u.id, layout="{}", updated_at=now))
    with pytest.raises(InvalidPassword):
        await acc.delete_account(gone, "Wrong123!x", None)
    await acc.delete_account(gone, PW, None)
    async with app_db.connect() as conn:
        for table in (refresh_tokens, favorites, layouts):
            owners = (await conn.execute(sa.select(table.c.user_id))).scalars().all()
            assert set(owners) == {keep.id}, table.name


async def test_a_deleted_accounts_tokens_never_open_a_later_account_with_its_id(
    app_db: AsyncEngine,
) -> None:
    # SQLite hands a deleted highest id to the next row: a token of the deleted account (another
    # device's, still unexpired) used to authenticate as the new user holding that id
    acc = make(app_db)
    gone = await acc.signup("gone@example.com", "gone", PW)
    other_device = await acc.login(gone.email, PW, None)
    await acc.delete_account(gone, PW, None)
    new = await acc.signup("new@example.com", "new", PW)
    if new.id != gone.id:
        pytest.skip("this back end does not reuse ids")
    with pytest.raises(InvalidToken):
        await acc.authenticate(other_device.access_token)
    with pytest.raises(InvalidToken):
        await acc.favorites_for_token(other_device.access_token)
    mine = await acc.login(new.email, PW, None)
    assert (await acc.authenticate(mine.access_token))[0] == new


@pytest.mark.parametrize("favorite_id", [0, -1, 2**31, 2**63, 10**20])
async def test_removing_a_favorite_id_outside_the_id_range_is_not_found(
    app_db: AsyncEngine, favorite_id: int
) -> None:
    # ids past the id column's range (int4 on PostgreSQL, int8 on SQLite) used to reach SQL and
    # fail with an overflow (a 500 over HTTP) instead of answering "no such favorite"
    acc = make(app_db)
    user = await acc.signup("fav@example.com", "fav", PW)
    await acc.favorites.add(user.id, 1)
    with pytest.raises(NotFound):
        await acc.favorites.remove(user.id, favorite_id)
    assert [f.company_id for f in await acc.favorites.list(user.id)] == [1]


async def test_concurrent_favorite_adds_never_exceed_the_per_user_limit(
    app_db: AsyncEngine,
) -> None:
    # each add counted the user's favorites, then inserted: adds racing past the count all saw
    # room for one more and all inserted, so the limit was exceeded
    user = await make(app_db).signup("many@example.com", "many", PW)
    favs = Favorites(app_db, max_per_user=3)
    results = await asyncio.gather(
        *(favs.add(user.id, company_id) for company_id in range(1, 13)), return_exceptions=True
    )
    added = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(added) == 3 and len(refused) == 9
    assert all(isinstance(r, InvalidRequest) and "at most 3" in str(r) for r in refused)
    assert sorted(f.company_id for f in await favs.list(user.id)) == sorted(
        f.company_id for f in added
    )


async def test_concurrent_cold_accounts_load_together_each_its_own(app_db: AsyncEngine) -> None:
    """Accounts asked for while a load runs go together in the next query (1,000 users polling
    after a start or a cache expiry): each request still gets its own user and favorites, and a
    deleted user is refused."""
    acc = make(app_db)
    issuer = acc.tokens
    now = datetime.now(UTC)
    async with app_db.begin() as conn:
        ids = [
            await conn.scalar(
                users.insert()
                .values(
                    email=f"u{i}@example.com", username=f"u{i}", password_hash="!", created_at=now
                )
                .returning(users.c.id)
            )
            for i in range(30)
        ]
        await conn.execute(
            favorites.insert(),
            [
                {"user_id": uid, "company_id": 100 + k + j, "created_at": now}
                for k, uid in enumerate(ids)
                for j in range(k % 3)  # 0, 1 or 2 favorites
            ],
        )
        gone = ids.pop()
        await conn.execute(users.delete().where(users.c.id == gone))
    statements: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_: object) -> None:
        if "favorites" in statement:
            statements.append(statement)

    sa.event.listen(app_db.sync_engine, "before_cursor_execute", count)
    try:
        tokens = [issuer.issue_access(uid, 0, "f")[0] for uid in [*ids, gone]]
        got = await asyncio.gather(
            *(acc.favorites_for_token(t) for t in tokens), return_exceptions=True
        )
    finally:
        sa.event.remove(app_db.sync_engine, "before_cursor_execute", count)
    for k, (uid, result) in enumerate(zip(ids, got[:-1], strict=True)):
        assert not isinstance(result, BaseException)
        user, favs = result
        assert user.id == uid and [f.company_id for f in favs] == [
            100 + k + j for j in range(k % 3)
        ]
    assert isinstance(got[-1], InvalidToken)
    assert 1 <= len(statements) <= 3  # the first alone, then everyone who waited for it


async def test_password_change_bumps_token_version(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    user = await acc.signup("a@example.com", "alice", PW)
    old = await acc.login("a@example.com", PW, None)
    await acc.authenticate(old.access_token)  # the account is now cached
    new = await acc.change_password(user, PW, "Another789$", None)
    with pytest.raises(InvalidToken, match="password changed"):
        await acc.authenticate(old.access_token)
    assert (await acc.authenticate(new.access_token))[0].id == user.id
    with pytest.raises(Unauthorized):
        await acc.login("a@example.com", PW, None)


async def test_set_admin(app_db: AsyncEngine) -> None:
    acc = make(app_db)
    await acc.signup("a@example.com", "alice", PW)
    pair = await acc.login("a@example.com", PW, None)
    assert not (await acc.authenticate(pair.access_token))[0].is_admin  # cached
    assert (await acc.set_admin("A@example.com")).is_admin
    assert (await acc.authenticate(pair.access_token))[0].is_admin


async def test_another_process_sees_account_changes_at_once(app_db: AsyncEngine) -> None:
    """Accounts are served from memory in every API process: a change made through one drops
    the cached account in all of them (bus), not only after the cache's TTL."""
    bus = MemoryBus()
    await bus.start()
    regs = [CacheRegistry(bus), CacheRegistry(bus)]
    here, there = (make(app_db, cache=r.cache("accounts", shared=False)) for r in regs)
    for r in regs:
        await r.start()

    async def seen_there(check: Callable[[], Awaitable[bool]]) -> None:
        async with asyncio.timeout(10):
            while not await check():  # noqa: ASYNC110  # polled: the bus delivers in its own time
                await asyncio.sleep(0.01)

    try:
        user = await here.signup("a@example.com", "alice", PW)
        pair = await here.login("a@example.com", PW, None)
        token = pair.access_token
        assert (await there.favorites_for_token(token))[1] == []  # cached there
        fav = await here.favorites.add(user.id, 7)

        async def has_fav() -> bool:
            return [f.company_id for f in (await there.favorites_for_token(token))[1]] == [7]

        await seen_there(has_fav)
        await here.favorites.remove(user.id, fav.id)

        async def no_fav() -> bool:
            return (await there.favorites_for_token(token))[1] == []

        await seen_there(no_fav)
        await here.update_profile(user, username="alice2")

        async def renamed() -> bool:
            return (await there.authenticate(token))[0].username == "alice2"

        await seen_there(renamed)
        await here.delete_account(user, PW, None)

        async def rejected() -> bool:
            try:
                await there.authenticate(token)
            except InvalidToken:
                return True
            return False

        await seen_there(rejected)
    finally:
        for r in regs:
            await r.close()
        await bus.close()


async def test_db_denylist_counts_own_revocations_at_once_and_others_after_a_read(
    app_db: AsyncEngine,
) -> None:
    exp = int(time.time()) + 600
    mine, other = DbDenylist(app_db, refresh_seconds=3600), DbDenylist(app_db, refresh_seconds=0)
    assert not await mine.is_revoked("j1") and not await other.is_revoked("j1")  # both read
    await mine.revoke("j1", exp)
    assert await mine.is_revoked("j1")  # its own, without reading the table again
    assert await other.is_revoked("j1")  # read again (refresh_seconds=0)
    await other.revoke("j2", exp)
    assert not await mine.is_revoked("j2")  # not read within the hour: the documented bound
    assert await DbDenylist(app_db).is_revoked("j2")  # a fresh process reads the table


def test_a_remembered_token_still_expires() -> None:
    # exp is whole seconds: a lifetime of 1 s can end a few ms after issue, before the decodes
    issuer = TokenIssuer(SECRET, access_ttl_seconds=3)
    token, claims = issuer.issue_access(1, 0, "fam")
    assert issuer.decode_access(token) == claims
    assert issuer.decode_access(token) == claims  # remembered
    while time.time() < claims.expires_at:  # expired once exp <= now (at most 3 s)
        time.sleep(0.05)
    with pytest.raises(InvalidToken, match="expired"):
        issuer.decode_access(token)
    with pytest.raises(InvalidToken, match="expired"):
        issuer.decode_access(token)  # forgotten, and PyJWT says the same
    with pytest.raises(InvalidToken):
        issuer.decode_access(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])


def test_password_rules() -> None:
    check_rules("abcdef1!")
    check_rules("한글비밀번호1!")
    for bad in ("abcdefg1", "abcdefg!", "1234567!", "ab1!", "a1!" + "b" * 126):
        with pytest.raises(InvalidPassword):
            check_rules(bad)


# --- secret --------------------------------------------------------------------------------
def test_server_mode_refuses_to_start_without_a_strong_secret(tmp_path: Path) -> None:
    pg = "postgresql://u@127.0.0.1/x"
    with pytest.raises(InsecureConfiguration):
        load_secret(Settings(data_dir=tmp_path, database_url=pg))
    for weak in ("changeme", "secret", "x" * 40, "short-but-random-Q1"):
        with pytest.raises(InsecureConfiguration):
            load_secret(Settings(data_dir=tmp_path, database_url=pg, auth_secret=weak))
    assert (
        load_secret(Settings(data_dir=tmp_path, database_url=pg, auth_secret=SECRET.decode()))
        == SECRET
    )
    assert not (tmp_path / SECRET_FILE).exists()


def test_embedded_mode_generates_a_private_secret_once(tmp_path: Path) -> None:
    first = load_secret(Settings(data_dir=tmp_path))
    path = tmp_path / SECRET_FILE
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(Settings(data_dir=tmp_path)) == first


def test_runtime_refuses_server_mode_without_secret(tmp_path: Path, postgres_url: str) -> None:
    from aegis.services.runtime import Runtime

    rt = Runtime(Settings(data_dir=tmp_path, database_url=postgres_url))

    async def start() -> None:
        await rt.start()

    with pytest.raises(InsecureConfiguration):
        asyncio.run(start())


# --- Redis (server mode) ----------------------------------------------------------------------
async def test_redis_denylist_and_throttle(app_db: AsyncEngine, redis_url: str) -> None:
    deny = RedisDenylist(redis_url)
    throttle = LoginThrottle(2, 300, redis_url)
    acc = make(app_db, denylist=deny, throttle=throttle)
    try:
        await acc.signup("r@example.com", "redis", PW)
        pair = await acc.login("r@example.com", PW, "10.1.1.1")
        _, claims = await acc.authenticate(pair.access_token)
        await acc.logout(claims)
        # another process (another client) sees the revocation
        other = RedisDenylist(redis_url)
        assert await other.is_revoked(claims.jti)
        ttl = await other.redis.ttl(RedisDenylist.PREFIX + claims.jti)
        assert 0 < ttl <= 900
        await other.close()
        for _ in range(2):
            with pytest.raises(Unauthorized):
                await acc.login("r@example.com", "Wrong123!x", "10.1.1.2")
        second = LoginThrottle(2, 300, redis_url)  # shared between API processes
        try:
            with pytest.raises(LoginThrottled) as exc:
                await second.check("r@example.com", "10.9.9.9")
        finally:
            await second.close()
        assert 1 <= int(exc.value.headers["Retry-After"]) <= 300
    finally:
        await throttle.storage.reset()
        await acc.close()


async def test_redis_down_refuses_token_checks_with_503_and_lets_logins_through(
    app_db: AsyncEngine,
) -> None:
    """A revoked token cannot be told from a good one without Redis: 503, never a 500 or a
    silent pass; the failed-login counter is best effort and does not lock everyone out."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    throttle = LoginThrottle(2, 300, dead)
    acc = make(app_db, denylist=RedisDenylist(dead), throttle=throttle)
    try:
        await acc.signup("down@example.com", "down", PW)
        with pytest.raises(Unauthorized):
            await acc.login("down@example.com", "Wrong123!x", "10.1.1.3")
        pair = await acc.login("down@example.com", PW, "10.1.1.3")
        with pytest.raises(NotReady) as exc:
            await acc.authenticate(pair.access_token)
        assert exc.value.status == 503
        assert throttle.storage_errors >= 1
    finally:
        await acc.close()


async def test_concurrent_first_layout_saves_of_one_user_all_succeed(app_db: AsyncEngine) -> None:
    # each save found no row to update and inserted one: on PostgreSQL the second insert hit the
    # primary key and the save failed (500) instead of replacing the layout
    acc = make(app_db)
    user = await acc.signup("grid@example.com", "grid", PW)
    docs = [{"current": f"v{i}", "layouts": {f"v{i}": {"size": 1, "cells": []}}} for i in range(6)]
    await asyncio.gather(*(acc.layouts.put(user.id, d) for d in docs))
    assert await acc.layouts.get(user.id) in docs
    async with app_db.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(layouts)) == 1


async def test_an_expired_refresh_token_is_refused_and_issues_nothing(app_db: AsyncEngine) -> None:
    acc = make(app_db, refresh_ttl_seconds=0)  # every refresh token expires when issued
    await acc.signup("ttl@example.com", "ttl", PW)
    pair = await acc.login("ttl@example.com", PW, None)
    with pytest.raises(InvalidToken, match="expired"):
        await acc.refresh(pair.refresh_token)
    async with app_db.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(refresh_tokens)) == 1
