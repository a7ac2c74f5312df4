"""KIS access token (``/oauth2/tokenP``) and WebSocket approval key (``/oauth2/Approval``).

The token is cached encrypted on disk and reused until shortly before it expires. KIS refuses a
second token within a minute (EGW00133), so the time of the last request is cached too and a
new request waits until a minute has passed — even across restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
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
        cache_name: str = "kis",
    ) -> None:
        self._http = http
        self._creds = creds
        self._store = store
        self._min_interval = min_token_interval_s
        self._clock = clock
        self._cache_name = cache_name
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._approval: str | None = None
        self._approval_at = 0.0
        self.token_requests = 0

    def __repr__(self) -> str:
        return "KisAuth(<redacted>)"

    def _cache(self) -> dict[str, Any]:
        data = self._store.load_token(self._cache_name)
        return data if data.get("key_id") == key_id(self._creds) else {}

    async def access_token(self) -> str:
        async with self._lock:
            now = self._clock()
            if self._token and now < self._expires_at - EXPIRY_MARGIN_S:
                return self._token
            cache = self._cache()
            token, expires = cache.get("token"), float(cache.get("expires_at", 0))
            if isinstance(token, str) and token and now < expires - EXPIRY_MARGIN_S:
                self._token, self._expires_at = token, expires
                log.info(
                    "kis: reusing cached access token (expires %s)",
                    datetime.fromtimestamp(expires, KST).strftime("%Y-%m-%d %H:%M KST"),
                )
                return token
            last = float(cache.get("requested_at", 0))
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
        cache["requested_at"] = self._clock()
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
        self._token, self._expires_at = token, _expiry(body, now)
        cache.update(token=token, expires_at=self._expires_at)
        self._store.save_token(self._cache_name, cache)
        log.info(
            "kis: new access token issued (valid until %s)",
            datetime.fromtimestamp(self._expires_at, KST).strftime("%Y-%m-%d %H:%M KST"),
        )
        return token

    def invalidate(self) -> None:
        """The server said the token expired (EGW00123): drop it everywhere."""
        self._token, self._expires_at = None, 0.0
        cache = self._cache()
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
