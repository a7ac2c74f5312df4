"""KIS access token (``/oauth2/tokenP``) and WebSocket approval key (``/oauth2/Approval``).

KIS issues one token a minute per app key (EGW00133) and every client of the key may use it.
So the token is one per app key and host in this process, whichever client asks (market data,
the live trading account, the connection test): ``KisAuth`` objects of the same key share it,
its renewal and the one-a-minute budget. It is cached encrypted on disk under the key's
fingerprint and reused until shortly before it expires; the time of the last request is cached
too, so a new request waits until a minute has passed — even across restarts and processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from aegis.core.errors import SourceError
from aegis.core.timeutil import KST
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.sources.common.reconnect import FatalSourceError

log = logging.getLogger("aegis.sources.kis")

TOKEN_PATH = "/oauth2/tokenP"
APPROVAL_PATH = "/oauth2/Approval"
EXPIRY_MARGIN_S = 300.0  # renew five minutes early: a request must never carry a dead token
APPROVAL_LIFETIME_S = 86_400.0  # the WebSocket approval key is valid 24 h (protocols.md §A.3)


class TokenRefused(SourceError):
    code = "SOURCE_TOKEN_REFUSED"


def key_id(creds: BrokerCredentials) -> str:
    """A short fingerprint of the app key: tells cached tokens of different keys apart
    without storing or logging the key itself."""
    return hashlib.sha256(creds.app_key.get_secret_value().encode()).hexdigest()[:16]


def _secret_id(creds: BrokerCredentials) -> str:
    return hashlib.sha256(creds.app_secret.get_secret_value().encode()).hexdigest()[:16]


def cache_name(creds: BrokerCredentials) -> str:
    """The on-disk token cache of ``creds``' app key on the paper or the real host."""
    return f"kis-{'paper' if creds.paper else 'real'}-{key_id(creds)}"


@dataclass(eq=False)
class _Shared:
    """The token of one app key on the paper or real host, as every ``KisAuth`` of the key in
    this process sees it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    token: str | None = None
    expires_at: float = 0.0
    secret_id: str = ""  # the secret the token was issued to (see ``_reusable``)
    requested_at: float = 0.0  # our last tokenP answer: the one-a-minute budget


# per event loop (a lock belongs to one loop), per app key and paper/real host
_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, bool], _Shared]] = (
    weakref.WeakKeyDictionary()
)


def _shared_token(creds: BrokerCredentials) -> _Shared:
    """Outside an event loop: a token of its own."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _Shared()
    return _shared.setdefault(loop, {}).setdefault((key_id(creds), creds.paper), _Shared())


def _expiry(body: dict[str, Any], now: float) -> float:
    text = body.get("access_token_token_expired")
    if isinstance(text, str) and text:
        try:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST).timestamp()
        except ValueError:
            pass
    return now + float(body.get("expires_in", 86_400))


class KisAuth:
    def __init__(
        self,
        http: httpx.AsyncClient,
        creds: BrokerCredentials,
        store: CredentialStore,
        *,
        min_token_interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._creds = creds
        self._store = store
        self._min_interval = min_token_interval_s
        self._clock = clock
        self._cache_name = cache_name(creds)
        self._shared = _shared_token(creds)
        # the approval key stays this client's own: each WebSocket session takes its own
        self._approval: str | None = None
        self._approval_at = 0.0
        self.token_requests = 0

    def __repr__(self) -> str:
        return "KisAuth(<redacted>)"

    def _cache(self) -> dict[str, Any]:
        data = self._store.load_token(self._cache_name)
        return data if data.get("key_id") == key_id(self._creds) else {}

    def _reusable(self, token: object, secret_id: object, expires: float) -> bool:
        """A token issued to another secret of the key is not handed out: a wrong secret
        must hear so from tokenP, not pass for a valid key until its first call."""
        return (
            isinstance(token, str)
            and bool(token)
            and secret_id == _secret_id(self._creds)
            and self._clock() < expires - EXPIRY_MARGIN_S
        )

    async def access_token(self) -> str:
        shared = self._shared
        async with shared.lock:
            now = self._clock()
            if shared.token and self._reusable(shared.token, shared.secret_id, shared.expires_at):
                return shared.token
            cache = self._cache()
            token, expires = cache.get("token"), float(cache.get("expires_at", 0))
            if isinstance(token, str) and self._reusable(token, cache.get("secret_id"), expires):
                shared.token, shared.expires_at = token, expires
                shared.secret_id = _secret_id(self._creds)
                log.info(
                    "kis: reusing cached access token (expires %s)",
                    datetime.fromtimestamp(expires, KST).strftime("%Y-%m-%d %H:%M KST"),
                )
                return token
            # the cache may be another data dir's: this process's own request counts too
            last = max(float(cache.get("requested_at", 0)), shared.requested_at)
            wait = last + self._min_interval - now
            if wait > 0:
                # KIS answers EGW00133 to a second request within the minute: wait instead
                log.warning(
                    "kis: last token request was %.1fs ago; waiting %.1fs (1 per minute)",
                    now - last,
                    wait,
                )
                await asyncio.sleep(wait)
            try:
                return await self._request_token(cache)
            except TokenRefused:
                # another process of this app key took a token in the last minute
                log.warning(
                    "kis: token refused (EGW00133, one per minute); retrying in %.1fs",
                    self._min_interval,
                )
                await asyncio.sleep(self._min_interval)
                return await self._request_token(self._cache())

    async def _request_token(self, cache: dict[str, Any]) -> str:
        now = self._clock()
        cache = {**cache, "key_id": key_id(self._creds), "requested_at": now}
        self._store.save_token(self._cache_name, cache)
        self.token_requests += 1
        resp = await self._http.post(
            TOKEN_PATH,
            json={
                "grant_type": "client_credentials",
                "appkey": self._creds.app_key.get_secret_value(),
                "appsecret": self._creds.app_secret.get_secret_value(),
            },
        )
        # the server stamped its issuance before we got the answer: count the minute from
        # the answer, so that our next request is a full interval after the server's stamp
        cache["requested_at"] = self._shared.requested_at = self._clock()
        self._store.save_token(self._cache_name, cache)
        body = _json(resp)
        if body.get("error_code") == "EGW00133":
            raise TokenRefused("KIS refused a new access token: one per minute (EGW00133)")
        token = body.get("access_token")
        if resp.status_code != 200 or not isinstance(token, str):
            code = body.get("error_code") or body.get("msg_cd") or resp.status_code
            if resp.status_code in (401, 403):
                raise FatalSourceError(f"KIS rejected the app key/secret ({code})")
            raise SourceError(f"KIS token request failed ({code})")
        expires = _expiry(body, now)
        shared = self._shared
        shared.token, shared.expires_at, shared.secret_id = token, expires, _secret_id(self._creds)
        cache.update(token=token, expires_at=expires, secret_id=shared.secret_id)
        self._store.save_token(self._cache_name, cache)
        log.info(
            "kis: new access token issued (valid until %s)",
            datetime.fromtimestamp(expires, KST).strftime("%Y-%m-%d %H:%M KST"),
        )
        return token

    def invalidate(self, token: str | None = None) -> None:
        """The server said ``token`` (``None``: the current one) expired (EGW00123): drop it
        everywhere. The answer to a call sent before another caller renewed the token drops
        nothing: dropping the renewed one would cost a new request within the minute."""
        shared = self._shared
        if token is not None and shared.token not in (None, token):
            return
        shared.token, shared.expires_at = None, 0.0
        cache = self._cache()
        if token is not None and cache.get("token") not in (None, token):
            return  # another process has renewed it already
        cache.pop("token", None)
        cache.pop("expires_at", None)
        if cache:
            self._store.save_token(self._cache_name, cache)

    async def approval_key(self) -> str:
        """The WebSocket approval key, kept in memory and reused across reconnects while it
        is valid (24 h; it is checked only when subscribing, so an open session outlives it)."""
        now = self._clock()
        if self._approval and now < self._approval_at + APPROVAL_LIFETIME_S - EXPIRY_MARGIN_S:
            return self._approval
        resp = await self._http.post(
            APPROVAL_PATH,
            json={
                "grant_type": "client_credentials",
                "appkey": self._creds.app_key.get_secret_value(),
                "secretkey": self._creds.app_secret.get_secret_value(),
            },
        )
        key = _json(resp).get("approval_key")
        if resp.status_code != 200 or not isinstance(key, str):
            if resp.status_code in (401, 403):
                raise FatalSourceError(f"KIS refused the approval key (HTTP {resp.status_code})")
            raise SourceError(f"KIS approval key request failed (HTTP {resp.status_code})")
        self._approval, self._approval_at = key, now
        return key

    def forget_approval(self) -> None:
        self._approval = None


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
