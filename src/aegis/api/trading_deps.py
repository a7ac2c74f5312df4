"""Dependencies of the trading routes: the service and the caller's account (their paper
account, or with ``?account=live`` the live account an administrator connected)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query

from aegis.api.deps import CurrentUserDep, RuntimeDep
from aegis.core.errors import Forbidden, NotFound, StreamUnavailable, TradingStandby
from aegis.trading.book import Account
from aegis.trading.service import LIVE, TradingService


async def get_trading(rt: RuntimeDep) -> TradingService:
    if rt.trading is None:
        lease = rt.trading_lease
        if lease is not None and not lease.holding:
            holder = await lease.holder()
            raise TradingStandby(
                f"trading runs in another API process ({holder or 'unknown'}); this one is a "
                "standby and takes over when that one stops: send trading requests there",
                details={"holder": holder},
            )
        raise StreamUnavailable("trading is not running")
    return rt.trading


TradingDep = Annotated[TradingService, Depends(get_trading)]
AccountChoice = Literal["paper", "live"]


async def caller_account(
    user: CurrentUserDep,
    trading: TradingDep,
    account: Annotated[
        AccountChoice, Query(description="paper (default) or live (administrators)")
    ] = "paper",
) -> Account:
    if account == "live":
        if not user.is_admin:
            raise Forbidden("the live account is for administrators")
        acc = trading.account_of_user(user.id, LIVE)
        if acc is None:
            raise NotFound("no live account is connected")
        return acc
    return await trading.account_for(user.id)


AccountDep = Annotated[Account, Depends(caller_account)]
