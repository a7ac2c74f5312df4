"""A user's favorite companies. Ids of other users' favorites are answered as not found (404,
never 403), so ids tell nothing about other accounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from aegis.accounts.models import Favorite
from aegis.accounts.tables import as_utc, favorites, lock_user
from aegis.core.errors import AlreadyExists, InvalidRequest, NotFound
from aegis.db.metadata import is_integer_id

MAX_FAVORITES = 200


class Favorites:
    def __init__(
        self,
        db: AsyncEngine,
        max_per_user: int = MAX_FAVORITES,
        on_change: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.max_per_user = max_per_user
        self._on_change = on_change  # told the user id after each committed change

    async def list(self, user_id: int) -> list[Favorite]:
        async with self.db.connect() as conn:
            rows = await conn.execute(
                sa.select(favorites.c.id, favorites.c.company_id, favorites.c.created_at)
                .where(favorites.c.user_id == user_id)
                .order_by(favorites.c.id)
            )
            return [Favorite(r.id, r.company_id, as_utc(r.created_at)) for r in rows]

    async def add(self, user_id: int, company_id: int) -> Favorite:
        """The caller checks that the company exists (it lives in the market store)."""
        now = datetime.now(UTC)
        try:
            async with self.db.begin() as conn:
                await lock_user(conn, user_id)  # else racing adds all pass the count
                mine = sa.select(sa.func.count()).where(favorites.c.user_id == user_id)
                if (await conn.scalar(mine) or 0) >= self.max_per_user:
                    raise InvalidRequest(f"at most {self.max_per_user} favorites per user")
                fav_id = await conn.scalar(
                    favorites.insert()
                    .values(user_id=user_id, company_id=company_id, created_at=now)
                    .returning(favorites.c.id)
                )
        except sa.exc.IntegrityError as exc:
            raise AlreadyExists(
                "this company is already a favorite", details={"companyId": company_id}
            ) from exc
        assert fav_id is not None
        await self._changed(user_id)
        return Favorite(fav_id, company_id, now)

    async def remove(self, user_id: int, favorite_id: int) -> None:
        if not is_integer_id(favorite_id):
            raise NotFound(f"no favorite with id {favorite_id}")
        async with self.db.begin() as conn:
            gone = await conn.execute(
                favorites.delete().where(
                    favorites.c.id == favorite_id, favorites.c.user_id == user_id
                )
            )
        if gone.rowcount != 1:
            raise NotFound(f"no favorite with id {favorite_id}")
        await self._changed(user_id)

    async def _changed(self, user_id: int) -> None:
        if self._on_change is not None:
            await self._on_change(user_id)
