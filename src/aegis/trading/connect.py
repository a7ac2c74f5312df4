"""Connecting an administrator's live KIS account: the keys are tested (a token from KIS, then
the account's balance), sealed with the credential store's master key (AES-256-GCM, bound to
the user) into ``trading_live_accounts``, and the account goes live (``LiveAccount``). At start
every stored connection is restored; while KIS cannot be reached it is retried with backoff.

App key, secret and account number are never returned or logged: status shows the account
masked (``5012****-01``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from aegis.core.errors import (
    AegisError,
    BrokerError,
    BrokerKeyRejected,
    BrokerUnreachable,
    InvalidRequest,
    NotFound,
    OrderConflict,
    SourceError,
)
from aegis.core.timeutil import now_us
from aegis.credentials.crypto import CredentialError
from aegis.credentials.store import BrokerCredentials, CredentialStore
from aegis.sources.common.backoff import Backoff
from aegis.sources.common.reconnect import FatalSourceError
from aegis.sources.kis.auth import KisAuth, TokenRefused
from aegis.sources.kis.calls import kis_hosts
from aegis.trading import tables
from aegis.trading.brokers.kis import InquiryRefused, KisAccount, KisTrading
from aegis.trading.live import LiveAccount, broker_account_id
from aegis.trading.service import LIVE, TradingService

log = logging.getLogger("aegis.trading.connect")

Mode = Literal["paper", "real"]


@dataclass(frozen=True, slots=True)
class LiveKeys:
    app_key: SecretStr
    app_secret: SecretStr
    account: KisAccount
    hts_id: str
    mode: Mode = "paper"

    def __repr__(self) -> str:
        return f"LiveKeys(app_key=**********, account={mask(self.account)}, mode={self.mode})"

    @classmethod
    def parse(cls, app_key: str, app_secret: str, account: str, hts_id: str, mode: str) -> LiveKeys:
        """Clear refusals for bad input (nothing is tested or stored)."""
        if not app_key.strip() or not app_secret.strip():
            raise InvalidRequest("app key and app secret are required")
        try:
            acct = KisAccount.parse(account.strip())
        except ValueError as exc:
            raise InvalidRequest(str(exc), details={"field": "accountNumber"}) from exc
        if not hts_id.strip():
            raise InvalidRequest(
                "the HTS id is required (the key of the realtime fill notices)",
                details={"field": "htsId"},
            )
        if mode not in ("paper", "real"):
            raise InvalidRequest("mode is paper (모의투자) or real", details={"field": "mode"})
        return cls(
            SecretStr(app_key.strip()),
            SecretStr(app_secret.strip()),
            acct,
            hts_id.strip(),
            "paper" if mode == "paper" else "real",
        )

    @property
    def creds(self) -> BrokerCredentials:
        return BrokerCredentials(self.app_key, self.app_secret, paper=self.mode == "paper")

    def sealed_fields(self) -> dict[str, Any]:
        return {
            "app_key": self.app_key.get_secret_value(),
            "app_secret": self.app_secret.get_secret_value(),
            "cano": self.account.cano,
            "product": self.account.product,
            "hts_id": self.hts_id,
        }

    @classmethod
    def unsealed(cls, data: dict[str, Any], mode: Mode) -> LiveKeys:
        return cls(
            SecretStr(str(data["app_key"])),
            SecretStr(str(data["app_secret"])),
            KisAccount(str(data["cano"]), str(data["product"])),
            str(data["hts_id"]),
            mode,
        )


def mask(account: KisAccount) -> str:
    return f"{account.cano[:4]}****-{account.product}"


def _aad(user_id: int) -> bytes:
    return f"kis-live:{user_id}".encode()


class LiveConnections:
    def __init__(
        self,
        service: TradingService,
        store: CredentialStore,
        *,
        rest_url: str | None = None,
        ws_url: str | None = None,
        timeout: float = 10.0,
        reconcile_seconds: float = 180.0,
        retry: Backoff | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.db = service.db
        self.rest_url = rest_url
        self.ws_url = ws_url
        self.timeout = timeout
        self.reconcile_seconds = reconcile_seconds
        self.retry = retry or Backoff(5.0, 300.0)
        self.live: dict[int, LiveAccount] = {}
        self.errors: dict[int, str] = {}  # user → why the stored connection is not up
        self._restoring: dict[int, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()

    def hosts(self, mode: Mode) -> tuple[str, str]:
        return kis_hosts(mode == "paper", self.rest_url, self.ws_url)

    # --- the connection test --------------------------------------------------------------------
    async def check(self, user_id: int, keys: LiveKeys) -> None:
        """A token from KIS (the key and secret), then the account's balance (the account
        number). Raises ``BrokerKeyRejected`` or ``BrokerUnreachable`` with what went wrong."""
        rest, _ = self.hosts(keys.mode)
        async with httpx.AsyncClient(base_url=rest, timeout=httpx.Timeout(self.timeout)) as http:
            # no one-per-minute wait here: an administrator is waiting for the answer. The
            # key's token, if this process has it already (market data), is reused
            auth = KisAuth(http, keys.creds, self.store, min_token_interval_s=0.0)
            try:
                await asyncio.wait_for(auth.access_token(), self.timeout)
            except FatalSourceError as exc:
                raise BrokerKeyRejected(
                    f"KIS refused the app key/secret: {exc.message}", details={"step": "token"}
                ) from None
            except TokenRefused:
                raise BrokerUnreachable(
                    "KIS issues one token per minute per app key (EGW00133): try again in a minute",
                    details={"step": "token"},
                ) from None
            except (httpx.TransportError, TimeoutError) as exc:
                raise BrokerUnreachable(
                    f"KIS ({rest}) did not answer the token request: {type(exc).__name__}",
                    details={"step": "token"},
                ) from None
            except SourceError as exc:
                raise BrokerUnreachable(
                    f"KIS ({rest}) failed the token request: {exc.message}",
                    details={"step": "token"},
                ) from None
            client = KisTrading(http, keys.creds, auth, keys.account, max_retries=1)
            try:
                await asyncio.wait_for(client.balance(), self.timeout)
            except InquiryRefused as exc:
                raise BrokerKeyRejected(
                    f"KIS refused the balance of account {mask(keys.account)}: {exc.message}",
                    details={"step": "balance"},
                ) from None
            except (BrokerError, httpx.TransportError, TimeoutError) as exc:
                text = exc.message if isinstance(exc, AegisError) else type(exc).__name__
                raise BrokerUnreachable(
                    f"KIS ({rest}) did not answer the balance inquiry: {text}",
                    details={"step": "balance"},
                ) from None

    # --- connect / disconnect -------------------------------------------------------------------
    async def connect(self, user_id: int, keys: LiveKeys) -> dict[str, Any]:
        """Test, store sealed, go live. A failed test changes nothing (a previous connection
        stays as it was)."""
        async with self._lock:
            await self.check(user_id, keys)
            switched = await self._switching(user_id, keys)
            await self._drop(user_id)
            sealed = self.store.seal_record(_aad(user_id), keys.sealed_fields())
            async with self.db.begin() as conn:
                t = tables.live_accounts
                await conn.execute(t.delete().where(t.c.user_id == user_id))
                await conn.execute(
                    t.insert().values(
                        user_id=user_id,
                        sealed=sealed,
                        paper=keys.mode == "paper",
                        account_mask=mask(keys.account),
                        connected_at=now_us(),
                    )
                )
            try:
                await self._go_live(user_id, keys, switched)
            except Exception as exc:
                # the keys passed the test and are stored: going live is retried with backoff
                self.errors[user_id] = f"{type(exc).__name__}: {exc}"
                self._restoring[user_id] = asyncio.create_task(
                    self._keep_trying(user_id, keys, switched), name=f"kis-live-{user_id}"
                )
                raise BrokerUnreachable(
                    "keys tested and stored, but the account did not go live "
                    f"({type(exc).__name__}); retrying in the background"
                ) from None
            return await self.status(user_id)

    async def _switching(self, user_id: int, keys: LiveKeys) -> bool:
        """Whether ``keys`` name another KIS account than the live books are of. Their orders
        still working are at the other account, where no one would follow them: refused
        (``OrderConflict``) until they are done."""
        acc = self.service.account_of_user(user_id, LIVE)
        if acc is None or not acc.synced:
            return False
        before = acc.broker_account
        if before is None:
            # books synced before accounts were told apart: the stored keys say which
            t = tables.live_accounts
            async with self.db.connect() as conn:
                row = (await conn.execute(sa.select(t).where(t.c.user_id == user_id))).first()
            if row is None:
                return False  # not known: taken as the same account
            try:
                data = self.store.unseal_record(_aad(user_id), row.sealed)
            except CredentialError:
                return False
            before = broker_account_id(self.store, LiveKeys.unsealed(data, "paper").account)
        if before == broker_account_id(self.store, keys.account):
            return False
        working = sum(1 for _ in acc.working_orders())
        if working:
            raise OrderConflict(
                f"{working} order(s) of the account connected now are still working: cancel "
                "them or wait until they are done before connecting another account",
                details={"workingOrders": working},
            )
        return True

    async def disconnect(self, user_id: int) -> dict[str, Any]:
        """Forget the keys and stop trading live; the account and its event log stay."""
        async with self._lock:
            async with self.db.begin() as conn:
                t = tables.live_accounts
                res = await conn.execute(t.delete().where(t.c.user_id == user_id))
            had = user_id in self.live or user_id in self._restoring
            await self._drop(user_id)
            if not res.rowcount and not had:
                raise NotFound("no live KIS account is connected")
            self.errors.pop(user_id, None)
            return await self.status(user_id)

    async def _drop(self, user_id: int) -> None:
        task = self._restoring.pop(user_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        live = self.live.pop(user_id, None)
        if live is not None:
            await live.close()

    async def _go_live(self, user_id: int, keys: LiveKeys, switched: bool = False) -> None:
        rest, ws = self.hosts(keys.mode)
        acc = await self.service.account_for(user_id, LIVE)
        live = LiveAccount(
            self.service,
            acc,
            keys.creds,
            self.store,
            keys.account,
            keys.hts_id,
            rest_url=rest,
            ws_url=ws,
            reconcile_seconds=self.reconcile_seconds,
            timeout=self.timeout,
        )
        try:
            await live.start(switched=switched)
        except BaseException:
            await live.close()
            raise
        self.live[user_id] = live
        self.errors.pop(user_id, None)

    # --- at start -------------------------------------------------------------------------------
    async def restore(self) -> None:
        """Every stored connection goes live again in the background (KIS being down at
        start must not hold the server up); failures are retried with backoff."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(sa.select(tables.live_accounts))).all()
        for r in rows:
            try:
                data = self.store.unseal_record(_aad(r.user_id), r.sealed)
            except CredentialError as exc:
                self.errors[r.user_id] = exc.message
                log.warning("live account of user %d not restored: %s", r.user_id, exc.message)
                continue
            keys = LiveKeys.unsealed(data, "paper" if r.paper else "real")
            self._restoring[r.user_id] = asyncio.create_task(
                self._keep_trying(r.user_id, keys), name=f"kis-live-{r.user_id}"
            )

    async def _keep_trying(self, user_id: int, keys: LiveKeys, switched: bool = False) -> None:
        backoff = Backoff(self.retry.initial, self.retry.maximum)
        while True:
            try:
                await self._go_live(user_id, keys, switched)
                self._restoring.pop(user_id, None)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors[user_id] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "live account of user %d not connected (%s); retrying", user_id, type(exc)
                )
            await asyncio.sleep(backoff.next_delay())

    async def close(self) -> None:
        for user_id in list({*self.live, *self._restoring}):
            await self._drop(user_id)

    # --- what the administrator sees ------------------------------------------------------------
    async def status(self, user_id: int) -> dict[str, Any]:
        t = tables.live_accounts
        async with self.db.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.user_id == user_id))).first()
        live = self.live.get(user_id)
        return {
            "stored": row is not None,
            "connected": live is not None,
            "mode": None if row is None else ("paper" if row.paper else "real"),
            "account": None if row is None else row.account_mask,
            "connectedAt": None if row is None else row.connected_at,
            "noticeStream": None if live is None else live.stream.connections > 0,
            "lastReconcile": None if live is None else live.last_result,
            "error": self.errors.get(user_id),
        }
